package session

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/parley-im/parley/e2ee/spqr"
)

// pqOf returns the pq_ratchet bytes of a message and what spqr reads in them.
func pqOf(tb testing.TB, c Ciphertext) ([]byte, spqr.MessageInfo) {
	tb.Helper()
	var m *signalMessage
	var err error
	if c.Type == TypePreKey {
		var p *preKeyMessage
		p, err = parsePreKeyMessage(c.Body)
		if err == nil {
			m = p.message
		}
	} else {
		m, err = parseSignalMessage(c.Body)
	}
	if err != nil {
		tb.Fatal(err)
	}
	info, err := spqr.Inspect(m.pqRatchet)
	if err != nil {
		tb.Fatalf("pq_ratchet %x: %v", m.pqRatchet, err)
	}
	return m.pqRatchet, info
}

// pqEpoch is the SPQR epoch of p's current session with remote.
func (p *party) pqEpoch(tb testing.TB, remote *party) uint64 {
	tb.Helper()
	rec, err := p.store.LoadSession(ctx, remote.addr)
	if err != nil || !rec.HasSession() {
		tb.Fatalf("no session: %v", err)
	}
	if rec.current.pq == nil {
		return 0
	}
	return rec.current.pq.Epoch()
}

func (p *party) pqVersion(tb testing.TB, remote *party) (spqr.Version, bool) {
	tb.Helper()
	rec, _ := p.store.LoadSession(ctx, remote.addr)
	if rec.current.pq == nil {
		return spqr.V0, false
	}
	return rec.current.pq.Version()
}

// epochWatch records per sender the epochs carried by its messages, and
// requires them never to go back.
type epochWatch struct {
	last       map[*party]uint64
	firstAt    map[uint64]int // epoch → message number of its first appearance
	unkeyedMax map[*party]int // last message number sent without a key
}

func newEpochWatch() *epochWatch {
	return &epochWatch{last: map[*party]uint64{}, firstAt: map[uint64]int{}, unkeyedMax: map[*party]int{}}
}

func (w *epochWatch) see(tb testing.TB, from *party, n int, c Ciphertext) {
	tb.Helper()
	raw, info := pqOf(tb, c)
	if len(raw) == 0 || info.Version != spqr.V1 {
		tb.Fatalf("message %d carries no SPQR (pq_ratchet %x)", n, raw)
	}
	if info.Epoch < w.last[from] {
		tb.Fatalf("message %d: epoch went back from %d to %d", n, w.last[from], info.Epoch)
	}
	w.last[from] = info.Epoch
	if _, ok := w.firstAt[info.Epoch]; !ok {
		w.firstAt[info.Epoch] = n
	}
	if info.Index == 0 {
		w.unkeyedMax[from] = n
	}
}

// 13: strict ping-pong over several SPQR epochs; every message after the
// initiator's first has an SPQR key, and both states agree on the epoch.
func TestSPQRPingPong(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	w := newEpochWatch()
	for i := range 300 {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		msg := fmt.Sprint("m", i)
		c := from.encrypt(t, to, msg)
		w.see(t, from, i, c)
		to.decrypt(t, from, c, msg)
	}
	if w.last[alice] < 3 || w.last[bob] < 3 {
		t.Fatalf("epochs reached: alice %d, bob %d; want ≥ 3", w.last[alice], w.last[bob])
	}
	if w.unkeyedMax[alice] != 0 || w.unkeyedMax[bob] != 0 {
		t.Fatalf("unkeyed messages after the first: %v", w.unkeyedMax)
	}
	ea, eb := alice.pqEpoch(t, bob), bob.pqEpoch(t, alice)
	if ea < 3 || eb < 3 || ea-eb > 1 && eb-ea > 1 {
		t.Fatalf("state epochs: alice %d, bob %d", ea, eb)
	}
	t.Logf("epoch first seen at message: %v; final state epochs %d/%d", w.firstAt, ea, eb)
}

