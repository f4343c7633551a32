package clientstore

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// The plaintext inside a sealed column is a protobuf-style list of fields
// (protowire), like e2ee's own records: later versions can add fields and
// older code skips what it does not know. Zero values are not written.
// Every decoder here checks types and lengths and fails with ErrCorrupt;
// they are fuzzed (fuzz_test.go) even though what they read has passed
// AES-GCM, because a bug in an old encoder must not become a panic.

type fields []byte

func (f *fields) bytes(n protowire.Number, b []byte) {
	if len(b) == 0 {
		return
	}
	*f = protowire.AppendTag(*f, n, protowire.BytesType)
	*f = protowire.AppendBytes(*f, b)
}

func (f *fields) str(n protowire.Number, s string) { f.bytes(n, []byte(s)) }

func (f *fields) uint(n protowire.Number, v uint64) {
	if v == 0 {
		return
	}
	*f = protowire.AppendTag(*f, n, protowire.VarintType)
	*f = protowire.AppendVarint(*f, v)
}

func (f *fields) time(n protowire.Number, t time.Time) { f.uint(n, uint64(ms(t))) }

// field is one decoded field: v for bytes, x for varints.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   []byte
	x   uint64
}

// decodeFields calls fn for every field of b; fn returns false for a known
// field whose type or length is wrong. Unknown fields are skipped.
func decodeFields(b []byte, what string, fn func(f field) bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %s: bad field tag", ErrCorrupt, what)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: %s: field %d truncated", ErrCorrupt, what, num)
		}
		b = b[n:]
		if !fn(f) {
			return fmt.Errorf("%w: %s: field %d malformed", ErrCorrupt, what, num)
		}
	}
	return nil
}

func (f field) isBytes() bool { return f.typ == protowire.BytesType }

func (f field) isUint(max uint64) bool { return f.typ == protowire.VarintType && f.x <= max }

// fixed copies a bytes field of exactly len(dst) bytes.
func (f field) fixed(dst []byte) bool {
	if !f.isBytes() || len(f.v) != len(dst) {
		return false
	}
	copy(dst, f.v)
	return true
}

// text reads a UTF-8 string of at most max bytes.
func (f field) text(dst *string, max int) bool {
	if !f.isBytes() || len(f.v) > max || !utf8.Valid(f.v) {
		return false
	}
	*dst = string(f.v)
	return true
}

func (f field) when(dst *time.Time) bool {
	if !f.isUint(1 << 62) {
		return false
	}
	*dst = fromMS(int64(f.x))
	return true
}

// Limits on decoded strings: generous, but bounded.
const (
	maxShortText = 1 << 10 // phone numbers, URLs, names, emoji
)

// ---- account ----

const (
	acServerURL protowire.Number = 1
	acID        protowire.Number = 2
	acPhone     protowire.Number = 3
	acDevice    protowire.Number = 4
	acRegID     protowire.Number = 5
	acAuthSeed  protowire.Number = 6
	acIdentity  protowire.Number = 7
	acLinkedBy  protowire.Number = 8
	acLinkSig   protowire.Number = 9
	acProfile   protowire.Number = 10
)

func encodeAccount(a *Account) []byte {
	var f fields
	f.str(acServerURL, a.ServerURL)
	if !a.ID.IsZero() {
		f.bytes(acID, a.ID[:])
	}
	f.str(acPhone, a.Phone)
	f.uint(acDevice, uint64(a.Device))
	f.uint(acRegID, uint64(a.RegistrationID))
	if len(a.AuthKey) == ed25519.PrivateKeySize {
		f.bytes(acAuthSeed, a.AuthKey.Seed())
	}
	f.bytes(acIdentity, a.Identity.Private[:])
	if a.LinkedBy != (curve.PublicKey{}) {
		f.bytes(acLinkedBy, a.LinkedBy[:])
	}
	f.bytes(acLinkSig, a.LinkSignature)
	f.str(acProfile, a.ProfileName)
	return f
}

