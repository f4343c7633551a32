package senderkey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

var stores = []struct {
	name string
	new  func() Store
}{{"memory", memory}, {"codec", codec}}

func TestRoundTrip(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ss, rs, _ := group(t, st.new, alice, dist1, bob, carol)
			for i, n := range []int{0, 1, 15, 16, 17, 255, 4096, 65536} {
				pt := bytes.Repeat([]byte{byte(i)}, n)
				ct, err := Encrypt(context.Background(), ss, alice, dist1, pt, testRand(uint64(i)))
				if err != nil {
					t.Fatal(err)
				}
				padded := (n/16 + 1) * 16
				if want := 1 + 18 + 6 + 2 + 1 + protowire.SizeVarint(uint64(padded)) + padded + 64; len(ct) > want {
					t.Fatalf("%d-byte plaintext: %d-byte message, want at most %d", n, len(ct), want)
				}
				for _, r := range []Address{bob, carol} {
					got, err := Decrypt(context.Background(), rs[r], alice, ct)
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("%v, %d bytes: %v", r, n, err)
					}
				}
			}
		})
	}
}

func TestBothDirectionsAndDistributions(t *testing.T) {
	ctx := context.Background()
	a, b := memory(), memory()
	for _, d := range [][16]byte{dist1, dist2} {
		skA, err := CreateDistribution(ctx, a, alice, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		skB, err := CreateDistribution(ctx, b, bob, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ProcessDistribution(ctx, b, alice, skA); err != nil {
			t.Fatal(err)
		}
		if err := ProcessDistribution(ctx, a, bob, skB); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		for _, d := range [][16]byte{dist1, dist2} {
			msg := fmt.Sprintf("%x #%d", d[0], i)
			mustDecrypt(t, b, alice, mustEncrypt(t, a, alice, d, "from alice "+msg), "from alice "+msg)
			mustDecrypt(t, a, bob, mustEncrypt(t, b, bob, d, "from bob "+msg), "from bob "+msg)
		}
	}
}

func TestCreateDistributionReusesChain(t *testing.T) {
	ctx := context.Background()
	s := memory()
	sk1, err := CreateDistribution(ctx, s, alice, dist1, testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	mustEncrypt(t, s, alice, dist1, "one")
	mustEncrypt(t, s, alice, dist1, "two")
	sk2, err := CreateDistribution(ctx, s, alice, dist1, testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := ParseDistributionMessage(sk1)
	m2, _ := ParseDistributionMessage(sk2)
	if m1.ChainID != m2.ChainID || m1.SigningKey != m2.SigningKey || m2.Iteration != 2 {
		t.Fatalf("second SKDM: %+v, first %+v", m2, m1)
	}
	if want, _ := chainStepN(m1.ChainKey, 2); m2.ChainKey != want {
		t.Fatal("second SKDM does not carry the advanced chain key")
	}
	if m1.ChainID >= 1<<31 {
		t.Fatalf("chain id %d uses the top bit", m1.ChainID)
	}
	if n := len(mustRecord(t, s, alice, dist1).states); n != 1 {
		t.Fatalf("%d states", n)
	}
}

func chainStepN(ck [32]byte, n int) ([32]byte, int) {
	for range n {
		_, ck = chainStep(&ck)
	}
	return ck, n
}

func TestOutOfOrderAndDuplicates(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ss, rs, _ := group(t, st.new, alice, dist1, bob)
			var cts [][]byte
			for i := range 10 {
				cts = append(cts, mustEncrypt(t, ss, alice, dist1, fmt.Sprint("m", i)))
			}
			r := rs[bob]
			for _, i := range []int{5, 0, 9, 3, 4, 1, 8, 2, 7, 6} {
				mustDecrypt(t, r, alice, cts[i], fmt.Sprint("m", i))
				decryptFails(t, r, alice, dist1, cts[i], ErrDuplicate)
			}
			if n := len(mustRecord(t, r, alice, dist1).states[0].skipped); n != 0 {
				t.Fatalf("%d skipped keys left", n)
			}
			next := mustEncrypt(t, ss, alice, dist1, "m10")
			mustDecrypt(t, r, alice, next, "m10")
		})
	}
}

func TestSkippedKeyBound(t *testing.T) {
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	f := newForger(t, ss, alice, dist1, skdm)
	r := rs[bob]
	// Jumping to iteration MaxMessageKeys+1 skips 0..MaxMessageKeys: one key
	// too many, so the oldest (0) is dropped and 1..MaxMessageKeys are kept.
	top := uint32(MaxMessageKeys + 1)
	mustDecrypt(t, r, alice, f.message(top, []byte("top")), "top")
	s := mustRecord(t, r, alice, dist1).states[0]
	if len(s.skipped) != MaxMessageKeys || s.skipped[0].iteration != 1 || s.skipped[MaxMessageKeys-1].iteration != top-1 {
		t.Fatalf("%d skipped keys, first %d", len(s.skipped), s.skipped[0].iteration)
	}
	decryptFails(t, r, alice, dist1, f.message(0, []byte("m0")), ErrDuplicate)
	mustDecrypt(t, r, alice, f.message(1, []byte("m1")), "m1")
	mustDecrypt(t, r, alice, f.message(top-1, []byte("last")), "last")

	// Further skips push out the oldest kept keys first.
	mustDecrypt(t, r, alice, f.message(top+11, []byte("later")), "later")
	s = mustRecord(t, r, alice, dist1).states[0]
	if len(s.skipped) != MaxMessageKeys {
		t.Fatalf("%d skipped keys", len(s.skipped))
	}
	decryptFails(t, r, alice, dist1, f.message(2, []byte("m2")), ErrDuplicate)
	mustDecrypt(t, r, alice, f.message(top+10, []byte("m")), "m")
}

func TestForwardJumpLimit(t *testing.T) {
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	f := newForger(t, ss, alice, dist1, skdm)
	r := rs[bob]
	decryptFails(t, r, alice, dist1, f.message(MaxForwardJump+1, []byte("x")), ErrTooFarAhead)
	mustDecrypt(t, r, alice, f.message(MaxForwardJump, []byte("edge")), "edge")
	// The limit is relative to the chain's next iteration, now MaxForwardJump+1.
	next := uint32(MaxForwardJump + 1)
	decryptFails(t, r, alice, dist1, f.message(next+MaxForwardJump+1, []byte("x")), ErrTooFarAhead)
	mustDecrypt(t, r, alice, f.message(next+MaxForwardJump, []byte("edge 2")), "edge 2")
	// Keys skipped by the jump are still there, up to the bound.
	mustDecrypt(t, r, alice, f.message(next+MaxForwardJump-MaxMessageKeys, []byte("old")), "old")
	decryptFails(t, r, alice, dist1, f.message(next+MaxForwardJump-MaxMessageKeys-1, []byte("x")), ErrDuplicate)
}

func TestBadSignature(t *testing.T) {
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	r := rs[bob]
	ct := mustEncrypt(t, ss, alice, dist1, "hello")
	for _, i := range []int{len(ct) - 65, len(ct) - 64, len(ct) - 33, len(ct) - 1} {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x80
		decryptFails(t, r, alice, dist1, bad, ErrBadSignature)
	}
	// The signature must cover the iteration and the ciphertext: move the
	// signature of message 0 onto altered copies.
	pm, err := ParseMessage(ct)
	if err != nil {
		t.Fatal(err)
	}
	for _, alter := range []func(m *Message){
		func(m *Message) { m.Iteration++ },
		func(m *Message) { m.Ciphertext = bytes.Clone(m.Ciphertext); m.Ciphertext[0] ^= 1 },
	} {
		m := *pm
		alter(&m)
		decryptFails(t, r, alice, dist1, append(m.marshalUnsigned(), pm.Signature[:]...), ErrBadSignature)
	}
	// A message signed by another key for the same chain.
	mallory := memory()
	if _, err := CreateDistribution(context.Background(), mallory, alice, dist1, testRand(99)); err != nil {
		t.Fatal(err)
	}
	f := newForger(t, ss, alice, dist1, skdm)
	f.priv = *mustRecord(t, mallory, alice, dist1).states[0].signingPriv
	decryptFails(t, r, alice, dist1, f.message(0, []byte("forged")), ErrBadSignature)
	mustDecrypt(t, r, alice, ct, "hello")
}

func TestWrongDistributionOrChain(t *testing.T) {
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	r := rs[bob]
	f := newForger(t, ss, alice, dist1, skdm)

	other := *f
	dm := *f.dm
	dm.DistributionID = dist2
	other.dm = &dm
	decryptFails(t, r, alice, dist2, other.message(0, []byte("x")), ErrNoSenderKey)

	dm = *f.dm
	dm.ChainID++
	other.dm = &dm
	decryptFails(t, r, alice, dist1, other.message(0, []byte("x")), ErrNoSenderKey)

	decryptFails(t, r, carol, dist1, f.message(0, []byte("x")), ErrNoSenderKey)
	mustDecrypt(t, r, alice, f.message(0, []byte("ok")), "ok")
}

func TestBadCiphertextLeavesStateUnchanged(t *testing.T) {
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	r := rs[bob]
	f := newForger(t, ss, alice, dist1, skdm)
	seed := f.seed(3)
	good := encryptCBC(&seed, []byte("fine"))
	for name, ct := range map[string][]byte{
		"empty":       nil,
		"not a block": good[:15],
		"wrong key":   encryptCBC(&[32]byte{1}, []byte("fine")),
	} {
		t.Run(name, func(t *testing.T) {
			m := f.sign(&Message{DistributionID: dist1, ChainID: f.dm.ChainID, Iteration: 3, Ciphertext: ct})
			decryptFails(t, r, alice, dist1, m, ErrInvalidMessage)
		})
	}
	// Padding byte out of range: build a block whose decryption ends in 0x00 and 0x11.
	for _, pad := range []byte{0x00, 0x11, 0xff} {
		blk := bytes.Repeat([]byte{pad}, 16)
		ct := encryptRaw(&seed, blk)
		decryptFails(t, r, alice, dist1, f.sign(&Message{DistributionID: dist1, ChainID: f.dm.ChainID, Iteration: 3, Ciphertext: ct}), ErrInvalidMessage)
	}
	// Inconsistent padding: last byte says 4 but the bytes before differ.
	blk := append(bytes.Repeat([]byte{'a'}, 12), 3, 4, 4, 4)
	decryptFails(t, r, alice, dist1, f.sign(&Message{DistributionID: dist1, ChainID: f.dm.ChainID, Iteration: 3, Ciphertext: encryptRaw(&seed, blk)}), ErrInvalidMessage)
	mustDecrypt(t, r, alice, f.sign(&Message{DistributionID: dist1, ChainID: f.dm.ChainID, Iteration: 3, Ciphertext: good}), "fine")
}

// encryptRaw CBC-encrypts whole blocks without adding padding.
func encryptRaw(seed *[32]byte, blocks []byte) []byte {
	ct := encryptCBC(seed, blocks)
	return ct[:len(blocks)]
}

func TestRotation(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			ss, rs, _ := group(t, st.new, alice, dist1, bob)
			r := rs[bob]
			// pending[i] was encrypted on chain i but is delivered only after
			// all the rotations.
			var pending [][]byte
			var chains []uint32
			for i := range MaxStates + 1 {
				if i > 0 {
					skdm, err := RotateDistribution(ctx, ss, alice, dist1, testRand(uint64(100+i)))
					if err != nil {
						t.Fatal(err)
					}
					if err := ProcessDistribution(ctx, r, alice, skdm); err != nil {
						t.Fatal(err)
					}
				}
				chains = append(chains, mustRecord(t, ss, alice, dist1).states[0].chainID)
				mustDecrypt(t, r, alice, mustEncrypt(t, ss, alice, dist1, fmt.Sprint("now ", i)), fmt.Sprint("now ", i))
				pending = append(pending, mustEncrypt(t, ss, alice, dist1, fmt.Sprint("late ", i)))
			}
			rec := mustRecord(t, r, alice, dist1)
			if len(rec.states) != MaxStates {
				t.Fatalf("%d states", len(rec.states))
			}
			for i, s := range rec.states {
				if want := chains[len(chains)-1-i]; s.chainID != want {
					t.Fatalf("state %d: chain %d, want %d (newest first)", i, s.chainID, want)
				}
			}
			// The first chain was pushed out; the other five still decrypt.
			decryptFails(t, r, alice, dist1, pending[0], ErrNoSenderKey)
			for i := 1; i < len(pending); i++ {
				mustDecrypt(t, r, alice, pending[i], fmt.Sprint("late ", i))
			}
			if n := len(mustRecord(t, ss, alice, dist1).states); n != 1 {
				t.Fatalf("sender keeps %d states, want only the newest", n)
			}
		})
	}
}

