package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

// TestIdentityChangeBanner: Bob reinstalls; Alice's conversation shows
// the banner, refuses to send, keeps her text; Ctrl+O shows the new
// safety number (the one Bob's new phone shows), and once she
// acknowledges it both the held message and the refused one go out.
func TestIdentityChangeBanner(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, _ := registered(t, srv)
	bc, bphone := registered(t, srv)
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitText("No chats yet", "● connected")
	alice.typeText("n" + bphone)
	alice.press(tea.KeyEnter)
	alice.waitText("No messages yet")
	alice.typeText("before")
	alice.press(tea.KeyEnter)
	alice.waitLine("You: before", "✓✓ delivered")
	bc.Close()

	// Bob reinstalls: same number, new keys.
	b2 := openClient(t, t.TempDir())
	if err := b2.RequestCode(ctxT(t), srv.URL, bphone); err != nil {
		t.Fatal(err)
	}
	if err := b2.Register(ctxT(t), srv.URL, bphone, testserver.Code); err != nil {
		t.Fatal(err)
	}
	if err := b2.Connect(); err != nil {
		t.Fatal(err)
	}
	alice.typeText("after reinstall")
	alice.press(tea.KeyEnter)
	s := alice.waitText("Bob's safety number changed", "Ctrl+O show the new safety number", "You: after reinstall")
	if !strings.Contains(line(s, "after reinstall"), "sending") {
		t.Errorf("the held message should show as not sent yet:\n%s", s)
	}
	alice.typeText("blocked")
	alice.press(tea.KeyEnter)
	s = alice.waitText("not sent")
	if !strings.Contains(line(s, "> "), "blocked") {
		t.Errorf("the refused text left the composer:\n%s", s)
	}
	if ms, _ := b2.Messages(ctxT(t), ac.Account().ID, 0, 10); len(ms) != 0 {
		t.Fatalf("a message reached Bob's new device before the change was acknowledged: %+v", ms)
	}

	// Ctrl+O shows the number first; Esc leaves it unacknowledged.
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlO})
	want, err := b2.SafetyNumber(ctxT(t), ac.Account().ID)
	if err != nil {
		t.Fatal(err)
	}
	g := want.Groups()
	s = alice.waitText("Your new safety number with Bob", strings.Join(g[0:4], " "), strings.Join(g[4:8], " "),
		strings.Join(g[8:12], " "), "Enter acknowledge")
	alice.press(tea.KeyEsc)
	s = alice.waitGone("Your new safety number")
	if !strings.Contains(s, "safety number changed") {
		t.Fatalf("Esc on the safety number acknowledged it:\n%s", s)
	}
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlO})
	alice.waitText(strings.Join(g[8:12], " "))
	alice.press(tea.KeyEnter)
	alice.waitGone("safety number changed")
	alice.waitGone("not sent")
	alice.press(tea.KeyEnter)
	alice.waitLine("You: after reinstall", "✓✓ delivered")
	alice.waitLine("You: blocked", "✓✓ delivered")
}

// unknownContent is a content kind from a newer version: only an unknown
// field (and the fallback text newer senders add).
func unknownContent(fallback string) *contentpb.Content {
	c := &contentpb.Content{FallbackText: fallback}
	b := protowire.AppendTag(nil, 900, protowire.BytesType)
	b = protowire.AppendString(b, "a poll")
	c.ProtoReflect().SetUnknown(b)
	return c
}

