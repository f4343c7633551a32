//go:build unix

package ws

import (
	"io"
	"sync"
	"syscall"
	"time"
)

// pollable: sockets can be waited on through the runtime poller.
const pollable = true

// waitRaw parks in the runtime poller until the socket is readable. The
// check runs before the first park because the poller forgets readiness
// that came before RawConn.Read. The check is a non-blocking read into a
// pooled buffer that is given back at once if nothing came, so a parked
// waiter holds no buffer and a wake-up costs one syscall, not a peek and a
// read.
func (c *Conn) waitRaw() error {
	err := c.raw.Read(func(fd uintptr) bool {
		if c.rb == nil {
			c.rb = getBuf(minBuf)
		}
		c.r, c.w = 0, 0 // Wait reads only when nothing is buffered
		for {
			n, err := syscall.Read(int(fd), c.rb.b)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				putBuf(c.rb)
				c.rb = nil
				return false
			case err != nil:
				c.wres = -int32(err.(syscall.Errno))
			case n > 0:
				c.w = n
				c.wres = 1
			default:
				c.wres = 0
			}
			return true
		}
	})
	if err != nil {
		c.dropBuf()
		return c.readFailed(err)
	}
	switch {
	case c.wres > 0:
		c.lastRead.Store(time.Now().UnixNano())
		return nil
	case c.wres == 0:
		c.dropBuf()
		return c.readFailed(io.EOF)
	default:
		c.dropBuf()
		return c.readFailed(syscall.Errno(-c.wres))
	}
}

// readOp carries one non-blocking read through RawConn.Read. Ops are
// pooled and their function is bound once, so a read allocates nothing.
type readOp struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var readOps = sync.Pool{New: func() any {
	op := new(readOp)
	op.fn = op.do
	return op
}}

func (op *readOp) do(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), op.buf)
		if err == syscall.EINTR {
			continue
		}
		switch {
		case err != nil:
			op.err = err
		case n == 0:
			op.err = io.EOF
		default:
			op.n = n
		}
		return true
	}
}

// tryRead reads what the socket holds without waiting; errAgain means
// nothing.
func tryRead(raw syscall.RawConn, b []byte) (int, error) {
	op := readOps.Get().(*readOp)
	op.buf = b
	err := raw.Read(op.fn)
	n := op.n
	if err == nil {
		err = op.err
	}
	*op = readOp{fn: op.fn}
	readOps.Put(op)
	if err == syscall.EAGAIN {
		err = errAgain
	}
	return n, err
}
