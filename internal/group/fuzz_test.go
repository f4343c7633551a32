package group_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// member is a device whose identity key the fuzz inputs' seeds sign with.
type member struct {
	addr types.Address
	key  curve.KeyPair
}

// fixed keys, so that seeds stay valid from run to run.
func fixedMember(seed byte) member {
	kp, err := curve.GenerateKeyPair(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		panic(err)
	}
	var a types.AccountID
	a[0], a[15] = seed, 1
	return member{addr: types.Address{Account: a, Device: 1}, key: kp}
}

var (
	fuzzGroup = types.GroupID{0x6e, 15: 0x01}
	alice     = fixedMember(1)
	bob       = fixedMember(2)
	token     = []byte("invite token")
)

// seedLog signs a short valid log: create, invite, join, settings.
func seedLog(t testing.TB) []*wirepb.GroupEvent {
	var (
		out  []*wirepb.GroupEvent
		prev *grouplog.State
	)
	hash := sha256.Sum256(token)
	for _, step := range []struct {
		by     member
		change func(*wirepb.GroupEventBody)
	}{
		{alice, func(b *wirepb.GroupEventBody) {
			b.Change = &wirepb.GroupEventBody_Create{Create: &wirepb.GroupCreate{SealedAttributes: []byte("attrs")}}
		}},
		{alice, func(b *wirepb.GroupEventBody) {
			b.Change = &wirepb.GroupEventBody_SetInvite{SetInvite: &wirepb.GroupSetInvite{TokenHash: hash[:]}}
		}},
		{bob, func(b *wirepb.GroupEventBody) {
			b.Change = &wirepb.GroupEventBody_Join{Join: &wirepb.GroupJoin{TokenHash: hash[:]}}
		}},
		{alice, func(b *wirepb.GroupEventBody) {
			b.Change = &wirepb.GroupEventBody_SetAdmins{SetAdmins: &wirepb.GroupSetAdmins{Members: []*wirepb.GroupMember{{Account: bob.addr.Account[:], Admin: true}}}}
		}},
	} {
		b := &wirepb.GroupEventBody{GroupId: fuzzGroup[:], Seq: 1, ActorAccount: step.by.addr.Account[:], ActorDevice: 1,
			ActorIdentityKey: step.by.key.Public.Bytes(), TimeMs: 1_700_000_000_000}
		if prev != nil {
			b.Seq, b.PrevHash = prev.Seq+1, slices.Clone(prev.Head[:])
		}
		step.change(b)
		ev, err := grouplog.Sign(b, step.by.key.Private)
		if err != nil {
			t.Fatal(err)
		}
		if prev, err = prev.Apply(ev, 0); err != nil {
			t.Fatal(err)
		}
		e := new(wirepb.GroupEvent)
		if err := proto.Unmarshal(ev.Raw, e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// FuzzChange feeds arbitrary events, as a list in a GroupResult, to the
// service on a real store, each submitted by the device it names. Whatever
// is accepted, the state the server keeps must be what its stored log
// replays to: the server never holds a membership its log cannot prove.
func FuzzChange(f *testing.F) {
	valid := seedLog(f)
	for n := 1; n <= len(valid); n++ {
		b, _ := proto.Marshal(&wirepb.GroupResult{Events: valid[:n]})
		f.Add(b, token)
	}
	b, _ := proto.Marshal(&wirepb.GroupResult{Events: valid})
	f.Add(b, []byte("wrong token"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, []byte{})

	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	bu, err := bus.Open(ctx, bus.Config{Name: "fuzz"}, log)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(bu.Close)
	f.Fuzz(func(t *testing.T, data, tok []byte) {
		var in wirepb.GroupResult
		if proto.Unmarshal(data, &in) != nil || len(in.Events) > 16 {
			return
		}
		st, err := sqlstore.Open(ctx, "sqlite::memory:", log)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for _, m := range []member{alice, bob} {
			if err := st.CreateAccount(ctx, store.Account{ID: m.addr.Account, Phone: "+1555000000" + string('0'+rune(m.addr.Account[0])), CreatedAt: time.Now()},
				store.Device{AuthKey: make([]byte, 32), IdentityKey: m.key.Public.Bytes(), RegistrationID: 1}, store.PreKeySet{}); err != nil {
				t.Fatal(err)
			}
		}
		mb := mailbox.New(st, bu, mailbox.Config{}, mailbox.Metrics{}, log)
		defer mb.Close()
		svc := group.New(st, mb, group.Config{MaxMembers: 8}, log)
		touched := map[types.GroupID]bool{}
		for _, e := range in.Events {
			var body wirepb.GroupEventBody
			if proto.Unmarshal(e.Body, &body) != nil {
				continue
			}
			if len(body.ActorAccount) != 16 {
				continue
			}
			actor := types.Address{Account: types.AccountID(body.ActorAccount), Device: types.DeviceID(body.ActorDevice)}
			if _, err := svc.Change(ctx, actor, e, tok); err == nil {
				touched[types.GroupID(body.GroupId)] = true
			}
		}
		for id := range touched {
			checkReplay(t, st, id)
		}
	})
}

// checkReplay compares the stored state with the stored log's replay.
func checkReplay(t *testing.T, st store.Store, id types.GroupID) {
	t.Helper()
	ctx := context.Background()
	g, err := st.Group(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.GroupEvents(ctx, id, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*grouplog.Event
	for _, e := range stored {
		ev, err := grouplog.Parse(e.Raw)
		if err != nil {
			t.Fatalf("stored event %d does not parse: %v", e.Seq, err)
		}
		evs = append(evs, ev)
	}
	want, err := grouplog.Replay(evs, 8)
	if err != nil {
		t.Fatalf("the stored log does not replay: %v", err)
	}
	if g.Seq != want.Seq || !bytes.Equal(g.Head, want.Head[:]) || g.AnnouncementOnly != want.AnnouncementOnly ||
		!bytes.Equal(g.InviteHash, want.InviteHash) || !bytes.Equal(g.SealedAttributes, want.SealedAttributes) ||
		g.AttributesSeq != want.AttributesSeq || len(g.Members) != len(want.Members) {
		t.Fatalf("stored state %+v, log replays to %+v", g, want)
	}
	for i, m := range want.Members {
		if g.Members[i] != (store.GroupMember{Account: m.Account, Admin: m.Admin, Since: m.Since}) {
			t.Fatalf("member %d: stored %+v, replayed %+v", i, g.Members[i], m)
		}
	}
}
