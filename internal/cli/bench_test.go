package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/loadgen"
)

// parley bench --embedded runs by itself to the end and reports, as JSON,
// every accepted message delivered and acked exactly once.
func TestBenchEmbeddedJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 20 connections")
	}
	w := &fakeWorld{}
	code, stdout, stderr := w.run(t, "bench", "--embedded", "--devices", "20", "--rate", "300", "--duration", "1s", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var rep loadgen.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	m := rep.Messages
	if rep.Registered != 20 || m.Sent < 250 || m.Accepted != m.Sent || m.Delivered != m.Sent || m.Acked != m.Sent ||
		m.Missing+m.Duplicates+m.Redelivered != 0 || len(rep.Errors) != 0 {
		t.Errorf("report %+v, errors %v", m, rep.Errors)
	}
	if !rep.Embedded || !strings.HasPrefix(rep.Store, "sqlite:") || rep.Latency.Count != uint64(m.Delivered) {
		t.Errorf("embedded %v store %q latency %+v", rep.Embedded, rep.Store, rep.Latency)
	}
	// Not a terminal: progress comes as plain lines.
	if !strings.Contains(stderr, "connected") || strings.Contains(stderr, "\r") {
		t.Errorf("progress: %q", stderr)
	}
}
