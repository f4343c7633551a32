package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// person is a registered client with a TUI, known to the others by name.
type person struct {
	name  string
	phone string
	c     *client.Client
	h     *harness
}

// people registers one account per name, each with the others as
// contacts under their names, and starts a TUI for each with a name in
// tui (the others stay plain clients, connected).
func people(t *testing.T, srv *testserver.Server, names []string, tui map[string]bool) map[string]*person {
	t.Helper()
	ps := map[string]*person{}
	for _, n := range names {
		c, phone := registered(t, srv)
		ps[n] = &person{name: n, phone: phone, c: c}
	}
	for _, p := range ps {
		for _, q := range ps {
			if p != q {
				saveContact(t, p.c, q.c.Account().ID, q.phone, q.name)
			}
		}
	}
	var hs []*harness
	for _, n := range names {
		p := ps[n]
		if tui[n] {
			p.h = startTUI(t, n, p.c, srv.URL)
			hs = append(hs, p.h)
		} else if err := p.c.Connect(); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hs {
		for _, o := range hs {
			if o != h {
				h.peers = append(h.peers, o)
			}
		}
		h.waitText("● connected")
	}
	return ps
}

// TestGroupChat: Alice makes a group from the chat list with Bob and
// Carol and writes to it; the group shows in Bob's list with the sender's
// name and opens; receipts count the members; typing, replies, reactions
// and deletes work in the group as in a direct chat; Carol, on a plain
// client, writes too.
func TestGroupChat(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ps := people(t, srv, []string{"Alice", "Bob", "Carol"}, map[string]bool{"Alice": true, "Bob": true})
	alice, bob, carol := ps["Alice"].h, ps["Bob"].h, ps["Carol"]

	alice.key("g")
	alice.waitText("New group", helpNewGroup)
	alice.press(tea.KeyEnter)
	alice.waitText("give the group a name")
	alice.typeText("Lunch club")
	alice.press(tea.KeyTab)
	alice.typeText(ps["Bob"].phone + ", +1 000")
	alice.press(tea.KeyEnter)
	alice.waitText("no group made")
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	alice.typeText(ps["Bob"].phone + ", " + carol.phone)
	alice.press(tea.KeyEnter)
	s := alice.waitText("Lunch club · 3 members", `You created the group "Lunch club"`, helpGroupConv[:20])
	if strings.Contains(s, "New group") {
		t.Fatalf("the form stayed after the group was made:\n%s", s)
	}

	bob.waitLine("Lunch club")
	alice.typeText("hello group")
	alice.press(tea.KeyEnter)
	alice.waitLine("You: hello group", "✓✓ delivered to all")
	bob.waitLine("Lunch club", "2 unread") // the history line counts: it is news too
	bob.waitLine("Alice: hello group")
	for bob.m.sel < len(bob.m.rows) && bob.m.rows[bob.m.sel].group == nil {
		bob.press(tea.KeyDown)
	}
	bob.press(tea.KeyEnter)
	bob.waitText("Lunch club · 3 members", `Alice created the group "Lunch club"`, "Alice: hello group")
	alice.waitLine("You: hello group", "read by 1 of 2")

	// Carol writes from her client; she has read nothing yet.
	g := alice.m.conv.chat.group
	if _, err := carol.c.SendGroupText(ctxT(t), g, "hi from carol"); err != nil {
		t.Fatal(err)
	}
	alice.waitLine("Carol: hi from carol")
	bob.waitLine("Carol: hi from carol")
	if err := carol.c.MarkReadGroup(ctxT(t), g); err != nil {
		t.Fatal(err)
	}
	alice.waitLine("You: hello group", "✓✓ read by all")
	alice.press(tea.KeyTab)
	alice.press(tea.KeyUp)
	alice.waitLine("▸", "You: hello group")
	alice.key("i")
	alice.waitText("Message info: hello group")
	alice.waitLine("Bob", "✓✓ read")
	alice.waitLine("Carol", "✓✓ read")
	alice.press(tea.KeyEsc)
	alice.press(tea.KeyEsc)
	alice.waitGone("Message info")

	// Typing shows who types.
	bob.typeText("on my w")
	alice.waitLine("Lunch club", "Bob is typing…")
	bob.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	bob.drain()
	alice.waitGone("Bob is typing…")

	// Bob replies to Alice's message and reacts to Carol's.
	bob.press(tea.KeyTab)
	bob.press(tea.KeyUp)
	bob.waitLine("▸", "Alice: hello group")
	bob.key("q")
	bob.waitText("↪ replying to Alice: hello group")
	bob.typeText("on my way")
	bob.press(tea.KeyEnter)
	alice.waitText("↪ reply to You: hello group", "Bob: on my way")
	bob.waitLine("You: on my way") // Tab selects the newest message: this one
	bob.press(tea.KeyTab)
	bob.waitLine("▸", "You: on my way")
	bob.press(tea.KeyUp)
	bob.waitLine("▸", "Carol: hi from carol")
	bob.key("r")
	bob.key("1")
	alice.waitText("[👍 Bob]")

	// Alice deletes her message for everyone; a history line cannot be
	// selected for an action.
	alice.press(tea.KeyTab)
	for i := 0; i < 10 && !strings.Contains(line(alice.view(), "▸"), "created the group"); i++ {
		alice.press(tea.KeyUp)
	}
	alice.key("r")
	alice.waitText("this is a notice, not a message")
	alice.press(tea.KeyDown)
	alice.waitLine("▸", "You: hello group")
	alice.key("d")
	alice.key("y")
	bob.waitText("Alice: message deleted")
}

// selectMember moves the info screen's selection to the member whose line
// has name.
func (h *harness) selectMember(name string) {
	h.t.Helper()
	h.waitText(name)
	for range 20 {
		if strings.Contains(line(h.view(), "▸"), name) {
			return
		}
		if strings.Index(h.view(), "▸") < strings.Index(h.view(), name) {
			h.press(tea.KeyDown)
		} else {
			h.press(tea.KeyUp)
		}
	}
	h.t.Fatalf("%s: cannot select %s:\n%s", h.name, name, h.view())
}

// TestGroupAdmin: from the group info screen, Alice adds a member by
// number, makes Bob an admin, renames the group, describes it, lets only
// admins send, makes an invite link that Erin joins with from her chat
// list, revokes it, removes Carol and leaves. Each change shows on the
// members' screens; Carol's conversation turns read-only with a banner.
func TestGroupAdmin(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ps := people(t, srv, []string{"Alice", "Bob", "Carol", "Dan", "Erin"}, map[string]bool{"Alice": true, "Carol": true, "Erin": true})
	alice, carol, erin := ps["Alice"].h, ps["Carol"].h, ps["Erin"].h
	bob := ps["Bob"]
	if _, err := ps["Alice"].c.CreateGroup(ctxT(t), "Team", []types.AccountID{bob.c.Account().ID, ps["Carol"].c.Account().ID}); err != nil {
		t.Fatal(err)
	}
	alice.waitLine("Team")
	alice.press(tea.KeyEnter)
	alice.waitText("Team · 3 members")
	carol.waitLine("Team")
	carol.press(tea.KeyEnter)
	carol.waitText(`Alice created the group "Team"`)

	alice.press(tea.KeyCtrlG)
	alice.waitText("Team · group info", "You are an admin · 3 members · every member can send", "Bob ("+bob.phone+")", helpInfoAdmin[:20])

	alice.key("a")
	alice.waitText("Add member:")
	alice.typeText(ps["Dan"].phone)
	alice.press(tea.KeyEnter)
	alice.waitText(ps["Dan"].phone+" was added", "4 members", "Dan ("+ps["Dan"].phone+")")
	carol.waitText("Alice added Dan")

	alice.selectMember("Bob")
	alice.key("m")
	alice.waitText("Bob is now an admin")
	alice.waitLine("Bob (", "admin")
	carol.waitText("Alice made Bob admin")

	alice.key("n")
	alice.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	alice.typeText("Dream team")
	alice.press(tea.KeyEnter)
	alice.waitText("Dream team · group info", "The group is now called Dream team")
	carol.waitText(`Alice changed the group name to "Dream team"`, "Dream team · 4 members")

	alice.key("e")
	alice.typeText("Fridays\x1b[2J at five")
	alice.press(tea.KeyEnter)
	alice.waitText("Fridays[2J at five", "The description changed")

	alice.key("o")
	alice.waitText("only admins can send", "Only admins can send now")
	carol.waitText("✕ Only admins can send messages in this group.")
	carol.typeText("ignored")
	if s := carol.view(); strings.Contains(s, "ignored") {
		t.Fatalf("a non-admin could type in an announcement-only group:\n%s", s)
	}

	// The invite link, and Erin joining with it from her chat list.
	alice.key("i")
	s := alice.waitText("Invite link (anyone who has it can join):", "The invite link is on")
	info, err := ps["Alice"].c.Group(ctxT(t), alice.m.info.group)
	if err != nil || info.InviteLink == "" {
		t.Fatalf("no invite link after i: %v", err)
	}
	if !strings.Contains(strings.ReplaceAll(s, "\n  ", ""), info.InviteLink) {
		t.Fatalf("the screen does not show the link %s:\n%s", info.InviteLink, s)
	}
	erin.key("i")
	erin.waitText("Invite link:", helpJoin)
	erin.typeText("parley://join/nonsense")
	erin.press(tea.KeyEnter)
	erin.waitText("not joined")
	erin.update(tea.KeyMsg{Type: tea.KeyCtrlU})
	erin.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(info.InviteLink), Paste: true})
	erin.press(tea.KeyEnter)
	erin.waitText("Dream team · 5 members", "✕ Only admins can send messages in this group.")
	alice.waitText("Erin (" + ps["Erin"].phone + ")")
	carol.waitText("Erin joined by invite link")

	alice.key("o")
	alice.waitText("every member can send", "Every member can send now")
	erin.waitGone("Only admins can send")

	alice.key("x")
	alice.waitText("Revoke the invite link?")
	alice.key("y")
	alice.waitText("Invite link: none (i makes one)", "The invite link no longer works")

	// Carol is removed: her conversation keeps its history, read-only.
	alice.selectMember("Carol")
	alice.key("r")
	alice.waitText("Remove Carol from the group? y/n")
	alice.key("y")
	alice.waitText("Carol was removed")
	s = carol.waitText("You are no longer a member of this group (removed by Alice)", "✕ You are no longer a member")
	if !strings.Contains(s, "Alice added Dan") {
		t.Errorf("the removed member's history went:\n%s", s)
	}
	carol.press(tea.KeyEsc)
	carol.waitLine("(not a member)")

	// Alice leaves.
	alice.key("l")
	alice.waitText("Leave Dream team?")
	alice.key("y")
	alice.waitText("You are no longer a member", "You left the group", helpInfoGone)
	alice.press(tea.KeyEsc)
	alice.waitText("You are no longer a member of this group (you left)")
}
