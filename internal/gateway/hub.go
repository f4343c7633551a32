package gateway

import (
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/metrics"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/types"
)

// hub routes bus messages to this node's connections. A node subscribes
// once per account it holds authenticated connections of (the account's
// wildcard covers its devices' subjects, the account's and the probe), and
// once per other subject a connection listens on (presence, provisioning);
// all subscriptions feed one channel read by one dispatcher goroutine: a
// node with a million connections does not run a million subscription
// goroutines, nor hold three subscriptions per connection.
type hub struct {
	bus *bus.Bus
	log *slog.Logger
	m   *metrics.Metrics
	ch  chan *nats.Msg

	mu    sync.Mutex
	accts map[types.AccountID]*subRoute
	subs  map[string]*subRoute
	done  chan struct{}
}

// subRoute is one subscription and the connections listening through it. A
// slice, not a map: nearly every route has one or two connections.
type subRoute struct {
	sub   *nats.Subscription
	conns []*conn
}

func (r *subRoute) add(c *conn) { r.conns = append(r.conns, c) }

// remove drops c and reports whether the route is left empty.
func (r *subRoute) remove(c *conn) bool {
	for i, x := range r.conns {
		if x == c {
			last := len(r.conns) - 1
			r.conns[i], r.conns[last] = r.conns[last], nil
			r.conns = r.conns[:last]
			break
		}
	}
	return len(r.conns) == 0
}

func newHub(b *bus.Bus, log *slog.Logger, m *metrics.Metrics) *hub {
	h := &hub{bus: b, log: log, m: m, ch: make(chan *nats.Msg, 8192),
		accts: make(map[types.AccountID]*subRoute), subs: make(map[string]*subRoute), done: make(chan struct{})}
	go h.dispatch()
	return h
}

// joinDevice makes c, authenticated as c.addr, receive its device's and
// account's events and answer its account's probes.
func (h *hub) joinDevice(c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.accts[c.addr.Account]
	if r == nil {
		sub, err := h.bus.Subscribe(bus.AccountWildcard(c.addr.Account), h.ch)
		if err != nil {
			return err
		}
		r = &subRoute{sub: sub}
		h.accts[c.addr.Account] = r
	}
	r.add(c)
	return nil
}

// leaveDevice undoes joinDevice.
func (h *hub) leaveDevice(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.accts[c.addr.Account]; r != nil && r.remove(c) {
		_ = r.sub.Unsubscribe()
		delete(h.accts, c.addr.Account)
	}
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
		r = &subRoute{sub: sub}
		h.subs[subject] = r
	}
	r.add(c)
	return nil
}

// leave removes c from subject's listeners, unsubscribing after the last.
func (h *hub) leave(subject string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.subs[subject]; r != nil && r.remove(c) {
		_ = r.sub.Unsubscribe()
		delete(h.subs, subject)
	}
}

// listeners appends the connections a message on subject is for.
func (h *hub) listeners(subject string, buf []*conn) (_ []*conn, probe bool) {
	acct, kind, dev, isAcct := bus.ParseAccountSubject(subject)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !isAcct {
		if r := h.subs[subject]; r != nil {
			buf = append(buf, r.conns...)
		}
		return buf, false
	}
	r := h.accts[acct]
	if r == nil {
		return buf, kind == bus.KindProbe
	}
	for _, c := range r.conns {
		if kind != bus.KindDevice || c.addr.Device == dev {
			buf = append(buf, c)
		}
	}
	return buf, kind == bus.KindProbe
}

func (h *hub) dispatch() {
	var buf []*conn
	for {
		select {
		case <-h.done:
			return
		case msg := <-h.ch:
			var probe bool
			clear(buf)
			buf, probe = h.listeners(msg.Subject, buf[:0])
			if len(buf) == 0 {
				continue // the last listener left while the message was in flight
			}
			if probe {
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
	for a, r := range h.accts {
		_ = r.sub.Unsubscribe()
		delete(h.accts, a)
	}
	for s, r := range h.subs {
		_ = r.sub.Unsubscribe()
		delete(h.subs, s)
	}
	h.mu.Unlock()
	close(h.done)
}
