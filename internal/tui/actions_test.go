package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/internal/testserver"
)

func (h *harness) key(s string) {
	h.drain()
	h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
}

// TestMessageActions: from the conversation view, Bob reacts to and
// replies to Alice's message, Alice edits and then deletes it for
// everyone; each shows on the other side. Editing someone else's message
// is refused on the screen.
func TestMessageActions(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, aphone := registered(t, srv)
	bc, bphone := registered(t, srv)
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	saveContact(t, bc, ac.Account().ID, aphone, "Alice")
	alice := startTUI(t, "alice", ac, srv.URL)
	bob := startTUI(t, "bob", bc, srv.URL)
	alice.peers, bob.peers = []*harness{bob}, []*harness{alice}
	alice.waitText("● connected")
	bob.waitText("● connected")

	alice.typeText("n" + bphone)
	alice.press(tea.KeyEnter)
	alice.waitText("No messages yet")
	alice.typeText("lunch?")
	alice.press(tea.KeyEnter)
	bob.waitLine("Alice", "1 unread")
	bob.press(tea.KeyEnter)
	bob.waitText("Alice: lunch?")

	// React: Tab selects the newest message, r opens the picker.
	bob.press(tea.KeyTab)
	s := bob.waitLine("▸", "Alice: lunch?")
	if !strings.Contains(bob.view(), helpSelect) {
		t.Fatalf("selection mode without its help line:\n%s", bob.view())
	}
	bob.key("r")
	bob.waitText("React with: 1 👍")
	bob.key("1")
	alice.waitText("[👍 Bob]")
	bob.waitText("[👍 You]")

	// Reply: q quotes it in the composer.
	bob.press(tea.KeyTab)
	bob.key("q")
	bob.waitText("↪ replying to Alice: lunch?", helpReply)
	bob.typeText("yes, at 1")
	bob.press(tea.KeyEnter)
	alice.waitText("↪ reply to You: lunch?", "Bob: yes, at 1")
	s = bob.waitText("You: yes, at 1")
	if strings.Contains(s, "replying to") {
		t.Errorf("the reply line stayed after sending:\n%s", s)
	}

	// Alice cannot edit Bob's reply; she edits her own message.
	alice.press(tea.KeyTab)
	alice.waitLine("▸", "Bob: yes, at 1")
	alice.key("e")
	alice.waitText("only your own messages can be edited")
	alice.press(tea.KeyUp)
	alice.waitLine("▸", "You: lunch?")
	alice.key("e")
	s = alice.waitText("editing your message: lunch?", helpEdit)
	if !strings.Contains(line(s, "> "), "lunch?") {
		t.Fatalf("the composer does not hold the text to edit:\n%s", s)
	}
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	alice.typeText("lunch at 1?")
	alice.press(tea.KeyEnter)
	bob.waitText("Alice: lunch at 1? (edited)")
	alice.waitText("You: lunch at 1? (edited)")

	// Delete for everyone asks first; n keeps it.
	alice.press(tea.KeyTab)
	alice.press(tea.KeyUp)
	alice.waitLine("▸", "You: lunch at 1?")
	alice.key("d")
	alice.waitText("Delete this message for everyone? y/n")
	alice.key("n")
	alice.waitGone("Delete this message")
	alice.key("d")
	alice.waitText("Delete this message for everyone? y/n")
	alice.key("y")
	s = bob.waitText("Alice: message deleted")
	if strings.Contains(s, "lunch at 1?") || strings.Contains(s, "[👍") {
		t.Errorf("the deleted message or its reaction is still shown:\n%s", s)
	}
	alice.waitText("You: message deleted")

	// Bob takes a reaction back by picking it again.
	bob.press(tea.KeyTab)
	bob.waitLine("▸", "You: yes, at 1")
	bob.key("r")
	bob.key("2")
	alice.waitText("[❤️ Bob]")
	bob.waitText("[❤️ You]")
	bob.press(tea.KeyTab)
	bob.waitLine("▸", "You: yes, at 1")
	bob.key("r")
	bob.key("2")
	alice.waitGone("[❤️ Bob]")
}

// TestSenderShownByProfile: a message from someone Alice has no contact
// for shows their number (checked with the directory) and "~name" in the
// chat list and the conversation header; someone claiming that number
// shows with their name and account id only.
func TestSenderShownByProfile(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, _ := registered(t, srv)
	bc, bphone := registered(t, srv)
	if err := bc.SetProfileName(ctxT(t), "Bobby"); err != nil {
		t.Fatal(err)
	}
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitText("No chats yet", "● connected")
	if _, err := bc.SendText(ctxT(t), ac.Account().ID, "hi, I'm new here"); err != nil {
		t.Fatal(err)
	}
	s := alice.waitLine(bphone+" ~Bobby", "1 unread")
	if strings.Contains(alice.view(), "unknown contact") {
		t.Fatalf("the sender is still unknown:\n%s", s)
	}
	alice.press(tea.KeyEnter)
	s = alice.waitText("hi, I'm new here")
	if first := strings.SplitN(s, "\n", 2)[0]; !strings.Contains(first, bphone+" ~Bobby") {
		t.Fatalf("conversation header = %q, want the number and ~Bobby", first)
	}
	alice.press(tea.KeyEsc)

	// Mallory claims Bob's number (a modified client: her profile's
	// account record says it) and his name.
	dir := t.TempDir()
	m1 := openClient(t, dir)
	mphone := testserver.NewPhone()
	if err := m1.RequestCode(ctxT(t), srv.URL, mphone); err != nil {
		t.Fatal(err)
	}
	if err := m1.Register(ctxT(t), srv.URL, mphone, testserver.Code); err != nil {
		t.Fatal(err)
	}
	forged := m1.Account()
	forged.Phone = bphone
	if err := m1.Store().SaveAccount(ctxT(t), forged); err != nil {
		t.Fatal(err)
	}
	m1.Close()
	mc := openClient(t, dir)
	if err := mc.SetProfileName(ctxT(t), "Bobby"); err != nil {
		t.Fatal(err)
	}
	if err := mc.Connect(); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.SendText(ctxT(t), ac.Account().ID, "it's bob, new phone"); err != nil {
		t.Fatal(err)
	}
	l := alice.waitLine("~Bobby ("+mc.Account().ID.String()[:8]+")", "1 unread")
	if strings.Contains(l, bphone) {
		t.Fatalf("the impostor's chat shows Bob's number: %q", l)
	}
}

// TestSetProfileName: p on the chat list sets the name others see; the
// status line shows it, and Bob sees it with Alice's next message.
func TestSetProfileName(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, aphone := registered(t, srv)
	bc, _ := registered(t, srv)
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	alice := startTUI(t, "alice", ac, srv.URL)
	alice.waitText("No chats yet", "● connected")
	alice.key("p")
	alice.waitText("Your profile name:", helpProfile)
	alice.typeText("Alice\x1b")
	alice.press(tea.KeyEnter)
	alice.waitText("you are " + aphone + " ~Alice")
	if ac.ProfileName() != "Alice" {
		t.Fatalf("profile name = %q", ac.ProfileName())
	}
	if _, err := ac.SendText(ctxT(t), bc.Account().ID, "hello"); err != nil {
		t.Fatal(err)
	}
	bob := startTUI(t, "bob", bc, srv.URL)
	bob.waitLine(aphone+" ~Alice", "1 unread")
}
