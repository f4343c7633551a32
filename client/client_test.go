package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

func TestMessagesBothWaysOnline(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()

	id := alice.send(bob, "hello bob")
	if err := alice.WaitSent(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	bob.waitHistory(alice.id(), "< hello bob")
	bob.send(alice, "hi alice")
	alice.waitHistory(bob.id(), "> hello bob", "< hi alice")
	bob.waitHistory(alice.id(), "< hello bob", "> hi alice")

	// Bob's device confirmed delivery automatically.
	eventually(t, "delivered", func() (bool, string) {
		m := alice.history(bob.id())[0]
		return m.Status() == clientstore.StatusDelivered, fmt.Sprint(m.Status())
	})
	if err := bob.MarkRead(ctxT(t), alice.id()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "read", func() (bool, string) {
		m := alice.history(bob.id())[0]
		return m.Status() == clientstore.StatusRead, fmt.Sprint(m.Status())
	})
	convs, _ := bob.Conversations(ctxT(t))
	if len(convs) != 1 || convs[0].Unread != 0 {
		t.Errorf("bob's conversations after reading: %+v", convs)
	}
}

func TestRepliesReactionsEditsDeletes(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	ctx := ctxT(t)

	first := alice.send(bob, "lunch at noon?")
	second := alice.send(bob, "typo mesage")
	bob.waitHistory(alice.id(), "< lunch at noon?", "< typo mesage")
	firstRef := clientstore.MessageRef{Sender: alice.id(), ID: first}
	secondRef := clientstore.MessageRef{Sender: alice.id(), ID: second}

	if _, err := bob.Send(ctx, alice.id(), client.ReplyContent("yes!", firstRef, "lunch at noon?")); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, alice.id(), client.ReactionContent(firstRef, "👍")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, bob.id(), client.EditContent(secondRef, "typo message")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, bob.id(), client.DeleteContent(firstRef)); err != nil {
		// The delete also removes Bob's reaction on both sides.
		t.Fatal(err)
	}
	// A forged edit of someone else's message changes nothing.
	if _, err := bob.Send(ctx, alice.id(), client.EditContent(secondRef, "forged")); err != nil {
		t.Fatal(err)
	}
	want := []string{"< (deleted)", "< typo message", "> yes!"}
	ms := bob.waitHistory(alice.id(), want...)
	if q := ms[2].Quote; q == nil || q.Excerpt != "lunch at noon?" {
		t.Errorf("reply lost its quote: %+v", q)
	}
	if ms[1].EditedAt.IsZero() {
		t.Error("edited message has no edit time")
	}
	alice.waitHistory(bob.id(), "> (deleted)", "> typo message", "< yes!")

	// Reaction on a message that stays.
	if _, err := bob.Send(ctx, alice.id(), client.ReactionContent(secondRef, "❤️")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reaction", func() (bool, string) {
		r := alice.history(bob.id())[1].Reactions
		return len(r) == 1 && r[0].Emoji == "❤️" && r[0].Reactor == bob.id(), fmt.Sprint(r)
	})
	if _, err := bob.Send(ctx, alice.id(), client.ReactionContent(secondRef, "")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reaction removed", func() (bool, string) {
		r := alice.history(bob.id())[1].Reactions
		return len(r) == 0, fmt.Sprint(r)
	})
}

func TestDisappearingTimer(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	if _, err := alice.Send(ctxT(t), bob.id(), client.TimerContent(3600)); err != nil {
		t.Fatal(err)
	}
	alice.send(bob, "this goes in an hour")
	ms := bob.waitHistory(alice.id(), "< ", "< this goes in an hour")
	if ms[0].Kind != client.KindTimer || ms[0].Timer != time.Hour {
		t.Errorf("timer entry: kind %d timer %s", ms[0].Kind, ms[0].Timer)
	}
	if exp := ms[1].ExpiresAt; exp.IsZero() || time.Until(exp) > time.Hour || time.Until(exp) < 59*time.Minute {
		t.Errorf("message expires at %s, want in an hour", exp)
	}
	convs, _ := bob.Conversations(ctxT(t))
	if len(convs) != 1 || convs[0].Timer != time.Hour {
		t.Errorf("bob's conversation timer: %+v", convs)
	}
}

