package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to count rows
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // the "sqlite" driver, to count rows

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// gdev is a test device with its connection.
type gdev struct {
	*testserver.Device
	c *transport.Conn
}

func registerDev(t *testing.T, srv *testserver.Server) *gdev {
	t.Helper()
	c := srv.Dial(t)
	d := testserver.Register(t, c)
	waitQueueEmpty(t, c)
	return &gdev{d, c}
}

// linkDev links a second device to d's account; it can receive but has no
// identity key of its own here to sign with.
func linkDev(t *testing.T, srv *testserver.Server, d *gdev) *gdev {
	t.Helper()
	nd, nc := link(t, srv, d.c)
	waitQueueEmpty(t, nc)
	return &gdev{nd, nc}
}

// glog is a test's replay of one group's log, as a member keeps it.
type glog struct {
	id types.GroupID
	st *grouplog.State
}

// body starts by's next event.
func (g *glog) body(by *gdev) *wirepb.GroupEventBody {
	b := &wirepb.GroupEventBody{
		GroupId: g.id[:], Seq: 1, ActorAccount: by.Addr.Account[:], ActorDevice: uint32(by.Addr.Device),
		ActorIdentityKey: by.Identity.Public.Bytes(), TimeMs: time.Now().UnixMilli(),
	}
	if g.st != nil {
		b.Seq, b.PrevHash = g.st.Seq+1, slices.Clone(g.st.Head[:])
	}
	return b
}

func signWith(t *testing.T, key curve.PrivateKey, b *wirepb.GroupEventBody) *grouplog.Event {
	t.Helper()
	ev, err := grouplog.Sign(b, key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return ev
}

// event signs by's next event with change.
func (g *glog) event(t *testing.T, by *gdev, change func(*wirepb.GroupEventBody)) *grouplog.Event {
	t.Helper()
	b := g.body(by)
	change(b)
	return signWith(t, by.Identity.Private, b)
}

func changeFrame(t *testing.T, raw []byte, token []byte) *wirepb.ClientFrame {
	t.Helper()
	e := new(wirepb.GroupEvent)
	if err := proto.Unmarshal(raw, e); err != nil {
		t.Fatal(err)
	}
	return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{Event: e, InviteToken: token}}}
}

// do submits by's event and applies it to the replay once accepted.
func (g *glog) do(t *testing.T, by *gdev, change func(*wirepb.GroupEventBody), token ...byte) *grouplog.Event {
	t.Helper()
	ev := g.event(t, by, change)
	res := call(t, by.c, changeFrame(t, ev.Raw, token)).GetGroupChange()
	next, err := g.st.Apply(ev, 0)
	if err != nil {
		t.Fatalf("the server took an event the log refuses: %v", err)
	}
	if res.Seq != next.Seq {
		t.Fatalf("GroupChange answered seq %d, want %d", res.Seq, next.Seq)
	}
	g.st = next
	return ev
}

// refused submits by's event and expects code.
func (g *glog) refused(t *testing.T, c *transport.Conn, ev *grouplog.Event, code wirepb.ErrorCode, token ...byte) {
	t.Helper()
	callErr(t, c, changeFrame(t, ev.Raw, token), code)
}

func membersOf(admin bool, ds ...*gdev) []*wirepb.GroupMember {
	var out []*wirepb.GroupMember
	for _, d := range ds {
		out = append(out, &wirepb.GroupMember{Account: d.Addr.Account[:], Admin: admin})
	}
	return out
}

func createChange(ms ...*wirepb.GroupMember) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_Create{Create: &wirepb.GroupCreate{Members: ms, SealedAttributes: []byte("sealed attrs")}}
	}
}

func addChange(ms ...*wirepb.GroupMember) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_Add{Add: &wirepb.GroupAddMembers{Members: ms}}
	}
}

func removeChange(ds ...*gdev) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		var accts [][]byte
		for _, d := range ds {
			accts = append(accts, d.Addr.Account[:])
		}
		b.Change = &wirepb.GroupEventBody_Remove{Remove: &wirepb.GroupRemoveMembers{Accounts: accts}}
	}
}

func settingsChange(announce bool) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_SetSettings{SetSettings: &wirepb.GroupSetSettings{AnnouncementOnly: announce}}
	}
}

func inviteChange(hash []byte) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_SetInvite{SetInvite: &wirepb.GroupSetInvite{TokenHash: hash}}
	}
}

