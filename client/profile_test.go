package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// contact is d's contact for a (zero if none).
func (d *device) contact(a types.AccountID) clientstore.Contact {
	d.t.Helper()
	ct, err := d.Store().Contact(ctxT(d.t), a)
	if err != nil && !errors.Is(err, clientstore.ErrNotFound) {
		d.t.Fatal(err)
	}
	return ct
}

// waitMessageEvent reads d's events until the message with text arrives,
// and returns what d knew about its sender at that moment.
func (d *device) waitMessageEvent(text string) clientstore.Contact {
	d.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-d.Events():
			if me, ok := e.(client.MessageEvent); ok && me.Message.Text == text {
				return d.contact(me.Message.Sender.Account)
			}
		case <-deadline:
			d.t.Fatalf("message %q never arrived", text)
		}
	}
}

// TestSenderProfile: someone not in the receiver's contacts shows with
// their number (checked against the directory) and their profile name
// from the first message; a name the receiver gave stays; a sender who
// claims another person's number gets neither the number nor that
// person's place.
func TestSenderProfile(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alicePhone := testserver.NewPhone()
	alice := register(t, srv, alicePhone).connect()
	bob := register(t, srv, "").connect()
	mallory := register(t, srv, "").connect()
	ctx := ctxT(t)

	if err := alice.SetProfileName(ctx, "  Alice  "); err != nil {
		t.Fatal(err)
	}
	if got := alice.ProfileName(); got != "Alice" {
		t.Fatalf("ProfileName = %q", got)
	}
	for _, bad := range []string{strings.Repeat("x", clientstore.MaxProfileName+1), "evil\x1b[2J", "a\u202eb"} {
		if err := alice.SetProfileName(ctx, bad); !errors.Is(err, client.ErrInvalid) {
			t.Errorf("SetProfileName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if got := alice.ProfileName(); got != "Alice" {
		t.Fatalf("a refused name changed the profile name to %q", got)
	}

	// Bob has never heard of Alice: her first message brings her number
	// and name, known by the time the message is announced.
	alice.send(bob, "hi, it's alice")
	ct := bob.waitMessageEvent("hi, it's alice")
	if ct.Phone != alicePhone || ct.ProfileName != "Alice" || ct.Name != "" {
		t.Fatalf("bob's contact for alice when her first message showed: %+v", ct)
	}

	// Bob names her; her new profile name does not replace his name.
	if err := bob.SaveContact(ctx, clientstore.Contact{Account: alice.id(), Phone: alicePhone, Name: "Al from work"}); err != nil {
		t.Fatal(err)
	}
	if ct := bob.contact(alice.id()); ct.ProfileName != "Alice" {
		t.Fatalf("SaveContact without a profile name dropped it: %+v", ct)
	}
	if err := alice.SetProfileName(ctx, "Alice B."); err != nil {
		t.Fatal(err)
	}
	alice.send(bob, "new name")
	ct = bob.waitMessageEvent("new name")
	if ct.Name != "Al from work" || ct.ProfileName != "Alice B." || ct.Phone != alicePhone {
		t.Fatalf("bob's contact after alice renamed herself: %+v", ct)
	}

	// Mallory claims Alice's number (a modified client) and her name.
	client.ClaimPhone(mallory.Client, alicePhone)
	if err := mallory.SetProfileName(ctx, "Alice B."); err != nil {
		t.Fatal(err)
	}
	mallory.send(bob, "it's me, alice, new phone")
	ct = bob.waitMessageEvent("it's me, alice, new phone")
	if ct.Phone != "" || ct.ProfileName != "Alice B." {
		t.Fatalf("bob's contact for mallory: %+v; the number must not be believed", ct)
	}
	if got, err := bob.Store().ContactByPhone(ctx, alicePhone); err != nil || got.Account != alice.id() {
		t.Fatalf("alice's number now belongs to %v (%v), want alice", got.Account, err)
	}
	// The same for someone who had no contact with that number yet.
	carol := register(t, srv, "").connect()
	mallory.send(carol, "hello from alice")
	if ct := carol.waitMessageEvent("hello from alice"); ct.Phone != "" {
		t.Fatalf("carol believed mallory's claim: %+v", ct)
	}
	if _, err := carol.Store().ContactByPhone(ctx, alicePhone); !errors.Is(err, clientstore.ErrNotFound) {
		t.Fatalf("carol filed alice's number under someone: %v", err)
	}
	// A number nobody registered is not believed either.
	client.ClaimPhone(mallory.Client, testserver.NewPhone())
	mallory.send(carol, "unregistered")
	if ct := carol.waitMessageEvent("unregistered"); ct.Phone != "" {
		t.Fatalf("carol believed an unregistered number: %+v", ct)
	}
	// Alice herself still gets through to carol with her number.
	alice.send(carol, "the real alice")
	if ct := carol.waitMessageEvent("the real alice"); ct.Phone != alicePhone || ct.Account != alice.id() {
		t.Fatalf("carol's contact for the real alice: %+v", ct)
	}
}

// TestSenderProfileOffline: a sender without a profile name, to a
// receiver who was offline: the number is known when the queued message
// shows.
func TestSenderProfileOffline(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "")
	alice.send(bob, "while you were away")
	alice.idle()
	bob.connect()
	if ct := bob.waitMessageEvent("while you were away"); ct.Phone != alice.Account().Phone || ct.ProfileName != "" {
		t.Fatalf("bob's contact for alice: %+v, want her number %s", ct, alice.Account().Phone)
	}
}
