package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/gateway/poll"
	"github.com/parley-im/parley/internal/gateway/ws"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Close codes beyond the standard ones; docs/protocol.md lists them.
const (
	closeReplaced       ws.StatusCode = 4001
	closeDeviceRemoved  ws.StatusCode = 4002
	closeAccountDeleted ws.StatusCode = 4003
)

const maxAuthFailures = 3

// conn is one client connection.
//
// It has no goroutine of its own while idle: in epoll mode its socket is
// watched by the node's poller, otherwise one goroutine waits for the socket
// to become readable and does nothing else, so its stack stays at the
// smallest size. When bytes arrive, a reader goroutine is started (reader):
// it reads and dispatches every frame that is there, gives the read buffer
// back, and ends, handing the connection back to the poller or a new
// waiter. Exactly one of waiter, poller watch and reader exists at a time,
// so the reading side needs no lock.
type conn struct {
	s      *Server
	ws     *ws.Conn
	id     string // names this connection in kicks
	remote string
	desc   *poll.Desc // the poller's watch, in epoll mode
	// startMu is held while the watch is registered, as its callback may
	// run before Add has returned: the callback waits for desc to be set.
	startMu   sync.Mutex
	pollTried bool

	ctx    context.Context // ends when the connection does
	cancel context.CancelFunc

	// Owned by the reading side.
	challenge  []byte      // until authenticated
	helloTimer *time.Timer // until the hello
	helloDone  bool
	authFails  int

	// Set by the reading side during the handshake; read after isAuthed.
	version  uint32
	addr     types.Address
	isAuthed atomic.Bool
	authedAt int64 // unix nanoseconds, set before isAuthed

	sem      chan struct{} // bounds requests in progress; made by the first
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
	pingDue    bool // the keep-alive wheel asks for a ping
	drainDue   bool // just authenticated: the backlog comes first
	delivering bool // the first drain is done: inbox and wake are served
	running    bool // a writer goroutine is at work
	stopped    bool // no writer goroutine starts any more
	writers    sync.WaitGroup

	// Keep-alive: the wheel's slot and place in it (under the wheel's
	// lock), and when the last unanswered ping went out.
	slot, slotIdx int32
	pingAt        atomic.Int64

	wake     chan struct{} // rescan the mailbox
	overflow atomic.Bool   // inbox dropped something: rescan

	d delivery

	pmu      sync.Mutex
	watching map[types.AccountID]bool // presence subscriptions: account -> visible
	provAddr string                   // the provisioning address, once opened

	closeOnce sync.Once
}

func newConn(s *Server, wsc *ws.Conn, remote string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, ws: wsc, id: randomID(12), remote: remote,
		challenge: make([]byte, 32),
		ctx:       ctx, cancel: cancel,
		wake: make(chan struct{}, 1),
	}
	_, _ = rand.Read(c.challenge)
	c.d.init(s.cfg.Window)
	return c
}

// start sets the connection going: the hello must come within HelloTimeout.
func (c *conn) start() {
	c.helloTimer = time.AfterFunc(c.s.cfg.HelloTimeout, func() {
		c.close(ws.StatusPolicyViolation, "no hello")
	})
	c.s.wheel.add(c)
	c.idle()
}

// idle hands the connection to the poller or to a waiter goroutine.
func (c *conn) idle() {
	switch {
	case c.ws.Buffered():
		go c.read(nil) // bytes read along with the last frame
		return
	case c.desc != nil:
		if c.desc.Rearm() == nil {
			return
		}
		// The poller is closing with the node: a waiter sees the end.
	case c.s.poller != nil && !c.pollTried:
		c.pollTried = true
		if rc, ok := c.ws.SyscallConn(); ok { // not over TLS
			c.startMu.Lock()
			d, err := c.s.poller.Add(rc, c.readable)
			if err == nil {
				c.desc = d
			}
			c.startMu.Unlock()
			if err == nil {
				return
			}
		}
	}
	go c.wait()
}

// wait is the waiter goroutine: it only waits, so that its stack stays at
// the smallest size however deep the reader's calls went.
func (c *conn) wait() {
	err := c.ws.Wait()
	go c.read(err)
}

// readable is the poller's callback, on a goroutine of its own.
func (c *conn) readable() {
	c.startMu.Lock()
	// An empty critical section: waiting for idle to have set desc.
	c.startMu.Unlock()
	c.read(nil)
}