func TestOfflineBothWays(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "") // never connected yet: no session, bundles only

	var ids []types.MessageID
	for i := range 3 {
		ids = append(ids, alice.send(bob, fmt.Sprintf("offline %d", i)))
	}
	for _, id := range ids {
		if err := alice.WaitSent(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
	}
	bob.connect()
	bob.waitHistory(alice.id(), "< offline 0", "< offline 1", "< offline 2")

	// Alice goes offline; Bob answers; she comes back.
	alice.Disconnect()
	bob.send(alice, "while you were away")
	bob.idle()
	if err := alice.Connect(); err != nil {
		t.Fatal(err)
	}
	alice.waitHistory(bob.id(), "> offline 0", "> offline 1", "> offline 2", "< while you were away")
	eventually(t, "all delivered", func() (bool, string) {
		var st []clientstore.Status
		for _, m := range alice.history(bob.id())[:3] {
			st = append(st, m.Status())
		}
		return !slices.ContainsFunc(st, func(s clientstore.Status) bool { return s < clientstore.StatusDelivered }), fmt.Sprint(st)
	})
}

func TestLinkedDeviceSeesEverything(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	alice.idle()
	laptop := link(t, srv, alice).connect()
	bob := register(t, srv, "").connect()
	if laptop.id() != alice.id() || laptop.Account().Device == alice.Account().Device {
		t.Fatalf("linked device %s, primary %s", laptop.Account(), alice.Account())
	}

	alice.send(bob, "from my phone")
	bob.waitHistory(alice.id(), "< from my phone")
	laptop.waitHistory(bob.id(), "> from my phone")

	bob.send(alice, "to all your devices")
	alice.waitHistory(bob.id(), "> from my phone", "< to all your devices")
	laptop.waitHistory(bob.id(), "> from my phone", "< to all your devices")

	laptop.send(bob, "from my laptop")
	bob.waitHistory(alice.id(), "< from my phone", "> to all your devices", "< from my laptop")
	ms := alice.waitHistory(bob.id(), "> from my phone", "< to all your devices", "> from my laptop")
	if ms[2].Sender != (types.Address{Account: alice.id(), Device: laptop.Account().Device}) {
		t.Errorf("laptop's message is filed as sent by %s", ms[2].Sender)
	}
	// Reading on the laptop clears the phone's unread count too.
	if err := laptop.MarkRead(ctxT(t), bob.id()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "read on the other device", func() (bool, string) {
		convs, _ := alice.Conversations(ctxT(t))
		return len(convs) == 1 && convs[0].Unread == 0, fmt.Sprint(convs)
	})
	eventually(t, "bob sees read", func() (bool, string) {
		m := bob.history(alice.id())[1]
		return m.Status() == clientstore.StatusRead, fmt.Sprint(m.Status())
	})
}

func TestUnknownContentKindIsKept(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()

	newer := newerClientContent(t, "a poll this version cannot show")
	if _, err := alice.Send(ctxT(t), bob.id(), newer); err != nil {
		t.Fatal(err)
	}
	ms := bob.waitHistory(alice.id(), "< a poll this version cannot show")
	m := ms[0]
	if m.Kind != client.KindUnknown || !client.IsUnknown(m.Content) {
		t.Fatalf("kind %d, content %v", m.Kind, m.Content)
	}
	// The unknown field survives byte for byte, for a later version.
	if got := pollField(t, m.Raw); got != "Which day?" {
		t.Errorf("poll field after storing: %q", got)
	}
	if s := alice.history(bob.id())[0]; s.Kind != client.KindUnknown {
		t.Errorf("sender's own copy has kind %d", s.Kind)
	}
}

