package loadgen

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/gateway/poll"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// holder keeps the idle mix's connections: each one authenticated over the
// minimal WebSocket client of rawws.go and then parked in the poller with
// no goroutine, no buffer and no timer, so that what the report shows per
// connection is the server's cost, not the generator's. Where there is no
// poller a goroutine waits on each connection, reading one byte at a time.
type holder struct {
	r      *run
	poller *poll.Poller // nil: a goroutine per connection
	wg     sync.WaitGroup
}

// rawConn is one held connection. It is small on purpose: this process may
// hold hundreds of thousands of them.
type rawConn struct {
	nc    net.Conn
	desc  *poll.Desc
	mu    sync.Mutex // serialises writes; start holds it until desc is set
	ended atomic.Bool
	peek  [1]byte // the fallback waiter's read
}

// rbuf boxes a read buffer so that the pool holds a pointer.
type rbuf struct{ b []byte }

// readBufSize fits every frame an idle device gets (pings, QueueEmpty,
// responses); a bigger one gets a buffer of its own.
const readBufSize = 2 << 10

var readBufs = sync.Pool{New: func() any { return &rbuf{b: make([]byte, readBufSize)} }}

// frameTimeout bounds the handshake, and the wait for the rest of a frame
// once its start has arrived.
const frameTimeout = 30 * time.Second

// noPoller makes the holder use waiter goroutines, as it does where poll
// is unsupported; for tests.
var noPoller bool

func newHolder(r *run) *holder {
	h := &holder{r: r}
	if noPoller {
		return h
	}
	if p, err := poll.New(); err == nil {
		h.poller = p
	}
	return h
}

// rawTarget reports whether u can be held by the raw client: plain ws://
// only (a wss:// node keeps client/transport's connection).
func rawTarget(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "ws"
}

// connect dials node n for device a, authenticates it with key and parks
// the connection.
func (h *holder) connect(ctx context.Context, n int, a types.Address, key ed25519.PrivateKey) (*rawConn, error) {
	r := h.r
	u, err := url.Parse(r.cfg.URLs[n])
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	path := u.RequestURI()
	d := r.dialers[int(r.dials.Add(1)-1)%len(r.dialers)]
	ctx, cancel := context.WithTimeout(ctx, frameTimeout)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &rawConn{nc: nc}
	fr := frameReader{c: c, rb: readBufs.Get().(*rbuf)}
	defer fr.release()
	if err := c.handshake(&fr, u.Host, path, a, key); err != nil {
		nc.Close()
		return nil, err
	}
	// Frames pushed right behind the answer to Authenticate (QueueEmpty)
	// are served before the connection is parked.
	if err := h.serve(c, &fr, false); err != nil {
		nc.Close()
		return nil, err
	}
	fr.release()
	r.connected.Add(1)
	h.park(c)
	return c, nil
}

// handshake upgrades the connection and authenticates it, within
// frameTimeout.
func (c *rawConn) handshake(fr *frameReader, host, path string, a types.Address, key ed25519.PrivateKey) error {
	_ = c.nc.SetDeadline(time.Now().Add(frameTimeout))
	defer c.nc.SetDeadline(time.Time{})
	wsKey, accept := newUpgradeKey()
	if _, err := c.nc.Write(appendUpgradeRequest(fr.rb.b[:0], host, path, wsKey)); err != nil {
		return err
	}
	for {
		n, err := parseUpgradeResponse(fr.rb.b[:fr.w], accept)
		if err != nil {
			return err
		}
		if n > 0 {
			fr.r = n
			break
		}
		if err := fr.fill(); err != nil {
			return err
		}
	}
	res, err := c.call(fr, &wirepb.ClientFrame{Id: 1, Body: &wirepb.ClientFrame_Hello{Hello: &wirepb.Hello{
		MinVersion: transport.Version, MaxVersion: transport.Version, UserAgent: "parley-bench"}}})
	if err != nil {
		return err
	}
	hello := res.GetHello()
	if hello == nil {
		return errors.New("loadgen: hello answered without a result")
	}
	// Signed as client/transport's Authenticate signs.
	sig := ed25519.Sign(key, wirepb.AuthMessage(hello.Challenge, a.Account, uint32(a.Device)))
	_, err = c.call(fr, &wirepb.ClientFrame{Id: 2, Body: &wirepb.ClientFrame_Authenticate{Authenticate: &wirepb.Authenticate{
		AccountId: a.Account[:], DeviceId: uint32(a.Device), Signature: sig}}})
	return err
}

