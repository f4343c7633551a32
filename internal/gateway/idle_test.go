package gateway_test

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/testserver"
)

// TestIdleConnectionsHoldNoReader: an idle authenticated connection has no
// reader or writer goroutine on the server; in goroutine mode one waiter
// per connection, parked, and in epoll mode none at all. This is what lets
// a node hold many connections in a few KiB each (BENCHMARKS.md).
func TestIdleConnectionsHoldNoReader(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	const n = 20
	for range n {
		c := srv.Dial(t)
		testserver.Register(t, c)
		go func() {
			for range c.Events() {
			}
		}()
	}
	wantWaiters := n
	if os.Getenv("PARLEY_TEST_READINESS") == "epoll" {
		wantWaiters = 0
	}
	var waiters, readers, writers int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		waiters, readers, writers = serverGoroutines()
		if waiters == wantWaiters && readers == 0 && writers == 0 {
			return
		}
	}
	t.Fatalf("%d idle connections: %d waiters (want %d), %d readers and %d writers (want none)",
		n, waiters, wantWaiters, readers, writers)
}

// serverGoroutines counts the gateway's per-connection goroutines by the
// function at the bottom of their stacks.
func serverGoroutines() (waiters, readers, writers int) {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		switch {
		case bytes.Contains(g, []byte("gateway.(*conn).wait(")):
			waiters++
		case bytes.Contains(g, []byte("gateway.(*conn).read(")):
			readers++
		case bytes.Contains(g, []byte("gateway.(*conn).writer(")):
			writers++
		}
	}
	return waiters, readers, writers
}
