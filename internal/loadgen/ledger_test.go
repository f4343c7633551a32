package loadgen

import "testing"

// A message delivered on a connection that drops before its ack comes
// again; the run is settled only once the ack of that second delivery is
// answered, and then it counts as acked.
func TestLedgerRedeliveryIsAcked(t *testing.T) {
	var l ledger
	a, b := l.add(), l.add()
	l.accepted(a)
	l.accepted(b)
	for _, seq := range []uint64{a, b} {
		if first, unacked := l.delivered(seq); !first || !unacked {
			t.Fatalf("first delivery of %d: first %v, unacked %v", seq, first, unacked)
		}
	}
	l.acked([]uint64{b})
	// a's ack was lost with its connection: it comes again, and its ack
	// must be sent and counted.
	if l.settled() {
		t.Fatal("settled with a delivered message unacked")
	}
	first, unacked := l.delivered(a)
	if first || !unacked {
		t.Fatalf("redelivery: first %v, unacked %v; want false, true", first, unacked)
	}
	l.acked([]uint64{a})
	if !l.settled() {
		t.Fatal("not settled after every message was acked")
	}
	// Once acked, a further delivery is a duplicate and needs no ack.
	if first, unacked := l.delivered(a); first || unacked {
		t.Fatalf("delivery after the ack: first %v, unacked %v", first, unacked)
	}
	c := l.counts()
	if c.Delivered != 2 || c.Acked != 2 || c.Redelivered != 1 || c.Duplicates != 1 {
		t.Errorf("counts %+v", c)
	}

	// A message delivered although its send failed must be acked too.
	f := l.add()
	l.failed(f)
	if _, unacked := l.delivered(f); !unacked || l.settled() {
		t.Fatalf("a delivered message whose send failed: unacked %v, settled %v", unacked, l.settled())
	}
	l.acked([]uint64{f})
	if !l.settled() {
		t.Fatal("not settled after the ack")
	}
}
