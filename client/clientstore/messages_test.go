package clientstore

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/types"
)

// chatFixture is a store with an account and one conversation.
type chatFixture struct {
	st   *Store
	me   Account
	peer types.AccountID
	conv Conversation
}

func newChat(t *testing.T) *chatFixture {
	t.Helper()
	st, _ := newStore(t)
	f := &chatFixture{st: st, me: register(t, st, 1), peer: types.NewAccountID()}
	var err error
	if f.conv, err = st.DirectConversation(ctx, f.peer); err != nil {
		t.Fatal(err)
	}
	return f
}

// add stores a message from the peer (or from us) and returns its ref.
func (f *chatFixture) add(t *testing.T, text string, dir Direction, at time.Time) MessageRef {
	t.Helper()
	sender := types.Address{Account: f.peer, Device: 1}
	if dir == Outgoing {
		sender = types.Address{Account: f.me.ID, Device: f.me.Device}
	}
	m := Message{Conversation: f.conv.ID, ID: types.NewMessageID(), Sender: sender, Direction: dir, Kind: 7,
		Content: []byte(text), SentAt: at, ReceivedAt: at.Add(time.Second)}
	if _, err := f.st.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	return m.Ref()
}

func (f *chatFixture) get(t *testing.T, r MessageRef) Message {
	t.Helper()
	m, err := f.st.Message(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMessageRoundTripAndDuplicates(t *testing.T) {
	f := newChat(t)
	m := Message{Conversation: f.conv.ID, ID: types.NewMessageID(), Sender: types.Address{Account: f.peer, Device: 3},
		Direction: Incoming, Kind: 42, Content: []byte("hello"), SentAt: t0, ReceivedAt: t0.Add(time.Second),
		ExpiresAt: t0.Add(time.Hour)}
	seq, err := f.st.AddMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	got := f.get(t, m.Ref())
	m.Seq = seq
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("Message =\n%+v\nwant\n%+v", got, m)
	}
	// A redelivery is stored once, even with other content.
	dup := m
	dup.Content = []byte("something else")
	if _, err := f.st.AddMessage(ctx, dup); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second AddMessage = %v, want ErrDuplicate", err)
	}
	if got := f.get(t, m.Ref()); string(got.Content) != "hello" {
		t.Fatal("a duplicate changed the message")
	}
	// Nor does it change anything in a transaction that goes on after it.
	late := dup
	late.SentAt, late.ReceivedAt = t0.Add(time.Hour), t0.Add(time.Hour)
	err = f.st.InTx(ctx, func(ctx ctxT) error {
		if _, err := f.st.AddMessage(ctx, late); !errors.Is(err, ErrDuplicate) {
			return fmt.Errorf("duplicate in a transaction: %v", err)
		}
		return nil
	})
	if c, _ := f.st.Conversation(ctx, f.conv.ID); err != nil || !c.LastActivity.Equal(t0.Add(time.Second)) {
		t.Fatalf("a duplicate moved LastActivity to %v (%v)", c.LastActivity, err)
	}
	// The same id from another sender is another message.
	other := m
	other.Sender.Account = types.NewAccountID()
	if _, err := f.st.AddMessage(ctx, other); err != nil {
		t.Fatalf("same id, other sender: %v", err)
	}
	if _, err := f.st.Message(ctx, MessageRef{Sender: f.peer, ID: types.NewMessageID()}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown message = %v", err)
	}

	bad := []Message{
		{Conversation: f.conv.ID, ID: m.ID, Sender: m.Sender, Direction: 3},
		{Conversation: f.conv.ID, ID: m.ID, Direction: Incoming},
		{Conversation: f.conv.ID, Sender: m.Sender, Direction: Incoming},
		{Conversation: f.conv.ID, ID: types.NewMessageID(), Sender: m.Sender, Direction: Incoming, Content: make([]byte, MaxContentSize+1)},
	}
	for i, b := range bad {
		if _, err := f.st.AddMessage(ctx, b); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad message %d: %v, want ErrInvalid", i, err)
		}
	}
	if _, err := f.st.AddMessage(ctx, Message{Conversation: 999, ID: types.NewMessageID(), Sender: m.Sender, Direction: Incoming}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("message in a missing conversation = %v, want ErrNotFound", err)
	}
}

