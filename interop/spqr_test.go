package interop

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/e2ee/spqr"
	"google.golang.org/protobuf/encoding/protowire"
)

// The Triple Ratchet with libsignal 0.103.0: both sides run SPQR, so every
// message key is salted with an SPQR key and a wrong one fails the MAC. The
// numbers refer to the research note, section 7.4; the epoch schedule to
// its probe E10 (strict ping-pong: epoch 2 at message 86, 3 at 173;
// lopsided: epoch 2 at about message 346).

// spqrConv is one Go↔libsignal conversation with an SPQR epoch watch. The
// epochs are read from the wire by the oracle (inspect) and parsed with
// spqr.Inspect.
type spqrConv struct {
	o       *Oracle
	g       *sessGo
	lib     Party
	n       int             // messages sent so far
	last    map[bool]uint64 // newest epoch per sender (true: Go)
	firstAt map[uint64]int  // epoch → number of the first message that carried it
	keyed   map[bool]int    // messages with an SPQR key, per sender
}

// newSPQRConv starts a session; goFirst makes Go the initiator.
func newSPQRConv(t *testing.T, o *Oracle, goFirst bool) *spqrConv {
	t.Helper()
	c := &spqrConv{o: o, g: newSessGo(t, 1), lib: sessNewLib(t, o, 1),
		last: map[bool]uint64{}, firstAt: map[uint64]int{}, keyed: map[bool]int{}}
	if goFirst {
		c.g.goStart(t, o, c.lib, true)
	} else {
		c.g.libStart(t, o, c.lib, true)
	}
	return c
}

func (c *spqrConv) watch(t *testing.T, fromGo bool, m Ciphertext) spqr.MessageInfo {
	t.Helper()
	in := must(c.o.Inspect(m))(t)
	pq := in.PQRatchet
	if in.Message != nil {
		pq = in.Message.PQRatchet
	}
	info, err := spqr.Inspect(pq)
	if err != nil || info.Version != spqr.V1 {
		t.Fatalf("message %d (Go sent it: %v): pq_ratchet %x: %+v %v", c.n, fromGo, pq, info, err)
	}
	if info.Epoch < c.last[fromGo] {
		t.Fatalf("message %d: epoch went back from %d to %d", c.n, c.last[fromGo], info.Epoch)
	}
	c.last[fromGo] = info.Epoch
	if _, ok := c.firstAt[info.Epoch]; !ok {
		c.firstAt[info.Epoch] = c.n
	}
	if info.Index != 0 {
		c.keyed[fromGo]++
	}
	c.n++
	return info
}

// sendGo sends one message from Go, not yet delivered.
func (c *spqrConv) sendGo(t *testing.T) (Ciphertext, string) {
	t.Helper()
	msg := fmt.Sprint("g", c.n)
	typ := TypeWhisper
	if rec := must(c.g.store.LoadSession(sessCtx, sessAddr(c.lib.Address())))(t); !rec.Acknowledged() {
		typ = TypePreKey
	}
	m := c.g.send(t, c.lib.Address(), msg, typ)
	c.watch(t, true, m)
	return m, msg
}

// sendLib sends one message from libsignal, not yet delivered.
func (c *spqrConv) sendLib(t *testing.T) (Ciphertext, string) {
	t.Helper()
	msg := fmt.Sprint("l", c.n)
	m := must(c.o.Encrypt(c.lib.Party, c.g.ia(), []byte(msg)))(t)
	c.watch(t, false, m)
	return m, msg
}

func (c *spqrConv) goToLib(t *testing.T) {
	t.Helper()
	m, msg := c.sendGo(t)
	sessLibReceive(t, c.o, c.lib, c.g.ia(), m, msg)
}

func (c *spqrConv) libToGo(t *testing.T) {
	t.Helper()
	m, msg := c.sendLib(t)
	c.g.receive(t, c.lib.Address(), m, msg)
}

// reloadGo restores Go's state from its encoded record, as after a restart.
func (c *spqrConv) reloadGo(t *testing.T) {
	t.Helper()
	g, peer := c.g, sessAddr(c.lib.Address())
	enc := g.record(t, c.lib.Address())
	var rec session.Record
	check(t, rec.UnmarshalBinary(enc))
	if again := must(rec.MarshalBinary())(t); !bytes.Equal(enc, again) {
		t.Fatal("record encoding does not round-trip")
	}
	fresh := session.NewMemoryStore(g.identity, g.regID)
	check(t, fresh.StoreSession(sessCtx, peer, &rec))
	k, _, _ := g.store.Identity(sessCtx, peer)
	_, _ = fresh.SaveIdentity(sessCtx, peer, k)
	g.store, g.st = fresh, fresh.Stores(g.addr)
}

