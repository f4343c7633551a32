package clustertest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/clustertest"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

func TestMain(m *testing.M) {
	code := m.Run()
	clustertest.Cleanup()
	os.Exit(code)
}

// shared returns a fresh schema on the machine's PostgreSQL and the
// machine's NATS: what a cluster that nobody restarts runs on.
func shared(t *testing.T) (dsn, nats string) {
	t.Helper()
	return storetest.PostgresDSN(t), testserver.ExternalNATS(t)
}

// Delivery across nodes is "at once": well under this, even under -race on
// a busy two-core machine.
const atOnce = 2 * time.Second

func checkViolations(t *testing.T, devs ...*clustertest.Device) {
	t.Helper()
	for _, d := range devs {
		for _, v := range d.Violations() {
			t.Errorf("device %s: %s", d.Addr, v)
		}
	}
}

func presenceOf(d *clustertest.Device, online bool) func(*wirepb.ServerFrame) bool {
	return func(f *wirepb.ServerFrame) bool {
		p := f.GetPresence()
		return p != nil && bytes.Equal(p.Account, d.Addr.Account[:]) && p.Online == online
	}
}

func subscribe(t *testing.T, watcher, watched *clustertest.Device) *wirepb.PresenceEvent {
	t.Helper()
	res, err := watcher.Call(&wirepb.ClientFrame{Body: &wirepb.ClientFrame_SubscribePresence{SubscribePresence: &wirepb.SubscribePresence{
		Accounts: [][]byte{watched.Addr.Account[:]}}}})
	if err != nil {
		t.Fatalf("subscribe presence: %v", err)
	}
	return res.GetPresence().States[0]
}

func typing(t *testing.T, from, to *clustertest.Device, started bool) {
	t.Helper()
	if _, err := from.Call(&wirepb.ClientFrame{Body: &wirepb.ClientFrame_Typing{Typing: &wirepb.Typing{To: to.Addr.Account[:], Started: started}}}); err != nil {
		t.Fatalf("typing: %v", err)
	}
}

func typingFrom(d *clustertest.Device, started bool) func(*wirepb.ServerFrame) bool {
	return func(f *wirepb.ServerFrame) bool {
		ty := f.GetTyping()
		return ty != nil && bytes.Equal(ty.From, d.Addr.Account[:]) && ty.Started == started
	}
}

// stream is a sender pipelining messages round-robin to recipients, as a
// busy device does. A message counts as accepted once its SendResult
// arrived; one whose send failed is pending, to be sent again with the
// same message id, as the protocol asks of a client.
type stream struct {
	from *clustertest.Device
	to   []*clustertest.Device

	mu       sync.Mutex
	n        int
	accepted map[string]*clustertest.Device
	pending  map[string]pendingSend
}

type pendingSend struct {
	to  *clustertest.Device
	mid types.MessageID
}

func newStream(from *clustertest.Device, to ...*clustertest.Device) *stream {
	return &stream{from: from, to: to, accepted: map[string]*clustertest.Device{}, pending: map[string]pendingSend{}}
}

// run sends with workers requests in flight until stop is closed or a send
// fails, whichever comes first.
func (s *stream) run(workers int, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.mu.Lock()
				s.n++
				text := fmt.Sprintf("load %d", s.n)
				to := s.to[s.n%len(s.to)]
				s.mu.Unlock()
				mid := types.NewMessageID()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := s.from.Send(ctx, to, mid, text)
				cancel()
				s.mu.Lock()
				if err != nil {
					s.pending[text] = pendingSend{to, mid}
				} else {
					s.accepted[text] = to
				}
				s.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func (s *stream) acceptedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// retry sends every pending message again, same message id, until the
// server accepts it.
func (s *stream) retry(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for text, p := range s.pending {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.from.Send(ctx, p.to, p.mid, text)
		cancel()
		if err != nil {
			t.Fatalf("resending %q: %v", text, err)
		}
		s.accepted[text] = p.to
		delete(s.pending, text)
	}
}

// check waits until every accepted message reached its recipient, and
// reports what was lost.
func (s *stream) check(t *testing.T, within time.Duration) {
	t.Helper()
	s.mu.Lock()
	want := map[*clustertest.Device][]string{}
	for text, to := range s.accepted {
		want[to] = append(want[to], text)
	}
	s.mu.Unlock()
	for to, texts := range want {
		to.WaitFor(within, texts...)
	}
}

// TestNodeKilledUnderLoad: three nodes; a sender on node A streams
// messages to a recipient on node B and to two recipients on node A, and
// node A is killed with SIGKILL in the middle. No message the server
// accepted is lost, none is stored twice although the sender resends those
// it got no answer for, and nothing whose ack the server confirmed comes
// again. The recipient on node B keeps receiving throughout; the sender
// and the recipients of node A reconnect to the surviving nodes and drain
// their mailboxes there.
func TestNodeKilledUnderLoad(t *testing.T) {
	dsn, nats := shared(t)
	a := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats})
	b := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats})
	c := clustertest.StartNode(t, clustertest.Options{Store: dsn, NATS: nats})

	sender := clustertest.Register(t, a)
	onB := clustertest.Register(t, b)
	onA1, onA2 := clustertest.Register(t, a), clustertest.Register(t, a)
	for _, d := range []*clustertest.Device{sender, onB, onA1, onA2} {
		d.WaitQueueEmpty(10 * time.Second)
	}

	s := newStream(sender, onB, onA1, onA2)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); s.run(8, stop) }()
	const killAt = 300
	deadline := time.Now().Add(30 * time.Second)
	for s.acceptedCount() < killAt {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages accepted in 30s", s.acceptedCount())
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.Kill()
	killed := time.Now()
	close(stop)
	<-done
	t.Logf("node A killed with %d messages accepted, %d unanswered", len(s.accepted), len(s.pending))

	// The recipient on node B has everything accepted for it, at once.
	s.mu.Lock()
	var forB []string
	for text, to := range s.accepted {
		if to == onB {
			forB = append(forB, text)
		}
	}
	s.mu.Unlock()
	onB.WaitFor(atOnce, forB...)

	// The sender moves to node B, resends what got no answer, and goes on
	// while node A's recipients are still away.
	sender.Reconnect(10*time.Second, b, c)
	// Nobody answers for the killed node's devices any more: asked now,
	// they are offline.
	if st := subscribe(t, sender, onA1); st.Online {
		t.Errorf("a device of the killed node still looks online: %v", st)
	}
	s.retry(t)
	more := make(chan struct{})
	go func() { time.Sleep(300 * time.Millisecond); close(more) }()
	s.run(4, more)
	if len(s.pending) > 0 {
		t.Fatalf("%d sends failed on the surviving nodes", len(s.pending))
	}

	// Node A's recipients come back through nodes B and C and drain.
	onA1.Reconnect(10*time.Second, b)
	onA2.Reconnect(10*time.Second, c)
	s.check(t, 10*time.Second)
	t.Logf("all %d accepted messages delivered %v after the kill", len(s.accepted), time.Since(killed).Round(time.Millisecond))
	redelivered := 0
	for text, to := range s.accepted {
		if n := to.Count(text); n > 1 {
			redelivered++
		}
	}
	t.Logf("%d delivered again after a connection ended before their ack was confirmed", redelivered)
	checkViolations(t, sender, onB, onA1, onA2)
}
