package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Groups (WhatsApp's design, with a membership every member checks):
//
//   - The server keeps each group's membership as a hash chain of events,
//     each signed by the device that made the change (e2ee/grouplog). Every
//     member replays the chain with the same rules and keeps the state it
//     verified; it gives its sender key only to the members that state
//     has, and believes a group message only from one of them.
//   - The group's name, description and picture are sealed inside the
//     events with a group secret that members get pairwise (GroupUpdate,
//     from whoever created the group or added them) or from an invite link.
//   - A group message is encrypted once with the sender's sender key
//     (e2ee/senderkey) and fanned out by the server (SendGroup). Before
//     that, every member device that lacks the sender's current key gets it
//     pairwise (SenderKeyDistribution). After anyone leaves or is removed,
//     every member starts a new sender key, so a former member can read
//     nothing sent after.

// Sentinel errors of groups.
var (
	// ErrUnknownGroup: this device knows no group with this id.
	ErrUnknownGroup = errors.New("client: unknown group")
	// ErrNotMember: this account is not (or no longer) a member of the
	// group: it left or was removed. The history stays.
	ErrNotMember = errors.New("client: not a member of the group")
	// ErrNotAdmin: the change needs an admin of the group (or, in an
	// announcement-only group, sending does).
	ErrNotAdmin = errors.New("client: only a group admin may do this")
	// ErrGroupRejected: the group's log, as the server handed it out, does
	// not verify (a forged or reordered event): the change is refused and
	// the group stays as this device last verified it.
	ErrGroupRejected = errors.New("client: group event does not verify")
	// ErrBadInvite: an invite link is malformed, revoked or not the
	// group's current one.
	ErrBadInvite = errors.New("client: invite link is not valid")
)

// Limits on group attributes.
const (
	MaxGroupName        = 128
	MaxGroupDescription = 2048
)

// maxVerifyMembers bounds a group's size when this device verifies its log.
// It is far above any server's limit (1024 by default): the server enforces
// its own, and a client must not refuse a group the server accepted.
const maxVerifyMembers = 1 << 16

// GroupRole is this account's place in a group.
type GroupRole uint8

// Roles.
const (
	RoleNone   GroupRole = iota // not a member (left, removed, not yet verified)
	RoleMember                  // a member
	RoleAdmin                   // a member who may change the group
)

func (r GroupRole) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// GroupMember is one member of a group.
type GroupMember struct {
	Account types.AccountID
	Admin   bool
	// Since is the seq of the event that made it a member.
	Since uint64
}

// GroupInfo is a group as this device verified it.
type GroupInfo struct {
	ID           types.GroupID
	Conversation clientstore.ConversationID
	// Name, Description and Picture are the group's attributes; empty
	// until the group secret opened them.
	Name        string
	Description string
	Picture     *contentpb.Media
	Members     []GroupMember // by account id
	// AnnouncementOnly: only admins send.
	AnnouncementOnly bool
	// Invite says an invite link is active; InviteLink is it when this
	// device made it.
	Invite     bool
	InviteLink string
	// Seq is the newest event this device verified.
	Seq  uint64
	Role GroupRole
	// Left: this account left or was removed; the history stays.
	Left bool
}

// Member returns a's membership.
func (g *GroupInfo) Member(a types.AccountID) (GroupMember, bool) {
	for _, m := range g.Members {
		if m.Account == a {
			return m, true
		}
	}
	return GroupMember{}, false
}

// groupRow is a stored group with its state decoded (nil until the log was
// fetched and verified).
type groupRow struct {
	clientstore.Group
	state *grouplog.State
}

func (c *Client) loadGroup(ctx context.Context, g types.GroupID) (groupRow, error) {
	sg, err := c.st.Group(ctx, g)
	if errors.Is(err, clientstore.ErrNotFound) {
		return groupRow{Group: clientstore.Group{ID: g}}, fmt.Errorf("%w: %s", ErrUnknownGroup, g)
	}
	if err != nil {
		return groupRow{}, err
	}
	return decodeGroupRow(sg)
}

func decodeGroupRow(sg clientstore.Group) (groupRow, error) {
	gr := groupRow{Group: sg}
	if sg.Seq == 0 {
		return gr, nil
	}
	s, err := decodeGroupState(sg.State)
	if err != nil {
		return groupRow{}, err
	}
	if s.Seq != sg.Seq || s.Group != sg.ID {
		return groupRow{}, fmt.Errorf("%w: state of another seq or group", errBadState)
	}
	gr.state = s
	return gr, nil
}

// attributes are the opened attributes (empty if none could be opened).
func (gr *groupRow) attributes() *contentpb.GroupAttributes {
	a := new(contentpb.GroupAttributes)
	if len(gr.Attributes) > 0 {
		_ = proto.Unmarshal(gr.Attributes, a)
	}
	return a
}

func (c *Client) groupInfo(ctx context.Context, gr groupRow) (GroupInfo, error) {
	acct := c.Account()
	conv, err := c.st.GroupConversation(ctx, gr.ID)
	if err != nil {
		return GroupInfo{}, err
	}
	attrs := gr.attributes()
	info := GroupInfo{ID: gr.ID, Conversation: conv.ID, Name: attrs.Name, Description: attrs.Description,
		Picture: attrs.Picture, Seq: gr.Seq, Left: gr.Left}
	if s := gr.state; s != nil {
		for _, m := range s.Members {
			info.Members = append(info.Members, GroupMember(m))
		}
		info.AnnouncementOnly = s.AnnouncementOnly
		info.Invite = len(s.InviteHash) > 0
		if info.Invite && len(gr.InviteToken) > 0 && bytes.Equal(grouplog.TokenHash(gr.InviteToken), s.InviteHash) && len(gr.Secret) > 0 {
			info.InviteLink = InviteLink(gr.ID, gr.InviteToken, gr.Secret)
		}
		if m, ok := s.Member(acct.ID); ok {
			info.Role = RoleMember
			if m.Admin {
				info.Role = RoleAdmin
			}
		}
	}
	return info, nil
}

// Group returns the group with id g as this device verified it.
func (c *Client) Group(ctx context.Context, g types.GroupID) (GroupInfo, error) {
	gr, err := c.loadGroup(ctx, g)
	if err != nil {
		return GroupInfo{}, err
	}
	if gr.state == nil {
		return GroupInfo{}, fmt.Errorf("%w: %s is not verified yet", ErrUnknownGroup, g)
	}
	return c.groupInfo(ctx, gr)
}

// Groups lists the groups this device verified (those it left too), by
// name.
func (c *Client) Groups(ctx context.Context) ([]GroupInfo, error) {
	all, err := c.st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	var out []GroupInfo
	for _, sg := range all {
		gr, err := decodeGroupRow(sg)
		if err != nil {
			return nil, err
		}
		if gr.state == nil {
			continue
		}
		info, err := c.groupInfo(ctx, gr)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b GroupInfo) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// GroupAttributes are what SetGroupAttributes changes. Picture is an image
// uploaded as media (nil: none).
type GroupAttributes struct {
	Name        string
	Description string
	Picture     *contentpb.Media
}

func (a GroupAttributes) check() error {
	if strings.TrimSpace(a.Name) == "" || len(a.Name) > MaxGroupName || !utf8.ValidString(a.Name) {
		return fmt.Errorf("%w: a group name is 1 to %d bytes of UTF-8", ErrInvalid, MaxGroupName)
	}
	if len(a.Description) > MaxGroupDescription || !utf8.ValidString(a.Description) {
		return fmt.Errorf("%w: a group description is at most %d bytes of UTF-8", ErrInvalid, MaxGroupDescription)
	}
	return nil
}

func (a GroupAttributes) marshal() ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&contentpb.GroupAttributes{
		Name: a.Name, Description: a.Description, Picture: a.Picture})
	if err != nil {
		return nil, err
	}
	if len(b)+64 > grouplog.MaxAttributesBytes {
		return nil, fmt.Errorf("%w: group attributes of %d bytes", ErrInvalid, len(b))
	}
	return b, nil
}

