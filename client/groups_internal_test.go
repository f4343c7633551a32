package client

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// testLog builds a small signed log: alice creates the group with bob,
// adds carol, makes bob admin, and carol leaves.
func testLog(t *testing.T) (g types.GroupID, alice, bob, carol types.AccountID, evs []*grouplog.Event) {
	t.Helper()
	key, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	carolKey, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	g, alice, bob, carol = types.NewGroupID(), types.NewAccountID(), types.NewAccountID(), types.NewAccountID()
	var state *grouplog.State
	add := func(actor types.AccountID, k curve.KeyPair, ch any) {
		body := &wirepb.GroupEventBody{GroupId: g[:], Seq: 1, ActorAccount: actor[:], ActorDevice: 1, ActorIdentityKey: k.Public.Bytes()}
		if state != nil {
			body.Seq, body.PrevHash = state.Seq+1, state.Head[:]
		}
		switch c := ch.(type) {
		case *wirepb.GroupEventBody_Create:
			body.Change = c
		case *wirepb.GroupEventBody_Add:
			body.Change = c
		case *wirepb.GroupEventBody_SetAdmins:
			body.Change = c
		case *wirepb.GroupEventBody_Leave:
			body.Change = c
		}
		ev, err := grouplog.Sign(body, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		if state, err = state.Apply(ev, 0); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	add(alice, key, &wirepb.GroupEventBody_Create{Create: &wirepb.GroupCreate{Members: []*wirepb.GroupMember{{Account: bob[:]}}, SealedAttributes: []byte("sealed")}})
	add(alice, key, &wirepb.GroupEventBody_Add{Add: &wirepb.GroupAddMembers{Members: []*wirepb.GroupMember{{Account: carol[:]}}}})
	add(alice, key, &wirepb.GroupEventBody_SetAdmins{SetAdmins: &wirepb.GroupSetAdmins{Members: []*wirepb.GroupMember{{Account: bob[:], Admin: true}}}})
	add(carol, carolKey, &wirepb.GroupEventBody_Leave{Leave: &wirepb.GroupLeave{}})
	return g, alice, bob, carol, evs
}

func TestGroupStateRoundTrip(t *testing.T) {
	_, _, _, _, evs := testLog(t)
	for i := range evs {
		s, err := grouplog.Replay(evs[:i+1], 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeGroupState(encodeGroupState(s))
		if err != nil {
			t.Fatalf("after event %d: %v", i+1, err)
		}
		if got.Group != s.Group || got.Seq != s.Seq || got.Head != s.Head || !slices.Equal(got.Members, s.Members) ||
			!bytes.Equal(got.SealedAttributes, s.SealedAttributes) || got.AttributesSeq != s.AttributesSeq {
			t.Errorf("after event %d: %+v, want %+v", i+1, got, s)
		}
		// The decoded state takes the next event as the original does.
		if i+1 < len(evs) {
			if _, err := got.Apply(evs[i+1], 0); err != nil {
				t.Errorf("the decoded state refuses event %d: %v", i+2, err)
			}
		}
	}
	for _, bad := range [][]byte{nil, {0x08, 0x01}, append(encodeGroupState(&grouplog.State{Group: types.NewGroupID(), Seq: 1}), 0x22, 0x02, 0x0a, 0x00)} {
		if _, err := decodeGroupState(bad); !errors.Is(err, errBadState) {
			t.Errorf("decodeGroupState(%x) = %v, want errBadState", bad, err)
		}
	}
}

func TestGroupLineDescribe(t *testing.T) {
	g, alice, bob, carol, evs := testLog(t)
	_ = g
	names := map[types.AccountID]string{alice: "Ana", bob: "Ben", carol: "Cy"}
	name := func(a types.AccountID) string { return names[a] }
	want := []string{`Ana created the group "Climbers"`, "Ana added Cy", "Ana made Ben admin", "Cy left"}
	for i, ev := range evs {
		var attrs []byte
		if i == 0 {
			attrs = []byte{0x0a, 0x08, 'C', 'l', 'i', 'm', 'b', 'e', 'r', 's'}
		}
		gc, err := decodeGroupLine(encodeGroupLine(ev.Raw, attrs, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got := gc.Describe(name); got != want[i] {
			t.Errorf("event %d: %q, want %q", i+1, got, want[i])
		}
	}
	rename := &GroupChange{Kind: GroupAttributesChanged, Actor: types.Address{Account: alice, Device: 1}, Name: "New", Changed: ChangedName | ChangedPicture}
	if got := rename.Describe(name); got != `Ana changed the group name to "New" and the group picture` {
		t.Errorf("rename: %q", got)
	}
}

func TestCheckGroupDevices(t *testing.T) {
	_, alice, bob, carol, evs := testLog(t)
	s, err := grouplog.Replay(evs, 0) // alice and bob; carol left
	if err != nil {
		t.Fatal(err)
	}
	dev := func(id, reg uint32) *wirepb.DeviceInfo { return &wirepb.DeviceInfo{DeviceId: id, RegistrationId: reg} }
	result := func(members map[types.AccountID][]*wirepb.DeviceInfo) *wirepb.GroupDevicesResult {
		r := &wirepb.GroupDevicesResult{Seq: s.Seq}
		var entries []grouplog.DeviceEntry
		for _, a := range []types.AccountID{alice, bob, carol} {
			ds, ok := members[a]
			if !ok {
				continue
			}
			r.Members = append(r.Members, &wirepb.GroupMemberDevices{Account: bytes.Clone(a[:]), Devices: ds})
			for _, d := range ds {
				entries = append(entries, grouplog.DeviceEntry{Account: a, Device: types.DeviceID(d.DeviceId), RegistrationID: d.RegistrationId})
			}
		}
		r.DevicesHash = grouplog.DevicesHash(entries)
		return r
	}
	good := result(map[types.AccountID][]*wirepb.DeviceInfo{alice: {dev(1, 10), dev(2, 11)}, bob: {dev(1, 20)}})
	devs, err := checkGroupDevices(s, good)
	if err != nil || len(devs) != 3 {
		t.Fatalf("a right list: %v, %v", devs, err)
	}
	withCarol := result(map[types.AccountID][]*wirepb.DeviceInfo{alice: {dev(1, 10)}, bob: {dev(1, 20)}, carol: {dev(1, 30)}})
	wrongHash := result(map[types.AccountID][]*wirepb.DeviceInfo{alice: {dev(1, 10)}, bob: {dev(1, 20)}})
	wrongHash.DevicesHash[0] ^= 1
	twice := result(map[types.AccountID][]*wirepb.DeviceInfo{alice: {dev(1, 10)}, bob: {dev(1, 20)}})
	twice.Members = append(twice.Members, twice.Members[0])
	bobLeftOut := result(map[types.AccountID][]*wirepb.DeviceInfo{alice: {dev(1, 10)}})
	for name, r := range map[string]*wirepb.GroupDevicesResult{"a former member listed": withCarol, "a wrong hash": wrongHash,
		"a member twice": twice, "a member left out": bobLeftOut} {
		if _, err := checkGroupDevices(s, r); !errors.Is(err, ErrGroupRejected) {
			t.Errorf("%s: %v, want ErrGroupRejected", name, err)
		}
	}
}

func TestInviteLinks(t *testing.T) {
	g, token, secret := types.NewGroupID(), bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)
	link := InviteLink(g, token, secret)
	if !strings.HasPrefix(link, "parley://join/"+g.String()+"/") || !strings.Contains(link, "#") {
		t.Fatalf("link %q", link)
	}
	g2, tok2, sec2, err := ParseInviteLink("  " + link + "\n")
	if err != nil || g2 != g || !bytes.Equal(tok2, token) || !bytes.Equal(sec2, secret) {
		t.Fatalf("parse: %v %x %x %v", g2, tok2, sec2, err)
	}
	for _, bad := range []string{
		"", "https://example.org", strings.Replace(link, "#", "", 1), "parley://join/" + g.String() + "#x",
		"parley://join/not-a-uuid/AQEBAQEBAQEBAQEBAQEBAQ#" + strings.SplitN(link, "#", 2)[1],
		InviteLink(g, token[:8], secret), InviteLink(g, token, secret[:16]),
	} {
		if _, _, _, err := ParseInviteLink(bad); !errors.Is(err, ErrBadInvite) {
			t.Errorf("ParseInviteLink(%q) = %v, want ErrBadInvite", bad, err)
		}
	}
}
