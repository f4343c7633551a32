package curve

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// PublicKey derives the X25519 public key. It goes through the Edwards
// fixed-base table rather than a Montgomery ladder because that is several
// times faster and gives the same u-coordinate: the Edwards base point maps
// to u = 9, and reducing the clamped scalar mod ℓ does not change [k]B.
func (k PrivateKey) PublicKey() PublicKey {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(k[:])
	if err != nil {
		panic("curve: unreachable: 32-byte scalar rejected") // length is fixed by the type
	}
	var out PublicKey
	copy(out[:], new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
	return out
}

// Agree computes X25519(k, pub) per RFC 7748. It fails with ErrInvalidKey
// when the result is all zero, i.e. when pub is a low-order point, so that a
// peer cannot force a known shared secret.
//
// The ladder is written here rather than taken from crypto/ecdh because
// ecdh.NewPrivateKey always derives the public key too, which would double
// the cost of every agreement; the tests check it against crypto/ecdh.
func (k PrivateKey) Agree(pub PublicKey) ([32]byte, error) {
	out := x25519(&k, &pub)
	var zero [32]byte
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return zero, ErrInvalidKey
	}
	return out, nil
}

// x25519 is the RFC 7748 §5 Montgomery ladder. The scalar is clamped again
// (a PrivateKey built by conversion rather than ParsePrivateKey may not be)
// and the top bit of u is ignored, as the RFC requires. Constant time.
func x25519(scalar *PrivateKey, point *PublicKey) [32]byte {
	e := [32]byte(*scalar)
	clamp(&e)

	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	if _, err := x1.SetBytes(point[:]); err != nil {
		panic("curve: unreachable: 32-byte field element rejected")
	}
	x2.One()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3) // D
		tmp1.Subtract(&x2, &z2) // B
		x2.Add(&x2, &z2)        // A
		z2.Add(&x3, &z3)        // C
		z3.Multiply(&tmp0, &x2) // DA
		z2.Multiply(&z2, &tmp1) // CB
		tmp0.Square(&tmp1)      // BB
		tmp1.Square(&x2)        // AA
		x3.Add(&z3, &z2)        // DA + CB
		z2.Subtract(&z3, &z2)   // DA − CB
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0) // E = AA − BB
		z2.Square(&z2)
		z3.Mult32(&tmp1, 121666) // a24' = (A+2)/4, so z2 = E·(BB + a24'·E)
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	var out [32]byte
	copy(out[:], x2.Bytes())
	return out
}
