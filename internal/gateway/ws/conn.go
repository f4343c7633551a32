package ws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// Conn is a server-side WebSocket connection.
type Conn struct {
	nc  net.Conn
	raw syscall.RawConn // nil unless nc is a socket the runtime poller serves

	// Reader state, used only by the one goroutine that reads. Bytes
	// rb.b[r:w] were read from the socket and not yet consumed; a byte read
	// by Wait's fallback waits in peek. rb is nil while idle.
	rb     *rbuf
	r, w   int
	rerr   error // the connection failed; every later read returns it
	peek   [1]byte
	peeked bool

	wres int32 // Wait's peek result: 1 data, 0 EOF, <0 -errno

	state    atomic.Uint32 // stateCloseSent (set under wmu), stateDropped
	lastRead atomic.Int64  // unix nanoseconds
	timer    atomic.Pointer[time.Timer]
	wmu      sync.Mutex // serialises frames on the wire

	o Options
}

// errAgain: a non-blocking read found nothing.
var errAgain = errors.New("ws: nothing to read yet")

const (
	stateCloseSent = 1 << iota // a close frame went out
	stateDropped               // the socket is shut down: reads see EOF
	stateClosed                // the socket is closed (CloseNow)
)

// Wait blocks until the peer has sent something, the connection failed or
// it was closed. It holds no buffer while it waits; on a plain socket the
// goroutine parks in the runtime poller with a shallow stack.
func (c *Conn) Wait() error {
	if c.Buffered() {
		return nil
	}
	if c.rerr != nil {
		return c.rerr
	}
	if c.dropped() {
		return ErrClosed
	}
	if c.raw != nil {
		return c.waitRaw()
	}
	// No poller access (TLS): read one byte and keep it.
	n, err := c.nc.Read(c.peek[:])
	if n > 0 {
		c.peeked = true
		c.lastRead.Store(time.Now().UnixNano())
		return nil
	}
	return c.readFailed(err)
}

// Buffered reports whether bytes already read from the socket wait in the
// Conn.
func (c *Conn) Buffered() bool {
	return c.peeked || (c.rb != nil && c.r < c.w)
}

// Release returns the read buffer to its pool unless it holds the start of
// a frame. Call it before going back to Wait.
func (c *Conn) Release() {
	if c.rb != nil && c.r == c.w {
		putBuf(c.rb)
		c.rb = nil
		c.r, c.w = 0, 0
	}
}

// dropBuf discards the read buffer and whatever it holds.
func (c *Conn) dropBuf() {
	if c.rb != nil {
		putBuf(c.rb)
		c.rb = nil
	}
	c.r, c.w = 0, 0
	c.peeked = false
}

// LastRead is when bytes last arrived from the peer (any frame, pongs
// included), in unix nanoseconds.
func (c *Conn) LastRead() int64 { return c.lastRead.Load() }