// reloadLib moves libsignal's party through exportState/importState.
func (c *spqrConv) reloadLib(t *testing.T) {
	t.Helper()
	state := must(c.o.ExportState(c.lib.Party))(t)
	c.lib = must(c.o.ImportState(c.lib.Party, state))(t)
}

// 13: strict ping-pong of 300 messages in both role assignments. Epochs
// advance on both sides on E10's schedule, and every message carries an SPQR
// key: with SPQR required (libsignal 0.92+) even the initiator's first one.
func TestSPQRInteropPingPong(t *testing.T) {
	o := Start(t)
	for _, goFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("goAlice=%v", goFirst), func(t *testing.T) {
			c := newSPQRConv(t, o, goFirst)
			for i := range 300 {
				if (i%2 == 0) == goFirst {
					c.goToLib(t)
				} else {
					c.libToGo(t)
				}
			}
			if c.last[true] < 3 || c.last[false] < 3 {
				t.Fatalf("epochs reached: Go %d, libsignal %d; want ≥ 3", c.last[true], c.last[false])
			}
			if c.keyed[true]+c.keyed[false] != 300 {
				t.Fatalf("%d keyed messages of 300, want all 300", c.keyed[true]+c.keyed[false])
			}
			for epoch, at := range map[uint64]int{2: 86, 3: 173} {
				if c.firstAt[epoch] != at {
					t.Errorf("epoch %d first at message %d, want %d (E10)", epoch, c.firstAt[epoch], at)
				}
			}
			t.Logf("epoch first seen at message: %v", c.firstAt)
		})
	}
}

// 14: lopsided traffic, 600 messages one way with a reply every 10th, then
// the reverse; the epoch still advances (E10: about message 346).
func TestSPQRInteropLopsided(t *testing.T) {
	o := Start(t)
	for _, goFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("goAlice=%v", goFirst), func(t *testing.T) {
			c := newSPQRConv(t, o, goFirst)
			for _, goHeavy := range []bool{goFirst, !goFirst} {
				start, advancedAt := uint64(0), -1
				for i := range 600 {
					if goHeavy {
						c.goToLib(t)
					} else {
						c.libToGo(t)
					}
					if i == 0 {
						start = c.last[goHeavy]
					}
					if i%10 == 9 {
						if goHeavy {
							c.libToGo(t)
						} else {
							c.goToLib(t)
						}
					}
					if advancedAt < 0 && c.last[goHeavy] > start {
						advancedAt = i + 1
					}
				}
				if advancedAt < 0 {
					t.Fatalf("no epoch advance in 600 lopsided messages (Go heavy: %v)", goHeavy)
				}
				t.Logf("Go heavy %v: epoch advanced at message %d of 600, reached %d", goHeavy, advancedAt, c.last[goHeavy])
			}
		})
	}
}

// 16: random loss (10–30 %) and reordering of SPQR-carrying messages in
// both directions; the erasure code still completes epochs.
func TestSPQRInteropLossAndReordering(t *testing.T) {
	o := Start(t)
	for _, loss := range []int{10, 30} {
		t.Run(fmt.Sprintf("loss %d%%", loss), func(t *testing.T) {
			c := newSPQRConv(t, o, loss == 10)
			if loss == 10 {
				c.goToLib(t)
			} else {
				c.libToGo(t)
			}
			r := mrand.New(mrand.NewPCG(16, uint64(loss)))
			type sent struct {
				m   Ciphertext
				msg string
			}
			delivered := 0
			for range 50 {
				for _, fromGo := range []bool{true, false} {
					var burst []sent
					for range 1 + r.IntN(8) {
						var s sent
						if fromGo {
							s.m, s.msg = c.sendGo(t)
						} else {
							s.m, s.msg = c.sendLib(t)
						}
						burst = append(burst, s)
					}
					r.Shuffle(len(burst), func(i, j int) { burst[i], burst[j] = burst[j], burst[i] })
					for _, s := range burst {
						if r.IntN(100) < loss {
							continue
						}
						if fromGo {
							sessLibReceive(t, o, c.lib, c.g.ia(), s.m, s.msg)
						} else {
							c.g.receive(t, c.lib.Address(), s.m, s.msg)
						}
						delivered++
					}
				}
			}
			if c.last[true] < 2 || c.last[false] < 2 {
				t.Fatalf("epochs reached with %d%% loss: Go %d, libsignal %d", loss, c.last[true], c.last[false])
			}
			t.Logf("%d messages, %d delivered, epochs Go %d / libsignal %d", c.n, delivered, c.last[true], c.last[false])
		})
	}
}

