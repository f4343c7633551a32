// Package grouplog is a group's membership as a signed hash chain of events,
// and the rules that decide which events are valid.
//
// The server needs to know who is in a group to fan messages out, so it
// keeps the membership; but members must not have to take the server's word
// for it, or a server could quietly add a listener who then receives every
// member's sender key. So every change is an event signed by the device that
// made it, each event names the hash of the one before, and every member
// replays the chain with the same rules the server applied: who may add,
// remove, promote, rename, set the invite link, join by it. A member hands
// its sender key only to the members its own replay says are there.
//
// The server also checks that an event's actor_identity_key is the acting
// device's key; a client checks that binding where it knows the device (a
// session with it), and otherwise relies on the key being the one the
// server vouched for when it took the event.
//
// Nothing here does I/O; the server (internal/group) and the client SDK
// (client/) both import it.
package grouplog

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// SignaturePrefix separates group-event signatures from every other use of
// a device's identity key.
const SignaturePrefix = "parley-group-event-v1"

// Limits on one event. An event adding a full group of 1024 members is
// about 20 KiB; the attributes carry a name, a description and a picture
// reference with a small thumbnail.
const (
	MaxEventBytes      = 256 << 10
	MaxAttributesBytes = 128 << 10
	MaxEventAccounts   = 4096
	// DefaultMaxMembers is WhatsApp's group size since 2022.
	DefaultMaxMembers = 1024
)

// Errors Parse and Apply return, wrapped with the detail.
var (
	// ErrMalformed: the bytes are not a well-formed event.
	ErrMalformed = errors.New("grouplog: malformed event")
	// ErrBadSignature: the signature does not verify under the actor's key.
	ErrBadSignature = errors.New("grouplog: bad signature")
	// ErrOutOfOrder: the event does not follow the state's head (seq or
	// prev_hash), or names another group.
	ErrOutOfOrder = errors.New("grouplog: event does not follow the head")
	// ErrForbidden: the actor may not make this change.
	ErrForbidden = errors.New("grouplog: change not allowed")
	// ErrTooLarge: the group would have more members than allowed.
	ErrTooLarge = errors.New("grouplog: too many members")
)

// Member is one member of a group.
type Member struct {
	Account types.AccountID
	Admin   bool
	// Since is the seq of the event that made it a member; the longest-
	// standing member inherits the admin role when the last admin leaves.
	Since uint64
}

// State is a group after some prefix of its log. It is a value: Apply
// returns a new State and leaves the old one as it was, so a caller can try
// an event and drop the result.
type State struct {
	Group types.GroupID
	Seq   uint64
	// Head is Event.Hash of the event at Seq; the next event's prev_hash.
	Head [32]byte
	// Members sorted by account bytes.
	Members          []Member
	AnnouncementOnly bool
	// InviteHash is the SHA-256 of the current invite token; nil when there
	// is no invite link.
	InviteHash []byte
	// SealedAttributes is the newest name/description/picture, sealed with
	// the group secret (SealAttributes), and AttributesSeq the event that
	// set it; OpenAttributes needs both.
	SealedAttributes []byte
	AttributesSeq    uint64
}

// Event is one parsed event. Parse checks its form and signature; Apply
// checks that it may follow a state.
type Event struct {
	Raw       []byte // the serialized wirepb.GroupEvent, as signed and stored
	Body      *wirepb.GroupEventBody
	Signature []byte
	// Hash is SHA-256(Raw): what the next event names as prev_hash.
	Hash          [32]byte
	Group         types.GroupID
	Actor         types.Address
	ActorIdentity []byte // 0x05 ‖ 32 bytes
}

