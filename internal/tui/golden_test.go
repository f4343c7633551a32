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
	m.typing[carol] = m.now().Add(time.Minute)
	golden(t, "list", m.View())

	m.open(bob)
	m.conv.loaded, m.conv.msgs = true, msgs
	m.conv.composer.set("typing a reply")
	m.typing[bob] = m.now().Add(time.Minute)
	golden(t, "conversation", m.View())

	// Selection mode on Bob's reply, then the emoji picker, then the
	// question before deleting one's own message.
	m.conv.composer.set("")
	delete(m.typing, bob)
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
