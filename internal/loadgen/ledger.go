package loadgen

import "sync"

// ledger follows every message by its sequence number, from send to ack,
// so that the report can say how many were lost or delivered twice.
type ledger struct {
	mu         sync.Mutex
	st         []msgState
	nDelivered int64 // messages delivered at least once
	nAcked     int64 // messages whose ack was answered
	nAccepted  int64
	// nOwed are messages that must end acked: accepted, or delivered
	// although their send failed. The run is settled when all are acked.
	nOwed int64
	// duplicates are deliveries of a message whose ack the server had
	// already answered: the server promised to delete it, and did not.
	duplicates int64
	// redelivered are further deliveries of a message not yet acked, as
	// after a reconnect: the protocol allows them.
	redelivered int64
	foreign     int64 // deliveries with a sequence number never sent
}

type msgState struct {
	flags      uint8
	deliveries uint8
}

const (
	msgAccepted uint8 = 1 << iota
	msgFailed
	msgAcked
)

func (l *ledger) add() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st = append(l.st, msgState{})
	return uint64(len(l.st) - 1)
}

func (l *ledger) accepted(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := &l.st[seq]
	m.flags |= msgAccepted
	l.nAccepted++
	if m.deliveries == 0 {
		l.nOwed++ // else counted when it was delivered
	}
}

func (l *ledger) failed(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st[seq].flags |= msgFailed
}

// delivered records a delivery. first says it is the message's first;
// unacked that no ack of it was answered yet, so this delivery's ack must
// count: after a connection dropped between a delivery and its ack, the
// message comes again, and only the ack of that second delivery settles it.
func (l *ledger) delivered(seq uint64) (first, unacked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq >= uint64(len(l.st)) {
		l.foreign++
		return false, false
	}
	m := &l.st[seq]
	if m.deliveries < 255 {
		m.deliveries++
	}
	unacked = m.flags&msgAcked == 0
	switch {
	case m.deliveries == 1:
		l.nDelivered++
		if m.flags&msgAccepted == 0 {
			l.nOwed++
		}
		return true, unacked
	case !unacked:
		l.duplicates++
	default:
		l.redelivered++
	}
	return false, unacked
}

func (l *ledger) acked(seqs []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seq := range seqs {
		if m := &l.st[seq]; m.flags&msgAcked == 0 {
			m.flags |= msgAcked
			l.nAcked++
		}
	}
}

func (l *ledger) deliveredCount() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nDelivered
}

// settled reports whether every accepted or delivered message was acked.
func (l *ledger) settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nAcked >= l.nOwed
}

// Counts are the report's message figures.
type Counts struct {
	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"`
	Failed   int64 `json:"failed"`
	// Delivered and Acked count distinct messages.
	Delivered int64 `json:"delivered"`
	Acked     int64 `json:"acked"`
	// Missing were accepted and never delivered.
	Missing int64 `json:"missing"`
	// Unanswered were sent and got no answer (a timeout, or the run ended).
	Unanswered int64 `json:"unanswered"`
	// DeliveredNotAccepted arrived although their send failed or was not
	// answered: the server stored them and the answer was lost.
	DeliveredNotAccepted int64 `json:"nDeliverednot_accepted"`
	Redelivered          int64 `json:"redelivered"`
	Duplicates           int64 `json:"duplicates"`
	Foreign              int64 `json:"foreign"`
}

func (l *ledger) counts() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := Counts{Sent: int64(len(l.st)), Accepted: l.nAccepted, Delivered: l.nDelivered, Acked: l.nAcked,
		Redelivered: l.redelivered, Duplicates: l.duplicates, Foreign: l.foreign}
	for _, m := range l.st {
		switch {
		case m.flags&msgFailed != 0:
			c.Failed++
		case m.flags&msgAccepted == 0:
			c.Unanswered++
		}
		if m.flags&msgAccepted != 0 && m.deliveries == 0 {
			c.Missing++
		}
		if m.flags&msgAccepted == 0 && m.deliveries > 0 {
			c.DeliveredNotAccepted++
		}
	}
	return c
}
