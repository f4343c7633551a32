package spqr

import (
	"crypto/sha256"
	"encoding/binary"
)

// zeroSalt is the "salt 0" of the SPQR KDF calls: HKDF-SHA256 with 32 zero
// bytes, which RFC 5869 makes equal to an absent salt, written out so that the
// intent is visible.
var zeroSalt = make([]byte, 32)

// The KDF runs on every message (one chain step each way), so HMAC and HKDF
// are computed here with sha256.Sum256 over stack buffers: crypto/hmac and
// crypto/hkdf allocate two digests and an HMAC state per call, which cost
// more than the hashing itself at these sizes. The results are RFC 2104 and
// RFC 5869 exactly; kdf_test.go compares them with crypto/hkdf.

// macStack is the input size (key block included) hashed without a heap
// buffer; longer inputs (ML-KEM ciphertext MACs, once per epoch) take one.
const macStack = 512

// hmacSum returns HMAC-SHA256(key, parts[0] ‖ parts[1] ‖ …).
func hmacSum(key []byte, parts ...[]byte) [32]byte {
	var pad [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		k := sha256.Sum256(key)
		copy(pad[:], k[:])
	} else {
		copy(pad[:], key)
	}
	n := sha256.BlockSize
	for _, p := range parts {
		n += len(p)
	}
	var stack [macStack]byte
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	for _, b := range pad {
		buf = append(buf, b^0x36)
	}
	for _, p := range parts {
		buf = append(buf, p...)
	}
	inner := sha256.Sum256(buf)
	buf = buf[:0]
	for _, b := range pad {
		buf = append(buf, b^0x5c)
	}
	buf = append(buf, inner[:]...)
	return sha256.Sum256(buf)
}

// maxInfo bounds the info of kdf: SPQR's labels plus an 8-byte counter.
const maxInfo = 128

// kdf fills out with HKDF-SHA256(salt, ikm, info[0] ‖ info[1] ‖ …). out is
// at most 96 bytes here (three blocks); info at most maxInfo bytes.
func kdf(out, salt, ikm []byte, info ...[]byte) {
	var infoBuf [maxInfo]byte
	in := infoBuf[:0]
	for _, p := range info {
		in = append(in, p...)
	}
	if len(in) > maxInfo || len(out) > 255*sha256.Size {
		panic("spqr: kdf: unreachable: fixed label and output sizes")
	}
	prk := hmacSum(salt, ikm)
	var t [32]byte
	ctr := [1]byte{0}
	for done := 0; done < len(out); done += sha256.Size {
		ctr[0]++
		if done == 0 {
			t = hmacSum(prk[:], in, ctr[:])
		} else {
			t = hmacSum(prk[:], t[:], in, ctr[:])
		}
		copy(out[done:], t[:])
	}
}

func be32(v uint32) (b [4]byte) {
	binary.BigEndian.PutUint32(b[:], v)
	return b
}

func be64(v uint64) (b [8]byte) {
	binary.BigEndian.PutUint64(b[:], v)
	return b
}
