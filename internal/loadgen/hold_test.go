package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
)

// idleServerEnv makes TestIdleServerProcess serve instead of skipping.
const idleServerEnv = "PARLEY_LOADGEN_IDLE_SERVER"

// TestIdleServerProcess is the server of TestIdleHold, in a process of its
// own so that the test's process memory is the load generator's alone: a
// node with a keep-alive of one second, which disconnects a connection that
// leaves its pings unanswered for about two. It prints its URL and serves
// until its standard input closes.
func TestIdleServerProcess(t *testing.T) {
	readiness := os.Getenv(idleServerEnv)
	if readiness == "" {
		t.Skip("the server of TestIdleHold, run in a process of its own")
	}
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) {
		c.KeepAlive = time.Second
		c.Readiness = readiness
	}})
	fmt.Printf("URL %s\n", srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startServerProcess runs TestIdleServerProcess in a child process and
// returns its URL.
func startServerProcess(t *testing.T, readiness string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleServerProcess$")
	cmd.Env = append(os.Environ(), idleServerEnv+"="+readiness)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "URL "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return u
		}
	}
	t.Fatalf("the server process printed no URL: %v", lines.Err())
	return ""
}

// The idle mix holds its devices on raw connections that answer the
// server's pings (the server drops a connection that does not within about
// two keep-alives) and cost this process little: no goroutine, buffer or
// timer per connection, whether the poller or waiter goroutines watch them.
func TestIdleHold(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and 200 connections")
	}
	for _, tc := range []struct {
		name       string
		readiness  string // the server's
		waiters    bool   // the holder's fallback instead of the poller
		maxPerConn float64
	}{
		{"poller", "epoll", false, 6 << 10},
		// A waiter goroutine's stack alone is 2 KiB or more.
		{"waiters", "goroutine", true, 8 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := startServerProcess(t, tc.readiness)
			noPoller = tc.waiters
			defer func() { noPoller = false }()
			// A first small run, so that the measured one does not count
			// what the process sets up once (the protobuf registry, the
			// HTTP transports, the pools) as if it were per connection.
			if _, err := Run(context.Background(), Config{
				URLs: []string{url}, Code: testserver.Code, Mix: MixIdle, Devices: 2, Duration: 10 * time.Millisecond,
			}); err != nil {
				t.Fatal(err)
			}
			const devices = 200
			rep, err := Run(context.Background(), Config{
				URLs: []string{url}, Code: testserver.Code, Mix: MixIdle, Devices: devices, Duration: 3 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			m := rep.Memory
			t.Logf("%d held: process Go %.0f B/conn, RSS %.0f B/conn; server Go %.0f B/conn, %.2f goroutines/conn; errors %v",
				m.Connections, m.ProcessGoPerConn, m.ProcessRSSPerConn, m.ServerGoPerConn, m.ServerGoroutines, rep.Errors)
			if rep.Registered != devices || m.Connections != devices {
				t.Errorf("%d registered, %d connected, want %d", rep.Registered, m.Connections, devices)
			}
			if len(rep.Errors) != 0 {
				t.Errorf("errors %v: want every connection held to the end", rep.Errors)
			}
			if rep.RunSeconds < 3 {
				t.Errorf("held %.1f s, want 3", rep.RunSeconds)
			}
			if raceEnabled {
				return // the race detector's bookkeeping swamps the figure
			}
			if m.ProcessGoPerConn <= 0 || m.ProcessGoPerConn > tc.maxPerConn {
				t.Errorf("process Go memory %.0f B per held connection, want at most %.0f", m.ProcessGoPerConn, tc.maxPerConn)
			}
		})
	}
}
