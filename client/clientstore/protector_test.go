package clientstore

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-im/parley/types"
)

// fileDigests hashes every file of the database (main, -wal, -shm).
func fileDigests(t *testing.T, path string) map[string][32]byte {
	t.Helper()
	files, _ := filepath.Glob(path + "*")
	out := map[string][32]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = sha256.Sum256(b)
	}
	return out
}

// sealedDump reads every sealed column of the data tables straight from the
// file, to compare before and after a passphrase change.
func sealedDump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, table := range []string{"account", "identities", "sessions", "prekeys", "contacts", "conversations", "messages", "outbox"} {
		rows, err := db.Query(`SELECT sealed FROM ` + table + ` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			b.WriteString(table + ":" + hex.EncodeToString(v) + "\n")
		}
		rows.Close()
	}
	return b.String()
}

// fill puts an account, keys, a contact and a message in st.
func fill(t *testing.T, st *Store) (Account, MessageRef) {
	t.Helper()
	a := register(t, st, 1)
	if _, _, err := st.RotateSignedPreKeys(ctx, t0); err != nil {
		t.Fatal(err)
	}
	peer := types.NewAccountID()
	if err := st.SaveContact(ctx, Contact{Account: peer, Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	conv, err := st.DirectConversation(ctx, peer)
	if err != nil {
		t.Fatal(err)
	}
	ref := MessageRef{Sender: peer, ID: types.NewMessageID()}
	if _, err := st.AddMessage(ctx, Message{Conversation: conv.ID, ID: ref.ID, Sender: types.Address{Account: peer, Device: 1},
		Direction: Incoming, Content: []byte("secret"), SentAt: t0}); err != nil {
		t.Fatal(err)
	}
	return a, ref
}

func TestWrongPassphraseChangesNothing(t *testing.T) {
	st, path := newStore(t)
	a, ref := fill(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileDigests(t, path)
	for _, pass := range []string{"wrong", "", testPass + " ", strings.ToUpper(testPass)} {
		s, err := Open(ctx, path, protector(pass), nil)
		if !errors.Is(err, ErrWrongKey) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("Open with %q = %v, want ErrWrongKey", pass, err)
		}
	}
	if after := fileDigests(t, path); len(after) != len(before) || !mapsEqual(before, after) {
		t.Fatalf("a failed unlock changed the files: %v -> %v", before, after)
	}
	st2 := openAt(t, path)
	got, err := st2.Account(ctx)
	if err != nil || got.ID != a.ID || got.Identity != a.Identity {
		t.Fatalf("account after failed attempts = %v, %v", got, err)
	}
	if m, err := st2.Message(ctx, ref); err != nil || string(m.Content) != "secret" {
		t.Fatalf("message after failed attempts = %q, %v", m.Content, err)
	}
}

func mapsEqual(a, b map[string][32]byte) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestChangePassphraseRewrapsOnly(t *testing.T) {
	st, path := newStore(t)
	_, ref := fill(t, st)
	before := sealedDump(t, path)

	newPass := &PassphraseProtector{Passphrase: []byte("a new passphrase"), Params: Argon2Params{Time: 2, MemoryKiB: 128, Threads: 2}}
	if err := st.ChangeProtector(ctx, protector("not the current one"), newPass); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("ChangeProtector with a wrong current passphrase = %v, want ErrWrongKey", err)
	}
	if err := st.ChangeProtector(ctx, protector(testPass), newPass); err != nil {
		t.Fatal(err)
	}
	// The open store keeps working.
	if _, err := st.Message(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if after := sealedDump(t, path); after != before {
		t.Fatal("changing the passphrase changed sealed data")
	}
	if _, err := Open(ctx, path, protector(testPass), nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old passphrase after change = %v, want ErrWrongKey", err)
	}
	st2, err := Open(ctx, path, Passphrase("a new passphrase"), nil) // costs come from the file
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if m, err := st2.Message(ctx, ref); err != nil || string(m.Content) != "secret" {
		t.Fatalf("message with the new passphrase = %q, %v", m.Content, err)
	}
}

func TestProtectorMismatchAndTampering(t *testing.T) {
	st, path := newStore(t)
	fill(t, st)
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wrapped []byte
	if err := db.QueryRow(`SELECT wrapped FROM store_keys`).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		protector string
		wrapped   func([]byte) []byte
		want      error
	}{
		{"other protector kind", "keyring", nil, ErrWrongKey},
		{"truncated", "passphrase", func(b []byte) []byte { return b[:len(b)-1] }, ErrCorrupt},
		{"unknown version", "passphrase", func(b []byte) []byte { b[0] = 9; return b }, ErrCorrupt},
		{"changed cost", "passphrase", func(b []byte) []byte { b[9] = 2; return b }, ErrWrongKey},
		{"absurd memory", "passphrase", func(b []byte) []byte { copy(b[5:9], []byte{0xff, 0xff, 0xff, 0xff}); return b }, ErrCorrupt},
		{"flipped key bit", "passphrase", func(b []byte) []byte { b[len(b)-20] ^= 1; return b }, ErrWrongKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := bytes.Clone(wrapped)
			if tc.wrapped != nil {
				w = tc.wrapped(w)
			}
			if _, err := db.Exec(`UPDATE store_keys SET protector = ?, wrapped = ?`, tc.protector, w); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, path, protector(testPass), nil)
			if !errors.Is(err, tc.want) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := db.Exec(`UPDATE store_keys SET protector = 'passphrase', wrapped = ?`, wrapped); err != nil {
		t.Fatal(err)
	}
	openAt(t, path)
}

func TestPassphraseProtectorInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.db")
	if _, err := Open(ctx, path, protector(""), nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("creating with an empty passphrase = %v, want ErrInvalid", err)
	}
	bad := &PassphraseProtector{Passphrase: []byte("x"), Params: Argon2Params{Time: 1, MemoryKiB: 1, Threads: 1}}
	if _, err := bad.Wrap(ctx, make([]byte, DataKeySize)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Wrap with too little memory = %v, want ErrInvalid", err)
	}
	if _, err := Open(ctx, path, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open without protector = %v", err)
	}
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := Open(ctx, p, protector(testPass), nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Open(%q) = %v, want ErrInvalid", p, err)
		}
	}
}

// The wrapped-key format is fixed: a key wrapped by this version, kept in
// testdata, still unwraps. (Regenerate only for a new format version.)
func TestPassphraseGolden(t *testing.T) {
	const golden = "testdata/passphrase-v1.hex"
	want := bytes.Repeat([]byte{0x42}, DataKeySize)
	p := &PassphraseProtector{Passphrase: []byte("parley golden"), Params: Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	raw, err := os.ReadFile(golden)
	if os.IsNotExist(err) && os.Getenv("PARLEY_UPDATE_GOLDEN") != "" {
		w, err := p.Wrap(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		raw = []byte(hex.EncodeToString(w) + "\n")
		if err := os.WriteFile(golden, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	wrapped, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Unwrap(ctx, wrapped)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("golden unwrap = %x, %v", got, err)
	}
	if _, err := Passphrase("parley golden!").Unwrap(ctx, wrapped); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("golden with a wrong passphrase = %v", err)
	}
}
