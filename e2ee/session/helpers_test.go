package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

// party is one device with an in-memory store.
type party struct {
	addr     Address
	store    *MemoryStore
	st       Stores
	identity curve.KeyPair
	nextID   uint32
}

var partySeq uint32

func newParty(tb testing.TB, device uint32) *party {
	tb.Helper()
	id, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	partySeq++
	// Service-id shaped names, so that the addresses field is defined.
	addr := Address{Name: fmt.Sprintf("%08x-0000-4000-8000-%012x", partySeq, partySeq), DeviceID: device}
	m := NewMemoryStore(id, 1000+partySeq)
	return &party{addr: addr, store: m, st: m.Stores(addr), identity: id, nextID: 1}
}

// bundle publishes fresh prekeys (a one-time prekey only if oneTime).
func (p *party) bundle(tb testing.TB, oneTime bool) Bundle {
	tb.Helper()
	id := p.nextID
	p.nextID++
	spk, err := NewSignedPreKey(rand.Reader, p.identity, id, t0)
	if err != nil {
		tb.Fatal(err)
	}
	kyber, err := NewKyberPreKey(rand.Reader, p.identity, id+1000, t0, false)
	if err != nil {
		tb.Fatal(err)
	}
	p.store.StoreSignedPreKey(spk)
	p.store.StoreKyberPreKey(kyber)
	var pre *PreKeyRecord
	if oneTime {
		r, err := NewPreKey(rand.Reader, id+2000)
		if err != nil {
			tb.Fatal(err)
		}
		p.store.StorePreKey(r)
		pre = &r
	}
	return NewBundle(p.store.regID, p.addr.DeviceID, p.identity.Public, pre, spk, kyber)
}

// connect makes a start a session with b.
func connect(tb testing.TB, a, b *party, oneTime bool) {
	tb.Helper()
	if err := ProcessBundle(ctx, a.st, b.addr, b.bundle(tb, oneTime), t0, rand.Reader); err != nil {
		tb.Fatal(err)
	}
}

func (p *party) encrypt(tb testing.TB, to *party, msg string) Ciphertext {
	tb.Helper()
	c, err := Encrypt(ctx, p.st, to.addr, []byte(msg), t0)
	if err != nil {
		tb.Fatalf("encrypt %q: %v", msg, err)
	}
	return c
}

func (p *party) decrypt(tb testing.TB, from *party, c Ciphertext, want string) {
	tb.Helper()
	got, err := Decrypt(ctx, p.st, from.addr, c)
	if err != nil {
		tb.Fatalf("decrypt (want %q): %v", want, err)
	}
	if string(got) != want {
		tb.Fatalf("decrypt: got %q, want %q", got, want)
	}
}

// snapshot is the stored record for remote, encoded (nil if none), so that
// tests can assert that a failed call changed nothing.
func (p *party) snapshot(tb testing.TB, remote *party) []byte {
	tb.Helper()
	rec, err := p.store.LoadSession(ctx, remote.addr)
	if err != nil {
		tb.Fatal(err)
	}
	if rec == nil {
		return nil
	}
	b, err := rec.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (p *party) assertUnchanged(tb testing.TB, remote *party, before []byte) {
	tb.Helper()
	if after := p.snapshot(tb, remote); !bytes.Equal(before, after) {
		tb.Fatal("a failed call changed the stored session")
	}
}
