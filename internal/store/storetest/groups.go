package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// group is a test group: the state the store was last given.
type group struct {
	st store.Group
}

func sortMembers(ms []store.GroupMember) []store.GroupMember {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b store.GroupMember) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	return ms
}

// createGroup creates a group whose first member is an admin.
func createGroup(t *testing.T, s store.Store, members ...types.AccountID) *group {
	t.Helper()
	g := &group{st: store.Group{ID: types.NewGroupID(), Seq: 1, Head: randBytes(32), SealedAttributes: randBytes(40), AttributesSeq: 1}}
	for i, a := range members {
		g.st.Members = append(g.st.Members, store.GroupMember{Account: a, Admin: i == 0, Since: 1})
	}
	g.st.Members = sortMembers(g.st.Members)
	noErr(t, "AppendGroupEvent (create)", s.AppendGroupEvent(t.Context(), &store.GroupChange{Next: g.st, Event: event(g.st.ID, 1)}, bigQueue, t0))
	return g
}

// event is a stand-in for a serialized event: the store keeps it as bytes.
func event(g types.GroupID, seq uint64) []byte {
	return fmt.Appendf(randBytes(8), "event %d of %s", seq, g)
}

// change returns the group's next state after edit, and the change that
// stores it.
func (g *group) change(edit func(n *store.Group)) *store.GroupChange {
	n := g.st
	n.Members = slices.Clone(n.Members)
	n.Seq++
	n.Head = randBytes(32)
	edit(&n)
	n.Members = sortMembers(n.Members)
	return &store.GroupChange{Prev: g.st.Seq, Next: n, Event: event(n.ID, n.Seq)}
}

// apply stores the change and remembers its state.
func (g *group) apply(t *testing.T, s store.Store, ch *store.GroupChange) {
	t.Helper()
	noErr(t, fmt.Sprintf("AppendGroupEvent %d", ch.Next.Seq), s.AppendGroupEvent(t.Context(), ch, bigQueue, t0))
	g.st = ch.Next
}

func addMember(a types.AccountID, admin bool) func(n *store.Group) {
	return func(n *store.Group) {
		n.Members = append(n.Members, store.GroupMember{Account: a, Admin: admin, Since: n.Seq})
	}
}

func removeMember(a types.AccountID) func(n *store.Group) {
	return func(n *store.Group) {
		n.Members = slices.DeleteFunc(n.Members, func(m store.GroupMember) bool { return m.Account == a })
	}
}

func sameGroup(t *testing.T, got, want store.Group) {
	t.Helper()
	if got.ID != want.ID || got.Seq != want.Seq || got.AnnouncementOnly != want.AnnouncementOnly || got.AttributesSeq != want.AttributesSeq {
		t.Errorf("group: got %s seq %d announce %v attrs@%d, want %s seq %d announce %v attrs@%d",
			got.ID, got.Seq, got.AnnouncementOnly, got.AttributesSeq, want.ID, want.Seq, want.AnnouncementOnly, want.AttributesSeq)
	}
	sameBytes(t, "Head", got.Head, want.Head)
	sameBytes(t, "InviteHash", got.InviteHash, want.InviteHash)
	sameBytes(t, "SealedAttributes", got.SealedAttributes, want.SealedAttributes)
	if !slices.Equal(got.Members, want.Members) {
		t.Errorf("members:\n got %v\nwant %v", got.Members, want.Members)
	}
}

func groupOf(t *testing.T, s store.Store, id types.GroupID) store.Group {
	t.Helper()
	g, err := s.Group(t.Context(), id)
	noErr(t, "Group", err)
	return g
}