func joinChange(hash []byte) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_Join{Join: &wirepb.GroupJoin{TokenHash: hash}}
	}
}

// newGroup has by create a group with members.
func newGroup(t *testing.T, by *gdev, members ...*gdev) *glog {
	t.Helper()
	g := &glog{id: types.NewGroupID()}
	g.do(t, by, createChange(membersOf(false, members...)...))
	return g
}

// devices asks for the group's devices as d.
func (g *glog) devices(t *testing.T, d *gdev) *wirepb.GroupDevicesResult {
	t.Helper()
	return call(t, d.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroupDevices{GetGroupDevices: &wirepb.GetGroupDevices{GroupId: g.id[:]}}}).GetGroupDevices()
}

func sendGroupFrame(g types.GroupID, mid types.MessageID, hash []byte, content string) *wirepb.ClientFrame {
	return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SendGroup{SendGroup: &wirepb.SendGroup{
		GroupId: g[:], MessageId: mid[:], Content: []byte(content), DevicesHash: hash, ClientTimeMs: time.Now().UnixMilli()}}}
}

// send sends content to the group as d with the hash d fetches first.
func (g *glog) send(t *testing.T, d *gdev, content string) *wirepb.SendResult {
	t.Helper()
	return call(t, d.c, sendGroupFrame(g.id, types.NewMessageID(), g.devices(t, d).DevicesHash, content)).GetSend()
}

// hashOf is devices_hash as a client computes it from GetGroupDevices.
func hashOf(r *wirepb.GroupDevicesResult) []byte {
	var es []grouplog.DeviceEntry
	for _, m := range r.Members {
		for _, d := range m.Devices {
			es = append(es, grouplog.DeviceEntry{Account: types.AccountID(m.Account), Device: types.DeviceID(d.DeviceId), RegistrationID: d.RegistrationId})
		}
	}
	return grouplog.DevicesHash(es)
}

// expectEvent reads d's next envelope and checks it is ev's notice.
func expectEvent(t *testing.T, g *glog, d *gdev, ev *grouplog.Event) {
	t.Helper()
	e := receive(t, d.c, 1)[0]
	if e.Type != wirepb.EnvelopeType_ENVELOPE_TYPE_GROUP_EVENT || !bytes.Equal(e.GroupId, g.id[:]) ||
		len(e.SenderAccount) != 0 || e.SenderDevice != 0 || !bytes.Equal(e.Content, ev.Raw) || e.Id == 0 {
		t.Fatalf("%s got %v, want the notice of event %d", d.Addr, e, ev.Body.Seq)
	}
	ack(t, d.c, []*wirepb.Envelope{e})
}

// expectMessage reads d's next envelope and checks it is content from
// sender to the group.
func expectMessage(t *testing.T, g *glog, d *gdev, sender *gdev, content string) *wirepb.Envelope {
	t.Helper()
	e := receive(t, d.c, 1)[0]
	if e.Type != wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY || !bytes.Equal(e.GroupId, g.id[:]) ||
		!bytes.Equal(e.SenderAccount, sender.Addr.Account[:]) || e.SenderDevice != uint32(sender.Addr.Device) ||
		string(e.Content) != content {
		t.Fatalf("%s got %v, want %q from %s", d.Addr, e, content, sender.Addr)
	}
	ack(t, d.c, []*wirepb.Envelope{e})
	return e
}