func TestHistoryPagesAndUnread(t *testing.T) {
	f := newChat(t)
	var refs []MessageRef
	for i := range 10 {
		dir := Incoming
		if i%3 == 2 {
			dir = Outgoing
		}
		refs = append(refs, f.add(t, fmt.Sprintf("m%d", i), dir, t0.Add(time.Duration(i)*time.Minute)))
	}
	texts := func(ms []Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, string(m.Content))
		}
		return out
	}
	page, err := f.st.Messages(ctx, f.conv.ID, 0, 4)
	if err != nil || !slices.Equal(texts(page), []string{"m6", "m7", "m8", "m9"}) {
		t.Fatalf("newest page = %v, %v", texts(page), err)
	}
	page, _ = f.st.Messages(ctx, f.conv.ID, page[0].Seq, 4)
	if !slices.Equal(texts(page), []string{"m2", "m3", "m4", "m5"}) {
		t.Fatalf("page above = %v", texts(page))
	}
	page, _ = f.st.Messages(ctx, f.conv.ID, page[0].Seq, 4)
	if !slices.Equal(texts(page), []string{"m0", "m1"}) {
		t.Fatalf("oldest page = %v", texts(page))
	}

	c, _ := f.st.Conversation(ctx, f.conv.ID)
	if c.Unread != 7 {
		t.Fatalf("unread = %d, want 7 incoming", c.Unread)
	}
	if !c.LastActivity.Equal(t0.Add(9*time.Minute + time.Second)) {
		t.Fatalf("LastActivity = %v", c.LastActivity)
	}
	m4 := f.get(t, refs[4])
	if err := f.st.MarkRead(ctx, f.conv.ID, m4.Seq); err != nil {
		t.Fatal(err)
	}
	if err := f.st.MarkRead(ctx, f.conv.ID, 1); err != nil { // never moves back
		t.Fatal(err)
	}
	if c, _ = f.st.Conversation(ctx, f.conv.ID); c.Unread != 3 {
		t.Fatalf("unread after reading up to m4 = %d, want 3", c.Unread)
	}
	if err := f.st.DeleteForEveryone(ctx, refs[9], t0); err != nil {
		t.Fatal(err)
	}
	if c, _ = f.st.Conversation(ctx, f.conv.ID); c.Unread != 2 {
		t.Fatalf("unread after a deletion = %d, want 2", c.Unread)
	}
	if err := f.st.MarkRead(ctx, 999, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("MarkRead of a missing conversation = %v", err)
	}
	if _, err := f.st.Messages(ctx, f.conv.ID, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit 0 = %v", err)
	}
}

