package ws

import (
	"sync"
	"syscall"
	"unsafe"
)

// writeOp carries one writev through RawConn.Write. Ops are pooled and
// their function is bound once, so a write allocates nothing.
type writeOp struct {
	hdr [maxServerHdr]byte
	iov [2]syscall.Iovec
	cnt int
	n   int
	err error
	fn  func(fd uintptr) bool
}

var writeOps = sync.Pool{New: func() any {
	op := new(writeOp)
	op.fn = op.do
	return op
}}

// do makes one non-blocking writev attempt; the socket is non-blocking,
// and returning true keeps RawConn.Write from waiting for writability.
func (op *writeOp) do(fd uintptr) bool {
	for {
		n, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&op.iov[0])), uintptr(op.cnt))
		switch e {
		case 0:
			op.n = int(n)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
		default:
			op.err = e
		}
		return true
	}
}

// tryWrite writes as much of header and payload as the socket takes at
// once and reports how much that was.
func tryWrite(raw syscall.RawConn, hdr *[maxServerHdr]byte, hl int, data []byte) (int, error) {
	op := writeOps.Get().(*writeOp)
	op.hdr = *hdr
	op.iov[0].Base = &op.hdr[0]
	op.iov[0].SetLen(hl)
	op.cnt = 1
	if len(data) > 0 {
		op.iov[1].Base = &data[0]
		op.iov[1].SetLen(len(data))
		op.cnt = 2
	}
	err := raw.Write(op.fn)
	n := op.n
	if err == nil {
		err = op.err
	}
	*op = writeOp{fn: op.fn}
	writeOps.Put(op)
	return n, err
}
