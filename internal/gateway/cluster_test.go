package gateway_test

import (
	"bytes"
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
