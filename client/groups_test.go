package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// light makes a device cheap to register: few prekeys, topped up only
// when they are gone.
func light(o *client.Options) { o.PreKeyBatch, o.PreKeyLow = 3, 1 }

// account is one account of a big test: its primary and linked devices,
// made off the test's goroutine (so errors are returned, not fatal).
func newAccount(ctx context.Context, t *testing.T, srv *testserver.Server, linked int) ([]*device, error) {
	o := options(t)
	light(&o)
	open := func() (*device, error) {
		dir := t.TempDir()
		c, err := client.Open(ctx, dir, o)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { c.Close() })
		return &device{t: t, dir: dir, Client: c}, nil
	}
	primary, err := open()
	if err != nil {
		return nil, err
	}
	phone := testserver.NewPhone()
	if err := primary.RequestCode(ctx, srv.URL, phone); err != nil {
		return nil, err
	}
	if err := primary.Register(ctx, srv.URL, phone, testserver.Code); err != nil {
		return nil, err
	}
	if err := primary.Connect(); err != nil {
		return nil, err
	}
	devs := []*device{primary}
	for range linked {
		if err := primary.WaitSynced(ctx); err != nil {
			return nil, err
		}
		code, err := primary.CreateLinkCode(ctx)
		if err != nil {
			return nil, err
		}
		d, err := open()
		if err != nil {
			return nil, err
		}
		if err := d.Link(ctx, srv.URL, code); err != nil {
			return nil, err
		}
		if err := d.Connect(); err != nil {
			return nil, err
		}
		devs = append(devs, d)
	}
	return devs, nil
}

// groupLines renders d's history of group g as "<sender account prefix>:
// text" lines, group changes as "* text".
func (d *device) groupLines(g types.GroupID) []string {
	d.t.Helper()
	ms, err := d.GroupMessages(ctxT(d.t), g, 0, 1000)
	if err != nil {
		d.t.Fatalf("group messages: %v", err)
	}
	var out []string
	for _, m := range ms {
		switch {
		case m.Kind == client.KindGroupEvent:
			out = append(out, "* "+m.GroupChange.Kind.String())
		case m.Deleted:
			out = append(out, "(deleted)")
		default:
			out = append(out, m.Text)
		}
	}
	return out
}

// waitGroupText waits until d's group history has a message with text.
func (d *device) waitGroupText(g types.GroupID, text string) client.Message {
	d.t.Helper()
	return d.waitGroupTextWithin(20*time.Second, g, text)
}

func (d *device) waitGroupTextWithin(within time.Duration, g types.GroupID, text string) client.Message {
	d.t.Helper()
	var found client.Message
	eventuallyWithin(d.t, within, fmt.Sprintf("%s has %q", d.dir, text), func() (bool, string) {
		ms, err := d.GroupMessages(ctxT(d.t), g, 0, 50)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.Text == text && m.Kind == client.KindText {
				found = m
				return true, ""
			}
		}
		return false, fmt.Sprint(d.groupLines(g))
	})
	return found
}

// waitGroup waits until d's view of group g satisfies cond.
func (d *device) waitGroup(g types.GroupID, what string, cond func(client.GroupInfo) bool) client.GroupInfo {
	d.t.Helper()
	var info client.GroupInfo
	eventually(d.t, what, func() (bool, string) {
		var err error
		info, err = d.Group(ctxT(d.t), g)
		if err != nil {
			return false, err.Error()
		}
		return cond(info), fmt.Sprintf("%+v", info)
	})
	return info
}

func memberIDs(info client.GroupInfo) []types.AccountID {
	var out []types.AccountID
	for _, m := range info.Members {
		out = append(out, m.Account)
	}
	return out
}

func sameMembers(info client.GroupInfo, want ...*device) bool {
	got := memberIDs(info)
	if len(got) != len(want) {
		return false
	}
	for _, d := range want {
		if !slices.Contains(got, d.id()) {
			return false
		}
	}
	return true
}

