package gateway

import (
	"log/slog"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/metrics"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/types"
)

// hub routes bus messages to this node's connections. Every subject a
// connection cares about has one NATS subscription per node, shared by
// reference count, and all subscriptions feed one channel read by one
// dispatcher goroutine: a node with a million connections does not run a
// million subscription goroutines.
type hub struct {
	bus *bus.Bus
	log *slog.Logger
	m   *metrics.Metrics
	ch  chan *nats.Msg

	mu   sync.Mutex
	subs map[string]*subRoute
	done chan struct{}
}

// subRoute is one subject and the connections listening on it.
type subRoute struct {
	sub   *nats.Subscription
	conns map[*conn]struct{}
}

func newHub(b *bus.Bus, log *slog.Logger, m *metrics.Metrics) *hub {
	h := &hub{bus: b, log: log, m: m, ch: make(chan *nats.Msg, 8192), subs: make(map[string]*subRoute), done: make(chan struct{})}
	go h.dispatch()
	return h
}

// join adds c to subject's listeners, subscribing the node if it is the first.
func (h *hub) join(subject string, c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.subs[subject]
	if r == nil {
		sub, err := h.bus.Subscribe(subject, h.ch)
		if err != nil {
			return err
		}
		r = &subRoute{sub: sub, conns: make(map[*conn]struct{}, 1)}
		h.subs[subject] = r
	}
	r.conns[c] = struct{}{}
	return nil
}

// leave removes c from subject's listeners, unsubscribing after the last.
func (h *hub) leave(subject string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.subs[subject]
	if r == nil {
		return
	}
	delete(r.conns, c)
	if len(r.conns) == 0 {
		_ = r.sub.Unsubscribe()
		delete(h.subs, subject)
	}
}

func (h *hub) listeners(subject string, buf []*conn) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.subs[subject]
	if r == nil {
		return buf
	}
	for c := range r.conns {
		buf = append(buf, c)
	}
	return buf
}

func (h *hub) dispatch() {
	var buf []*conn
	for {
		select {
		case <-h.done:
			return
		case msg := <-h.ch:
			buf = h.listeners(msg.Subject, buf[:0])
			if len(buf) == 0 {
				continue // the last listener left while the message was in flight
			}
			if strings.HasPrefix(msg.Subject, "parley.probe.") {
				_ = msg.Respond([]byte{1})
				continue
			}
			ev := new(buspb.Event)
			if err := proto.Unmarshal(msg.Data, ev); err != nil {
				h.log.Error("undecodable bus event", "subject", msg.Subject, "err", err)
				continue
			}
			for _, c := range buf {
				c.onEvent(ev)
			}
			if msg.Reply != "" {
				_ = msg.Respond([]byte{1})
			}
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	for s, r := range h.subs {
		_ = r.sub.Unsubscribe()
		delete(h.subs, s)
	}
	h.mu.Unlock()
	close(h.done)
}

// deviceSubjects are what an authenticated connection listens on: its own
// device's events, its account's, and the probe that tells other nodes the
// account is online.
func deviceSubjects(a types.Address) []string {
	return []string{bus.DeviceSubject(a), bus.AccountSubject(a.Account), bus.ProbeSubject(a.Account)}
}
