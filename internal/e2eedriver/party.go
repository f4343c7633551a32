package e2eedriver

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
)

// party is one device on our implementation: identity, registration id,
// address and in-memory stores, like a party of the oracle.
//
// The memory stores cannot list what they hold, and exportState needs
// exactly that, so the party wraps them and notes every address, prekey id
// and distribution it has stored something under.
type party struct {
	addr     session.Address
	regID    uint32
	identity curve.KeyPair

	store   *session.MemoryStore
	st      session.Stores
	senders senderKeys

	sessions      map[session.Address]struct{}
	identities    map[session.Address]struct{}
	preKeys       map[uint32]struct{}
	signedPreKeys map[uint32]struct{}
	kyberPreKeys  map[uint32]struct{}
	senderKeyIDs  map[senderKeyID]struct{}
	kyberUsed     []kyberUse

	// The ids bundle hands out next when the caller names none. They may
	// reach 2^32, past the last id.
	nextPreKeyID, nextSignedPreKeyID, nextKyberPreKeyID uint64
}

type senderKeyID struct {
	sender       session.Address
	distribution [16]byte
}

// kyberUse is one MarkKyberPreKeyUsed that succeeded, as the oracle's
// kyberUsed op lists them.
type kyberUse struct {
	KyberPreKeyID  uint32 `json:"kyberPreKeyId"`
	SignedPreKeyID uint32 `json:"signedPreKeyId"`
	BaseKey        Bytes  `json:"baseKey"`
}

func newParty(addr session.Address, regID uint32, identity curve.KeyPair) *party {
	p := &party{
		addr:               addr,
		regID:              regID,
		identity:           identity,
		store:              session.NewMemoryStore(identity, regID),
		sessions:           map[session.Address]struct{}{},
		identities:         map[session.Address]struct{}{},
		preKeys:            map[uint32]struct{}{},
		signedPreKeys:      map[uint32]struct{}{},
		kyberPreKeys:       map[uint32]struct{}{},
		senderKeyIDs:       map[senderKeyID]struct{}{},
		nextPreKeyID:       1,
		nextSignedPreKeyID: 1,
		nextKyberPreKeyID:  1,
	}
	ts := trackingStore{MemoryStore: p.store, p: p}
	p.st = session.Stores{Local: addr, Identity: ts, Sessions: ts, PreKeys: ts, SignedPreKeys: ts, KyberPreKeys: ts}
	p.senders = senderKeys{MemoryStore: &senderkey.MemoryStore{}, p: p}
	return p
}

// trackingStore is the party's session.MemoryStore, noting what is stored.
type trackingStore struct {
	*session.MemoryStore
	p *party
}

func (s trackingStore) StoreSession(ctx context.Context, a session.Address, r *session.Record) error {
	if err := s.MemoryStore.StoreSession(ctx, a, r); err != nil {
		return err
	}
	s.p.sessions[a] = struct{}{}
	return nil
}

func (s trackingStore) SaveIdentity(ctx context.Context, a session.Address, k curve.PublicKey) (bool, error) {
	changed, err := s.MemoryStore.SaveIdentity(ctx, a, k)
	if err == nil {
		s.p.identities[a] = struct{}{}
	}
	return changed, err
}

func (s trackingStore) MarkKyberPreKeyUsed(ctx context.Context, id, signedPreKeyID uint32, baseKey curve.PublicKey) error {
	if err := s.MemoryStore.MarkKyberPreKeyUsed(ctx, id, signedPreKeyID, baseKey); err != nil {
		return err
	}
	s.p.kyberUsed = append(s.p.kyberUsed, kyberUse{KyberPreKeyID: id, SignedPreKeyID: signedPreKeyID, BaseKey: baseKey.Bytes()})
	return nil
}

// senderKeys is the party's senderkey.MemoryStore, noting what is stored.
type senderKeys struct {
	*senderkey.MemoryStore
	p *party
}

func (s senderKeys) SaveSenderKey(ctx context.Context, a senderkey.Address, d [16]byte, r *senderkey.Record) error {
	if err := s.MemoryStore.SaveSenderKey(ctx, a, d, r); err != nil {
		return err
	}
	s.p.senderKeyIDs[senderKeyID{a, d}] = struct{}{}
	return nil
}

func (p *party) storePreKey(r session.PreKeyRecord) {
	p.store.StorePreKey(r)
	p.preKeys[r.ID] = struct{}{}
}

func (p *party) storeSignedPreKey(r session.SignedPreKeyRecord) {
	p.store.StoreSignedPreKey(r)
	p.signedPreKeys[r.ID] = struct{}{}
}

func (p *party) storeKyberPreKey(r session.KyberPreKeyRecord) {
	p.store.StoreKyberPreKey(r)
	p.kyberPreKeys[r.ID] = struct{}{}
}

