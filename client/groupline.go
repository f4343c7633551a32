package client

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// A KindGroupEvent history entry ("Ana added Ben") keeps the signed event
// it stands for, as it was verified, and the attributes it set as this
// device opened them, and which of them changed: {1 raw GroupEvent,
// 2 serialized GroupAttributes, 3 changed (attrName | attrDescription |
// attrPicture)}.
const (
	glEvent   protowire.Number = 1
	glAttrs   protowire.Number = 2
	glChanged protowire.Number = 3
)

// Bits of GroupChange.Changed.
const (
	ChangedName        = 1
	ChangedDescription = 2
	ChangedPicture     = 4
)

func encodeGroupLine(raw, attrs []byte, changed uint64) []byte {
	var b []byte
	b = protowire.AppendTag(b, glEvent, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	if len(attrs) > 0 {
		b = protowire.AppendTag(b, glAttrs, protowire.BytesType)
		b = protowire.AppendBytes(b, attrs)
	}
	if changed != 0 {
		b = protowire.AppendTag(b, glChanged, protowire.VarintType)
		b = protowire.AppendVarint(b, changed)
	}
	return b
}

// attributesChanged says which attributes differ between two serialized
// GroupAttributes (prev nil: unknown, so all that are set).
func attributesChanged(prev, next []byte) uint64 {
	var p, n contentpb.GroupAttributes
	_ = proto.Unmarshal(prev, &p)
	_ = proto.Unmarshal(next, &n)
	var ch uint64
	if p.Name != n.Name {
		ch |= ChangedName
	}
	if p.Description != n.Description {
		ch |= ChangedDescription
	}
	if !proto.Equal(p.Picture, n.Picture) {
		ch |= ChangedPicture
	}
	return ch
}

// GroupChange is what a KindGroupEvent history entry says.
type GroupChange struct {
	Kind  GroupEventKind
	Actor types.Address
	// Accounts are the members added, removed or whose admin flag was
	// set; for a creation, the members besides the creator.
	Accounts []types.AccountID
	// Admin is the flag SetAdmins gave Accounts.
	Admin bool
	// Name and Description are the attributes a creation or an attribute
	// change set, when this device could open them; Changed says which of
	// name, description and picture an attribute change changed
	// (ChangedName, ...).
	Name, Description string
	Changed           uint64
	// AnnouncementOnly is the setting a settings change set.
	AnnouncementOnly bool
	// Invite: a settings change set an invite link (false: revoked it).
	Invite bool
}

// splitGroupLine undoes encodeGroupLine.
func splitGroupLine(b []byte) (raw, attrs []byte, changed uint64, err error) {
	err = walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool {
		switch num {
		case glEvent:
			raw = v
			return typ == protowire.BytesType
		case glAttrs:
			attrs = v
			return typ == protowire.BytesType
		case glChanged:
			changed = x
			return typ == protowire.VarintType
		}
		return true
	})
	return raw, attrs, changed, err
}