func uniqueAccounts(accts []types.AccountID, self types.AccountID) ([]types.AccountID, error) {
	var out []types.AccountID
	for _, a := range accts {
		if a.IsZero() {
			return nil, fmt.Errorf("%w: zero account id", ErrInvalid)
		}
		if a != self && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// CreateGroup creates a group named name with this account (its admin) and
// members, and returns its id. The members get the group secret pairwise
// (through the outbox, so it survives a restart); the server tells every
// member's devices about the group.
func (c *Client) CreateGroup(ctx context.Context, name string, members []types.AccountID) (types.GroupID, error) {
	return c.CreateGroupWith(ctx, GroupAttributes{Name: name}, members, false)
}

// CreateGroupWith is CreateGroup with every attribute and the
// announcement-only setting.
func (c *Client) CreateGroupWith(ctx context.Context, attrs GroupAttributes, members []types.AccountID, announcementOnly bool) (types.GroupID, error) {
	acct, err := c.account()
	if err != nil {
		return types.GroupID{}, err
	}
	if err := attrs.check(); err != nil {
		return types.GroupID{}, err
	}
	members, err = uniqueAccounts(members, acct.ID)
	if err != nil {
		return types.GroupID{}, err
	}
	plain, err := attrs.marshal()
	if err != nil {
		return types.GroupID{}, err
	}
	g, secret := types.NewGroupID(), grouplog.NewSecret()
	sealed, err := grouplog.SealAttributes(secret, g, 1, plain)
	if err != nil {
		return types.GroupID{}, err
	}
	create := &wirepb.GroupCreate{SealedAttributes: sealed, AnnouncementOnly: announcementOnly}
	for _, m := range members {
		create.Members = append(create.Members, &wirepb.GroupMember{Account: bytes.Clone(m[:])})
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	// The row exists (with the secret) before the server knows the group,
	// so the server's own notice of it, which may be received while this
	// call waits, finds the secret.
	if err := c.st.SaveGroup(ctx, clientstore.Group{ID: g, Secret: secret}); err != nil {
		return types.GroupID{}, err
	}
	_, err = c.changeGroupLocked(ctx, g, changeOpts{create: true, after: func(ctx context.Context, st *grouplog.State, queued *[]types.MessageID) error {
		return c.queueGroupUpdate(ctx, g, secret, st.Seq, members, true, queued)
	}}, func(*grouplog.State) (*wirepb.GroupEventBody, error) {
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_Create{Create: create}}, nil
	})
	if err != nil {
		return types.GroupID{}, err
	}
	return g, nil
}

// AddMembers adds accounts to group g (admins only) and sends them the
// group secret.
func (c *Client) AddMembers(ctx context.Context, g types.GroupID, accounts []types.AccountID) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	accounts, err = uniqueAccounts(accounts, acct.ID)
	if err != nil || len(accounts) == 0 {
		return err
	}
	var added []types.AccountID
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	_, err = c.changeGroupLocked(ctx, g, changeOpts{after: func(ctx context.Context, st *grouplog.State, queued *[]types.MessageID) error {
		gr, err := c.loadGroup(ctx, g)
		if err != nil {
			return err
		}
		return c.queueGroupUpdate(ctx, g, gr.Secret, st.Seq, added, false, queued)
	}}, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		add := &wirepb.GroupAddMembers{}
		added = nil
		for _, a := range accounts {
			if _, ok := s.Member(a); !ok {
				add.Members = append(add.Members, &wirepb.GroupMember{Account: bytes.Clone(a[:])})
				added = append(added, a)
			}
		}
		if len(added) == 0 {
			return nil, nil
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_Add{Add: add}}, nil
	})
	return err
}

