package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Close codes beyond the standard ones; docs/protocol.md lists them.
const (
	closeReplaced       websocket.StatusCode = 4001
	closeDeviceRemoved  websocket.StatusCode = 4002
	closeAccountDeleted websocket.StatusCode = 4003
)

const maxAuthFailures = 3

// conn is one client connection.
type conn struct {
	s         *Server
	ws        *websocket.Conn
	id        string // names this connection in kicks
	remote    string
	challenge []byte

	ctx    context.Context // ends when the connection does
	cancel context.CancelFunc

	// Set by the reader goroutine during the handshake; read after authed
	// is closed by other goroutines.
	version   uint32
	addr      types.Address
	authFails int
	isAuthed  atomic.Bool
	authedAt  int64 // unix nanoseconds, set before isAuthed

	sem      chan struct{} // bounds requests in progress
	reqMu    sync.Mutex    // orders begin against shutdown
	stopping bool
	requests sync.WaitGroup

	// Pushes from the hub wait in these queues for the writer goroutine,
	// which runs only while there is something to write: an idle
	// connection holds no writer goroutine and no queue memory.
	qmu        sync.Mutex
	inbox      []*wirepb.Envelope // at most maxInbox
	events     []*wirepb.ServerFrame
	privacy    []types.AccountID
	pingDue    bool // the keep-alive timer fired
	drainDue   bool // just authenticated: the backlog comes first
	delivering bool // the first drain is done: inbox and wake are served
	running    bool // a writer goroutine is at work
	stopped    bool // no writer goroutine starts any more
	writers    sync.WaitGroup
	keepalive  *time.Timer

	wake     chan struct{} // rescan the mailbox
	overflow atomic.Bool   // inbox dropped something: rescan

	d delivery

	pmu      sync.Mutex
	watching map[types.AccountID]bool // presence subscriptions: account -> visible
	provAddr string                   // the provisioning address, once opened

	closeOnce sync.Once
}

func newConn(s *Server, ws *websocket.Conn, remote string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, ws: ws, id: randomID(12), remote: remote,
		challenge: make([]byte, 32),
		ctx:       ctx, cancel: cancel,
		sem:  make(chan struct{}, s.cfg.MaxConcurrent),
		wake: make(chan struct{}, 1),
	}
	_, _ = rand.Read(c.challenge)
	c.d.init(s.cfg.Window)
	return c
}

// serve runs the connection until it ends.
func (c *conn) serve() {
	c.qmu.Lock()
	c.keepalive = time.AfterFunc(c.s.cfg.KeepAlive, c.keepaliveTick)
	c.qmu.Unlock()
	err := c.read()
	// Requests in progress finish first: a send that was read is answered,
	// and its envelope is durable, before the connection goes.
	c.requests.Wait()
	c.cancel()
	c.qmu.Lock()
	c.stopped = true
	c.keepalive.Stop()
	c.qmu.Unlock()
	c.writers.Wait()
	c.teardown()
	var ce websocket.CloseError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, context.Canceled) {
		c.s.Log.Debug("connection ended", "err", err)
	}
	c.close(websocket.StatusNormalClosure, "")
}

// read is the reader goroutine: it decodes frames and dispatches them.
func (c *conn) read() error {
	hctx, hcancel := context.WithTimeout(c.ctx, c.s.cfg.HelloTimeout)
	defer hcancel()
	first := true
	for {
		rctx := c.ctx
		if first {
			rctx = hctx
		}
		typ, data, err := c.ws.Read(rctx)
		if err != nil {
			if first && errors.Is(err, context.DeadlineExceeded) {
				c.close(websocket.StatusPolicyViolation, "no hello")
			}
			return err
		}
		if typ != websocket.MessageBinary {
			c.reply(0, nil, errBadRequest("frames must be binary protobuf ClientFrames"))
			continue
		}
		f := new(wirepb.ClientFrame)
		if err := proto.Unmarshal(data, f); err != nil {
			c.reply(0, nil, errBadRequest("undecodable frame"))
			continue
		}
		if first {
			h := f.GetHello()
			if h == nil {
				c.reply(f.Id, nil, errBadRequest("the first frame must be Hello"))
				c.close(websocket.StatusProtocolError, "hello expected")
				return errors.New("no hello")
			}
			if !c.hello(f.Id, h) {
				return errors.New("no common version")
			}
			first = false
			hcancel() // its timer would otherwise live as long as the connection
			continue
		}
		if !c.dispatch(f) {
			return errors.New("closed by handler")
		}
	}
}