func (d *device) groupHead(g types.GroupID) [32]byte {
	d.t.Helper()
	h, err := client.GroupHead(ctxT(d.t), d.Client, g)
	if err != nil {
		d.t.Fatal(err)
	}
	return h
}

// waitEvent reads d's events until one satisfies match.
func waitEvent(t *testing.T, d *device, match func(client.Event) bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-d.Events():
			if match(e) {
				return
			}
		case <-timeout:
			t.Fatal("the event never came")
		}
	}
}

// capture records the SenderKeyMessages a device sends to groups.
type capture struct {
	mu  sync.Mutex
	cts [][]byte
}

func (c *capture) hook(_ types.GroupID, ct []byte) {
	c.mu.Lock()
	c.cts = append(c.cts, ct)
	c.mu.Unlock()
}

func (c *capture) last() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cts[len(c.cts)-1]
}

func TestGroupLifecycle(t *testing.T) {
	for _, b := range testserver.Backends {
		t.Run(string(b), func(t *testing.T) { testGroupLifecycle(t, b) })
	}
}

func testGroupLifecycle(t *testing.T, backend testserver.Backend) {
	srv := testserver.Start(t, testserver.Options{Backend: backend})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	carol := register(t, srv, "", light).connect()
	dave := register(t, srv, "", light).connect()
	sent := &capture{}
	client.SetGroupSentHook(alice.Client, sent.hook)

	g, err := alice.CreateGroup(ctx, "Climbing", []types.AccountID{bob.id(), carol.id()})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{alice, bob, carol} {
		info := d.waitGroup(g, "everyone sees the group with its name", func(i client.GroupInfo) bool {
			return i.Name == "Climbing" && sameMembers(i, alice, bob, carol)
		})
		wantRole := client.RoleMember
		if d == alice {
			wantRole = client.RoleAdmin
		}
		if info.Role != wantRole || info.Left {
			t.Errorf("%s: role %v, left %v", d.dir, info.Role, info.Left)
		}
	}
	if _, err := dave.Group(ctx, g); !errors.Is(err, client.ErrUnknownGroup) {
		t.Errorf("dave, not a member, knows the group: %v", err)
	}

	// Messages, replies, reactions, edits and deletes, all through the
	// group's one ciphertext.
	first, err := alice.SendGroupText(ctx, g, "who's in on saturday?")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitSent(ctx, first); err != nil {
		t.Fatal(err)
	}
	firstRef := clientstore.MessageRef{Sender: alice.id(), ID: first}
	m := bob.waitGroupText(g, "who's in on saturday?")
	if m.Group != g || m.Sender.Account != alice.id() || m.Outgoing {
		t.Errorf("bob got %+v", m)
	}
	carol.waitGroupText(g, "who's in on saturday?")
	if _, err := bob.Reply(ctx, firstRef, "me!"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.React(ctx, firstRef, "🧗"); err != nil {
		t.Fatal(err)
	}
	alice.waitGroupText(g, "me!")
	carol.waitGroupText(g, "me!")
	eventually(t, "the reaction reaches bob", func() (bool, string) {
		m, err := bob.Message(ctx, firstRef)
		return err == nil && len(m.Reactions) == 1 && m.Reactions[0].Emoji == "🧗", fmt.Sprint(m.Reactions, err)
	})
	if _, err := alice.Edit(ctx, firstRef, "who's in on sunday?"); err != nil {
		t.Fatal(err)
	}
	carol.waitGroupText(g, "who's in on sunday?")
	// Each member's device confirmed delivery to alice, pairwise.
	eventually(t, "delivery receipts from both", func() (bool, string) {
		m, err := alice.Message(ctx, firstRef)
		n := 0
		for _, r := range m.Receipts {
			if r.Status >= clientstore.StatusDelivered {
				n++
			}
		}
		return err == nil && n == 2, fmt.Sprint(m.Receipts, err)
	})

	// Read receipts go to the author pairwise; typing reaches the group.
	if err := bob.MarkReadGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's read receipt", func() (bool, string) {
		m, err := alice.Message(ctx, firstRef)
		for _, r := range m.Receipts {
			if r.Recipient == bob.id() && r.Status == clientstore.StatusRead {
				return true, ""
			}
		}
		return false, fmt.Sprint(m.Receipts, err)
	})
	if err := carol.TypingGroup(ctx, g, true); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, func(e client.Event) bool {
		te, ok := e.(client.TypingEvent)
		return ok && te.Group == g && te.From.Account == carol.id() && te.Started
	})

	// Rename: every member sees it, with a history line.
	if err := alice.RenameGroup(ctx, g, "Climbing club"); err != nil {
		t.Fatal(err)
	}
	bob.waitGroup(g, "the new name", func(i client.GroupInfo) bool { return i.Name == "Climbing club" })

	// Dave joins later: he gets the secret and what is sent after, not
	// what was sent before.
	if err := alice.AddMembers(ctx, g, []types.AccountID{dave.id()}); err != nil {
		t.Fatal(err)
	}
	dave.waitGroup(g, "dave sees the group", func(i client.GroupInfo) bool {
		return i.Name == "Climbing club" && sameMembers(i, alice, bob, carol, dave) && i.Role == client.RoleMember
	})
	if _, err := bob.SendGroupText(ctx, g, "welcome dave"); err != nil {
		t.Fatal(err)
	}
	dave.waitGroupText(g, "welcome dave")
	alice.waitGroupText(g, "welcome dave")
	if lines := dave.groupLines(g); slices.Contains(lines, "who's in on sunday?") {
		t.Errorf("dave sees a message from before he joined: %q", lines)
	}

	// Carol is removed: she learns it, keeps her history, cannot send, and
	// can read nothing sent after, not even with her stored sender keys.
	if err := alice.RemoveMembers(ctx, g, []types.AccountID{carol.id()}); err != nil {
		t.Fatal(err)
	}
	carol.waitGroup(g, "carol learns she was removed", func(i client.GroupInfo) bool { return i.Left && i.Role == client.RoleNone })
	if _, err := carol.SendGroupText(ctx, g, "still here?"); !errors.Is(err, client.ErrNotMember) {
		t.Errorf("carol's send after removal: %v, want ErrNotMember", err)
	}
	after, err := alice.SendGroupText(ctx, g, "carol's gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitSent(ctx, after); err != nil {
		t.Fatal(err)
	}
	bob.waitGroupText(g, "carol's gone")
	dave.waitGroupText(g, "carol's gone")
	ct := sent.last()
	_, err = senderkey.Decrypt(ctx, carol.Store(), senderkey.Address{Name: alice.id().String(), DeviceID: 1}, ct)
	if !errors.Is(err, senderkey.ErrNoSenderKey) {
		t.Errorf("carol's sender keys decrypt a message sent after her removal: %v", err)
	}
	carol.idle()
	if lines := carol.groupLines(g); slices.Contains(lines, "carol's gone") || !slices.Contains(lines, "welcome dave") {
		t.Errorf("carol's history after removal: %q", lines)
	}

	// Bob leaves; the others see it.
	if err := bob.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	alice.waitGroup(g, "bob left", func(i client.GroupInfo) bool { return sameMembers(i, alice, dave) })
	want := []string{"* created", "who's in on sunday?", "me!", "* attributes-changed", "* members-added", "welcome dave",
		"* members-removed", "carol's gone", "* member-left"}
	eventually(t, "alice's history", func() (bool, string) {
		got := alice.groupLines(g)
		return slices.Equal(got, want), fmt.Sprintf("%q", got)
	})
	msgs, err := alice.GroupMessages(ctx, g, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if gc := msgs[len(msgs)-1].GroupChange; gc == nil || gc.Actor.Account != bob.id() ||
		!strings.Contains(gc.Describe(func(a types.AccountID) string { return map[types.AccountID]string{bob.id(): "Bob"}[a] }), "Bob left") {
		t.Errorf("the last line: %+v", gc)
	}

	// The chat list shows the group with its name.
	chats, err := dave.Chats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(chats, func(c client.Chat) bool { return c.Group != nil && c.Group.ID == g }); i < 0 || chats[i].Group.Name != "Climbing club" || chats[i].Last == nil {
		t.Errorf("dave's chats: %+v", chats)
	}
}