// RemoveMembers removes accounts from group g (admins only). Every member
// then starts a new sender key: the removed ones can read nothing sent
// after.
func (c *Client) RemoveMembers(ctx context.Context, g types.GroupID, accounts []types.AccountID) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	if slices.Contains(accounts, acct.ID) {
		return fmt.Errorf("%w: to leave a group, use Leave", ErrInvalid)
	}
	accounts, err = uniqueAccounts(accounts, acct.ID)
	if err != nil || len(accounts) == 0 {
		return err
	}
	return c.changeGroup(ctx, g, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		rm := &wirepb.GroupRemoveMembers{}
		for _, a := range accounts {
			if _, ok := s.Member(a); ok {
				rm.Accounts = append(rm.Accounts, bytes.Clone(a[:]))
			}
		}
		if len(rm.Accounts) == 0 {
			return nil, nil
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_Remove{Remove: rm}}, nil
	})
}

// Leave leaves group g. The history stays; sending to it is refused.
func (c *Client) Leave(ctx context.Context, g types.GroupID) error {
	return c.changeGroup(ctx, g, func(*grouplog.State) (*wirepb.GroupEventBody, error) {
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_Leave{Leave: &wirepb.GroupLeave{}}}, nil
	})
}

// SetGroupAttributes sets the name, description and picture of group g
// (admins only). They are sealed with the group secret: the server cannot
// read them.
func (c *Client) SetGroupAttributes(ctx context.Context, g types.GroupID, attrs GroupAttributes) error {
	if err := attrs.check(); err != nil {
		return err
	}
	plain, err := attrs.marshal()
	if err != nil {
		return err
	}
	acct, err := c.account()
	if err != nil {
		return err
	}
	return c.changeGroup(ctx, g, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		if !s.IsAdmin(acct.ID) {
			return nil, ErrNotAdmin
		}
		gr, err := c.loadGroup(ctx, g)
		if err != nil {
			return nil, err
		}
		if len(gr.Secret) == 0 {
			return nil, fmt.Errorf("%w: this device has not received the group secret yet", ErrInvalid)
		}
		if bytes.Equal(gr.Attributes, plain) {
			return nil, nil
		}
		sealed, err := grouplog.SealAttributes(gr.Secret, g, s.Seq+1, plain)
		if err != nil {
			return nil, err
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_SetAttributes{SetAttributes: &wirepb.GroupSetAttributes{Sealed: sealed}}}, nil
	})
}