func TestIdentityChangeBlocksUntilAcknowledged(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "before")
	bob.waitHistory(alice.id(), "< before")
	bob.Close()

	// Bob reinstalls: same number, new keys.
	bob2 := register(t, srv, bob.Account().Phone).connect()
	if bob2.id() != bob.id() {
		t.Fatal("re-registration changed the account id")
	}
	held := alice.send(bob2, "after reinstall")
	eventually(t, "identity change noticed", func() (bool, string) {
		ch, _ := alice.ChangedIdentities(ctxT(t))
		return len(ch) == 1, fmt.Sprint(ch)
	})
	_, err := alice.SendText(ctxT(t), bob2.id(), "blocked")
	var ice *client.IdentityChangedError
	if !errors.Is(err, client.ErrIdentityChanged) || !errors.As(err, &ice) || ice.Account != bob2.id() {
		t.Fatalf("send after a key change: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if h := bob2.history(alice.id()); len(h) != 0 {
		t.Fatalf("a message went out before the change was acknowledged: %q", texts(h))
	}
	if err := alice.AcknowledgeIdentity(ctxT(t), bob2.id()); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitSent(ctxT(t), held); err != nil {
		t.Fatal(err)
	}
	bob2.waitHistory(alice.id(), "< after reinstall")
}

// TestIdentityChangeSessionGoneMidSend: the session a message was
// encrypted with is forgotten before the message goes out (another send to
// the same account was just told the device is stale, as when the UI's
// typing indicator and the message race). The message must still name the
// registration id it was encrypted for, so that the server refuses it as
// stale and the reinstall holds it, instead of accepting a message the new
// device cannot decrypt (and Alice seeing it sent, never delivered).
func TestIdentityChangeSessionGoneMidSend(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "before")
	bob.waitHistory(alice.id(), "< before")
	bob.Close()
	bob2 := register(t, srv, bob.Account().Phone).connect()

	var once sync.Once
	client.SetAfterEncrypt(alice.Client, func(name string, device uint32) {
		if name != bob2.id().String() {
			return
		}
		once.Do(func() {
			if err := client.DeleteSession(ctxT(t), alice.Client, bob2.id(), types.DeviceID(device)); err != nil {
				t.Error(err)
			}
		})
	})
	held := alice.send(bob2, "after reinstall")
	status := func() clientstore.Status {
		for _, m := range alice.history(bob2.id()) {
			if m.Ref.ID == held {
				return m.Status()
			}
		}
		return 0
	}
	eventually(t, "the message held or sent", func() (bool, string) {
		ch, _ := alice.ChangedIdentities(ctxT(t))
		return len(ch) == 1 || status() != 0, fmt.Sprint(ch)
	})
	if s := status(); s != 0 {
		t.Fatalf("the message went out before the change was acknowledged (status %d)", s)
	}
	if err := alice.AcknowledgeIdentity(ctxT(t), bob2.id()); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitSent(ctxT(t), held); err != nil {
		t.Fatal(err)
	}
	bob2.waitHistory(alice.id(), "< after reinstall")
}

