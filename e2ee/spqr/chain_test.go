package spqr

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// refKey derives key index of one direction of epoch 0 the long way, the way
// the research probes did it against libsignal 0.103.0 (E3/E4).
func refKey(t *testing.T, authKey []byte, dir Direction, index uint32) []byte {
	t.Helper()
	g, _ := hkdf.Key(sha256.New, authKey, make([]byte, 32), "Signal PQ Ratchet V1 Chain  Start", 96)
	next := g[32:64]
	if dir == B2A {
		next = g[64:96]
	}
	var key []byte
	for ctr := uint32(1); ctr <= index; ctr++ {
		info := string(binary.BigEndian.AppendUint32(nil, ctr)) + "Signal PQ Ratchet V1 Chain Next"
		o, _ := hkdf.Key(sha256.New, next, make([]byte, 32), info, 64)
		next, key = o[:32], o[32:]
	}
	return key
}

func TestChainEpochZeroKeys(t *testing.T) {
	auth := bytes.Repeat([]byte{41}, 32)
	a := newChain(auth, A2B, ChainParams{})
	b := newChain(auth, B2A, ChainParams{})
	for i := uint32(1); i <= 5; i++ {
		idx, k := a.sendKey(0)
		if idx != i || !bytes.Equal(k[:], refKey(t, auth, A2B, i)) {
			t.Fatalf("A2B send %d", i)
		}
		idx, k = b.sendKey(0)
		if idx != i || !bytes.Equal(k[:], refKey(t, auth, B2A, i)) {
			t.Fatalf("B2A send %d", i)
		}
	}
}

func TestChainDirectionsAndEpochs(t *testing.T) {
	a := newChain([]byte("1"), A2B, ChainParams{})
	b := newChain([]byte("1"), B2A, ChainParams{})
	idx, k := a.sendKey(0)
	if err := b.checkRecvKey(0, idx, 0); err != nil {
		t.Fatal(err)
	}
	if got := b.recvKey(0, idx); got != k || idx != 1 {
		t.Fatal("epoch 0 keys differ")
	}
	a.addEpoch([]byte{2})
	b.addEpoch([]byte{2})
	for i := 0; i < 9; i++ {
		a.sendKey(1)
	}
	idx, k = a.sendKey(1)
	if idx != 10 || b.recvKey(1, 10) != k {
		t.Fatal("epoch 1 keys differ")
	}
	if err := a.checkSendKey(0, 0); !errors.Is(err, ErrSendEpochDecreased) {
		t.Fatalf("send on old epoch: %v", err)
	}
	if err := a.checkAddEpoch(5); !errors.Is(err, ErrStateDecode) {
		t.Fatal("epoch gap accepted")
	}
}

