package session

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// watchStore remembers every record handed to StoreSession with its
// encoding at that moment: once stored, nothing may change it (records
// share session states, so an operation that changed a state in place
// would show here).
type watchStore struct {
	*MemoryStore
	stored []watched
}

type watched struct {
	rec *Record
	enc []byte
}

func (w *watchStore) StoreSession(ctx context.Context, addr Address, rec *Record) error {
	enc, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	w.stored = append(w.stored, watched{rec, enc})
	return w.MemoryStore.StoreSession(ctx, addr, rec)
}

func (w *watchStore) check(tb testing.TB, when string) {
	tb.Helper()
	for i, s := range w.stored {
		if enc, _ := s.rec.MarshalBinary(); !bytes.Equal(enc, s.enc) {
			tb.Fatalf("%s: stored record %d changed after it was stored", when, i)
		}
	}
}

// singleRecord is a SessionStore that is one caller-owned record: the
// operations run on it in place, as on a record the caller loaded.
type singleRecord struct{ rec *Record }

func (s *singleRecord) LoadSession(context.Context, Address) (*Record, error) { return s.rec, nil }

func (s *singleRecord) StoreSession(_ context.Context, _ Address, rec *Record) error {
	s.rec = rec
	return nil
}

// Records share session states, which must therefore never change once in a
// record: whatever runs (both directions, SPQR epochs, out-of-order and
// late messages, skipped keys used up, tampered messages, a session reset
// with late messages from the old session), no record that was stored
// changes afterwards, and a caller working on a loaded record changes
// nothing in the store until it stores the record.
func TestStoreDoesNotAlias(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	wa, wb := &watchStore{MemoryStore: alice.store}, &watchStore{MemoryStore: bob.store}
	alice.st.Sessions, bob.st.Sessions = wa, wb
	connect(t, alice, bob, true)
	bob.decrypt(t, alice, alice.encrypt(t, bob, "hello"), "hello")
	rnd := mrand.New(mrand.NewPCG(41, 42))
	type inFlight struct {
		c   Ciphertext
		msg string
	}
	var queue [2][]inFlight // to alice, to bob
	parties := [2]*party{alice, bob}
	for step := range 400 {
		if step == 200 {
			connect(t, alice, bob, true) // a reset; messages in flight are late
		}
		to := rnd.IntN(2)
		from := 1 - to
		if rnd.Float64() < 0.55 || len(queue[to]) == 0 {
			msg := fmt.Sprint("m", step)
			queue[to] = append(queue[to], inFlight{parties[from].encrypt(t, parties[to], msg), msg})
		} else {
			q := queue[to]
			i := 0
			if rnd.Float64() < 0.3 {
				i = rnd.IntN(len(q))
			}
			m := q[i]
			queue[to] = append(q[:i:i], q[i+1:]...)
			if rnd.Float64() < 0.2 {
				bad := Ciphertext{Type: m.c.Type, Body: bytes.Clone(m.c.Body)}
				bad.Body[len(bad.Body)-1] ^= 1
				before := parties[to].snapshot(t, parties[from])
				if _, err := Decrypt(ctx, parties[to].st, parties[from].addr, bad); err == nil {
					t.Fatalf("step %d: tampered message accepted", step)
				}
				parties[to].assertUnchanged(t, parties[from], before)
			}
			parties[to].decrypt(t, parties[from], m.c, m.msg)
		}
		wa.check(t, fmt.Sprint("step ", step))
		wb.check(t, fmt.Sprint("step ", step))
	}
	if alice.pqEpoch(t, bob) < 2 {
		t.Fatalf("SPQR epoch %d: the run did not cover the braid", alice.pqEpoch(t, bob))
	}

	// A caller's loaded record: operations on it leave the store alone.
	c := alice.encrypt(t, bob, "to both")
	before := bob.snapshot(t, alice)
	rec, _ := bob.store.LoadSession(ctx, alice.addr)
	own := bob.st
	own.Sessions = &singleRecord{rec}
	if got, err := Decrypt(ctx, own, alice.addr, c); err != nil || string(got) != "to both" {
		t.Fatalf("decrypt on the loaded record: %q, %v", got, err)
	}
	if _, err := Encrypt(ctx, own, alice.addr, []byte("not sent"), t0); err != nil {
		t.Fatal(err)
	}
	rec.ArchiveCurrentState()
	bob.assertUnchanged(t, alice, before)
	bob.decrypt(t, alice, c, "to both")
}

// Copies of a record share session states; operations on two copies at the
// same time must not write to anything shared (run with -race).
func TestSharedStatesConcurrent(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	for i := range 30 { // into the braid: encoders with caches, decoders with points
		bob.decrypt(t, alice, alice.encrypt(t, bob, fmt.Sprint(i)), fmt.Sprint(i))
		alice.decrypt(t, bob, bob.encrypt(t, alice, fmt.Sprint(i)), fmt.Sprint(i))
	}
	in := []Ciphertext{alice.encrypt(t, bob, "x"), alice.encrypt(t, bob, "y")}
	base, _ := bob.store.LoadSession(ctx, alice.addr)
	errs := make(chan error, 2)
	for range 2 {
		own := bob.st
		own.Sessions = &singleRecord{base.Clone()}
		go func() {
			for _, c := range []Ciphertext{in[1], in[0]} {
				if _, err := Decrypt(ctx, own, alice.addr, c); err != nil {
					errs <- err
					return
				}
			}
			for range 20 {
				if _, err := Encrypt(ctx, own, alice.addr, []byte("z"), t0); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
