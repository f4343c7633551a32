package grouplog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// actor is one member device with its identity key.
type actor struct {
	acct types.AccountID
	dev  types.DeviceID
	key  curve.KeyPair
}

func newActor(t testing.TB) *actor {
	t.Helper()
	kp, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &actor{acct: types.NewAccountID(), dev: 1, key: kp}
}

// body is the event a makes after s (s nil: the first event of group g).
func (a *actor) body(g types.GroupID, s *State) *wirepb.GroupEventBody {
	b := &wirepb.GroupEventBody{
		GroupId: g[:], Seq: 1, ActorAccount: a.acct[:], ActorDevice: uint32(a.dev),
		ActorIdentityKey: a.key.Public.Bytes(), TimeMs: 1_700_000_000_000,
	}
	if s != nil {
		b.Seq, b.PrevHash = s.Seq+1, slices.Clone(s.Head[:])
	}
	return b
}

func (a *actor) sign(t testing.TB, b *wirepb.GroupEventBody) *Event {
	t.Helper()
	ev, err := Sign(b, a.key.Private)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// event signs change as a's next event after s.
func (a *actor) event(t testing.TB, g types.GroupID, s *State, change func(*wirepb.GroupEventBody)) *Event {
	t.Helper()
	b := a.body(g, s)
	change(b)
	return a.sign(t, b)
}

func members(admin bool, as ...*actor) []*wirepb.GroupMember {
	var out []*wirepb.GroupMember
	for _, a := range as {
		out = append(out, &wirepb.GroupMember{Account: a.acct[:], Admin: admin})
	}
	return out
}

func create(ms ...*wirepb.GroupMember) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_Create{Create: &wirepb.GroupCreate{Members: ms, SealedAttributes: []byte("sealed")}}
	}
}

func add(ms ...*wirepb.GroupMember) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_Add{Add: &wirepb.GroupAddMembers{Members: ms}}
	}
}

func remove(as ...*actor) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		var accts [][]byte
		for _, a := range as {
			accts = append(accts, a.acct[:])
		}
		b.Change = &wirepb.GroupEventBody_Remove{Remove: &wirepb.GroupRemoveMembers{Accounts: accts}}
	}
}

func leave(b *wirepb.GroupEventBody) {
	b.Change = &wirepb.GroupEventBody_Leave{Leave: &wirepb.GroupLeave{}}
}

func setAdmins(ms ...*wirepb.GroupMember) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_SetAdmins{SetAdmins: &wirepb.GroupSetAdmins{Members: ms}}
	}
}

func setAttrs(b *wirepb.GroupEventBody) {
	b.Change = &wirepb.GroupEventBody_SetAttributes{SetAttributes: &wirepb.GroupSetAttributes{Sealed: []byte("new name")}}
}

func announce(on bool) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_SetSettings{SetSettings: &wirepb.GroupSetSettings{AnnouncementOnly: on}}
	}
}

func setInvite(hash []byte) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_SetInvite{SetInvite: &wirepb.GroupSetInvite{TokenHash: hash}}
	}
}

func join(hash []byte) func(*wirepb.GroupEventBody) {
	return func(b *wirepb.GroupEventBody) {
		b.Change = &wirepb.GroupEventBody_Join{Join: &wirepb.GroupJoin{TokenHash: hash}}
	}
}

// world is a group of ann (creator, admin), ben (admin), cat and dan
// (members), and eve outside it.
type world struct {
	g                       types.GroupID
	ann, ben, cat, dan, eve *actor
	s                       *State
}

func newWorld(t *testing.T) *world {
	w := &world{g: types.NewGroupID(), ann: newActor(t), ben: newActor(t), cat: newActor(t), dan: newActor(t), eve: newActor(t)}
	ms := append(members(true, w.ben), members(false, w.cat, w.dan)...)
	w.s = w.must(t, w.ann.event(t, w.g, nil, create(ms...)))
	return w
}

func (w *world) must(t *testing.T, ev *Event) *State {
	t.Helper()
	n, err := w.s.Apply(ev, 0)
	if err != nil {
		t.Fatalf("apply %T: %v", ev.Body.Change, err)
	}
	return n
}