// 14: lopsided traffic, 600 messages one way with a reply every 10th, then
// the reverse. The braid still advances the epoch.
func TestSPQRLopsided(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	w := newEpochWatch()
	n := 0
	for _, dir := range []struct{ a, b *party }{{alice, bob}, {bob, alice}} {
		var start uint64
		advancedAt := -1
		for i := range 600 {
			msg := fmt.Sprint("x", n)
			c := dir.a.encrypt(t, dir.b, msg)
			w.see(t, dir.a, n, c)
			if i == 0 {
				start = w.last[dir.a]
			}
			dir.b.decrypt(t, dir.a, c, msg)
			n++
			if i%10 == 9 {
				msg := fmt.Sprint("r", n)
				c := dir.b.encrypt(t, dir.a, msg)
				w.see(t, dir.b, n, c)
				dir.a.decrypt(t, dir.b, c, msg)
				n++
			}
			if advancedAt < 0 && w.last[dir.a] > start {
				advancedAt = i
			}
		}
		if advancedAt < 0 {
			t.Fatalf("no epoch advance in 600 lopsided messages (epoch %d)", w.last[dir.a])
		}
		t.Logf("lopsided: epoch advanced at message %d of 600, reached %d", advancedAt+1, w.last[dir.a])
	}
}

// 16 and 15: random loss and reordering of SPQR-carrying messages. The
// erasure code completes epochs although chunks are missing, and late
// messages still find their SPQR keys.
func TestSPQRLossAndReordering(t *testing.T) {
	for _, loss := range []int{10, 30} {
		t.Run(fmt.Sprintf("loss %d%%", loss), func(t *testing.T) {
			alice, bob := newParty(t, 1), newParty(t, 1)
			connect(t, alice, bob, true)
			bob.decrypt(t, alice, alice.encrypt(t, bob, "hello"), "hello")
			r := mrand.New(mrand.NewPCG(16, uint64(loss)))
			type sent struct {
				c   Ciphertext
				msg string
			}
			w := newEpochWatch()
			n := 0
			for round := range 60 {
				for _, dir := range []struct{ a, b *party }{{alice, bob}, {bob, alice}} {
					var burst []sent
					for range 1 + r.IntN(8) {
						msg := fmt.Sprint("m", n)
						c := dir.a.encrypt(t, dir.b, msg)
						w.see(t, dir.a, n, c)
						burst = append(burst, sent{c, msg})
						n++
					}
					r.Shuffle(len(burst), func(i, j int) { burst[i], burst[j] = burst[j], burst[i] })
					for _, s := range burst {
						if r.IntN(100) < loss {
							continue
						}
						dir.b.decrypt(t, dir.a, s.c, s.msg)
					}
				}
				_ = round
			}
			if w.last[alice] < 2 || w.last[bob] < 2 {
				t.Fatalf("epochs reached with %d%% loss: alice %d, bob %d", loss, w.last[alice], w.last[bob])
			}
			t.Logf("%d messages, epochs %d/%d", n, w.last[alice], w.last[bob])
		})
	}
}

// 23: persistence every 1, 7 and 50 messages across SPQR epochs.
func TestSPQRPersistence(t *testing.T) {
	for _, every := range []int{1, 7, 50} {
		t.Run(fmt.Sprint("every ", every), func(t *testing.T) {
			alice, bob := newParty(t, 1), newParty(t, 1)
			connect(t, alice, bob, true)
			reload := func(p, remote *party) {
				b := p.snapshot(t, remote)
				var rec Record
				if err := rec.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				if again, _ := rec.MarshalBinary(); !bytes.Equal(b, again) {
					t.Fatal("record encoding does not round-trip")
				}
				fresh := NewMemoryStore(p.identity, p.store.regID)
				fresh.identities = p.store.identities
				_ = fresh.StoreSession(ctx, remote.addr, &rec)
				p.store = fresh
				p.st = fresh.Stores(p.addr)
			}
			w := newEpochWatch()
			for i := range 300 {
				from, to := alice, bob
				if i%2 == 1 {
					from, to = bob, alice
				}
				msg := fmt.Sprint("m", i)
				c := from.encrypt(t, to, msg)
				w.see(t, from, i, c)
				if i%every == 0 {
					reload(alice, bob)
					if i > 0 {
						reload(bob, alice)
					}
				}
				to.decrypt(t, from, c, msg)
			}
			if w.last[alice] < 3 || w.last[bob] < 3 {
				t.Fatalf("epochs reached: alice %d, bob %d", w.last[alice], w.last[bob])
			}
		})
	}
}

