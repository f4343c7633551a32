package liveness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/presence"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// These tests run monitors on one in-process NATS and one SQLite store,
// each monitor standing for a node; "devices" are store rows held under a
// node's id, and a node that holds an account answers its presence probe,
// as the gateway does. Killing a node is stopping its monitor without the
// goodbye; cutting it off is dropping its bus traffic both ways.

const timeout = 500 * time.Millisecond

type world struct {
	t   *testing.T
	st  *sqlstore.Store
	bus *bus.Bus
	log *slog.Logger

	mu     sync.Mutex
	events []*wirepb.PresenceEvent
	change chan struct{}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "p.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := bus.Open(t.Context(), bus.Config{Name: "liveness-test"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	w := &world{t: t, st: st, bus: b, log: log, change: make(chan struct{})}
	sub, err := b.Handle("parley.presence.>", func(m *nats.Msg) {
		var ev buspb.Event
		if proto.Unmarshal(m.Data, &ev) != nil || ev.GetPresence() == nil {
			return
		}
		w.mu.Lock()
		w.events = append(w.events, ev.GetPresence())
		close(w.change)
		w.change = make(chan struct{})
		w.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return w
}

// account registers an account with one device.
func (w *world) account() types.Address {
	w.t.Helper()
	a := store.Account{ID: types.NewAccountID(), Phone: fmt.Sprintf("+1555%07d", time.Now().UnixNano()%1e7), CreatedAt: time.Now()}
	if err := w.st.CreateAccount(w.t.Context(), a, store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33), RegistrationID: 1, CreatedAt: time.Now()}, store.PreKeySet{}); err != nil {
		w.t.Fatal(err)
	}
	return types.Address{Account: a.ID, Device: types.PrimaryDevice}
}

// presenceOf waits for a presence event of a's account that match accepts.
func (w *world) presenceOf(a types.Address, within time.Duration, match func(*wirepb.PresenceEvent) bool) *wirepb.PresenceEvent {
	w.t.Helper()
	return w.presenceAfter(0, a, within, match)
}

// mark is where presenceAfter starts looking: after the events so far.
func (w *world) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// presenceAfter is presenceOf for the events after mark.
func (w *world) presenceAfter(mark int, a types.Address, within time.Duration, match func(*wirepb.PresenceEvent) bool) *wirepb.PresenceEvent {
	w.t.Helper()
	deadline := time.After(within)
	for {
		w.mu.Lock()
		for _, ev := range w.events[mark:] {
			if types.AccountID(ev.Account) == a.Account && match(ev) {
				w.mu.Unlock()
				return ev
			}
		}
		ch := w.change
		w.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			w.t.Fatalf("no matching presence event of %s within %v", a, within)
			return nil
		}
	}
}

func (w *world) offlineEvents(a types.Address) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, ev := range w.events {
		if types.AccountID(ev.Account) == a.Account && !ev.Online {
			n++
		}
	}
	return n
}

func offline(ev *wirepb.PresenceEvent) bool { return !ev.Online }
func online(ev *wirepb.PresenceEvent) bool  { return ev.Online }

// link is a node's bus, which a test may cut off: nothing it publishes
// goes out, nothing reaches its handlers, and Ping says the bus is down.
type link struct {
	*bus.Bus
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (l *link) Publish(subject string, data []byte) error {
	if l.cut.Load() {
		return errCut
	}
	return l.Bus.Publish(subject, data)
}

func (l *link) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	if l.cut.Load() {
		return nil, errCut
	}
	return l.Bus.Request(ctx, subject, data)
}

func (l *link) Handle(subject string, fn func(*nats.Msg)) (*nats.Subscription, error) {
	return l.Bus.Handle(subject, func(m *nats.Msg) {
		if !l.cut.Load() {
			fn(m)
		}
	})
}

func (l *link) Ping() error {
	if l.cut.Load() {
		return errCut
	}
	return l.Bus.Ping()
}