func TestCreate(t *testing.T) {
	w := newWorld(t)
	if w.s.Seq != 1 || len(w.s.Members) != 4 || w.s.Group != w.g {
		t.Fatalf("state after create: %+v", w.s)
	}
	for _, c := range []struct {
		a     *actor
		admin bool
	}{{w.ann, true}, {w.ben, true}, {w.cat, false}, {w.dan, false}} {
		m, ok := w.s.Member(c.a.acct)
		if !ok || m.Admin != c.admin || m.Since != 1 {
			t.Errorf("member %v: %+v %v, want admin=%v", c.a.acct, m, ok, c.admin)
		}
	}
	if _, ok := w.s.Member(w.eve.acct); ok {
		t.Error("eve is a member")
	}
	if !slices.IsSortedFunc(w.s.Members, func(a, b Member) int { return bytes.Compare(a.Account[:], b.Account[:]) }) {
		t.Error("members not sorted")
	}
	if string(w.s.SealedAttributes) != "sealed" || w.s.AttributesSeq != 1 {
		t.Error("attributes of the create event not kept")
	}
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		by     func(w *world) *actor
		change func(w *world) func(*wirepb.GroupEventBody)
		want   error
		check  func(t *testing.T, w *world, s *State)
	}{
		{"admin adds", func(w *world) *actor { return w.ben }, func(w *world) func(*wirepb.GroupEventBody) { return add(members(false, w.eve)...) }, nil,
			func(t *testing.T, w *world, s *State) {
				if m, ok := s.Member(w.eve.acct); !ok || m.Admin || m.Since != 2 {
					t.Errorf("eve: %+v %v", m, ok)
				}
			}},
		{"member cannot add", func(w *world) *actor { return w.cat }, func(w *world) func(*wirepb.GroupEventBody) { return add(members(false, w.eve)...) }, ErrForbidden, nil},
		{"outsider cannot add", func(w *world) *actor { return w.eve }, func(w *world) func(*wirepb.GroupEventBody) { return add(members(false, w.eve)...) }, ErrForbidden, nil},
		{"adding a member twice", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return add(members(false, w.cat)...) }, ErrForbidden, nil},
		{"admin removes", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return remove(w.cat, w.ben) }, nil,
			func(t *testing.T, w *world, s *State) {
				if got := s.Accounts(); len(got) != 2 || slices.Contains(got, w.cat.acct) || slices.Contains(got, w.ben.acct) {
					t.Errorf("members after removal: %v", got)
				}
			}},
		{"member cannot remove", func(w *world) *actor { return w.cat }, func(w *world) func(*wirepb.GroupEventBody) { return remove(w.dan) }, ErrForbidden, nil},
		{"removing a non-member", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return remove(w.eve) }, ErrForbidden, nil},
		{"admin removing itself", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return remove(w.ann) }, ErrForbidden, nil},
		{"member leaves", func(w *world) *actor { return w.dan }, func(w *world) func(*wirepb.GroupEventBody) { return leave }, nil,
			func(t *testing.T, w *world, s *State) {
				if _, ok := s.Member(w.dan.acct); ok || len(s.Members) != 3 {
					t.Error("dan still a member")
				}
			}},
		{"outsider cannot leave", func(w *world) *actor { return w.eve }, func(w *world) func(*wirepb.GroupEventBody) { return leave }, ErrForbidden, nil},
		{"admin promotes", func(w *world) *actor { return w.ben }, func(w *world) func(*wirepb.GroupEventBody) { return setAdmins(members(true, w.cat)...) }, nil,
			func(t *testing.T, w *world, s *State) {
				if !s.IsAdmin(w.cat.acct) || !w.s.IsAdmin(w.ben.acct) {
					t.Error("cat not promoted")
				}
			}},
		{"admin demotes an admin", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return setAdmins(members(false, w.ben)...) }, nil,
			func(t *testing.T, w *world, s *State) {
				if s.IsAdmin(w.ben.acct) {
					t.Error("ben still admin")
				}
			}},
		{"demoting every admin", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return setAdmins(members(false, w.ann, w.ben)...) }, ErrForbidden, nil},
		{"member cannot promote itself", func(w *world) *actor { return w.cat }, func(w *world) func(*wirepb.GroupEventBody) { return setAdmins(members(true, w.cat)...) }, ErrForbidden, nil},
		{"promoting a non-member", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return setAdmins(members(true, w.eve)...) }, ErrForbidden, nil},
		{"admin renames", func(w *world) *actor { return w.ben }, func(w *world) func(*wirepb.GroupEventBody) { return setAttrs }, nil,
			func(t *testing.T, w *world, s *State) {
				if string(s.SealedAttributes) != "new name" || s.AttributesSeq != 2 {
					t.Error("attributes not replaced")
				}
			}},
		{"member cannot rename", func(w *world) *actor { return w.cat }, func(w *world) func(*wirepb.GroupEventBody) { return setAttrs }, ErrForbidden, nil},
		{"admin sets announcement-only", func(w *world) *actor { return w.ann }, func(w *world) func(*wirepb.GroupEventBody) { return announce(true) }, nil,
			func(t *testing.T, w *world, s *State) {
				if !s.AnnouncementOnly {
					t.Error("not announcement-only")
				}
			}},
		{"member cannot change settings", func(w *world) *actor { return w.dan }, func(w *world) func(*wirepb.GroupEventBody) { return announce(true) }, ErrForbidden, nil},
		{"member cannot set the invite", func(w *world) *actor { return w.dan }, func(w *world) func(*wirepb.GroupEventBody) { return setInvite(TokenHash([]byte("t"))) }, ErrForbidden, nil},
		{"join without an invite link", func(w *world) *actor { return w.eve }, func(w *world) func(*wirepb.GroupEventBody) { return join(TokenHash([]byte("t"))) }, ErrForbidden, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			before := *w.s
			beforeMembers := slices.Clone(w.s.Members)
			ev := tc.by(w).event(t, w.g, w.s, tc.change(w))
			n, err := w.s.Apply(ev, 0)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Apply = %v, want %v", err, tc.want)
			}
			if !slices.Equal(w.s.Members, beforeMembers) || w.s.Seq != before.Seq || w.s.Head != before.Head {
				t.Fatal("Apply changed the state it was called on")
			}
			if err != nil {
				return
			}
			if n.Seq != 2 || n.Head != ev.Hash {
				t.Errorf("seq %d head %x after the event", n.Seq, n.Head)
			}
			if tc.check != nil {
				tc.check(t, w, n)
			}
		})
	}
}

