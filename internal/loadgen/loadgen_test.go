package loadgen

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/testserver"
)

// A short chat run on an embedded SQLite server: every accepted message
// arrives exactly once and is acked, and the report's counts add up.
func TestChatEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 50 connections")
	}
	ctx := context.Background()
	srv, err := StartEmbedded(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var progress []Progress
	rep, err := Run(ctx, Config{
		URLs: []string{srv.URL}, Code: EmbeddedCode, Mix: MixChat, Devices: 50, Rate: 500, Duration: 2 * time.Second,
		Sources: 3, Embedded: true, ProgressEvery: 500 * time.Millisecond,
		Progress: func(p Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Messages
	t.Logf("%+v, latency %v, errors %v", m, rep.Latency, rep.Errors)
	if rep.Registered != 50 || rep.Memory.Connections != 50 {
		t.Errorf("%d registered, %d connected, want 50", rep.Registered, rep.Memory.Connections)
	}
	// 500/s for 2 s, give or take the last tick.
	if m.Sent < 900 || m.Sent > 1000 {
		t.Errorf("sent %d, want about 1000", m.Sent)
	}
	if m.Accepted != m.Sent || m.Delivered != m.Accepted || m.Acked != m.Delivered {
		t.Errorf("sent %d, accepted %d, delivered %d, acked %d: want all equal", m.Sent, m.Accepted, m.Delivered, m.Acked)
	}
	if m.Missing+m.Duplicates+m.Redelivered+m.Failed+m.Unanswered+m.DeliveredNotAccepted+m.Foreign != 0 || len(rep.Errors) != 0 {
		t.Errorf("counts %+v, errors %v: want no loss, duplicate or error", m, rep.Errors)
	}
	if rep.Latency.Count != uint64(m.Delivered) || rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
		t.Errorf("latency %+v for %d delivered", rep.Latency, m.Delivered)
	}
	if len(rep.Sources) != 3 || rep.Sources[0] != "127.0.0.2" {
		t.Errorf("sources %v", rep.Sources)
	}
	if len(progress) == 0 {
		t.Error("no progress reported")
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "1000 delivered") && !strings.Contains(text.String(), " delivered") {
		t.Errorf("report text: %v\n%s", err, text.String())
	}
}

// Devices that go offline get what was queued for them when they return,
// and nothing accepted is lost.
func TestChurnEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 20 connections")
	}
	ctx := context.Background()
	srv, err := StartEmbedded(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rep, err := Run(ctx, Config{
		URLs: []string{srv.URL}, Code: EmbeddedCode, Mix: MixChurn, Devices: 20, Rate: 200, Duration: 1500 * time.Millisecond,
		ChurnRate: 10, Offline: 300 * time.Millisecond, Embedded: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Messages
	t.Logf("%+v, queued %v, drain %v, reconnects %d, errors %v", m, rep.Queued, rep.Drain, rep.Reconnects, rep.Errors)
	// A device that drops its connection between a delivery and its ack
	// gets the message again (Redelivered, which the protocol allows), and
	// the report waits for the ack of that second delivery: every message
	// delivered is acked. Nothing may be missing or shown twice.
	if m.Accepted == 0 || m.Missing != 0 || m.Duplicates != 0 || m.Acked != m.Delivered || m.Delivered < m.Accepted {
		t.Errorf("counts %+v: want every accepted message delivered and every delivered one acked", m)
	}
	if rep.Reconnects < 5 || rep.Drain == nil || rep.Drain.Count != uint64(rep.Reconnects) {
		t.Errorf("%d reconnects, drain %+v", rep.Reconnects, rep.Drain)
	}
	if rep.Queued == nil || rep.Queued.Count == 0 {
		t.Errorf("no message waited for an offline device: %+v", rep.Queued)
	}
}

func TestCheckTarget(t *testing.T) {
	for _, ok := range []string{"ws://127.0.0.1:8080/v1/ws", "ws://localhost:1/v1/ws", "wss://[::1]:443/v1/ws", "ws://127.9.8.7:1/v1/ws"} {
		if _, err := CheckTarget(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ws://10.0.0.1:8080/v1/ws", "ws://example.com/v1/ws", "ws://0.0.0.0:8080/v1/ws", "ws://[::ffff:8.8.8.8]:1/v1/ws"} {
		if _, err := CheckTarget(bad); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: %v, want ErrNotLoopback", bad, err)
		}
	}
	if _, err := CheckTarget("http://127.0.0.1:8080/"); !errors.Is(err, ErrConfig) {
		t.Errorf("http URL: %v", err)
	}
	// Run refuses before it dials anything.
	_, err := Run(context.Background(), Config{URLs: []string{"ws://192.0.2.1:8080/v1/ws"}, Code: "123456", Mix: MixIdle, Devices: 2, Duration: time.Second})
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Run against 192.0.2.1: %v", err)
	}
}

func TestParseTargets(t *testing.T) {
	got, err := ParseTargets("ws://127.0.0.1:1/v1/ws, ws://127.0.0.1:2/v1/ws,ws://localhost:3/v1/ws")
	if err != nil || strings.Join(got, " ") != "ws://127.0.0.1:1/v1/ws ws://127.0.0.1:2/v1/ws ws://localhost:3/v1/ws" {
		t.Errorf("three nodes: %q, %v", got, err)
	}
	for _, tc := range []struct {
		list string
		want error
	}{
		{"ws://127.0.0.1:1/v1/ws,ws://10.0.0.1:2/v1/ws", ErrNotLoopback},
		{"ws://127.0.0.1:1/v1/ws,,ws://127.0.0.1:2/v1/ws", ErrConfig},
		{"ws://127.0.0.1:1/v1/ws,", ErrConfig},
		{"ws://127.0.0.1:1/v1/ws,ws://127.0.0.1:1/v1/ws", ErrConfig},
		{"ws://127.0.0.1:1/v1/ws,http://127.0.0.1:2/", ErrConfig},
	} {
		if got, err := ParseTargets(tc.list); !errors.Is(err, tc.want) || got != nil {
			t.Errorf("%q: %q, %v; want %v", tc.list, got, err, tc.want)
		}
	}
}

// Devices go round-robin: equal shares, and a random pair is on two nodes
// (n-1)/n of the time.
func TestNodeOf(t *testing.T) {
	for _, nodes := range []int{1, 2, 3} {
		share := make([]int, nodes)
		for i := range 600 {
			share[nodeOf(i, nodes)]++
		}
		for n, c := range share {
			if c != 600/nodes {
				t.Errorf("%d nodes: node %d has %d of 600 devices", nodes, n, c)
			}
		}
	}
}

// Two nodes on one PostgreSQL database and one NATS, as a cluster runs:
// half the devices on each, about half the messages cross from one node to
// the other, and every accepted message still arrives exactly once.
func TestChatTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and 40 connections")
	}
	nats := testserver.ExternalNATS(t)
	dsn := testserver.DSN(t, testserver.Postgres)
	a := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})
	b := testserver.Start(t, testserver.Options{Store: dsn, NATS: nats})
	rep, err := Run(context.Background(), Config{
		URLs: []string{a.URL, b.URL}, Code: testserver.Code, Mix: MixChat, Devices: 40, Rate: 300,
		Duration: 2 * time.Second, Embedded: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Messages
	t.Logf("%+v, %d across, nodes %+v, latency %v, errors %v", m, rep.CrossNode, rep.Nodes, rep.Latency, rep.Errors)
	if len(rep.Nodes) != 2 || rep.Nodes[0].Devices != 20 || rep.Nodes[1].Devices != 20 {
		t.Errorf("nodes %+v, want 20 devices on each", rep.Nodes)
	}
	if m.Sent < 500 || m.Accepted != m.Sent || m.Delivered != m.Accepted || m.Acked != m.Delivered ||
		m.Missing+m.Duplicates+m.Redelivered+m.Failed+m.Unanswered != 0 || len(rep.Errors) != 0 {
		t.Errorf("counts %+v, errors %v: want every message delivered once", m, rep.Errors)
	}
	// About half cross; 30 % to 70 % of 600 is far outside chance.
	if rep.CrossNode < m.Sent*3/10 || rep.CrossNode > m.Sent*7/10 {
		t.Errorf("%d of %d messages crossed nodes, want about half", rep.CrossNode, m.Sent)
	}
	// Both nodes are this process, so each reports its CPU time; what
	// matters is that every node's /metrics was read.
	if rep.Server.CPURunSeconds <= 0 || rep.Nodes[0].CPURunSeconds <= 0 || rep.Nodes[1].CPURunSeconds <= 0 {
		t.Errorf("server CPU %v, nodes %+v", rep.Server.CPURunSeconds, rep.Nodes)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "nodes") || !strings.Contains(text.String(), "another node") {
		t.Errorf("report text: %v\n%s", err, text.String())
	}
	t.Log("\n" + text.String())
}
