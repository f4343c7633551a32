package session

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRecordAccessors(t *testing.T) {
	var empty *Record
	if empty.HasSession() || empty.Acknowledged() {
		t.Fatal("nil record reports a session")
	}
	if _, ok := empty.RemoteIdentity(); ok {
		t.Fatal("nil record has an identity")
	}
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	rec, _ := alice.store.LoadSession(ctx, bob.addr)
	if !rec.HasSession() || rec.Acknowledged() {
		t.Fatal("fresh session: want a session, unacknowledged")
	}
	if k, ok := rec.RemoteIdentity(); !ok || k != bob.identity.Public {
		t.Fatal("remote identity")
	}
	if id, ok := rec.RemoteRegistrationID(); !ok || id != bob.store.regID {
		t.Fatal("remote registration id")
	}
	bob.decrypt(t, alice, alice.encrypt(t, bob, "hi"), "hi")
	alice.decrypt(t, bob, bob.encrypt(t, alice, "yo"), "yo")
	rec, _ = alice.store.LoadSession(ctx, bob.addr)
	if !rec.Acknowledged() {
		t.Fatal("answered session is not acknowledged")
	}
	// A reset archives the session: no current one, but late messages
	// still decrypt through the archive.
	late := bob.encrypt(t, alice, "late")
	rec.ArchiveCurrentState()
	_ = alice.store.StoreSession(ctx, bob.addr, rec)
	if _, err := Encrypt(ctx, alice.st, bob.addr, []byte("x"), t0); !errors.Is(err, ErrNoSession) {
		t.Fatalf("encrypt after reset: %v", err)
	}
	alice.decrypt(t, bob, late, "late")
}

func TestRecordUnmarshalRejects(t *testing.T) {
	alice, bob := newParty(t, 1), newParty(t, 1)
	connect(t, alice, bob, true)
	good := alice.snapshot(t, bob)
	var r Record
	if err := r.UnmarshalBinary(good); err != nil {
		t.Fatal(err)
	}
	before, _ := r.MarshalBinary()
	for name, b := range map[string][]byte{
		"empty":          {},
		"format 3":       append([]byte{0x08, 0x03}, good[2:]...),
		"format 0":       append([]byte{0x08, 0x00}, good[2:]...),
		"truncated":      good[:len(good)-1],
		"garbage":        bytes.Repeat([]byte{0xFF}, 40),
		"state no field": {0x08, 0x01, 0x12, 0x00},
	} {
		if err := r.UnmarshalBinary(b); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: %v, want ErrInvalidRecord", name, err)
		}
		if after, _ := r.MarshalBinary(); !bytes.Equal(before, after) {
			t.Errorf("%s: a failed UnmarshalBinary changed the record", name)
		}
	}
}

// Records are stored: their encoding must not change with the in-memory
// layout. The files were written by the first implementation (commit
// e54332b) after 57 ping-pong rounds with skipped messages, and for the
// initiator a session reset (an archived state and a pending prekey
// message); they must read back and encode to the same bytes.
func TestRecordEncodingGolden(t *testing.T) {
	for _, name := range []string{"record-format2-initiator.bin", "record-format2-responder.bin"} {
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var rec Record
		if err := rec.UnmarshalBinary(want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.current == nil || rec.current.pq == nil {
			t.Fatalf("%s: no current SPQR state", name)
		}
		got, err := rec.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: re-encoded differently", name)
		}
	}
}
