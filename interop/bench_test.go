package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
)

// BenchmarkSideBySide measures our implementation and libsignal on the same
// machine in the same run, case by case:
//
//	oneWay        one message on an established chain, encrypt + decrypt
//	pingPong      the direction alternates: a DH ratchet step every message
//	sessionSetup  Bob makes and signs his prekeys, Alice processes the bundle
//	              (PQXDH), encrypts, Bob decrypts the PreKeySignalMessage
//	setupPublished
//	              the same against a bundle published beforehand: Bob's
//	              identity and signed prekey are made once, and a fresh
//	              one-time prekey and one-time Kyber prekey for every
//	              iteration, all outside the timing (Go: in batches with the
//	              timer stopped; Node: before the warm-up). Timed: Alice
//	              processes the bundle, encrypts, Bob decrypts
//	group         a SenderKeyMessage encrypted and decrypted by one member
//	xeddsaSign, xeddsaVerify, x25519
//	              the primitives alone, without stores
//
// all with 100-byte payloads and in-memory stores. The Go loop is the
// benchmark's own loop (so ns/op is ours) with the bodies of e2ee/session's
// BenchmarkOneWay, BenchmarkPingPong, BenchmarkSessionSetup and
// e2ee/senderkey's BenchmarkEncrypt100 + BenchmarkDecrypt100 and
// e2ee/curve's BenchmarkSign, BenchmarkVerify, BenchmarkAgree. Then the
// oracle's bench op times the same shapes inside Node, for about a second
// after its own warm-up. Reported per case: go-us and libsignal-us
// (microseconds per operation) and ratio = go-us / libsignal-us (below 1:
// we are faster).
//
// Both sides run the Triple Ratchet: two parties of the same implementation
// negotiate SPQR, so every message case includes its work on both sides.
// The libsignal figures are libsignal as a Node.js application runs it: they
// include the binding's async calls and store callbacks (an async call that
// only reads one record costs about 20 us on the 2-core machine), which
// dominate its message cases. The primitives (synchronous calls, no stores)
// compare the cryptographic cores.
//
//	go test -run '^$' -bench SideBySide -count 3 ./interop/
//
// It skips without Node.js or interop/oracle/node_modules, also under
// CI=true: it is a benchmark, not a test.
func BenchmarkSideBySide(b *testing.B) {
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join("oracle", "node_modules", "@signalapp", "libsignal-client", "package.json")); err != nil {
		b.Skip("the libsignal oracle is not installed: run npm ci in interop/oracle")
	}
	o := Start(b)
	for _, c := range []struct {
		name  string
		setup func(b *testing.B) func()
	}{
		{"oneWay", benchOneWay},
		{"pingPong", benchPingPong},
		{"sessionSetup", benchSessionSetup},
		{"setupPublished", benchSetupPublished},
		{"group", benchGroup},
		{"xeddsaSign", benchSign},
		{"xeddsaVerify", benchVerify},
		{"x25519", benchAgree},
	} {
		b.Run(c.name, func(b *testing.B) {
			step := c.setup(b)
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			goUS := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e3
			libUS := benchLibsignal(b, o, c.name, time.Second)
			b.ReportMetric(goUS, "go-us")
			b.ReportMetric(libUS, "libsignal-us")
			b.ReportMetric(goUS/libUS, "ratio")
		})
	}
}

// benchLibsignal runs the oracle's bench op for one case: a short run to
// estimate the cost, then one sized to take about d.
func benchLibsignal(b *testing.B, o *Oracle, name string, d time.Duration) float64 {
	b.Helper()
	run := func(n int) float64 {
		var r struct {
			MicrosecondsPerOp map[string]float64 `json:"microsecondsPerOp"`
		}
		if err := o.Call("bench", map[string]any{"iterations": n, "cases": []string{name}}, &r); err != nil {
			b.Fatal(err)
		}
		us, ok := r.MicrosecondsPerOp[name]
		if !ok || us <= 0 {
			b.Fatalf("oracle bench %s: %v", name, r.MicrosecondsPerOp)
		}
		return us
	}
	est := run(20)
	n := int(float64(d.Microseconds()) / est)
	return run(min(max(n, 20), 200_000))
}

var (
	benchCtx     = context.Background()
	benchNow     = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	benchPayload = make([]byte, 100)
)

// benchDev is one device with session.MemoryStore, as in e2ee/session's
// benchmarks.
type benchDev struct {
	addr     session.Address
	identity curve.KeyPair
	store    *session.MemoryStore
	st       session.Stores
}

func newBenchDev(b *testing.B, n int) *benchDev {
	b.Helper()
	id, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	d := &benchDev{addr: session.Address{Name: fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n), DeviceID: 1}, identity: id}
	d.store = session.NewMemoryStore(id, uint32(1000+n))
	d.st = d.store.Stores(d.addr)
	return d
}