func TestChainOutOfOrderAllKeys(t *testing.T) {
	a := newChain([]byte("k"), A2B, ChainParams{})
	b := newChain([]byte("k"), B2A, ChainParams{})
	type sent struct {
		idx uint32
		key [32]byte
	}
	var keys []sent
	for i := 0; i < DefaultMaxOOOKeys; i++ {
		idx, k := a.sendKey(0)
		keys = append(keys, sent{idx, k})
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, s := range keys {
		if err := b.checkRecvKey(0, s.idx, 0); err != nil {
			t.Fatalf("index %d: %v", s.idx, err)
		}
		if b.recvKey(0, s.idx) != s.key {
			t.Fatalf("index %d: wrong key", s.idx)
		}
		if err := b.checkRecvKey(0, s.idx, 0); !errors.Is(err, ErrKeyAlreadyRequested) {
			t.Fatalf("index %d twice: %v", s.idx, err)
		}
	}
	if n := len(b.links[0].recv.prev); n != 0 {
		t.Fatalf("%d keys left", n)
	}
}

func TestChainLimits(t *testing.T) {
	b := newChain([]byte("k"), B2A, ChainParams{})
	if err := b.checkRecvKey(0, DefaultMaxJump+1, 0); !errors.Is(err, ErrKeyJump) {
		t.Fatalf("jump of 25001: %v", err)
	}
	if err := b.checkRecvKey(0, DefaultMaxJump, 0); err != nil {
		t.Fatalf("jump of 25000: %v", err)
	}
	b.recvKey(0, DefaultMaxJump)
	if n := len(b.links[0].recv.prev); n != DefaultMaxOOOKeys {
		t.Fatalf("%d keys kept, want %d", n, DefaultMaxOOOKeys)
	}
	if err := b.checkRecvKey(0, DefaultMaxJump-DefaultMaxOOOKeys, 0); err != nil {
		t.Fatalf("oldest kept key: %v", err)
	}
	if err := b.checkRecvKey(0, DefaultMaxJump-DefaultMaxOOOKeys-1, 0); !errors.Is(err, ErrKeyTrimmed) {
		t.Fatalf("one older: %v", err)
	}
	if err := b.checkRecvKey(0, 0, 0); !errors.Is(err, ErrKeyTrimmed) {
		t.Fatalf("index 0: %v", err)
	}
	if err := b.checkRecvKey(1, 1, 0); !errors.Is(err, ErrEpochOutOfRange) {
		t.Fatalf("future epoch: %v", err)
	}
	if err := b.checkRecvKey(1, 1, 1); err != nil {
		t.Fatalf("pending epoch: %v", err)
	}
}

func TestChainTrimmedSmallParams(t *testing.T) {
	p := ChainParams{MaxJump: 10, MaxOOOKeys: 10}
	c := newChain([]byte("1"), A2B, p)
	for _, at := range []uint32{10, 12} {
		if err := c.checkRecvKey(0, at, 0); err != nil {
			t.Fatal(err)
		}
		c.recvKey(0, at)
	}
	if err := c.checkRecvKey(0, 1, 0); !errors.Is(err, ErrKeyTrimmed) {
		t.Fatalf("got %v", err)
	}
	if err := c.checkRecvKey(0, 2, 0); err != nil {
		t.Fatalf("index 2 still in window: %v", err)
	}
}

// The chain against a model: which indexes are still obtainable.
func TestChainMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 300; trial++ {
		p := ChainParams{MaxJump: 5, MaxOOOKeys: 3}
		send := newChain([]byte("m"), A2B, p)
		recv := newChain([]byte("m"), B2A, p)
		keys := map[uint32][32]byte{0: {}}
		for i := 0; i < 40; i++ {
			idx, k := send.sendKey(0)
			keys[idx] = k
		}
		used := map[uint32]bool{}
		var ctr uint32
		for step := 0; step < 30; step++ {
			at := uint32(r.IntN(int(ctr) + 7))
			var want error
			switch {
			case at > ctr && at-ctr > 5:
				want = ErrKeyJump
			case at > ctr:
			case at+3 < ctr:
				want = ErrKeyTrimmed
			case at == ctr || used[at] || at == 0:
				want = ErrKeyAlreadyRequested
			}
			err := recv.checkRecvKey(0, at, 0)
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("trial %d: at %d ctr %d: got %v want %v", trial, at, ctr, err, want)
			}
			if err != nil {
				continue
			}
			if recv.recvKey(0, at) != keys[at] {
				t.Fatalf("wrong key at %d", at)
			}
			used[at] = true
			if at > ctr {
				ctr = at
			}
		}
	}
}

func TestChainSendEpochDropsOldLinks(t *testing.T) {
	c := newChain([]byte("x"), A2B, ChainParams{})
	for e := 1; e <= 4; e++ {
		c.addEpoch([]byte{byte(e)})
	}
	c.sendKey(4)
	if len(c.links) != 2 {
		t.Fatalf("%d links kept", len(c.links))
	}
	if err := c.checkRecvKey(3, 1, 0); err != nil {
		t.Fatalf("epoch before the send epoch: %v", err)
	}
	if err := c.checkRecvKey(2, 1, 0); !errors.Is(err, ErrEpochOutOfRange) {
		t.Fatalf("older epoch: %v", err)
	}
	if c.links[0].send.hasNext {
		t.Fatal("old send chain not retired")
	}
}
