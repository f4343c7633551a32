package gateway

import (
	"sync"
	"time"

	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// delivery is one connection's view of its device's mailbox.
//
// Envelopes reach a connection two ways: from the store (the backlog when it
// connects, and whenever it fell behind) and from the bus (new envelopes,
// published after their commit). The loop drains the store first, then
// serves the bus; a bus envelope that was already pushed from the store is
// recognised by id and not pushed twice. An envelope stays in flight from
// its push until the store has deleted it after the device's ack, so a
// rescan never re-sends what the device already has.
type delivery struct {
	window int

	mu       sync.Mutex
	inflight map[uint64]struct{}
	// pushed holds the ids pushed by the last store drain, to recognise
	// their bus notices arriving late; dropped a while after the drain.
	pushed     map[uint64]struct{}
	pushedTill time.Time
	behind     bool // the window was full and bus envelopes were left in the store
	sentEmpty  bool
	// While a drain reads the store, acks that commit are noted: the page
	// it reads may hold them, deleted by then, and they must not go out
	// again.
	fetching bool
	ackedNow map[uint64]struct{}
}

func (d *delivery) init(window int) {
	d.window = window
}

// track notes id in flight; d.mu is held. The map exists only while
// something is in flight: an idle connection holds none.
func (d *delivery) track(id uint64) {
	if d.inflight == nil {
		d.inflight = make(map[uint64]struct{})
	}
	d.inflight[id] = struct{}{}
}

// acked reports which of ids are in flight on this connection; only those
// may be deleted, so a device can never ack another device's envelopes.
func (d *delivery) owned(ids []uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if _, ok := d.inflight[id]; !ok {
			return false
		}
	}
	return true
}

// done forgets ids after the store deleted them, and reports whether the
// loop should rescan the store because it had fallen behind.
func (d *delivery) done(ids []uint64) (rescan bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		delete(d.inflight, id)
		if d.fetching {
			if d.ackedNow == nil {
				d.ackedNow = make(map[uint64]struct{})
			}
			d.ackedNow[id] = struct{}{}
		}
	}
	if len(d.inflight) == 0 {
		d.inflight = nil // a drained map keeps its memory
	}
	return d.rescanDueLocked()
}

// forgetPushed drops the ids of the last drain once their bus notices can
// no longer arrive late, so that an idle connection holds none.
func (d *delivery) forgetPushed(now time.Time) {
	d.mu.Lock()
	d.forgetPushedLocked(now)
	d.mu.Unlock()
}

func (d *delivery) forgetPushedLocked(now time.Time) {
	if d.pushed != nil && now.After(d.pushedTill) {
		d.pushed = nil
	}
}

// rescanDueLocked reports whether the loop fell behind (bus envelopes left
// in the store) and the window has room again; d.mu is held.
func (d *delivery) rescanDueLocked() bool {
	return d.behind && len(d.inflight) <= d.window/2
}

func (c *conn) needRescan() bool {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	return c.d.rescanDueLocked()
}

// pushLive pushes envelopes that came over the bus.
func (c *conn) pushLive(batch []*wirepb.Envelope) bool {
	d := &c.d
	out := batch[:0]
	now := time.Now()
	d.mu.Lock()
	d.forgetPushedLocked(now)
	for _, e := range batch {
		if e.Id == 0 { // ephemeral: now or never
			if len(d.inflight) < d.window {
				out = append(out, e)
			}
			continue
		}
		if _, ok := d.inflight[e.Id]; ok {
			continue
		}
		if _, ok := d.pushed[e.Id]; ok {
			continue
		}
		if d.behind || len(d.inflight) >= d.window {
			d.behind = true // it stays in the store; a rescan finds it
			continue
		}
		d.track(e.Id)
		out = append(out, e)
	}
	d.mu.Unlock()
	if len(out) == 0 {
		return true
	}
	return c.deliver(out)
}

// drain pushes what the store holds for the device, in order, skipping what
// is in flight, waiting for acks when the window is full.
func (c *conn) drain() bool {
	d := &c.d
	const page = 256
	d.mu.Lock()
	d.behind = false
	d.mu.Unlock()
	var after uint64
	for {
		// Wait for room in the window.
		for {
			d.mu.Lock()
			room := d.window - len(d.inflight)
			d.mu.Unlock()
			if room > 0 {
				break
			}
			select {
			case <-c.ctx.Done():
				return false
			case <-c.wake:
			case <-time.After(time.Second):
			}
		}
		d.mu.Lock()
		d.fetching = true
		d.mu.Unlock()
		envs, err := c.s.Mailbox.Fetch(c.ctx, c.addr, after, page)
		if err != nil {
			d.mu.Lock()
			d.fetching, d.ackedNow = false, nil
			d.mu.Unlock()
			if c.ctx.Err() == nil {
				c.s.Log.Error("mailbox fetch failed", "account_id", c.addr.Account, "device_id", c.addr.Device, "err", err)
				c.close(1011, "temporarily unavailable")
			}
			return false
		}
		var out []*wirepb.Envelope
		d.mu.Lock()
		for i := range envs {
			e := &envs[i]
			after = e.ID
			if _, ok := d.inflight[e.ID]; ok {
				continue
			}
			if _, ok := d.ackedNow[e.ID]; ok {
				continue // acked and deleted since the page was read
			}
			d.track(e.ID)
			if d.pushed == nil {
				d.pushed = make(map[uint64]struct{})
			}
			d.pushed[e.ID] = struct{}{}
			out = append(out, mailbox.WireEnvelope(e))
		}
		d.fetching, d.ackedNow = false, nil
		d.pushedTill = time.Now().Add(30 * time.Second)
		d.mu.Unlock()
		if len(out) > 0 && !c.deliver(out) {
			return false
		}
		if len(envs) < page {
			break
		}
	}
	if !d.sentEmpty {
		d.sentEmpty = true
		if !c.write(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_QueueEmpty{QueueEmpty: &wirepb.QueueEmpty{}}}) {
			return false
		}
	}
	d.mu.Lock()
	if len(d.pushed) == 0 {
		d.pushed = nil
	}
	d.mu.Unlock()
	// Bus envelopes that queued up meanwhile: pushLive skips those drained.
	if c.overflow.Swap(false) {
		return c.drain()
	}
	return true
}

// deliver writes envelopes in frames no larger than the client's limit.
func (c *conn) deliver(envs []*wirepb.Envelope) bool {
	limit := c.s.cfg.MaxFrameBytes - 1024
	for len(envs) > 0 {
		n, size := 0, 0
		for n < len(envs) {
			sz := len(envs[n].Content) + 128
			if n > 0 && size+sz > limit {
				break
			}
			size += sz
			n++
		}
		if !c.write(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Deliver{Deliver: &wirepb.Deliver{Envelopes: envs[:n]}}}) {
			return false
		}
		c.s.Metrics.Delivered.Add(float64(n))
		envs = envs[n:]
	}
	return true
}

// recheckPresence answers a privacy change of a watched account.
func (c *conn) recheckPresence(acct types.AccountID) {
	c.pmu.Lock()
	_, ok := c.watching[acct]
	c.pmu.Unlock()
	if !ok {
		return
	}
	st, err := c.s.Presence.State(c.ctx, c.addr.Account, acct)
	if err != nil {
		return
	}
	c.pmu.Lock()
	c.watching[acct] = !st.Hidden
	c.pmu.Unlock()
	c.write(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Presence{Presence: st}})
}
