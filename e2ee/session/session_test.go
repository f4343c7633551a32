package session

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
)

// The only fixed Double Ratchet vector libsignal has:
// rust/protocol/src/ratchet/keys.rs, test_chain_key_derivation (no SPQR
// salt).
func TestChainKeyVector(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	var ck chainKey
	copy(ck.key[:], h("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f"))
	mk := deriveMessageKeys(ck.messageSeed(), nil)
	if got, want := mk.cipherKey[:], h("bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217"); !bytes.Equal(got, want) {
		t.Errorf("cipher key %x, want %x", got, want)
	}
	if got, want := mk.macKey[:], h("c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b"); !bytes.Equal(got, want) {
		t.Errorf("MAC key %x, want %x", got, want)
	}
	next := ck.next()
	if got, want := next.key[:], h("28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d"); !bytes.Equal(got, want) {
		t.Errorf("next chain key %x, want %x", got, want)
	}
	if next.index != 1 {
		t.Errorf("next index %d", next.index)
	}
}

func TestOneWay(t *testing.T) {
	for _, oneTime := range []bool{true, false} {
		t.Run(fmt.Sprintf("oneTimePreKey=%v", oneTime), func(t *testing.T) {
			alice, bob := newParty(t, 1), newParty(t, 2)
			connect(t, alice, bob, oneTime)
			for i := range 20 {
				c := alice.encrypt(t, bob, fmt.Sprint("a", i))
				if c.Type != TypePreKey || c.Body[0] != 0x44 {
					t.Fatalf("message %d: type %d, first byte %#x", i, c.Type, c.Body[0])
				}
				bob.decrypt(t, alice, c, fmt.Sprint("a", i))
			}
			if oneTime {
				if _, err := bob.store.LoadPreKey(ctx, 2001); !errors.Is(err, ErrNoPreKey) {
					t.Errorf("one-time prekey still there: %v", err)
				}
			}
			if _, err := bob.store.LoadKyberPreKey(ctx, 1001); !errors.Is(err, ErrNoPreKey) {
				t.Errorf("one-time Kyber prekey still there: %v", err)
			}
			// The reply acknowledges the session: Alice switches to type 2.
			c := bob.encrypt(t, alice, "reply")
			if c.Type != TypeSignal {
				t.Fatalf("reply type %d", c.Type)
			}
			alice.decrypt(t, bob, c, "reply")
			c = alice.encrypt(t, bob, "after")
			if c.Type != TypeSignal {
				t.Fatalf("after reply: type %d", c.Type)
			}
			bob.decrypt(t, alice, c, "after")
		})
	}
}

func TestPingPong(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	from, to := alice, bob
	for i := range 300 {
		msg := fmt.Sprint("msg ", i)
		to.decrypt(t, from, from.encrypt(t, to, msg), msg)
		from, to = to, from
	}
	rec, _ := alice.store.LoadSession(ctx, bob.addr)
	if n := len(rec.current.receivers); n != MaxReceiverChains {
		t.Errorf("%d receiver chains kept, want %d", n, MaxReceiverChains)
	}
}

