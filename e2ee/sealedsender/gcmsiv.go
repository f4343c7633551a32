package sealedsender

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// AES-256-GCM-SIV (RFC 8452), the AEAD that sealed sender v2 encrypts the
// shared content with. The standard library has no GCM-SIV, and the only
// use here is one short message per key, so this is the plain RFC
// construction: per-nonce keys, POLYVAL, AES-CTR with a 32-bit
// little-endian counter. POLYVAL is computed bit by bit with masks rather
// than branches, which is slow per byte but constant-time and ample for
// messages of a few kilobytes.

const (
	sivKeyLen   = 32
	sivNonceLen = 12
	sivTagLen   = 16
)

// sivKeys derives the per-nonce authentication and encryption keys.
func sivKeys(key, nonce []byte) (auth [16]byte, enc cipher.Block) {
	kgk, err := aes.NewCipher(key)
	if err != nil {
		panic("sealedsender: GCM-SIV key: " + err.Error()) // callers pass 32 bytes
	}
	var in, out [16]byte
	copy(in[4:], nonce)
	var derived [48]byte
	for i := range uint32(6) {
		binary.LittleEndian.PutUint32(in[:4], i)
		kgk.Encrypt(out[:], in[:])
		copy(derived[8*i:], out[:8])
	}
	copy(auth[:], derived[:16])
	enc, err = aes.NewCipher(derived[16:48])
	if err != nil {
		panic("sealedsender: GCM-SIV key: " + err.Error())
	}
	return auth, enc
}

// polyval accumulates POLYVAL over 16-byte blocks. Field elements are the
// blocks read as little-endian 128-bit integers (lo, hi).
type polyval struct {
	hLo, hHi uint64
	sLo, sHi uint64
}

func newPolyval(h [16]byte) *polyval {
	return &polyval{hLo: binary.LittleEndian.Uint64(h[:8]), hHi: binary.LittleEndian.Uint64(h[8:])}
}

// block folds in one block: S = (S xor X) · H · x^-128 mod
// x^128 + x^127 + x^126 + x^121 + 1.
func (p *polyval) block(x []byte) {
	aLo := p.sLo ^ binary.LittleEndian.Uint64(x[:8])
	aHi := p.sHi ^ binary.LittleEndian.Uint64(x[8:16])
	var accLo, accHi uint64
	// Sum the bits of H from the lowest, multiplying the accumulator by
	// x^-1 after each: bit i ends up weighted x^(i-128).
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = (p.hLo >> i) & 1
		} else {
			bit = (p.hHi >> (i - 64)) & 1
		}
		m := -bit
		accLo ^= aLo & m
		accHi ^= aHi & m
		// Times x^-1: shift right, adding the polynomial when bit 0 is set
		// (its x^0 term cancels that bit; the rest is x^127+x^126+x^125+x^120).
		carry := -(accLo & 1)
		accLo = accLo>>1 | accHi<<63
		accHi = accHi>>1 ^ (0xE1<<56)&carry
	}
	p.sLo, p.sHi = accLo, accHi
}

func (p *polyval) padded(b []byte) {
	for len(b) >= 16 {
		p.block(b[:16])
		b = b[16:]
	}
	if len(b) > 0 {
		var last [16]byte
		copy(last[:], b)
		p.block(last[:])
	}
}

// sivTag computes the tag over ad and plaintext.
func sivTag(auth [16]byte, enc cipher.Block, nonce, ad, pt []byte) [16]byte {
	p := newPolyval(auth)
	p.padded(ad)
	p.padded(pt)
	var lengths [16]byte
	binary.LittleEndian.PutUint64(lengths[:8], uint64(len(ad))*8)
	binary.LittleEndian.PutUint64(lengths[8:], uint64(len(pt))*8)
	p.block(lengths[:])
	var s [16]byte
	binary.LittleEndian.PutUint64(s[:8], p.sLo)
	binary.LittleEndian.PutUint64(s[8:], p.sHi)
	for i := range sivNonceLen {
		s[i] ^= nonce[i]
	}
	s[15] &= 0x7f
	var tag [16]byte
	enc.Encrypt(tag[:], s[:])
	return tag
}

// sivCTR XORs in with the keystream that starts at the tag (top bit set)
// and counts in its first 32 bits, little-endian, wrapping.
func sivCTR(enc cipher.Block, tag [16]byte, in []byte) []byte {
	out := make([]byte, len(in))
	ctr := tag
	ctr[15] |= 0x80
	n := binary.LittleEndian.Uint32(ctr[:4])
	var ks [16]byte
	for off := 0; off < len(in); off += 16 {
		binary.LittleEndian.PutUint32(ctr[:4], n)
		enc.Encrypt(ks[:], ctr[:])
		subtle.XORBytes(out[off:], in[off:], ks[:])
		n++
	}
	return out
}

// sivSeal returns ciphertext ‖ tag.
func sivSeal(key, nonce, ad, pt []byte) []byte {
	auth, enc := sivKeys(key, nonce)
	tag := sivTag(auth, enc, nonce, ad, pt)
	return append(sivCTR(enc, tag, pt), tag[:]...)
}

// sivOpen authenticates and decrypts ciphertext ‖ tag.
func sivOpen(key, nonce, ad, ct []byte) ([]byte, bool) {
	if len(ct) < sivTagLen {
		return nil, false
	}
	body := ct[:len(ct)-sivTagLen]
	var tag [16]byte
	copy(tag[:], ct[len(ct)-sivTagLen:])
	auth, enc := sivKeys(key, nonce)
	pt := sivCTR(enc, tag, body)
	want := sivTag(auth, enc, nonce, ad, pt)
	if subtle.ConstantTimeCompare(want[:], tag[:]) != 1 {
		return nil, false
	}
	return pt, true
}
