package senderkey

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func FuzzParseDistributionMessage(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.SKDM))
	f.Add([]byte(v.LaterSKDM))
	f.Add([]byte{0x33})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDistributionMessage(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		m2, err := ParseDistributionMessage(m.Marshal())
		if err != nil || *m2 != *m {
			t.Fatalf("re-encoding does not parse back: %v", err)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	v := loadVectors(f)
	for _, m := range v.Messages {
		f.Add([]byte(m.Ciphertext))
	}
	f.Add(make([]byte, 65))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(m.signed, b[:len(b)-64]) || !bytes.Equal(m.Signature[:], b[len(b)-64:]) {
			t.Fatal("signed part or signature misplaced")
		}
		m2, err := ParseMessage(append(m.marshalUnsigned(), m.Signature[:]...))
		if err != nil || m2.DistributionID != m.DistributionID || m2.ChainID != m.ChainID ||
			m2.Iteration != m.Iteration || !bytes.Equal(m2.Ciphertext, m.Ciphertext) {
			t.Fatalf("re-encoding does not parse back: %v", err)
		}
	})
}

// fuzzReceiver is a receiver that knows two senders: alice (our own Go
// chain, at iteration 5 with 0..3 skipped) and the libsignal sender of the
// frozen vectors (at iteration 2 with 0 skipped).
type fuzzReceiver struct {
	records map[memoryKey][]byte
	forger  *forger
	vectors *libsignalVectors
	valid   [][]byte // messages that decrypt in the initial state
}

func newFuzzReceiver(t testing.TB) *fuzzReceiver {
	ctx := context.Background()
	ss, rs, skdm := group(t, codec, alice, dist1, bob)
	fr := &fuzzReceiver{forger: newForger(t, ss, alice, dist1, skdm), vectors: loadVectors(t)}
	r := rs[bob].(*codecStore)
	for i := range 6 {
		ct := mustEncrypt(t, ss, alice, dist1, "m")
		if i == 4 {
			mustDecrypt(t, r, alice, ct, "m")
		} else {
			fr.valid = append(fr.valid, ct)
		}
	}
	if err := ProcessDistribution(ctx, r, fr.vectors.sender(), fr.vectors.SKDM); err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(ctx, r, fr.vectors.sender(), fr.vectors.Messages[1].Ciphertext); err != nil {
		t.Fatal(err)
	}
	fr.valid = append(fr.valid, fr.vectors.Messages[0].Ciphertext, fr.vectors.Messages[2].Ciphertext)
	fr.records = r.m
	return fr
}

// store returns a fresh store in the initial state.
func (fr *fuzzReceiver) store() *codecStore {
	m := make(map[memoryKey][]byte, len(fr.records))
	for k, v := range fr.records {
		m[k] = v
	}
	return &codecStore{m: m}
}

// check decrypts ct from each known sender and asserts that a failure left
// every record unchanged and that a success cannot be repeated.
func (fr *fuzzReceiver) check(t *testing.T, ct []byte) {
	ctx := context.Background()
	for _, sender := range []Address{alice, fr.vectors.sender()} {
		s := fr.store()
		pt, err := Decrypt(ctx, s, sender, ct)
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
			for _, want := range []error{ErrInvalidMessage, ErrUnknownVersion, ErrNoSenderKey, ErrBadSignature, ErrDuplicate, ErrTooFarAhead} {
				if errors.Is(err, want) {
					goto typed
				}
			}
			t.Fatalf("untyped error %v", err)
		typed:
			for k, v := range fr.records {
				if !bytes.Equal(s.m[k], v) {
					t.Fatalf("failed decrypt (%v) changed the record of %v", err, k.sender)
				}
			}
			continue
		}
		if _, err := Decrypt(ctx, s, sender, ct); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("replay: got %v, want ErrDuplicate", err)
		}
	}
}

// FuzzDecrypt feeds arbitrary bytes to Decrypt: it must never panic, only
// return the typed errors, and never change the stored state when it fails.
func FuzzDecrypt(f *testing.F) {
	fr := newFuzzReceiver(f)
	for _, ct := range fr.valid {
		f.Add(ct)
	}
	f.Add([]byte{0x33})
	f.Fuzz(func(t *testing.T, ct []byte) {
		fr.check(t, ct)
	})
}

// FuzzDecryptSigned reaches past the signature check, which random bytes
// never pass: the fuzzer picks the fields and the message is then signed
// with alice's real key. When encrypt is set, the ciphertext is a real
// encryption of body under the key for iteration (if that is not too far to
// derive), otherwise body is used as the ciphertext as is.
func FuzzDecryptSigned(f *testing.F) {
	fr := newFuzzReceiver(f)
	f.Add(uint32(5), uint32(0), true, []byte("hello"))
	f.Add(uint32(3), uint32(0), true, []byte(""))
	f.Add(uint32(4), uint32(0), true, []byte("dup"))
	f.Add(uint32(MaxForwardJump+5), uint32(0), true, []byte("edge"))
	f.Add(uint32(MaxForwardJump+6), uint32(0), true, []byte("too far"))
	f.Add(uint32(7), uint32(1), true, []byte("other chain"))
	f.Add(uint32(6), uint32(0), false, bytes.Repeat([]byte{0x10}, 16))
	f.Add(uint32(0xFFFFFFFF), uint32(0), false, []byte{})
	f.Fuzz(func(t *testing.T, iteration, chainDelta uint32, encrypt bool, body []byte) {
		ct := body
		if encrypt && iteration-fr.forger.dm.Iteration <= MaxForwardJump+10 {
			seed := fr.forger.seed(iteration)
			ct = encryptCBC(&seed, body)
		}
		m := fr.forger.sign(&Message{
			DistributionID: dist1,
			ChainID:        fr.forger.dm.ChainID + chainDelta,
			Iteration:      iteration,
			Ciphertext:     ct,
		})
		fr.check(t, m)
	})
}

func FuzzRecordUnmarshal(f *testing.F) {
	fr := newFuzzReceiver(f)
	for _, b := range fr.records {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := r.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		b1, _ := r.MarshalBinary()
		var r2 Record
		if err := r2.UnmarshalBinary(b1); err != nil {
			t.Fatalf("re-encoding does not parse: %v", err)
		}
		if b2, _ := r2.MarshalBinary(); !bytes.Equal(b1, b2) {
			t.Fatal("encoding not stable")
		}
	})
}