func TestInviteLink(t *testing.T) {
	w := newWorld(t)
	token := []byte("a token of sixteen bytes")
	w.s = w.must(t, w.ann.event(t, w.g, w.s, setInvite(TokenHash(token))))
	if _, err := w.s.Apply(w.eve.event(t, w.g, w.s, join(TokenHash([]byte("guessed")))), 0); !errors.Is(err, ErrForbidden) {
		t.Fatalf("join with a wrong token: %v", err)
	}
	if _, err := w.s.Apply(w.cat.event(t, w.g, w.s, join(TokenHash(token))), 0); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a member joining again: %v", err)
	}
	joined := w.must(t, w.eve.event(t, w.g, w.s, join(TokenHash(token))))
	if m, ok := joined.Member(w.eve.acct); !ok || m.Admin || m.Since != 3 {
		t.Fatalf("eve after joining: %+v %v", m, ok)
	}
	w.s = w.must(t, w.ben.event(t, w.g, w.s, setInvite(nil)))
	if w.s.InviteHash != nil {
		t.Fatal("revoked link still set")
	}
	if _, err := w.s.Apply(w.eve.event(t, w.g, w.s, join(TokenHash(token))), 0); !errors.Is(err, ErrForbidden) {
		t.Fatalf("join with a revoked link: %v", err)
	}
}

