package spqr

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

func newPair(t testing.TB, minVersion Version) (a, b *State) {
	t.Helper()
	auth := bytes.Repeat([]byte{41}, AuthKeySize)
	var err error
	a, err = NewState(Params{AuthKey: auth, Direction: A2B, Version: V1, MinVersion: minVersion})
	if err != nil {
		t.Fatal(err)
	}
	b, err = NewState(Params{AuthKey: auth, Direction: B2A, Version: V1, MinVersion: minVersion})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// detRand is a deterministic randomness source for reproducible runs.
func detRand(seed uint64) *mrand.ChaCha8 {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return mrand.NewChaCha8(s)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// roundTrip stores and reloads a state, checking the encoding is stable.
func roundTrip(t testing.TB, s *State) *State {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var n State
	if err := n.UnmarshalBinary(b); err != nil {
		t.Fatalf("reload: %v", err)
	}
	b2, _ := n.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("state encoding not stable")
	}
	return &n
}

type sentMsg struct {
	msg []byte
	key []byte
	seq int
}

func mustSend(t testing.TB, s *State, r *mrand.ChaCha8) sentMsg {
	t.Helper()
	msg, key, err := s.Send(r)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return sentMsg{msg: msg, key: key}
}

func mustRecvKey(t testing.TB, s *State, m sentMsg) {
	t.Helper()
	key, err := s.Recv(m.msg)
	if err != nil {
		t.Fatalf("recv %x: %v", m.msg[:min(len(m.msg), 8)], err)
	}
	if !bytes.Equal(key, m.key) {
		t.Fatalf("keys differ: sent %x, received %x", m.key, key)
	}
}