func TestOutOfOrderWithinChain(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	var cs []Ciphertext
	for i := range 50 {
		cs = append(cs, alice.encrypt(t, bob, fmt.Sprint(i)))
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, i := range r.Perm(len(cs)) {
		bob.decrypt(t, alice, cs[i], fmt.Sprint(i))
	}
	rec, _ := bob.store.LoadSession(ctx, alice.addr)
	if n := len(rec.current.receivers[0].skipped); n != 0 {
		t.Errorf("%d skipped keys left", n)
	}
}

func TestOutOfOrderAcrossChains(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, false)
	a0 := alice.encrypt(t, bob, "a0")
	bob.decrypt(t, alice, a0, "a0")
	a1 := alice.encrypt(t, bob, "a1") // delayed, chain 1
	a2 := alice.encrypt(t, bob, "a2") // delayed, chain 1
	b0 := bob.encrypt(t, alice, "b0")
	b1 := bob.encrypt(t, alice, "b1") // delayed
	alice.decrypt(t, bob, b0, "b0")
	a3 := alice.encrypt(t, bob, "a3") // chain 2
	bob.decrypt(t, alice, a3, "a3")
	b2 := bob.encrypt(t, alice, "b2")
	alice.decrypt(t, bob, b2, "b2")
	a4 := alice.encrypt(t, bob, "a4") // chain 3
	bob.decrypt(t, alice, a4, "a4")
	bob.decrypt(t, alice, a2, "a2")
	bob.decrypt(t, alice, a1, "a1")
	alice.decrypt(t, bob, b1, "b1")
	// Everything delivered once; replays are duplicates.
	for _, c := range []Ciphertext{a1, a2, a3} {
		if _, err := Decrypt(ctx, bob.st, alice.addr, c); !errors.Is(err, ErrDuplicate) {
			t.Errorf("replay: %v, want ErrDuplicate", err)
		}
	}
}

func TestReceiverChainLimit(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "hi"), "hi")
	old := alice.encrypt(t, bob, "old") // on Alice's chain 1
	for i := range MaxReceiverChains {
		alice.decrypt(t, bob, bob.encrypt(t, alice, "b"), "b")
		bob.decrypt(t, alice, alice.encrypt(t, bob, fmt.Sprint(i)), fmt.Sprint(i))
	}
	before := bob.snapshot(t, alice)
	if _, err := Decrypt(ctx, bob.st, alice.addr, old); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("message on a forgotten chain: %v, want ErrBadMAC", err)
	}
	bob.assertUnchanged(t, alice, before)
}

func TestSkippedKeyBound(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	var cs []Ciphertext
	for i := range MaxMessageKeys + 2 {
		cs = append(cs, alice.encrypt(t, bob, fmt.Sprint(i)))
	}
	last := len(cs) - 1
	bob.decrypt(t, alice, cs[last], fmt.Sprint(last))
	rec, _ := bob.store.LoadSession(ctx, alice.addr)
	if n := len(rec.current.receivers[0].skipped); n != MaxMessageKeys {
		t.Fatalf("%d skipped keys kept, want %d", n, MaxMessageKeys)
	}
	// Message 0 is the one whose key was dropped.
	before := bob.snapshot(t, alice)
	if _, err := Decrypt(ctx, bob.st, alice.addr, cs[0]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("dropped key: %v, want ErrDuplicate", err)
	}
	bob.assertUnchanged(t, alice, before)
	for i := last - 1; i >= 1; i-- {
		bob.decrypt(t, alice, cs[i], fmt.Sprint(i))
	}
}

func TestForwardJumpLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("encrypts 25 000 messages")
	}
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "first"), "first") // Bob's chain at 1
	// Alice's sending chain can be fast-forwarded directly: the messages
	// in between would never be sent anyway.
	rec, _ := alice.store.LoadSession(ctx, bob.addr)
	ck := rec.current.sender.chain
	for ck.index < 1+MaxForwardJumps {
		ck = ck.next()
	}
	// States in records are never changed in place: change copies.
	setChain := func(ck chainKey) {
		s := rec.current.clone(true)
		s.sender.chain = ck
		rec.current = s
	}
	setChain(ck)
	saved := rec.Clone()
	_ = alice.store.StoreSession(ctx, bob.addr, rec)
	ok := alice.encrypt(t, bob, "jump") // counter 25 001: a jump of exactly 25 000
	_ = alice.store.StoreSession(ctx, bob.addr, saved)
	setChain(ck.next())
	_ = alice.store.StoreSession(ctx, bob.addr, rec)
	tooFar := alice.encrypt(t, bob, "too far") // a jump of 25 001

	before := bob.snapshot(t, alice)
	if _, err := Decrypt(ctx, bob.st, alice.addr, tooFar); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("jump of 25 001: %v, want ErrTooFarAhead", err)
	}
	bob.assertUnchanged(t, alice, before)
	bob.decrypt(t, alice, ok, "jump")
}