// RenameGroup sets the name of group g, keeping its description and
// picture.
func (c *Client) RenameGroup(ctx context.Context, g types.GroupID, name string) error {
	gr, err := c.loadGroup(ctx, g)
	if err != nil {
		return err
	}
	a := gr.attributes()
	return c.SetGroupAttributes(ctx, g, GroupAttributes{Name: name, Description: a.Description, Picture: a.Picture})
}

// SetAdmins makes accounts admins of group g (admin false: ordinary
// members). Admins only; a group keeps at least one admin.
func (c *Client) SetAdmins(ctx context.Context, g types.GroupID, accounts []types.AccountID, admin bool) error {
	accounts, err := uniqueAccounts(accounts, types.AccountID{})
	if err != nil || len(accounts) == 0 {
		return err
	}
	return c.changeGroup(ctx, g, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		set := &wirepb.GroupSetAdmins{}
		for _, a := range accounts {
			m, ok := s.Member(a)
			if !ok {
				return nil, fmt.Errorf("%w: %s is not a member", ErrInvalid, a)
			}
			if m.Admin != admin {
				set.Members = append(set.Members, &wirepb.GroupMember{Account: bytes.Clone(a[:]), Admin: admin})
			}
		}
		if len(set.Members) == 0 {
			return nil, nil
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_SetAdmins{SetAdmins: set}}, nil
	})
}

// SetAnnouncementOnly sets whether only admins may send to group g.
func (c *Client) SetAnnouncementOnly(ctx context.Context, g types.GroupID, on bool) error {
	return c.changeGroup(ctx, g, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		if s.AnnouncementOnly == on {
			return nil, nil
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_SetSettings{SetSettings: &wirepb.GroupSetSettings{AnnouncementOnly: on}}}, nil
	})
}

// inviteTokenSize is the size of an invite token: 16 random bytes, as
// unguessable as a group id.
const inviteTokenSize = 16

// CreateInvite makes a new invite link for group g (admins only); an older
// link stops working. Whoever has the link can see the group and join it:
// it carries the group secret.
func (c *Client) CreateInvite(ctx context.Context, g types.GroupID) (string, error) {
	token := make([]byte, inviteTokenSize)
	if _, err := rand.Read(token); err != nil {
		return "", err
	}
	acct, err := c.account()
	if err != nil {
		return "", err
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	gr, err := c.loadGroup(ctx, g)
	if err != nil {
		return "", err
	}
	if gr.state != nil && !gr.state.IsAdmin(acct.ID) {
		return "", ErrNotAdmin
	}
	if len(gr.Secret) == 0 {
		return "", fmt.Errorf("%w: this device has not received the group secret yet", ErrInvalid)
	}
	_, err = c.changeGroupLocked(ctx, g, changeOpts{after: func(ctx context.Context, _ *grouplog.State, _ *[]types.MessageID) error {
		fresh, err := c.st.Group(ctx, g)
		if err != nil {
			return err
		}
		fresh.InviteToken = token
		return c.st.SaveGroup(ctx, fresh)
	}}, func(*grouplog.State) (*wirepb.GroupEventBody, error) {
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_SetInvite{SetInvite: &wirepb.GroupSetInvite{TokenHash: grouplog.TokenHash(token)}}}, nil
	})
	if err != nil {
		return "", err
	}
	return InviteLink(g, token, gr.Secret), nil
}

// RevokeInvite turns group g's invite link off (admins only).
func (c *Client) RevokeInvite(ctx context.Context, g types.GroupID) error {
	return c.changeGroup(ctx, g, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		if len(s.InviteHash) == 0 {
			return nil, nil
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_SetInvite{SetInvite: &wirepb.GroupSetInvite{}}}, nil
	})
}

// inviteScheme is the scheme and host of invite links.
const inviteScheme = "parley://join/"

// InviteLink formats an invite link: parley://join/<group id>/<token>#<secret>,
// token and secret in unpadded base64url. The secret is in the fragment,
// which a web server handed the link never receives.
func InviteLink(g types.GroupID, token, secret []byte) string {
	return inviteScheme + g.String() + "/" + base64.RawURLEncoding.EncodeToString(token) + "#" + base64.RawURLEncoding.EncodeToString(secret)
}

