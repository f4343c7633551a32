package spqr

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

// epochTracker records the message numbers (1-based, both directions
// counted) at which the pq_ratchet epoch first reaches each value.
type epochTracker struct {
	n     int
	first map[uint64]int
}

func (e *epochTracker) saw(t testing.TB, msg []byte) {
	e.n++
	info, err := Inspect(msg)
	if err != nil {
		t.Fatal(err)
	}
	if e.first == nil {
		e.first = map[uint64]int{}
	}
	if _, ok := e.first[info.Epoch]; !ok {
		e.first[info.Epoch] = e.n
	}
}

func TestPingPongEpochs(t *testing.T) {
	for _, min := range []Version{V0, V1} {
		a, b := newPair(t, min)
		r := detRand(10)
		var tr epochTracker
		for i := 0; i < 300; i++ {
			m := mustSend(t, a, r)
			tr.saw(t, m.msg)
			mustRecvKey(t, b, m)
			m = mustSend(t, b, r)
			tr.saw(t, m.msg)
			mustRecvKey(t, a, m)
		}
		t.Logf("min %d: epoch first seen at messages %v; final epochs %d/%d", min, tr.first, a.Epoch(), b.Epoch())
		// libsignal in strict ping-pong: epoch 2 at message 86, 3 at 173,
		// counted from 0 (E10); 87 and 174 counted from 1 as here.
		if tr.first[2] != 87 || tr.first[3] != 174 {
			t.Errorf("epoch schedule %v differs from libsignal's", tr.first)
		}
		if a.Epoch() < 7 {
			t.Fatalf("only reached epoch %d", a.Epoch())
		}
	}
}

func TestLopsided(t *testing.T) {
	a, b := newPair(t, V1)
	r := detRand(11)
	var tr epochTracker
	for i := 1; i <= 1200; i++ {
		m := mustSend(t, a, r)
		tr.saw(t, m.msg)
		mustRecvKey(t, b, m)
		if i%10 == 0 {
			m = mustSend(t, b, r)
			tr.saw(t, m.msg)
			mustRecvKey(t, a, m)
		}
	}
	t.Logf("A sends 10, B replies once: epochs first seen at %v", tr.first)
	if a.Epoch() < 4 || b.Epoch() < 4 {
		t.Fatalf("lopsided reached epochs %d/%d", a.Epoch(), b.Epoch())
	}
	// And the reverse roles.
	a, b = newPair(t, V1)
	for i := 1; i <= 1200; i++ {
		mustRecvKey(t, a, mustSend(t, b, r))
		if i%10 == 0 {
			mustRecvKey(t, b, mustSend(t, a, r))
		}
	}
	if a.Epoch() < 3 || b.Epoch() < 3 {
		t.Fatalf("reverse lopsided reached epochs %d/%d", a.Epoch(), b.Epoch())
	}
}

// Random traffic with loss, reordering and state reloads: every delivered
// message either yields the sender's key or is refused for a reason libsignal
// would refuse it too (too old), and epochs keep completing.
func TestLossAndReordering(t *testing.T) {
	for _, c := range []struct {
		seed   uint64
		loss   float64
		reload int // reload the state every reload-th operation (0: never)
	}{
		{1, 0.1, 0}, {2, 0.2, 1}, {3, 0.3, 7}, {4, 0.2, 50}, {5, 0, 3},
	} {
		rnd := mrand.New(mrand.NewPCG(c.seed, 99))
		r := detRand(c.seed)
		a, b := newPair(t, V1)
		parties := [2]*State{a, b}
		var queue [2][]sentMsg // queue[i]: in flight to party i
		ops, delivered, refused := 0, 0, 0
		steps := 6000
		if testing.Short() {
			steps = 1500
		}
		for step := 0; step < steps; step++ {
			from := rnd.IntN(2)
			if rnd.Float64() < 0.5 {
				m := mustSend(t, parties[from], r)
				if rnd.Float64() >= c.loss {
					queue[1-from] = append(queue[1-from], m)
				}
			} else if q := queue[from]; len(q) > 0 {
				// Mostly in order, sometimes any message in flight.
				i := 0
				if rnd.Float64() < 0.3 {
					i = rnd.IntN(len(q))
				}
				m := q[i]
				queue[from] = append(q[:i:i], q[i+1:]...)
				before, _ := parties[from].MarshalBinary()
				key, err := parties[from].Recv(m.msg)
				if err != nil {
					if !errors.Is(err, ErrEpochOutOfRange) && !errors.Is(err, ErrKeyTrimmed) {
						t.Fatalf("seed %d: recv: %v", c.seed, err)
					}
					after, _ := parties[from].MarshalBinary()
					if !bytes.Equal(before, after) {
						t.Fatal("refused message changed the state")
					}
					refused++
					continue
				}
				if !bytes.Equal(key, m.key) {
					t.Fatalf("seed %d: delivered key differs", c.seed)
				}
				delivered++
			}
			ops++
			if c.reload > 0 && ops%c.reload == 0 {
				parties[0] = roundTrip(t, parties[0])
				parties[1] = roundTrip(t, parties[1])
			}
		}
		t.Logf("seed %d loss %.0f%% reload/%d: delivered %d, refused %d, epochs %d/%d",
			c.seed, 100*c.loss, c.reload, delivered, refused, parties[0].Epoch(), parties[1].Epoch())
		if parties[0].Epoch() < uint64(steps/1500) || parties[1].Epoch() < uint64(steps/1500) {
			t.Fatalf("seed %d: epochs stalled at %d/%d", c.seed, parties[0].Epoch(), parties[1].Epoch())
		}
	}
}