func TestDuplicate(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	c0 := alice.encrypt(t, bob, "zero")
	bob.decrypt(t, alice, c0, "zero")
	before := bob.snapshot(t, alice)
	if _, err := Decrypt(ctx, bob.st, alice.addr, c0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate PreKey message: %v", err)
	}
	bob.assertUnchanged(t, alice, before)
	alice.decrypt(t, bob, bob.encrypt(t, alice, "ack"), "ack")
	c1 := alice.encrypt(t, bob, "one")
	bob.decrypt(t, alice, c1, "one")
	before = bob.snapshot(t, alice)
	if _, err := Decrypt(ctx, bob.st, alice.addr, c1); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate SignalMessage: %v", err)
	}
	bob.assertUnchanged(t, alice, before)
}

func TestPaddingSizes(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	for _, n := range []int{0, 1, 15, 16, 17, 255, 4096, 65536} {
		pt := make([]byte, n)
		rand.Read(pt)
		c, err := Encrypt(ctx, alice.st, bob.addr, pt, t0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decrypt(ctx, bob.st, alice.addr, c)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("size %d: %v", n, err)
		}
		// Ciphertext length is the padded length: PKCS#7 always pads.
		msg, _ := parsePreKeyMessage(c.Body)
		if want := (n/16 + 1) * 16; len(msg.message.ciphertext) != want {
			t.Errorf("size %d: ciphertext %d bytes, want %d", n, len(msg.message.ciphertext), want)
		}
	}
}

// resign rebuilds a SignalMessage with changed fields but the original MAC
// (what an attacker without the keys can do).
func reencode(t *testing.T, body []byte, edit func(m *signalMessage)) []byte {
	t.Helper()
	m, err := parseSignalMessage(bytes.Clone(body))
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	var mk messageKeys
	out := encodeSignalMessage(&mk, m.ratchetKey, m.counter, m.previousCounter, m.ciphertext, m.pqRatchet, nil, curve.PublicKey{}, curve.PublicKey{})
	copy(out[len(out)-macLength:], body[len(body)-macLength:])
	return out
}

func TestTampering(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "setup"), "setup")
	alice.decrypt(t, bob, bob.encrypt(t, alice, "ack"), "ack")

	other, _ := curve.GenerateKeyPair(rand.Reader)
	cases := map[string]func(b []byte) []byte{
		"mac": func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"ciphertext": func(b []byte) []byte {
			return reencode(t, b, func(m *signalMessage) { m.ciphertext[0] ^= 1 })
		},
		"ratchet key": func(b []byte) []byte {
			return reencode(t, b, func(m *signalMessage) { m.ratchetKey = other.Public })
		},
		"counter": func(b []byte) []byte {
			return reencode(t, b, func(m *signalMessage) { m.counter++ })
		},
		"previous counter": func(b []byte) []byte {
			return reencode(t, b, func(m *signalMessage) { m.previousCounter += 7 })
		},
		"version byte": func(b []byte) []byte { b[0] = 0x43; return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)-1] },
		"added pq_ratchet": func(b []byte) []byte {
			return reencode(t, b, func(m *signalMessage) { m.pqRatchet = []byte{1, 1, 0, 0} })
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			for _, dir := range []struct{ from, to *party }{{alice, bob}, {bob, alice}} {
				c := dir.from.encrypt(t, dir.to, "secret")
				before := dir.to.snapshot(t, dir.from)
				bad := Ciphertext{Type: c.Type, Body: tamper(bytes.Clone(c.Body))}
				if _, err := Decrypt(ctx, dir.to.st, dir.from.addr, bad); err == nil {
					t.Fatal("tampered message accepted")
				}
				dir.to.assertUnchanged(t, dir.from, before)
				dir.to.decrypt(t, dir.from, c, "secret")
			}
		})
	}
}