// TestMessageKinds: edits, deletes, reactions, replies, timers, unknown
// kinds, and text that tries to reach the terminal.
func TestMessageKinds(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, aphone := registered(t, srv)
	bc, bphone := registered(t, srv)
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	saveContact(t, bc, ac.Account().ID, aphone, "Alice")
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	alice := startTUI(t, "alice", ac, srv.URL)
	a, b := ac.Account().ID, bc.Account().ID
	ctx := ctxT(t)
	send := func(c *contentpb.Content) types.MessageID {
		t.Helper()
		id, err := bc.Send(ctx, a, c)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	typo := send(client.TextContent("typo mesage"))
	gone := send(client.TextContent("regrettable"))
	alice.waitLine("Bob", "2 unread")
	alice.press(tea.KeyEnter) // open the chat
	alice.waitText("Bob: typo mesage")
	alice.typeText("lunch?")
	alice.press(tea.KeyEnter)
	alice.waitLine("You: lunch?", "✓✓ delivered")
	ms, err := ac.Messages(ctx, b, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	lunch := ms[len(ms)-1].Ref

	send(client.EditContent(clientstore.MessageRef{Sender: b, ID: typo}, "typo message"))
	send(client.DeleteContent(clientstore.MessageRef{Sender: b, ID: gone}))
	send(client.ReactionContent(lunch, "👍"))
	send(client.ReplyContent("yes!", lunch, "lunch?"))
	send(client.TimerContent(3600))
	send(unknownContent(""))
	send(unknownContent("a poll: which day?"))
	send(client.TextContent("evil\x1b[2J\x1b]0;pwned\x07 \u202eolleh\r\nnext line"))

	s := alice.waitText("evil")
	for _, want := range []string{
		"Bob: typo message (edited)",
		"Bob: message deleted",
		"[👍 Bob]",
		"↪ reply to You: lunch?",
		"Bob: yes!",
		"Bob: disappearing messages set to 1 hour",
		"Bob: a message this version cannot show\n",
		"Bob: a message this version cannot show: a poll: which day?",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "regrettable") {
		t.Errorf("deleted text still shown:\n%s", s)
	}
	if strings.ContainsAny(s, "\x1b\x07\r\u202e") {
		t.Errorf("control characters from a message reached the terminal: %q", s)
	}
	if !strings.Contains(s, "evil[2J]0;pwned olleh") || !strings.Contains(s, "\n  next line") {
		t.Errorf("cleaned text not shown as expected:\n%s", s)
	}
}

func TestScroll(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, _ := registered(t, srv)
	bc, bphone := registered(t, srv)
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if _, err := bc.SendText(ctxT(t), ac.Account().ID, fmt.Sprintf("message %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitLine("Bob", "60 unread")
	alice.m.pageSize = 25 // scrolling up must load older pages
	alice.press(tea.KeyEnter)
	s := alice.waitText("message 59")
	if strings.Contains(s, "message 00") {
		t.Fatalf("a 30-line screen shows all 60 messages:\n%s", s)
	}
	s = alice.waitFor("the oldest message after PgUp", func(s string) bool {
		alice.press(tea.KeyPgUp)
		return strings.Contains(s, "message 00")
	})
	if !strings.Contains(s, "more lines below") {
		t.Errorf("scrolled up without the indicator:\n%s", s)
	}
	if strings.Contains(s, "message 59") {
		t.Errorf("scrolled to the top but the newest message is still shown:\n%s", s)
	}
	alice.press(tea.KeyDown)
	alice.press(tea.KeyPgDown)
	for range 8 {
		alice.press(tea.KeyPgDown)
	}
	s = alice.waitText("message 59")
	if strings.Contains(s, "more lines below") {
		t.Errorf("at the bottom the indicator stays:\n%s", s)
	}
	// A new message while scrolled up does not move the view; at the
	// bottom it shows.
	bc.SendText(ctxT(t), ac.Account().ID, "message 60")
	alice.waitText("message 60")
}

func TestConnectionStatus(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, _ := registered(t, srv)
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitText("● connected")
	srv.Stop()
	s := alice.waitText("○ ")
	if strings.Contains(s, "● connected") {
		t.Errorf("still connected after the server stopped:\n%s", s)
	}
}

// TestReceiptStates: the four states of an own message, each shown
// distinctly: sending (server unreachable), sent (recipient offline),
// delivered, read.
func TestReceiptStates(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, _ := registered(t, srv)
	bc, bphone := registered(t, srv) // offline for now
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitText("● connected")
	alice.typeText("n" + bphone)
	alice.press(tea.KeyEnter)
	alice.waitText("No messages yet")

	alice.typeText("first")
	alice.press(tea.KeyEnter)
	s := alice.waitLine("You: first", "✓ sent")
	if strings.Contains(s, "✓✓") {
		t.Fatalf("delivered to an offline device: %q", s)
	}
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	alice.waitLine("You: first", "✓✓ delivered")
	if err := bc.MarkRead(ctxT(t), ac.Account().ID); err != nil {
		t.Fatal(err)
	}
	alice.waitLine("You: first", "✓✓ read")

	srv.Stop()
	alice.waitText("○ ")
	alice.typeText("second")
	alice.press(tea.KeyEnter)
	alice.waitLine("You: second", "… sending")
}
