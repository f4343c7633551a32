package clustertest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/clustertest"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// waitHealth polls every node's /healthz until each answers code.
func waitHealth(t *testing.T, code int, within time.Duration, nodes ...*clustertest.Node) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, n := range nodes {
		for n.Health() != code {
			if time.Now().After(deadline) {
				t.Fatalf("node %s: /healthz is %d, want %d within %v", n.Name, n.Health(), code, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// ensureConnected reconnects d to one of nodes if the server closed its
// connection, as a client does.
func ensureConnected(t *testing.T, d *clustertest.Device, nodes ...*clustertest.Node) {
	t.Helper()
	select {
	case <-d.Conn().Done():
		d.Reconnect(15*time.Second, nodes...)
	default:
	}
}

// sendUntilAccepted sends text with one message id until the server
// accepts it, reconnecting when the connection ends, as a client retries.
func sendUntilAccepted(t *testing.T, from, to *clustertest.Device, mid types.MessageID, text string, within time.Duration, nodes ...*clustertest.Node) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ensureConnected(t, from, nodes...)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := from.Send(ctx, to, mid, text)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still not accepted %v after the service came back: %v", text, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPostgresRestart: two nodes on a private PostgreSQL, which crashes
// (immediate shutdown) while a sender streams messages and comes back.
// During the outage /healthz says the store is down and no send is
// accepted; afterwards the nodes recover by themselves, every send the
// client retries is accepted once, and every message accepted before,
// during or after reaches its recipient.
func TestPostgresRestart(t *testing.T) {
	pg := clustertest.StartPostgres(t)
	nats := testserver.ExternalNATS(t)
	a := clustertest.StartNode(t, clustertest.Options{Store: pg.DSN, NATS: nats})
	b := clustertest.StartNode(t, clustertest.Options{Store: pg.DSN, NATS: nats})
	alice, bob := clustertest.Register(t, a), clustertest.Register(t, b)
	alice.WaitQueueEmpty(10 * time.Second)
	bob.WaitQueueEmpty(10 * time.Second)
	alice.MustSend(bob, "before")
	bob.WaitFor(atOnce, "before")

	s := newStream(alice, bob)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); s.run(4, stop) }()
	for s.acceptedCount() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	pg.Crash()
	crashed := time.Now()
	waitHealth(t, http.StatusServiceUnavailable, 10*time.Second, a, b)
	close(stop)
	<-done
	t.Logf("PostgreSQL crashed with %d messages accepted, %d unanswered", len(s.accepted), len(s.pending))

	// Nothing is accepted while the store is down.
	ensureConnected(t, alice, a, b)
	mid := types.NewMessageID()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := alice.Send(ctx, bob, mid, "during")
	cancel()
	if err == nil {
		t.Fatal("a send was accepted while PostgreSQL was down")
	}
	if code := transport.CodeOf(err); code != wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Errorf("a send while PostgreSQL is down failed with %v, want UNAVAILABLE (%v)", code, err)
	}

	pg.Start()
	waitHealth(t, http.StatusOK, 15*time.Second, a, b)
	t.Logf("nodes healthy %v after the crash", time.Since(crashed).Round(time.Millisecond))
	sendUntilAccepted(t, alice, bob, mid, "during", 15*time.Second, a, b)
	for text, p := range s.pending {
		sendUntilAccepted(t, alice, bob, p.mid, text, 15*time.Second, a, b)
		s.accepted[text] = bob
		delete(s.pending, text)
	}
	for i := range 20 {
		alice.MustSend(bob, fmt.Sprintf("after %d", i))
		s.accepted[fmt.Sprintf("after %d", i)] = bob
	}
	s.accepted["during"] = bob
	ensureConnected(t, bob, b, a)
	s.check(t, 10*time.Second)
	checkViolations(t, alice, bob)
}