// call sends f and reads until its response; pings on the way are
// answered, anything else pushed meanwhile is dropped.
func (c *rawConn) call(fr *frameReader, f *wirepb.ClientFrame) (*wirepb.Response, error) {
	if err := c.send(f); err != nil {
		return nil, err
	}
	for {
		fm, err := fr.next(true)
		if err != nil {
			return nil, err
		}
		sf, err := c.frame(fm)
		if err != nil {
			return nil, err
		}
		if res := sf.GetResponse(); res != nil && res.Id == f.Id {
			if res.Error != nil {
				return nil, &transport.ServerError{E: res.Error}
			}
			return res, nil
		}
	}
}

// frame handles the control frames a client must answer and decodes a
// binary one; it returns nil for frames that carry no message.
func (c *rawConn) frame(f wsFrame) (*wirepb.ServerFrame, error) {
	switch f.op {
	case opPing:
		return nil, c.write(opPong, f.payload)
	case opClose:
		return nil, &closedError{code: closeCode(f.payload)}
	case opBinary:
		sf := new(wirepb.ServerFrame)
		if err := proto.Unmarshal(f.payload, sf); err != nil {
			return nil, fmt.Errorf("%w: undecodable server frame: %v", errFrame, err)
		}
		return sf, nil
	}
	return nil, nil // pongs, and text the server never sends
}

// send writes f as one binary frame.
func (c *rawConn) send(f *wirepb.ClientFrame) error {
	data, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	return c.write(opBinary, data)
}

// write sends one masked frame; a server that takes more than
// frameTimeout to take it is as good as gone.
func (c *rawConn) write(op byte, payload []byte) error {
	var small [14 + 125]byte
	buf := appendClientFrame(small[:0], op, payload, newMaskKey())
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(frameTimeout))
	_, err := c.nc.Write(buf)
	_ = c.nc.SetWriteDeadline(time.Time{})
	return err
}

// closedError is a connection the server ended: with a close frame of that
// code, or -1 for none.
type closedError struct{ code int }

func (e *closedError) Error() string { return fmt.Sprintf("disconnected by the server (%d)", e.code) }

// park hands c to the poller, or to a waiter goroutine.
func (h *holder) park(c *rawConn) {
	if h.poller != nil {
		if sc, ok := c.nc.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				c.mu.Lock()
				d, err := h.poller.Add(rc, func() { h.readable(c) })
				c.desc = d
				c.mu.Unlock()
				if err == nil {
					return
				}
			}
		}
	}
	h.wg.Go(func() { h.wait(c) })
}

// readable is the poller's callback, on a goroutine of its own: it reads
// what arrived, answers it and rearms the watch.
func (h *holder) readable(c *rawConn) {
	c.mu.Lock() // an empty critical section: waiting for park to set desc
	c.mu.Unlock()
	fr := frameReader{c: c, rb: readBufs.Get().(*rbuf)}
	err := h.serve(c, &fr, true)
	fr.release()
	if err != nil {
		h.end(c, err)
		return
	}
	// ErrClosed: removed, the connection is ending and whoever removed it
	// closes it.
	_ = c.desc.Rearm()
}

// wait is the waiter of a connection the poller does not watch: it blocks
// in a one-byte read, then serves what came.
func (h *holder) wait(c *rawConn) {
	for {
		n, err := c.nc.Read(c.peek[:])
		if err != nil {
			h.end(c, err)
			return
		}
		fr := frameReader{c: c, rb: readBufs.Get().(*rbuf)}
		fr.w = copy(fr.rb.b, c.peek[:n])
		err = h.serve(c, &fr, false)
		fr.release()
		if err != nil {
			h.end(c, err)
			return
		}
	}
}