func TestLastAdminLeaving(t *testing.T) {
	w := newWorld(t)
	// Seniority, not account order, decides: dan leaves and comes back
	// (Since 3), ben is removed, so cat (Since 1) is the longest-standing
	// whichever of the two accounts sorts first.
	w.s = w.must(t, w.dan.event(t, w.g, w.s, leave))
	w.s = w.must(t, w.ann.event(t, w.g, w.s, add(members(false, w.dan)...)))
	w.s = w.must(t, w.ann.event(t, w.g, w.s, remove(w.ben)))
	w.s = w.must(t, w.ann.event(t, w.g, w.s, leave))
	if !w.s.IsAdmin(w.cat.acct) || w.s.IsAdmin(w.dan.acct) || len(w.s.Members) != 2 {
		t.Fatalf("after the last admin left: %+v", w.s.Members)
	}

	// With equal seniority the smaller account id wins.
	w = newWorld(t)
	w.s = w.must(t, w.ann.event(t, w.g, w.s, setAdmins(members(false, w.ben)...)))
	w.s = w.must(t, w.ann.event(t, w.g, w.s, leave))
	first := w.s.Members[0]
	if !first.Admin || w.s.Members[1].Admin || w.s.Members[2].Admin {
		t.Fatalf("tie not broken by account order: %+v", w.s.Members)
	}

	// The last member leaving ends the group and its invite link.
	w = newWorld(t)
	w.s = w.must(t, w.ann.event(t, w.g, w.s, setInvite(TokenHash([]byte("x")))))
	for _, a := range []*actor{w.ann, w.ben, w.cat, w.dan} {
		w.s = w.must(t, a.event(t, w.g, w.s, leave))
	}
	if len(w.s.Members) != 0 || w.s.InviteHash != nil {
		t.Fatalf("empty group: %+v", w.s)
	}
}

func TestMaxMembers(t *testing.T) {
	w := newWorld(t)
	if _, err := w.s.Apply(w.ann.event(t, w.g, w.s, add(members(false, w.eve)...)), 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("add over the limit: %v", err)
	}
	w.s = w.must(t, w.ann.event(t, w.g, w.s, setInvite(TokenHash([]byte("t")))))
	if _, err := w.s.Apply(w.eve.event(t, w.g, w.s, join(TokenHash([]byte("t")))), 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("join over the limit: %v", err)
	}
	ann := newActor(t)
	if _, err := (*State)(nil).Apply(ann.event(t, types.NewGroupID(), nil, create(members(false, w.cat, w.dan)...)), 2); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("create over the limit: %v", err)
	}
}

func TestChain(t *testing.T) {
	w := newWorld(t)
	next := w.ann.event(t, w.g, w.s, setAttrs)
	for _, tc := range []struct {
		name string
		ev   func() *Event
	}{
		{"seq skips one", func() *Event {
			b := w.ann.body(w.g, w.s)
			b.Seq++
			setAttrs(b)
			return w.ann.sign(t, b)
		}},
		{"prev_hash of another event", func() *Event {
			b := w.ann.body(w.g, w.s)
			b.PrevHash = next.Hash[:]
			setAttrs(b)
			return w.ann.sign(t, b)
		}},
		{"another group", func() *Event {
			b := w.ann.body(types.NewGroupID(), w.s)
			setAttrs(b)
			return w.ann.sign(t, b)
		}},
		{"a second create", func() *Event {
			return w.ann.event(t, w.g, nil, create())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := w.s.Apply(tc.ev(), 0); !errors.Is(err, ErrOutOfOrder) {
				t.Fatalf("Apply = %v, want ErrOutOfOrder", err)
			}
		})
	}
	if _, err := (*State)(nil).Apply(next, 0); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("an event before the create: %v", err)
	}

	// Replay reaches the same state as applying one by one.
	evs := []*Event{w.ann.event(t, w.g, nil, create(members(false, w.cat)...))}
	s, _ := (*State)(nil).Apply(evs[0], 0)
	for _, change := range []func(*wirepb.GroupEventBody){add(members(false, w.dan)...), setAttrs, remove(w.cat)} {
		ev := w.ann.event(t, w.g, s, change)
		evs = append(evs, ev)
		s, _ = s.Apply(ev, 0)
	}
	r, err := Replay(evs, 0)
	if err != nil || r.Head != s.Head || !slices.Equal(r.Members, s.Members) {
		t.Fatalf("Replay = %+v, %v; want %+v", r, err, s)
	}
	evs[1], evs[2] = evs[2], evs[1]
	if _, err := Replay(evs, 0); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("Replay of swapped events: %v", err)
	}
}

