package curve

import "filippo.io/edwards25519"

// reduced reports whether u < p = 2^255 − 19 as a 256-bit little-endian
// integer. p is 0xED, 30×0xFF, 0x7F little-endian, so only keys whose top 31
// bytes are all maximal need the low-byte comparison. Variable time is fine:
// public keys are public.
func (k PublicKey) reduced() bool {
	if k[31] > 0x7F {
		return false
	}
	if k[31] < 0x7F {
		return true
	}
	for i := 30; i >= 1; i-- {
		if k[i] != 0xFF {
			return true
		}
	}
	return k[0] < 0xED
}

// lMinusOne is the scalar ℓ−1 (ℓ the prime group order), i.e. −1 mod ℓ.
var lMinusOne = func() *edwards25519.Scalar {
	one := [32]byte{1}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(one[:])
	if err != nil {
		panic("curve: unreachable: scalar 1 rejected")
	}
	return s.Negate(s)
}()

// IsCanonical reports whether k is a canonical base key the way libsignal's
// PQXDH responder demands: the encoding is reduced (u < p) and the point lies
// on the curve (not the twist) in the prime-order subgroup, i.e. it has no
// small-order ("torsion") component. Honest X25519 keys are [8c]B and always
// pass; libsignal refuses the others so that a peer cannot steer the
// agreement into a small subgroup or use several encodings of one key.
//
// The sign of x is irrelevant to torsion, so the positive root is used, as
// libsignal does.
func (k PublicKey) IsCanonical() bool {
	P, _, ok := k.edwards(0)
	if !ok {
		return false
	}
	// [ℓ]P = O  ⇔  [ℓ−1]P = −P. The scalar type holds ℓ−1 as an honest
	// integer, so this multiplies by ℓ−1, not by its residue −1. Variable
	// time is fine for a public key; [0]B costs next to nothing.
	Q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(lMinusOne, P, edwards25519.NewScalar())
	return Q.Add(Q, P).Equal(edwards25519.NewIdentityPoint()) == 1
}