func TestReprocessingDistribution(t *testing.T) {
	ctx := context.Background()
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	r := rs[bob]
	ct0 := mustEncrypt(t, ss, alice, dist1, "zero")
	ct1 := mustEncrypt(t, ss, alice, dist1, "one")
	mustDecrypt(t, r, alice, ct1, "one")
	// The same SKDM again must not rewind the chain (which would let m1 be
	// replayed) nor drop the skipped key of m0.
	before := snapshot(t, r, alice, dist1)
	if err := ProcessDistribution(ctx, r, alice, skdm); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, snapshot(t, r, alice, dist1)) {
		t.Fatal("reprocessing the SKDM changed the record")
	}
	decryptFails(t, r, alice, dist1, ct1, ErrDuplicate)
	mustDecrypt(t, r, alice, ct0, "zero")

	// Same chain id but another signing key replaces the state.
	dm, _ := ParseDistributionMessage(skdm)
	dm.SigningKey[0] ^= 1
	if err := ProcessDistribution(ctx, r, alice, dm.Marshal()); err != nil {
		t.Fatal(err)
	}
	rec := mustRecord(t, r, alice, dist1)
	if len(rec.states) != 1 || rec.states[0].signingPub != dm.SigningKey || rec.states[0].iteration != 0 {
		t.Fatalf("state not replaced: %+v", rec.states)
	}
	decryptFails(t, r, alice, dist1, mustEncrypt(t, ss, alice, dist1, "x"), ErrBadSignature)
}