// decodeGroupLine reads a KindGroupEvent entry without verifying it again
// (it was verified before it was stored).
func decodeGroupLine(b []byte) (*GroupChange, error) {
	raw, attrs, changed, err := splitGroupLine(b)
	if err != nil {
		return nil, err
	}
	var outer wirepb.GroupEvent
	var body wirepb.GroupEventBody
	if err := proto.Unmarshal(raw, &outer); err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(outer.Body, &body); err != nil {
		return nil, err
	}
	gc := &GroupChange{Changed: changed, Actor: types.Address{Account: types.AccountID(pad16(body.ActorAccount)), Device: types.DeviceID(body.ActorDevice)}}
	members := func(ms []*wirepb.GroupMember) {
		for _, m := range ms {
			gc.Accounts = append(gc.Accounts, types.AccountID(pad16(m.Account)))
			gc.Admin = gc.Admin || m.Admin
		}
	}
	switch ch := body.Change.(type) {
	case *wirepb.GroupEventBody_Create:
		gc.Kind = GroupCreated
		members(ch.Create.Members)
		gc.Admin = false
		gc.AnnouncementOnly = ch.Create.AnnouncementOnly
	case *wirepb.GroupEventBody_Add:
		gc.Kind = GroupMembersAdded
		members(ch.Add.Members)
	case *wirepb.GroupEventBody_Remove:
		gc.Kind = GroupMembersRemoved
		for _, a := range ch.Remove.Accounts {
			gc.Accounts = append(gc.Accounts, types.AccountID(pad16(a)))
		}
	case *wirepb.GroupEventBody_Leave:
		gc.Kind = GroupMemberLeft
	case *wirepb.GroupEventBody_Join:
		gc.Kind = GroupMemberJoined
	case *wirepb.GroupEventBody_SetAdmins:
		gc.Kind = GroupAdminsChanged
		members(ch.SetAdmins.Members)
	case *wirepb.GroupEventBody_SetAttributes:
		gc.Kind = GroupAttributesChanged
	case *wirepb.GroupEventBody_SetSettings:
		gc.Kind = GroupSettingsChanged
		gc.AnnouncementOnly = ch.SetSettings.AnnouncementOnly
	case *wirepb.GroupEventBody_SetInvite:
		gc.Kind = GroupInviteChanged
		gc.Invite = len(ch.SetInvite.TokenHash) > 0
	default:
		return nil, fmt.Errorf("%w: unknown group change", ErrBadContent)
	}
	if len(attrs) > 0 {
		var a contentpb.GroupAttributes
		if proto.Unmarshal(attrs, &a) == nil {
			gc.Name, gc.Description = a.Name, a.Description
		}
	}
	return gc, nil
}

func pad16(b []byte) [16]byte {
	var out [16]byte
	copy(out[:], b)
	return out
}

// Describe renders the change for people, naming accounts with name (a
// contact's name or number; "you" for this account is up to it).
func (gc *GroupChange) Describe(name func(types.AccountID) string) string {
	who := name(gc.Actor.Account)
	list := func() string {
		names := make([]string, len(gc.Accounts))
		for i, a := range gc.Accounts {
			names[i] = name(a)
		}
		return strings.Join(names, ", ")
	}
	switch gc.Kind {
	case GroupCreated:
		s := who + " created the group"
		if gc.Name != "" {
			s += " " + fmt.Sprintf("%q", gc.Name)
		}
		return s
	case GroupMembersAdded:
		return who + " added " + list()
	case GroupMembersRemoved:
		return who + " removed " + list()
	case GroupMemberLeft:
		return who + " left"
	case GroupMemberJoined:
		return who + " joined by invite link"
	case GroupAdminsChanged:
		if gc.Admin {
			return who + " made " + list() + " admin"
		}
		return who + " dismissed " + list() + " as admin"
	case GroupAttributesChanged:
		var parts []string
		if gc.Changed&ChangedName != 0 && gc.Name != "" {
			parts = append(parts, fmt.Sprintf("the group name to %q", gc.Name))
		}
		if gc.Changed&ChangedDescription != 0 {
			parts = append(parts, "the group description")
		}
		if gc.Changed&ChangedPicture != 0 {
			parts = append(parts, "the group picture")
		}
		if len(parts) == 0 {
			return who + " changed the group's details"
		}
		return who + " changed " + strings.Join(parts, " and ")
	case GroupSettingsChanged:
		if gc.AnnouncementOnly {
			return who + " allowed only admins to send"
		}
		return who + " allowed every member to send"
	case GroupInviteChanged:
		if gc.Invite {
			return who + " made a new invite link"
		}
		return who + " turned the invite link off"
	}
	return who + " changed the group"
}

// shortName names an account by the start of its id.
func shortName(a types.AccountID) string {
	s := a.String()
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}
