package spqr

import "encoding/binary"

// zeroSalt is the "salt 0" of the SPQR KDF calls: HKDF-SHA256 with 32 zero
// bytes, which RFC 5869 makes equal to an absent salt, written out so that the
// intent is visible.
var zeroSalt = make([]byte, 32)

func be32(v uint32) (b [4]byte) {
	binary.BigEndian.PutUint32(b[:], v)
	return b
}

func be64(v uint64) (b [8]byte) {
	binary.BigEndian.PutUint64(b[:], v)
	return b
}