// node is a monitor with the connections it holds.
type node struct {
	w    *world
	id   string
	link *link
	pres *presence.Service
	mon  *Monitor

	mu     sync.Mutex
	held   map[types.Address]string // device -> connection id
	probes map[types.AccountID]*nats.Subscription
}

func (w *world) node(name string) *node {
	w.t.Helper()
	n := &node{w: w, id: NodeID(name), link: &link{Bus: w.bus}, held: map[types.Address]string{}, probes: map[types.AccountID]*nats.Subscription{}}
	n.pres = presence.New(w.st, n.link, n.id, w.log)
	mon, err := Start(Config{Node: n.id, Name: name, Timeout: timeout, Reannounce: n.reannounce}, w.st, n.pres, n.link, w.log)
	if err != nil {
		w.t.Fatal(err)
	}
	n.mon = mon
	w.t.Cleanup(n.kill)
	return n
}

// connect makes a's device connected to n, as the gateway records it.
func (n *node) connect(a types.Address) {
	n.w.t.Helper()
	conn := fmt.Sprintf("%s-conn-%d", n.id, time.Now().UnixNano())
	sub, err := n.link.Handle(bus.ProbeSubject(a.Account), func(m *nats.Msg) { _ = m.Respond([]byte{1}) })
	if err != nil {
		n.w.t.Fatal(err)
	}
	_ = n.w.bus.Flush(n.w.t.Context())
	n.mu.Lock()
	n.held[a] = conn
	n.probes[a.Account] = sub
	n.mu.Unlock()
	n.pres.Online(n.w.t.Context(), a, conn, time.Now())
}

func (n *node) reannounce(ctx context.Context) int {
	n.mu.Lock()
	held := maps(n.held)
	n.mu.Unlock()
	for a, conn := range held {
		n.pres.Online(ctx, a, conn, time.Now())
	}
	return len(held)
}

