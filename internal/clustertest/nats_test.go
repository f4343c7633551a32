package clustertest_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clustertest"
	"github.com/parley-im/parley/internal/store/storetest"
)

// TestNATSRestart: two nodes on a private NATS, which is killed and
// restarted on the same port. While it is down /healthz says the bus is
// down and sends are still accepted (the store has them); once it is back
// the nodes reconnect and resubscribe by themselves: what was accepted
// during the outage reaches the device on the other node without it
// reconnecting, and new messages, typing and presence cross nodes again.
func TestNATSRestart(t *testing.T) {
	nats := clustertest.StartNATS(t)
	dsn := storetest.PostgresDSN(t)
	a := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats.URL})
	b := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats.URL})
	alice, bob := clustertest.Register(t, a), clustertest.Register(t, b)
	alice.WaitQueueEmpty(10 * time.Second)
	bob.WaitQueueEmpty(10 * time.Second)
	alice.MustSend(bob, "before")
	bob.WaitFor(atOnce, "before")

	nats.Kill()
	killed := time.Now()
	waitHealth(t, http.StatusServiceUnavailable, 10*time.Second, a, b)
	var during []string
	for i := range 20 {
		text := fmt.Sprintf("during %d", i)
		alice.MustSend(bob, text)
		during = append(during, text)
	}

	nats.Start()
	waitHealth(t, http.StatusOK, 15*time.Second, a, b)
	t.Logf("nodes healthy %v after NATS was killed", time.Since(killed).Round(time.Millisecond))
	bob.WaitFor(5*time.Second, during...)
	alice.MustSend(bob, "after")
	bob.WaitFor(atOnce, "after")
	typing(t, bob, alice, true)
	alice.Signal(atOnce, typingFrom(bob, true))
	if st := subscribe(t, alice, bob); !st.Online {
		t.Fatalf("bob looks offline after the restart: %v", st)
	}
	bob.Close()
	alice.Signal(atOnce, presenceOf(bob, false))
	checkViolations(t, alice, bob)
}

// TestNATSCluster: three nats-servers in a cluster; node A connects to
// the first, node B to the second (each given that one URL only, it
// learns the others from the cluster). Messages and typing cross nodes
// through the routes. Then the first server is killed with SIGKILL while
// devices on both nodes stream messages to each other: node A fails over
// to another server of the cluster by itself, and every message accepted
// before, during and after reaches its recipient, without either device
// reconnecting and none twice.
func TestNATSCluster(t *testing.T) {
	servers := clustertest.StartNATSCluster(t, 3)
	dsn := storetest.PostgresDSN(t)
	media := t.TempDir()
	node := func(s *clustertest.NATS) *clustertest.Node {
		return clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: s.URL,
			Args: []string{"--media-backend", "files", "--media-dir", media}})
	}
	a, b := node(servers[0]), node(servers[1])
	if !servers[0].HasClient("parley-"+a.Name) || !servers[1].HasClient("parley-"+b.Name) {
		t.Fatal("the nodes are not connected to the servers they were given")
	}
	alice, bob := clustertest.Register(t, a), clustertest.Register(t, b)
	alice.WaitQueueEmpty(10 * time.Second)
	bob.WaitQueueEmpty(10 * time.Second)
	alice.MustSend(bob, "through the routes")
	bob.WaitFor(atOnce, "through the routes")
	bob.MustSend(alice, "and back")
	alice.WaitFor(atOnce, "and back")
	typing(t, bob, alice, true)
	alice.Signal(atOnce, typingFrom(bob, true))

	toBob, toAlice := newStream(alice, bob), newStream(bob, alice)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range []*stream{toBob, toAlice} {
		wg.Go(func() { s.run(4, stop) })
	}
	for toBob.acceptedCount() < 100 || toAlice.acceptedCount() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	servers[0].Kill()
	killed := time.Now()
	reconnected := a.WaitLog(10*time.Second, func(line string) bool { return strings.Contains(line, `"msg":"bus reconnected"`) })
	if reconnected == "" {
		t.Fatal("node A did not reconnect to the cluster within 10s of its server's death")
	}
	t.Logf("node A back on the bus %v after its server was killed", time.Since(killed).Round(time.Millisecond))
	if servers[0].HasClient("parley-"+a.Name) || !(servers[1].HasClient("parley-"+a.Name) || servers[2].HasClient("parley-"+a.Name)) {
		t.Error("node A is not on one of the surviving servers")
	}
	// And a while longer, on the surviving servers.
	n1, n2 := toBob.acceptedCount(), toAlice.acceptedCount()
	for toBob.acceptedCount() < n1+50 || toAlice.acceptedCount() < n2+50 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, s := range []*stream{toBob, toAlice} {
		s.retry(t)
		s.check(t, 5*time.Second)
	}
	t.Logf("%d messages to bob and %d to alice, all delivered", len(toBob.accepted), len(toAlice.accepted))
	checkViolations(t, alice, bob)
}
