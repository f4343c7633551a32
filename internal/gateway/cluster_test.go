package gateway_test

import (
	"testing"
	"time"

	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// TestTwoNodes runs two nodes on one PostgreSQL database and one external
// NATS, as a cluster does: a device on either node reaches a device on the
// other, online and offline, and signals cross between them.
func TestTwoNodes(t *testing.T) {
	nats := testserver.ExternalNATS(t)
	dsn := testserver.DSN(t, testserver.Postgres)
	a := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})
	b := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})

	ac, bc := a.Dial(t), b.Dial(t)
	alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
	waitQueueEmpty(t, bc)

	// Online, across nodes.
	send(t, ac, bob, "across")
	got := receive(t, bc, 1)
	if string(got[0].Content) != "across" {
		t.Fatalf("got %q", got[0].Content)
	}
	ack(t, bc, got)

	// Presence and typing cross too.
	if st := subscribe(t, ac, bob); !st.Online {
		t.Fatalf("bob on the other node looks offline: %v", st)
	}
	call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Typing{Typing: &wirepb.Typing{To: alice.Addr.Account[:], Started: true}}})
	for next(t, ac).GetTyping() == nil {
	}

	// Bob's device moves to node A: node B's connection gives way.
	bc2 := a.Connect(t, bob)
	select {
	case <-bc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection on the other node was not replaced")
	}
	waitQueueEmpty(t, bc2)
	bc2.Close()

	// Offline: queued through node A, drained through node B.
	for range 3 {
		send(t, ac, bob, "later")
	}
	bc = b.Connect(t, bob)
	if got := waitQueueEmpty(t, bc); len(got) != 3 {
		t.Fatalf("drained %d on the other node, want 3", len(got))
	}

	// Linking across nodes: the new device waits on node B, the primary is on A.
	pa := a.Dial(t)
	carol := testserver.Register(t, pa)
	_, newDev := link(t, b, pa)
	call(t, ac, sendFrame(carol, types.NewMessageID(), []types.DeviceID{1, 2}, "to both of carol's"))
	if got := receive(t, newDev, 1); string(got[0].Content) != "to both of carol's" {
		t.Fatalf("linked device got %q", got[0].Content)
	}
}
