package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"google.golang.org/protobuf/encoding/protowire"
)

func FuzzParseSignalMessage(f *testing.F) {
	alice, bob := newParty(f, 1), newParty(f, 1)
	connect(f, alice, bob, true)
	bob.decrypt(f, alice, alice.encrypt(f, bob, "x"), "x")
	f.Add(bob.encrypt(f, alice, "hello").Body)
	f.Add([]byte{0x44})
	f.Add(bytes.Repeat([]byte{0x44}, 9))
	for _, m := range goldenMessages(f) {
		if p, err := parsePreKeyMessage(m); err == nil {
			f.Add(p.message.serialized) // libsignal's, with a pq_ratchet offer
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseSignalMessage(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to something that parses the same.
		var mk messageKeys
		var addrs []byte
		if m.hasAddresses {
			addrs = m.addresses
			if addrs == nil {
				addrs = []byte{}
			}
		}
		out := encodeSignalMessage(&mk, m.ratchetKey, m.counter, m.previousCounter, m.ciphertext, m.pqRatchet, addrs, curve.PublicKey{}, curve.PublicKey{})
		m2, err := parseSignalMessage(out)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if m2.ratchetKey != m.ratchetKey || m2.counter != m.counter || m2.previousCounter != m.previousCounter ||
			!bytes.Equal(m2.ciphertext, m.ciphertext) || !bytes.Equal(m2.pqRatchet, m.pqRatchet) || m2.hasAddresses != m.hasAddresses {
			t.Fatal("re-encoded message differs")
		}
	})
}

func FuzzParsePreKeyMessage(f *testing.F) {
	alice, bob := newParty(f, 1), newParty(f, 1)
	connect(f, alice, bob, true)
	f.Add(alice.encrypt(f, bob, "hello").Body)
	connect(f, alice, bob, false)
	f.Add(alice.encrypt(f, bob, "hello").Body)
	f.Add([]byte{0x44, 0x08, 0x01})
	for _, m := range goldenMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePreKeyMessage(b)
		if err != nil {
			return
		}
		out := encodePreKeyMessage(p, p.message.serialized)
		p2, err := parsePreKeyMessage(out)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if p2.baseKey != p.baseKey || p2.identityKey != p.identityKey || p2.preKeyID != p.preKeyID ||
			p2.hasPreKeyID != p.hasPreKeyID || p2.signedPreKeyID != p.signedPreKeyID ||
			p2.kyberPreKeyID != p.kyberPreKeyID || p2.registrationID != p.registrationID ||
			!bytes.Equal(p2.kyberCiphertext, p.kyberCiphertext) || !bytes.Equal(p2.message.serialized, p.message.serialized) {
			t.Fatal("re-encoded message differs")
		}
	})
}

// fuzzPair is a session pair shared by the Decrypt fuzz iterations. Bob's
// state is reset to the snapshot before each input.
type fuzzPair struct {
	alice, bob *party
	snapshot   *Record
	valid      [][]byte // messages from Alice that Bob has not seen
}

var (
	fuzzOnce sync.Once
	fuzzP    *fuzzPair
)

func fuzzSetup(f *testing.F) *fuzzPair {
	fuzzOnce.Do(func() {
		alice, bob := newParty(f, 1), newParty(f, 1)
		connect(f, alice, bob, true)
		p := &fuzzPair{alice: alice, bob: bob}
		first := alice.encrypt(f, bob, "first")
		p.valid = append(p.valid, first.Body)
		bob.decrypt(f, alice, first, "first")
		alice.decrypt(f, bob, bob.encrypt(f, alice, "ack"), "ack")
		for _, m := range []string{"", "one", "two, a bit longer than a block"} {
			p.valid = append(p.valid, alice.encrypt(f, bob, m).Body)
		}
		p.snapshot, _ = bob.store.LoadSession(context.Background(), alice.addr)
		fuzzP = p
	})
	return fuzzP
}

// FuzzDecrypt feeds arbitrary bytes to both decrypt entry points of a
// live session: they must never panic, and a failure must leave the stored
// state exactly as it was.
func FuzzDecrypt(f *testing.F) {
	p := fuzzSetup(f)
	for _, v := range p.valid {
		f.Add(v)
		f.Add(v[:len(v)/2])
		flipped := bytes.Clone(v)
		flipped[len(flipped)/2] ^= 0x10
		f.Add(flipped)
	}
	f.Add(protowire.AppendTag([]byte{0x44}, 1, protowire.BytesType))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = p.bob.store.StoreSession(ctx, p.alice.addr, p.snapshot)
		want, _ := p.snapshot.MarshalBinary()
		for _, decrypt := range []func() ([]byte, error){
			func() ([]byte, error) { return DecryptSignal(ctx, p.bob.st, p.alice.addr, b) },
			func() ([]byte, error) { return DecryptPreKey(ctx, p.bob.st, p.alice.addr, b) },
		} {
			if _, err := decrypt(); err == nil {
				_ = p.bob.store.StoreSession(ctx, p.alice.addr, p.snapshot)
				continue
			}
			if got := p.bob.snapshot(t, p.alice); !bytes.Equal(got, want) {
				t.Fatal("a failed decrypt changed the stored session")
			}
		}
	})
}

func FuzzRecordUnmarshal(f *testing.F) {
	alice, bob := newParty(f, 1), newParty(f, 1)
	connect(f, alice, bob, true)
	var cs []Ciphertext
	for range 3 {
		cs = append(cs, alice.encrypt(f, bob, "x"))
	}
	bob.decrypt(f, alice, cs[2], "x")
	f.Add(alice.snapshot(f, bob))
	f.Add(bob.snapshot(f, alice))
	f.Add([]byte{0x08, 0x01})
	f.Add([]byte{0x08, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		// Anything accepted round-trips and can be used without panicking.
		out, _ := r.MarshalBinary()
		var r2 Record
		if err := r2.UnmarshalBinary(out); err != nil {
			t.Fatalf("re-encoded record rejected: %v", err)
		}
		again, _ := r2.MarshalBinary()
		if !bytes.Equal(out, again) {
			t.Fatal("record encoding is not stable")
		}
		m := NewMemoryStore(bob.identity, 1)
		_ = m.StoreSession(ctx, alice.addr, &r)
		st := m.Stores(bob.addr)
		_, _ = Encrypt(ctx, st, alice.addr, []byte("x"), t0)
		_ = m.StoreSession(ctx, alice.addr, &r)
		_, _ = DecryptSignal(ctx, st, alice.addr, cs[0].Body[len(cs[0].Body)-200:])
		_, _ = DecryptPreKey(ctx, st, alice.addr, cs[1].Body)
	})
}

// goldenMessages returns libsignal's PreKeySignalMessages from testdata.
func goldenMessages(tb testing.TB) [][]byte {
	raw, err := os.ReadFile("testdata/libsignal-0.90.0-prekey.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v struct {
		Messages []struct {
			Ciphertext string `json:"ciphertext"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, m := range v.Messages {
		b, err := hex.DecodeString(m.Ciphertext)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
