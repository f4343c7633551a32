package senderkey

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// A record with every kind of content survives MarshalBinary/UnmarshalBinary
// unchanged, and the restored record keeps working: own chains still
// encrypt, received chains still decrypt, skipped keys are still usable.
func TestRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	ss, rs, _ := group(t, memory, alice, dist1, bob)
	r := rs[bob]
	var late [][]byte
	for i := range 4 {
		if i > 0 {
			skdm, err := RotateDistribution(ctx, ss, alice, dist1, testRand(uint64(i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := ProcessDistribution(ctx, r, alice, skdm); err != nil {
				t.Fatal(err)
			}
		}
		late = append(late, mustEncrypt(t, ss, alice, dist1, "late"))
		mustDecrypt(t, r, alice, mustEncrypt(t, ss, alice, dist1, "now"), "now")
	}
	for _, st := range []Store{r, ss} {
		a := alice
		rec := mustRecord(t, st, a, dist1)
		b1, err := rec.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Record
		if err := back.UnmarshalBinary(b1); err != nil {
			t.Fatal(err)
		}
		b2, _ := back.MarshalBinary()
		if !bytes.Equal(b1, b2) {
			t.Fatal("re-encoding differs")
		}
		if len(back.states) != len(rec.states) {
			t.Fatal("state count differs")
		}
		for i := range rec.states {
			x, y := rec.states[i], back.states[i]
			if x.chainID != y.chainID || x.iteration != y.iteration || x.chainKey != y.chainKey ||
				x.signingPub != y.signingPub || (x.signingPriv == nil) != (y.signingPriv == nil) ||
				(x.signingPriv != nil && *x.signingPriv != *y.signingPriv) || len(x.skipped) != len(y.skipped) {
				t.Fatalf("state %d differs", i)
			}
			for j := range x.skipped {
				if x.skipped[j] != y.skipped[j] {
					t.Fatalf("state %d skipped %d differs", i, j)
				}
			}
		}
		// "Restart": a new store holding only the bytes.
		fresh := codec()
		if err := fresh.SaveSenderKey(ctx, a, dist1, &back); err != nil {
			t.Fatal(err)
		}
		if st == r {
			for _, ct := range late {
				mustDecrypt(t, fresh, alice, ct, "late")
			}
			mustDecrypt(t, fresh, alice, mustEncrypt(t, ss, alice, dist1, "after"), "after")
		} else {
			mustDecrypt(t, r, alice, mustEncrypt(t, fresh, alice, dist1, "restored sender"), "restored sender")
		}
	}
	var empty Record
	b, _ := empty.MarshalBinary()
	if err := new(Record).UnmarshalBinary(b); err != nil {
		t.Fatalf("empty record: %v", err)
	}
}

func TestRecordUnmarshalRejects(t *testing.T) {
	_, rs, _ := group(t, memory, alice, dist1, bob)
	good, _ := mustRecord(t, rs[bob], alice, dist1).MarshalBinary()
	st := mustRecord(t, rs[bob], alice, dist1).states[0]
	format := protowire.AppendVarint(protowire.AppendTag(nil, recFieldFormat, protowire.VarintType), recordFormat)
	withStates := func(states ...[]byte) []byte {
		b := bytes.Clone(format)
		for _, s := range states {
			b = appendBytes(b, recFieldState, s)
		}
		return b
	}
	stateBytes := st.marshal()
	other := *st
	other.chainID++
	tooManyKeys := *st
	tooManyKeys.iteration = MaxMessageKeys + 5
	tooManyKeys.skipped = make([]messageKey, MaxMessageKeys+1)
	for i := range tooManyKeys.skipped {
		tooManyKeys.skipped[i].iteration = uint32(i)
	}
	futureKey := *st
	futureKey.skipped = []messageKey{{iteration: st.iteration}}
	var six [][]byte
	for i := range MaxStates + 1 {
		s := *st
		s.chainID = uint32(i)
		six = append(six, s.marshal())
	}

	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"good", good, true},
		{"unknown field", append(bytes.Clone(good), 0x80, 0x01, 0x00), true},
		{"five states", withStates(six[:MaxStates]...), true},
		{"empty input", nil, false},
		{"no format", good[len(format):], false},
		{"future format", append(protowire.AppendVarint(protowire.AppendTag(nil, recFieldFormat, protowire.VarintType), 2), good[len(format):]...), false},
		{"truncated", good[:len(good)-1], false},
		{"six states", withStates(six...), false},
		{"duplicate chain id", withStates(stateBytes, stateBytes), false},
		{"state is garbage", withStates([]byte{0xff}), false},
		{"state without chain key", withStates(appendUint32(appendUint32(appendUint32(nil, stFieldVersion, 3), stFieldChainID, 1), stFieldIteration, 0)), false},
		{"too many skipped keys", withStates(tooManyKeys.marshal()), false},
		{"skipped key not behind the chain", withStates(futureKey.marshal()), false},
		{"wrong state version", withStates(appendUint32(bytes.Clone(stateBytes), stFieldVersion, 4)), false},
		{"distinct chains", withStates(stateBytes, other.marshal()), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Record{states: []*state{{chainID: 42}}}
			err := r.UnmarshalBinary(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidRecord) {
					t.Fatalf("err = %v", err)
				}
				if len(r.states) != 1 || r.states[0].chainID != 42 {
					t.Fatal("failed UnmarshalBinary changed the record")
				}
			}
		})
	}
}

func TestMemoryStoreCopies(t *testing.T) {
	ctx := context.Background()
	s := new(MemoryStore)
	if r, err := s.SenderKey(ctx, alice, dist1); r != nil || err != nil {
		t.Fatalf("empty store: %v, %v", r, err)
	}
	if _, err := CreateDistribution(ctx, s, alice, dist1, nil); err != nil {
		t.Fatal(err)
	}
	r := mustRecord(t, s, alice, dist1)
	r.states[0].iteration = 99
	r.states[0].signingPriv[0] ^= 1
	if got := mustRecord(t, s, alice, dist1).states[0]; got.iteration == 99 || got.signingPriv[0] == r.states[0].signingPriv[0] {
		t.Fatal("MemoryStore handed out its own record")
	}
}
