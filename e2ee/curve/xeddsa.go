package curve

import (
	"crypto/sha512"
	"crypto/subtle"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// XEdDSA as libsignal implements it. The XEdDSA paper forces the Edwards
// public key A to have sign bit 0 (negating the private scalar when needed);
// libsignal instead keeps A = aB as is and carries A's sign bit in the
// otherwise unused top bit of s (sig[63]). A verifier that follows the paper
// would reject about half of libsignal's signatures, so we follow libsignal.

// nonceDomain is the XEdDSA hash_1 prefix: 0xFE followed by 31 bytes of 0xFF.
var nonceDomain = [32]byte{
	0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

// Sign produces an XEdDSA signature R ‖ s over msg, with the sign bit of the
// Edwards public key in the top bit of sig[63]. It reads 64 bytes of nonce
// randomness Z from rand (crypto/rand.Reader if nil); a read error is
// returned unchanged.
func (k PrivateKey) Sign(rand io.Reader, msg []byte) ([64]byte, error) {
	var sig [64]byte
	var z [64]byte
	if _, err := io.ReadFull(randOrDefault(rand), z[:]); err != nil {
		return sig, err
	}

	a, err := edwards25519.NewScalar().SetBytesWithClamping(k[:])
	if err != nil {
		panic("curve: unreachable: 32-byte scalar rejected")
	}

	// r = SHA-512(0xFE ‖ 0xFF×31 ‖ k ‖ M ‖ Z) mod ℓ. The raw clamped key bytes
	// are hashed, not a mod ℓ, which is why PrivateKey stays clamped.
	h := sha512.New()
	h.Write(nonceDomain[:])
	h.Write(k[:])
	h.Write(msg)
	h.Write(z[:])
	var digest [64]byte
	r, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic("curve: unreachable: 64-byte digest rejected")
	}

	// A = aB and R = rB, encoded with one shared field inversion instead of
	// the two that Point.Bytes would spend.
	var aBytes [32]byte
	encodeTwo(&aBytes, (*[32]byte)(sig[:32]),
		new(edwards25519.Point).ScalarBaseMult(a),
		new(edwards25519.Point).ScalarBaseMult(r))

	// hash = SHA-512(R ‖ A ‖ M) mod ℓ; s = r + hash·a mod ℓ.
	h.Reset()
	h.Write(sig[:32])
	h.Write(aBytes[:])
	h.Write(msg)
	hs, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic("curve: unreachable: 64-byte digest rejected")
	}
	copy(sig[32:], edwards25519.NewScalar().MultiplyAdd(hs, a, r).Bytes())

	// s < ℓ < 2^253, so the top bit is free to carry A's sign.
	sig[63] = sig[63]&0x7F | aBytes[31]&0x80
	return sig, nil
}

// Verify reports whether sig is a valid XEdDSA signature of msg under k,
// following libsignal's sign-bit convention. It never panics; any malformed
// input (wrong length, u ≥ p, u on the twist, s out of range) is simply
// reported as false.
//
// Two checks are deliberately stricter than libsignal 0.90.0 (observed, see
// testdata/libsignal_vectors.json): u must be reduced, where libsignal
// ignores bit 255 and reduces mod p; and s must be canonical, s < ℓ, where
// libsignal only requires s < 2^253 and reduces. Honest signers and honest
// keys never produce either, so this costs no interoperability and removes
// signature and key malleability.
func (k PublicKey) Verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	A, aBytes, ok := k.edwards(int(sig[63] >> 7))
	if !ok {
		return false
	}

	var s [32]byte
	copy(s[:], sig[32:])
	s[31] &= 0x7F
	if s[31]&0xE0 != 0 {
		return false
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(s[:])
	if err != nil {
		return false
	}

	h := sha512.New()
	h.Write(sig[:32])
	h.Write(aBytes[:])
	h.Write(msg)
	var digest [64]byte
	hs, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}

	// R' = [s]B − [h]A, compared by encoding, so a non-canonical R fails.
	minusA := new(edwards25519.Point).Negate(A)
	check := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(hs, minusA, S)
	return subtle.ConstantTimeCompare(check.Bytes(), sig[:32]) == 1
}