// SyscallConn returns the socket for readiness polling, and false when the
// connection is not a plain socket (TLS).
func (c *Conn) SyscallConn() (syscall.RawConn, bool) { return c.raw, c.raw != nil }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// ReadMessage reads frames until a whole data message has arrived and
// returns it; the data is valid until the next ReadMessage or Release.
// Pings are answered and a close frame ends the connection (CloseError).
// If only control frames were buffered and nothing more is, it returns
// (0, nil, nil) instead of blocking: go back to Wait. Once part of a frame
// has arrived, the rest must come within ReadTimeout.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	if c.rerr != nil {
		return 0, nil, c.rerr
	}
	if c.dropped() {
		c.dropBuf()
		return 0, nil, ErrClosed
	}
	c.acquire()
	var (
		typ          MessageType // of the message in progress, 0 if none
		mstart, mend int         // its payload so far, unmasked, in rb.b
		handled      bool        // some frame was consumed by this call
		deadline     bool        // a read deadline is armed
	)
	p := c.r
	for {
		b := c.rb.b
		avail := c.w - p
		msgLen := mend - mstart
		need := msgLen + 2 // bytes the buffer must hold from the message start
		if avail >= 2 {
			b0, b1 := b[p], b[p+1]
			op := b0 & 0x0f
			fin := b0&0x80 != 0
			if b0&0x70 != 0 {
				return c.fail(deadline, StatusProtocolError, ErrProtocol, "reserved bits set")
			}
			if b1&0x80 == 0 {
				return c.fail(deadline, StatusProtocolError, ErrProtocol, "unmasked client frame")
			}
			len7 := int(b1 & 0x7f)
			switch op {
			case opCont:
				if typ == 0 {
					return c.fail(deadline, StatusProtocolError, ErrProtocol, "continuation frame without a message")
				}
			case opText, opBinary:
				if typ != 0 {
					return c.fail(deadline, StatusProtocolError, ErrProtocol, "new message inside a fragmented one")
				}
			case opClose, opPing, opPong:
				if !fin {
					return c.fail(deadline, StatusProtocolError, ErrProtocol, "fragmented control frame")
				}
				if len7 > maxControlLoad {
					return c.fail(deadline, StatusProtocolError, ErrProtocol, "control frame over 125 bytes")
				}
			default:
				return c.fail(deadline, StatusProtocolError, ErrProtocol, "reserved opcode")
			}
			hl := 6
			switch len7 {
			case 126:
				hl = 8
			case 127:
				hl = 14
			}
			need = msgLen + hl
			if avail >= hl {
				var n uint64
				switch hl {
				case 6:
					n = uint64(len7)
				case 8:
					n = uint64(binary.BigEndian.Uint16(b[p+2:]))
				default:
					n = binary.BigEndian.Uint64(b[p+2:])
					if n>>63 != 0 {
						return c.fail(deadline, StatusProtocolError, ErrProtocol, "64-bit length with the top bit set")
					}
				}
				if op < opClose && uint64(msgLen)+n > uint64(c.o.MaxMessageBytes) {
					return c.fail(deadline, StatusMessageTooBig, ErrMessageTooBig,
						fmt.Sprintf("message over %d bytes", c.o.MaxMessageBytes))
				}
				// n <= MaxMessageBytes (or 125) here, so the sums fit in an int.
				start := p + hl
				end := start + int(n)
				need = msgLen + hl + int(n)
				if end <= c.w {
					payload := b[start:end]
					unmask(payload, [4]byte(b[start-4:start]))
					p = end
					handled = true
					if op >= opClose {
						c.r = p
						if err := c.control(op, payload); err != nil {
							return 0, nil, err
						}
						continue
					}
					if typ == 0 {
						typ = MessageType(op)
						mstart, mend = start, start
					}
					mend += copy(b[mend:], payload)
					if !fin {
						continue
					}
					c.r = p
					if typ == MessageText && !utf8.Valid(b[mstart:mend]) {
						return c.fail(deadline, StatusInvalidFramePayloadData, ErrInvalidData, "text message is not UTF-8")
					}
					if c.closing() {
						// After our close frame, data is dropped: we only
						// wait for the peer's close.
						typ, mstart, mend = 0, 0, 0
						continue
					}
					if deadline {
						_ = c.nc.SetReadDeadline(time.Time{})
					}
					return typ, b[mstart:mend:mend], nil
				}
			}
		}

		// The buffer holds no complete frame at p.
		if typ == 0 && p == c.w && handled {
			if deadline {
				_ = c.nc.SetReadDeadline(time.Time{})
			}
			c.r = p
			return 0, nil, nil
		}
		p, mstart, mend = c.makeRoom(p, mstart, mend, typ != 0, need)
		if !deadline && (typ != 0 || p < c.w) {
			// Part of a frame is here: the rest must follow soon. It
			// usually has already come, and then no timer is armed.
			if c.raw != nil {
				n, err := tryRead(c.raw, c.rb.b[c.w:])
				if n > 0 {
					c.w += n
					c.lastRead.Store(time.Now().UnixNano())
					continue
				}
				if err != errAgain {
					c.dropBuf()
					return 0, nil, c.readFailed(err)
				}
			}
			_ = c.nc.SetReadDeadline(time.Now().Add(c.o.ReadTimeout))
			deadline = true
		}
		n, err := c.nc.Read(c.rb.b[c.w:])
		if n > 0 {
			c.w += n
			c.lastRead.Store(time.Now().UnixNano())
			continue // an error comes back on the next read
		}
		if deadline && errors.Is(err, os.ErrDeadlineExceeded) {
			return c.fail(deadline, StatusPolicyViolation, ErrReadTimeout, "")
		}
		c.dropBuf()
		return 0, nil, c.readFailed(err)
	}
}