func decodeAccount(b []byte) (Account, error) {
	var a Account
	var seed [ed25519.SeedSize]byte
	var priv [32]byte
	hasSeed, hasPriv := false, false
	err := decodeFields(b, "account", func(f field) bool {
		switch f.num {
		case acServerURL:
			return f.text(&a.ServerURL, maxShortText)
		case acID:
			return f.fixed(a.ID[:])
		case acPhone:
			return f.text(&a.Phone, maxShortText)
		case acDevice:
			a.Device = types.DeviceID(f.x)
			return f.isUint(1<<32 - 1)
		case acRegID:
			a.RegistrationID = uint32(f.x)
			return f.isUint(1<<32 - 1)
		case acAuthSeed:
			hasSeed = true
			return f.fixed(seed[:])
		case acIdentity:
			hasPriv = true
			return f.fixed(priv[:])
		case acLinkedBy:
			return f.fixed(a.LinkedBy[:])
		case acLinkSig:
			a.LinkSignature = bytes.Clone(f.v)
			return f.isBytes() && len(f.v) == curve.SignatureSize
		case acProfile:
			return f.text(&a.ProfileName, maxShortText)
		}
		return true
	})
	if err != nil {
		return Account{}, err
	}
	if !hasPriv {
		return Account{}, fmt.Errorf("%w: account without identity key", ErrCorrupt)
	}
	if hasSeed {
		a.AuthKey = ed25519.NewKeyFromSeed(seed[:])
	}
	a.Identity, err = keyPairFromPrivate(priv[:])
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

func keyPairFromPrivate(b []byte) (curve.KeyPair, error) {
	p, err := curve.ParsePrivateKey(b)
	if err != nil {
		return curve.KeyPair{}, fmt.Errorf("%w: private key", ErrCorrupt)
	}
	return curve.KeyPair{Private: p, Public: p.PublicKey()}, nil
}

// ---- prekeys ----
//
// The id, the last-resort flag and the timestamp are columns of the row
// (and the first two part of the additional data), so the sealed part holds
// only the secrets and the signature.

const (
	pkPrivate   protowire.Number = 1 // EC private key, 32 bytes
	pkSignature protowire.Number = 2 // XEdDSA signature, 64 bytes
	pkKyberSeed protowire.Number = 3 // Kyber1024 seed, 64 bytes
)

func encodeECPreKey(kp curve.KeyPair, sig *[64]byte) []byte {
	var f fields
	f.bytes(pkPrivate, kp.Private[:])
	if sig != nil {
		f.bytes(pkSignature, sig[:])
	}
	return f
}

func encodeKyberPreKey(kp kem.KeyPair, sig [64]byte) []byte {
	var f fields
	f.bytes(pkKyberSeed, kp.Seed())
	f.bytes(pkSignature, sig[:])
	return f
}

// preKeySecrets is the decoded sealed part of a prekey row.
type preKeySecrets struct {
	ec       curve.KeyPair
	kyber    kem.KeyPair
	sig      [64]byte
	hasEC    bool
	hasKyber bool
	hasSig   bool
}

func decodePreKey(b []byte) (preKeySecrets, error) {
	var s preKeySecrets
	var priv [32]byte
	var seed [kem.SeedSize]byte
	err := decodeFields(b, "prekey", func(f field) bool {
		switch f.num {
		case pkPrivate:
			s.hasEC = true
			return f.fixed(priv[:])
		case pkSignature:
			s.hasSig = true
			return f.fixed(s.sig[:])
		case pkKyberSeed:
			s.hasKyber = true
			return f.fixed(seed[:])
		}
		return true
	})
	if err != nil {
		return s, err
	}
	if s.hasEC {
		if s.ec, err = keyPairFromPrivate(priv[:]); err != nil {
			return s, err
		}
	}
	if s.hasKyber {
		if s.kyber, err = kem.KeyPairFromSeed(seed[:]); err != nil {
			return s, fmt.Errorf("%w: Kyber seed", ErrCorrupt)
		}
	}
	return s, nil
}

func (s preKeySecrets) preKey(id uint32) (session.PreKeyRecord, error) {
	if !s.hasEC {
		return session.PreKeyRecord{}, fmt.Errorf("%w: prekey %d has no private key", ErrCorrupt, id)
	}
	return session.PreKeyRecord{ID: id, KeyPair: s.ec}, nil
}

func (s preKeySecrets) signedPreKey(id uint32, ts time.Time) (session.SignedPreKeyRecord, error) {
	if !s.hasEC || !s.hasSig {
		return session.SignedPreKeyRecord{}, fmt.Errorf("%w: signed prekey %d incomplete", ErrCorrupt, id)
	}
	return session.SignedPreKeyRecord{ID: id, Timestamp: ts, KeyPair: s.ec, Signature: s.sig}, nil
}

func (s preKeySecrets) kyberPreKey(id uint32, ts time.Time, lastResort bool) (session.KyberPreKeyRecord, error) {
	if !s.hasKyber || !s.hasSig {
		return session.KyberPreKeyRecord{}, fmt.Errorf("%w: Kyber prekey %d incomplete", ErrCorrupt, id)
	}
	return session.KyberPreKeyRecord{ID: id, Timestamp: ts, KeyPair: s.kyber, Signature: s.sig, LastResort: lastResort}, nil
}

// ---- peer identities ----

const (
	idKey       protowire.Number = 1
	idTrust     protowire.Number = 2
	idFirstSeen protowire.Number = 3
	idChangedAt protowire.Number = 4
	idName      protowire.Number = 5 // the address name, so listings need no contact
)

// identityPayload is what is sealed in an identities row. The trust level
// is sealed with the key, so nobody can mark a key verified by editing the
// file.
type identityPayload struct {
	name      string
	key       curve.PublicKey
	trust     Trust
	firstSeen time.Time
	changedAt time.Time
}

func encodeIdentity(p *identityPayload) []byte {
	var f fields
	f.bytes(idKey, p.key[:])
	f.uint(idTrust, uint64(p.trust))
	f.time(idFirstSeen, p.firstSeen)
	f.time(idChangedAt, p.changedAt)
	f.str(idName, p.name)
	return f
}

func decodeIdentity(b []byte) (identityPayload, error) {
	var p identityPayload
	hasKey := false
	err := decodeFields(b, "identity", func(f field) bool {
		switch f.num {
		case idKey:
			hasKey = true
			return f.fixed(p.key[:])
		case idTrust:
			p.trust = Trust(f.x)
			return f.isUint(uint64(maxTrust))
		case idFirstSeen:
			return f.when(&p.firstSeen)
		case idChangedAt:
			return f.when(&p.changedAt)
		case idName:
			return f.text(&p.name, maxShortText)
		}
		return true
	})
	if err == nil && (!hasKey || p.trust == 0) {
		err = fmt.Errorf("%w: identity without key or trust", ErrCorrupt)
	}
	return p, err
}

// ---- contacts ----

const (
	ctAccount protowire.Number = 1
	ctPhone   protowire.Number = 2
	ctName    protowire.Number = 3
	ctProfile protowire.Number = 4
)

func encodeContact(c *Contact) []byte {
	var f fields
	f.bytes(ctAccount, c.Account[:])
	f.str(ctPhone, c.Phone)
	f.str(ctName, c.Name)
	f.str(ctProfile, c.ProfileName)
	return f
}

func decodeContact(b []byte) (Contact, error) {
	var c Contact
	err := decodeFields(b, "contact", func(f field) bool {
		switch f.num {
		case ctAccount:
			return f.fixed(c.Account[:])
		case ctPhone:
			return f.text(&c.Phone, maxShortText)
		case ctName:
			return f.text(&c.Name, maxShortText)
		case ctProfile:
			return f.text(&c.ProfileName, maxShortText)
		}
		return true
	})
	return c, err
}

// ---- conversations ----

const (
	cvPeer  protowire.Number = 1
	cvTimer protowire.Number = 2 // seconds
	cvGroup protowire.Number = 3 // v2: a group conversation has no peer
)

func encodeConversation(c *Conversation) []byte {
	var f fields
	if !c.Peer.IsZero() {
		f.bytes(cvPeer, c.Peer[:])
	}
	f.uint(cvTimer, uint64(c.Timer/time.Second))
	if !c.Group.IsZero() {
		f.bytes(cvGroup, c.Group[:])
	}
	return f
}

func decodeConversation(b []byte, c *Conversation) error {
	return decodeFields(b, "conversation", func(f field) bool {
		switch f.num {
		case cvPeer:
			return f.fixed(c.Peer[:])
		case cvTimer:
			c.Timer = time.Duration(f.x) * time.Second
			return f.isUint(maxTimerSeconds)
		case cvGroup:
			return f.fixed(c.Group[:])
		}
		return true
	})
}

// ---- messages ----

const (
	msID           protowire.Number = 1
	msSender       protowire.Number = 2
	msSenderDevice protowire.Number = 3
	msKind         protowire.Number = 4
	msContent      protowire.Number = 5
)

func encodeMessage(m *Message) []byte {
	var f fields
	f.bytes(msID, m.ID[:])
	f.bytes(msSender, m.Sender.Account[:])
	f.uint(msSenderDevice, uint64(m.Sender.Device))
	f.uint(msKind, uint64(m.Kind))
	f.bytes(msContent, m.Content)
	return f
}

// decodeMessage fills the sealed fields of m. Content aliases b.
func decodeMessage(b []byte, m *Message) error {
	return decodeFields(b, "message", func(f field) bool {
		switch f.num {
		case msID:
			return f.fixed(m.ID[:])
		case msSender:
			return f.fixed(m.Sender.Account[:])
		case msSenderDevice:
			m.Sender.Device = types.DeviceID(f.x)
			return f.isUint(1<<32 - 1)
		case msKind:
			m.Kind = Kind(f.x)
			return f.isUint(1<<16 - 1)
		case msContent:
			m.Content = f.v
			return f.isBytes()
		}
		return true
	})
}

// ---- receipts and reactions ----

const (
	rxAccount protowire.Number = 1
	rxEmoji   protowire.Number = 2
)

func encodeAccountAndText(a types.AccountID, text string) []byte {
	var f fields
	f.bytes(rxAccount, a[:])
	f.str(rxEmoji, text)
	return f
}

func decodeAccountAndText(b []byte, what string) (types.AccountID, string, error) {
	var a types.AccountID
	var s string
	err := decodeFields(b, what, func(f field) bool {
		switch f.num {
		case rxAccount:
			return f.fixed(a[:])
		case rxEmoji:
			return f.text(&s, maxShortText)
		}
		return true
	})
	return a, s, err
}

// ms and fromMS store times as unix milliseconds, 0 meaning the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