// TestGroupLifecycle is a group's life as its members see it: created,
// messages fanned out to every member device, members added and removed
// (a removed member gets nothing sent after), a member offline catching up.
func TestGroupLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		alice, bob, carol, dave := registerDev(t, srv), registerDev(t, srv), registerDev(t, srv), registerDev(t, srv)
		bob2 := linkDev(t, srv, bob)

		g := &glog{id: types.NewGroupID()}
		create := g.do(t, alice, createChange(membersOf(false, bob, carol)...))
		for _, d := range []*gdev{alice, bob, bob2, carol} {
			expectEvent(t, g, d, create)
		}
		quiet(t, dave.c)

		// Every member sees the same devices and hash; others see nothing.
		devs := g.devices(t, bob)
		if devs.Seq != 1 || len(devs.Members) != 3 || !bytes.Equal(devs.DevicesHash, hashOf(devs)) {
			t.Fatalf("GetGroupDevices: seq %d, %d members, hash matches %v", devs.Seq, len(devs.Members), bytes.Equal(devs.DevicesHash, hashOf(devs)))
		}
		for _, m := range devs.Members {
			if bytes.Equal(m.Account, bob.Addr.Account[:]) && len(m.Devices) != 2 {
				t.Errorf("bob has %d devices in the group, want 2", len(m.Devices))
			}
		}
		if other := g.devices(t, carol); !bytes.Equal(other.DevicesHash, devs.DevicesHash) {
			t.Error("two members got different devices hashes")
		}
		getDevs := &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroupDevices{GetGroupDevices: &wirepb.GetGroupDevices{GroupId: g.id[:]}}}
		callErr(t, dave.c, getDevs, wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		getGroup := &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{GroupId: g.id[:]}}}
		callErr(t, dave.c, getGroup, wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		evs := call(t, carol.c, getGroup).GetGroup().Events
		if len(evs) != 1 {
			t.Fatalf("GetGroup gave %d events, want 1", len(evs))
		}
		if raw, _ := proto.Marshal(evs[0]); !bytes.Equal(raw, create.Raw) {
			t.Error("GetGroup's event is not the one created, byte for byte")
		}
		listGroups := &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ListGroups{ListGroups: &wirepb.ListGroups{}}}
		if gs := call(t, carol.c, listGroups).GetGroups().Groups; len(gs) != 1 || !bytes.Equal(gs[0].GroupId, g.id[:]) || gs[0].Seq != 1 {
			t.Errorf("carol's groups: %v", gs)
		}
		if gs := call(t, dave.c, listGroups).GetGroups().Groups; len(gs) != 0 {
			t.Errorf("dave's groups: %v, want none", gs)
		}

		// One message, every member device but the sending one.
		if res := g.send(t, bob, "hello group"); res.Duplicate {
			t.Fatal("first send marked duplicate")
		}
		for _, d := range []*gdev{alice, bob2, carol} {
			expectMessage(t, g, d, bob, "hello group")
		}
		quiet(t, bob.c)
		quiet(t, dave.c)

		// Dave joins; the event reaches old and new members.
		oldHash := devs.DevicesHash
		added := g.do(t, alice, addChange(membersOf(false, dave)...))
		for _, d := range []*gdev{alice, bob, bob2, carol, dave} {
			expectEvent(t, g, d, added)
		}
		callErr(t, bob.c, sendGroupFrame(g.id, types.NewMessageID(), oldHash, "stale"), wirepb.ErrorCode_ERROR_CODE_GROUP_CHANGED)

		// Carol is removed: she hears of it, and of nothing after.
		removed := g.do(t, alice, removeChange(carol))
		for _, d := range []*gdev{alice, bob, bob2, carol, dave} {
			expectEvent(t, g, d, removed)
		}
		g.send(t, bob, "without carol")
		for _, d := range []*gdev{alice, bob2, dave} {
			expectMessage(t, g, d, bob, "without carol")
		}
		quiet(t, carol.c)
		callErr(t, carol.c, sendGroupFrame(g.id, types.NewMessageID(), g.devices(t, alice).DevicesHash, "still here?"),
			wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)

		// Dave is offline; his message waits, with its group, and is stored once.
		dave.c.Close()
		g.send(t, alice, "while dave is away")
		for _, d := range []*gdev{bob, bob2} {
			expectMessage(t, g, d, alice, "while dave is away")
		}
		if n := countRows(t, srv, `SELECT COUNT(*) FROM mailbox_payloads`); n != 1 {
			t.Errorf("%d payload rows while one message waits, want 1", n)
		}
		if n := countRows(t, srv, `SELECT COUNT(*) FROM mailbox_envelopes`); n != 1 {
			t.Errorf("%d envelope rows while one device's copy waits, want 1", n)
		}
		dave.c = srv.Connect(t, dave.Device)
		got := waitQueueEmpty(t, dave.c)
		if len(got) != 1 || string(got[0].Content) != "while dave is away" || !bytes.Equal(got[0].GroupId, g.id[:]) ||
			!bytes.Equal(got[0].SenderAccount, alice.Addr.Account[:]) || got[0].Type != wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY {
			t.Fatalf("dave drained %v, want alice's group message", got)
		}
		ack(t, dave.c, got)
		if n := countRows(t, srv, `SELECT COUNT(*) FROM mailbox_payloads`); n != 0 {
			t.Errorf("%d payload rows after the last ack, want 0", n)
		}
	})
}

