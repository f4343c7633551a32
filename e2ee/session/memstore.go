package session

import (
	"context"
	"sync"

	"github.com/parley-im/parley/e2ee/curve"
)

// MemoryStore keeps everything in memory: for tests, benchmarks and tools.
// It implements all the store interfaces and is safe for concurrent use.
// Its trust policy is trust on first use.
type MemoryStore struct {
	mu            sync.Mutex
	identity      curve.KeyPair
	regID         uint32
	identities    map[Address]curve.PublicKey
	sessions      map[Address]Record // records share states (see Record.Clone)
	preKeys       map[uint32]PreKeyRecord
	signedPreKeys map[uint32]SignedPreKeyRecord
	kyberPreKeys  map[uint32]KyberPreKeyRecord
	kyberUsed     map[kyberUse]struct{}
}

type kyberUse struct {
	id, signedPreKeyID uint32
	baseKey            curve.PublicKey
}

// NewMemoryStore returns an empty store for the given identity.
func NewMemoryStore(identity curve.KeyPair, registrationID uint32) *MemoryStore {
	return &MemoryStore{
		identity:      identity,
		regID:         registrationID,
		identities:    map[Address]curve.PublicKey{},
		sessions:      map[Address]Record{},
		preKeys:       map[uint32]PreKeyRecord{},
		signedPreKeys: map[uint32]SignedPreKeyRecord{},
		kyberPreKeys:  map[uint32]KyberPreKeyRecord{},
		kyberUsed:     map[kyberUse]struct{}{},
	}
}

// Stores returns a Stores that uses m for everything, with local as our
// address.
func (m *MemoryStore) Stores(local Address) Stores {
	return Stores{Local: local, Identity: m, Sessions: m, PreKeys: m, SignedPreKeys: m, KyberPreKeys: m}
}

// IdentityKeyPair implements IdentityStore.
func (m *MemoryStore) IdentityKeyPair(context.Context) (curve.KeyPair, error) { return m.identity, nil }

// LocalRegistrationID implements IdentityStore.
func (m *MemoryStore) LocalRegistrationID(context.Context) (uint32, error) { return m.regID, nil }

// SaveIdentity implements IdentityStore.
func (m *MemoryStore) SaveIdentity(_ context.Context, addr Address, key curve.PublicKey) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.identities[addr]
	m.identities[addr] = key
	return ok && old != key, nil
}

// IsTrustedIdentity implements IdentityStore: trusted unless a different key
// is on record.
func (m *MemoryStore) IsTrustedIdentity(_ context.Context, addr Address, key curve.PublicKey, _ Direction) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.identities[addr]
	return !ok || old == key, nil
}

// Identity implements IdentityStore.
func (m *MemoryStore) Identity(_ context.Context, addr Address) (curve.PublicKey, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.identities[addr]
	return k, ok, nil
}

// LoadSession implements SessionStore (returning a copy).
func (m *MemoryStore) LoadSession(_ context.Context, addr Address) (*Record, error) {
	m.mu.Lock()
	rec, ok := m.sessions[addr]
	m.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return &rec, nil
}

// StoreSession implements SessionStore (keeping a copy).
func (m *MemoryStore) StoreSession(_ context.Context, addr Address, rec *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec == nil {
		delete(m.sessions, addr)
		return nil
	}
	m.sessions[addr] = *rec
	return nil
}

// StorePreKey adds a one-time prekey.
func (m *MemoryStore) StorePreKey(r PreKeyRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.preKeys[r.ID] = r
}

// LoadPreKey implements PreKeyStore.
func (m *MemoryStore) LoadPreKey(_ context.Context, id uint32) (PreKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.preKeys[id]
	if !ok {
		return PreKeyRecord{}, errorf(ErrNoPreKey, "prekey %d", id)
	}
	return r, nil
}

// RemovePreKey implements PreKeyStore.
func (m *MemoryStore) RemovePreKey(_ context.Context, id uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.preKeys, id)
	return nil
}

// StoreSignedPreKey adds a signed prekey.
func (m *MemoryStore) StoreSignedPreKey(r SignedPreKeyRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.signedPreKeys[r.ID] = r
}

// LoadSignedPreKey implements SignedPreKeyStore.
func (m *MemoryStore) LoadSignedPreKey(_ context.Context, id uint32) (SignedPreKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.signedPreKeys[id]
	if !ok {
		return SignedPreKeyRecord{}, errorf(ErrNoPreKey, "signed prekey %d", id)
	}
	return r, nil
}

// StoreKyberPreKey adds a Kyber prekey.
func (m *MemoryStore) StoreKyberPreKey(r KyberPreKeyRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kyberPreKeys[r.ID] = r
}

// LoadKyberPreKey implements KyberPreKeyStore.
func (m *MemoryStore) LoadKyberPreKey(_ context.Context, id uint32) (KyberPreKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.kyberPreKeys[id]
	if !ok {
		return KyberPreKeyRecord{}, errorf(ErrNoPreKey, "Kyber prekey %d", id)
	}
	return r, nil
}

// MarkKyberPreKeyUsed implements KyberPreKeyStore: one-time keys are
// deleted; last-resort keys refuse a repeated (signed prekey, base key).
func (m *MemoryStore) MarkKyberPreKeyUsed(_ context.Context, id, signedPreKeyID uint32, baseKey curve.PublicKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.kyberPreKeys[id]
	if !ok {
		return errorf(ErrNoPreKey, "Kyber prekey %d", id)
	}
	if !r.LastResort {
		delete(m.kyberPreKeys, id)
		return nil
	}
	use := kyberUse{id: id, signedPreKeyID: signedPreKeyID, baseKey: baseKey}
	if _, seen := m.kyberUsed[use]; seen {
		return errorf(ErrPreKeyReused, "Kyber prekey %d", id)
	}
	m.kyberUsed[use] = struct{}{}
	return nil
}
