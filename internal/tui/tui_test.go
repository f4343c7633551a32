package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
)

func TestRegisterThroughTheScreen(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := openClient(t, t.TempDir())
	h := startTUI(t, "new user", c, srv.URL)

	s := h.waitText("register this device", srv.URL)
	if !strings.Contains(line(s, "▸"), "Phone") {
		t.Fatalf("with the server prefilled, the phone field should have the focus:\n%s", s)
	}
	phone := testserver.NewPhone()
	h.typeText("12345")
	h.press(tea.KeyEnter)
	h.waitText("international form")

	h.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	h.typeText(phone)
	h.press(tea.KeyEnter)
	h.waitText("A code was sent to "+phone, "Code")

	h.typeText("000000")
	h.press(tea.KeyEnter)
	h.waitText("registration failed")
	if !c.Account().ID.IsZero() {
		t.Fatal("a wrong code registered the profile")
	}

	h.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	h.typeText(testserver.Code)
	h.press(tea.KeyEnter)
	h.waitText("Parley · chats", "No chats yet", "● connected", "you are "+phone)
	if a := c.Account(); a.ID.IsZero() || a.Phone != phone {
		t.Fatalf("account after registering: %+v", a)
	}
}

// TestTwoPeopleChat: Alice starts a chat by number and writes; Bob sees it
// as unread, opens it; Alice sees sent, delivered, read; typing shows on
// both sides; Bob's reply appears in Alice's conversation.
func TestTwoPeopleChat(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, aphone := registered(t, srv)
	bc, bphone := registered(t, srv)
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	saveContact(t, bc, ac.Account().ID, aphone, "Alice")
	alice := startTUI(t, "alice", ac, srv.URL)
	bob := startTUI(t, "bob", bc, srv.URL)
	alice.peers, bob.peers = []*harness{bob}, []*harness{alice}
	alice.waitText("No chats yet", "● connected")
	bob.waitText("No chats yet", "● connected")

	// Alice: new chat by number.
	alice.typeText("n")
	alice.waitText("New chat with:")
	alice.typeText("+1 000")
	alice.press(tea.KeyEnter)
	alice.waitText("not a phone number")
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	nobody := testserver.NewPhone()
	alice.typeText(nobody)
	alice.press(tea.KeyEnter)
	alice.waitText("no chat possible with " + nobody)
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	alice.typeText(bphone)
	alice.press(tea.KeyEnter)
	alice.waitText("Bob ("+bphone+")", "No messages yet")

	alice.typeText("hello bob")
	alice.waitLine("> hello bob")
	alice.press(tea.KeyEnter)
	// Bob is online but has not opened the chat: delivered, not read.
	alice.waitLine("You: hello bob", "✓✓ delivered")

	// Bob's client got it; his chat list shows it unread.
	ms, err := bc.Messages(ctxT(t), ac.Account().ID, 0, 10)
	if err != nil || len(ms) != 1 || ms[0].Text != "hello bob" {
		t.Fatalf("bob's history: %v %+v", err, ms)
	}
	bob.waitLine("Alice ("+aphone+")", "1 unread")
	bob.waitLine("hello bob")

	// Bob opens the chat: read, on Alice's screen.
	bob.press(tea.KeyEnter)
	bob.waitLine("Alice: hello bob")
	alice.waitLine("You: hello bob", "✓✓ read")

	// Bob types: Alice sees it.
	bob.typeText("hi al")
	alice.waitLine("Bob", "typing…")
	// A pause ends it (Bob's client says so after typingPause).
	alice.waitGone("typing…")
	bob.typeText("ice")
	alice.waitLine("Bob", "typing…")
	bob.press(tea.KeyEnter)
	bob.waitLine("You: hi alice", "✓")
	alice.waitLine("Bob: hi alice")
	alice.waitGone("typing…")
	// Alice has it open: read at once.
	bob.waitLine("You: hi alice", "✓✓ read")

	// Back on Bob's list: nothing unread.
	bob.press(tea.KeyEsc)
	s := bob.waitText("You: hi alice ✓✓ read")
	if strings.Contains(line(s, "Alice"), "unread") {
		t.Errorf("bob's list after reading:\n%s", bob.view())
	}
}

func TestUnreadCountsAndOrder(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, _ := registered(t, srv)
	bc, bphone := registered(t, srv)
	cc, cphone := registered(t, srv)
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	saveContact(t, ac, cc.Account().ID, cphone, "Carol")
	for _, c := range []*client.Client{bc, cc} {
		if err := c.Connect(); err != nil {
			t.Fatal(err)
		}
	}
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitText("No chats yet")

	send := func(from *client.Client, text string) {
		t.Helper()
		id, err := from.SendText(ctxT(t), ac.Account().ID, text)
		if err != nil {
			t.Fatal(err)
		}
		if err := from.WaitSent(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
	}
	send(bc, "one")
	send(bc, "two")
	alice.waitLine("Bob", "2 unread")
	send(cc, "from carol")
	alice.waitLine("Carol", "1 unread")
	// Most recent first.
	if i, j := strings.Index(alice.view(), "Carol"), strings.Index(alice.view(), "Bob"); i > j {
		t.Errorf("Carol wrote last but is not first:\n%s", alice.view())
	}
	alice.waitLine("Bob", "2 unread")
	// Open Bob's chat (second row): its count goes, Carol's stays.
	alice.press(tea.KeyDown)
	alice.press(tea.KeyEnter)
	alice.waitLine("Bob: one")
	alice.waitLine("Bob: two")
	alice.press(tea.KeyEsc)
	alice.waitLine("Carol", "1 unread")
	s := alice.waitFor("Bob read", func(s string) bool { return !strings.Contains(line(s, "Bob"), "unread") })
	if !strings.Contains(line(s, "Carol"), "1 unread") {
		t.Errorf("Carol's count changed:\n%s", s)
	}
}