// publish stores fresh prekeys (one-time 3, signed 1, Kyber 2, one-time
// Kyber) and returns the bundle.
func (d *benchDev) publish(b *testing.B) session.Bundle {
	spk, err := session.NewSignedPreKey(rand.Reader, d.identity, 1, benchNow)
	if err != nil {
		b.Fatal(err)
	}
	kyber, err := session.NewKyberPreKey(rand.Reader, d.identity, 2, benchNow, false)
	if err != nil {
		b.Fatal(err)
	}
	pre, err := session.NewPreKey(rand.Reader, 3)
	if err != nil {
		b.Fatal(err)
	}
	d.store.StoreSignedPreKey(spk)
	d.store.StoreKyberPreKey(kyber)
	d.store.StorePreKey(pre)
	return session.NewBundle(1000, 1, d.identity.Public, &pre, spk, kyber)
}

// send is one message from d to `to`: encrypt, then decrypt.
func (d *benchDev) send(b *testing.B, to *benchDev) {
	c, err := session.Encrypt(benchCtx, d.st, to.addr, benchPayload, benchNow)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := session.Decrypt(benchCtx, to.st, d.addr, c); err != nil {
		b.Fatal(err)
	}
}

func (d *benchDev) start(b *testing.B, to *benchDev) {
	if err := session.ProcessBundle(benchCtx, d.st, to.addr, to.publish(b), benchNow, rand.Reader); err != nil {
		b.Fatal(err)
	}
}

func benchOneWay(b *testing.B) func() {
	alice, bob := newBenchDev(b, 1), newBenchDev(b, 2)
	alice.start(b, bob)
	alice.send(b, bob) // the PreKeySignalMessage
	bob.send(b, alice) // the answer: from now on SignalMessages
	return func() { alice.send(b, bob) }
}

func benchPingPong(b *testing.B) func() {
	alice, bob := newBenchDev(b, 1), newBenchDev(b, 2)
	alice.start(b, bob)
	alice.send(b, bob)
	from, to := bob, alice
	return func() {
		from.send(b, to)
		from, to = to, from
	}
}

func benchSessionSetup(b *testing.B) func() {
	alice, bob := newBenchDev(b, 1), newBenchDev(b, 2)
	return func() {
		alice.start(b, bob)
		alice.send(b, bob)
	}
}

// benchSetupPublished is sessionSetup without Bob's publishing: his signed
// prekey is made once, and the one-time prekeys each iteration needs are
// made ahead, benchPoolSize at a time, with the timer stopped.
func benchSetupPublished(b *testing.B) func() {
	alice, bob := newBenchDev(b, 1), newBenchDev(b, 2)
	spk, err := session.NewSignedPreKey(rand.Reader, bob.identity, 1, benchNow)
	if err != nil {
		b.Fatal(err)
	}
	bob.store.StoreSignedPreKey(spk)
	var pool []session.Bundle
	id := uint32(100)
	return func() {
		if len(pool) == 0 {
			b.StopTimer()
			for range benchPoolSize {
				pool = append(pool, bob.publishOneTime(b, spk, id))
				id++
			}
			b.StartTimer()
		}
		bundle := pool[0]
		pool = pool[1:]
		if err := session.ProcessBundle(benchCtx, alice.st, bob.addr, bundle, benchNow, rand.Reader); err != nil {
			b.Fatal(err)
		}
		alice.send(b, bob)
	}
}

const benchPoolSize = 64

// publishOneTime stores a fresh one-time prekey and one-time Kyber prekey,
// both numbered id, and returns the bundle with them and spk.
func (d *benchDev) publishOneTime(b *testing.B, spk session.SignedPreKeyRecord, id uint32) session.Bundle {
	kyber, err := session.NewKyberPreKey(rand.Reader, d.identity, id, benchNow, false)
	if err != nil {
		b.Fatal(err)
	}
	pre, err := session.NewPreKey(rand.Reader, id)
	if err != nil {
		b.Fatal(err)
	}
	d.store.StoreKyberPreKey(kyber)
	d.store.StorePreKey(pre)
	return session.NewBundle(1000, 1, d.identity.Public, &pre, spk, kyber)
}

func benchGroup(b *testing.B) func() {
	alice := session.Address{Name: "00000001-0000-4000-8000-000000000001", DeviceID: 1}
	dist := [16]byte{0xd1, 0xf0, 0xe7, 0xa4, 0x5a, 0x4e, 0x4c, 0x6e, 0x9b, 0x7a, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f}
	sender, receiver := new(senderkey.MemoryStore), new(senderkey.MemoryStore)
	skdm, err := senderkey.CreateDistribution(benchCtx, sender, alice, dist, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := senderkey.ProcessDistribution(benchCtx, receiver, alice, skdm); err != nil {
		b.Fatal(err)
	}
	return func() {
		ct, err := senderkey.Encrypt(benchCtx, sender, alice, dist, benchPayload, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := senderkey.Decrypt(benchCtx, receiver, alice, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSign(b *testing.B) func() {
	kp, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if _, err := kp.Private.Sign(rand.Reader, benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B) func() {
	kp, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := kp.Private.Sign(rand.Reader, benchPayload)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if !kp.Public.Verify(benchPayload, sig[:]) {
			b.Fatal("the signature does not verify")
		}
	}
}

func benchAgree(b *testing.B) func() {
	a, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	c, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if _, err := a.Private.Agree(c.Public); err != nil {
			b.Fatal(err)
		}
	}
}
