package spqr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// libsignal 0.90.0 (min version V0) sends 01 01 00 01 00 ‖ 32 bytes first:
// V1, epoch 1, index 0 (unkeyed), Hdr chunk 0; the reply is 01 01 01 00:
// epoch 1, index 1, None, keyed.
func TestWireShapeUnforced(t *testing.T) {
	a, b := newPair(t, V0)
	r := detRand(1)
	msg, key, err := a.Send(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) != 37 || !bytes.Equal(msg[:5], []byte{1, 1, 0, 1, 0}) || key != nil {
		t.Fatalf("first message %x key %x", msg, key)
	}
	if v, neg := a.Version(); v != V1 || !neg {
		t.Fatal("sender stopped negotiating")
	}
	got, err := b.Recv(msg)
	if err != nil || got != nil {
		t.Fatalf("recv: key %x err %v", got, err)
	}
	if _, neg := b.Version(); neg {
		t.Fatal("receiver still negotiating")
	}
	reply, rkey, err := b.Send(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reply, []byte{1, 1, 1, 0}) || len(rkey) != 32 {
		t.Fatalf("reply %x key %x", reply, rkey)
	}
	if k, err := a.Recv(reply); err != nil || !bytes.Equal(k, rkey) {
		t.Fatalf("reply key: %x %v", k, err)
	}
	// Now both are keyed.
	m2, k2, _ := a.Send(r)
	if info, _ := Inspect(m2); info.Index != 1 || info.Type != TypeHdr || info.ChunkIndex != 1 || k2 == nil {
		t.Fatalf("second message %+v", info)
	}
	mustRecvKey(t, b, sentMsg{msg: m2, key: k2})
}

// With SPQR forced (libsignal >= 0.92), the first message is already keyed:
// 01 01 01 01 00 ‖ 32 bytes, as seen from libsignal 0.103.0 (E3).
func TestWireShapeForced(t *testing.T) {
	a, b := newPair(t, V1)
	r := detRand(2)
	m := mustSend(t, a, r)
	if !bytes.Equal(m.msg[:5], []byte{1, 1, 1, 1, 0}) || len(m.key) != 32 {
		t.Fatalf("first message %x", m.msg)
	}
	if !bytes.Equal(m.key, refKey(t, bytes.Repeat([]byte{41}, 32), A2B, 1)) {
		t.Fatal("first key is not the chain's first A2B key")
	}
	mustRecvKey(t, b, m)
	reply := mustSend(t, b, r)
	if !bytes.Equal(reply.msg, []byte{1, 1, 1, 0}) {
		t.Fatalf("reply %x", reply.msg)
	}
	mustRecvKey(t, a, reply)
}

func TestV0State(t *testing.T) {
	var s State
	msg, key, err := s.Send(detRand(0))
	if msg != nil || key != nil || err != nil {
		t.Fatal("V0 send produced output")
	}
	if key, err := s.Recv(nil); key != nil || err != nil {
		t.Fatal("V0 recv of empty")
	}
	v0, err := NewState(Params{AuthKey: make([]byte, 32), Version: V0})
	if err != nil || v0.v1 {
		t.Fatal("Version V0 params")
	}
	// A V1 message to a V0 state is ignored, as libsignal does.
	a, _ := newPair(t, V1)
	m := mustSend(t, a, detRand(3))
	if key, err := s.Recv(m.msg); key != nil || err != nil {
		t.Fatalf("V0 state given V1 message: %v", err)
	}
}

func TestNegotiation(t *testing.T) {
	// Min V0: an empty pq_ratchet from the peer downgrades for good.
	a, _ := newPair(t, V0)
	if key, err := a.Recv(nil); key != nil || err != nil {
		t.Fatalf("downgrade: %v", err)
	}
	if v, neg := a.Version(); v != V0 || neg {
		t.Fatal("not downgraded")
	}
	if msg, _, _ := a.Send(detRand(1)); msg != nil {
		t.Fatal("downgraded state still sends SPQR")
	}
	// Min V1: refused.
	a, _ = newPair(t, V1)
	if _, err := a.Recv(nil); !errors.Is(err, ErrMinimumVersion) {
		t.Fatalf("forced: %v", err)
	}
	// A first byte of 0 means V0 too.
	if _, err := a.Recv([]byte{0, 1, 2}); !errors.Is(err, ErrMinimumVersion) {
		t.Fatalf("forced, version byte 0: %v", err)
	}
	// After negotiation: mismatch.
	a, b := newPair(t, V0)
	r := detRand(2)
	mustRecvKey(t, b, mustSend(t, a, r))
	if _, err := b.Recv(nil); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("after negotiation: %v", err)
	}
	// Unknown higher versions are ignored without error or change.
	before, _ := b.MarshalBinary()
	if key, err := b.Recv([]byte{2, 1, 1, 0}); key != nil || err != nil {
		t.Fatal("version 2 not ignored")
	}
	after, _ := b.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("version 2 changed the state")
	}
}

func TestNewStateRejects(t *testing.T) {
	good := Params{AuthKey: make([]byte, 32), Direction: A2B, Version: V1, MinVersion: V1}
	for name, p := range map[string]Params{
		"short key":     {AuthKey: make([]byte, 31), Version: V1},
		"direction":     {AuthKey: make([]byte, 32), Direction: 2, Version: V1},
		"version":       {AuthKey: make([]byte, 32), Version: 2},
		"min above max": {AuthKey: make([]byte, 32), Version: V0, MinVersion: V1},
	} {
		if _, err := NewState(p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewState(good); err != nil {
		t.Fatal(err)
	}
}

func TestSendFailureLeavesState(t *testing.T) {
	a, _ := newPair(t, V1)
	before, _ := a.MarshalBinary()
	if _, _, err := a.Send(failingReader{}); !errors.Is(err, ErrRandom) {
		t.Fatalf("got %v", err)
	}
	after, _ := a.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("failed send changed the state")
	}
}

func TestInspect(t *testing.T) {
	info, err := Inspect(nil)
	if err != nil || info.Version != V0 {
		t.Fatal("empty")
	}
	msg, _ := hex.DecodeString("01ac02" + "05" + "06" + "07" + hex.EncodeToString(make([]byte, 32)) + "ffff")
	info, err = Inspect(msg)
	if err != nil || info.Epoch != 300 || info.Index != 5 || info.Type != TypeCt2 || info.ChunkIndex != 7 || !info.HasChunk {
		t.Fatalf("%+v %v", info, err)
	}
	for _, bad := range []string{"01", "0100", "010100", "0101000107", "010100010100", "0101ffffffffff0f00"} {
		b, _ := hex.DecodeString(bad)
		if _, err := Inspect(b); !errors.Is(err, ErrMessageDecode) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestVarintLikeLibsignal(t *testing.T) {
	// Non-minimal encodings are accepted; the 10th byte's extra bits are
	// dropped; 11 bytes are refused.
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"ac02", 300, true},
		{"8000", 0, true},
		{"ffffffffffffffffff7f", 1<<64 - 1, true},
		{"80808080808080808080", 0, false},
		{"8080808080808080808000", 0, false},
		{"", 0, false},
	} {
		b, _ := hex.DecodeString(c.in)
		v, _, ok := readVarint(b, 0)
		if ok != c.ok || (ok && v != c.want) {
			t.Errorf("%s: %d %v", c.in, v, ok)
		}
	}
}
