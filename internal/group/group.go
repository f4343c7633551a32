// Package group is the server side of groups: it takes signed membership
// events (checked with e2ee/grouplog, exactly as every member checks them,
// plus the one thing only the server can check, that the signing key is
// really the acting device's), keeps each group's log and current state,
// answers who is in a group and with which devices, and fans one group
// message out to every member device through the mailbox, stored once.
//
// The server never replays a log to answer a request: the store keeps the
// state the log adds up to next to it, and each event is applied to that.
package group

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Errors the gateway turns into wire error codes.
var (
	// ErrNotFound: no such group, or none the caller may see.
	ErrNotFound = errors.New("group: no such group")
	// ErrForbidden: the caller may not do this (not a member, not an
	// admin, a bad signature or a key that is not the device's).
	ErrForbidden = errors.New("group: not allowed")
	// ErrChanged: the caller's view of the group is out of date (an event
	// not following the head, a devices hash that does not match).
	ErrChanged = errors.New("group: the group changed")
	// ErrTooLarge: the change would exceed the member limit.
	ErrTooLarge = errors.New("group: too many members")
	// ErrExists: a create event for a group id that is taken.
	ErrExists = errors.New("group: the group exists")
	// ErrInvalid: a malformed request or event.
	ErrInvalid = errors.New("group: invalid request")
)

// Config tunes the service; zero values take the defaults noted.
type Config struct {
	// MaxMembers bounds a group's members. Default grouplog.DefaultMaxMembers (1024).
	MaxMembers int
	// MaxEventsBytes bounds the events of one GetGroup answer; a client asks
	// again after the last seq it got. Default 192 KiB, below the frame limit.
	MaxEventsBytes int
	// CacheGroups is how many groups' member devices the node keeps in
	// memory (default 256; negative: none). An entry is used only while
	// the group's head and devices generation in the store are unchanged,
	// which one indexed read checks, so it is never stale, whichever node
	// changed the group or a member's devices.
	CacheGroups int
}

func (c *Config) defaults() {
	if c.MaxMembers == 0 {
		c.MaxMembers = grouplog.DefaultMaxMembers
	}
	if c.MaxEventsBytes == 0 {
		c.MaxEventsBytes = 192 << 10
	}
	if c.CacheGroups == 0 {
		c.CacheGroups = 256
	}
}

// Service is the group service of one node.
type Service struct {
	st  store.Store
	mb  *mailbox.Service
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	cache map[types.GroupID]*Devices // read only once in the map
}

// New returns the service.
func New(st store.Store, mb *mailbox.Service, cfg Config, log *slog.Logger) *Service {
	cfg.defaults()
	return &Service{st: st, mb: mb, cfg: cfg, log: log, cache: make(map[types.GroupID]*Devices)}
}

// Change checks a signed event made by actor and appends it to its group,
// then delivers it to every device of every member before and after the
// change. token is the invite token for a join. It returns the event's seq.
func (s *Service) Change(ctx context.Context, actor types.Address, e *wirepb.GroupEvent, token []byte) (uint64, error) {
	if e == nil {
		return 0, fmt.Errorf("%w: no event", ErrInvalid)
	}
	// The stored form keeps only the two fields, in field order: the
	// bytes every member hashes are the ones anyone re-encoding the
	// GroupEvent it was handed gets.
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wirepb.GroupEvent{Body: e.Body, Signature: e.Signature})
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ev, err := grouplog.Parse(raw)
	if err != nil {
		return 0, mapLogErr(err)
	}
	if ev.Actor != actor {
		return 0, fmt.Errorf("%w: an event is submitted by the device that made it", ErrForbidden)
	}
	dev, err := s.st.Device(ctx, actor.Account, actor.Device)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("%w: the actor device does not exist", ErrForbidden)
		}
		return 0, err
	}
	if !bytes.Equal(dev.IdentityKey, ev.ActorIdentity) {
		return 0, fmt.Errorf("%w: actor_identity_key is not the device's identity key", ErrForbidden)
	}

	var cur *grouplog.State
	if ev.Body.Seq > 1 {
		g, err := s.st.Group(ctx, ev.Group)
		if errors.Is(err, store.ErrNotFound) {
			return 0, ErrNotFound
		}
		if err != nil {
			return 0, err
		}
		cur = fromStore(g)
	}
	if _, ok := ev.Body.Change.(*wirepb.GroupEventBody_Join); ok && cur != nil {
		// The hash is in the log, which members (and holders of the token)
		// can read; the token itself proves the joiner was given the link.
		if len(cur.InviteHash) == 0 || subtle.ConstantTimeCompare(grouplog.TokenHash(token), cur.InviteHash) != 1 {
			return 0, fmt.Errorf("%w: the invite token is not the group's current one", ErrForbidden)
		}
	}
	next, err := cur.Apply(ev, s.cfg.MaxMembers)
	if err != nil {
		return 0, mapLogErr(err)
	}

	ch := &store.GroupChange{Next: toStore(next), Event: raw}
	notify := next.Accounts()
	if cur != nil {
		ch.Prev = cur.Seq
		notify = append(notify, cur.Accounts()...)
		slices.SortFunc(notify, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
		notify = slices.Compact(notify)
	}
	// The notice's message id is the event's hash: the same event always
	// arrives under the same id, whichever way a device learns of it.
	var msg types.MessageID
	copy(msg[:], ev.Hash[:])
	if err := s.mb.GroupChange(ctx, ch, msg, notify); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict) && ch.Prev == 0:
			return 0, ErrExists
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			return 0, ErrChanged
		}
		return 0, err
	}
	return next.Seq, nil
}