func TestEncryptErrors(t *testing.T) {
	ctx := context.Background()
	s := memory()
	if _, err := Encrypt(ctx, s, alice, dist1, []byte("x"), nil); !errors.Is(err, ErrNoSenderKey) {
		t.Fatalf("no record: %v", err)
	}
	// A chain received from someone else cannot be used to send.
	_, rs, _ := group(t, memory, alice, dist1, bob)
	if _, err := Encrypt(ctx, rs[bob], alice, dist1, []byte("x"), nil); !errors.Is(err, ErrNoSenderKey) {
		t.Fatalf("received chain: %v", err)
	}
	// Exhausted chain.
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	rec := mustRecord(t, ss, alice, dist1)
	rec.states[0].iteration = math.MaxUint32
	ss.SaveSenderKey(ctx, alice, dist1, rec)
	before := snapshot(t, ss, alice, dist1)
	if _, err := Encrypt(ctx, ss, alice, dist1, []byte("x"), nil); !errors.Is(err, ErrChainExhausted) {
		t.Fatalf("exhausted: %v", err)
	}
	if !bytes.Equal(before, snapshot(t, ss, alice, dist1)) {
		t.Fatal("failed encrypt changed the record")
	}
	// A received message at the last iteration cannot be accepted either.
	rrec := mustRecord(t, rs[bob], alice, dist1)
	rrec.states[0].iteration = math.MaxUint32 - 10
	rs[bob].SaveSenderKey(ctx, alice, dist1, rrec)
	f := newForger(t, ss, alice, dist1, skdm)
	m := f.sign(&Message{DistributionID: dist1, ChainID: f.dm.ChainID, Iteration: math.MaxUint32, Ciphertext: make([]byte, 16)})
	decryptFails(t, rs[bob], alice, dist1, m, ErrInvalidMessage)
	// A failing random source surfaces as an error.
	if _, err := CreateDistribution(ctx, memory(), alice, dist1, bytes.NewReader(nil)); err == nil {
		t.Fatal("CreateDistribution with empty randomness succeeded")
	}
}

