package client_test

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// find returns the message with text in d's conversation with peer.
func (d *device) find(peer types.AccountID, text string) client.Message {
	d.t.Helper()
	for _, m := range d.history(peer) {
		if m.Text == text {
			return m
		}
	}
	d.t.Fatalf("no message %q", text)
	return client.Message{}
}

// TestReactReplyEditDelete: the helpers a conversation view calls, seen
// from the other side, and what they refuse.
func TestReactReplyEditDelete(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	ctx := ctxT(t)
	alice.send(bob, "lunch?")
	bob.waitHistory(alice.id(), "< lunch?")
	lunch := bob.find(alice.id(), "lunch?").Ref

	if _, err := bob.React(ctx, lunch, "👍"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Reply(ctx, lunch, "yes!"); err != nil {
		t.Fatal(err)
	}
	alice.waitHistory(bob.id(), "> lunch?", "< yes!")
	eventually(t, "alice sees bob's reaction", func() (bool, string) {
		m := alice.find(bob.id(), "lunch?")
		return len(m.Reactions) == 1 && m.Reactions[0].Emoji == "👍" && m.Reactions[0].Reactor == bob.id(), ""
	})
	yes := alice.find(bob.id(), "yes!")
	if q := yes.Quote; q == nil || q.Excerpt != "lunch?" || types.MessageID(q.Target.MessageId) != lunch.ID {
		t.Fatalf("reply's quote = %+v", yes.Quote)
	}

	// Taking the reaction back.
	if _, err := bob.React(ctx, lunch, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reaction is gone", func() (bool, string) {
		return len(alice.find(bob.id(), "lunch?").Reactions) == 0, ""
	})

	// Only the author edits or deletes.
	if _, err := bob.Edit(ctx, lunch, "dinner?"); !errors.Is(err, client.ErrNotOwnMessage) {
		t.Fatalf("bob edits alice's message: %v, want ErrNotOwnMessage", err)
	}
	if _, err := bob.DeleteForEveryone(ctx, lunch); !errors.Is(err, client.ErrNotOwnMessage) {
		t.Fatalf("bob deletes alice's message: %v, want ErrNotOwnMessage", err)
	}
	if _, err := alice.Edit(ctx, lunch, "lunch at 1?"); err != nil {
		t.Fatal(err)
	}
	bob.waitHistory(alice.id(), "< lunch at 1?", "> yes!")
	if _, err := alice.DeleteForEveryone(ctx, lunch); err != nil {
		t.Fatal(err)
	}
	bob.waitHistory(alice.id(), "< (deleted)", "> yes!")
	alice.waitHistory(bob.id(), "> (deleted)", "< yes!")

	// A deleted message takes nothing more; an unknown one is not found.
	if _, err := bob.React(ctx, lunch, "😮"); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("reaction to a deleted message: %v, want ErrInvalid", err)
	}
	if _, err := alice.Edit(ctx, lunch, "again"); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("edit of a deleted message: %v, want ErrInvalid", err)
	}
	nowhere := clientstore.MessageRef{Sender: alice.id(), ID: types.NewMessageID()}
	if _, err := bob.Reply(ctx, nowhere, "?"); !errors.Is(err, clientstore.ErrNotFound) {
		t.Fatalf("reply to a message not here: %v, want ErrNotFound", err)
	}

	// The chat list has the newest message and its state without paging.
	chats, err := alice.Chats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chats) != 1 || chats[0].Peer != bob.id() || chats[0].Contact.Account != bob.id() ||
		chats[0].Last == nil || chats[0].Last.Text != "yes!" || chats[0].Last.Outgoing {
		t.Fatalf("alice's chats = %+v", chats)
	}
	bob.idle()
	bchats, err := bob.Chats(ctx)
	if err != nil || len(bchats) != 1 || bchats[0].Last == nil || bchats[0].Last.Text != "yes!" ||
		bchats[0].Last.Status() < clientstore.StatusSent {
		t.Fatalf("bob's chats = %+v, %v; want his sent reply as the last message", bchats, err)
	}
}
