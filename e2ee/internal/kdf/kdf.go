// Package kdf is HMAC-SHA256 and HKDF-SHA256 (RFC 2104, RFC 5869) for the
// per-message key schedules of e2ee/session and e2ee/spqr.
//
// Every message runs a dozen HMAC computations (chain steps, message seeds,
// message keys, the MAC, SPQR's chain). crypto/hmac and crypto/hkdf
// allocate two digests and an HMAC state per call, which costs more than the
// hashing at these sizes, so these functions hash with sha256.Sum256 over a
// stack buffer instead. The results are the RFCs' exactly; kdf_test.go
// compares them with the standard library at every size that matters,
// including the heap fallback for long inputs.
package kdf

import "crypto/sha256"

// stackSize is the input (key block included) hashed without a heap buffer:
// a SignalMessage with a payload of a few hundred bytes. Longer inputs (large
// messages, SPQR's ML-KEM ciphertext MAC once per epoch) take one allocation.
const stackSize = 1024

// HMAC returns HMAC-SHA256(key, parts[0] ‖ parts[1] ‖ …).
func HMAC(key []byte, parts ...[]byte) [32]byte {
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
	var stack [stackSize]byte
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

// infoStack is the info length HKDF joins without a heap buffer: every
// label of the protocols plus a counter or two.
const infoStack = 128

// HKDF fills out (at most 255·32 bytes) with HKDF-SHA256(salt, ikm,
// info[0] ‖ info[1] ‖ …). A nil salt is RFC 5869's absent salt (32 zero
// bytes give the same result).
func HKDF(out, salt, ikm []byte, info ...[]byte) {
	if len(out) > 255*sha256.Size {
		panic("kdf: HKDF output longer than 255 blocks")
	}
	var infoBuf [infoStack]byte
	in := infoBuf[:0]
	for _, p := range info {
		in = append(in, p...)
	}
	prk := HMAC(salt, ikm)
	var t [32]byte
	ctr := [1]byte{0}
	for done := 0; done < len(out); done += sha256.Size {
		ctr[0]++
		if done == 0 {
			t = HMAC(prk[:], in, ctr[:])
		} else {
			t = HMAC(prk[:], t[:], in, ctr[:])
		}
		copy(out[done:], t[:])
	}
}