// countRows runs a counting query on the node's database.
func countRows(t *testing.T, srv *testserver.Server, query string) int64 {
	t.Helper()
	driver, dsn := "sqlite", strings.TrimPrefix(srv.Config.Store, "sqlite:")
	if testserver.IsPostgres(srv.Config.Store) {
		driver, dsn = "pgx", srv.Config.Store
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctxT(t), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestGroupRefusals: changes the log's rules or the server's checks refuse
// are refused with the code that says why, and change nothing.
func TestGroupRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b, Config: func(c *config.Config) { c.MaxGroupMembers = 3 }})
		alice, bob, carol, dave := registerDev(t, srv), registerDev(t, srv), registerDev(t, srv), registerDev(t, srv)
		g := newGroup(t, alice, bob)

		forged := g.event(t, alice, addChange(membersOf(false, carol)...))
		var outer wirepb.GroupEvent
		if err := proto.Unmarshal(forged.Raw, &outer); err != nil {
			t.Fatal(err)
		}
		outer.Signature[5] ^= 1
		callErr(t, alice.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{Event: &outer}}},
			wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)

		// Signed by a key that is not alice's device's, though claiming to be.
		other, err := curve.GenerateKeyPair(nil)
		if err != nil {
			t.Fatal(err)
		}
		b1 := g.body(alice)
		b1.ActorIdentityKey = other.Public.Bytes()
		addChange(membersOf(false, carol)...)(b1)
		g.refused(t, alice.c, signWith(t, other.Private, b1), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)

		// Alice's genuine event, submitted by bob's connection.
		g.refused(t, bob.c, g.event(t, alice, addChange(membersOf(false, carol)...)), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		// Bob is no admin.
		g.refused(t, bob.c, g.event(t, bob, addChange(membersOf(false, carol)...)), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		// Dave is no member.
		g.refused(t, dave.c, g.event(t, dave, settingsChange(true)), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		// Over the limit of 3.
		g.refused(t, alice.c, g.event(t, alice, addChange(membersOf(false, carol, dave)...)), wirepb.ErrorCode_ERROR_CODE_TOO_LARGE)
		// The same group id again.
		again := &glog{id: g.id}
		again.refused(t, bob.c, again.event(t, bob, createChange()), wirepb.ErrorCode_ERROR_CODE_CONFLICT)
		// Not after the head.
		stale := &glog{id: g.id}
		stale.refused(t, alice.c, stale.event(t, alice, func(b *wirepb.GroupEventBody) {
			b.Seq, b.PrevHash = 2, make([]byte, 32)
			settingsChange(true)(b)
		}), wirepb.ErrorCode_ERROR_CODE_GROUP_CHANGED)
		// Not an event at all.
		callErr(t, alice.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{
			Event: &wirepb.GroupEvent{Body: []byte{0xff, 0x01}, Signature: make([]byte, 64)}}}}, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
		callErr(t, alice.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{}}},
			wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)

		// None of it moved the log: the next real event is seq 2.
		if evs := call(t, alice.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{GroupId: g.id[:]}}}).GetGroup().Events; len(evs) != 1 {
			t.Fatalf("log holds %d events after refusals, want 1", len(evs))
		}

		// Announcement-only: members may read, only admins send.
		g.do(t, alice, settingsChange(true))
		hash := g.devices(t, bob).DevicesHash
		callErr(t, bob.c, sendGroupFrame(g.id, types.NewMessageID(), hash, "may I?"), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		call(t, alice.c, sendGroupFrame(g.id, types.NewMessageID(), hash, "announcement"))
		callErr(t, dave.c, sendGroupFrame(g.id, types.NewMessageID(), hash, "outsider"), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		callErr(t, alice.c, sendGroupFrame(types.NewGroupID(), types.NewMessageID(), hash, "nowhere"), wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		callErr(t, alice.c, sendGroupFrame(g.id, types.NewMessageID(), hash, ""), wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
		callErr(t, alice.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SendGroup{SendGroup: &wirepb.SendGroup{GroupId: []byte{1}}}},
			wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
	})
}

// TestGroupInvite: an invite link lets its holder see the group and join;
// revoked, it does neither.
func TestGroupInvite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		alice, bob, erin := registerDev(t, srv), registerDev(t, srv), registerDev(t, srv)
		g := newGroup(t, alice)
		expectEvent(t, g, alice, mustLast(t, g, alice))
		token := testserver.Random(32)
		hash := sha256.Sum256(token)
		expectEvent(t, g, alice, g.do(t, alice, inviteChange(hash[:])))

		getGroup := func(token []byte) *wirepb.ClientFrame {
			return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{GroupId: g.id[:], InviteToken: token}}}
		}
		callErr(t, bob.c, getGroup(nil), wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		callErr(t, bob.c, getGroup(testserver.Random(32)), wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		if evs := call(t, bob.c, getGroup(token)).GetGroup().Events; len(evs) != 2 {
			t.Fatalf("with the token, GetGroup gave %d events, want 2", len(evs))
		}
		// Knowing the hash (it is in the log) is not enough: the token is.
		g.refused(t, bob.c, g.event(t, bob, joinChange(hash[:])), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN, testserver.Random(32)...)
		g.refused(t, bob.c, g.event(t, bob, joinChange(hash[:])), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		joined := g.do(t, bob, joinChange(hash[:]), token...)
		expectEvent(t, g, alice, joined)
		expectEvent(t, g, bob, joined)
		if evs := call(t, bob.c, getGroup(nil)).GetGroup().Events; len(evs) != 3 {
			t.Fatalf("a member's GetGroup gave %d events, want 3", len(evs))
		}
		after := call(t, bob.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{GroupId: g.id[:], AfterSeq: 2}}}).GetGroup().Events
		if raw, _ := proto.Marshal(after[0]); len(after) != 1 || !bytes.Equal(raw, joined.Raw) {
			t.Fatalf("GetGroup after seq 2 gave %d events, want the join", len(after))
		}

		revoked := g.do(t, alice, inviteChange(nil))
		expectEvent(t, g, alice, revoked)
		expectEvent(t, g, bob, revoked)
		g.refused(t, erin.c, g.event(t, erin, joinChange(hash[:])), wirepb.ErrorCode_ERROR_CODE_FORBIDDEN, token...)
		callErr(t, erin.c, getGroup(token), wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
	})
}