// Parse decodes and checks an event: its fields are well formed and its
// signature verifies under the actor identity key it carries.
func Parse(raw []byte) (*Event, error) {
	if len(raw) > MaxEventBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(raw), MaxEventBytes)
	}
	var outer wirepb.GroupEvent
	if err := proto.Unmarshal(raw, &outer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(outer.Signature) != 64 {
		return nil, fmt.Errorf("%w: signature is %d bytes, want 64", ErrMalformed, len(outer.Signature))
	}
	var body wirepb.GroupEventBody
	if err := proto.Unmarshal(outer.Body, &body); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	ev := &Event{Raw: raw, Body: &body, Signature: outer.Signature, Hash: sha256.Sum256(raw)}
	var err error
	if ev.Group, err = types.GroupIDFromBytes(body.GroupId); err != nil || ev.Group.IsZero() {
		return nil, fmt.Errorf("%w: group id", ErrMalformed)
	}
	if ev.Actor.Account, err = types.AccountIDFromBytes(body.ActorAccount); err != nil || ev.Actor.Account.IsZero() {
		return nil, fmt.Errorf("%w: actor account", ErrMalformed)
	}
	if body.ActorDevice == 0 {
		return nil, fmt.Errorf("%w: actor device", ErrMalformed)
	}
	ev.Actor.Device = types.DeviceID(body.ActorDevice)
	if body.Seq == 0 {
		return nil, fmt.Errorf("%w: seq 0", ErrMalformed)
	}
	if (body.Seq == 1) != (len(body.PrevHash) == 0) || (len(body.PrevHash) != 0 && len(body.PrevHash) != sha256.Size) {
		return nil, fmt.Errorf("%w: prev_hash", ErrMalformed)
	}
	if err := checkChange(&body); err != nil {
		return nil, err
	}
	key, err := curve.ParsePublicKey(body.ActorIdentityKey)
	if err != nil {
		return nil, fmt.Errorf("%w: actor identity key", ErrMalformed)
	}
	ev.ActorIdentity = body.ActorIdentityKey
	if !key.Verify(signedBytes(outer.Body), outer.Signature) {
		return nil, ErrBadSignature
	}
	return ev, nil
}

func signedBytes(body []byte) []byte {
	return append([]byte(SignaturePrefix), body...)
}

// checkChange checks the form of the change: account ids, sizes, hashes.
// Whether the change is allowed is Apply's business.
func checkChange(b *wirepb.GroupEventBody) error {
	switch c := b.Change.(type) {
	case *wirepb.GroupEventBody_Create:
		if b.Seq != 1 {
			return fmt.Errorf("%w: create at seq %d", ErrMalformed, b.Seq)
		}
		if err := checkMembers(c.Create.Members, true); err != nil {
			return err
		}
		return checkSealed(c.Create.SealedAttributes, true)
	case *wirepb.GroupEventBody_Add:
		return checkMembers(c.Add.Members, false)
	case *wirepb.GroupEventBody_Remove:
		return checkAccounts(c.Remove.Accounts)
	case *wirepb.GroupEventBody_Leave:
		return nil
	case *wirepb.GroupEventBody_SetAdmins:
		return checkMembers(c.SetAdmins.Members, false)
	case *wirepb.GroupEventBody_SetAttributes:
		return checkSealed(c.SetAttributes.Sealed, false)
	case *wirepb.GroupEventBody_SetSettings:
		return nil
	case *wirepb.GroupEventBody_SetInvite:
		if n := len(c.SetInvite.TokenHash); n != 0 && n != sha256.Size {
			return fmt.Errorf("%w: invite hash is %d bytes", ErrMalformed, n)
		}
		return nil
	case *wirepb.GroupEventBody_Join:
		if len(c.Join.TokenHash) != sha256.Size {
			return fmt.Errorf("%w: join without an invite hash", ErrMalformed)
		}
		return nil
	case nil:
		return fmt.Errorf("%w: no change (or one this version does not know)", ErrMalformed)
	default:
		return fmt.Errorf("%w: unknown change %T", ErrMalformed, c)
	}
}

func checkSealed(s []byte, emptyOK bool) error {
	if len(s) > MaxAttributesBytes {
		return fmt.Errorf("%w: attributes of %d bytes, at most %d", ErrMalformed, len(s), MaxAttributesBytes)
	}
	if !emptyOK && len(s) == 0 {
		return fmt.Errorf("%w: empty attributes", ErrMalformed)
	}
	return nil
}

func checkMembers(ms []*wirepb.GroupMember, emptyOK bool) error {
	accts := make([][]byte, len(ms))
	for i, m := range ms {
		accts[i] = m.GetAccount()
	}
	if len(ms) == 0 && emptyOK {
		return nil
	}
	return checkAccounts(accts)
}

func checkAccounts(accts [][]byte) error {
	if len(accts) == 0 {
		return fmt.Errorf("%w: no accounts", ErrMalformed)
	}
	if len(accts) > MaxEventAccounts {
		return fmt.Errorf("%w: %d accounts in one event", ErrMalformed, len(accts))
	}
	seen := make(map[types.AccountID]bool, len(accts))
	for _, b := range accts {
		a, err := types.AccountIDFromBytes(b)
		if err != nil || a.IsZero() {
			return fmt.Errorf("%w: account id", ErrMalformed)
		}
		if seen[a] {
			return fmt.Errorf("%w: account listed twice", ErrMalformed)
		}
		seen[a] = true
	}
	return nil
}