// serve reads and answers frames until nothing more is buffered and no
// frame is half read. With readFirst it first reads from the socket, which
// the poller found readable. Pings are answered with pongs, envelopes
// acked, error responses counted; anything else is dropped.
func (h *holder) serve(c *rawConn, fr *frameReader, readFirst bool) error {
	_ = c.nc.SetReadDeadline(time.Now().Add(frameTimeout))
	defer c.nc.SetReadDeadline(time.Time{})
	if readFirst {
		if err := fr.fill(); err != nil {
			return err
		}
	}
	for {
		f, err := fr.next(false)
		if errors.Is(err, errDrained) {
			return nil
		}
		if err != nil {
			return err
		}
		sf, err := c.frame(f)
		if err != nil {
			return err
		}
		switch {
		case sf.GetDeliver() != nil:
			// Nobody sends in the idle mix; ack anything that comes all the
			// same, as a device would, so it is not delivered again.
			envs := sf.GetDeliver().GetEnvelopes()
			ids := make([]uint64, len(envs))
			for i, e := range envs {
				ids[i] = e.Id
			}
			if err := c.send(&wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}}); err != nil {
				return err
			}
		case sf.GetResponse().GetError() != nil:
			h.r.fail(&transport.ServerError{E: sf.GetResponse().GetError()})
		}
	}
}

// end is a connection's end, when it failed or the server closed it.
func (h *holder) end(c *rawConn, err error) {
	if !c.ended.CompareAndSwap(false, true) {
		return // closed by close
	}
	if c.desc != nil {
		_ = c.desc.Remove()
	}
	c.nc.Close()
	h.r.connected.Add(-1)
	if !h.r.closing.Load() {
		var ce *closedError
		if !errors.As(err, &ce) && !errors.Is(err, errFrame) {
			err = &closedError{code: -1}
		}
		h.r.fail(err)
	}
}

// close ends c from this side with a close frame.
func (h *holder) close(c *rawConn) {
	if !c.ended.CompareAndSwap(false, true) {
		return
	}
	if c.desc != nil {
		_ = c.desc.Remove()
	}
	_ = c.write(opClose, []byte{0x03, 0xe8}) // 1000, normal closure
	c.nc.Close()
	h.r.connected.Add(-1)
}

// shutdown closes the poller once every connection is closed, and waits
// for the waiter goroutines.
func (h *holder) shutdown() {
	h.wg.Wait()
	if h.poller != nil {
		_ = h.poller.Close()
	}
}

// frameReader reads frames through a pooled buffer that lives only while a
// goroutine serves the connection: rb.b[r:w] is read and not yet handled.
type frameReader struct {
	c    *rawConn
	rb   *rbuf
	r, w int
}

// errDrained: next(false) found nothing left to handle.
var errDrained = errors.New("loadgen: nothing buffered")

// next returns the next frame, reading while the buffer holds only part of
// one. With block false it returns errDrained rather than read when the
// buffer is empty.
func (fr *frameReader) next(block bool) (wsFrame, error) {
	for {
		f, n, need, err := parseFrame(fr.rb.b[fr.r:fr.w], maxServerFrame)
		if err != nil {
			return wsFrame{}, err
		}
		if n > 0 {
			fr.r += n
			return f, nil
		}
		if fr.r == fr.w && !block {
			return wsFrame{}, errDrained
		}
		// Move the partial frame to the front, into a bigger buffer if it
		// does not fit.
		if need > len(fr.rb.b) {
			nb := &rbuf{b: make([]byte, need)}
			fr.w = copy(nb.b, fr.rb.b[fr.r:fr.w])
			fr.putBuf()
			fr.rb, fr.r = nb, 0
		} else if fr.r > 0 {
			fr.w = copy(fr.rb.b, fr.rb.b[fr.r:fr.w])
			fr.r = 0
		}
		if err := fr.fill(); err != nil {
			return wsFrame{}, err
		}
	}
}

// fill reads once from the socket into the free end of the buffer.
func (fr *frameReader) fill() error {
	if fr.w == len(fr.rb.b) {
		// Only the handshake can get here: its answer did not fit.
		return fmt.Errorf("%w: the response header is over %d bytes", errUpgrade, len(fr.rb.b))
	}
	n, err := fr.c.nc.Read(fr.rb.b[fr.w:])
	fr.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = errors.New("loadgen: empty read")
	}
	return err
}

func (fr *frameReader) putBuf() {
	if fr.rb != nil && len(fr.rb.b) == readBufSize {
		readBufs.Put(fr.rb)
	}
	fr.rb = nil
}

// release gives the buffer back; the reader must not be used after.
func (fr *frameReader) release() {
	fr.putBuf()
	fr.r, fr.w = 0, 0
}