type failingStore struct {
	Store
	load, save bool
}

var errStore = errors.New("store down")

func (f failingStore) SenderKey(ctx context.Context, a Address, d [16]byte) (*Record, error) {
	if f.load {
		return nil, errStore
	}
	return f.Store.SenderKey(ctx, a, d)
}

func (f failingStore) SaveSenderKey(ctx context.Context, a Address, d [16]byte, r *Record) error {
	if f.save {
		return errStore
	}
	return f.Store.SaveSenderKey(ctx, a, d, r)
}

func TestStoreErrorsPropagate(t *testing.T) {
	ctx := context.Background()
	ss, rs, skdm := group(t, memory, alice, dist1, bob)
	ct := mustEncrypt(t, ss, alice, dist1, "x")
	for _, f := range []failingStore{{Store: rs[bob], load: true}, {Store: rs[bob], save: true}} {
		if _, err := Decrypt(ctx, f, alice, ct); !errors.Is(err, errStore) {
			t.Fatalf("decrypt: %v", err)
		}
		if _, err := Encrypt(ctx, failingStore{ss, f.load, f.save}, alice, dist1, nil, nil); !errors.Is(err, errStore) {
			t.Fatalf("encrypt: %v", err)
		}
		if err := ProcessDistribution(ctx, f, alice, skdm); !errors.Is(err, errStore) {
			t.Fatalf("process: %v", err)
		}
		if _, err := CreateDistribution(ctx, failingStore{memory(), f.load, f.save}, alice, dist1, nil); !errors.Is(err, errStore) {
			t.Fatalf("create: %v", err)
		}
		if _, err := RotateDistribution(ctx, failingStore{ss, f.load, f.save}, alice, dist1, nil); !errors.Is(err, errStore) {
			t.Fatalf("rotate: %v", err)
		}
	}
	// The message was never consumed.
	mustDecrypt(t, rs[bob], alice, ct, "x")
}

func TestDeterministicWithSeededRand(t *testing.T) {
	run := func() ([]byte, []byte) {
		s := memory()
		skdm, err := CreateDistribution(context.Background(), s, alice, dist1, testRand(5))
		if err != nil {
			t.Fatal(err)
		}
		return skdm, mustEncrypt(t, s, alice, dist1, "same")
	}
	a1, b1 := run()
	a2, b2 := run()
	if !bytes.Equal(a1, a2) || !bytes.Equal(b1, b2) {
		t.Fatal("same randomness gave different output")
	}
}