// mapLogErr turns grouplog's verdicts into the service's errors.
func mapLogErr(err error) error {
	switch {
	case errors.Is(err, grouplog.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, grouplog.ErrBadSignature), errors.Is(err, grouplog.ErrForbidden):
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, grouplog.ErrOutOfOrder):
		return fmt.Errorf("%w: %w", ErrChanged, err)
	case errors.Is(err, grouplog.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

func fromStore(g store.Group) *grouplog.State {
	st := &grouplog.State{
		Group: g.ID, Seq: g.Seq, AnnouncementOnly: g.AnnouncementOnly, SealedAttributes: g.SealedAttributes,
		AttributesSeq: g.AttributesSeq, Members: make([]grouplog.Member, len(g.Members)),
	}
	copy(st.Head[:], g.Head)
	if len(g.InviteHash) > 0 {
		st.InviteHash = g.InviteHash
	}
	for i, m := range g.Members {
		st.Members[i] = grouplog.Member{Account: m.Account, Admin: m.Admin, Since: m.Since}
	}
	return st
}

func toStore(st *grouplog.State) store.Group {
	g := store.Group{
		ID: st.Group, Seq: st.Seq, Head: st.Head[:], AnnouncementOnly: st.AnnouncementOnly, InviteHash: st.InviteHash,
		SealedAttributes: st.SealedAttributes, AttributesSeq: st.AttributesSeq, Members: make([]store.GroupMember, len(st.Members)),
	}
	for i, m := range st.Members {
		g.Members[i] = store.GroupMember{Account: m.Account, Admin: m.Admin, Since: m.Since}
	}
	return g
}

// Events returns the group's events after seq after (a page of them; ask
// again after the last), for a member or the holder of the current invite
// token. Anyone else is told there is no such group.
func (s *Service) Events(ctx context.Context, who types.AccountID, id types.GroupID, after uint64, token []byte) ([][]byte, error) {
	g, err := s.st.Group(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	_, member := slices.BinarySearchFunc(g.Members, who, func(m store.GroupMember, a types.AccountID) int {
		return bytes.Compare(m.Account[:], a[:])
	})
	invited := len(token) > 0 && len(g.InviteHash) > 0 && subtle.ConstantTimeCompare(grouplog.TokenHash(token), g.InviteHash) == 1
	if !member && !invited {
		return nil, ErrNotFound
	}
	evs, err := s.st.GroupEvents(ctx, id, after, s.cfg.MaxEventsBytes)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = e.Raw
	}
	return out, nil
}

// Devices is a group's member devices as GetGroupDevices answers. It is
// shared: callers must not modify it.
type Devices struct {
	store.GroupDevices
	Hash []byte // grouplog.DevicesHash of Devices
}

// Devices returns every device of every member, for a member.
func (s *Service) Devices(ctx context.Context, who types.AccountID, id types.GroupID) (*Devices, error) {
	d, err := s.devices(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, ok := memberOf(d.Members, who); !ok {
		return nil, ErrNotFound
	}
	return d, nil
}

// devices returns the group's member devices, from the cache when the
// store says they are still current.
func (s *Service) devices(ctx context.Context, id types.GroupID) (*Devices, error) {
	s.mu.Lock()
	c := s.cache[id]
	s.mu.Unlock()
	if c != nil {
		seq, gen, err := s.st.GroupVersion(ctx, id)
		if err == nil && seq == c.Seq && gen == c.DevicesGen {
			return c, nil
		}
	}
	gd, err := s.st.GroupDevices(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	d := &Devices{GroupDevices: gd, Hash: devicesHash(gd.Devices)}
	if s.cfg.CacheGroups > 0 {
		s.mu.Lock()
		if _, ok := s.cache[id]; !ok && len(s.cache) >= s.cfg.CacheGroups {
			for k := range s.cache { // one entry, more or less at random
				delete(s.cache, k)
				break
			}
		}
		// An older read finishing late must not replace a newer one.
		if old := s.cache[id]; old == nil || old.Seq < d.Seq || old.Seq == d.Seq && old.DevicesGen <= d.DevicesGen {
			s.cache[id] = d
		}
		s.mu.Unlock()
	}
	return d, nil
}

func memberOf(ms []store.GroupMember, a types.AccountID) (store.GroupMember, bool) {
	i, ok := slices.BinarySearchFunc(ms, a, func(m store.GroupMember, a types.AccountID) int {
		return bytes.Compare(m.Account[:], a[:])
	})
	if !ok {
		return store.GroupMember{}, false
	}
	return ms[i], true
}

func devicesHash(devs []store.Device) []byte {
	es := make([]grouplog.DeviceEntry, len(devs))
	for i, d := range devs {
		es[i] = grouplog.DeviceEntry{Account: d.Account, Device: d.ID, RegistrationID: d.RegistrationID}
	}
	return grouplog.DevicesHash(es)
}

// List returns the groups acct is a member of.
func (s *Service) List(ctx context.Context, acct types.AccountID) ([]store.GroupSummary, error) {
	return s.st.GroupsOf(ctx, acct)
}

// Outgoing is one SendGroup as the gateway decoded it.
type Outgoing struct {
	Group       types.GroupID
	MessageID   types.MessageID
	Content     []byte
	DevicesHash []byte
	ClientTime  time.Time
	Ephemeral   bool
}

// Submit checks a group message from a member and queues it for every
// member device but the sending one (see mailbox.SubmitGroup); the
// returned function waits for the commit.
func (s *Service) Submit(ctx context.Context, from types.Address, m Outgoing) (wait func() (duplicate bool, err error), err error) {
	gd, err := s.devices(ctx, m.Group)
	if err != nil {
		return nil, err
	}
	me, ok := memberOf(gd.Members, from.Account)
	if !ok {
		return nil, fmt.Errorf("%w: only members send to a group", ErrForbidden)
	}
	if gd.AnnouncementOnly && !me.Admin {
		return nil, fmt.Errorf("%w: only admins send to this group", ErrForbidden)
	}
	if subtle.ConstantTimeCompare(m.DevicesHash, gd.Hash) != 1 {
		return nil, fmt.Errorf("%w: devices_hash does not match the group's devices", ErrChanged)
	}
	out := mailbox.GroupOutgoing{
		Group: m.Group, Seq: gd.Seq, MessageID: m.MessageID, Content: m.Content, ClientTime: m.ClientTime,
		Ephemeral: m.Ephemeral, Members: make([]types.AccountID, len(gd.Members)),
		Devices: make([]types.Address, 0, len(gd.Devices)),
	}
	for i, mem := range gd.Members {
		out.Members[i] = mem.Account
	}
	for _, d := range gd.Devices {
		if a := (types.Address{Account: d.Account, Device: d.ID}); a != from {
			out.Devices = append(out.Devices, a)
		}
	}
	committed, err := s.mb.SubmitGroup(ctx, from, out)
	if err != nil {
		return nil, err
	}
	return func() (bool, error) {
		dup, err := committed()
		if errors.Is(err, mailbox.ErrGroupChanged) {
			err = fmt.Errorf("%w: %w", ErrChanged, err)
		}
		return dup, err
	}, nil
}
