package session

import (
	"crypto/rand"
	"testing"
)

var benchPlaintext = make([]byte, 100)

// BenchmarkOneWay is one message on an established chain: encrypt plus
// decrypt, stores included (in-memory, records cloned on load and store).
func BenchmarkOneWay(b *testing.B) {
	alice, bob := newParty(b, 1), newParty(b, 1)
	connect(b, alice, bob, true)
	bob.decrypt(b, alice, alice.encrypt(b, bob, "setup"), "setup")
	alice.decrypt(b, bob, bob.encrypt(b, alice, "ack"), "ack")
	b.ReportAllocs()
	for b.Loop() {
		c, err := Encrypt(ctx, alice.st, bob.addr, benchPlaintext, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecryptSignal(ctx, bob.st, alice.addr, c.Body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingPong alternates the direction, so every message carries a
// new ratchet key and costs a DH ratchet step on both sides.
func BenchmarkPingPong(b *testing.B) {
	alice, bob := newParty(b, 1), newParty(b, 1)
	connect(b, alice, bob, true)
	bob.decrypt(b, alice, alice.encrypt(b, bob, "setup"), "setup")
	from, to := bob, alice
	b.ReportAllocs()
	for b.Loop() {
		c, err := Encrypt(ctx, from.st, to.addr, benchPlaintext, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecryptSignal(ctx, to.st, from.addr, c.Body); err != nil {
			b.Fatal(err)
		}
		from, to = to, from
	}
}

// BenchmarkSessionSetup is a whole PQXDH start: Bob generates and signs his
// prekeys, Alice verifies the bundle and runs PQXDH, encrypts the first
// message, and Bob decrypts it.
func BenchmarkSessionSetup(b *testing.B) {
	alice, bob := newParty(b, 1), newParty(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		spk, err := NewSignedPreKey(rand.Reader, bob.identity, 1, t0)
		if err != nil {
			b.Fatal(err)
		}
		kyber, err := NewKyberPreKey(rand.Reader, bob.identity, 2, t0, false)
		if err != nil {
			b.Fatal(err)
		}
		pre, err := NewPreKey(rand.Reader, 3)
		if err != nil {
			b.Fatal(err)
		}
		bob.store.StoreSignedPreKey(spk)
		bob.store.StoreKyberPreKey(kyber)
		bob.store.StorePreKey(pre)
		bundle := NewBundle(1, 1, bob.identity.Public, &pre, spk, kyber)
		if err := ProcessBundle(ctx, alice.st, bob.addr, bundle, t0, rand.Reader); err != nil {
			b.Fatal(err)
		}
		c, err := Encrypt(ctx, alice.st, bob.addr, benchPlaintext, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecryptPreKey(ctx, bob.st, alice.addr, c.Body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordRoundTrip is MarshalBinary + UnmarshalBinary of a record
// after a ping-pong exchange (5 receiver chains), as a SQLite-backed store
// would do per message.
func BenchmarkRecordRoundTrip(b *testing.B) {
	alice, bob := newParty(b, 1), newParty(b, 1)
	connect(b, alice, bob, true)
	from, to := alice, bob
	for range 20 {
		to.decrypt(b, from, from.encrypt(b, to, "x"), "x")
		from, to = to, from
	}
	rec, _ := alice.store.LoadSession(ctx, bob.addr)
	enc, _ := rec.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		out, _ := rec.MarshalBinary()
		var r Record
		if err := r.UnmarshalBinary(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "record-bytes")
}