// acquire makes sure the reader holds a buffer, with the byte Wait's
// fallback read in it.
func (c *Conn) acquire() {
	if c.rb == nil {
		c.rb = getBuf(minBuf)
		c.r, c.w = 0, 0
	} else if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.peeked {
		// Wait reads a byte only when nothing else is buffered.
		c.rb.b[c.w] = c.peek[0]
		c.w++
		c.peeked = false
	}
}

// makeRoom makes sure that the message so far, rb.b[mstart:mend], and the
// frame at p fit in the buffer with room to read more: it moves them to the
// front, or into a bigger buffer. need is the size of both, as far as it
// is known. It returns the new positions.
func (c *Conn) makeRoom(p, mstart, mend int, inMsg bool, need int) (int, int, int) {
	b := c.rb.b
	msgLen := mend - mstart
	if !inMsg {
		mstart, mend, msgLen = p, p, 0
	}
	if p+(need-msgLen) <= len(b) && c.w < len(b) {
		return p, mstart, mend
	}
	pend := c.w - p
	if need < msgLen+pend+1 {
		need = msgLen + pend + 1
	}
	dst := b
	var old *rbuf
	if need > len(b) {
		old = c.rb
		c.rb = getBuf(need)
		dst = c.rb.b
	}
	copy(dst, b[mstart:mend])
	copy(dst[msgLen:], b[p:c.w])
	if old != nil {
		putBuf(old)
	}
	c.r, c.w = 0, msgLen+pend
	return msgLen, 0, msgLen
}

// control handles a ping, pong or close frame.
func (c *Conn) control(op byte, payload []byte) error {
	switch op {
	case opPing:
		c.wmu.Lock()
		var err error
		if !c.closing() {
			err = c.writeFrame(opPong, payload)
		}
		c.wmu.Unlock()
		if err != nil {
			c.dropBuf()
			return err
		}
	case opClose:
		code := StatusNoStatusRcvd
		var reason string
		switch {
		case len(payload) == 1:
			_, _, err := c.fail(false, StatusProtocolError, ErrProtocol, "close frame of 1 byte")
			return err
		case len(payload) >= 2:
			code = StatusCode(binary.BigEndian.Uint16(payload))
			if !validCloseCode(code) {
				_, _, err := c.fail(false, StatusProtocolError, ErrProtocol, fmt.Sprintf("invalid close code %d", int(code)))
				return err
			}
			if !utf8.Valid(payload[2:]) {
				_, _, err := c.fail(false, StatusInvalidFramePayloadData, ErrInvalidData, "close reason is not UTF-8")
				return err
			}
			reason = string(payload[2:])
		}
		reply := code
		if reply == StatusNoStatusRcvd {
			reply = StatusNormalClosure
		}
		c.wmu.Lock()
		if c.state.Load() == 0 {
			c.state.Or(stateCloseSent)
			var pl [2]byte
			binary.BigEndian.PutUint16(pl[:], uint16(reply))
			_ = c.writeFrame(opClose, pl[:])
		}
		c.wmu.Unlock()
		// The handshake is complete: the server closes TCP first.
		c.drop()
		c.dropBuf()
		return CloseError{Code: code, Reason: reason}
	}
	return nil
}

// fail fails the connection because of the peer: it sends a close frame
// with code, and every later read returns the error. The socket is
// dropped when the peer answers or after CloseTimeout.
func (c *Conn) fail(deadline bool, code StatusCode, sentinel error, detail string) (MessageType, []byte, error) {
	err := &ProtocolError{Code: code, Err: sentinel, Detail: detail}
	c.rerr = err
	if deadline {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.dropBuf()
	reason := sentinel.Error()
	if detail != "" {
		reason = detail
	}
	_ = c.Close(code, reason)
	return 0, nil, err
}

// readFailed maps a failed socket read: after we dropped the socket it is
// ErrClosed; otherwise the peer is gone and so is the socket.
func (c *Conn) readFailed(err error) error {
	if c.dropped() {
		return ErrClosed
	}
	c.drop()
	return err
}

// Write sends one unfragmented data frame. It is safe to call concurrently
// with other writers and with the reader. A frame the socket cannot take at
// once must be written within WriteTimeout, or the connection is dropped.
func (c *Conn) Write(typ MessageType, data []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("ws: write: unknown message type %d", int(typ))
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing() {
		return ErrClosed
	}
	return c.writeFrame(byte(typ), data)
}

// Ping sends a ping; the pong shows in LastRead.
func (c *Conn) Ping() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing() {
		return ErrClosed
	}
	return c.writeFrame(opPing, nil)
}

