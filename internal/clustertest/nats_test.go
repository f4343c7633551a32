package clustertest_test

import (
	"fmt"
	"net/http"
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
