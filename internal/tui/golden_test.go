package tui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/")

// golden compares a screen with testdata/name.golden.
func golden(t *testing.T, name, screen string) {
	t.Helper()
	// The screens hold peers' strings (names, group names, descriptions,
	// file names, captions) with escapes and bidi overrides in them: none
	// may reach the terminal.
	for _, r := range screen {
		if r != '\n' && isControl(r) {
			t.Errorf("screen %s has the control character %U", name, r)
		}
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(screen+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if screen+"\n" != string(want) {
		t.Errorf("screen %s differs from %s:\n%s", name, path, screen)
	}
}

// staticModel is a model with fixed data and clock, for layouts.
func staticModel(t *testing.T) (*model, types.AccountID, types.AccountID) {
	c := openClient(t, t.TempDir()) // unregistered: no I/O happens
	m := newModel(context.Background(), c, "", plainStyles())
	now := time.Date(2026, 3, 4, 15, 30, 0, 0, time.Local)
	m.now = func() time.Time { return now }
	m.Update(tea.WindowSizeMsg{Width: 72, Height: 20})
	bob, carol := types.AccountID{1}, types.AccountID{2}
	m.contacts = map[types.AccountID]clientstore.Contact{
		bob:   {Account: bob, Phone: "+15550000001", Name: "Bob"},
		carol: {Account: carol, Phone: "+15550000002"},
	}
	return m, bob, carol
}

func TestGoldenScreens(t *testing.T) {
	m, bob, carol := staticModel(t)
	at := func(min int) time.Time { return time.Date(2026, 3, 4, 15, min, 0, 0, time.Local) }
	msg := func(min int, out bool, text string, st clientstore.Status) client.Message {
		m := client.Message{Peer: bob, Outgoing: out, Kind: client.KindText, Text: text, SentAt: at(min)}
		if st > 0 {
			m.Receipts = []clientstore.Receipt{{Recipient: bob, Status: st}}
		}
		return m
	}
	edited := msg(2, false, "see you at noon", 0)
	edited.EditedAt = at(3)
	deleted := msg(4, false, "", 0)
	deleted.Deleted = true
	reacted := msg(5, true, "lunch at the usual place?", clientstore.StatusRead)
	reacted.Reactions = []clientstore.Reaction{{Reactor: bob, Emoji: "👍"}}
	reply := msg(6, false, "yes, and bring the long message that wraps around the edge of a narrow terminal window", 0)
	reply.Quote = &contentpb.Quote{Target: &contentpb.MessageRef{Author: make([]byte, 16) /* our own account in this model */}, Excerpt: "lunch at the usual place?"}
	unknown := client.Message{Peer: bob, Kind: client.KindUnknown, SentAt: at(7)}
	msgs := []client.Message{
		msg(1, true, "hello bob", clientstore.StatusRead),
		edited, deleted, reacted, reply, unknown,
		msg(8, true, "delivered one", clientstore.StatusDelivered),
		msg(9, true, "sent one", clientstore.StatusSent),
		msg(10, true, "queued one", 0),
	}

	m.screen, m.listLoaded = screenList, true
	m.rows = []convRow{
		{conv: clientstore.Conversation{Peer: bob, LastActivity: at(10), Unread: 0}, last: &msgs[len(msgs)-1]},
		{conv: clientstore.Conversation{Peer: carol, LastActivity: time.Date(2026, 3, 1, 9, 0, 0, 0, time.Local), Unread: 3},
			last: &client.Message{Peer: carol, Kind: client.KindText, Text: "are you there?"}},
	}
	m.typing[typingKey{directChat(carol), carol}] = m.now().Add(time.Minute)
	golden(t, "list", m.View())

	m.open(directChat(bob))
	m.conv.loaded, m.conv.msgs = true, msgs
	m.conv.composer.set("typing a reply")
	m.typing[typingKey{directChat(bob), bob}] = m.now().Add(time.Minute)
	golden(t, "conversation", m.View())

	// Selection mode on Bob's reply, then the emoji picker, then the
	// question before deleting one's own message.
	m.conv.composer.set("")
	delete(m.typing, typingKey{directChat(bob), bob})
	m.conv.selecting = true
	m.conv.selRef = msgs[4].Ref
	m.conv.msgs[4].Ref.ID = types.MessageID{4} // distinct refs for the selection
	for i := range m.conv.msgs {
		m.conv.msgs[i].Ref.ID[15] = byte(i + 1)
	}
	m.selectIndex(4)
	golden(t, "select", m.View())
	m.conv.picking = true
	golden(t, "react", m.View())
	m.conv.picking, m.conv.selecting = false, false
	m.conv.replying = &m.conv.msgs[4]
	golden(t, "reply", m.View())
	m.conv.replying = nil

	m.changed[bob] = true
	golden(t, "identity_changed", m.View())
	m.conv.safety = &safetyPanel{sn: client.SafetyNumber{Digits: strings.Repeat("0123456789", 6)}}
	golden(t, "safety_number", m.View())
}

// groupModel is staticModel with a group of four: you (admin), Bob
// (admin), Carol, and Dan, whom you added later and who has no contact
// but a profile name.
func groupModel(t *testing.T) (*model, *client.GroupInfo, []client.Message) {
	m, bob, carol := staticModel(t)
	self, dan := m.self(), types.AccountID{3}
	m.contacts[dan] = clientstore.Contact{Account: dan, ProfileName: "Dan\u202e"}
	at := func(min int) time.Time { return time.Date(2026, 3, 4, 15, min, 0, 0, time.Local) }
	g := &client.GroupInfo{ID: types.GroupID{9, 9, 9, 9, 9, 9, 9, 9}, Name: "Lunch \x1b[31mclub",
		Description: "Tuesdays at noon,\nwherever Bob\u202e says",
		Members: []client.GroupMember{{Account: self, Admin: true, Since: 1}, {Account: bob, Admin: true, Since: 1},
			{Account: carol, Since: 1}, {Account: dan, Since: 2}},
		Role: client.RoleAdmin, Invite: true, InviteLink: "parley://join/09090909-0909-0909-0000-000000000000/AAAAAAAAAAAAAAAAAAAAAA#BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
	}
	sent := clientstore.Receipt{Status: clientstore.StatusSent}
	rc := func(a types.AccountID, s clientstore.Status) clientstore.Receipt {
		return clientstore.Receipt{Recipient: a, Status: s}
	}
	in := func(min int, from types.AccountID, text string) client.Message {
		return client.Message{Group: g.ID, Sender: types.Address{Account: from}, Kind: client.KindText, Text: text, SentAt: at(min)}
	}
	out := func(min int, text string, rs ...clientstore.Receipt) client.Message {
		return client.Message{Group: g.ID, Sender: types.Address{Account: self}, Outgoing: true, Kind: client.KindText, Text: text, SentAt: at(min), Receipts: rs}
	}
	line := func(min int, gc client.GroupChange) client.Message {
		return client.Message{Group: g.ID, Sender: types.Address{Account: gc.Actor.Account}, Outgoing: gc.Actor.Account == self,
			Kind: client.KindGroupEvent, GroupChange: &gc, SentAt: at(min)}
	}
	photo := in(6, bob, "the view")
	photo.Kind, photo.Media = client.KindMedia, &contentpb.Media{Kind: contentpb.Media_KIND_IMAGE, FileName: "view\u202e.jpg", Size: 1_234_567}
	msgs := []client.Message{
		line(0, client.GroupChange{Kind: client.GroupCreated, Actor: types.Address{Account: self}, Accounts: []types.AccountID{bob, carol}, Name: "Lunch club"}),
		in(1, bob, "hi all"),
		out(2, "where today?", sent, rc(bob, clientstore.StatusRead), rc(carol, clientstore.StatusRead)),
		line(3, client.GroupChange{Kind: client.GroupMembersAdded, Actor: types.Address{Account: self}, Accounts: []types.AccountID{dan}}),
		line(4, client.GroupChange{Kind: client.GroupAdminsChanged, Actor: types.Address{Account: self}, Accounts: []types.AccountID{bob}, Admin: true}),
		in(5, carol, "welcome Dan"),
		photo,
		out(7, "nice", sent, rc(bob, clientstore.StatusRead), rc(carol, clientstore.StatusDelivered), rc(dan, clientstore.StatusDelivered)),
		out(8, "Dan?", sent, rc(bob, clientstore.StatusDelivered)),
		in(9, dan, "here!"),
		out(10, "queued"),
	}
	return m, g, msgs
}

func TestGoldenGroupScreens(t *testing.T) {
	m, g, msgs := groupModel(t)
	bob, carol, dan := types.AccountID{1}, types.AccountID{2}, types.AccountID{3}
	at := func(min int) time.Time { return time.Date(2026, 3, 4, 15, min, 0, 0, time.Local) }
	ch := groupChat(g.ID)

	left := &client.GroupInfo{ID: types.GroupID{7}, Name: "Old team", Left: true}
	unnamed := &client.GroupInfo{ID: types.GroupID{8, 8, 8, 8, 8, 8, 8, 8}}
	m.screen, m.listLoaded = screenList, true
	m.rows = []convRow{
		{conv: clientstore.Conversation{Group: g.ID, LastActivity: msgs[9].SentAt, Unread: 2}, group: g, last: &msgs[9]},
		{conv: clientstore.Conversation{Peer: bob, LastActivity: msgs[1].SentAt}, last: &client.Message{Peer: bob, Kind: client.KindText, Text: "see you"}},
		{conv: clientstore.Conversation{Group: unnamed.ID, LastActivity: msgs[0].SentAt}, group: unnamed, last: &msgs[0]},
		{conv: clientstore.Conversation{Group: left.ID, LastActivity: time.Date(2026, 2, 1, 9, 0, 0, 0, time.Local)}, group: left,
			last: &client.Message{Group: left.ID, Outgoing: true, Kind: client.KindText, Text: "bye", Receipts: []clientstore.Receipt{{Status: clientstore.StatusSent}}}},
	}
	m.typing[typingKey{groupChat(unnamed.ID), carol}] = m.now().Add(time.Minute)
	golden(t, "group_list", m.View())

	m.open(ch)
	m.conv.loaded, m.conv.msgs = true, msgs
	m.typing[typingKey{ch, carol}] = m.now().Add(time.Minute)
	golden(t, "group_conversation", m.View())
	m.typing[typingKey{ch, dan}] = m.now().Add(time.Minute)
	if s := m.View(); !strings.Contains(line(s, "Lunch"), "Carol") && !strings.Contains(line(s, "Lunch"), "are typing") {
		t.Errorf("two members typing:\n%s", s)
	}
	delete(m.typing, typingKey{ch, carol})
	delete(m.typing, typingKey{ch, dan})

	// Message info on "nice", sent after Dan was added: each member and
	// how far it got with them.
	for i := range m.conv.msgs {
		m.conv.msgs[i].Ref.ID[0] = byte(i + 1)
	}
	m.conv.msgs[7].Receipts[1].At, m.conv.msgs[7].Receipts[2].At = at(8), at(9)
	m.convKey(tea.KeyMsg{Type: tea.KeyTab})
	for range 3 {
		m.convKey(tea.KeyMsg{Type: tea.KeyUp})
	}
	m.convKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("i")})
	golden(t, "group_message_info", m.View())
	m.convKey(tea.KeyMsg{Type: tea.KeyEsc})
	m.convKey(tea.KeyMsg{Type: tea.KeyEsc})

	m.openInfo(g.ID)
	golden(t, "group_info", m.View())
	m.info.sel = 2
	m.infoKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	golden(t, "group_info_remove", m.View())
	m.infoKey(tea.KeyMsg{Type: tea.KeyEsc})

	// A member of an announcement-only group; then one who was removed.
	member := *g
	member.Role, member.AnnouncementOnly, member.InviteLink = client.RoleMember, true, ""
	member.Members = append([]client.GroupMember{{Account: m.self()}}, g.Members[1:]...)
	m.info.g = &member
	golden(t, "group_info_member", m.View())
	m.infoKey(tea.KeyMsg{Type: tea.KeyEsc})
	m.conv.group = &member
	golden(t, "group_announcements", m.View())

	gone := member
	gone.Role, gone.Left, gone.AnnouncementOnly = client.RoleNone, true, false
	gone.Members = g.Members[1:]
	m.conv.group = &gone
	m.conv.msgs = append(m.conv.msgs, client.Message{Group: g.ID, Sender: types.Address{Account: bob}, Kind: client.KindGroupEvent, SentAt: msgs[10].SentAt,
		GroupChange: &client.GroupChange{Kind: client.GroupMembersRemoved, Actor: types.Address{Account: bob}, Accounts: []types.AccountID{m.self()}}})
	golden(t, "group_removed", m.View())
}