func TestTamperingFirstMessageOfChain(t *testing.T) {
	// A new ratchet key triggers a DH step on receipt; a forged message
	// must not leave that step behind.
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "setup"), "setup")
	c := bob.encrypt(t, alice, "new chain")
	before := alice.snapshot(t, bob)
	bad := bytes.Clone(c.Body)
	bad[len(bad)-3] ^= 0x80
	if _, err := DecryptSignal(ctx, alice.st, bob.addr, bad); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("got %v, want ErrBadMAC", err)
	}
	alice.assertUnchanged(t, bob, before)
	alice.decrypt(t, bob, c, "new chain")
}

func TestPersistence(t *testing.T) {
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
				again, _ := rec.MarshalBinary()
				if !bytes.Equal(b, again) {
					t.Fatal("record encoding does not round-trip")
				}
				// A fresh store, as after a restart.
				fresh := NewMemoryStore(p.identity, p.store.regID)
				fresh.identities = p.store.identities
				_ = fresh.StoreSession(ctx, remote.addr, &rec)
				p.store = fresh
				p.st = fresh.Stores(p.addr)
			}
			r := mrand.New(mrand.NewPCG(3, uint64(every)))
			var pendingA, pendingB []Ciphertext
			var sentA, sentB []string
			delivered := 0
			for i := range 200 {
				if r.IntN(2) == 0 {
					pendingA = append(pendingA, alice.encrypt(t, bob, fmt.Sprint("a", i)))
					sentA = append(sentA, fmt.Sprint("a", i))
				} else if bob.snapshot(t, alice) != nil {
					pendingB = append(pendingB, bob.encrypt(t, alice, fmt.Sprint("b", i)))
					sentB = append(sentB, fmt.Sprint("b", i))
				}
				if r.IntN(3) == 0 {
					for k, c := range pendingA {
						bob.decrypt(t, alice, c, sentA[k])
						delivered++
					}
					pendingA, sentA = nil, nil
				}
				if r.IntN(3) == 0 {
					for k, c := range pendingB {
						alice.decrypt(t, bob, c, sentB[k])
						delivered++
					}
					pendingB, sentB = nil, nil
				}
				if i%every == 0 {
					reload(alice, bob)
					if bob.snapshot(t, alice) != nil {
						reload(bob, alice)
					}
				}
			}
			if delivered < 100 {
				t.Fatalf("only %d messages delivered", delivered)
			}
		})
	}
}

func TestSimultaneousInitiation(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	connect(t, bob, alice, true)
	ca := alice.encrypt(t, bob, "from alice")
	cb := bob.encrypt(t, alice, "from bob")
	if ca.Type != TypePreKey || cb.Type != TypePreKey {
		t.Fatal("expected PreKey messages")
	}
	bob.decrypt(t, alice, ca, "from alice")
	alice.decrypt(t, bob, cb, "from bob")
	// Each side now uses the session the other started; the first
	// messages sort it out and both converge on one session.
	for i := range 10 {
		c := alice.encrypt(t, bob, fmt.Sprint("a", i))
		bob.decrypt(t, alice, c, fmt.Sprint("a", i))
		c = bob.encrypt(t, alice, fmt.Sprint("b", i))
		alice.decrypt(t, bob, c, fmt.Sprint("b", i))
	}
	ra, _ := alice.store.LoadSession(ctx, bob.addr)
	rb, _ := bob.store.LoadSession(ctx, alice.addr)
	if ra.current.aliceBaseKey != rb.current.aliceBaseKey {
		t.Fatal("the two sides did not converge on one session")
	}
	if c := alice.encrypt(t, bob, "x"); c.Type != TypeSignal {
		t.Fatalf("converged session still sends type %d", c.Type)
	}
}

