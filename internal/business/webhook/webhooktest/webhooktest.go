// Package webhooktest is the conformance suite for webhook.Queue (the
// memory queue and the business database's queue in
// internal/business/bizstore must both pass it) and the delivery scenarios
// that a queue decides: per-customer order under retries, replays, and a
// restart with events pending. It also provides a signature-checking
// receiver for other packages' webhook tests.
package webhooktest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/webhook"
)

// t0 is the suite's "now": whole milliseconds, the precision a queue must
// keep.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ev(id, customer, body string) webhook.Event {
	return webhook.Event{ID: id, Customer: customer, Body: []byte(body)}
}

func claimIDs(qs []webhook.Queued) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.ID)
	}
	return out
}

type queueTest struct {
	name string
	run  func(t *testing.T, q webhook.Queue)
}

// RunQueue runs the queue tests. open must return a new, empty queue for
// each call and release it when t ends.
func RunQueue(t *testing.T, open func(t *testing.T) webhook.Queue) {
	for _, tc := range queueTests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

var queueTests = []queueTest{
	{"an event comes back byte for byte", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		body := []byte("{\"a\":\"\\u00e7\"}\x00\xff\xfe") // the queue must not care what the bytes are
		added, err := q.Add(ctx, webhook.Event{ID: "e1", Customer: "c1", Body: body}, t0)
		if err != nil || !added {
			t.Fatalf("Add: %v %v", added, err)
		}
		got, err := q.Claim(ctx, t0, 10, t0.Add(time.Minute))
		must(t, err)
		if len(got) != 1 || got[0].ID != "e1" || got[0].Customer != "c1" || !bytes.Equal(got[0].Body, body) ||
			!got[0].Enqueued.Equal(t0) || got[0].Attempts != 0 {
			t.Fatalf("claimed %+v", got)
		}
	}},
	{"only each customer's oldest event is claimed, oldest first", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		for i, e := range []webhook.Event{ev("a1", "A", "1"), ev("b1", "B", "2"), ev("a2", "A", "3"), ev("c1", "C", "4"), ev("a3", "A", "5")} {
			added, err := q.Add(ctx, e, t0.Add(time.Duration(i)*time.Millisecond))
			if err != nil || !added {
				t.Fatalf("Add %s: %v %v", e.ID, added, err)
			}
		}
		got, err := q.Claim(ctx, t0.Add(time.Second), 2, t0.Add(time.Minute))
		must(t, err)
		if strings.Join(claimIDs(got), ",") != "a1,b1" {
			t.Fatalf("claimed %v, want a1,b1 (limit 2, oldest first)", claimIDs(got))
		}
		got, err = q.Claim(ctx, t0.Add(time.Second), 10, t0.Add(time.Minute))
		must(t, err)
		if strings.Join(claimIDs(got), ",") != "c1" {
			t.Fatalf("second claim %v, want c1: a2 waits behind a1, and claimed events are leased", claimIDs(got))
		}
		must(t, q.Remove(ctx, "a1", t0.Add(2*time.Second)))
		got, err = q.Claim(ctx, t0.Add(2*time.Second), 10, t0.Add(time.Minute))
		must(t, err)
		if strings.Join(claimIDs(got), ",") != "a2" {
			t.Fatalf("after a1 is delivered: %v, want a2", claimIDs(got))
		}
		if got[0].Seq <= 0 {
			t.Fatalf("seq %d", got[0].Seq)
		}
	}},
	{"a lease hides an event until it ends", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		_, err := q.Add(ctx, ev("x", "X", "{}"), t0)
		must(t, err)
		got, err := q.Claim(ctx, t0, 10, t0.Add(time.Minute))
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("claimed %v", claimIDs(got))
		}
		if got, _ := q.Claim(ctx, t0.Add(59*time.Second), 10, t0.Add(2*time.Minute)); len(got) != 0 {
			t.Fatalf("a leased event was claimed again: %v", claimIDs(got))
		}
		if next, ok, err := q.NextDue(ctx); err != nil || !ok || !next.Equal(t0.Add(time.Minute)) {
			t.Fatalf("NextDue during the lease: %v %v %v", next, ok, err)
		}
		got, err = q.Claim(ctx, t0.Add(time.Minute), 10, t0.Add(2*time.Minute))
		must(t, err)
		if len(got) != 1 || got[0].ID != "x" {
			t.Fatalf("after the lease (a crash mid-delivery): %v", claimIDs(got))
		}
	}},
	{"a retry records its attempts and waits", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		_, err := q.Add(ctx, ev("r", "R", "{}"), t0)
		must(t, err)
		_, err = q.Add(ctx, ev("s", "S", "{}"), t0)
		must(t, err)
		_, err = q.Claim(ctx, t0, 10, t0.Add(time.Minute))
		must(t, err)
		must(t, q.Retry(ctx, "r", 3, t0.Add(10*time.Second)))
		must(t, q.Retry(ctx, "s", 1, t0.Add(5*time.Second)))
		if next, ok, err := q.NextDue(ctx); err != nil || !ok || !next.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("NextDue = %v %v %v, want the earliest retry", next, ok, err)
		}
		if got, _ := q.Claim(ctx, t0.Add(5*time.Second-time.Millisecond), 10, t0.Add(time.Minute)); len(got) != 0 {
			t.Fatalf("claimed before its retry time: %v", claimIDs(got))
		}
		got, err := q.Claim(ctx, t0.Add(20*time.Second), 10, t0.Add(time.Minute))
		must(t, err)
		if strings.Join(claimIDs(got), ",") != "s,r" || got[1].Attempts != 3 || got[0].Attempts != 1 || !got[1].Enqueued.Equal(t0) {
			t.Fatalf("claimed %+v, want s then r (by due time) with their attempts", got)
		}
	}},
	{"delivered ids are refused until forgotten", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		if added, err := q.Add(ctx, ev("d", "D", "1"), t0); err != nil || !added {
			t.Fatalf("Add: %v %v", added, err)
		}
		if added, err := q.Add(ctx, ev("d", "D", "1"), t0); err != nil || added {
			t.Fatalf("a queued id was queued again: %v %v", added, err)
		}
		must(t, q.Remove(ctx, "d", t0.Add(time.Second)))
		if added, err := q.Add(ctx, ev("d", "D", "1"), t0.Add(2*time.Second)); err != nil || added {
			t.Fatalf("a delivered id was queued again (a replay): %v %v", added, err)
		}
		if got, _ := q.Claim(ctx, t0.Add(time.Hour), 10, t0.Add(2*time.Hour)); len(got) != 0 {
			t.Fatalf("the queue holds %v after delivery", claimIDs(got))
		}
		must(t, q.Forget(ctx, t0.Add(time.Second))) // removed at t0+1s: not before it
		if added, _ := q.Add(ctx, ev("d", "D", "1"), t0); added {
			t.Fatal("an id removed at the cutoff was forgotten")
		}
		must(t, q.Forget(ctx, t0.Add(time.Second+time.Millisecond)))
		if added, err := q.Add(ctx, ev("d", "D", "1"), t0.Add(3*time.Second)); err != nil || !added {
			t.Fatalf("a forgotten id was refused: %v %v", added, err)
		}
		// Removing an id that is not queued only remembers it.
		must(t, q.Remove(ctx, "never", t0))
		if added, _ := q.Add(ctx, ev("never", "N", "1"), t0); added {
			t.Fatal("a removed id was queued")
		}
	}},
	{"an empty queue has nothing due", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		if _, ok, err := q.NextDue(ctx); err != nil || ok {
			t.Fatalf("NextDue of an empty queue: %v %v", ok, err)
		}
		if got, err := q.Claim(ctx, t0, 10, t0.Add(time.Minute)); err != nil || len(got) != 0 {
			t.Fatalf("Claim of an empty queue: %v %v", claimIDs(got), err)
		}
		// Retry and Remove of unknown ids are harmless.
		must(t, q.Retry(ctx, "nope", 1, t0))
	}},
	{"many customers, many events: each customer's order holds", func(t *testing.T, q webhook.Queue) {
		ctx := t.Context()
		customers := []string{"c0", "c1", "c2", "c3"}
		var want = map[string][]string{}
		for i := range 40 {
			c := customers[i*7%len(customers)]
			id := fmt.Sprintf("%s-%02d", c, i)
			want[c] = append(want[c], id)
			_, err := q.Add(ctx, ev(id, c, "{}"), t0)
			must(t, err)
		}
		got := map[string][]string{}
		now := t0
		for range 100 {
			now = now.Add(time.Second)
			claimed, err := q.Claim(ctx, now, 3, now.Add(time.Minute))
			must(t, err)
			if len(claimed) == 0 {
				break
			}
			for _, e := range claimed {
				got[e.Customer] = append(got[e.Customer], e.ID)
				must(t, q.Remove(ctx, e.ID, now))
			}
		}
		for _, c := range customers {
			if !slices.Equal(got[c], want[c]) {
				t.Fatalf("customer %s: delivered %v, want %v", c, got[c], want[c])
			}
		}
	}},
}