func TestEvents(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "hi")
	bob.waitHistory(alice.id(), "< hi")
	if err := bob.Typing(ctxT(t), alice.id(), true); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"connected": false, "synced": false, "sent": false, "delivered": false, "typing": false}
	timeout := time.After(20 * time.Second)
	for slices.Contains(mapValues(want), false) {
		select {
		case e := <-alice.Events():
			switch e := e.(type) {
			case client.ConnectionEvent:
				want["connected"] = want["connected"] || e.State == client.Connected
				want["synced"] = want["synced"] || e.Synced
			case client.SentEvent:
				want["sent"] = true
			case client.ReceiptEvent:
				want["delivered"] = want["delivered"] || e.Status == clientstore.StatusDelivered
			case client.TypingEvent:
				want["typing"] = e.Started && e.From.Account == bob.id()
			}
		case <-timeout:
			t.Fatalf("events seen: %v", want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		select {
		case e := <-bob.Events():
			if m, ok := e.(client.MessageEvent); ok {
				if m.Message.Text != "hi" || m.Message.Outgoing {
					t.Errorf("message event: %+v", m.Message)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no message event")
		}
	}
}

func mapValues(m map[string]bool) []bool {
	var out []bool
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestDeviceLinkedLater: Bob has sessions with Alice's only device when she
// links another; the server's MISMATCHED_DEVICES answer makes Bob fetch the
// new device's bundle and resend, and the new device gets the message.
func TestDeviceLinkedLater(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "one")
	bob.waitHistory(alice.id(), "< one")
	bob.send(alice, "two")
	alice.waitHistory(bob.id(), "> one", "< two")

	tablet := link(t, srv, alice).connect()
	bob.send(alice, "three")
	tablet.waitHistory(bob.id(), "< three")
	alice.waitHistory(bob.id(), "> one", "< two", "< three")
	alice.send(bob, "four")
	tablet.waitHistory(bob.id(), "< three", "> four")
	bob.waitHistory(alice.id(), "< one", "> two", "> three", "< four")
}

// The whole scenario on a linked device: while the laptop is offline
// the phone and Bob exchange messages, reactions, an edit and a delete; when
// it comes back it shows the conversation as the phone does, and what it
// sends while the phone is offline reaches the phone later.
func TestLinkedDeviceCatchesUpOnEverything(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "").connect()
	alice.idle()
	laptop := link(t, srv, alice).connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "hello")
	laptop.waitHistory(bob.id(), "> hello")

	laptop.Disconnect()
	lunch := alice.send(bob, "lunch at noon?")
	typo := alice.send(bob, "typo mesage")
	bob.waitHistory(alice.id(), "< hello", "< lunch at noon?", "< typo mesage")
	lunchRef := clientstore.MessageRef{Sender: alice.id(), ID: lunch}
	typoRef := clientstore.MessageRef{Sender: alice.id(), ID: typo}
	for _, c := range []*contentpb.Content{
		client.ReactionContent(typoRef, "👍"),
		client.ReplyContent("yes!", lunchRef, "lunch at noon?"),
	} {
		if _, err := bob.Send(ctx, alice.id(), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*contentpb.Content{
		client.EditContent(typoRef, "typo message"),
		client.DeleteContent(lunchRef),
	} {
		if _, err := alice.Send(ctx, bob.id(), c); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"> hello", "> (deleted)", "> typo message", "< yes!"}
	alice.waitHistory(bob.id(), want...)
	alice.idle()
	bob.idle()

	if err := laptop.Connect(); err != nil {
		t.Fatal(err)
	}
	ms := laptop.waitHistory(bob.id(), want...)
	if ms[2].EditedAt.IsZero() {
		t.Error("the laptop does not show the edit as an edit")
	}
	eventually(t, "bob's reaction on the laptop", func() (bool, string) {
		r := laptop.history(bob.id())[2].Reactions
		return len(r) == 1 && r[0].Emoji == "👍" && r[0].Reactor == bob.id(), fmt.Sprint(r)
	})
	eventually(t, "delivered on the laptop", func() (bool, string) {
		st := laptop.history(bob.id())[2].Status()
		return st >= clientstore.StatusDelivered, fmt.Sprint(st)
	})

	// Now the phone is offline and the laptop writes.
	alice.Disconnect()
	laptop.send(bob, "from the laptop")
	bob.waitHistory(alice.id(), "< hello", "< (deleted)", "< typo message", "> yes!", "< from the laptop")
	laptop.idle()
	if err := alice.Connect(); err != nil {
		t.Fatal(err)
	}
	alice.waitHistory(bob.id(), append(want, "> from the laptop")...)
}