func TestUnacknowledgedExpiry(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	if _, err := Encrypt(ctx, alice.st, bob.addr, []byte("x"), t0.Add(MaxUnacknowledgedSessionAge)); err != nil {
		t.Fatalf("at exactly 30 days: %v", err)
	}
	before := alice.snapshot(t, bob)
	_, err := Encrypt(ctx, alice.st, bob.addr, []byte("x"), t0.Add(MaxUnacknowledgedSessionAge+time.Second))
	if !errors.Is(err, ErrStaleSession) || !errors.Is(err, ErrNoSession) {
		t.Fatalf("after 30 days: %v, want ErrStaleSession", err)
	}
	alice.assertUnchanged(t, bob, before)

	// Once Bob answers, age no longer matters.
	alice2, bob2 := newParty(t, 1), newParty(t, 1)
	connect(t, alice2, bob2, true)
	bob2.decrypt(t, alice2, alice2.encrypt(t, bob2, "hi"), "hi")
	alice2.decrypt(t, bob2, bob2.encrypt(t, alice2, "yo"), "yo")
	if _, err := Encrypt(ctx, alice2.st, bob2.addr, []byte("x"), t0.Add(365*24*time.Hour)); err != nil {
		t.Fatalf("acknowledged session: %v", err)
	}
}

func TestUntrustedIdentity(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "hi"), "hi")

	// Bob reinstalls: same address, new identity.
	bob2 := newParty(t, 1)
	bob2.addr = bob.addr
	bob2.st.Local = bob.addr
	before := alice.snapshot(t, bob)
	if err := ProcessBundle(ctx, alice.st, bob.addr, bob2.bundle(t, true), t0, rand.Reader); !errors.Is(err, ErrUntrustedIdentity) {
		t.Fatalf("ProcessBundle with a changed identity: %v", err)
	}
	alice.assertUnchanged(t, bob, before)

	// Alice reinstalls: Bob refuses her new PreKey message.
	alice2 := newParty(t, 1)
	alice2.addr = alice.addr
	alice2.st.Local = alice.addr
	connect(t, alice2, bob, true)
	c := alice2.encrypt(t, bob, "new me")
	before = bob.snapshot(t, alice)
	if _, err := Decrypt(ctx, bob.st, alice.addr, c); !errors.Is(err, ErrUntrustedIdentity) {
		t.Fatalf("PreKey message from a changed identity: %v", err)
	}
	bob.assertUnchanged(t, alice, before)
}

func TestBundleValidation(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	cases := map[string]func(b *Bundle){
		"signed prekey signature": func(b *Bundle) { b.SignedPreKeySignature[5] ^= 1 },
		"Kyber prekey signature":  func(b *Bundle) { b.KyberPreKeySignature[40] ^= 1 },
		"sign bit":                func(b *Bundle) { b.SignedPreKeySignature[63] ^= 0x80 },
		"signature of other key":  func(b *Bundle) { b.KyberPreKeySignature = bytes.Clone(b.SignedPreKeySignature) },
		"short signature":         func(b *Bundle) { b.SignedPreKeySignature = b.SignedPreKeySignature[:63] },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			b := bob.bundle(t, true)
			corrupt(&b)
			if err := ProcessBundle(ctx, alice.st, bob.addr, b, t0, rand.Reader); !errors.Is(err, ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
			if alice.snapshot(t, bob) != nil {
				t.Fatal("a session was stored")
			}
		})
	}
	if err := ProcessBundle(ctx, alice.st, Address{Name: bob.addr.Name, DeviceID: 128}, bob.bundle(t, true), t0, rand.Reader); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("device 128: %v", err)
	}
	if err := ProcessBundle(ctx, alice.st, Address{Name: bob.addr.Name, DeviceID: 0}, bob.bundle(t, true), t0, rand.Reader); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("device 0: %v", err)
	}
}

// reencodePreKey rebuilds a PreKeySignalMessage after edit.
func reencodePreKey(t *testing.T, body []byte, edit func(p *preKeyMessage)) []byte {
	t.Helper()
	p, err := parsePreKeyMessage(bytes.Clone(body))
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	return encodePreKeyMessage(p, p.message.serialized)
}