func groupIDs(gs []store.GroupSummary) []types.GroupID {
	out := make([]types.GroupID, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// fanout is a group message from sender to every device of accounts but
// the sender's own.
func fanout(sender types.Address, g types.GroupID, seq uint64, accounts ...types.AccountID) *store.Append {
	msg := types.NewMessageID()
	return &store.Append{Sender: sender, MessageID: msg, Fanout: &store.Fanout{
		Group: g, Seq: seq, Accounts: accounts, Except: sender,
		Envelope: store.Envelope{
			MessageID: msg, Sender: sender, Type: 7, Content: randBytes(100),
			ClientTime: t0.Add(-time.Second), ServerTime: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour),
		},
	}}
}

// deliveredTo lists a Fanout's devices, sorted.
func deliveredTo(f *store.Fanout) []types.Address {
	var out []types.Address
	for _, d := range f.Deliveries {
		out = append(out, d.To)
	}
	slices.SortFunc(out, compareAddr)
	return out
}

func compareAddr(a, b types.Address) int {
	if c := bytes.Compare(a.Account[:], b.Account[:]); c != 0 {
		return c
	}
	return int(a.Device) - int(b.Device)
}

func addrs(as ...types.Address) []types.Address {
	as = slices.Clone(as)
	slices.SortFunc(as, compareAddr)
	return as
}

// member is an account with devices 1..n.
func member(t *testing.T, s store.Store, n int) types.AccountID {
	t.Helper()
	a, _ := createAccount(t, s)
	for range n - 1 {
		addDevice(t, s, a.ID)
	}
	return a.ID
}

func init() { groupTests = append(groupTests, concurrentRemovalTest) }

var groupTests = []test{
	{"AppendGroupEvent creates a group that Group returns", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := member(t, s, 1), member(t, s, 1)
		g := createGroup(t, s, a, b)
		sameGroup(t, groupOf(t, s, g.st.ID), g.st)

		ch := g.change(func(n *store.Group) {
			n.AnnouncementOnly, n.InviteHash = true, randBytes(32)
			n.SealedAttributes, n.AttributesSeq = randBytes(60), n.Seq
			n.Members[slices.IndexFunc(n.Members, func(m store.GroupMember) bool { return m.Account == b })].Admin = true
		})
		g.apply(t, s, ch)
		sameGroup(t, groupOf(t, s, g.st.ID), g.st)

		_, err := s.Group(ctx, types.NewGroupID())
		wantErr(t, "Group of an unknown group", err, store.ErrNotFound)
	}},

	{"events append only at the head's next seq", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b, c := member(t, s, 1), member(t, s, 1), member(t, s, 1)
		g := createGroup(t, s, a)
		first := g.st

		again := &store.GroupChange{Next: store.Group{ID: g.st.ID, Seq: 1, Head: randBytes(32),
			Members: []store.GroupMember{{Account: b, Admin: true, Since: 1}}}, Event: event(g.st.ID, 1)}
		wantErr(t, "creating an existing group", s.AppendGroupEvent(ctx, again, bigQueue, t0), store.ErrConflict)

		second := g.change(addMember(b, false))
		g.apply(t, s, second)
		// A change made against the old head, as a second admin racing the
		// first would make it.
		stale := &group{st: first}
		wantErr(t, "change against an old head", s.AppendGroupEvent(ctx, stale.change(addMember(c, false)), bigQueue, t0), store.ErrConflict)
		wantErr(t, "the same seq twice", s.AppendGroupEvent(ctx, second, bigQueue, t0), store.ErrConflict)
		ahead := g.change(addMember(c, false))
		ahead.Prev, ahead.Next.Seq = ahead.Prev+1, ahead.Next.Seq+1
		wantErr(t, "a change beyond the head", s.AppendGroupEvent(ctx, ahead, bigQueue, t0), store.ErrConflict)
		if err := s.AppendGroupEvent(ctx, &store.GroupChange{Prev: 3, Next: store.Group{ID: g.st.ID, Seq: 5}}, bigQueue, t0); err == nil {
			t.Error("a change whose seq does not follow its Prev was stored")
		}
		unknown := (&group{st: store.Group{ID: types.NewGroupID(), Seq: 1}}).change(addMember(a, true))
		wantErr(t, "change to an unknown group", s.AppendGroupEvent(ctx, unknown, bigQueue, t0), store.ErrNotFound)

		sameGroup(t, groupOf(t, s, g.st.ID), g.st)
		evs, err := s.GroupEvents(ctx, g.st.ID, 0, 1<<20)
		noErr(t, "GroupEvents", err)
		if len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 {
			t.Fatalf("log holds %d events, want seq 1 and 2", len(evs))
		}
		sameBytes(t, "event 2", evs[1].Raw, second.Event)
	}},

	{"member changes show in Group and GroupsOf", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b, c := member(t, s, 1), member(t, s, 1), member(t, s, 1)
		g1 := createGroup(t, s, a, b)
		g2 := createGroup(t, s, b)
		g1.apply(t, s, g1.change(addMember(c, true)))
		g1.apply(t, s, g1.change(removeMember(b)))
		g1.apply(t, s, g1.change(func(n *store.Group) {
			for i := range n.Members {
				n.Members[i].Admin = !n.Members[i].Admin
			}
		}))
		sameGroup(t, groupOf(t, s, g1.st.ID), g1.st)

		for _, tc := range []struct {
			who  types.AccountID
			want []types.GroupID
		}{
			{a, []types.GroupID{g1.st.ID}},
			{b, []types.GroupID{g2.st.ID}},
			{c, []types.GroupID{g1.st.ID}},
			{types.NewAccountID(), nil},
		} {
			got, err := s.GroupsOf(ctx, tc.who)
			noErr(t, "GroupsOf", err)
			if !slices.Equal(groupIDs(got), sortIDs(tc.want)) && len(got)+len(tc.want) > 0 {
				t.Errorf("GroupsOf = %v, want %v", groupIDs(got), tc.want)
			}
			for _, sum := range got {
				if sum.ID == g1.st.ID && sum.Seq != g1.st.Seq {
					t.Errorf("GroupsOf says seq %d, want %d", sum.Seq, g1.st.Seq)
				}
			}
		}

		// The last member leaving empties the group; its log stays.
		g2.apply(t, s, g2.change(removeMember(b)))
		if got := groupOf(t, s, g2.st.ID); len(got.Members) != 0 || got.Seq != 2 {
			t.Errorf("emptied group: %d members at seq %d, want none at 2", len(got.Members), got.Seq)
		}
		gd, err := s.GroupDevices(ctx, g2.st.ID)
		noErr(t, "GroupDevices of an empty group", err)
		if gd.Seq != 2 || len(gd.Members)+len(gd.Devices) != 0 {
			t.Errorf("GroupDevices of an empty group: seq %d, %d members, %d devices", gd.Seq, len(gd.Members), len(gd.Devices))
		}
	}},

	{"GroupEvents pages by seq and size", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a := member(t, s, 1)
		g := createGroup(t, s, a)
		raws := [][]byte{nil} // by seq
		evs, err := s.GroupEvents(ctx, g.st.ID, 0, 1<<20)
		noErr(t, "GroupEvents", err)
		raws = append(raws, evs[0].Raw)
		for range 5 {
			ch := g.change(func(n *store.Group) { n.SealedAttributes = randBytes(10) })
			ch.Event = randBytes(100)
			g.apply(t, s, ch)
			raws = append(raws, ch.Event)
		}
		for _, tc := range []struct {
			name     string
			after    uint64
			maxBytes int
			want     []uint64
		}{
			{"all", 0, 1 << 20, []uint64{1, 2, 3, 4, 5, 6}},
			{"after 4", 4, 1 << 20, []uint64{5, 6}},
			{"two by size", 1, 250, []uint64{2, 3}},
			{"one even if too large", 1, 10, []uint64{2}},
			{"after the head", 6, 1 << 20, nil},
		} {
			got, err := s.GroupEvents(ctx, g.st.ID, tc.after, tc.maxBytes)
			noErr(t, "GroupEvents", err)
			var seqs []uint64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
				sameBytes(t, fmt.Sprintf("event %d", e.Seq), e.Raw, raws[e.Seq])
			}
			if !slices.Equal(seqs, tc.want) {
				t.Errorf("%s: seqs %v, want %v", tc.name, seqs, tc.want)
			}
		}
		_, err = s.GroupEvents(ctx, types.NewGroupID(), 0, 100)
		wantErr(t, "GroupEvents of an unknown group", err, store.ErrNotFound)
	}},

	{"GroupDevices lists every device of every member", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := member(t, s, 3), member(t, s, 1)
		gone := types.NewAccountID() // a member without an account: deleted since
		g := createGroup(t, s, a, b, gone)
		g.apply(t, s, g.change(func(n *store.Group) { n.AnnouncementOnly = true }))
		gd, err := s.GroupDevices(ctx, g.st.ID)
		noErr(t, "GroupDevices", err)
		if gd.Seq != 2 || !gd.AnnouncementOnly {
			t.Errorf("GroupDevices: seq %d announce %v, want 2 true", gd.Seq, gd.AnnouncementOnly)
		}
		if !slices.Equal(gd.Members, g.st.Members) {
			t.Errorf("members %v, want %v", gd.Members, g.st.Members)
		}
		var got []types.Address
		for _, d := range gd.Devices {
			got = append(got, addr(d.Account, d.ID))
			want, err := s.Device(ctx, d.Account, d.ID)
			noErr(t, "Device", err)
			if d.RegistrationID != want.RegistrationID || !bytes.Equal(d.IdentityKey, want.IdentityKey) {
				t.Errorf("device %s.%d: registration id or identity key differ from the device's", d.Account, d.ID)
			}
		}
		if want := addrs(addr(a, 1), addr(a, 2), addr(a, 3), addr(b, 1)); !slices.Equal(got, want) {
			t.Errorf("devices %v, want %v in order", got, want)
		}
		_, err = s.GroupDevices(ctx, types.NewGroupID())
		wantErr(t, "GroupDevices of an unknown group", err, store.ErrNotFound)
	}},

	{"a member's device changes move the group's devices generation", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b, outsider := member(t, s, 1), member(t, s, 2), member(t, s, 1)
		g1, g2 := createGroup(t, s, a, b), createGroup(t, s, a)
		version := func(g *group) (uint64, uint64) {
			t.Helper()
			seq, gen, err := s.GroupVersion(ctx, g.st.ID)
			noErr(t, "GroupVersion", err)
			return seq, gen
		}
		seq, gen := version(g1)
		gd, err := s.GroupDevices(ctx, g1.st.ID)
		noErr(t, "GroupDevices", err)
		if seq != 1 || gd.Seq != seq || gd.DevicesGen != gen {
			t.Fatalf("GroupVersion %d/%d, GroupDevices %d/%d, want the same at seq 1", seq, gen, gd.Seq, gd.DevicesGen)
		}
		_, gen2 := version(g2)
		for _, step := range []struct {
			name   string
			change func()
		}{
			{"AddDevice", func() { addDevice(t, s, b) }},
			{"RemoveDevice", func() { noErr(t, "RemoveDevice", s.RemoveDevice(ctx, b, 2)) }},
			{"ReplaceDevices", func() {
				noErr(t, "ReplaceDevices", s.ReplaceDevices(ctx, b, newDevice(b, 1), newKeys(1, 0, 0)))
			}},
			{"DeleteAccount", func() { noErr(t, "DeleteAccount", s.DeleteAccount(ctx, b)) }},
		} {
			step.change()
			s1, g := version(g1)
			if s1 != 1 || g == gen {
				t.Errorf("%s of a member: seq %d gen %d, want seq 1 and a gen other than %d", step.name, s1, g, gen)
			}
			gen = g
		}
		addDevice(t, s, outsider)
		noErr(t, "RemoveDevice", s.RemoveDevice(ctx, outsider, 2))
		if _, g := version(g1); g != gen {
			t.Error("a non-member's devices moved the group's devices generation")
		}
		if _, g := version(g2); g != gen2 {
			t.Error("b's device changes moved the generation of a group b is not in")
		}
		_, _, err = s.GroupVersion(ctx, types.NewGroupID())
		wantErr(t, "GroupVersion of an unknown group", err, store.ErrNotFound)
	}},

	{"concurrent changes at one seq: one is stored", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a := member(t, s, 1)
		g := createGroup(t, s, a)
		const callers = 8
		var (
			mu        sync.Mutex
			won       []store.Group
			conflicts int
			errs      []error
		)
		others := make([]types.AccountID, callers)
		for i := range others {
			others[i] = member(t, s, 2)
		}
		parallel(callers, func(i int) {
			ch := g.change(addMember(others[i], false))
			ch.Notify = groupNotice(ch, a, others[i])
			err := s.AppendGroupEvent(ctx, ch, bigQueue, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, ch.Next)
			case errors.Is(err, store.ErrConflict):
				conflicts++
				if len(ch.Notify.Fanout.Deliveries) > 0 {
					errs = append(errs, errors.New("a refused change reports deliveries"))
				}
			default:
				errs = append(errs, err)
			}
		})
		if len(errs) > 0 {
			t.Fatalf("AppendGroupEvent: %v", errs)
		}
		if len(won) != 1 || conflicts != callers-1 {
			t.Fatalf("%d changes stored and %d conflicts, want 1 and %d", len(won), conflicts, callers-1)
		}
		sameGroup(t, groupOf(t, s, g.st.ID), won[0])
		// Only the winner's notice was stored: a's device has one envelope.
		if n := queueLength(t, s, a, 1); n != 1 {
			t.Errorf("creator's device holds %d notices, want 1", n)
		}
	}},

	{"a group event's notice reaches every device of the accounts named", func(t *testing.T, s store.Store) {
		a, b, leaving := member(t, s, 2), member(t, s, 1), member(t, s, 2)
		g := createGroup(t, s, a, b, leaving)
		ch := g.change(removeMember(leaving))
		ch.Notify = groupNotice(ch, a, b, leaving)
		g.apply(t, s, ch)
		f := ch.Notify.Fanout
		if got, want := deliveredTo(f), addrs(addr(a, 1), addr(a, 2), addr(b, 1), addr(leaving, 1), addr(leaving, 2)); !slices.Equal(got, want) {
			t.Fatalf("delivered to %v, want %v", got, want)
		}
		for _, d := range f.Deliveries {
			es := fetchAll(t, s, d.To.Account, d.To.Device)
			if len(es) != 1 {
				t.Fatalf("%s holds %d envelopes, want the notice", d.To, len(es))
			}
			e := es[0]
			if e.ID != d.ID || e.Group != g.st.ID || !e.Sender.Account.IsZero() || e.Sender.Device != 0 || e.Type != f.Envelope.Type ||
				e.MessageID != f.Envelope.MessageID || e.Account != d.To.Account || e.Device != d.To.Device {
				t.Errorf("%s got envelope %+v", d.To, e)
			}
			sameBytes(t, "notice", e.Content, ch.Event)
			sameTime(t, "ServerTime", e.ServerTime, f.Envelope.ServerTime)
			sameTime(t, "ExpiresAt", e.ExpiresAt, f.Envelope.ExpiresAt)
		}
	}},

	{"a Fanout is fetched by every member device but the sender's", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b, c := member(t, s, 2), member(t, s, 3), member(t, s, 1)
		noDevices := types.NewAccountID()
		g := createGroup(t, s, a, b, c, noDevices)
		sender := addr(a, 2)
		// Before and after it, ordinary messages to b's device 2 in the same batch.
		before, after := newAppend(addr(c, 1), types.NewMessageID(), b, 2), newAppend(addr(c, 1), types.NewMessageID(), b, 2)
		m := fanout(sender, g.st.ID, g.st.Seq, a, b, c, noDevices, b)
		appendOK(t, s, t0, before, m, after)
		f := m.Fanout
		want := addrs(addr(a, 1), addr(b, 1), addr(b, 2), addr(b, 3), addr(c, 1))
		if got := deliveredTo(f); !slices.Equal(got, want) {
			t.Fatalf("delivered to %v, want %v", got, want)
		}
		if len(f.Full) != 0 {
			t.Errorf("Full = %v", f.Full)
		}
		for _, d := range f.Deliveries {
			es := fetchAll(t, s, d.To.Account, d.To.Device)
			i := slices.IndexFunc(es, func(e store.Envelope) bool { return e.ID == d.ID })
			if i < 0 {
				t.Fatalf("%s does not hold delivery %d", d.To, d.ID)
			}
			e := es[i]
			if e.Group != g.st.ID || e.Sender != sender || e.MessageID != m.MessageID || e.Type != 7 {
				t.Errorf("%s got group %s sender %s msg %s type %d", d.To, e.Group, e.Sender, e.MessageID, e.Type)
			}
			sameBytes(t, "Content", e.Content, f.Envelope.Content)
			sameTime(t, "ClientTime", e.ClientTime, f.Envelope.ClientTime)
			sameTime(t, "ServerTime", e.ServerTime, f.Envelope.ServerTime)
			sameTime(t, "ExpiresAt", e.ExpiresAt, f.Envelope.ExpiresAt)
		}
		if got := stored(t, s, b, 2); !slices.Equal(got, []types.MessageID{before.MessageID, m.MessageID, after.MessageID}) {
			t.Errorf("b's device 2 holds %v, want the batch's order %v", got, []types.MessageID{before.MessageID, m.MessageID, after.MessageID})
		}
		if es := fetchAll(t, s, a, 2); len(es) != 0 {
			t.Errorf("the sending device holds %d envelopes of its own message", len(es))
		}
		for _, ad := range want {
			wantN := 1
			if ad == addr(b, 2) {
				wantN = 3
			}
			if n := queueLength(t, s, ad.Account, ad.Device); n != wantN {
				t.Errorf("%s QueueLength = %d, want %d", ad, n, wantN)
			}
		}
		_ = ctx
	}},

	{"a Fanout is stored once per sender device, message id and group", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := member(t, s, 1), member(t, s, 1)
		g1, g2 := createGroup(t, s, a, b), createGroup(t, s, a, b)
		sender := addr(a, 1)
		first := fanout(sender, g1.st.ID, 1, a, b)
		dup := fanout(sender, g1.st.ID, 1, a, b)
		dup.MessageID = first.MessageID
		noErr(t, "Append", s.Append(ctx, []*store.Append{first, dup}, bigQueue, window, t0))
		if first.Duplicate || first.Err != nil || !dup.Duplicate || dup.Err != nil || len(dup.Fanout.Deliveries) != 0 {
			t.Fatalf("same group message twice: Duplicate %v, %v; Err %v, %v", first.Duplicate, dup.Duplicate, first.Err, dup.Err)
		}
		later := fanout(sender, g1.st.ID, 1, a, b)
		later.MessageID = first.MessageID
		noErr(t, "Append", s.Append(ctx, []*store.Append{later}, bigQueue, window, t0.Add(time.Minute)))
		if !later.Duplicate {
			t.Error("resend within the window is not a duplicate")
		}
		// The same id to another group, pairwise, or from another device is another message.
		other := fanout(sender, g2.st.ID, 1, a, b)
		other.MessageID = first.MessageID
		pairwise := newAppend(sender, first.MessageID, b, 1)
		appendOK(t, s, t0, other, pairwise)
		if got := stored(t, s, b, 1); len(got) != 3 {
			t.Errorf("b holds %d envelopes, want 3", len(got))
		}
	}},

	{"a Fanout checked against an old head stores nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b, c := member(t, s, 1), member(t, s, 1), member(t, s, 1)
		g := createGroup(t, s, a, b, c)
		g.apply(t, s, g.change(removeMember(c)))
		stale := fanout(addr(a, 1), g.st.ID, 1, a, b, c)
		unknown := fanout(addr(a, 1), types.NewGroupID(), 1, a, b)
		current := fanout(addr(a, 1), g.st.ID, 2, a, b)
		noErr(t, "Append", s.Append(ctx, []*store.Append{stale, unknown, current}, bigQueue, window, t0))
		wantErr(t, "Fanout at an old seq", stale.Err, store.ErrConflict)
		wantErr(t, "Fanout to an unknown group", unknown.Err, store.ErrNotFound)
		if current.Err != nil || len(current.Fanout.Deliveries) != 1 {
			t.Fatalf("Fanout at the head: Err %v, %d deliveries; want 1", current.Err, len(current.Fanout.Deliveries))
		}
		if got := stored(t, s, c, 1); len(got) != 0 {
			t.Errorf("removed member holds %d envelopes", len(got))
		}
		// Nothing remembered of the refused one: sent again at the head, it is stored.
		retry := fanout(addr(a, 1), g.st.ID, 2, a, b)
		retry.MessageID = stale.MessageID
		appendOK(t, s, t0, retry)
	}},

	{"a Fanout leaves out full devices", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := member(t, s, 1), member(t, s, 2)
		g := createGroup(t, s, a, b)
		appendOK(t, s, t0, newAppend(addr(a, 1), types.NewMessageID(), b, 1), newAppend(addr(a, 1), types.NewMessageID(), b, 1))
		m := fanout(addr(a, 1), g.st.ID, 1, a, b)
		noErr(t, "Append", s.Append(ctx, []*store.Append{m}, 2, window, t0))
		if m.Err != nil {
			t.Fatalf("Fanout with one full device: %v", m.Err)
		}
		if !slices.Equal(m.Fanout.Full, []types.Address{addr(b, 1)}) {
			t.Errorf("Full = %v, want [%s]", m.Fanout.Full, addr(b, 1))
		}
		if got := deliveredTo(m.Fanout); !slices.Equal(got, []types.Address{addr(b, 2)}) {
			t.Errorf("delivered to %v, want only %s", got, addr(b, 2))
		}
		if n := queueLength(t, s, b, 1); n != 2 {
			t.Errorf("full device's QueueLength = %d, want 2", n)
		}
	}},

	{"acks, device removal and expiry remove deliveries", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b, c := member(t, s, 2), member(t, s, 2), member(t, s, 1)
		g := createGroup(t, s, a, b, c)
		m := fanout(addr(a, 1), g.st.ID, 1, a, b, c)
		soon := fanout(addr(a, 1), g.st.ID, 1, a, b, c)
		soon.Fanout.Envelope.ExpiresAt = t0.Add(time.Hour)
		appendOK(t, s, t0, m, soon)
		ids := map[types.Address][]uint64{}
		for _, f := range []*store.Fanout{m.Fanout, soon.Fanout} {
			for _, d := range f.Deliveries {
				ids[d.To] = append(ids[d.To], d.ID)
			}
		}

		n, err := s.DeleteEnvelopes(ctx, b, 1, append(ids[addr(b, 1)], ids[addr(c, 1)]...))
		noErr(t, "DeleteEnvelopes", err)
		if n != 2 {
			t.Errorf("DeleteEnvelopes removed %d, want b.1's 2 and none of c's", n)
		}
		if got := fetchAll(t, s, b, 1); len(got) != 0 || queueLength(t, s, b, 1) != 0 {
			t.Errorf("acked device still holds %d", len(got))
		}
		for _, ad := range []types.Address{addr(a, 2), addr(b, 2), addr(c, 1)} {
			if got := fetchAll(t, s, ad.Account, ad.Device); len(got) != 2 || !bytes.Equal(got[0].Content, m.Fanout.Envelope.Content) {
				t.Errorf("%s holds %d envelopes after another device's ack, want both messages intact", ad, len(got))
			}
		}
		noErr(t, "RemoveDevice", s.RemoveDevice(ctx, b, 2))
		noErr(t, "DeleteAccount", s.DeleteAccount(ctx, c))
		removed, err := s.Expire(ctx, t0.Add(2*time.Hour), 100)
		noErr(t, "Expire", err)
		if removed != 1 {
			t.Errorf("Expire removed %d, want a.2's copy of the expiring message", removed)
		}
		got := fetchAll(t, s, a, 2)
		if len(got) != 1 || got[0].MessageID != m.MessageID || !bytes.Equal(got[0].Content, m.Fanout.Envelope.Content) {
			t.Fatalf("a.2 holds %d envelopes, want the unexpired message intact", len(got))
		}
		if n := queueLength(t, s, a, 2); n != 1 {
			t.Errorf("a.2 QueueLength = %d, want 1", n)
		}
		n, err = s.DeleteEnvelopes(ctx, a, 2, []uint64{got[0].ID})
		if err != nil || n != 1 {
			t.Errorf("ack of the last delivery: %d, %v", n, err)
		}
	}},
}