// 18: tampering with pq_ratchet (the MAC covers it) is rejected by both,
// neither state changes, and the untampered message decrypts afterwards;
// at several stages of the braid.
func TestSPQRInteropTampering(t *testing.T) {
	o := Start(t)
	c := newSPQRConv(t, o, true)
	c.goToLib(t)
	c.libToGo(t)
	pqOf := func(m []byte) []byte { return fieldBytes(t, m[1:len(m)-8], 5) }
	set := func(m, pq []byte) []byte {
		if pq == nil {
			body := sessDropFields(t, m[1:len(m)-8], 5)
			return append(append([]byte{m[0]}, body...), m[len(m)-8:]...)
		}
		return sessRewriteSignal(t, m, map[protowire.Number]any{5: pq})
	}
	cases := map[string]func(pq []byte) []byte{
		"flip last byte": func(pq []byte) []byte { pq = bytes.Clone(pq); pq[len(pq)-1] ^= 1; return pq },
		"flip epoch":     func(pq []byte) []byte { pq = bytes.Clone(pq); pq[1] ^= 1; return pq },
		"flip index":     func(pq []byte) []byte { pq = bytes.Clone(pq); pq[2] ^= 1; return pq },
		"version 2":      func(pq []byte) []byte { pq = bytes.Clone(pq); pq[0] = 2; return pq },
		"truncated":      func(pq []byte) []byte { return bytes.Clone(pq[:len(pq)-1]) },
		"removed":        func([]byte) []byte { return nil },
	}
	rejected := 0
	for round := range 100 {
		tamper := round%5 == 0
		for _, fromGo := range []bool{true, false} {
			var m Ciphertext
			var msg string
			if fromGo {
				m, msg = c.sendGo(t)
			} else {
				m, msg = c.sendLib(t)
			}
			if tamper {
				for name, f := range cases {
					bad := Ciphertext{Type: m.Type, Ciphertext: set(m.Ciphertext, f(pqOf(m.Ciphertext)))}
					if fromGo {
						if class := sessLibRefuses(t, o, c.lib, c.g.ia(), bad); class == "" {
							t.Fatalf("%s: libsignal gave no error class", name)
						} else if round == 0 {
							t.Logf("libsignal on %s: %s", name, class)
						}
					} else {
						c.g.refuses(t, c.lib.Address(), bad, nil) // ErrInvalidMessage (SPQR) or ErrBadMAC
					}
					rejected++
				}
			}
			if fromGo {
				sessLibReceive(t, o, c.lib, c.g.ia(), m, msg)
			} else {
				c.g.receive(t, c.lib.Address(), m, msg)
			}
		}
	}
	if c.last[true] < 2 {
		t.Fatalf("epoch %d: the run did not cover the braid", c.last[true])
	}
	t.Logf("%d tampered messages rejected", rejected)
}

// 23: persistence mid-run: Go reloads its record every 1, 7 or 50 messages
// and libsignal's party goes through export/import every 100, across SPQR
// epochs.
func TestSPQRInteropPersistence(t *testing.T) {
	o := Start(t)
	for _, every := range []int{1, 7, 50} {
		t.Run(fmt.Sprint("every ", every), func(t *testing.T) {
			c := newSPQRConv(t, o, every != 7)
			goFirst := every != 7
			for i := range 300 {
				if (i%2 == 0) == goFirst {
					c.goToLib(t)
				} else {
					c.libToGo(t)
				}
				if i%every == 0 {
					c.reloadGo(t)
				}
				if i%100 == 50 {
					c.reloadLib(t)
				}
			}
			if c.last[true] < 3 || c.last[false] < 3 {
				t.Fatalf("epochs reached: Go %d, libsignal %d", c.last[true], c.last[false])
			}
		})
	}
}
