package ws

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

const (
	maxHeader      = 14  // 2 + 8 length + 4 mask key
	maxServerHdr   = 10  // server frames carry no mask key
	maxControlLoad = 125 // control frame payload limit
)

// putHeader writes the header of an unfragmented, unmasked frame into b
// and returns its length.
func putHeader(b *[maxServerHdr]byte, op byte, n int) int {
	b[0] = 0x80 | op
	switch {
	case n <= 125:
		b[1] = byte(n)
		return 2
	case n <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return 4
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
		return 10
	}
}

// unmask XORs b with the 4-byte key, starting at key offset 0.
func unmask(b []byte, key [4]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k := uint64(k32)<<32 | uint64(k32)
	for len(b) >= 32 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// Read buffers come in power-of-two size classes from minBuf to maxPooled;
// larger ones are allocated and left to the collector.
const (
	minBufShift = 12 // 4 KiB
	minBuf      = 1 << minBufShift
	numClasses  = 9 // 4 KiB .. 1 MiB
	maxPooled   = minBuf << (numClasses - 1)
)

// rbuf boxes a read buffer so the pools hold pointers, not slice headers.
type rbuf struct{ b []byte }

var bufPools [numClasses]sync.Pool

// bufClass returns the class of a buffer of at least n bytes, or -1 when n
// is above the largest class.
func bufClass(n int) int {
	if n <= minBuf {
		return 0
	}
	if n > maxPooled {
		return -1
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// getBuf returns a buffer of at least n bytes.
func getBuf(n int) *rbuf {
	cl := bufClass(n)
	if cl < 0 {
		// Round up so that a growing message does not reallocate for every
		// fragment.
		return &rbuf{b: make([]byte, (n+maxPooled-1)&^(maxPooled-1))}
	}
	if v := bufPools[cl].Get(); v != nil {
		return v.(*rbuf)
	}
	return &rbuf{b: make([]byte, minBuf<<cl)}
}

// putBuf returns a buffer to its pool.
func putBuf(rb *rbuf) {
	n := len(rb.b)
	cl := bufClass(n)
	if cl < 0 || minBuf<<cl != n {
		return
	}
	bufPools[cl].Put(rb)
}