// 18: tampering with pq_ratchet (the MAC covers it) is rejected and leaves
// the receiver's state as it was, at every stage of the braid.
func TestSPQRTampering(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	tampers := map[string]func(pq []byte) []byte{
		"flip last byte":   func(pq []byte) []byte { pq[len(pq)-1] ^= 1; return pq },
		"flip epoch":       func(pq []byte) []byte { pq[1] ^= 1; return pq },
		"flip index":       func(pq []byte) []byte { pq[2] ^= 1; return pq },
		"version 2":        func(pq []byte) []byte { pq[0] = 2; return pq },
		"version 0":        func(pq []byte) []byte { pq[0] = 0; return pq },
		"truncated":        func(pq []byte) []byte { return pq[:len(pq)-1] },
		"removed":          func([]byte) []byte { return nil },
		"trailing garbage": func(pq []byte) []byte { return append(pq, 0) },
	}
	rejected := 0
	for i := range 200 {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		msg := fmt.Sprint("m", i)
		c := from.encrypt(t, to, msg)
		if i%5 == 0 {
			before := to.snapshot(t, from)
			for name, tamper := range tampers {
				body := c.Body
				if c.Type == TypePreKey {
					p, _ := parsePreKeyMessage(c.Body)
					body = p.message.serialized
				}
				bad := reencode(t, body, func(m *signalMessage) { m.pqRatchet = tamper(bytes.Clone(m.pqRatchet)) })
				if bytes.Equal(bad, body) {
					continue
				}
				if _, err := DecryptSignal(ctx, to.st, from.addr, bad); err == nil {
					t.Fatalf("message %d: %s accepted", i, name)
				}
				to.assertUnchanged(t, from, before)
				rejected++
			}
		}
		to.decrypt(t, from, c, msg)
	}
	if alice.pqEpoch(t, bob) < 2 {
		t.Fatalf("epoch %d: the run did not cover the braid", alice.pqEpoch(t, bob))
	}
	t.Logf("%d tampered messages rejected", rejected)
}

// The SPQR policies against each other: what goes on the wire and what each
// side settles on.
func TestSPQRPolicies(t *testing.T) {
	pair := func(pa, pb SPQRPolicy) (*party, *party) {
		a, b := newParty(t, 1), newParty(t, 1)
		a.st.SPQR, b.st.SPQR = pa, pb
		connect(t, a, b, true)
		return a, b
	}
	t.Run("off/off has no pq_ratchet", func(t *testing.T) {
		a, b := pair(SPQROff, SPQROff)
		for i := range 6 {
			from, to := a, b
			if i%2 == 1 {
				from, to = b, a
			}
			c := from.encrypt(t, to, "x")
			if raw, _ := pqOf(t, c); raw != nil {
				t.Fatalf("pq_ratchet %x", raw)
			}
			to.decrypt(t, from, c, "x")
		}
	})
	t.Run("optional settles on V0 with a peer without SPQR", func(t *testing.T) {
		for _, offIsAlice := range []bool{false, true} {
			pa, pb := SPQROptional, SPQROff
			if offIsAlice {
				pa, pb = pb, pa
			}
			a, b := pair(pa, pb)
			for i := range 8 {
				from, to := a, b
				if i%2 == 1 {
					from, to = b, a
				}
				c := from.encrypt(t, to, "x")
				raw, _ := pqOf(t, c)
				// Only the optional side's messages before it heard from
				// the other carry an (unkeyed) offer.
				if raw != nil && i > 1 {
					t.Fatalf("message %d still carries pq_ratchet %x", i, raw)
				}
				to.decrypt(t, from, c, "x")
			}
			for _, p := range []struct{ p, q *party }{{a, b}, {b, a}} {
				if v, neg := p.p.pqVersion(t, p.q); v != spqr.V0 || neg {
					t.Fatalf("version %d negotiating %v, want V0", v, neg)
				}
			}
		}
	})
	t.Run("required refuses a peer without SPQR", func(t *testing.T) {
		a, b := pair(SPQROff, SPQRRequired)
		c := a.encrypt(t, b, "x")
		before := b.snapshot(t, a)
		if _, err := Decrypt(ctx, b.st, a.addr, c); !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, spqr.ErrMinimumVersion) {
			t.Fatalf("got %v, want ErrInvalidMessage and spqr.ErrMinimumVersion", err)
		}
		b.assertUnchanged(t, a, before)

		// The other way round the peer without SPQR ignores pq_ratchet,
		// derives its keys without the SPQR salt and fails the MAC.
		a, b = pair(SPQRRequired, SPQROff)
		c = a.encrypt(t, b, "x")
		if _, err := Decrypt(ctx, b.st, a.addr, c); !errors.Is(err, ErrBadMAC) {
			t.Fatalf("got %v, want ErrBadMAC", err)
		}
	})
	t.Run("required keys the first message", func(t *testing.T) {
		for _, pb := range []SPQRPolicy{SPQRRequired, SPQROptional, SPQRDefault} {
			a, b := pair(SPQRRequired, pb)
			c := a.encrypt(t, b, "x")
			if _, info := pqOf(t, c); info.Version != spqr.V1 || info.Index == 0 {
				t.Fatalf("first message %+v, want a keyed V1 message", info)
			}
			b.decrypt(t, a, c, "x")
			a.decrypt(t, b, b.encrypt(t, a, "y"), "y")
		}
	})
	t.Run("optional offers an unkeyed first message", func(t *testing.T) {
		a, b := pair(SPQROptional, SPQROptional)
		c := a.encrypt(t, b, "x")
		if _, info := pqOf(t, c); info.Version != spqr.V1 || info.Index != 0 || info.Epoch != 1 {
			t.Fatalf("first message %+v, want an unkeyed V1 offer", info)
		}
		b.decrypt(t, a, c, "x")
	})
	// libsignal 0.92 and later force SPQR V1 on new sessions.
	t.Run("default is required", func(t *testing.T) {
		if DefaultSPQRPolicy != SPQRRequired {
			t.Fatalf("DefaultSPQRPolicy %v", DefaultSPQRPolicy)
		}
		a, b := pair(SPQRDefault, SPQROff)
		c := a.encrypt(t, b, "x")
		if _, info := pqOf(t, c); info.Version != spqr.V1 || info.Index == 0 {
			t.Fatalf("first message %+v, want a keyed V1 message", info)
		}
		a, b = pair(SPQROff, SPQRDefault)
		if _, err := Decrypt(ctx, b.st, a.addr, a.encrypt(t, b, "x")); !errors.Is(err, spqr.ErrMinimumVersion) {
			t.Fatalf("got %v, want spqr.ErrMinimumVersion", err)
		}
	})
	t.Run("invalid policy", func(t *testing.T) {
		a, b := newParty(t, 1), newParty(t, 1)
		a.st.SPQR = SPQROff + 1
		if err := ProcessBundle(ctx, a.st, b.addr, b.bundle(t, true), t0, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("got %v, want ErrInvalidConfig", err)
		}
	})
}