func TestSignatures(t *testing.T) {
	w := newWorld(t)
	ev := w.ann.event(t, w.g, w.s, setAttrs)
	var outer wirepb.GroupEvent
	if err := proto.Unmarshal(ev.Raw, &outer); err != nil {
		t.Fatal(err)
	}
	reencode := func(body, sig []byte) []byte {
		raw, err := proto.Marshal(&wirepb.GroupEvent{Body: body, Signature: sig})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	// An admin's event re-signed by an outsider under the admin's name.
	b := w.ann.body(w.g, w.s)
	setAttrs(b)
	b.ActorIdentityKey = w.eve.key.Public.Bytes()
	forged := w.eve.sign(t, b)
	if _, err := w.s.Apply(forged, 0); err != nil {
		// The signature is the outsider's own and verifies: only the
		// caller's identity binding (server: devices table) can refuse it.
		t.Fatalf("self-consistent event refused by Apply: %v", err)
	}
	if !bytes.Equal(forged.ActorIdentity, w.eve.key.Public.Bytes()) || forged.Actor.Account != w.ann.acct {
		t.Fatal("ActorIdentity/Actor not what the caller must check")
	}

	flipped := slices.Clone(outer.Signature)
	flipped[10] ^= 1
	body := slices.Clone(outer.Body)
	body[len(body)-1] ^= 1 // inside the sealed attributes
	otherKey := w.ben.key.Public.Bytes()
	var swapped wirepb.GroupEventBody
	_ = proto.Unmarshal(outer.Body, &swapped)
	swapped.ActorIdentityKey = otherKey
	swappedBody, _ := proto.Marshal(&swapped)
	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"signature bit flipped", reencode(outer.Body, flipped), ErrBadSignature},
		{"body byte flipped", reencode(body, outer.Signature), ErrBadSignature},
		{"key of another device", reencode(swappedBody, outer.Signature), ErrBadSignature},
		{"short signature", reencode(outer.Body, outer.Signature[:63]), ErrMalformed},
		{"not protobuf", []byte{0xff, 0xff, 0xff}, ErrMalformed},
		{"too large", make([]byte, MaxEventBytes+1), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.raw); !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Sign(b, w.ann.key.Private); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Sign with a key that is not actor_identity_key: %v", err)
	}
}

