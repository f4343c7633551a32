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

// DH is one X25519 agreement for AgreeAll.
type DH struct {
	Private PrivateKey
	Public  PublicKey
}

// AgreeAll computes shared[i] = pairs[i].Private.Agree(pairs[i].Public) for
// every i, with the same results and checks as Agree, but cheaper: the
// ladders' final field inversions are shared (Montgomery's trick: one
// inversion and three multiplications per pair instead of an inversion
// each), which saves about a tenth of every agreement after the first. If
// any result is all zero it returns ErrInvalidKey and the index of the
// first such pair; the other results are still written. shared must be as
// long as pairs, and pairs at most eight (maxAgreeAll) long; anything else is a
// programming error and panics.
func AgreeAll(shared [][32]byte, pairs []DH) (failed int, err error) {
	n := len(pairs)
	if len(shared) != n || n > maxAgreeAll {
		panic("curve: AgreeAll: bad lengths")
	}
	var xs, zs, prefix [maxAgreeAll]field.Element
	var acc field.Element
	acc.One()
	for i := range pairs {
		e := [32]byte(pairs[i].Private)
		clamp(&e) // a PrivateKey built by conversion may not be clamped
		ladder(&xs[i], &zs[i], &e, &pairs[i].Public)
		clear(e[:])
		// A low-order peer key leaves Z = 0, which would zero every
		// inverse in the batch. Invert 1 in its place and force X to 0:
		// the result is then 0, as x25519's X·Invert(0) gives. Constant
		// time, like the rest: whether a key is low order is public, but
		// nothing here needs to branch on it.
		isZero := zs[i].Equal(feZero)
		zs[i].Select(feOne, &zs[i], isZero)
		xs[i].Select(feZero, &xs[i], isZero)
		prefix[i].Set(&acc) // Z_0 ⋯ Z_{i−1}
		acc.Multiply(&acc, &zs[i])
	}
	acc.Invert(&acc)
	failed = -1
	var zero [32]byte
	for i := n - 1; i >= 0; i-- {
		var inv field.Element
		inv.Multiply(&acc, &prefix[i]) // 1/Z_i
		acc.Multiply(&acc, &zs[i])     // 1/(Z_0 ⋯ Z_{i−1})
		copy(shared[i][:], inv.Multiply(&xs[i], &inv).Bytes())
		if subtle.ConstantTimeCompare(shared[i][:], zero[:]) == 1 {
			failed = i
		}
	}
	clear(xs[:])
	if failed >= 0 {
		return failed, ErrInvalidKey
	}
	return -1, nil
}

// maxAgreeAll bounds AgreeAll's batch so that its scratch space stays on
// the stack; PQXDH needs at most five.
const maxAgreeAll = 8

var feZero = new(field.Element).Zero()

// x25519 is X25519(scalar, point) as RFC 7748 §5 defines it: the scalar is
// clamped again (a PrivateKey built by conversion rather than
// ParsePrivateKey may not be), then the ladder, then X/Z (0 for the point
// at infinity, as Invert(0) = 0).
func x25519(scalar *PrivateKey, point *PublicKey) [32]byte {
	e := [32]byte(*scalar)
	clamp(&e)
	var x, z field.Element
	ladder(&x, &z, &e, point)
	clear(e[:])
	z.Invert(&z)
	x.Multiply(&x, &z)
	var out [32]byte
	copy(out[:], x.Bytes())
	return out
}

// ladder is the RFC 7748 §5 Montgomery ladder over bits 254…0 of the
// scalar, used as given (x25519 clamps it first; IsCanonical does not). It
// returns [scalar](u) in projective form (X:Z), Z = 0 for the point at
// infinity. The top bit of u is ignored, as the RFC requires. Constant time.
func ladder(x, z *field.Element, e *[32]byte, point *PublicKey) {
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
	x.Set(&x2)
	z.Set(&z2)
}