func TestPreKeyMessageRejections(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	c := alice.encrypt(t, bob, "hello")

	// The encoder must reproduce what the parser read, byte for byte.
	if again := reencodePreKey(t, c.Body, func(*preKeyMessage) {}); !bytes.Equal(again, c.Body) {
		t.Fatal("PreKeySignalMessage encoding does not round-trip")
	}
	var p [32]byte // p = 2^255 − 19, little-endian: not reduced
	p[0] = 0xED
	for i := 1; i < 31; i++ {
		p[i] = 0xFF
	}
	p[31] = 0x7F
	cases := []struct {
		name string
		body []byte
		want error
	}{
		{"u = p", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.baseKey = p }), ErrInvalidKey},
		{"u = 0 (small order)", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.baseKey = curve.PublicKey{} }), ErrInvalidKey},
		{"u = 1 (small order)", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.baseKey = curve.PublicKey{1} }), ErrInvalidKey},
		{"legacy version", append([]byte{0x33}, c.Body[1:]...), ErrLegacyVersion},
		{"future version", append([]byte{0x54}, c.Body[1:]...), ErrUnknownVersion},
		{"unknown signed prekey", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.signedPreKeyID = 99 }), ErrNoPreKey},
		{"unknown Kyber prekey", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.kyberPreKeyID = 99 }), ErrNoPreKey},
		{"unknown one-time prekey", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.preKeyID = 99 }), ErrNoPreKey},
		{"missing one-time prekey", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.hasPreKeyID = false }), ErrBadMAC},
		{"Kyber ciphertext corrupted", reencodePreKey(t, c.Body, func(m *preKeyMessage) {
			m.kyberCiphertext = bytes.Clone(m.kyberCiphertext)
			m.kyberCiphertext[100] ^= 1
		}), ErrBadMAC},
		{"Kyber ciphertext short", reencodePreKey(t, c.Body, func(m *preKeyMessage) { m.kyberCiphertext = m.kyberCiphertext[:100] }), ErrInvalidMessage},
		{"empty", nil, ErrInvalidMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecryptPreKey(ctx, bob.st, alice.addr, tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if bob.snapshot(t, alice) != nil {
				t.Fatal("a session was stored")
			}
		})
	}
	// Missing Kyber fields: hand-built without fields 7 and 8.
	m, _ := parsePreKeyMessage(bytes.Clone(c.Body))
	noKyber := encodePreKeyMessage(m, m.message.serialized)
	noKyber = noKyber[:len(noKyber)-len(m.kyberCiphertext)-3-len(uvarint(uint64(m.kyberPreKeyID)))-1]
	if _, err := DecryptPreKey(ctx, bob.st, alice.addr, noKyber); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("no Kyber fields: %v", err)
	}
	bob.decrypt(t, alice, c, "hello") // and the real one still works
}