// ParseInviteLink undoes InviteLink.
func ParseInviteLink(link string) (g types.GroupID, token, secret []byte, err error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrBadInvite, what) }
	rest, ok := strings.CutPrefix(strings.TrimSpace(link), inviteScheme)
	if !ok {
		return g, nil, nil, bad("not a parley://join/ link")
	}
	path, frag, ok := strings.Cut(rest, "#")
	if !ok {
		return g, nil, nil, bad("no group secret (the part after #)")
	}
	id, tok, ok := strings.Cut(path, "/")
	if !ok {
		return g, nil, nil, bad("no invite token")
	}
	if g, err = types.ParseGroupID(id); err != nil || g.IsZero() {
		return types.GroupID{}, nil, nil, bad("group id")
	}
	if tok, err := url.PathUnescape(tok); err == nil {
		token, err = base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(token) < inviteTokenSize || len(token) > 64 {
			return types.GroupID{}, nil, nil, bad("invite token")
		}
	} else {
		return types.GroupID{}, nil, nil, bad("invite token")
	}
	secret, err = base64.RawURLEncoding.DecodeString(frag)
	if err != nil || len(secret) != grouplog.SecretSize {
		return types.GroupID{}, nil, nil, bad("group secret")
	}
	return g, token, secret, nil
}

// JoinInvite joins the group of an invite link and returns its id. The
// group's log is fetched with the link's token and verified before
// joining; the group secret comes from the link.
func (c *Client) JoinInvite(ctx context.Context, link string) (types.GroupID, error) {
	acct, err := c.account()
	if err != nil {
		return types.GroupID{}, err
	}
	g, token, secret, err := ParseInviteLink(link)
	if err != nil {
		return types.GroupID{}, err
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	gr, err := c.loadGroup(ctx, g)
	switch {
	case errors.Is(err, ErrUnknownGroup):
		gr.Secret = secret
		if err := c.st.SaveGroup(ctx, gr.Group); err != nil {
			return g, err
		}
	case err != nil:
		return g, err
	case gr.state != nil && !gr.Left:
		if _, ok := gr.state.Member(acct.ID); ok {
			return g, nil // already in it
		}
	}
	if len(gr.Secret) == 0 {
		fresh, err := c.st.Group(ctx, g)
		if err != nil {
			return g, err
		}
		fresh.Secret = secret
		if err := c.st.SaveGroup(ctx, fresh); err != nil {
			return g, err
		}
	}
	_, err = c.changeGroupLocked(ctx, g, changeOpts{inviteToken: token, after: func(ctx context.Context, st *grouplog.State, queued *[]types.MessageID) error {
		// Our other devices learn of the group from the server, and the
		// secret from us.
		return c.queueGroupUpdate(ctx, g, secret, st.Seq, nil, true, queued)
	}}, func(s *grouplog.State) (*wirepb.GroupEventBody, error) {
		if _, ok := s.Member(acct.ID); ok {
			return nil, nil
		}
		h := grouplog.TokenHash(token)
		if !bytes.Equal(s.InviteHash, h) {
			return nil, fmt.Errorf("%w: the link was revoked or replaced", ErrBadInvite)
		}
		return &wirepb.GroupEventBody{Change: &wirepb.GroupEventBody_Join{Join: &wirepb.GroupJoin{TokenHash: h}}}, nil
	})
	return g, err
}

// queueGroupUpdate queues the group secret pairwise to accounts (each a
// message of its own, in the outbox) and, with self, to our other devices.
func (c *Client) queueGroupUpdate(ctx context.Context, g types.GroupID, secret []byte, seq uint64, accounts []types.AccountID, self bool, queued *[]types.MessageID) error {
	if len(secret) == 0 {
		return nil
	}
	now := c.o.Now()
	mk := func() (types.MessageID, []byte, error) {
		id := types.NewMessageID()
		raw, err := marshalContent(&contentpb.Content{MessageId: id[:], SentMs: c.nextSentMs(now),
			Group: &contentpb.GroupContext{GroupId: g[:]},
			Body:  &contentpb.Content_GroupUpdate{GroupUpdate: &contentpb.GroupUpdate{GroupId: g[:], Secret: secret, Seq: seq}}})
		return id, raw, err
	}
	for _, a := range accounts {
		id, raw, err := mk()
		if err != nil {
			return err
		}
		if err := c.queue(ctx, outboxPayload{ID: id, To: a, Content: raw}, now, queued); err != nil {
			return err
		}
	}
	if self {
		id, raw, err := mk()
		if err != nil {
			return err
		}
		return c.queue(ctx, outboxPayload{ID: id, Sync: raw}, now, queued)
	}
	return nil
}