// encodeTwo writes the standard encodings of P and Q (y with the sign of x
// in the top bit) using Montgomery's trick: 1/Z_P and 1/Z_Q from a single
// inversion of Z_P·Z_Q. Z is never zero for a valid point.
func encodeTwo(pOut, qOut *[32]byte, P, Q *edwards25519.Point) {
	xp, yp, zp, _ := P.ExtendedCoordinates()
	xq, yq, zq, _ := Q.ExtendedCoordinates()
	var inv, izp, izq field.Element
	inv.Invert(inv.Multiply(zp, zq))
	izp.Multiply(&inv, zq)
	izq.Multiply(&inv, zp)
	encodeAffine(pOut, xp, yp, &izp)
	encodeAffine(qOut, xq, yq, &izq)
}

func encodeAffine(out *[32]byte, X, Y, invZ *field.Element) {
	var x, y field.Element
	x.Multiply(X, invZ)
	y.Multiply(Y, invZ)
	copy(out[:], y.Bytes())
	out[31] |= byte(x.IsNegative()) << 7
}

var (
	feOne      = new(field.Element).One()
	feMinusOne = new(field.Element).Negate(feOne)
	feA        = new(field.Element).Mult32(feOne, 486662) // Curve25519's A

	// feSqrtMinusAPlus2 is a square root of −(A+2) = −486664, the factor
	// of the birational map x = √−486664 · u/v. Which root does not
	// matter: edwards picks the sign of x afterwards.
	feSqrtMinusAPlus2 = func() *field.Element {
		var c field.Element
		c.Negate(new(field.Element).Mult32(feOne, 486664))
		r, wasSquare := new(field.Element).SqrtRatio(&c, feOne)
		if wasSquare != 1 {
			panic("curve: unreachable: −486664 is a square mod p")
		}
		return r
	}()
)

// edwards maps the Montgomery u-coordinate to the Edwards point with
// y = (u−1)/(u+1) and the given sign of x, and also returns the point's
// canonical encoding. It rejects u ≥ p, u = −1 (where the map is undefined)
// and u on the twist (no Edwards point).
//
// It spends one exponentiation where decoding y would spend two (an
// inversion for y, a square root for x): with w = u(u² + Au + 1) = v²,
// r = 1/√(w(u+1)²) = ±1/(v(u+1)) gives both 1/(u+1) = r²·w·(u+1) and
// x = √−486664 · u/v = ±√−486664 · u·r·(u+1), and its existence is exactly
// "u is on the curve". u = 0, the point (0, −1), has w = 0 and is the one
// case handled apart.
func (k PublicKey) edwards(sign int) (*edwards25519.Point, [32]byte, bool) {
	var enc [32]byte
	if !k.reduced() {
		return nil, enc, false
	}
	var u field.Element
	if _, err := u.SetBytes(k[:]); err != nil {
		return nil, enc, false
	}
	if u.Equal(feMinusOne) == 1 {
		return nil, enc, false
	}
	var x, y field.Element
	if u.Equal(feZero) == 1 {
		y.Set(feMinusOne) // x = 0
	} else {
		var w, up1, d, r, t field.Element
		w.Square(&u)
		w.Add(&w, t.Multiply(feA, &u))
		w.Add(&w, feOne)
		w.Multiply(&w, &u) // u³ + Au² + u
		up1.Add(&u, feOne)
		d.Square(&up1)
		d.Multiply(&d, &w)
		if _, isSquare := r.SqrtRatio(feOne, &d); isSquare != 1 {
			return nil, enc, false // the twist
		}
		t.Square(&r)
		t.Multiply(&t, &w)
		t.Multiply(&t, &up1) // 1/(u+1)
		y.Subtract(&u, feOne)
		y.Multiply(&y, &t)
		x.Multiply(&r, &up1)
		x.Multiply(&x, &u)
		x.Multiply(&x, feSqrtMinusAPlus2)
		// x ≠ 0 here, so the requested sign is always attainable.
		var negX field.Element
		x.Select(negX.Negate(&x), &x, x.IsNegative()^sign)
	}
	var xy field.Element
	P, err := new(edwards25519.Point).SetExtendedCoordinates(&x, &y, feOne, xy.Multiply(&x, &y))
	if err != nil {
		return nil, enc, false // unreachable: the map stays on the curve
	}
	copy(enc[:], y.Bytes())
	enc[31] |= byte(x.IsNegative()) << 7
	return P, enc, true
}
