//go:build unix && !linux

package ws

import "syscall"

// tryWrite has no fast path here: every frame goes through the deadline
// path.
func tryWrite(syscall.RawConn, *[maxServerHdr]byte, int, []byte) (int, error) {
	return 0, nil
}