// summary is what newParty and importState answer.
type summary struct {
	Party          string `json:"party"`
	Name           string `json:"name"`
	DeviceID       uint32 `json:"deviceId"`
	IdentityKey    Bytes  `json:"identityKey"`
	RegistrationID uint32 `json:"registrationId"`
}

func (p *party) summary(handle string) summary {
	return summary{Party: handle, Name: p.addr.Name, DeviceID: p.addr.DeviceID, IdentityKey: p.identity.Public.Bytes(), RegistrationID: p.regID}
}

// stateFormat names our exportState format. It is a string, unlike the
// oracle's format 1, so that each side refuses the other's state at once:
// the records inside are each implementation's own.
const stateFormat = "parley-e2ee/1"

// state is a whole party, as exportState writes it and importState reads it
// (interop/README.md documents it). Lists are sorted, so that the same
// party always exports the same JSON.
type state struct {
	Format             string `json:"format"`
	Name               string `json:"name"`
	DeviceID           uint32 `json:"deviceId"`
	RegistrationID     uint32 `json:"registrationId"`
	IdentityPrivateKey Bytes  `json:"identityPrivateKey"`
	IdentityKey        Bytes  `json:"identityKey"`
	NextPreKeyID       uint64 `json:"nextPreKeyId"`
	NextSignedPreKeyID uint64 `json:"nextSignedPreKeyId"`
	NextKyberPreKeyID  uint64 `json:"nextKyberPreKeyId"`

	Sessions      []stateRecord    `json:"sessions"`
	Identities    []stateIdentity  `json:"identities"`
	PreKeys       []statePreKey    `json:"preKeys"`
	SignedPreKeys []stateSignedKey `json:"signedPreKeys"`
	KyberPreKeys  []stateKyberKey  `json:"kyberPreKeys"`
	SenderKeys    []stateRecord    `json:"senderKeys"`
	KyberUsed     []kyberUse       `json:"kyberUsed"`
}

// stateRecord is a session record (session.Record.MarshalBinary) or, with a
// distribution id, a sender-key record (senderkey.Record.MarshalBinary).
type stateRecord struct {
	Name           string `json:"name"`
	DeviceID       uint32 `json:"deviceId"`
	DistributionID string `json:"distributionId,omitempty"`
	Record         Bytes  `json:"record"`
}

type stateIdentity struct {
	Name     string `json:"name"`
	DeviceID uint32 `json:"deviceId"`
	Key      Bytes  `json:"key"`
}

type statePreKey struct {
	ID         uint32 `json:"id"`
	PrivateKey Bytes  `json:"privateKey"`
}

type stateSignedKey struct {
	ID         uint32 `json:"id"`
	Timestamp  int64  `json:"timestamp"`
	PrivateKey Bytes  `json:"privateKey"`
	Signature  Bytes  `json:"signature"`
}

type stateKyberKey struct {
	ID         uint32 `json:"id"`
	Timestamp  int64  `json:"timestamp"`
	Seed       Bytes  `json:"seed"`
	Signature  Bytes  `json:"signature"`
	LastResort bool   `json:"lastResort"`
}

func addressOrder(a, b session.Address) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.DeviceID, b.DeviceID))
}

func sortedAddrs(m map[session.Address]struct{}) []session.Address {
	out := make([]session.Address, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, addressOrder)
	return out
}

