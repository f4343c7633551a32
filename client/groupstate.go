package client

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/types"
)

// A group's verified state is kept in the store (clientstore.Group.State)
// as a protowire field list, so later versions can add fields. It is what
// this device's replay of the signed log gave; it is sealed at rest, but it
// is still decoded strictly (and fuzzed), since a decoder bug must not turn
// into a wrong membership.

const (
	gsGroup       protowire.Number = 1
	gsSeq         protowire.Number = 2
	gsHead        protowire.Number = 3
	gsMember      protowire.Number = 4 // repeated: {1 account, 2 admin, 3 since}
	gsAnnounce    protowire.Number = 5
	gsInviteHash  protowire.Number = 6
	gsSealedAttrs protowire.Number = 7
	gsAttrsSeq    protowire.Number = 8

	gmAccount protowire.Number = 1
	gmAdmin   protowire.Number = 2
	gmSince   protowire.Number = 3
)

// errBadState: a stored group state does not decode.
var errBadState = errors.New("client: stored group state is malformed")

func encodeGroupState(s *grouplog.State) []byte {
	var b []byte
	b = protowire.AppendTag(b, gsGroup, protowire.BytesType)
	b = protowire.AppendBytes(b, s.Group[:])
	b = protowire.AppendTag(b, gsSeq, protowire.VarintType)
	b = protowire.AppendVarint(b, s.Seq)
	b = protowire.AppendTag(b, gsHead, protowire.BytesType)
	b = protowire.AppendBytes(b, s.Head[:])
	for _, m := range s.Members {
		var mb []byte
		mb = protowire.AppendTag(mb, gmAccount, protowire.BytesType)
		mb = protowire.AppendBytes(mb, m.Account[:])
		if m.Admin {
			mb = protowire.AppendTag(mb, gmAdmin, protowire.VarintType)
			mb = protowire.AppendVarint(mb, 1)
		}
		mb = protowire.AppendTag(mb, gmSince, protowire.VarintType)
		mb = protowire.AppendVarint(mb, m.Since)
		b = protowire.AppendTag(b, gsMember, protowire.BytesType)
		b = protowire.AppendBytes(b, mb)
	}
	if s.AnnouncementOnly {
		b = protowire.AppendTag(b, gsAnnounce, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	if len(s.InviteHash) > 0 {
		b = protowire.AppendTag(b, gsInviteHash, protowire.BytesType)
		b = protowire.AppendBytes(b, s.InviteHash)
	}
	if len(s.SealedAttributes) > 0 {
		b = protowire.AppendTag(b, gsSealedAttrs, protowire.BytesType)
		b = protowire.AppendBytes(b, s.SealedAttributes)
	}
	if s.AttributesSeq > 0 {
		b = protowire.AppendTag(b, gsAttrsSeq, protowire.VarintType)
		b = protowire.AppendVarint(b, s.AttributesSeq)
	}
	return b
}

// walkFields calls fn for each field of b; fn returns false for a known
// field that is malformed. Unknown fields are skipped.
func walkFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadState
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errBadState
		}
		b = b[n:]
		if !fn(num, typ, v, x) {
			return fmt.Errorf("%w: field %d", errBadState, num)
		}
	}
	return nil
}

func decodeGroupState(b []byte) (*grouplog.State, error) {
	s := &grouplog.State{}
	var hasGroup, hasHead bool
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool {
		isBytes, isVarint := typ == protowire.BytesType, typ == protowire.VarintType
		switch num {
		case gsGroup:
			hasGroup = true
			return isBytes && len(v) == 16 && copy(s.Group[:], v) == 16
		case gsSeq:
			s.Seq = x
			return isVarint && x <= 1<<62
		case gsHead:
			hasHead = true
			return isBytes && len(v) == 32 && copy(s.Head[:], v) == 32
		case gsMember:
			if !isBytes {
				return false
			}
			m, ok := decodeMember(v)
			if !ok {
				return false
			}
			// Members are kept sorted and unique, as grouplog keeps them.
			if n := len(s.Members); n > 0 && bytes.Compare(s.Members[n-1].Account[:], m.Account[:]) >= 0 {
				return false
			}
			s.Members = append(s.Members, m)
			return true
		case gsAnnounce:
			s.AnnouncementOnly = x == 1
			return isVarint && x <= 1
		case gsInviteHash:
			s.InviteHash = slices.Clone(v)
			return isBytes && len(v) == 32
		case gsSealedAttrs:
			s.SealedAttributes = slices.Clone(v)
			return isBytes && len(v) <= grouplog.MaxAttributesBytes
		case gsAttrsSeq:
			s.AttributesSeq = x
			return isVarint && x <= 1<<62
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if !hasGroup || !hasHead || s.Seq == 0 || s.Group.IsZero() {
		return nil, fmt.Errorf("%w: incomplete", errBadState)
	}
	return s, nil
}

func decodeMember(b []byte) (grouplog.Member, bool) {
	var m grouplog.Member
	hasAccount := false
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool {
		switch num {
		case gmAccount:
			hasAccount = true
			return typ == protowire.BytesType && len(v) == 16 && copy(m.Account[:], v) == 16
		case gmAdmin:
			m.Admin = x == 1
			return typ == protowire.VarintType && x <= 1
		case gmSince:
			m.Since = x
			return typ == protowire.VarintType && x <= 1<<62
		}
		return true
	})
	return m, err == nil && hasAccount && m.Account != (types.AccountID{})
}
