package webhook

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Queued is an event in the queue with its delivery state.
type Queued struct {
	Event
	Seq         int64     // order of enqueueing, which is delivery order per customer
	Enqueued    time.Time // the seven days count from here
	Attempts    int       // failed attempts so far
	NextAttempt time.Time
}

// Queue is where events wait until delivered: in memory (MemQueue) or in
// the business agent's database (bizstore's WebhookQueue). Implementations must keep an
// event's bytes unchanged, since a retry must carry the original signature.
type Queue interface {
	// Add queues ev behind the events already queued for its customer. It
	// returns false, and queues nothing, when an event with ev.ID is queued
	// or was removed within the remembered period (a replay).
	Add(ctx context.Context, ev Event, now time.Time) (bool, error)
	// Claim returns up to limit events that are the oldest of their
	// customer and due at now, and moves their NextAttempt to leaseUntil so
	// no second claim returns them while they are being delivered (and a
	// crash mid-delivery retries them after the lease).
	Claim(ctx context.Context, now time.Time, limit int, leaseUntil time.Time) ([]Queued, error)
	// NextDue is the earliest NextAttempt of any customer's oldest event.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// Retry records a failed attempt and when to try again.
	Retry(ctx context.Context, id string, attempts int, next time.Time) error
	// Remove deletes a delivered (or dropped) event and remembers its id.
	Remove(ctx context.Context, id string, now time.Time) error
	// Forget drops remembered ids removed before the given time.
	Forget(ctx context.Context, before time.Time) error
}

// MemQueue is a Queue in memory, for tests and for agents that run without
// a database. A restart loses it.
type MemQueue struct {
	mu      sync.Mutex
	seq     int64
	events  map[string]*Queued   // by id
	byCust  map[string][]*Queued // each customer's events in order
	removed map[string]time.Time // ids delivered or dropped, and when
}

// NewMemQueue returns an empty MemQueue.
func NewMemQueue() *MemQueue {
	return &MemQueue{events: map[string]*Queued{}, byCust: map[string][]*Queued{}, removed: map[string]time.Time{}}
}

func (q *MemQueue) Add(_ context.Context, ev Event, now time.Time) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.events[ev.ID]; ok {
		return false, nil
	}
	if _, ok := q.removed[ev.ID]; ok {
		return false, nil
	}
	q.seq++
	e := &Queued{Event: Event{ID: ev.ID, Customer: ev.Customer, Body: append([]byte(nil), ev.Body...)},
		Seq: q.seq, Enqueued: now, NextAttempt: now}
	q.events[ev.ID] = e
	q.byCust[ev.Customer] = append(q.byCust[ev.Customer], e)
	return true, nil
}

func (q *MemQueue) Claim(_ context.Context, now time.Time, limit int, leaseUntil time.Time) ([]Queued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due []*Queued
	for _, list := range q.byCust {
		if h := list[0]; !h.NextAttempt.After(now) {
			due = append(due, h)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].NextAttempt.Equal(due[j].NextAttempt) {
			return due[i].NextAttempt.Before(due[j].NextAttempt)
		}
		return due[i].Seq < due[j].Seq
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]Queued, len(due))
	for i, e := range due {
		out[i] = *e
		e.NextAttempt = leaseUntil
	}
	return out, nil
}

func (q *MemQueue) NextDue(context.Context) (time.Time, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t time.Time
	ok := false
	for _, list := range q.byCust {
		if h := list[0]; !ok || h.NextAttempt.Before(t) {
			t, ok = h.NextAttempt, true
		}
	}
	return t, ok, nil
}

func (q *MemQueue) Retry(_ context.Context, id string, attempts int, next time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.events[id]; ok {
		e.Attempts, e.NextAttempt = attempts, next
	}
	return nil
}

func (q *MemQueue) Remove(_ context.Context, id string, now time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.removed[id] = now
	e, ok := q.events[id]
	if !ok {
		return nil
	}
	delete(q.events, id)
	list := q.byCust[e.Customer]
	for i, x := range list {
		if x == e {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(q.byCust, e.Customer)
	} else {
		q.byCust[e.Customer] = list
	}
	return nil
}

func (q *MemQueue) Forget(_ context.Context, before time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for id, at := range q.removed {
		if at.Before(before) {
			delete(q.removed, id)
		}
	}
	return nil
}