func TestParseMalformed(t *testing.T) {
	a := newActor(t)
	g := types.NewGroupID()
	good := a.body(g, nil)
	create(members(false, newActor(t))...)(good)
	if _, err := Parse(a.sign(t, good).Raw); err != nil {
		t.Fatalf("good event: %v", err)
	}
	other := newActor(t)
	for _, tc := range []struct {
		name string
		edit func(b *wirepb.GroupEventBody)
	}{
		{"zero group", func(b *wirepb.GroupEventBody) { b.GroupId = make([]byte, 16) }},
		{"short group", func(b *wirepb.GroupEventBody) { b.GroupId = b.GroupId[:15] }},
		{"seq 0", func(b *wirepb.GroupEventBody) { b.Seq = 0 }},
		{"prev hash on the first event", func(b *wirepb.GroupEventBody) { b.PrevHash = make([]byte, 32) }},
		{"no prev hash later", func(b *wirepb.GroupEventBody) { b.Seq = 2; setAttrs(b) }},
		{"short prev hash", func(b *wirepb.GroupEventBody) { b.Seq, b.PrevHash = 2, make([]byte, 31); setAttrs(b) }},
		{"create at seq 2", func(b *wirepb.GroupEventBody) { b.Seq, b.PrevHash = 2, make([]byte, 32) }},
		{"no change", func(b *wirepb.GroupEventBody) { b.Change = nil }},
		{"zero actor", func(b *wirepb.GroupEventBody) { b.ActorAccount = make([]byte, 16) }},
		{"device 0", func(b *wirepb.GroupEventBody) { b.ActorDevice = 0 }},
		{"account twice", func(b *wirepb.GroupEventBody) { create(members(false, other, other)...)(b) }},
		{"bad account id", func(b *wirepb.GroupEventBody) {
			create(&wirepb.GroupMember{Account: []byte{1, 2, 3}})(b)
		}},
		{"empty add", func(b *wirepb.GroupEventBody) { b.Seq, b.PrevHash = 2, make([]byte, 32); add()(b) }},
		{"empty attributes", func(b *wirepb.GroupEventBody) {
			b.Seq, b.PrevHash = 2, make([]byte, 32)
			b.Change = &wirepb.GroupEventBody_SetAttributes{SetAttributes: &wirepb.GroupSetAttributes{}}
		}},
		{"short invite hash", func(b *wirepb.GroupEventBody) {
			b.Seq, b.PrevHash = 2, make([]byte, 32)
			setInvite(make([]byte, 31))(b)
		}},
		{"join without hash", func(b *wirepb.GroupEventBody) { b.Seq, b.PrevHash = 2, make([]byte, 32); join(nil)(b) }},
		{"identity key without type byte", func(b *wirepb.GroupEventBody) { b.ActorIdentityKey = b.ActorIdentityKey[1:] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := proto.CloneOf(good)
			tc.edit(b)
			raw, err := proto.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := a.key.Private.Sign(nil, signedBytes(raw))
			outer, _ := proto.Marshal(&wirepb.GroupEvent{Body: raw, Signature: sig[:]})
			if _, err := Parse(outer); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	secret := NewSecret()
	g := types.NewGroupID()
	sealed, err := SealAttributes(secret, g, 7, []byte("Book club"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Book club")) {
		t.Fatal("attributes in the clear")
	}
	if got, err := OpenAttributes(secret, g, 7, sealed); err != nil || string(got) != "Book club" {
		t.Fatalf("OpenAttributes = %q, %v", got, err)
	}
	flipped := slices.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name   string
		secret []byte
		g      types.GroupID
		seq    uint64
		sealed []byte
	}{
		{"another secret", NewSecret(), g, 7, sealed},
		{"another group", secret, types.NewGroupID(), 7, sealed},
		{"another event", secret, g, 8, sealed},
		{"changed", secret, g, 7, flipped},
		{"truncated", secret, g, 7, sealed[:20]},
	} {
		if _, err := OpenAttributes(tc.secret, tc.g, tc.seq, tc.sealed); !errors.Is(err, ErrAttributes) {
			t.Errorf("%s: %v, want ErrAttributes", tc.name, err)
		}
	}
	if _, err := SealAttributes(secret[:16], g, 1, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("a 16-byte secret: %v", err)
	}
}

func TestDevicesHash(t *testing.T) {
	a, b := types.AccountID{1}, types.AccountID{2}
	devs := []DeviceEntry{{b, 1, 300}, {a, 2, 200}, {a, 1, 100}}
	// The definition in wire.proto, written out.
	var want []byte
	for _, d := range []DeviceEntry{{a, 1, 100}, {a, 2, 200}, {b, 1, 300}} {
		want = append(want, d.Account[:]...)
		want = binary.BigEndian.AppendUint32(want, uint32(d.Device))
		want = binary.BigEndian.AppendUint32(want, d.RegistrationID)
	}
	sum := sha256.Sum256(want)
	if got := DevicesHash(devs); !bytes.Equal(got, sum[:]) {
		t.Fatalf("DevicesHash = %x, want %x", got, sum)
	}
	if devs[0].Account != b {
		t.Fatal("DevicesHash sorted its argument")
	}
	devs[2].RegistrationID++
	if bytes.Equal(DevicesHash(devs), sum[:]) {
		t.Fatal("a changed registration id gives the same hash")
	}
}