// hello negotiates the version; false ends the connection.
func (c *conn) hello(id uint64, h *wirepb.Hello) bool {
	c.s.Metrics.Requests.WithLabelValues("hello").Inc()
	lo, hi := h.MinVersion, h.MaxVersion
	if hi == 0 {
		hi = lo
	}
	v := min(hi, uint32(MaxVersion))
	if lo > hi || v < lo || v < MinVersion {
		c.reply(id, nil, wireErr(wirepb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION, "this server speaks protocol versions 1 to 1"))
		c.close(websocket.StatusProtocolError, "unsupported version")
		return false
	}
	c.version = v
	c.reply(id, &wirepb.Response{Result: &wirepb.Response_Hello{Hello: &wirepb.HelloResult{
		Version: v, Challenge: c.challenge, ServerTimeMs: time.Now().UnixMilli(),
		MaxFrameBytes: uint32(c.s.cfg.MaxFrameBytes), KeepaliveSeconds: uint32(c.s.cfg.KeepAlive / time.Second),
	}}}, nil)
	return true
}

// reply writes the response to request id: res on success, else e.
func (c *conn) reply(id uint64, res *wirepb.Response, e *wirepb.Error) {
	if e != nil {
		c.s.Metrics.Errors.WithLabelValues(e.Code.String()).Inc()
		res = &wirepb.Response{Error: e}
	} else if id == 0 {
		return // fire and forget
	}
	res.Id = id
	c.write(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Response{Response: res}})
}

// write sends one frame. A reader too slow to take it within WriteTimeout
// is disconnected: its queued envelopes wait in the store for its return.
func (c *conn) write(f *wirepb.ServerFrame) bool {
	data, err := proto.Marshal(f)
	if err != nil {
		c.s.Log.Error("encoding frame", "err", err)
		return false
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WriteTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, data); err != nil {
		c.cancel()
		return false
	}
	return true
}

// close closes the WebSocket once, with code and reason.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		// The close handshake first: cancelling the context would make the
		// library drop the connection without telling the client why.
		go func() {
			_ = c.ws.Close(code, reason)
			c.cancel()
		}()
	})
}

// begin counts a request in progress; false once the server is stopping.
func (c *conn) begin() bool {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if c.stopping {
		return false
	}
	c.requests.Add(1)
	return true
}

// shutdown is the server going away: new requests are refused, those in
// progress are answered, then the connection closes with "going away".
func (c *conn) shutdown() {
	c.reqMu.Lock()
	c.stopping = true
	c.reqMu.Unlock()
	go func() {
		c.requests.Wait()
		c.close(websocket.StatusGoingAway, "server shutting down")
	}()
}

// Bounds of the queues a connection's pushes wait in. Envelopes beyond
// maxInbox stay in the store for a rescan; signals beyond the others are
// dropped (they are best effort).
const (
	maxInbox   = 256
	maxEvents  = 64
	maxPrivacy = 16
)

// kickLocked starts the writer goroutine unless it runs; c.qmu is held.
func (c *conn) kickLocked() {
	if c.running || c.stopped {
		return
	}
	c.running = true
	c.writers.Add(1)
	go c.writer()
}

// keepaliveTick is the keep-alive timer: the writer pings, and the timer
// is set again for the next interval, under c.qmu so that it is never set
// again once the connection stopped it.
func (c *conn) keepaliveTick() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.stopped {
		return // the connection is ending: no more pings
	}
	c.pingDue = true
	c.kickLocked()
	c.keepalive.Reset(c.s.cfg.KeepAlive)
}

// work is what the writer takes from the queues in one round.
type work struct {
	drain   bool
	ping    bool
	wake    bool
	events  []*wirepb.ServerFrame
	privacy []types.AccountID
	inbox   []*wirepb.Envelope
}

// take empties the queues into w; false (and the writer ends) when there
// is nothing to do. The first drain after authentication goes alone, so
// bus envelopes queued meanwhile follow the backlog.
func (c *conn) take(w *work) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	*w = work{}
	if c.ctx.Err() != nil {
		c.stopped = true
	} else if c.drainDue {
		c.drainDue, w.drain = false, true
		return true
	} else {
		w.ping, c.pingDue = c.pingDue, false
		w.events, c.events = c.events, nil
		select {
		case <-c.wake:
			// Before the first drain a rescan is moot: that drain reads the store.
			w.wake = c.delivering
		default:
		}
		if c.delivering {
			w.privacy, c.privacy = c.privacy, nil
			w.inbox, c.inbox = c.inbox, nil
		}
		if w.ping || w.wake || len(w.events)+len(w.privacy)+len(w.inbox) > 0 {
			return true
		}
	}
	c.running = false
	return false
}

// writer writes what the server pushes and runs the keep-alive pings. It
// runs while there is work; after a failed write or ping the connection
// is ending and no writer starts again.
func (c *conn) writer() {
	defer c.writers.Done()
	var w work
	for c.take(&w) {
		if !c.doWork(&w) {
			c.qmu.Lock()
			c.running, c.stopped = false, true
			c.qmu.Unlock()
			return
		}
	}
}

