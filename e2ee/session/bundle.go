package session

import (
	"io"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
)

// Bundle is a device's published key material, as fetched from the server
// to start a session with it.
type Bundle struct {
	RegistrationID uint32
	DeviceID       uint32

	// PreKey is the optional one-time prekey (nil when the server ran out).
	PreKeyID uint32
	PreKey   *curve.PublicKey

	SignedPreKeyID        uint32
	SignedPreKey          curve.PublicKey
	SignedPreKeySignature []byte

	KyberPreKeyID        uint32
	KyberPreKey          kem.PublicKey
	KyberPreKeySignature []byte

	IdentityKey curve.PublicKey
}

// NewPreKey generates a one-time prekey.
func NewPreKey(rand io.Reader, id uint32) (PreKeyRecord, error) {
	kp, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return PreKeyRecord{}, err
	}
	return PreKeyRecord{ID: id, KeyPair: kp}, nil
}

// NewSignedPreKey generates a signed prekey: the identity key signs the
// 33-byte encoding of the public key, type byte included.
func NewSignedPreKey(rand io.Reader, identity curve.KeyPair, id uint32, now time.Time) (SignedPreKeyRecord, error) {
	kp, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return SignedPreKeyRecord{}, err
	}
	sig, err := identity.Private.Sign(rand, kp.Public.Bytes())
	if err != nil {
		return SignedPreKeyRecord{}, err
	}
	return SignedPreKeyRecord{ID: id, Timestamp: now, KeyPair: kp, Signature: sig}, nil
}

// NewKyberPreKey generates a signed Kyber1024 prekey: the identity key signs
// the 1569-byte encoding of the public key, type byte 0x08 included. The
// Kyber key itself comes from crypto/rand (crypto/mlkem takes no reader);
// rand is used for the signature.
func NewKyberPreKey(rand io.Reader, identity curve.KeyPair, id uint32, now time.Time, lastResort bool) (KyberPreKeyRecord, error) {
	kp, err := kem.GenerateKeyPair()
	if err != nil {
		return KyberPreKeyRecord{}, err
	}
	sig, err := identity.Private.Sign(rand, kp.PublicKey().Bytes())
	if err != nil {
		return KyberPreKeyRecord{}, err
	}
	return KyberPreKeyRecord{ID: id, Timestamp: now, KeyPair: kp, Signature: sig, LastResort: lastResort}, nil
}

// NewBundle assembles the public bundle for our keys. pre may be nil.
func NewBundle(registrationID, deviceID uint32, identity curve.PublicKey, pre *PreKeyRecord, spk SignedPreKeyRecord, kyber KyberPreKeyRecord) Bundle {
	b := Bundle{
		RegistrationID:        registrationID,
		DeviceID:              deviceID,
		SignedPreKeyID:        spk.ID,
		SignedPreKey:          spk.KeyPair.Public,
		SignedPreKeySignature: append([]byte(nil), spk.Signature[:]...),
		KyberPreKeyID:         kyber.ID,
		KyberPreKey:           kyber.KeyPair.PublicKey(),
		KyberPreKeySignature:  append([]byte(nil), kyber.Signature[:]...),
		IdentityKey:           identity,
	}
	if pre != nil {
		pub := pre.KeyPair.Public
		b.PreKeyID = pre.ID
		b.PreKey = &pub
	}
	return b
}