// read is the reader goroutine: it reads and dispatches the frames that
// arrived, then hands the connection back to the poller or a waiter. The
// read buffer is held only while it runs.
func (c *conn) read(err error) {
	for err == nil {
		var typ ws.MessageType
		var data []byte
		typ, data, err = c.ws.ReadMessage()
		if err != nil {
			break
		}
		if typ != 0 {
			c.frame(typ, data)
		}
		if !c.ws.Buffered() {
			c.ws.Release()
			c.idle()
			return
		}
	}
	c.ws.Release()
	c.end(err)
}

// frame serves one message from the client.
func (c *conn) frame(typ ws.MessageType, data []byte) {
	if c.ctx.Err() != nil {
		return // closing: the rest is dropped until the peer's close arrives
	}
	if typ != ws.MessageBinary {
		c.reply(0, nil, errBadRequest("frames must be binary protobuf ClientFrames"))
		return
	}
	f := new(wirepb.ClientFrame)
	if err := proto.Unmarshal(data, f); err != nil {
		c.reply(0, nil, errBadRequest("undecodable frame"))
		return
	}
	if c.helloDone {
		if !c.dispatch(f) {
			c.cancel()
		}
		return
	}
	c.helloDone = true
	if c.helloTimer.Stop() {
		c.helloTimer = nil // its timer would otherwise live as long as the connection
	}
	h := f.GetHello()
	if h == nil {
		c.reply(f.Id, nil, errBadRequest("the first frame must be Hello"))
		c.close(ws.StatusProtocolError, "hello expected")
		return
	}
	c.hello(f.Id, h)
}

// end is the connection's last act, on the reading side: requests in
// progress finish first (a send that was read is answered, and its envelope
// is durable), then the connection leaves the node.
func (c *conn) end(err error) {
	if c.desc != nil {
		_ = c.desc.Remove() // before the socket closes: its number is reused at once
	}
	c.s.wheel.remove(c)
	if c.helloTimer != nil {
		c.helloTimer.Stop()
	}
	c.requests.Wait()
	c.cancel()
	c.qmu.Lock()
	c.stopped = true
	c.qmu.Unlock()
	c.writers.Wait()
	c.teardown()
	var ce ws.CloseError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.s.Log.Debug("connection ended", "err", err)
	}
	_ = c.ws.CloseNow()
	c.s.forget(c)
}

// hello negotiates the version.
func (c *conn) hello(id uint64, h *wirepb.Hello) {
	c.s.Metrics.Requests.WithLabelValues("hello").Inc()
	lo, hi := h.MinVersion, h.MaxVersion
	if hi == 0 {
		hi = lo
	}
	v := min(hi, uint32(MaxVersion))
	if lo > hi || v < lo || v < MinVersion {
		c.reply(id, nil, wireErr(wirepb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION, "this server speaks protocol versions 1 to 1"))
		c.close(ws.StatusProtocolError, "unsupported version")
		return
	}
	c.version = v
	c.reply(id, &wirepb.Response{Result: &wirepb.Response_Hello{Hello: &wirepb.HelloResult{
		Version: v, Challenge: c.challenge, ServerTimeMs: time.Now().UnixMilli(),
		MaxFrameBytes: uint32(c.s.cfg.MaxFrameBytes), KeepaliveSeconds: uint32(c.s.cfg.KeepAlive / time.Second),
	}}}, nil)
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
	if err := c.ws.Write(ws.MessageBinary, data); err != nil {
		c.cancel()
		return false
	}
	return true
}

// close starts the closing handshake once, with code and reason; the
// reading side ends the connection when the peer answers or gives up.
func (c *conn) close(code ws.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		// Off the caller's goroutine: the hub's dispatcher calls this, and a
		// write to a slow reader may take up to WriteTimeout.
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
		c.close(ws.StatusGoingAway, "server shutting down")
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

// keepalive is the keep-alive wheel's visit, once per KeepAlive: a peer
// heard from since the last visit is alive; one that was not is pinged,
// and one that did not answer the last ping is disconnected.
func (c *conn) keepalive(now time.Time) {
	c.d.forgetPushed(now)
	last := c.ws.LastRead()
	if now.UnixNano()-last < int64(c.s.cfg.KeepAlive) {
		c.pingAt.Store(0)
		return
	}
	if p := c.pingAt.Load(); p != 0 && last < p {
		c.close(ws.StatusPolicyViolation, "keep-alive timeout")
		return
	}
	c.pingAt.Store(now.UnixNano())
	c.qmu.Lock()
	c.pingDue = true
	c.kickLocked()
	c.qmu.Unlock()
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

// ping asks the peer for a pong; the keep-alive wheel checks the answer.
func (c *conn) ping() bool {
	if err := c.ws.Ping(); err != nil {
		c.cancel()
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