// Sign serializes body, signs it with the actor's identity key and returns
// the event as Parse would. The caller fills every field of body,
// actor_identity_key included (the public half of identity).
func Sign(body *wirepb.GroupEventBody, identity curve.PrivateKey) (*Event, error) {
	if !bytes.Equal(body.ActorIdentityKey, identity.PublicKey().Bytes()) {
		return nil, fmt.Errorf("%w: actor_identity_key is not the signing key", ErrMalformed)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	sig, err := identity.Sign(nil, signedBytes(b))
	if err != nil {
		return nil, err
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wirepb.GroupEvent{Body: b, Signature: sig[:]})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return Parse(raw)
}

// Apply returns the state after ev, or an error saying why ev may not
// follow s. A nil s is the state before the group exists: only a create
// may follow it. maxMembers <= 0 means DefaultMaxMembers.
func (s *State) Apply(ev *Event, maxMembers int) (*State, error) {
	if maxMembers <= 0 {
		maxMembers = DefaultMaxMembers
	}
	b := ev.Body
	if s == nil {
		if _, ok := b.Change.(*wirepb.GroupEventBody_Create); !ok || b.Seq != 1 {
			return nil, fmt.Errorf("%w: a group starts with its create event", ErrOutOfOrder)
		}
	} else {
		if ev.Group != s.Group {
			return nil, fmt.Errorf("%w: event of another group", ErrOutOfOrder)
		}
		if b.Seq != s.Seq+1 || !bytes.Equal(b.PrevHash, s.Head[:]) {
			return nil, fmt.Errorf("%w: seq %d after %d", ErrOutOfOrder, b.Seq, s.Seq)
		}
	}
	n := s.clone()
	n.Group, n.Seq, n.Head = ev.Group, b.Seq, ev.Hash
	actor := ev.Actor.Account

	requireAdmin := func() error {
		if !s.IsAdmin(actor) {
			return fmt.Errorf("%w: only an admin may do this", ErrForbidden)
		}
		return nil
	}
	switch c := b.Change.(type) {
	case *wirepb.GroupEventBody_Create:
		n.set(Member{Account: actor, Admin: true, Since: 1})
		for _, m := range c.Create.Members {
			a := types.AccountID(m.Account)
			n.set(Member{Account: a, Admin: m.Admin || a == actor, Since: 1})
		}
		n.SealedAttributes, n.AttributesSeq = c.Create.SealedAttributes, 1
		n.AnnouncementOnly = c.Create.AnnouncementOnly
	case *wirepb.GroupEventBody_Add:
		if err := requireAdmin(); err != nil {
			return nil, err
		}
		for _, m := range c.Add.Members {
			a := types.AccountID(m.Account)
			if _, ok := n.Member(a); ok {
				return nil, fmt.Errorf("%w: %s is already a member", ErrForbidden, a)
			}
			n.set(Member{Account: a, Admin: m.Admin, Since: b.Seq})
		}
	case *wirepb.GroupEventBody_Remove:
		if err := requireAdmin(); err != nil {
			return nil, err
		}
		for _, raw := range c.Remove.Accounts {
			a := types.AccountID(raw)
			if a == actor {
				return nil, fmt.Errorf("%w: an admin leaves with a leave event", ErrForbidden)
			}
			if !n.remove(a) {
				return nil, fmt.Errorf("%w: %s is not a member", ErrForbidden, a)
			}
		}
	case *wirepb.GroupEventBody_Leave:
		if !n.remove(actor) {
			return nil, fmt.Errorf("%w: only a member can leave", ErrForbidden)
		}
		n.promoteIfHeadless()
	case *wirepb.GroupEventBody_SetAdmins:
		if err := requireAdmin(); err != nil {
			return nil, err
		}
		for _, m := range c.SetAdmins.Members {
			i, ok := n.index(types.AccountID(m.Account))
			if !ok {
				return nil, fmt.Errorf("%w: %s is not a member", ErrForbidden, types.AccountID(m.Account))
			}
			n.Members[i].Admin = m.Admin
		}
		if !slices.ContainsFunc(n.Members, func(m Member) bool { return m.Admin }) {
			return nil, fmt.Errorf("%w: a group keeps at least one admin", ErrForbidden)
		}
	case *wirepb.GroupEventBody_SetAttributes:
		if err := requireAdmin(); err != nil {
			return nil, err
		}
		n.SealedAttributes, n.AttributesSeq = c.SetAttributes.Sealed, b.Seq
	case *wirepb.GroupEventBody_SetSettings:
		if err := requireAdmin(); err != nil {
			return nil, err
		}
		n.AnnouncementOnly = c.SetSettings.AnnouncementOnly
	case *wirepb.GroupEventBody_SetInvite:
		if err := requireAdmin(); err != nil {
			return nil, err
		}
		n.InviteHash = nil
		if len(c.SetInvite.TokenHash) > 0 {
			n.InviteHash = slices.Clone(c.SetInvite.TokenHash)
		}
	case *wirepb.GroupEventBody_Join:
		if _, ok := s.Member(actor); ok {
			return nil, fmt.Errorf("%w: already a member", ErrForbidden)
		}
		if len(s.InviteHash) == 0 || !bytes.Equal(c.Join.TokenHash, s.InviteHash) {
			return nil, fmt.Errorf("%w: the invite link is not the group's current one", ErrForbidden)
		}
		n.set(Member{Account: actor, Since: b.Seq})
	default:
		return nil, fmt.Errorf("%w: unknown change %T", ErrMalformed, c)
	}
	if len(n.Members) > maxMembers {
		return nil, fmt.Errorf("%w: %d members, at most %d", ErrTooLarge, len(n.Members), maxMembers)
	}
	if len(n.Members) == 0 {
		// An empty group is over: nobody may join it again by an old link.
		n.InviteHash = nil
	}
	return n, nil
}

// Replay applies events in order from the empty state.
func Replay(events []*Event, maxMembers int) (*State, error) {
	var s *State
	for _, ev := range events {
		n, err := s.Apply(ev, maxMembers)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.Body.Seq, err)
		}
		s = n
	}
	return s, nil
}