func TestGoldenMediaScreens(t *testing.T) {
	m, bob, _ := staticModel(t)
	m.downloadDir = "/home/ana/Downloads"
	at := time.Date(2026, 3, 4, 15, 1, 0, 0, time.Local)
	doc := client.Message{Peer: bob, Kind: client.KindMedia, Text: "the minutes", SentAt: at,
		Media: &contentpb.Media{Kind: contentpb.Media_KIND_DOCUMENT, FileName: "../../minutes\x1b[2J.pdf", Size: 2_500_000}}
	doc.Ref.ID[0] = 1
	mine := client.Message{Peer: bob, Outgoing: true, Kind: client.KindMedia, SentAt: at.Add(time.Minute),
		Media:    &contentpb.Media{Kind: contentpb.Media_KIND_IMAGE, FileName: "cat.jpg", Size: 999},
		Receipts: []clientstore.Receipt{{Recipient: bob, Status: clientstore.StatusDelivered}}}
	m.open(directChat(bob))
	m.conv.loaded, m.conv.msgs = true, []client.Message{doc, mine}
	ch := m.conv.chat
	m.transfers = []*transfer{
		{id: 1, chat: ch, upload: true, name: "holiday.mp4", done: 12_000_000, total: 30_000_000},
		{id: 2, chat: ch, name: "minutes.pdf", done: 2_500_000, total: 2_500_000},
		{id: 3, chat: directChat(types.AccountID{2}), upload: true, name: "elsewhere.txt", total: 10},
	}
	golden(t, "media_progress", m.View())

	m.transfers = nil
	m.conv.prompt = newPrompt(promptCaption, "Caption for holiday.mp4 (30.0 MB): ", "optional", "")
	golden(t, "media_caption", m.View())

	m.conv.prompt = nil
	m.convKey(tea.KeyMsg{Type: tea.KeyTab})
	m.convKey(tea.KeyMsg{Type: tea.KeyUp})
	m.convKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	if m.conv.prompt == nil || m.conv.prompt.kind != promptSave {
		t.Fatalf("s on a file did not ask where to save it:\n%s", m.View())
	}
	m.conv.err = "minutes.pdf was not saved: " + m.mediaError(ch, client.ErrMediaTampered)
	golden(t, "media_save", m.View())
}
