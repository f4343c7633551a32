package session

import (
	"context"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
)

// Direction says whether an identity is being checked for sending to or
// receiving from the peer (libsignal's Direction).
type Direction uint8

// Directions for IsTrustedIdentity.
const (
	Sending Direction = iota + 1
	Receiving
)

// IdentityStore holds our identity and what we know of the peers'.
type IdentityStore interface {
	// IdentityKeyPair returns our long-term identity key pair.
	IdentityKeyPair(ctx context.Context) (curve.KeyPair, error)
	// LocalRegistrationID returns our registration id (sent in
	// PreKeySignalMessages).
	LocalRegistrationID(ctx context.Context) (uint32, error)
	// SaveIdentity records key as addr's identity and reports whether it
	// replaced a different one.
	SaveIdentity(ctx context.Context, addr Address, key curve.PublicKey) (changed bool, err error)
	// IsTrustedIdentity decides whether key may be used for addr. The usual
	// policy is trust on first use: trusted unless a different key is on
	// record.
	IsTrustedIdentity(ctx context.Context, addr Address, key curve.PublicKey, dir Direction) (bool, error)
	// Identity returns the identity on record for addr, if any.
	Identity(ctx context.Context, addr Address) (key curve.PublicKey, ok bool, err error)
}

// SessionStore holds one Record per remote device.
type SessionStore interface {
	// LoadSession returns the record for addr, or (nil, nil) if there is
	// none. The caller may modify the returned record: it must not be
	// shared with the store (decode it afresh, or clone it).
	LoadSession(ctx context.Context, addr Address) (*Record, error)
	// StoreSession saves the record for addr. The store must not keep rec
	// itself if the caller may keep using it (encode it, or clone it).
	StoreSession(ctx context.Context, addr Address, rec *Record) error
}

// PreKeyStore holds our one-time EC prekeys.
type PreKeyStore interface {
	// LoadPreKey returns the prekey; an unknown id is an error wrapping
	// ErrNoPreKey.
	LoadPreKey(ctx context.Context, id uint32) (PreKeyRecord, error)
	// RemovePreKey deletes a used one-time prekey.
	RemovePreKey(ctx context.Context, id uint32) error
}

// SignedPreKeyStore holds our signed prekeys.
type SignedPreKeyStore interface {
	// LoadSignedPreKey returns the signed prekey; an unknown id is an error
	// wrapping ErrNoPreKey.
	LoadSignedPreKey(ctx context.Context, id uint32) (SignedPreKeyRecord, error)
}

// KyberPreKeyStore holds our signed Kyber prekeys.
type KyberPreKeyStore interface {
	// LoadKyberPreKey returns the Kyber prekey; an unknown id is an error
	// wrapping ErrNoPreKey.
	LoadKyberPreKey(ctx context.Context, id uint32) (KyberPreKeyRecord, error)
	// MarkKyberPreKeyUsed is called after a session was built with the key.
	// A one-time key should be deleted. A last-resort key stays, but the
	// store should remember (signedPreKeyID, baseKey) and fail with
	// ErrPreKeyReused when the same triple comes again, which stops a replay
	// of the session start.
	MarkKyberPreKeyUsed(ctx context.Context, id, signedPreKeyID uint32, baseKey curve.PublicKey) error
}

// Stores bundles what the session operations need. Local is our own
// address; it is used for the addresses field that libsignal 0.91 and
// later put into PreKeySignalMessages: Encrypt writes it and DecryptSignal
// checks it. SPQR
// is the SPQR policy of the sessions created through these stores (the
// zero value is DefaultSPQRPolicy); existing sessions keep theirs.
type Stores struct {
	Local         Address
	Identity      IdentityStore
	Sessions      SessionStore
	PreKeys       PreKeyStore
	SignedPreKeys SignedPreKeyStore
	KyberPreKeys  KyberPreKeyStore
	SPQR          SPQRPolicy
}

// require checks that the stores an operation uses are set (the prekey
// stores only matter when receiving a session start).
func (s Stores) require(prekeys bool) error {
	if s.Identity == nil || s.Sessions == nil {
		return errorf(ErrMissingStore, "identity and session stores are required")
	}
	if prekeys && (s.PreKeys == nil || s.SignedPreKeys == nil || s.KyberPreKeys == nil) {
		return errorf(ErrMissingStore, "prekey stores are required to receive a session start")
	}
	if !s.SPQR.valid() {
		return errorf(ErrInvalidConfig, "SPQR policy %d", uint8(s.SPQR))
	}
	return nil
}

// PreKeyRecord is a one-time EC prekey with its private key.
type PreKeyRecord struct {
	ID      uint32
	KeyPair curve.KeyPair
}

// SignedPreKeyRecord is a signed EC prekey with its private key.
type SignedPreKeyRecord struct {
	ID        uint32
	Timestamp time.Time
	KeyPair   curve.KeyPair
	Signature [64]byte // XEdDSA by the identity key over KeyPair.Public.Bytes()
}

// KyberPreKeyRecord is a signed Kyber1024 prekey with its private key.
type KyberPreKeyRecord struct {
	ID         uint32
	Timestamp  time.Time
	KeyPair    kem.KeyPair
	Signature  [64]byte // XEdDSA by the identity key over the 0x08‖key encoding
	LastResort bool     // kept after use (see MarkKyberPreKeyUsed)
}