func uvarint(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func TestLastResortKyberReplay(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	spk, _ := NewSignedPreKey(rand.Reader, bob.identity, 7, t0)
	kyber, _ := NewKyberPreKey(rand.Reader, bob.identity, 8, t0, true)
	bob.store.StoreSignedPreKey(spk)
	bob.store.StoreKyberPreKey(kyber)
	b := NewBundle(bob.store.regID, 1, bob.identity.Public, nil, spk, kyber)
	if err := ProcessBundle(ctx, alice.st, bob.addr, b, t0, rand.Reader); err != nil {
		t.Fatal(err)
	}
	c := alice.encrypt(t, bob, "one")
	bob.decrypt(t, alice, c, "one")
	// The last-resort key stays usable for other senders.
	carol := newParty(t, 1)
	if err := ProcessBundle(ctx, carol.st, bob.addr, b, t0, rand.Reader); err != nil {
		t.Fatal(err)
	}
	bob.decrypt(t, carol, carol.encrypt(t, bob, "two"), "two")
	// A replay of Alice's session start after Bob lost that session (here:
	// a reinstalled session store) is refused by the Kyber store.
	_ = bob.store.StoreSession(ctx, alice.addr, &Record{})
	if _, err := Decrypt(ctx, bob.st, alice.addr, c); !errors.Is(err, ErrPreKeyReused) {
		t.Fatalf("replay: %v, want ErrPreKeyReused", err)
	}
	if rec, _ := bob.store.LoadSession(ctx, alice.addr); rec.HasSession() {
		t.Fatal("a replay left a session behind")
	}
}

func TestSessionResetAndArchive(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "s1"), "s1")
	alice.decrypt(t, bob, bob.encrypt(t, alice, "ack1"), "ack1")
	late := alice.encrypt(t, bob, "late from session 1")

	// Alice starts over with a fresh bundle; Bob archives session 1.
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "s2"), "s2")
	// The delayed message still decrypts through the archive, and that
	// session becomes current again (libsignal promotes it too).
	bob.decrypt(t, alice, late, "late from session 1")
	alice.decrypt(t, bob, bob.encrypt(t, alice, "back on 1"), "back on 1")

	rec, _ := bob.store.LoadSession(ctx, alice.addr)
	if len(rec.previous) != 1 {
		t.Fatalf("%d archived states", len(rec.previous))
	}
	// Archive is bounded.
	for range MaxArchivedStates + 3 {
		rec.ArchiveCurrentState()
		rec.current = rec.previous[0].clone(true)
	}
	if len(rec.previous) != MaxArchivedStates {
		t.Fatalf("%d archived states, want %d", len(rec.previous), MaxArchivedStates)
	}
}

func TestMultiplePreKeyMessagesBeforeReply(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	var cs []Ciphertext
	for i := range 5 {
		cs = append(cs, alice.encrypt(t, bob, fmt.Sprint(i)))
	}
	for _, i := range []int{3, 0, 4, 1, 2} {
		bob.decrypt(t, alice, cs[i], fmt.Sprint(i))
	}
	rec, _ := bob.store.LoadSession(ctx, alice.addr)
	if len(rec.previous) != 0 {
		t.Fatal("repeated PreKey messages created extra sessions")
	}
}

func TestAddressesField(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 3)
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "hi"), "hi")
	alice.decrypt(t, bob, bob.encrypt(t, alice, "ack"), "ack")

	// Build a message the way libsignal ≥ 0.91 does, with field 6.
	send := func(addresses []byte) []byte {
		rec, _ := alice.store.LoadSession(ctx, bob.addr)
		s := rec.current
		ck := s.sender.chain
		pqMsg, pqKey, err := s.pqSend()
		if err != nil {
			t.Fatal(err)
		}
		mk := deriveMessageKeys(ck.messageSeed(), pqKey)
		body := encodeSignalMessage(&mk, s.sender.ratchet.Public, ck.index, s.previousCounter,
			encryptCBC(&mk, []byte("addressed")), pqMsg, addresses, s.localIdentity, s.remoteIdentity)
		s.sender.chain = ck.next()
		_ = alice.store.StoreSession(ctx, bob.addr, rec)
		return body
	}
	good, _ := encodeAddresses(alice.addr, bob.addr)
	if len(good) != 36 || good[0] != 0 || good[17] != 1 || good[35] != 3 {
		t.Fatalf("addresses %x", good)
	}
	swapped, _ := encodeAddresses(bob.addr, alice.addr)
	for _, tc := range []struct {
		name  string
		field []byte
		local Address
		ok    bool
	}{
		{"match", good, bob.addr, true},
		{"swapped", swapped, bob.addr, false},
		{"wrong device", append(bytes.Clone(good[:35]), 4), bob.addr, false},
		{"no local address", good, Address{}, false},
		{"empty field", []byte{}, bob.addr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := send(tc.field)
			st := bob.st
			st.Local = tc.local
			before := bob.snapshot(t, alice)
			_, err := DecryptSignal(ctx, st, alice.addr, body)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				if !errors.Is(err, ErrInvalidMessage) {
					t.Fatalf("got %v, want ErrInvalidMessage", err)
				}
				bob.assertUnchanged(t, alice, before)
			}
		})
	}
	if _, ok := serviceIDFixedWidth("PNI:" + alice.addr.Name); !ok {
		t.Error("PNI service id not recognised")
	}
	if _, ok := serviceIDFixedWidth("+14155550100"); ok {
		t.Error("phone number taken for a service id")
	}
}