// concurrentRemovalTest races group messages against a member's removal,
// as a sender on one node and an admin on another would: a message is
// either stored before the removal, reaching the removed member before
// the removal's notice, or refused with ErrConflict, reaching nobody.
var concurrentRemovalTest = test{"a Fanout racing a removal reaches the removed member only before it", func(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := member(t, s, 1), member(t, s, 1)
	for round := range 6 {
		victim := member(t, s, 2)
		g := createGroup(t, s, a, b, victim)
		removal := g.change(removeMember(victim))
		removal.Notify = groupNotice(removal, a, b, victim)
		msgs := make([]*store.Append, 4)
		for i := range msgs {
			msgs[i] = fanout(addr(b, 1), g.st.ID, 1, a, b, victim)
		}
		var removalErr error
		parallel(len(msgs)+1, func(i int) {
			if i == len(msgs) {
				removalErr = s.AppendGroupEvent(ctx, removal, bigQueue, t0)
				return
			}
			if err := s.Append(ctx, []*store.Append{msgs[i]}, bigQueue, window, t0); err != nil {
				msgs[i].Err = err
			}
		})
		noErr(t, "removal", removalErr)
		for dev := types.DeviceID(1); dev <= 2; dev++ {
			es := fetchAll(t, s, victim, dev)
			if len(es) == 0 || es[len(es)-1].MessageID != removal.Notify.MessageID {
				t.Fatalf("round %d: victim's device %d: the removal notice is not the last of %d envelopes", round, dev, len(es))
			}
			got := map[types.MessageID]bool{}
			for _, e := range es[:len(es)-1] {
				got[e.MessageID] = true
			}
			for i, m := range msgs {
				switch {
				case m.Err == nil && !got[m.MessageID]:
					t.Errorf("round %d: message %d was stored but not for the victim's device %d", round, i, dev)
				case errors.Is(m.Err, store.ErrConflict) && got[m.MessageID]:
					t.Errorf("round %d: refused message %d reached the victim", round, i)
				case m.Err != nil && !errors.Is(m.Err, store.ErrConflict):
					t.Fatalf("round %d: Append: %v", round, m.Err)
				}
			}
		}
	}
}}

// groupNotice is a change's notice to every device of accounts.
func groupNotice(ch *store.GroupChange, accounts ...types.AccountID) *store.Append {
	var msg types.MessageID
	copy(msg[:], ch.Next.Head)
	return &store.Append{MessageID: msg, Fanout: &store.Fanout{
		Group: ch.Next.ID, Accounts: accounts,
		Envelope: store.Envelope{MessageID: msg, Type: 20, Content: ch.Event, ServerTime: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)},
	}}
}