func sortedIDs(m map[uint32]struct{}) []uint32 {
	out := make([]uint32, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// export reads everything back out of the stores. Keys the protocol deleted
// (used one-time prekeys) are simply gone.
func (p *party) export(ctx context.Context) (*state, error) {
	st := &state{
		Format:             stateFormat,
		Name:               p.addr.Name,
		DeviceID:           p.addr.DeviceID,
		RegistrationID:     p.regID,
		IdentityPrivateKey: p.identity.Private[:],
		IdentityKey:        p.identity.Public.Bytes(),
		NextPreKeyID:       p.nextPreKeyID,
		NextSignedPreKeyID: p.nextSignedPreKeyID,
		NextKyberPreKeyID:  p.nextKyberPreKeyID,
		Sessions:           []stateRecord{},
		Identities:         []stateIdentity{},
		PreKeys:            []statePreKey{},
		SignedPreKeys:      []stateSignedKey{},
		KyberPreKeys:       []stateKyberKey{},
		SenderKeys:         []stateRecord{},
		KyberUsed:          slices.Clone(p.kyberUsed),
	}
	if st.KyberUsed == nil {
		st.KyberUsed = []kyberUse{}
	}
	for _, a := range sortedAddrs(p.sessions) {
		rec, err := p.store.LoadSession(ctx, a)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		b, err := rec.MarshalBinary()
		if err != nil {
			return nil, err
		}
		st.Sessions = append(st.Sessions, stateRecord{Name: a.Name, DeviceID: a.DeviceID, Record: b})
	}
	for _, a := range sortedAddrs(p.identities) {
		k, ok, err := p.store.Identity(ctx, a)
		if err != nil {
			return nil, err
		}
		if ok {
			st.Identities = append(st.Identities, stateIdentity{Name: a.Name, DeviceID: a.DeviceID, Key: k.Bytes()})
		}
	}
	for _, id := range sortedIDs(p.preKeys) {
		r, err := p.store.LoadPreKey(ctx, id)
		if errors.Is(err, session.ErrNoPreKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st.PreKeys = append(st.PreKeys, statePreKey{ID: r.ID, PrivateKey: r.KeyPair.Private[:]})
	}
	for _, id := range sortedIDs(p.signedPreKeys) {
		r, err := p.store.LoadSignedPreKey(ctx, id)
		if errors.Is(err, session.ErrNoPreKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st.SignedPreKeys = append(st.SignedPreKeys, stateSignedKey{ID: r.ID, Timestamp: r.Timestamp.UnixMilli(), PrivateKey: r.KeyPair.Private[:], Signature: r.Signature[:]})
	}
	for _, id := range sortedIDs(p.kyberPreKeys) {
		r, err := p.store.LoadKyberPreKey(ctx, id)
		if errors.Is(err, session.ErrNoPreKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st.KyberPreKeys = append(st.KyberPreKeys, stateKyberKey{ID: r.ID, Timestamp: r.Timestamp.UnixMilli(), Seed: r.KeyPair.Seed(), Signature: r.Signature[:], LastResort: r.LastResort})
	}
	ids := make([]senderKeyID, 0, len(p.senderKeyIDs))
	for k := range p.senderKeyIDs {
		ids = append(ids, k)
	}
	slices.SortFunc(ids, func(a, b senderKeyID) int {
		return cmp.Or(addressOrder(a.sender, b.sender), slices.Compare(a.distribution[:], b.distribution[:]))
	})
	for _, k := range ids {
		rec, err := p.senders.SenderKey(ctx, k.sender, k.distribution)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		b, err := rec.MarshalBinary()
		if err != nil {
			return nil, err
		}
		st.SenderKeys = append(st.SenderKeys, stateRecord{Name: k.sender.Name, DeviceID: k.sender.DeviceID, DistributionID: formatUUID(k.distribution), Record: b})
	}
	return st, nil
}

// importParty rebuilds a party from an exported state. Every record is
// decoded on the way in, so a corrupt state is refused now rather than at
// some later decrypt; any problem is a bad request and creates nothing.
func importParty(ctx context.Context, a *argReader) (*party, error) {
	if !a.has("format") {
		return nil, badRequest("%s.format is required", a.where)
	}
	if format := a.str("format"); a.err != nil || format != stateFormat {
		return nil, badRequest("%s.format %s is not supported (want %q)", a.where, a.m["format"], stateFormat)
	}
	name := a.str("name")
	dev := a.u32("deviceId")
	regID := a.u32("registrationId")
	priv := a.bytes("identityPrivateKey")
	if a.err != nil {
		return nil, a.err
	}
	addr := session.Address{Name: name, DeviceID: dev}
	if dev < 1 || dev > session.MaxDeviceID {
		return nil, badRequest("%s.deviceId %d is outside 1..%d", a.where, dev, session.MaxDeviceID)
	}
	key, err := curve.ParsePrivateKey(priv)
	if err != nil {
		return nil, badRequest("%s.identityPrivateKey: %v", a.where, err)
	}
	p := newParty(addr, regID, curve.KeyPair{Private: key, Public: key.PublicKey()})
	if a.has("identityKey") {
		if pub := a.bytes("identityKey"); a.err == nil && string(pub) != string(p.identity.Public.Bytes()) {
			return nil, badRequest("%s.identityKey does not belong to identityPrivateKey", a.where)
		}
	}
	p.nextPreKeyID = a.int("nextPreKeyId")
	p.nextSignedPreKeyID = a.int("nextSignedPreKeyId")
	p.nextKyberPreKeyID = a.int("nextKyberPreKeyId")
	if a.err != nil {
		return nil, a.err
	}
	steps := []struct {
		key  string
		load func(e *argReader) error
	}{
		{"sessions", func(e *argReader) error {
			peer, b := entryAddress(e), e.bytes("record")
			if e.err != nil {
				return e.err
			}
			var rec session.Record
			if err := rec.UnmarshalBinary(b); err != nil {
				return badRequest("%s.record: %v", e.where, err)
			}
			return p.st.Sessions.StoreSession(ctx, peer, &rec)
		}},
		{"identities", func(e *argReader) error {
			peer, b := entryAddress(e), e.bytes("key")
			if e.err != nil {
				return e.err
			}
			k, err := curve.ParsePublicKey(b)
			if err != nil {
				return badRequest("%s.key: %v", e.where, err)
			}
			_, err = p.st.Identity.SaveIdentity(ctx, peer, k)
			return err
		}},
		{"preKeys", func(e *argReader) error {
			id, b := e.u32("id"), e.bytes("privateKey")
			if e.err != nil {
				return e.err
			}
			k, err := curve.ParsePrivateKey(b)
			if err != nil {
				return badRequest("%s.privateKey: %v", e.where, err)
			}
			p.storePreKey(session.PreKeyRecord{ID: id, KeyPair: curve.KeyPair{Private: k, Public: k.PublicKey()}})
			return nil
		}},
		{"signedPreKeys", func(e *argReader) error {
			id, ts, b, sig := e.u32("id"), e.int("timestamp"), e.bytes("privateKey"), e.bytes("signature")
			if e.err != nil {
				return e.err
			}
			k, err := curve.ParsePrivateKey(b)
			if err != nil {
				return badRequest("%s.privateKey: %v", e.where, err)
			}
			r := session.SignedPreKeyRecord{ID: id, Timestamp: time.UnixMilli(int64(ts)), KeyPair: curve.KeyPair{Private: k, Public: k.PublicKey()}}
			if len(sig) != len(r.Signature) {
				return badRequest("%s.signature: %d bytes, want %d", e.where, len(sig), len(r.Signature))
			}
			copy(r.Signature[:], sig)
			p.storeSignedPreKey(r)
			return nil
		}},
		{"kyberPreKeys", func(e *argReader) error {
			id, ts, seed, sig, last := e.u32("id"), e.int("timestamp"), e.bytes("seed"), e.bytes("signature"), e.flag("lastResort")
			if e.err != nil {
				return e.err
			}
			kp, err := kem.KeyPairFromSeed(seed)
			if err != nil {
				return badRequest("%s.seed: %v", e.where, err)
			}
			r := session.KyberPreKeyRecord{ID: id, Timestamp: time.UnixMilli(int64(ts)), KeyPair: kp, LastResort: last}
			if len(sig) != len(r.Signature) {
				return badRequest("%s.signature: %d bytes, want %d", e.where, len(sig), len(r.Signature))
			}
			copy(r.Signature[:], sig)
			p.storeKyberPreKey(r)
			return nil
		}},
		{"senderKeys", func(e *argReader) error {
			sender, dist, b := entryAddress(e), e.distribution("distributionId"), e.bytes("record")
			if e.err != nil {
				return e.err
			}
			var rec senderkey.Record
			if err := rec.UnmarshalBinary(b); err != nil {
				return badRequest("%s.record: %v", e.where, err)
			}
			return p.senders.SaveSenderKey(ctx, sender, dist, &rec)
		}},
		{"kyberUsed", func(e *argReader) error {
			id, spk, b := e.u32("kyberPreKeyId"), e.u32("signedPreKeyId"), e.bytes("baseKey")
			if e.err != nil {
				return e.err
			}
			base, err := curve.ParsePublicKey(b)
			if err != nil {
				return badRequest("%s.baseKey: %v", e.where, err)
			}
			// Replaying the call restores a last-resort key's replay
			// protection. One-time keys were deleted by the call itself; a
			// key now under that id is another one and must stay.
			if r, err := p.store.LoadKyberPreKey(ctx, id); err == nil && r.LastResort {
				if err := p.store.MarkKyberPreKeyUsed(ctx, id, spk, base); err != nil && !errors.Is(err, session.ErrPreKeyReused) {
					return err
				}
			}
			p.kyberUsed = append(p.kyberUsed, kyberUse{KyberPreKeyID: id, SignedPreKeyID: spk, BaseKey: b})
			return nil
		}},
	}
	for _, s := range steps {
		for _, e := range a.list(s.key) {
			if err := s.load(e); err != nil {
				return nil, err
			}
		}
		if a.err != nil {
			return nil, a.err
		}
	}
	return p, nil
}

// entryAddress reads the name and deviceId of a state entry.
func entryAddress(e *argReader) session.Address {
	name, dev := e.str("name"), e.int("deviceId")
	if e.err == nil && (dev < 1 || dev > session.MaxDeviceID) {
		e.fail(badRequest("%s.deviceId %d is outside 1..%d", e.where, dev, session.MaxDeviceID))
	}
	return session.Address{Name: name, DeviceID: uint32(dev)}
}