// A corrupted header chunk makes the header fail its MAC when it completes;
// the state does not change, and the genuine chunks still complete it.
func TestTamperedChunkIsHarmless(t *testing.T) {
	a, b := newPair(t, V1)
	r := detRand(12)
	var hdrMsgs []sentMsg
	for i := 0; i < 3; i++ {
		hdrMsgs = append(hdrMsgs, mustSend(t, a, r))
	}
	mustRecvKey(t, b, hdrMsgs[0])
	mustRecvKey(t, b, hdrMsgs[1])
	// A forged third chunk (index 2, wrong data) under a fresh index.
	forged := bytes.Clone(hdrMsgs[2].msg)
	forged[len(forged)-1] ^= 1
	forged[2] = 9 // message index 9: a key the chain can still give
	before, _ := b.MarshalBinary()
	if _, err := b.Recv(forged); !errors.Is(err, ErrMACVerify) {
		t.Fatalf("forged chunk: %v", err)
	}
	after, _ := b.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("forged chunk changed the state")
	}
	mustRecvKey(t, b, hdrMsgs[2])
	if b.braid.kind != kindHeaderReceived {
		t.Fatalf("state %v", b.braid.kind)
	}
}

// The ct sender refuses a key vector that does not match the header.
func TestWrongKeyVectorRefused(t *testing.T) {
	a, b := newPair(t, V1)
	r := detRand(13)
	// Run until B has the header and A starts sending the vector.
	for a.braid.kind != kindHeaderSent {
		mustRecvKey(t, b, mustSend(t, a, r))
		mustRecvKey(t, a, mustSend(t, b, r))
	}
	// Replace A's vector with another key pair's.
	other, _ := kemKeysFromSeed(bytes.Repeat([]byte{5}, kemSeedSize))
	a.braid.enc = mustEncoder(other.vec)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		m := mustSend(t, a, r)
		_, err = b.Recv(m.msg)
		if err == nil {
			mustRecvKey(t, a, mustSend(t, b, r))
		}
	}
	if !errors.Is(err, ErrErroneousData) {
		t.Fatalf("got %v", err)
	}
}

func TestDuplicateMessageRefused(t *testing.T) {
	a, b := newPair(t, V1)
	r := detRand(14)
	m := mustSend(t, a, r)
	mustRecvKey(t, b, m)
	if _, err := b.Recv(m.msg); !errors.Is(err, ErrKeyAlreadyRequested) {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a, b := newPair(t, V1)
	r := detRand(15)
	for i := 0; i < 40; i++ {
		mustRecvKey(t, b, mustSend(t, a, r))
		mustRecvKey(t, a, mustSend(t, b, r))
	}
	m := mustSend(t, a, r)
	c := b.Clone()
	before, _ := b.MarshalBinary()
	mustRecvKey(t, c, m)
	after, _ := b.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("Recv on a clone changed the original")
	}
	mustRecvKey(t, b, m)
}

// Clone shares the parts of a State that are never written (key material,
// decoder points, encoder caches). Through every braid kind, with loss and
// reordering: an operation on a clone leaves the original as it was, the
// original's operation leaves the clone as it was, and (under -race) the
// two can run at the same time.
func TestCloneSharesNothingWritten(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(16, 17))
	r, rc := detRand(16), detRand(17)
	a, b := newPair(t, V1)
	parties := [2]*State{a, b}
	var queue [2][]sentMsg
	kinds := map[braidKind]bool{}
	for step := 0; step < 1500; step++ {
		from := rnd.IntN(2)
		p := parties[from]
		kinds[p.braid.kind] = true
		var m sentMsg
		send := rnd.Float64() < 0.5
		if !send {
			q := queue[from]
			if len(q) == 0 {
				continue
			}
			i := 0
			if rnd.Float64() < 0.2 {
				i = rnd.IntN(len(q))
			}
			m = q[i]
			queue[from] = append(q[:i:i], q[i+1:]...)
		}
		c := p.Clone()
		var cAfter []byte
		done := make(chan struct{})
		go func() {
			defer close(done)
			if send {
				_, _, _ = c.Send(rc)
			} else {
				_, _ = c.Recv(m.msg)
			}
			cAfter, _ = c.MarshalBinary()
		}()
		if send {
			sm := mustSend(t, p, r)
			if rnd.Float64() >= 0.1 {
				queue[1-from] = append(queue[1-from], sm)
			}
		} else if key, err := p.Recv(m.msg); err == nil && !bytes.Equal(key, m.key) {
			t.Fatalf("step %d: keys differ", step)
		}
		<-done
		if now, _ := c.MarshalBinary(); !bytes.Equal(now, cAfter) {
			t.Fatalf("step %d: the original's operation changed the clone", step)
		}
		if !send {
			// The same message on both: the same result.
			if now, _ := p.MarshalBinary(); !bytes.Equal(now, cAfter) {
				t.Fatalf("step %d: clone and original disagree", step)
			}
		}
		c2 := p.Clone()
		after, _ := p.MarshalBinary()
		if send {
			_, _, _ = c2.Send(rc)
		} else {
			_, _ = c2.Recv(m.msg)
		}
		if now, _ := p.MarshalBinary(); !bytes.Equal(now, after) {
			t.Fatalf("step %d: an operation on a clone changed the original", step)
		}
	}
	if len(kinds) != int(kindLast) {
		t.Fatalf("covered %d of %d braid kinds", len(kinds), kindLast)
	}
}
