package gateway_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// TestTwoNodes runs two nodes on one PostgreSQL database and one external
// NATS, as a cluster does: a device on either node reaches a device on the
// other at once, both ways, online and offline, each message exactly once;
// presence changes and typing cross nodes; a device registered on one node
// authenticates on the other. (internal/clustertest runs nodes as separate
// processes for what only processes show: crashes, restarts, membership.)
func TestTwoNodes(t *testing.T) {
	nats := testserver.ExternalNATS(t)
	dsn := testserver.DSN(t, testserver.Postgres)
	a := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})
	b := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})

	ac, bc := a.Dial(t), b.Dial(t)
	alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
	waitQueueEmpty(t, ac)
	waitQueueEmpty(t, bc)

	// Online, across nodes, both ways.
	send(t, ac, bob, "across")
	got := receive(t, bc, 1)
	if string(got[0].Content) != "across" {
		t.Fatalf("got %q", got[0].Content)
	}
	ack(t, bc, got)
	send(t, bc, alice, "and back")
	if got := receive(t, ac, 1); string(got[0].Content) != "and back" {
		t.Fatalf("got %q", got[0].Content)
	} else {
		ack(t, ac, got)
	}

	// Typing crosses, started and stopped.
	for _, started := range []bool{true, false} {
		call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Typing{Typing: &wirepb.Typing{To: alice.Addr.Account[:], Started: started}}})
		ty := next(t, ac).GetTyping()
		for ty == nil {
			ty = next(t, ac).GetTyping()
		}
		if !bytes.Equal(ty.From, bob.Addr.Account[:]) || ty.Started != started {
			t.Fatalf("typing %v, want from bob, started %v", ty, started)
		}
	}

	// Presence crosses: alice on node A sees bob on node B online, then
	// offline when he leaves, then online again when he comes back through
	// node A (a device registered on B authenticates on A).
	if st := subscribe(t, ac, bob); !st.Online {
		t.Fatalf("bob on the other node looks offline: %v", st)
	}
	bc.Close()
	if st := nextPresence(t, ac); st.Online {
		t.Fatalf("bob left node B, alice sees %v", st)
	}
	bc = a.Connect(t, bob)
	if st := nextPresence(t, ac); !st.Online {
		t.Fatalf("bob came back through node A, alice sees %v", st)
	}
	waitQueueEmpty(t, bc)

	// Bob's device moves back to node B: node A's connection gives way.
	bc2 := b.Connect(t, bob)
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
	queued := waitQueueEmpty(t, bc)
	if len(queued) != 3 {
		t.Fatalf("drained %d on the other node, want 3", len(queued))
	}
	ack(t, bc, queued)

	// Many messages both ways at once, each arriving exactly once.
	const n = 50
	for i := range n {
		send(t, ac, bob, fmt.Sprintf("to bob %d", i))
		send(t, bc, alice, fmt.Sprintf("to alice %d", i))
	}
	for _, c := range []*transport.Conn{bc, ac} {
		envs := receive(t, c, n)
		seen := map[string]bool{}
		for _, e := range envs {
			if seen[string(e.Content)] {
				t.Errorf("%q delivered twice", e.Content)
			}
			seen[string(e.Content)] = true
		}
		ack(t, c, envs)
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

// TestGroupTwoNodes: a group's events and messages cross nodes, and what
// one node caches of a group's devices is never used once another node
// changed the group or a member's devices.
func TestGroupTwoNodes(t *testing.T) {
	nats := testserver.ExternalNATS(t)
	dsn := testserver.DSN(t, testserver.Postgres)
	a := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})
	b := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})
	alice, bob := registerDev(t, a), registerDev(t, b)

	g := newGroup(t, alice, bob)
	created := mustLast(t, g, alice)
	expectEvent(t, g, alice, created)
	expectEvent(t, g, bob, created)
	hash := g.devices(t, bob).DevicesHash // node B now knows the group's devices
	call(t, bob.c, sendGroupFrame(g.id, types.NewMessageID(), hash, "from node b"))
	expectMessage(t, g, alice, bob, "from node b")

	// Alice links a second device through node A; node B knows at once.
	alice2 := linkDev(t, a, alice)
	callErr(t, bob.c, sendGroupFrame(g.id, types.NewMessageID(), hash, "stale"), wirepb.ErrorCode_ERROR_CODE_GROUP_CHANGED)
	fresh := g.devices(t, bob)
	if bytes.Equal(fresh.DevicesHash, hash) || !bytes.Equal(fresh.DevicesHash, g.devices(t, alice).DevicesHash) {
		t.Fatal("node B's devices hash did not follow the device linked through node A")
	}
	call(t, bob.c, sendGroupFrame(g.id, types.NewMessageID(), fresh.DevicesHash, "to both of alice's"))
	expectMessage(t, g, alice, bob, "to both of alice's")
	expectMessage(t, g, alice2, bob, "to both of alice's")

	// A change through node A refuses senders on node B at once.
	g.do(t, alice, settingsChange(true))
	callErr(t, bob.c, sendGroupFrame(g.id, types.NewMessageID(), fresh.DevicesHash, "may I?"), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
}
