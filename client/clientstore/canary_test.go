package clientstore

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// TestCanaryNotInFiles writes secrets and personal data through the API and
// then searches the raw database files (main file, -wal, -shm), while the
// store is open and after it is closed, for any of them in plain form.
func TestCanaryNotInFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "client.db")
	st := openAt(t, path)
	alice := register(t, st, 1)

	const (
		text    = "canary-7f3a: meet me at the old mill at midnight"
		edited  = "canary-edit-19c: actually at dawn"
		name    = "Canary McSecretface"
		phone   = "+4917612345678"
		emoji   = "🐤canary"
		payload = "canary-outbox-5521 pending text"
	)
	peer := types.NewAccountID()
	if err := st.SaveContact(ctx, Contact{Account: peer, Phone: phone, Name: name}); err != nil {
		t.Fatal(err)
	}
	conv, err := st.DirectConversation(ctx, peer)
	if err != nil {
		t.Fatal(err)
	}
	msgID := types.NewMessageID()
	ref := MessageRef{Sender: peer, ID: msgID}
	if _, err := st.AddMessage(ctx, Message{Conversation: conv.ID, ID: msgID, Sender: types.Address{Account: peer, Device: 1},
		Direction: Incoming, Kind: 1, Content: []byte(text), SentAt: t0, ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	outID := types.NewMessageID()
	if _, err := st.AddMessage(ctx, Message{Conversation: conv.ID, ID: outID, Sender: types.Address{Account: alice.ID, Device: 1},
		Direction: Outgoing, Kind: 1, Content: []byte(edited), SentAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetReaction(ctx, ref, alice.ID, emoji, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.SetReceipt(ctx, MessageRef{Sender: alice.ID, ID: outID}, peer, StatusRead, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddOutbox(ctx, []byte(payload), t0); err != nil {
		t.Fatal(err)
	}
	spk, lastResort, err := st.RotateSignedPreKeys(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	pks, err := st.GeneratePreKeys(ctx, 3, t0)
	if err != nil {
		t.Fatal(err)
	}
	kyber, err := st.GenerateKyberPreKeys(ctx, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A session and an identity for the peer.
	bob := newMemoryBackend(t, peer.String())
	pre := bob.newPreKey(t)
	bundle := session.NewBundle(bob.regID, 1, bob.identity.Public, &pre, bob.newSignedPreKey(t), bob.newKyberPreKey(t, false))
	stores, _ := st.Stores(ctx)
	if err := session.ProcessBundle(ctx, stores, bob.st.Local, bundle, t0, nil); err != nil {
		t.Fatal(err)
	}

	canaries := map[string][]byte{
		"message text":          []byte(text),
		"message text (edited)": []byte(edited),
		"contact name":          []byte(name),
		"phone number":          []byte(phone),
		"own phone number":      []byte(alice.Phone),
		"server URL":            []byte(alice.ServerURL),
		"reaction":              []byte(emoji),
		"outbox payload":        []byte(payload),
		"peer account id":       peer[:],
		"peer account id text":  []byte(peer.String()),
		"own account id":        alice.ID[:],
		"own account id text":   []byte(alice.ID.String()),
		"message id":            msgID[:],
		"identity private key":  alice.Identity.Private[:],
		"auth key seed":         alice.AuthKey.Seed(),
		"signed prekey private": spk.KeyPair.Private[:],
		"prekey private":        pks[0].KeyPair.Private[:],
		"Kyber seed":            kyber[0].KeyPair.Seed(),
		"last-resort seed":      lastResort.KeyPair.Seed(),
		"peer identity key":     bob.identity.Public[:],
	}
	for _, k := range []string{"message text", "contact name", "phone number"} {
		canaries[k+" (hex)"] = []byte(hex.EncodeToString(canaries[k]))
	}
	// The edit happens after the first version is written, so that both
	// the old and the new text pass through the WAL.
	if err := st.EditMessage(ctx, MessageRef{Sender: alice.ID, ID: outID}, []byte(edited+" v2"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(path + "*")
		var all []byte
		sawWAL := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, "-wal") && len(b) > 0 {
				sawWAL = true
			}
			all = append(all, b...)
		}
		if when == "open" && !sawWAL {
			t.Fatalf("no -wal file among %v: the test would not look where recent writes are", files)
		}
		// The search must be able to find things: the migration name is
		// stored in plain text.
		if !bytes.Contains(all, []byte("001-initial-schema.sql")) {
			t.Fatalf("%s: a known plain value is not found: the search reads the wrong bytes", when)
		}
		for what, c := range canaries {
			if bytes.Contains(all, c) {
				t.Errorf("%s: %s found in plain form in the database files", when, what)
			}
		}
	}
	check("open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")

	// And the data is all there when unlocked.
	st2 := openAt(t, path)
	m, err := st2.Message(ctx, ref)
	if err != nil || string(m.Content) != text || len(m.Reactions) != 1 || m.Reactions[0].Emoji != emoji {
		t.Fatalf("message after reopen = %+v, %v", m, err)
	}
	c, err := st2.ContactByPhone(ctx, phone)
	if err != nil || c.Name != name || c.Account != peer {
		t.Fatalf("contact after reopen = %+v, %v", c, err)
	}
}

// The files are readable by the owner only.
func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profile")
	path := filepath.Join(dir, "client.db")
	st := openAt(t, path)
	register(t, st, 1)
	for _, f := range []string{dir, path, path + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", filepath.Base(f), fi.Mode().Perm())
		}
	}
}