// A format-1 record (stage 1, no SPQR) is read as a session without SPQR,
// keeps working, and is written back as format 2.
func TestRecordFormat1(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	alice.st.SPQR, bob.st.SPQR = SPQROff, SPQROff
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "a"), "a")
	alice.decrypt(t, bob, bob.encrypt(t, alice, "b"), "b")
	// Now both sides run with the default policy: existing sessions keep
	// theirs.
	alice.st.SPQR, bob.st.SPQR = SPQRDefault, SPQRDefault
	for _, p := range []struct{ p, q *party }{{alice, bob}, {bob, alice}} {
		b := p.p.snapshot(t, p.q)
		if b[0] != 0x08 || b[1] != recordFormat {
			t.Fatalf("record starts %x", b[:2])
		}
		b[1] = recordFormatV1
		var rec Record
		if err := rec.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if rec.current.pq != nil {
			t.Fatal("format 1 record read with SPQR state")
		}
		again, _ := rec.MarshalBinary()
		if again[1] != recordFormat {
			t.Fatalf("written back as format %d", again[1])
		}
		_ = p.p.store.StoreSession(ctx, p.q.addr, &rec)
	}
	for i := range 10 {
		c := alice.encrypt(t, bob, fmt.Sprint(i))
		if raw, _ := pqOf(t, c); raw != nil {
			t.Fatal("a V0 session sends pq_ratchet")
		}
		bob.decrypt(t, alice, c, fmt.Sprint(i))
		alice.decrypt(t, bob, bob.encrypt(t, alice, fmt.Sprint(i)), fmt.Sprint(i))
	}
	// A corrupt SPQR state in a format 2 record is refused.
	b := alice.snapshot(t, bob)
	rec := &Record{}
	_ = rec.UnmarshalBinary(b)
	rec.current.pq = nil
	s, _ := rec.current.marshal()
	s = appendBytesField(s, stPQState, []byte{0xFF})
	bad := appendVarintField(nil, recFormat, recordFormat)
	bad = appendBytesField(bad, recCurrent, s)
	if err := rec.UnmarshalBinary(bad); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("corrupt SPQR state: %v", err)
	}
	// Format 1 reserved field 15 but never wrote it: whatever it holds is
	// not read as SPQR state.
	bad[1] = recordFormatV1
	if err := rec.UnmarshalBinary(bad); err != nil || rec.current.pq != nil {
		t.Fatalf("format 1 with field 15: %v", err)
	}
}
