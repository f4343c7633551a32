//go:build unix

package ws

import (
	"io"
	"syscall"
)

// pollable: sockets can be waited on through the runtime poller.
const pollable = true

// waitRaw parks in the runtime poller until the socket is readable. The
// check runs first because the poller forgets readiness that came before
// RawConn.Read; a 1-byte MSG_PEEK into a stack array consumes nothing.
func (c *Conn) waitRaw() error {
	err := c.raw.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return false
			case err != nil:
				c.wres = -int32(err.(syscall.Errno))
			case n > 0:
				c.wres = 1
			default:
				c.wres = 0
			}
			return true
		}
	})
	if err != nil {
		return c.readFailed(err)
	}
	switch {
	case c.wres > 0:
		return nil
	case c.wres == 0:
		return c.readFailed(io.EOF)
	default:
		return c.readFailed(syscall.Errno(-c.wres))
	}
}
