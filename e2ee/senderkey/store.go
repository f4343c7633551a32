package senderkey

import (
	"context"
	"sync"

	"github.com/parley-im/parley/e2ee"
)

// Address names one device of a user, like libsignal's ProtocolAddress. It
// is e2ee.Address, as is session.Address, so that the address a 1:1 session
// (which carries the SKDM) was established with is the one the sender key is
// filed under, without conversion.
type Address = e2ee.Address

// Store persists sender-key records. SenderKey returns (nil, nil) when there
// is no record. The operations modify the returned record before saving it,
// so implementations must return a record the caller may own (a fresh
// decode or a copy), never one shared with other callers.
type Store interface {
	SenderKey(ctx context.Context, sender Address, distributionID [16]byte) (*Record, error)
	SaveSenderKey(ctx context.Context, sender Address, distributionID [16]byte, r *Record) error
}

// MemoryStore is an in-memory Store, safe for concurrent use. The zero value
// is ready to use.
type MemoryStore struct {
	mu      sync.Mutex
	records map[memoryKey]*Record
}

type memoryKey struct {
	sender         Address
	distributionID [16]byte
}

// SenderKey returns a copy of the stored record, or nil if there is none.
func (m *MemoryStore) SenderKey(_ context.Context, sender Address, distributionID [16]byte) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.records[memoryKey{sender, distributionID}].clone(), nil
}

// SaveSenderKey stores a copy of r.
func (m *MemoryStore) SaveSenderKey(_ context.Context, sender Address, distributionID [16]byte, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = make(map[memoryKey]*Record)
	}
	m.records[memoryKey{sender, distributionID}] = r.clone()
	return nil
}