func TestConversations(t *testing.T) {
	f := newChat(t)
	again, err := f.st.DirectConversation(ctx, f.peer)
	if err != nil || again.ID != f.conv.ID || again.Peer != f.peer {
		t.Fatalf("DirectConversation twice = %+v, %v; want %d", again, err, f.conv.ID)
	}
	other, err := f.st.DirectConversation(ctx, types.NewAccountID())
	if err != nil || other.ID == f.conv.ID {
		t.Fatalf("another peer's conversation = %+v, %v", other, err)
	}
	f.add(t, "old", Incoming, t0)
	m := Message{Conversation: other.ID, ID: types.NewMessageID(), Sender: types.Address{Account: other.Peer, Device: 1},
		Direction: Incoming, SentAt: t0.Add(time.Hour)}
	if _, err := f.st.AddMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	cs, err := f.st.Conversations(ctx)
	if err != nil || len(cs) != 2 || cs[0].ID != other.ID || cs[1].ID != f.conv.ID {
		t.Fatalf("Conversations = %+v, %v; want the most recent first", cs, err)
	}
	if err := f.st.SetTimer(ctx, f.conv.ID, 90*time.Second+time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.st.Conversation(ctx, f.conv.ID); c.Timer != 90*time.Second || c.Peer != f.peer {
		t.Fatalf("timer = %v peer = %v", c.Timer, c.Peer)
	}
	if err := f.st.SetTimer(ctx, f.conv.ID, -time.Second); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative timer = %v", err)
	}
	if _, err := f.st.Conversation(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing conversation = %v", err)
	}
	if _, err := f.st.DirectConversation(ctx, types.AccountID{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("conversation with nobody = %v", err)
	}
}

func TestEditsDeletesReactionsReceipts(t *testing.T) {
	f := newChat(t)
	in := f.add(t, "original", Incoming, t0)
	out := f.add(t, "mine", Outgoing, t0)

	// Edits apply in order of their time, whatever order they arrive in.
	if err := f.st.EditMessage(ctx, in, []byte("edit 2"), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := f.st.EditMessage(ctx, in, []byte("edit 1"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m := f.get(t, in); string(m.Content) != "edit 2" || !m.EditedAt.Equal(t0.Add(2*time.Minute)) || m.Kind != 7 {
		t.Fatalf("after edits: %q at %v kind %d", m.Content, m.EditedAt, m.Kind)
	}

	// Reactions: one per reactor, replaced by newer, removed by "".
	me := f.me.ID
	steps := []struct {
		who   types.AccountID
		emoji string
		at    time.Duration
	}{
		{me, "👍", 1}, {f.peer, "❤️", 2}, {me, "😂", 3}, {me, "🙈", 0} /* older: ignored */, {f.peer, "", 4},
		// A removal that arrives before the reaction it takes back: the
		// reaction, older, stays removed.
		{f.peer, "", 6}, {f.peer, "😮", 5},
	}
	for _, s := range steps {
		if err := f.st.SetReaction(ctx, in, s.who, s.emoji, t0.Add(s.at*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	m := f.get(t, in)
	if len(m.Reactions) != 1 || m.Reactions[0].Reactor != me || m.Reactions[0].Emoji != "😂" {
		t.Fatalf("reactions = %+v", m.Reactions)
	}

	// Receipts only move forward, per recipient.
	r2 := types.NewAccountID()
	for _, s := range []struct {
		who types.AccountID
		st  Status
	}{{f.peer, StatusSent}, {f.peer, StatusRead}, {f.peer, StatusDelivered}, {r2, StatusDelivered}} {
		if err := f.st.SetReceipt(ctx, out, s.who, s.st, t0); err != nil {
			t.Fatal(err)
		}
	}
	got := map[types.AccountID]Status{}
	for _, r := range f.get(t, out).Receipts {
		got[r.Recipient] = r.Status
	}
	if len(got) != 2 || got[f.peer] != StatusRead || got[r2] != StatusDelivered {
		t.Fatalf("receipts = %v", got)
	}
	if err := f.st.SetReceipt(ctx, out, r2, 9, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad status = %v", err)
	}

	// Delete for everyone: content and reactions go, the row stays, and
	// late edits or reactions do not bring anything back.
	if err := f.st.DeleteForEveryone(ctx, in, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := f.st.EditMessage(ctx, in, []byte("resurrected"), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetReaction(ctx, in, me, "👻", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	m = f.get(t, in)
	if !m.Deleted || m.Content != nil || len(m.Reactions) != 0 || m.Sender.Account != f.peer {
		t.Fatalf("after delete for everyone: %+v", m)
	}

	// Delete for me removes the row and what hangs on it.
	if err := f.st.DeleteMessage(ctx, out); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Message(ctx, out); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted message = %v", err)
	}
	var n int
	f.st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM receipts`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d receipts left of a deleted message", n)
	}
	if err := f.st.DeleteMessage(ctx, out); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice = %v", err)
	}
	for _, err := range []error{
		f.st.EditMessage(ctx, out, nil, t0),
		f.st.SetReaction(ctx, out, me, "x", t0),
		f.st.SetReceipt(ctx, out, me, StatusRead, t0),
		f.st.DeleteForEveryone(ctx, out, t0),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("operation on a deleted message = %v, want ErrNotFound", err)
		}
	}
}

func TestDisappearingMessages(t *testing.T) {
	f := newChat(t)
	keep := f.add(t, "keep", Incoming, t0)
	for i := range 3 {
		m := Message{Conversation: f.conv.ID, ID: types.NewMessageID(), Sender: types.Address{Account: f.peer, Device: 1},
			Direction: Incoming, SentAt: t0, ExpiresAt: t0.Add(time.Duration(i+1) * time.Minute)}
		if _, err := f.st.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	n, err := f.st.DeleteExpired(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
	}
	ms, _ := f.st.Messages(ctx, f.conv.ID, 0, 10)
	if len(ms) != 2 || ms[0].Ref() != keep {
		t.Fatalf("left: %d messages", len(ms))
	}
}

func TestOutbox(t *testing.T) {
	st, _ := newStore(t)
	a, _ := st.AddOutbox(ctx, []byte("first"), t0)
	b, _ := st.AddOutbox(ctx, []byte("second"), t0)
	c, err := st.AddOutbox(ctx, []byte("third"), t0)
	if err != nil {
		t.Fatal(err)
	}
	due := func(at time.Time) []string {
		t.Helper()
		items, err := st.DueOutbox(ctx, at, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s/%d", it.Payload, it.Attempts))
		}
		return out
	}
	if got := due(t0); !slices.Equal(got, []string{"first/0", "second/0", "third/0"}) {
		t.Fatalf("due = %v", got)
	}
	if err := st.RetryOutbox(ctx, a, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveOutbox(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := due(t0); !slices.Equal(got, []string{"third/0"}) {
		t.Fatalf("due after retry and removal = %v", got)
	}
	if got := due(t0.Add(time.Minute)); !slices.Equal(got, []string{"first/1", "third/0"}) {
		t.Fatalf("due a minute later = %v", got)
	}
	if err := st.RemoveOutbox(ctx, b); err != nil {
		t.Fatalf("removing twice = %v", err)
	}
	if err := st.RetryOutbox(ctx, b, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retrying a removed item = %v", err)
	}
	if _, err := st.AddOutbox(ctx, nil, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty payload = %v", err)
	}
	_ = c
}

// A message and its outbox item are stored together or not at all.
func TestMessageAndOutboxInOneTransaction(t *testing.T) {
	f := newChat(t)
	m := Message{Conversation: f.conv.ID, ID: types.NewMessageID(), Sender: types.Address{Account: f.me.ID, Device: 1},
		Direction: Outgoing, Content: []byte("hi"), SentAt: t0}
	errCrash := errors.New("crash")
	err := f.st.InTx(ctx, func(ctx ctxT) error {
		if _, err := f.st.AddMessage(ctx, m); err != nil {
			return err
		}
		if _, err := f.st.AddOutbox(ctx, []byte("send hi"), t0); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := f.st.Message(ctx, m.Ref()); err != nil {
			return err
		}
		return errCrash
	})
	if !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	if _, err := f.st.Message(ctx, m.Ref()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("message of a rolled-back transaction = %v", err)
	}
	if items, _ := f.st.DueOutbox(ctx, t0, 10); len(items) != 0 {
		t.Fatalf("outbox of a rolled-back transaction: %d items", len(items))
	}
	err = f.st.InTx(ctx, func(ctx ctxT) error {
		if _, err := f.st.AddMessage(ctx, m); err != nil {
			return err
		}
		_, err := f.st.AddOutbox(ctx, []byte("send hi"), t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if items, _ := f.st.DueOutbox(ctx, t0, 10); len(items) != 1 {
		t.Fatalf("outbox after commit: %d items", len(items))
	}
}

// TestConversationsCarryLastMessage: the chat list gets every chat's
// newest message with its receipts from Conversations alone, and a chat
// without messages has none.
func TestConversationsCarryLastMessage(t *testing.T) {
	f := newChat(t)
	empty, err := f.st.DirectConversation(ctx, types.NewAccountID())
	if err != nil {
		t.Fatal(err)
	}
	f.add(t, "old", Incoming, t0)
	last := f.add(t, "newest", Outgoing, t0.Add(time.Minute))
	if err := f.st.SetReceipt(ctx, last, f.peer, StatusDelivered, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	other, err := f.st.DirectConversation(ctx, types.NewAccountID())
	if err != nil {
		t.Fatal(err)
	}
	om := Message{Conversation: other.ID, ID: types.NewMessageID(), Sender: types.Address{Account: other.Peer, Device: 1},
		Direction: Incoming, Kind: 7, Content: []byte("other chat"), SentAt: t0.Add(-time.Hour), ReceivedAt: t0.Add(-time.Hour)}
	if _, err := f.st.AddMessage(ctx, om); err != nil {
		t.Fatal(err)
	}
	cs, err := f.st.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[ConversationID]*Message{}
	for _, c := range cs {
		got[c.ID] = c.Last
	}
	if m := got[f.conv.ID]; m == nil || string(m.Content) != "newest" || m.Direction != Outgoing ||
		len(m.Receipts) != 1 || m.Receipts[0].Status != StatusDelivered {
		t.Errorf("last message of the chat = %+v, want the delivered \"newest\"", m)
	}
	if m := got[other.ID]; m == nil || string(m.Content) != "other chat" {
		t.Errorf("last message of the other chat = %+v", m)
	}
	if m, ok := got[empty.ID]; !ok || m != nil {
		t.Errorf("chat without messages: present %v, last %+v", ok, m)
	}
	// Deleted for everyone: still the last message, shown as deleted.
	if err := f.st.DeleteForEveryone(ctx, last, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cs, _ = f.st.Conversations(ctx)
	for _, c := range cs {
		if c.ID == f.conv.ID && (c.Last == nil || !c.Last.Deleted || c.Last.Content != nil) {
			t.Errorf("after delete for everyone, last = %+v", c.Last)
		}
	}
}