func TestNoSession(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	if _, err := Encrypt(ctx, alice.st, bob.addr, []byte("x"), t0); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Encrypt: %v", err)
	}
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "hi"), "hi")
	c := bob.encrypt(t, alice, "yo")
	carol := newParty(t, 1)
	if _, err := Decrypt(ctx, carol.st, bob.addr, c); !errors.Is(err, ErrNoSession) {
		t.Fatalf("DecryptSignal without a session: %v", err)
	}
	if _, err := Decrypt(ctx, carol.st, bob.addr, Ciphertext{Type: 7, Body: c.Body}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := DecryptPreKey(ctx, Stores{Identity: carol.store, Sessions: carol.store}, bob.addr, c.Body); !errors.Is(err, ErrMissingStore) {
		t.Fatalf("no prekey stores: %v", err)
	}
	if _, err := Encrypt(ctx, Stores{}, bob.addr, nil, t0); !errors.Is(err, ErrMissingStore) {
		t.Fatalf("no stores: %v", err)
	}
}

// Encrypt writes the addresses field into PreKey messages, as libsignal 0.91
// and later do, only when both names are service ids, and never into
// SignalMessages.
func TestAddressesSent(t *testing.T) {
	addrOf := func(c Ciphertext) ([]byte, bool) {
		t.Helper()
		var m *signalMessage
		var err error
		if c.Type == TypePreKey {
			var p *preKeyMessage
			if p, err = parsePreKeyMessage(c.Body); err == nil {
				m = p.message
			}
		} else {
			m, err = parseSignalMessage(c.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.addresses, m.hasAddresses
	}
	alice, bob := newParty(t, 2), newParty(t, 5)
	connect(t, alice, bob, false)
	for i := range 2 {
		c := alice.encrypt(t, bob, fmt.Sprint("p", i))
		want, _ := encodeAddresses(alice.addr, bob.addr)
		if got, has := addrOf(c); c.Type != TypePreKey || !has || !bytes.Equal(got, want) {
			t.Fatalf("PreKey message %d: addresses %x (present %v), want %x", i, got, has, want)
		}
		bob.decrypt(t, alice, c, fmt.Sprint("p", i))
	}
	for _, c := range []Ciphertext{bob.encrypt(t, alice, "w")} {
		if _, has := addrOf(c); c.Type != TypeSignal || has {
			t.Fatalf("SignalMessage with addresses (type %d)", c.Type)
		}
		alice.decrypt(t, bob, c, "w")
	}
	if _, has := addrOf(alice.encrypt(t, bob, "w2")); has {
		t.Fatal("SignalMessage after the answer has addresses")
	}

	// Names that are not service ids, or no local address: no field, and
	// the message still decrypts.
	for _, tc := range []struct {
		name  string
		setup func(a, b *party)
	}{
		{"local not a service id", func(a, b *party) { a.st.Local.Name = "alice" }},
		{"remote not a service id", func(a, b *party) { b.addr.Name = "bob"; b.st.Local.Name = "bob" }},
		{"no local address", func(a, b *party) { a.st.Local = Address{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newParty(t, 1), newParty(t, 1)
			tc.setup(a, b)
			connect(t, a, b, true)
			c := a.encrypt(t, b, "x")
			if _, has := addrOf(c); has {
				t.Fatal("addresses written")
			}
			b.decrypt(t, a, c, "x")
		})
	}
}