// RunSender runs delivery through a webhook.Sender on queues from open:
// an event that fails holds back its customer's later events only, a retry
// carries the same bytes and signature, and a replay is not delivered.
func RunSender(t *testing.T, open func(t *testing.T) webhook.Queue) {
	rcv := NewReceiver(t, "s3cret")
	// a1 fails three times: a2 and a3 (same customer) wait for it; b1
	// (another customer) does not.
	rcv.Fail("a1", 3)
	s := webhook.New(webhook.Config{Queue: open(t), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := s.Register(ctx, rcv.Target()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for _, e := range []webhook.Event{Message(t, "551100000001", "a1", "primeira 🍞"), Message(t, "551100000001", "a2", "segunda"),
		Message(t, "551100000002", "b1", "outro cliente"), Message(t, "551100000001", "a3", "terceira")} {
		if added, err := s.Enqueue(ctx, e); err != nil || !added {
			t.Fatalf("enqueue %s: %v %v", e.ID, added, err)
		}
	}
	got := rcv.WaitFor(4)
	if got[0] != "b1" || strings.Join(got[1:], ",") != "a1,a2,a3" {
		t.Fatalf("delivery order %v, want b1 first, then a1,a2,a3", got)
	}
	attempts := rcv.Bodies("a1")
	if len(attempts) != 4 {
		t.Fatalf("a1 was posted %d times, want 4", len(attempts))
	}
	for i := range attempts {
		if !bytes.Equal(attempts[i], attempts[0]) {
			t.Fatal("a retry changed the bytes (and so the signature)")
		}
	}
	// A replayed event, delivered before, is not delivered again.
	if added, err := s.Enqueue(ctx, Message(t, "551100000001", "a2", "segunda")); err != nil || added {
		t.Fatalf("a replay was queued: %v %v", added, err)
	}
	if added, _ := s.Enqueue(ctx, Message(t, "551100000001", "a4", "quarta")); !added {
		t.Fatal("a new event was refused")
	}
	if got := rcv.WaitFor(5); got[4] != "a4" {
		t.Fatalf("after the replay: %v", got)
	}
	if n := len(rcv.Bodies("a2")); n != 1 {
		t.Fatalf("a2 delivered %d times", n)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}

// RunRestart checks that events survive a restart: reopen must return a
// queue over the same storage each time it is called (and close it when
// told to, or when t ends). Events are queued while the receiver is down,
// one of them is mid-delivery when the process "dies"; after the restart a
// new sender delivers every event once, in order per customer, with the
// bytes queued before.
func RunRestart(t *testing.T, reopen func(t *testing.T) (q webhook.Queue, close func())) {
	ctx := t.Context()
	q1, close1 := reopen(t)
	s1 := webhook.New(webhook.Config{Queue: q1})
	events := []webhook.Event{Message(t, "551100000001", "a1", "antes do reinício ✓"), Message(t, "551100000002", "b1", "outro"),
		Message(t, "551100000001", "a2", "segunda"), Message(t, "551100000001", "a3", "terceira"), Message(t, "551100000002", "b2", "fim")}
	for _, e := range events {
		if added, err := s1.Enqueue(ctx, e); err != nil || !added {
			t.Fatalf("enqueue %s: %v %v", e.ID, added, err)
		}
	}
	// The process dies while delivering a1 and b1: they are leased for a
	// minute.
	now := time.Now()
	claimed, err := q1.Claim(ctx, now, 10, now.Add(time.Minute))
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim before the crash: %v %v", claimIDs(claimed), err)
	}
	close1()

	q2, close2 := reopen(t)
	defer close2()
	rcv := NewReceiver(t, "k")
	// The restarted sender's clock is past the lease, as a restart a few
	// minutes later would be.
	s2 := webhook.New(webhook.Config{Queue: q2, Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	s2.SetTarget(rcv.Target())
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s2.Run(runCtx) }()
	got := rcv.WaitFor(len(events))
	cancel()
	<-done
	var a, b []string
	for _, id := range got {
		if strings.HasPrefix(id, "a") {
			a = append(a, id)
		} else {
			b = append(b, id)
		}
	}
	if strings.Join(a, ",") != "a1,a2,a3" || strings.Join(b, ",") != "b1,b2" {
		t.Fatalf("after the restart: %v, want a1,a2,a3 and b1,b2 in order", got)
	}
	for _, e := range events {
		id := strings.TrimPrefix(e.ID, "message/")
		bodies := rcv.Bodies(id)
		if len(bodies) != 1 || !bytes.Equal(bodies[0], e.Body) {
			t.Fatalf("%s: posted %d times, or with other bytes than queued", id, len(bodies))
		}
	}
	if added, _ := s2.Enqueue(ctx, events[0]); added {
		t.Fatal("an event delivered after the restart was queued again")
	}
}