func maps(m map[types.Address]string) map[types.Address]string {
	out := make(map[types.Address]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// kill ends the node without a goodbye, as SIGKILL does: heartbeats stop,
// its probe subscriptions go.
func (n *node) kill() {
	n.mon.unsubscribe()
	n.mon.cancel()
	n.mon.wg.Wait()
	n.mu.Lock()
	for acct, sub := range n.probes {
		_ = sub.Unsubscribe()
		delete(n.probes, acct)
	}
	n.mu.Unlock()
	_ = n.w.bus.Flush(context.Background())
}

// waitHeard waits until n has heard other's heartbeat.
func (n *node) waitHeard(other *node) {
	n.w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.mon.mu.Lock()
		heard := n.mon.peers[other.id] != nil
		n.mon.mu.Unlock()
		if heard {
			return
		}
		if time.Now().After(deadline) {
			n.w.t.Fatalf("%s did not hear %s within 10s", n.id, other.id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *world) holderNodes() []string {
	w.t.Helper()
	got, err := w.st.HolderNodes(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// A node killed without a word: the survivor tells the watchers of its
// device that it went offline within the timeout, with the node's last
// heartbeat as last seen; a device that reconnected to the survivor
// meanwhile is not announced offline.
func TestDeadNodeReleased(t *testing.T) {
	w := newWorld(t)
	x, y := w.node("x"), w.node("y")
	gone, moved := w.account(), w.account()
	x.connect(gone)
	x.connect(moved)
	y.waitHeard(x)
	x.kill()
	killed := time.Now()
	y.connect(moved) // the device reconnected to y before x was found dead

	ev := w.presenceOf(gone, 5*timeout, offline)
	t.Logf("offline %v after the kill", time.Since(killed).Round(time.Millisecond))
	last := time.UnixMilli(ev.LastSeenMs)
	if last.After(killed) || killed.Sub(last) >= timeout {
		t.Errorf("last seen %v, want x's last heartbeat, just before the kill at %v", last, killed)
	}
	acc, err := w.st.Account(t.Context(), gone.Account)
	if err != nil {
		t.Fatal(err)
	}
	if acc.LastSeen.UnixMilli() != ev.LastSeenMs {
		t.Errorf("stored last seen %v, announced %v", acc.LastSeen, last)
	}
	if got := w.holderNodes(); !slices.Equal(got, []string{y.id}) {
		t.Errorf("nodes holding devices: %v, want only y", got)
	}
	// Released and announced at once: had the moved device been announced
	// offline, it would have been by now.
	if err := w.bus.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := w.offlineEvents(moved); n != 0 {
		t.Errorf("the device that reconnected to y was announced offline %d times", n)
	}
}

// A node cut off from the bus for longer than the timeout is taken for
// dead and its device announced offline; once back it records and
// announces its connections again, so the store and the watchers see the
// device online, and a real death later is noticed again.
func TestCutOffNodeComesBack(t *testing.T) {
	w := newWorld(t)
	x, y := w.node("x"), w.node("y")
	a := w.account()
	x.connect(a)
	y.waitHeard(x)

	x.link.cut.Store(true)
	w.presenceOf(a, 5*timeout, offline)
	if got := w.holderNodes(); slices.Contains(got, x.id) {
		t.Fatalf("x still holds devices after its release: %v", got)
	}
	// x, cut off, took nobody for dead meanwhile.
	x.mon.mu.Lock()
	xDead := len(x.mon.dead)
	x.mon.mu.Unlock()
	if xDead != 0 {
		t.Errorf("x, cut off, took %d nodes for dead", xDead)
	}

	since := time.Now()
	x.link.cut.Store(false)
	w.presenceOf(a, 5*timeout, func(ev *wirepb.PresenceEvent) bool {
		return ev.Online && time.UnixMilli(ev.LastSeenMs).After(since.Add(-time.Millisecond))
	})
	deadline := time.Now().Add(5 * timeout)
	for !slices.Contains(w.holderNodes(), x.id) {
		if time.Now().After(deadline) {
			t.Fatalf("x did not record its device again; holders %v", w.holderNodes())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Nothing wrong was left behind: x dying for real is noticed again.
	mark := w.mark()
	x.kill()
	w.presenceAfter(mark, a, 5*timeout, offline)
}

// A node that starts finds devices held by a node nobody hears (it died
// while no node ran) and releases them once it has listened for the
// timeout.
func TestOrphansReleasedAtStart(t *testing.T) {
	w := newWorld(t)
	a := w.account()
	if err := w.st.DeviceOnline(t.Context(), a, store.Holder{Node: "gone/000000000000", Conn: "c", Since: time.Now()}, time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w.node("y")
	ev := w.presenceOf(a, 5*timeout, offline)
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("released after %v, before listening for the timeout (%v)", elapsed, timeout)
	}
	if last := time.UnixMilli(ev.LastSeenMs); last.Before(start.Add(-time.Second)) || last.After(time.Now()) {
		t.Errorf("last seen %v, want about the start of y (%v)", last, start)
	}
	if got := w.holderNodes(); len(got) != 0 {
		t.Errorf("holders after the sweep: %v", got)
	}
}

// A node that stops gracefully says so, and whatever it still held is
// released at once, not after the timeout.
func TestGracefulStopReleasesAtOnce(t *testing.T) {
	w := newWorld(t)
	const long = 30 * time.Second
	mk := func(name string) *node {
		n := &node{w: w, id: NodeID(name), link: &link{Bus: w.bus}, held: map[types.Address]string{}, probes: map[types.AccountID]*nats.Subscription{}}
		n.pres = presence.New(w.st, n.link, n.id, w.log)
		mon, err := Start(Config{Node: n.id, Name: name, Timeout: long, Reannounce: n.reannounce}, w.st, n.pres, n.link, w.log)
		if err != nil {
			t.Fatal(err)
		}
		n.mon = mon
		return n
	}
	x, y := mk("x"), mk("y")
	defer y.mon.Stop()
	a := w.account()
	x.connect(a)
	// x's connection was not recorded offline (its shutdown timed out).
	x.kill() // its probe goes, as its connections close
	x.mon.beat(true)
	w.presenceOf(a, 5*time.Second, offline)
}