// mustLast returns the group's newest event as stored.
func mustLast(t *testing.T, g *glog, d *gdev) *grouplog.Event {
	t.Helper()
	evs := call(t, d.c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{GroupId: g.id[:], AfterSeq: g.st.Seq - 1}}}).GetGroup().Events
	raw, err := proto.Marshal(evs[len(evs)-1])
	if err != nil {
		t.Fatal(err)
	}
	ev, err := grouplog.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestGroupSendOnceAndEphemeral: a resent group message is stored once; an
// ephemeral one reaches online devices only and is never stored.
func TestGroupSendOnceAndEphemeral(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob, carol := registerDev(t, srv), registerDev(t, srv), registerDev(t, srv)
	g := newGroup(t, alice, bob, carol)
	for _, d := range []*gdev{alice, bob, carol} {
		expectEvent(t, g, d, mustLast(t, g, d))
	}
	hash := g.devices(t, alice).DevicesHash
	carol.c.Close()

	mid := types.NewMessageID()
	if call(t, alice.c, sendGroupFrame(g.id, mid, hash, "once")).GetSend().Duplicate {
		t.Fatal("first send marked duplicate")
	}
	if !call(t, alice.c, sendGroupFrame(g.id, mid, hash, "once")).GetSend().Duplicate {
		t.Fatal("resend not marked duplicate")
	}
	expectMessage(t, g, bob, alice, "once")
	typing := sendGroupFrame(g.id, types.NewMessageID(), hash, "typing")
	typing.GetSendGroup().Ephemeral = true
	call(t, alice.c, typing)
	e := receive(t, bob.c, 1)[0]
	if !e.Ephemeral || e.Id != 0 || string(e.Content) != "typing" || !bytes.Equal(e.GroupId, g.id[:]) {
		t.Fatalf("bob got %v, want the ephemeral message", e)
	}
	quiet(t, bob.c)

	carol.c = srv.Connect(t, carol.Device)
	if got := waitQueueEmpty(t, carol.c); len(got) != 1 || string(got[0].Content) != "once" {
		t.Fatalf("carol drained %q, want the message once and nothing ephemeral", texts(got))
	}
}