// TestGroupFiftyMembers: a group of 50 accounts, some of them on two or
// three devices; every member device gets every message, members added
// and removed on the way; the removed ones get nothing sent after.
func TestGroupFiftyMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 50 accounts")
	}
	srv := testserver.Start(t, testserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 50
	type member struct {
		devs []*device
	}
	members := make([]*member, n+3) // 3 more join later
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(members))
	sem := make(chan struct{}, 4)
	for i := range members {
		// Every fifth account has a linked device, every tenth two.
		linked := 0
		if i%5 == 0 {
			linked++
		}
		if i%10 == 0 {
			linked++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			devs, err := newAccount(ctx, t, srv, linked)
			members[i], errs[i] = &member{devs: devs}, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d accounts registered in %v", len(members), time.Since(start))
	admin := members[0].devs[0]
	var ids []types.AccountID
	for _, m := range members[1:n] {
		ids = append(ids, m.devs[0].id())
	}
	g, err := admin.CreateGroup(ctx, "Fifty", ids)
	if err != nil {
		t.Fatal(err)
	}
	// Every member device receives, the admin's linked devices included.
	everyone := func(ms []*member, text string) {
		t.Helper()
		start := time.Now()
		n := 0
		for _, m := range ms {
			for _, d := range m.devs {
				// Generous: 65 devices share two cores, which other
				// tests may be using too.
				d.waitGroupTextWithin(2*time.Minute, g, text)
				n++
			}
		}
		t.Logf("%q reached %d devices in %v", text, n, time.Since(start))
	}
	if _, err := admin.SendGroupText(ctx, g, "hello fifty"); err != nil {
		t.Fatal(err)
	}
	everyone(members[:n], "hello fifty")

	// Five leave the group (removed), three join.
	removed := members[n-5 : n]
	var rm, add []types.AccountID
	for _, m := range removed {
		rm = append(rm, m.devs[0].id())
	}
	for _, m := range members[n:] {
		add = append(add, m.devs[0].id())
	}
	if err := admin.RemoveMembers(ctx, g, rm); err != nil {
		t.Fatal(err)
	}
	if err := admin.AddMembers(ctx, g, add); err != nil {
		t.Fatal(err)
	}
	for _, m := range removed {
		for _, d := range m.devs {
			eventuallyWithin(t, 2*time.Minute, "a removed device learns it", func() (bool, string) {
				i, err := d.Group(ctx, g)
				return err == nil && i.Left, fmt.Sprint(i, err)
			})
		}
	}
	stay := append(slices.Clone(members[:n-5]), members[n:]...)
	// The admin's laptop sends: its sender key is new to everyone, and
	// the removed members' devices are not given it.
	if _, err := members[0].devs[1].SendGroupText(ctx, g, "after the change"); err != nil {
		t.Fatal(err)
	}
	everyone(stay, "after the change")
	for _, m := range removed {
		for _, d := range m.devs {
			if err := d.WaitSynced(ctx); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(d.groupLines(g), "after the change") {
				t.Errorf("a removed member's device got a message sent after its removal")
			}
		}
	}
}

// TestGroupOfflineMemberCatchesUp: a member offline while the group is
// made, named and written to learns all of it when it connects.
func TestGroupOfflineMemberCatchesUp(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light) // not connected
	laptop := link(t, srv, alice)      // alice's other device, offline too
	g, err := alice.CreateGroup(ctx, "Offline", []types.AccountID{bob.id()})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		id, err := alice.SendGroupText(ctx, g, text)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.WaitSent(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.RenameGroup(ctx, g, "Offline no more"); err != nil {
		t.Fatal(err)
	}
	alice.idle()
	bob.connect()
	laptop.connect()
	for _, d := range []*device{bob, laptop} {
		d.waitGroup(g, "the group with its new name", func(i client.GroupInfo) bool { return i.Name == "Offline no more" })
		d.waitGroupText(g, "three")
		if got := d.groupLines(g); !slices.Equal(got, []string{"* created", "one", "two", "three", "* attributes-changed"}) {
			t.Errorf("history %q", got)
		}
	}
	// Alice's laptop shows her messages as her own.
	if m := laptop.waitGroupText(g, "one"); !m.Outgoing || m.Sender.Device != 1 {
		t.Errorf("the laptop's copy: %+v", m)
	}
}

// TestGroupChangedRetry: a member links a device after the sender fetched
// the group's devices; the server refuses the next send (GROUP_CHANGED),
// the sender fetches again, gives the new device its key and sends.
func TestGroupChangedRetry(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	g, err := alice.CreateGroup(ctx, "Devices", []types.AccountID{bob.id()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendGroupText(ctx, g, "before"); err != nil {
		t.Fatal(err)
	}
	bob.waitGroupText(g, "before")
	tablet := link(t, srv, bob).connect()
	id, err := alice.SendGroupText(ctx, g, "after")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	tablet.waitGroupText(g, "after")
	bob.waitGroupText(g, "after")
}

// TestGroupDeviceLinkedLater: a device linked after the group was made
// learns of the group when it connects, gets its name with the first
// message its account sends there, and every message after.
func TestGroupDeviceLinkedLater(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	g, err := alice.CreateGroup(ctx, "Before the laptop", []types.AccountID{bob.id()})
	if err != nil {
		t.Fatal(err)
	}
	alice.idle()
	laptop := link(t, srv, alice, light).connect()
	laptop.waitGroup(g, "the laptop knows the group", func(i client.GroupInfo) bool { return i.Role == client.RoleAdmin })
	if _, err := bob.SendGroupText(ctx, g, "from bob"); err != nil {
		t.Fatal(err)
	}
	laptop.waitGroupText(g, "from bob")
	if _, err := alice.SendGroupText(ctx, g, "from alice's phone"); err != nil {
		t.Fatal(err)
	}
	laptop.waitGroupText(g, "from alice's phone")
	laptop.waitGroup(g, "the laptop has the name", func(i client.GroupInfo) bool { return i.Name == "Before the laptop" })
}

// TestGroupSendSurvivesRestart: a group message queued while offline is
// sent after the client is closed and opened again.
func TestGroupSendSurvivesRestart(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	g, err := alice.CreateGroup(ctx, "Durable", []types.AccountID{bob.id()})
	if err != nil {
		t.Fatal(err)
	}
	alice.idle()
	alice.Disconnect()
	id, err := alice.SendGroupText(ctx, g, "queued while offline")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	again := openDevice(t, alice.dir).connect()
	if err := again.WaitSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	bob.waitGroupText(g, "queued while offline")
	if m := again.waitGroupText(g, "queued while offline"); m.Status() != clientstore.StatusSent && m.Status() != clientstore.StatusDelivered {
		t.Errorf("status after the restart: %v", m.Status())
	}
}

// TestGroupForgedEventRefused: group events that the server could forge
// (a signature by a key that is not the admin device's, a change by a
// non-admin, a broken signature) are refused by members: the membership
// stays as it was, and nobody gets the sender key of an intruder's
// making.
func TestGroupForgedEventRefused(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	carol := register(t, srv, "", light).connect()
	g, err := alice.CreateGroup(ctx, "Guarded", []types.AccountID{bob.id(), carol.id()})
	if err != nil {
		t.Fatal(err)
	}
	// Bob and carol get alice's sender key pairwise: they now know her
	// device's identity key.
	if _, err := alice.SendGroupText(ctx, g, "hi"); err != nil {
		t.Fatal(err)
	}
	bob.waitGroupText(g, "hi")
	carol.waitGroupText(g, "hi")
	info, err := bob.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	head := bob.groupHead(g)
	intruder := types.NewAccountID()
	forgedKey, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	add := &wirepb.GroupEventBody_Add{Add: &wirepb.GroupAddMembers{Members: []*wirepb.GroupMember{{Account: intruder[:]}}}}
	sign := func(actor types.Address, key curve.KeyPair) []byte {
		ev, err := grouplog.Sign(&wirepb.GroupEventBody{GroupId: g[:], Seq: info.Seq + 1, PrevHash: head[:],
			ActorAccount: actor.Account[:], ActorDevice: uint32(actor.Device), TimeMs: time.Now().UnixMilli(),
			ActorIdentityKey: key.Public.Bytes(), Change: add}, key.Private)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Raw
	}
	aliceAddr := types.Address{Account: alice.id(), Device: 1}
	bobAddr := types.Address{Account: bob.id(), Device: 1}
	badSig := sign(aliceAddr, alice.Account().Identity)
	badSig[len(badSig)-1] ^= 1
	for name, raw := range map[string][]byte{
		"signed in alice's name by another key": sign(aliceAddr, forgedKey),
		"signed by bob, who is no admin":        sign(bobAddr, bob.Account().Identity),
		"a broken signature":                    badSig,
	} {
		t.Run(name, func(t *testing.T) {
			for _, d := range []*device{bob, carol} {
				env := &wirepb.Envelope{Id: 0, Type: wirepb.EnvelopeType_ENVELOPE_TYPE_GROUP_EVENT, GroupId: g[:], Content: raw}
				if !client.InjectEnvelope(ctx, d.Client, env) {
					t.Errorf("%s: a forged event is not acknowledged (it would come back forever)", d.dir)
				}
				got, err := d.Group(ctx, g)
				if err != nil || got.Seq != info.Seq || !sameMembers(got, alice, bob, carol) {
					t.Errorf("%s: after the forged event: %+v, %v", d.dir, got, err)
				}
			}
		})
	}
	// The group still works, and nothing went to the intruder.
	if _, err := alice.SendGroupText(ctx, g, "still ours"); err != nil {
		t.Fatal(err)
	}
	bob.waitGroupText(g, "still ours")
	carol.waitGroupText(g, "still ours")
}

// TestGroupInviteLink: an admin makes a link, someone joins with it; a
// revoked link no longer works.
func TestGroupInviteLink(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	dave := register(t, srv, "", light).connect()
	eve := register(t, srv, "", light).connect()
	g, err := alice.CreateGroup(ctx, "Open house", []types.AccountID{bob.id()})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitGroup(g, "bob is in", func(i client.GroupInfo) bool { return i.Role == client.RoleMember })
	if _, err := bob.CreateInvite(ctx, g); !errors.Is(err, client.ErrNotAdmin) {
		t.Errorf("a member's invite link: %v, want ErrNotAdmin", err)
	}
	link, err := alice.CreateInvite(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := alice.Group(ctx, g); !info.Invite || info.InviteLink != link {
		t.Errorf("alice's view of the invite: %+v", info)
	}
	joined, err := dave.JoinInvite(ctx, link)
	if err != nil || joined != g {
		t.Fatalf("join: %v, %v", joined, err)
	}
	if info, err := dave.Group(ctx, g); err != nil || info.Name != "Open house" || !sameMembers(info, alice, bob, dave) {
		t.Errorf("dave's view after joining: %+v, %v", info, err)
	}
	bob.waitGroup(g, "bob sees dave join", func(i client.GroupInfo) bool { return sameMembers(i, alice, bob, dave) })
	if _, err := dave.SendGroupText(ctx, g, "thanks for the link"); err != nil {
		t.Fatal(err)
	}
	alice.waitGroupText(g, "thanks for the link")
	bob.waitGroupText(g, "thanks for the link")

	if err := alice.RevokeInvite(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := eve.JoinInvite(ctx, link); err == nil {
		t.Error("eve joined with a revoked link")
	}
	if info, _ := alice.Group(ctx, g); info.Invite || sameMembers(info, alice, bob, dave, eve) {
		t.Errorf("after revoking: %+v", info)
	}
}

// TestGroupAdminsAndAnnouncements: only admins change the group; in an
// announcement-only group only admins send.
func TestGroupAdminsAndAnnouncements(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	carol := register(t, srv, "", light).connect()
	g, err := alice.CreateGroup(ctx, "News", []types.AccountID{bob.id(), carol.id()})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitGroup(g, "bob is in", func(i client.GroupInfo) bool { return i.Role == client.RoleMember })
	if err := bob.RemoveMembers(ctx, g, []types.AccountID{carol.id()}); !errors.Is(err, client.ErrNotAdmin) {
		t.Errorf("a member removing another: %v, want ErrNotAdmin", err)
	}
	if err := bob.RenameGroup(ctx, g, "Bob's"); !errors.Is(err, client.ErrNotAdmin) {
		t.Errorf("a member renaming: %v, want ErrNotAdmin", err)
	}
	if err := alice.SetAnnouncementOnly(ctx, g, true); err != nil {
		t.Fatal(err)
	}
	bob.waitGroup(g, "announcement-only", func(i client.GroupInfo) bool { return i.AnnouncementOnly })
	if _, err := bob.SendGroupText(ctx, g, "may I?"); !errors.Is(err, client.ErrNotAdmin) {
		t.Errorf("a member sending in an announcement-only group: %v, want ErrNotAdmin", err)
	}
	if err := alice.SetAdmins(ctx, g, []types.AccountID{bob.id()}, true); err != nil {
		t.Fatal(err)
	}
	bob.waitGroup(g, "bob is admin", func(i client.GroupInfo) bool { return i.Role == client.RoleAdmin })
	if _, err := bob.SendGroupText(ctx, g, "now I may"); err != nil {
		t.Fatal(err)
	}
	carol.waitGroupText(g, "now I may")
	// The last admin but one leaves; then alice, the remaining admin,
	// leaves too: carol, the longest-standing member, becomes admin.
	if err := bob.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := alice.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	carol.waitGroup(g, "carol inherits the group", func(i client.GroupInfo) bool {
		return i.Role == client.RoleAdmin && sameMembers(i, carol)
	})
}

// TestGroupConcurrentChanges: two admins change the group at once; the
// one whose change comes second gets GROUP_CHANGED, fetches the other's
// and makes its own on top.
func TestGroupConcurrentChanges(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	var others []*device
	var ids []types.AccountID
	for range 4 {
		d := register(t, srv, "", light).connect()
		others = append(others, d)
		ids = append(ids, d.id())
	}
	g, err := alice.CreateGroup(ctx, "Busy", []types.AccountID{bob.id()})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SetAdmins(ctx, g, []types.AccountID{bob.id()}, true); err != nil {
		t.Fatal(err)
	}
	bob.waitGroup(g, "bob is admin", func(i client.GroupInfo) bool { return i.Role == client.RoleAdmin })
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			by := alice
			if i%2 == 1 {
				by = bob
			}
			errs[i] = by.AddMembers(ctx, g, ids[i:i+1])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("change %d: %v", i, err)
		}
	}
	want := append([]*device{alice, bob}, others...)
	for _, d := range want {
		d.waitGroup(g, "everyone sees all six", func(i client.GroupInfo) bool { return sameMembers(i, want...) })
	}
}

// TestGroupForgedEventInServerStore: a server that writes an event into
// its own store, adding an intruder in an admin's name with a key of its
// making, and hands it out as it would a real one. Members refuse it;
// nobody gives the intruder a sender key, and messages wait rather than go
// to a membership the log does not prove.
func TestGroupForgedEventInServerStore(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := ctxT(t)
	alice := register(t, srv, "", light).connect()
	bob := register(t, srv, "", light).connect()
	carol := register(t, srv, "", light).connect()
	mallory := register(t, srv, "", light).connect()
	sent := &capture{}
	client.SetGroupSentHook(alice.Client, sent.hook)
	g, err := alice.CreateGroup(ctx, "Private", []types.AccountID{bob.id(), carol.id()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendGroupText(ctx, g, "hi"); err != nil {
		t.Fatal(err)
	}
	bob.waitGroupText(g, "hi")
	carol.waitGroupText(g, "hi")
	alice.idle()

	st, err := sqlstore.Open(ctx, srv.Config.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cur, err := st.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	forgedKey, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	mid, aid := mallory.id(), alice.id()
	ev, err := grouplog.Sign(&wirepb.GroupEventBody{GroupId: g[:], Seq: cur.Seq + 1, PrevHash: cur.Head,
		ActorAccount: aid[:], ActorDevice: 1, TimeMs: time.Now().UnixMilli(), ActorIdentityKey: forgedKey.Public.Bytes(),
		Change: &wirepb.GroupEventBody_Add{Add: &wirepb.GroupAddMembers{Members: []*wirepb.GroupMember{{Account: mid[:]}}}}}, forgedKey.Private)
	if err != nil {
		t.Fatal(err)
	}
	next := cur
	next.Seq, next.Head = cur.Seq+1, ev.Hash[:]
	next.Members = append(slices.Clone(cur.Members), store.GroupMember{Account: mid, Since: cur.Seq + 1})
	slices.SortFunc(next.Members, func(a, b store.GroupMember) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	now := time.Now()
	notice := types.MessageID(ev.Hash[:16])
	err = st.AppendGroupEvent(ctx, &store.GroupChange{Prev: cur.Seq, Next: next, Event: ev.Raw,
		Notify: &store.Append{MessageID: notice, Fanout: &store.Fanout{Group: g,
			Accounts: []types.AccountID{alice.id(), bob.id(), carol.id(), mid},
			Envelope: store.Envelope{MessageID: notice, Type: uint32(wirepb.EnvelopeType_ENVELOPE_TYPE_GROUP_EVENT), Content: ev.Raw,
				ServerTime: now, ExpiresAt: now.Add(time.Hour), Group: g}}}}, 1000, now)
	if err != nil {
		t.Fatal(err)
	}
	// The notice was stored behind the server's back: it arrives with the
	// next connection.
	for _, d := range []*device{alice, bob, carol} {
		d.Disconnect()
		d.connect()
	}
	for _, d := range []*device{alice, bob, carol} {
		waitEvent(t, d, func(e client.Event) bool {
			r, ok := e.(client.GroupRejectedEvent)
			return ok && r.Group == g
		})
		if info, err := d.Group(ctx, g); err != nil || info.Seq != cur.Seq || !sameMembers(info, alice, bob, carol) {
			t.Errorf("%s took the forged event: %+v, %v", d.dir, info, err)
		}
	}
	// Alice's next message does not go out to the membership the server
	// claims; mallory gets neither it nor any sender key.
	id, err := alice.SendGroupText(ctx, g, "secret plans")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, func(e client.Event) bool {
		r, ok := e.(client.GroupRejectedEvent)
		return ok && r.Group == g
	})
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := alice.WaitSent(wctx, id); err == nil {
		t.Error("alice's message went out to a membership the log does not prove")
	}
	mallory.idle()
	if ms, _ := mallory.GroupMessages(ctx, g, 0, 100); slices.ContainsFunc(ms, func(m client.Message) bool { return m.Kind == client.KindText }) {
		t.Errorf("mallory got a message: %q", mallory.groupLines(g))
	}
	if _, err := senderkey.Decrypt(ctx, mallory.Store(), senderkey.Address{Name: alice.id().String(), DeviceID: 1}, sent.last()); !errors.Is(err, senderkey.ErrNoSenderKey) {
		t.Errorf("mallory holds alice's sender key: %v", err)
	}
}
