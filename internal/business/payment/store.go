package payment

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Store keeps charges for providers. It is deliberately narrow: the
// business agent's database (internal/business/bizstore) implements it, and
// MemStore does for tests; both pass paymenttest's suite.
type Store interface {
	// InsertCharge records a new pending charge. ErrConflict if the ID is
	// taken or the reference already has a live (pending or captured)
	// charge.
	InsertCharge(ctx context.Context, c Charge) error
	// Charge returns a charge by ID, or ErrNotFound.
	Charge(ctx context.Context, id ChargeID) (Charge, error)
	// LiveCharge returns the pending or captured charge of an order
	// reference, or ErrNotFound.
	LiveCharge(ctx context.Context, reference string) (Charge, error)
	// SettleCharge moves a pending charge to to (captured or failed) and
	// reports changed. A charge already in to comes back unchanged; one
	// already settled the other way is ErrConflict. Of concurrent calls
	// exactly one sees changed, which is what makes notifications
	// exactly-once.
	SettleCharge(ctx context.Context, id ChargeID, to Status, reason string, at time.Time) (c Charge, changed bool, err error)
}

// MemStore is a Store in memory, for the sandbox and tests.
type MemStore struct {
	mu      sync.Mutex
	charges map[ChargeID]Charge
	live    map[string]ChargeID
}

var _ Store = (*MemStore)(nil)

func NewMemStore() *MemStore {
	return &MemStore{charges: make(map[ChargeID]Charge), live: make(map[string]ChargeID)}
}

func (m *MemStore) InsertCharge(ctx context.Context, c Charge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.charges[c.ID]; ok {
		return fmt.Errorf("%w: charge %s exists", ErrConflict, c.ID)
	}
	if id, ok := m.live[c.Reference]; ok {
		return fmt.Errorf("%w: reference %s has live charge %s", ErrConflict, c.Reference, id)
	}
	m.charges[c.ID] = c
	if c.Status != StatusFailed {
		m.live[c.Reference] = c.ID
	}
	return nil
}

func (m *MemStore) Charge(ctx context.Context, id ChargeID) (Charge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.charges[id]
	if !ok {
		return Charge{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return c, nil
}

func (m *MemStore) LiveCharge(ctx context.Context, reference string) (Charge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.live[reference]
	if !ok {
		return Charge{}, fmt.Errorf("%w: no live charge for %s", ErrNotFound, reference)
	}
	return m.charges[id], nil
}

func (m *MemStore) SettleCharge(ctx context.Context, id ChargeID, to Status, reason string, at time.Time) (Charge, bool, error) {
	if !to.Final() {
		return Charge{}, false, fmt.Errorf("%w: cannot settle to %q", ErrInvalidRequest, to)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.charges[id]
	switch {
	case !ok:
		return Charge{}, false, fmt.Errorf("%w: %s", ErrNotFound, id)
	case c.Status == to:
		return c, false, nil
	case c.Status != StatusPending:
		return c, false, fmt.Errorf("%w: charge %s is already %s", ErrConflict, id, c.Status)
	}
	c.Status, c.UpdatedAt = to, at
	if to == StatusFailed {
		c.FailureReason = reason
		delete(m.live, c.Reference)
	}
	m.charges[id] = c
	return c, true, nil
}
