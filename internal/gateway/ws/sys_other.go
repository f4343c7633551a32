//go:build !unix

package ws

import "syscall"

// pollable: elsewhere Wait reads a byte instead of polling.
const pollable = false

func (c *Conn) waitRaw() error { panic("ws: no poller access") }

func tryWrite(syscall.RawConn, *[maxServerHdr]byte, int, []byte) (int, error) {
	return 0, nil
}

func tryRead(syscall.RawConn, []byte) (int, error) { return 0, errAgain }
