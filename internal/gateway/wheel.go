package gateway

import (
	"sync"
	"time"
)

// wheelSlots is how many slots the keep-alive wheel turns through in one
// KeepAlive period: each connection is visited once per period, and the
// visits of a node's connections are spread over the period in 64 steps.
const wheelSlots = 64

// wheel is the node's keep-alive timer: one ticker for every connection,
// instead of a timer per connection that would fire on every idle one.
type wheel struct {
	period time.Duration
	visit  func(c *conn, now time.Time)

	mu    sync.Mutex
	slots [wheelSlots][]*conn
	cur   int32
	stop  chan struct{}
	done  chan struct{}
}

func newWheel(period time.Duration, visit func(*conn, time.Time)) *wheel {
	w := &wheel{period: period, visit: visit, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// add puts c in the slot visited last, a whole period from now.
func (w *wheel) add(c *conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c.slot = w.cur
	c.slotIdx = int32(len(w.slots[w.cur]))
	w.slots[w.cur] = append(w.slots[w.cur], c)
}

// remove takes c out of its slot; it may be called once, after add.
func (w *wheel) remove(c *conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.slots[c.slot]
	last := len(s) - 1
	if c.slotIdx > int32(last) || s[c.slotIdx] != c {
		return // not in the wheel
	}
	moved := s[last]
	s[c.slotIdx], moved.slotIdx = moved, c.slotIdx
	s[last] = nil
	w.slots[c.slot] = s[:last]
	if cap(s) > 64 && last < cap(s)/4 {
		w.slots[c.slot] = append([]*conn(nil), s[:last]...) // give back what a crowd left
	}
}

func (w *wheel) run() {
	defer close(w.done)
	t := time.NewTicker(w.period / wheelSlots)
	defer t.Stop()
	var buf []*conn
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.mu.Lock()
			w.cur = (w.cur + 1) % wheelSlots
			buf = append(buf[:0], w.slots[w.cur]...)
			w.mu.Unlock()
			for _, c := range buf {
				w.visit(c, now)
			}
			clear(buf)
		}
	}
}

func (w *wheel) close() {
	close(w.stop)
	<-w.done
}
