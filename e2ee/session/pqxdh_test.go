package session

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"filippo.io/edwards25519"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
)

// pqxdhFixture is both sides' keys of one PQXDH run with a one-time prekey.
type pqxdhFixture struct {
	aliceID, base, bobID, spk, opk curve.KeyPair
	kyber                          kem.KeyPair
}

func newPQXDHFixture(t *testing.T) *pqxdhFixture {
	t.Helper()
	gen := func() curve.KeyPair {
		kp, err := curve.GenerateKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	kyber, err := kem.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return &pqxdhFixture{aliceID: gen(), base: gen(), bobID: gen(), spk: gen(), opk: gen(), kyber: kyber}
}

func (f *pqxdhFixture) alice() *aliceParams {
	opk := f.opk.Public
	return &aliceParams{
		identity:        f.aliceID,
		base:            f.base,
		theirIdentity:   f.bobID.Public,
		theirSignedPre:  f.spk.Public,
		theirOneTimePre: &opk,
		theirKyber:      f.kyber.PublicKey(),
	}
}

func (f *pqxdhFixture) bob(kyberCT []byte) *bobParams {
	opk := f.opk
	return &bobParams{
		identity:        f.bobID,
		signedPre:       f.spk,
		oneTimePre:      &opk,
		kyber:           f.kyber,
		theirIdentity:   f.aliceID.Public,
		theirBase:       f.base.Public,
		kyberCiphertext: kyberCT,
	}
}

func mustAgree(t *testing.T, k curve.PrivateKey, pub curve.PublicKey) [32]byte {
	t.Helper()
	s, err := k.Agree(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// initAlice and initBob, which run their agreements as one AgreeAll batch,
// derive exactly the keys of the agreements run one by one, in the order
// the spec lists them, with and without the one-time prekey.
func TestPQXDHMatchesSeparateAgreements(t *testing.T) {
	for _, oneTime := range []bool{true, false} {
		f := newPQXDHFixture(t)
		ap := f.alice()
		if !oneTime {
			ap.theirOneTimePre = nil
		}
		alice, kyberCT, err := initAlice(ap, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		bp := f.bob(kyberCT)
		if !oneTime {
			bp.oneTimePre = nil
		}
		bob, err := initBob(bp)
		if err != nil {
			t.Fatal(err)
		}
		kyberSS, err := f.kyber.Decapsulate(kyberCT)
		if err != nil {
			t.Fatal(err)
		}
		dhs := [][32]byte{
			mustAgree(t, f.aliceID.Private, f.spk.Public),
			mustAgree(t, f.base.Private, f.bobID.Public),
			mustAgree(t, f.base.Private, f.spk.Public),
		}
		if oneTime {
			dhs = append(dhs, mustAgree(t, f.base.Private, f.opk.Public))
		}
		want := derivePQXDH(dhs, kyberSS)
		if bob.rootKey != want.rootKey || bob.sender.chain != want.chain {
			t.Fatalf("one-time %v: Bob's keys differ from the separate agreements", oneTime)
		}
		if alice.receivers[0].chain != want.chain {
			t.Fatalf("one-time %v: Alice's receiving chain differs from the separate agreements", oneTime)
		}
		root, send := rootStep(want.rootKey, mustAgree(t, alice.sender.ratchet.Private, f.spk.Public))
		if alice.rootKey != root || alice.sender.chain != send {
			t.Fatalf("one-time %v: Alice's first ratchet step differs from the separate agreement", oneTime)
		}
		if alice.sender.ratchet.Public != alice.sender.ratchet.Private.PublicKey() {
			t.Fatalf("one-time %v: Alice's ratchet key pair does not match", oneTime)
		}
	}
}

// A low-order or torsioned key anywhere in the run fails it with
// ErrInvalidKey, naming the first agreement (in the spec's order) that the
// key spoils, or the base key check, which comes before Bob's agreements.
func TestPQXDHRejectsBadKeys(t *testing.T) {
	lowOrder := []curve.PublicKey{
		{},  // u = 0
		{1}, // u = 1
		// Order 8.
		{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	}
	f := newPQXDHFixture(t)
	for _, bad := range lowOrder {
		for _, tc := range []struct {
			what  string
			alter func(*aliceParams)
		}{
			{"DH(IKa, SPKb)", func(p *aliceParams) { p.theirSignedPre = bad }},
			{"DH(EKa, IKb)", func(p *aliceParams) { p.theirIdentity = bad }},
			{"DH(EKa, OPKb)", func(p *aliceParams) { p.theirOneTimePre = &bad }},
		} {
			p := f.alice()
			tc.alter(p)
			s, _, err := initAlice(p, rand.Reader)
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tc.what) || s != nil {
				t.Errorf("Alice with %x as %s: %v, want ErrInvalidKey naming it", bad, tc.what, err)
			}
		}
	}

	_, kyberCT, err := initAlice(f.alice(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Honest base key plus a point of order 8: on the curve, not in the
	// prime-order subgroup, and its agreements with clamped scalars are
	// not zero, so only the canonicality check catches it.
	torsioned := func() curve.PublicKey {
		T, err := new(edwards25519.Point).SetBytes([]byte{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := edwards25519.NewScalar().SetBytesWithClamping(f.base.Private[:])
		P := new(edwards25519.Point).ScalarBaseMult(s)
		return curve.PublicKey(P.Add(P, T).BytesMontgomery())
	}()
	bobCases := []struct {
		what  string
		alter func(*bobParams)
	}{
		{"base key is not canonical", func(p *bobParams) { p.theirBase = torsioned }},
	}
	for _, bad := range lowOrder {
		bobCases = append(bobCases,
			struct {
				what  string
				alter func(*bobParams)
			}{"base key is not canonical", func(p *bobParams) { p.theirBase = bad }},
			struct {
				what  string
				alter func(*bobParams)
			}{"DH(SPKb, IKa)", func(p *bobParams) { p.theirIdentity = bad }},
		)
	}
	for _, tc := range bobCases {
		p := f.bob(kyberCT)
		tc.alter(p)
		s, err := initBob(p)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tc.what) || s != nil {
			t.Errorf("Bob, %s: %v, want ErrInvalidKey naming it", tc.what, err)
		}
	}
	// The same fixture unaltered is accepted: the failures above are the
	// bad keys', not the fixture's.
	if _, err := initBob(f.bob(kyberCT)); err != nil {
		t.Fatalf("unaltered fixture: %v", err)
	}
}
