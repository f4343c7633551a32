package curve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/big"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// edgeLimbs returns 32-byte values with some 64-bit limbs set to extreme
// values (zero, all ones, around p and 2^255), where carries and reductions
// are most likely to go wrong.
func edgeLimbs(r interface{ Read([]byte) (int, error) }, n int) [][32]byte {
	specials := []uint64{0, 1, 19, 38, 1<<63 - 1, 1 << 63, 1<<64 - 1, 1<<64 - 19, 1<<64 - 38, 0xFFFFFFFFFFFFFFED}
	var out [][32]byte
	for i := range n {
		var b [32]byte
		r.Read(b[:])
		for l := range 4 {
			if (i>>l)&1 == 1 {
				var s [1]byte
				r.Read(s[:])
				binary.LittleEndian.PutUint64(b[8*l:], specials[int(s[0])%len(specials)])
			}
		}
		out = append(out, b)
	}
	return out
}

// AgreeAll gives exactly what Agree gives pair by pair, whatever the batch
// size and wherever low-order keys sit in it, and names the first failure.
// Some private keys are left unclamped, as a PrivateKey made by conversion
// may be: both must clamp.
func TestAgreeAll(t *testing.T) {
	r := detRand(24)
	for n := 0; n <= maxAgreeAll; n++ {
		for trial := range 20 {
			pairs := make([]DH, n)
			wantFailed := -1
			for i := range pairs {
				kp, _ := GenerateKeyPair(r)
				peer, _ := GenerateKeyPair(r)
				pairs[i] = DH{kp.Private, peer.Public}
				if trial%4 == 3 {
					r.Read(pairs[i].Private[:])
				}
				if trial%3 == 1 && i%2 == 1 || trial%3 == 2 && i == n-1 {
					var s [1]byte
					r.Read(s[:])
					pairs[i].Public = PublicKey(unhex32(t, lowOrderU[int(s[0])%len(lowOrderU)]))
					if wantFailed < 0 {
						wantFailed = i
					}
				}
			}
			shared := make([][32]byte, n)
			failed, err := AgreeAll(shared, pairs)
			if failed != wantFailed || (err != nil) != (wantFailed >= 0) || err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("n=%d trial %d: failed=%d err=%v, want failed=%d", n, trial, failed, err, wantFailed)
			}
			for i, p := range pairs {
				want, _ := p.Private.Agree(p.Public)
				if shared[i] != want {
					t.Fatalf("n=%d trial %d pair %d: %x, Agree gives %x", n, trial, i, shared[i], want)
				}
			}
		}
	}
}

// Wrong lengths are a programming error: they panic rather than compute a
// partial batch.
func TestAgreeAllBadLengths(t *testing.T) {
	for _, tc := range []struct{ shared, pairs int }{{1, 2}, {2, 1}, {maxAgreeAll + 1, maxAgreeAll + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("shared %d, pairs %d: no panic", tc.shared, tc.pairs)
				}
			}()
			AgreeAll(make([][32]byte, tc.shared), make([]DH, tc.pairs))
		}()
	}
}

// edwardsReference is the map edwards had before it was reduced to one
// exponentiation: y by an inversion, then Point.SetBytes to find x.
func edwardsReference(k PublicKey, sign int) (*edwards25519.Point, bool) {
	if !k.reduced() {
		return nil, false
	}
	var u, num, den, y field.Element
	u.SetBytes(k[:])
	if u.Equal(feMinusOne) == 1 {
		return nil, false
	}
	num.Subtract(&u, feOne)
	den.Add(&u, feOne)
	y.Multiply(&num, den.Invert(&den))
	enc := [32]byte(y.Bytes())
	enc[31] |= byte(sign) << 7
	P, err := new(edwards25519.Point).SetBytes(enc[:])
	return P, err == nil
}

// edwards agrees with edwardsReference (same verdict, same point, same
// encoding) on honest keys, random u (half of them on the twist), the
// small-order points, low-order encodings and the edge values, and its
// point satisfies the birational map checked in math/big:
// y·(u+1) = u−1 and x²·(u³+Au²+u) = −(A+2)·u² mod p.
func TestEdwardsMatchesReference(t *testing.T) {
	r := detRand(25)
	keys := []PublicKey{{}, {1}, {2}, {9}}
	for _, s := range []string{"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"} {
		keys = append(keys, PublicKey(unhex32(t, s)))
	}
	for _, u := range lowOrderU {
		keys = append(keys, PublicKey(unhex32(t, u)))
	}
	for _, T := range eightTorsion(t) {
		keys = append(keys, PublicKey(T.BytesMontgomery()))
	}
	for _, b := range edgeLimbs(r, 600) {
		b[31] &= 0x7F
		keys = append(keys, PublicKey(b))
		kp, _ := GenerateKeyPair(r)
		keys = append(keys, kp.Public)
	}
	var seen [2]int
	for _, k := range keys {
		for sign := range 2 {
			P, enc, ok := k.edwards(sign)
			Q, wantOK := edwardsReference(k, sign)
			if ok != wantOK {
				t.Fatalf("edwards(%x, %d) ok = %v, reference %v", k, sign, ok, wantOK)
			}
			if !ok {
				seen[0]++
				continue
			}
			seen[1]++
			if P.Equal(Q) != 1 || !bytes.Equal(enc[:], Q.Bytes()) {
				t.Fatalf("edwards(%x, %d) = %x, reference %x", k, sign, enc, Q.Bytes())
			}
			checkBirational(t, k, P)
		}
	}
	if seen[0] < 100 || seen[1] < 100 {
		t.Fatalf("degenerate sample %v", seen)
	}
}

func checkBirational(t *testing.T, k PublicKey, P *edwards25519.Point) {
	t.Helper()
	fromLE := func(b []byte) *big.Int {
		be := make([]byte, len(b))
		for i := range b {
			be[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(be)
	}
	X, Y, Z, _ := P.ExtendedCoordinates()
	var zi, xa, ya field.Element
	zi.Invert(Z)
	x, y := fromLE(xa.Multiply(X, &zi).Bytes()), fromLE(ya.Multiply(Y, &zi).Bytes())
	u := fromLE(k[:])
	mod := func(v *big.Int) *big.Int { return v.Mod(v, bigP) }
	one, a := big.NewInt(1), big.NewInt(486662)
	if lhs, rhs := mod(new(big.Int).Mul(y, new(big.Int).Add(u, one))), mod(new(big.Int).Sub(u, one)); lhs.Cmp(rhs) != 0 {
		t.Fatalf("u=%x: y·(u+1) ≠ u−1", k)
	}
	u2 := new(big.Int).Mul(u, u)
	w := new(big.Int).Add(new(big.Int).Mul(u2, u), new(big.Int).Mul(a, u2))
	w.Add(w, u)
	lhs := mod(new(big.Int).Mul(new(big.Int).Mul(x, x), w))
	rhs := mod(new(big.Int).Mul(big.NewInt(-486664), u2))
	if lhs.Cmp(rhs) != 0 {
		t.Fatalf("u=%x: x²·v² ≠ −(A+2)·u²", k)
	}
}
