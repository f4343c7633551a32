package spqr

import (
	"bytes"
	"errors"
	"testing"
)

var sentinels = []error{
	ErrInvalidParams, ErrMessageDecode, ErrStateDecode, ErrMACVerify, ErrEpochOutOfRange,
	ErrVersionMismatch, ErrMinimumVersion, ErrKeyJump, ErrKeyTrimmed, ErrKeyAlreadyRequested,
	ErrErroneousData, ErrSendEpochDecreased, ErrChainNotAvailable, ErrChainExhausted, ErrRandom, ErrEncoding,
}

func checkTyped(t *testing.T, err error) {
	t.Helper()
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("untyped error: %v", err)
}

// conversation returns the two parties' stored states at every step of a
// short ping-pong run: one of each braid kind and chain shape.
func conversation(t testing.TB) (states [][]byte, msgs [][]byte) {
	a, b := newPair(t, V0)
	r := detRand(77)
	seen := map[braidKind]bool{}
	keep := func(s *State) {
		if !seen[s.braid.kind] {
			seen[s.braid.kind] = true
			enc, _ := s.MarshalBinary()
			states = append(states, enc)
		}
	}
	keep(a)
	keep(b)
	for i := 0; i < 100; i++ {
		m := mustSend(t, a, r)
		msgs = append(msgs, m.msg)
		mustRecvKey(t, b, m)
		keep(a)
		keep(b)
		m = mustSend(t, b, r)
		msgs = append(msgs, m.msg)
		mustRecvKey(t, a, m)
		keep(a)
		keep(b)
	}
	var v0 State
	enc, _ := v0.MarshalBinary()
	return append(states, enc), msgs
}

func TestConversationCoversEveryKind(t *testing.T) {
	states, _ := conversation(t)
	kinds := map[braidKind]bool{}
	for _, enc := range states {
		var s State
		if err := s.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
		if s.v1 {
			kinds[s.braid.kind] = true
		}
	}
	// Ct1Acknowledged only occurs with lopsided traffic.
	if len(kinds) < int(kindLast)-1 {
		t.Fatalf("kinds covered: %v", kinds)
	}
}

func FuzzParseMessage(f *testing.F) {
	_, msgs := conversation(f)
	for _, m := range msgs[:20] {
		f.Add(m)
	}
	f.Add([]byte{1, 1, 0, 0})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		m, err := parseMessage(b)
		if !bytes.Equal(in, b) {
			t.Fatal("parser modified its input")
		}
		if err != nil {
			checkTyped(t, err)
			return
		}
		// The canonical re-encoding parses to the same message and is a prefix
		// of the input whenever the input was canonical.
		again, err := parseMessage(m.appendTo(nil))
		if err != nil || again != m {
			t.Fatalf("re-encoding does not round-trip: %v", err)
		}
	})
}

// Any bytes given to Recv, in any state: no panic, a typed error, and on
// error no change.
func FuzzRecv(f *testing.F) {
	states, msgs := conversation(f)
	for i, m := range msgs[:40] {
		f.Add(uint8(i), m)
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{2})
	f.Fuzz(func(t *testing.T, which uint8, msg []byte) {
		var s State
		if err := s.UnmarshalBinary(states[int(which)%len(states)]); err != nil {
			t.Fatal(err)
		}
		before, _ := s.MarshalBinary()
		_, err := s.Recv(msg)
		if err != nil {
			checkTyped(t, err)
			after, _ := s.MarshalBinary()
			if !bytes.Equal(before, after) {
				t.Fatal("failed Recv changed the state")
			}
			return
		}
		if _, _, err := s.Send(detRand(1)); err != nil {
			checkTyped(t, err)
		}
	})
}

// Any bytes given to UnmarshalBinary: no panic, a typed error, and a state
// that loads can be stored again identically and used.
func FuzzUnmarshalBinary(f *testing.F) {
	states, msgs := conversation(f)
	for _, s := range states {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if err := s.UnmarshalBinary(data); err != nil {
			checkTyped(t, err)
			return
		}
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var s2 State
		if err := s2.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded state does not load: %v", err)
		}
		if enc2, _ := s2.MarshalBinary(); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding not stable")
		}
		r := detRand(2)
		for i := 0; i < 3; i++ {
			if _, _, err := s.Send(r); err != nil {
				checkTyped(t, err)
			}
			if _, err := s.Recv(msgs[i]); err != nil {
				checkTyped(t, err)
			}
		}
	})
}

// Arbitrary chunks into a decoder never panic, and when a decode comes out it
// has the right length.
func FuzzDecoder(f *testing.F) {
	f.Add(uint16(96), []byte{0, 1, 2})
	f.Add(uint16(1152), bytes.Repeat([]byte{7}, 40))
	f.Fuzz(func(t *testing.T, size uint16, seed []byte) {
		d, err := newDecoder(int(size))
		if err != nil {
			checkTyped(t, err)
			return
		}
		for i := 0; i+3 <= len(seed); i += 3 {
			var c chunk
			c.index = uint16(seed[i])<<8 | uint16(seed[i+1])
			for j := range c.data {
				c.data[j] = seed[i+2] + byte(j)
			}
			d = d.add(c)
			if out, ok := d.decoded(); ok && len(out) != int(size) {
				t.Fatalf("decoded %d bytes, want %d", len(out), size)
			}
		}
	})
}
