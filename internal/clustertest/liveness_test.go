package clustertest_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clustertest"
	"github.com/parley-im/parley/proto/wirepb"
)

// nodeTimeout is the --node-timeout of the liveness tests: short, so that
// they take seconds, and long enough that a loaded machine does not make a
// live node look dead.
const nodeTimeout = 2 * time.Second

// offlineBound is how soon after a node died its devices' watchers must
// know: the timeout, a heartbeat interval, the release and the probes.
const offlineBound = nodeTimeout + 3*time.Second

func liveNode(t *testing.T, dsn, nats string) *clustertest.Node {
	t.Helper()
	return clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats,
		Args: []string{"--node-timeout", nodeTimeout.String()}})
}

// watch records every presence frame a watcher gets, so that a test can
// wait for one and still check what came before it.
type watch struct {
	t *testing.T
	d *clustertest.Device

	mu     sync.Mutex
	frames []*wirepb.PresenceEvent
}

// until waits for a pushed frame that match accepts, recording the
// presence frames on the way.
func (w *watch) until(within time.Duration, match func(*wirepb.ServerFrame) bool) *wirepb.ServerFrame {
	w.t.Helper()
	return w.d.Signal(within, func(f *wirepb.ServerFrame) bool {
		if p := f.GetPresence(); p != nil {
			w.mu.Lock()
			w.frames = append(w.frames, p)
			w.mu.Unlock()
		}
		return match(f)
	})
}

// offlineSeen counts the offline frames of d's account recorded so far.
func (w *watch) offlineSeen(d *clustertest.Device) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, p := range w.frames {
		if bytes.Equal(p.Account, d.Addr.Account[:]) && !p.Online {
			n++
		}
	}
	return n
}

// released waits until one of nodes logged that it released a dead node's
// devices, and returns that node.
func released(t *testing.T, within time.Duration, nodes ...*clustertest.Node) *clustertest.Node {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			line := n.WaitLog(0, func(line string) bool {
				if !strings.Contains(line, `"liveness: node gone"`) {
					return false
				}
				var rec struct {
					Released int `json:"devices_released"`
				}
				return json.Unmarshal([]byte(line), &rec) == nil && rec.Released > 0
			})
			if line != "" {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no node logged a release within %v", within)
	return nil
}

// heard waits until every one of others logged that it heard node's
// heartbeat: before that, a node that dies is one they never knew.
func heard(t *testing.T, node *clustertest.Node, others ...*clustertest.Node) {
	t.Helper()
	for _, o := range others {
		if o.WaitLog(10*time.Second, func(line string) bool {
			return strings.Contains(line, `"liveness: node heard"`) && strings.Contains(line, `"name":"`+node.Name+`"`)
		}) == "" {
			t.Fatalf("%s did not hear %s within 10s", o.Name, node.Name)
		}
	}
}

// TestDeadNodePresence: three nodes; a watcher on node C follows two
// devices of node A, which is killed with SIGKILL. One device reconnects
// to node B at once; the other stays away. Within the bound the watcher
// learns the one that stayed away went offline, last seen at A's last
// heartbeat; the one that reconnected is never announced offline.
func TestDeadNodePresence(t *testing.T) {
	dsn, nats := shared(t)
	a, b, c := liveNode(t, dsn, nats), liveNode(t, dsn, nats), liveNode(t, dsn, nats)
	gone, moved := clustertest.Register(t, a), clustertest.Register(t, a)
	watcher := clustertest.Register(t, c)
	// One device on each survivor, to mark the end of what it published.
	markOn := map[*clustertest.Node]*clustertest.Device{b: clustertest.Register(t, b), c: clustertest.Register(t, c)}
	for _, d := range []*clustertest.Device{gone, moved, watcher, markOn[b], markOn[c]} {
		d.WaitQueueEmpty(10 * time.Second)
	}
	for _, d := range []*clustertest.Device{gone, moved} {
		if st := subscribe(t, watcher, d); !st.Online {
			t.Fatalf("%s on node A looks offline before the kill: %v", d.Addr, st)
		}
	}
	w := &watch{t: t, d: watcher}
	heard(t, a, b, c)

	a.Kill()
	killed := time.Now()
	moved.Reconnect(10*time.Second, b)
	w.until(atOnce, presenceOf(moved, true))
	ev := w.until(offlineBound, presenceOf(gone, false)).GetPresence()
	t.Logf("the watcher knew %v after the kill", time.Since(killed).Round(time.Millisecond))
	last := time.UnixMilli(ev.LastSeenMs)
	if last.After(killed) || killed.Sub(last) > nodeTimeout {
		t.Errorf("last seen %v; want node A's last heartbeat, before the kill at %v", last.Format(time.StampMilli), killed.Format(time.StampMilli))
	}

	// Whatever the releasing node published reaches the watcher before a
	// typing signal it publishes afterwards: then nothing said that the
	// device on node B went offline.
	r := released(t, 10*time.Second, b, c)
	typing(t, markOn[r], watcher, true)
	w.until(atOnce, typingFrom(markOn[r], true))
	if n := w.offlineSeen(moved); n != 0 {
		t.Errorf("the device that reconnected to node B was announced offline %d times", n)
	}
	// Asked afresh, the watcher sees the same.
	if st := subscribe(t, watcher, gone); st.Online || st.LastSeenMs != ev.LastSeenMs {
		t.Errorf("the device that stayed away, asked afresh: %v; want offline, last seen %d", st, ev.LastSeenMs)
	}
	if st := subscribe(t, watcher, moved); !st.Online {
		t.Errorf("the device that reconnected, asked afresh: %v", st)
	}
	checkViolations(t, gone, moved, watcher)
}

// TestStalledNodeComesBack: node A stops (SIGSTOP) for longer than the
// timeout, as a node cut off or stalled: node B takes it for dead and its
// device's watcher sees the device offline. A runs again (SIGCONT) with
// the device's connection still open: it announces the device again, the
// watcher sees it online, messages reach it, and nothing wrong is left
// behind: when A then dies for real, the watcher is told again.
func TestStalledNodeComesBack(t *testing.T) {
	dsn, nats := shared(t)
	a, b := liveNode(t, dsn, nats), liveNode(t, dsn, nats)
	dev, watcher := clustertest.Register(t, a), clustertest.Register(t, b)
	dev.WaitQueueEmpty(10 * time.Second)
	watcher.WaitQueueEmpty(10 * time.Second)
	if st := subscribe(t, watcher, dev); !st.Online {
		t.Fatalf("the device looks offline: %v", st)
	}
	w := &watch{t: t, d: watcher}
	heard(t, a, b)

	a.Pause()
	paused := time.Now()
	w.until(offlineBound, presenceOf(dev, false))
	t.Logf("taken for dead %v after the pause", time.Since(paused).Round(time.Millisecond))
	a.Resume()
	resumed := time.Now()
	w.until(10*time.Second, presenceOf(dev, true))
	t.Logf("announced again %v after it ran again", time.Since(resumed).Round(time.Millisecond))
	watcher.MustSend(dev, "after the pause")
	dev.WaitFor(atOnce, "after the pause")

	before := w.offlineSeen(dev)
	a.Kill()
	w.until(offlineBound, func(f *wirepb.ServerFrame) bool {
		return presenceOf(dev, false)(f) && w.offlineSeen(dev) > before
	})
	checkViolations(t, dev, watcher)
}
