package clustertest_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/internal/clustertest"
)

// TestNodesJoinAndLeave: a third node started next to two running ones
// serves devices at once, to and from both; a node taken out with SIGTERM
// sends its devices away with "going away" (1001), they reconnect to
// another node and drain what was sent meanwhile, and the other nodes go
// on without a restart.
func TestNodesJoinAndLeave(t *testing.T) {
	dsn, nats := shared(t)
	a := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats})
	b := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats})
	alice, bob := clustertest.Register(t, a), clustertest.Register(t, b)
	alice.WaitQueueEmpty(10 * time.Second)
	bob.WaitQueueEmpty(10 * time.Second)
	alice.MustSend(bob, "two nodes")
	bob.WaitFor(atOnce, "two nodes")

	c := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats})
	carol := clustertest.Register(t, c)
	carol.WaitQueueEmpty(10 * time.Second)
	if st := subscribe(t, alice, carol); !st.Online {
		t.Fatalf("carol on the new node looks offline from node A: %v", st)
	}
	alice.MustSend(carol, "welcome from A")
	bob.MustSend(carol, "welcome from B")
	carol.WaitFor(atOnce, "welcome from A", "welcome from B")
	carol.MustSend(alice, "hi A")
	carol.MustSend(bob, "hi B")
	alice.WaitFor(atOnce, "hi A")
	bob.WaitFor(atOnce, "hi B")

	// Node B leaves.
	b.Stop()
	select {
	case <-bob.Conn().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("bob's connection outlived node B")
	}
	if code := bob.Conn().CloseStatus(); code != websocket.StatusGoingAway {
		t.Errorf("node B closed bob's connection with %v, want 1001 going away", code)
	}
	alice.MustSend(bob, "while moving")
	carol.MustSend(bob, "while moving too")
	bob.Reconnect(10*time.Second, b, c)
	if bob.Node() != c {
		t.Fatalf("bob reconnected to %s", bob.Node().Name)
	}
	bob.WaitFor(atOnce, "while moving", "while moving too")
	bob.MustSend(alice, "from C now")
	alice.WaitFor(atOnce, "from C now")
	alice.MustSend(carol, "A and C go on")
	carol.WaitFor(atOnce, "A and C go on")
	checkViolations(t, alice, bob, carol)
}
