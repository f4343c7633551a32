package spqr

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// zeroSalt is the "salt 0" of the SPQR KDF calls: HKDF-SHA256 with 32 zero
// bytes, which RFC 5869 makes equal to an absent salt, written out so that the
// intent is visible.
var zeroSalt = make([]byte, 32)

// kdf is HKDF-SHA256. The lengths used here are far below HKDF's limit, so
// the error cannot happen.
func kdf(salt, ikm []byte, info string, n int) []byte {
	out, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		panic("spqr: hkdf: " + err.Error()) // unreachable: n <= 96
	}
	return out
}

func be32(v uint32) string { return string(binary.BigEndian.AppendUint32(nil, v)) }
func be64(v uint64) string { return string(binary.BigEndian.AppendUint64(nil, v)) }
