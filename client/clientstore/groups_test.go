package clientstore

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/types"
)

func sameGroup(a, b Group) bool {
	return a.ID == b.ID && bytes.Equal(a.Secret, b.Secret) && a.Seq == b.Seq && bytes.Equal(a.State, b.State) &&
		bytes.Equal(a.Attributes, b.Attributes) && a.AttributesSeq == b.AttributesSeq && a.DistributionID == b.DistributionID &&
		a.Left == b.Left && bytes.Equal(a.InviteToken, b.InviteToken)
}

func TestGroupRoundTrip(t *testing.T) {
	st, path := newStore(t)
	register(t, st, 1)
	g := Group{ID: types.NewGroupID(), Secret: bytes.Repeat([]byte{7}, 32), Seq: 3, State: []byte("state"),
		Attributes: []byte("attrs"), AttributesSeq: 2, DistributionID: [16]byte{1, 2, 3}, InviteToken: []byte("tok")}
	if _, err := st.Group(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Group of an unknown id = %v, want ErrNotFound", err)
	}
	if err := st.SaveGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	got, err := st.Group(ctx, g.ID)
	if err != nil || !sameGroup(got, g) {
		t.Fatalf("Group = %+v, %v; want %+v", got, err, g)
	}
	// A later save replaces the row; the store survives a reopen.
	g.Seq, g.Left, g.InviteToken = 4, true, nil
	if err := st.SaveGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	other := Group{ID: types.NewGroupID()} // known, not fetched yet
	if err := st.SaveGroup(ctx, other); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openAt(t, path)
	all, err := st.Groups(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("Groups = %d, %v; want 2", len(all), err)
	}
	i := slices.IndexFunc(all, func(x Group) bool { return x.ID == g.ID })
	if i < 0 || !sameGroup(all[i], g) {
		t.Fatalf("Groups lost the update: %+v", all)
	}

	for _, bad := range []Group{{}, {ID: g.ID, Secret: []byte("short")}, {ID: g.ID, Seq: 1 << 63}} {
		if err := st.SaveGroup(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveGroup(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestGroupConversations(t *testing.T) {
	st, _ := newStore(t)
	me := register(t, st, 1)
	peer, g := types.NewAccountID(), types.NewGroupID()
	direct, err := st.DirectConversation(ctx, peer)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := st.GroupConversation(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	if gc.ID == direct.ID || gc.Group != g || !gc.Peer.IsZero() || direct.Group != (types.GroupID{}) {
		t.Fatalf("group conversation %+v, direct %+v", gc, direct)
	}
	if again, err := st.GroupConversation(ctx, g); err != nil || again.ID != gc.ID {
		t.Fatalf("GroupConversation again = %+v, %v; want the same one", again, err)
	}
	if _, err := st.GroupConversation(ctx, types.GroupID{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero group: %v", err)
	}
	// A timer on the group conversation stays on it.
	if err := st.SetTimer(ctx, gc.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Messages from several members land in the group conversation and
	// make it the most recent chat.
	for i, from := range []types.AccountID{peer, types.NewAccountID(), me.ID} {
		dir := Incoming
		if from == me.ID {
			dir = Outgoing
		}
		m := Message{Conversation: gc.ID, ID: types.NewMessageID(), Sender: types.Address{Account: from, Device: 1},
			Direction: dir, Kind: 1, Content: []byte{byte(i)}, SentAt: t0.Add(time.Duration(i) * time.Minute), ReceivedAt: t0}
		if _, err := st.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	convs, err := st.Conversations(ctx)
	if err != nil || len(convs) != 2 {
		t.Fatalf("Conversations = %d, %v", len(convs), err)
	}
	if c := convs[0]; c.ID != gc.ID || c.Group != g || c.Timer != time.Hour || c.Unread != 2 || c.Last == nil || c.Last.Content[0] != 2 {
		t.Errorf("the group chat lists as %+v", c)
	}
	if c := convs[1]; c.ID != direct.ID || c.Peer != peer || !c.Group.IsZero() {
		t.Errorf("the direct chat lists as %+v", c)
	}
}

func TestSenderKeyHolders(t *testing.T) {
	st, _ := newStore(t)
	register(t, st, 1)
	g1, g2 := types.NewGroupID(), types.NewGroupID()
	a, b := types.NewAccountID(), types.NewAccountID()
	devs := []GroupDevice{{a, 1, 100}, {a, 2, 200}, {b, 1, 300}}
	missing, err := st.MissingSenderKey(ctx, g1, devs)
	if err != nil || !slices.Equal(missing, devs) {
		t.Fatalf("nobody has it yet: %v, %v", missing, err)
	}
	if err := st.AddSenderKeyHolders(ctx, g1, devs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSenderKeyHolders(ctx, g1, devs[:1]); err != nil { // again: no change
		t.Fatal(err)
	}
	// A reinstalled device (new registration id) needs the key again; the
	// other group is not affected.
	reinstalled := GroupDevice{a, 2, 201}
	missing, err = st.MissingSenderKey(ctx, g1, []GroupDevice{devs[0], reinstalled, devs[2]})
	if err != nil || !slices.Equal(missing, []GroupDevice{reinstalled, devs[2]}) {
		t.Fatalf("missing = %v, %v", missing, err)
	}
	if missing, _ := st.MissingSenderKey(ctx, g2, devs); len(missing) != 3 {
		t.Errorf("another group's holders leaked: %v", missing)
	}
	if err := st.ResetSenderKeyHolders(ctx, g1); err != nil {
		t.Fatal(err)
	}
	if missing, _ := st.MissingSenderKey(ctx, g1, devs); len(missing) != 3 {
		t.Errorf("after a reset: missing %v, want all", missing)
	}
}

func TestDeleteSenderKey(t *testing.T) {
	st, _ := newStore(t)
	register(t, st, 1)
	self := senderkey.Address{Name: types.NewAccountID().String(), DeviceID: 1}
	dist := [16]byte{4}
	if _, err := senderkey.CreateDistribution(ctx, st, self, dist, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := st.SenderKey(ctx, self, dist); err != nil || r == nil {
		t.Fatalf("SenderKey = %v, %v", r, err)
	}
	if err := st.DeleteSenderKey(ctx, self, dist); err != nil {
		t.Fatal(err)
	}
	if r, err := st.SenderKey(ctx, self, dist); err != nil || r != nil {
		t.Fatalf("after delete: %v, %v", r, err)
	}
}