func (c *conn) doWork(w *work) bool {
	if w.drain {
		if !c.drain() {
			return false
		}
		c.qmu.Lock()
		c.delivering = true
		c.qmu.Unlock()
		return true
	}
	if w.ping && !c.ping() {
		return false
	}
	for _, f := range w.events {
		if !c.write(f) {
			return false
		}
	}
	for _, acct := range w.privacy {
		c.recheckPresence(acct)
	}
	if w.wake && (c.overflow.Swap(false) || c.needRescan()) {
		if !c.drain() {
			return false
		}
	}
	for batch := w.inbox; len(batch) > 0; {
		n := min(len(batch), 64)
		if !c.pushLive(batch[:n]) {
			return false
		}
		batch = batch[n:]
	}
	return true
}

// ping checks the peer answers within a keep-alive interval.
func (c *conn) ping() bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.KeepAlive)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.close(websocket.StatusPolicyViolation, "keep-alive timeout")
		return false
	}
	return true
}

// onEvent is called by the hub's dispatcher: it must never block.
func (c *conn) onEvent(ev *buspb.Event) {
	switch b := ev.Body.(type) {
	case *buspb.Event_Deliver:
		c.qmu.Lock()
		if len(c.inbox) < maxInbox {
			c.inbox = append(c.inbox, b.Deliver)
			c.kickLocked()
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
		// The envelope is in the store; note that the writer must read it there.
		c.overflow.Store(true)
		c.s.Metrics.BusDropped.Inc()
		c.nudge()
	case *buspb.Event_Rescan:
		c.overflow.Store(true)
		c.nudge()
	case *buspb.Event_Kick:
		if b.Kick.KeepConn == c.id {
			return
		}
		switch b.Kick.Reason {
		case buspb.KickReason_KICK_REASON_REPLACED:
			if b.Kick.AuthenticatedNs < c.authedAt || (b.Kick.AuthenticatedNs == c.authedAt && b.Kick.KeepConn < c.id) {
				return // from a connection older than this one
			}
			c.close(closeReplaced, "replaced by a newer connection")
		case buspb.KickReason_KICK_REASON_DEVICE_REMOVED:
			c.close(closeDeviceRemoved, "device removed")
		case buspb.KickReason_KICK_REASON_ACCOUNT_DELETED:
			c.close(closeAccountDeleted, "account deleted")
		default:
			c.close(closeReplaced, "replaced by a newer connection")
		}
	case *buspb.Event_PrekeysLow:
		c.push(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_PrekeysLow{PrekeysLow: b.PrekeysLow}})
	case *buspb.Event_Typing:
		if bytes.Equal(b.Typing.From, c.addr.Account[:]) && types.DeviceID(b.Typing.FromDevice) == c.addr.Device {
			return // the typist's own device
		}
		c.push(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Typing{Typing: b.Typing}})
	case *buspb.Event_Presence:
		acct, err := types.AccountIDFromBytes(b.Presence.Account)
		if err != nil {
			return
		}
		c.pmu.Lock()
		visible := c.watching[acct]
		c.pmu.Unlock()
		if visible {
			c.push(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Presence{Presence: b.Presence}})
		}
	case *buspb.Event_PrivacyChanged:
		if acct, err := types.AccountIDFromBytes(b.PrivacyChanged.Account); err == nil {
			c.qmu.Lock()
			if len(c.privacy) < maxPrivacy {
				c.privacy = append(c.privacy, acct)
				c.kickLocked()
			}
			c.qmu.Unlock()
		}
	case *buspb.Event_Provision:
		c.push(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Provision{Provision: b.Provision}})
	}
}

// push queues a signal for the writer; signals are best effort.
func (c *conn) push(f *wirepb.ServerFrame) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.events) < maxEvents {
		c.events = append(c.events, f)
		c.kickLocked()
	}
}

// nudge makes the writer look whether the store holds more than it pushed.
func (c *conn) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
	c.qmu.Lock()
	c.kickLocked()
	c.qmu.Unlock()
}

// startDelivery is authentication done: the writer drains the backlog,
// then serves the bus.
func (c *conn) startDelivery() {
	c.qmu.Lock()
	c.drainDue = true
	c.kickLocked()
	c.qmu.Unlock()
}

// teardown leaves the hub and tells presence the device went away.
func (c *conn) teardown() {
	c.pmu.Lock()
	if c.provAddr != "" {
		c.s.hub.leave(provSubject(c.provAddr), c)
	}
	for acct := range c.watching {
		c.s.hub.leave(presenceSubject(acct), c)
	}
	c.pmu.Unlock()
	if !c.isAuthed.Load() {
		return
	}
	c.s.hub.leaveDevice(c)
	c.s.Metrics.Authenticated.Dec()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.s.Presence.Offline(ctx, c.addr, c.id)
}