func (s *State) clone() *State {
	if s == nil {
		return &State{}
	}
	n := *s
	n.Members = slices.Clone(s.Members)
	return &n
}

func (s *State) index(a types.AccountID) (int, bool) {
	if s == nil {
		return 0, false
	}
	return slices.BinarySearchFunc(s.Members, a, func(m Member, a types.AccountID) int {
		return bytes.Compare(m.Account[:], a[:])
	})
}

// set adds m or, for a create listing the creator again, merges it.
func (s *State) set(m Member) {
	i, ok := s.index(m.Account)
	if ok {
		s.Members[i].Admin = s.Members[i].Admin || m.Admin
		return
	}
	s.Members = slices.Insert(s.Members, i, m)
}

func (s *State) remove(a types.AccountID) bool {
	i, ok := s.index(a)
	if ok {
		s.Members = slices.Delete(s.Members, i, i+1)
	}
	return ok
}

// promoteIfHeadless makes the longest-standing member an admin when no
// admin is left, so a group never ends up without anyone able to run it.
func (s *State) promoteIfHeadless() {
	if len(s.Members) == 0 || slices.ContainsFunc(s.Members, func(m Member) bool { return m.Admin }) {
		return
	}
	best := 0
	for i, m := range s.Members {
		// Members are sorted by account, so the first with the smallest
		// Since wins ties by account bytes.
		if m.Since < s.Members[best].Since {
			best = i
		}
	}
	s.Members[best].Admin = true
}

// Member returns a's membership.
func (s *State) Member(a types.AccountID) (Member, bool) {
	i, ok := s.index(a)
	if !ok {
		return Member{}, false
	}
	return s.Members[i], true
}

// IsAdmin reports whether a is an admin member.
func (s *State) IsAdmin(a types.AccountID) bool {
	m, ok := s.Member(a)
	return ok && m.Admin
}

// Accounts lists the members' accounts in account order.
func (s *State) Accounts() []types.AccountID {
	if s == nil {
		return nil
	}
	out := make([]types.AccountID, len(s.Members))
	for i, m := range s.Members {
		out[i] = m.Account
	}
	return out
}

// TokenHash is the hash under which an invite token is published.
func TokenHash(token []byte) []byte {
	h := sha256.Sum256(token)
	return h[:]
}

// DeviceEntry is one member device as GetGroupDevices lists it.
type DeviceEntry struct {
	Account        types.AccountID
	Device         types.DeviceID
	RegistrationID uint32
}

// DevicesHash is the devices_hash of wire.proto: SHA-256 over the devices
// sorted by account and device id, each as account ‖ device id ‖
// registration id (big endian). devs is not modified.
func DevicesHash(devs []DeviceEntry) []byte {
	sorted := slices.Clone(devs)
	slices.SortFunc(sorted, func(a, b DeviceEntry) int {
		if c := bytes.Compare(a.Account[:], b.Account[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Device, b.Device)
	})
	h := sha256.New()
	var buf [24]byte
	for _, d := range sorted {
		copy(buf[:16], d.Account[:])
		binary.BigEndian.PutUint32(buf[16:20], uint32(d.Device))
		binary.BigEndian.PutUint32(buf[20:24], d.RegistrationID)
		h.Write(buf[:])
	}
	return h.Sum(nil)
}