// writeFrame writes a frame; c.wmu is held. A frame the socket takes at
// once costs one writev and no timer.
func (c *Conn) writeFrame(op byte, data []byte) error {
	if c.dropped() {
		return ErrClosed
	}
	var hdr [maxServerHdr]byte
	hl := putHeader(&hdr, op, len(data))
	done := 0
	if c.raw != nil {
		n, err := tryWrite(c.raw, &hdr, hl, data)
		if err != nil {
			return c.writeFailed(err)
		}
		if n == hl+len(data) {
			return nil
		}
		done = n
	}
	return c.writeRest(&hdr, hl, data, done)
}

// writeRest writes what the socket did not take at once, under a deadline
// that is cleared afterwards.
func (c *Conn) writeRest(hdr *[maxServerHdr]byte, hl int, data []byte, done int) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.o.WriteTimeout))
	// The header is copied out so that it need not live on the heap on
	// the fast path.
	wb := getBuf(minBuf)
	buf := wb.b[:0]
	if done < hl {
		buf = append(buf, hdr[done:hl]...)
		done = hl
	}
	rest := data[done-hl:]
	if len(buf)+len(rest) <= len(wb.b) {
		// One write: one TLS record for small frames.
		buf = append(buf, rest...)
		rest = nil
	}
	var err error
	if len(buf) > 0 {
		_, err = c.nc.Write(buf)
	}
	if err == nil && len(rest) > 0 {
		_, err = c.nc.Write(rest)
	}
	putBuf(wb)
	if err != nil {
		return c.writeFailed(err)
	}
	_ = c.nc.SetWriteDeadline(time.Time{})
	return nil
}

func (c *Conn) writeFailed(err error) error {
	if c.dropped() {
		return ErrClosed
	}
	c.drop()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrWriteTimeout, err)
	}
	return err
}

// Close starts the closing handshake: it sends a close frame with code and
// reason (cut to fit 125 bytes) unless one was sent, and the socket is
// dropped when the peer's close arrives or after CloseTimeout. It returns
// after at most one write and is idempotent.
func (c *Conn) Close(code StatusCode, reason string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.state.Load() != 0 {
		return nil
	}
	c.state.Or(stateCloseSent)
	var pl []byte
	if validCloseCode(code) {
		pl = make([]byte, 2, maxControlLoad)
		binary.BigEndian.PutUint16(pl, uint16(code))
		pl = append(pl, truncateUTF8(reason, maxControlLoad-2)...)
	}
	if err := c.writeFrame(opClose, pl); err != nil {
		return err
	}
	t := time.AfterFunc(c.o.CloseTimeout, c.drop)
	c.timer.Store(t)
	if c.dropped() {
		t.Stop()
	}
	return nil
}

// CloseNow closes the socket at once. It is the only place the socket is
// closed: the owner calls it when it is done with the connection, after
// taking the socket out of any poller watching it (a closed descriptor's
// number is reused by the next connection at once).
func (c *Conn) CloseNow() error {
	c.drop()
	if c.state.Or(stateClosed)&stateClosed != 0 {
		return nil
	}
	return c.nc.Close()
}

// drop ends the connection without closing the socket: it shuts it down,
// so that a reader parked in Wait, or a poller watching the socket, sees
// it readable (EOF) at once and the owner finds out from ReadMessage. It
// also stops the close timer. Sockets that cannot be shut down (TLS) are
// closed: nothing watches them but a reader, which the close wakes.
func (c *Conn) drop() {
	if c.state.Or(stateDropped)&stateDropped != 0 {
		return
	}
	if s, ok := c.nc.(interface {
		CloseRead() error
		CloseWrite() error
	}); ok && c.raw != nil {
		_ = s.CloseWrite()
		_ = s.CloseRead()
	} else {
		_ = c.nc.Close()
	}
	if t := c.timer.Load(); t != nil {
		t.Stop()
	}
}

func (c *Conn) dropped() bool { return c.state.Load()&stateDropped != 0 }

// closing reports whether our close frame went out.
func (c *Conn) closing() bool { return c.state.Load()&stateCloseSent != 0 }

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
