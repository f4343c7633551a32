package clientstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/types"
)

// Group is what this device keeps of a group it is or was in. The store
// does not interpret State or Attributes: the client verifies the group's
// signed event log and keeps the resulting membership here in its own
// encoding, and the attributes (name, description, picture) as it opened
// them with Secret.
type Group struct {
	ID types.GroupID
	// Secret opens the group's sealed attributes (32 bytes); nil until a
	// member sent it (GroupUpdate) or an invite link gave it.
	Secret []byte
	// Seq is the verified head: the seq of the newest event applied to
	// State. 0 means the group is known (a secret or an event arrived) but
	// its log was not fetched and verified yet.
	Seq   uint64
	State []byte
	// Attributes are the opened attributes of AttributesSeq (the event
	// that set them); nil when they could not be opened yet.
	Attributes    []byte
	AttributesSeq uint64
	// DistributionID names our current sender key in this group. A new one
	// (after a member left or was removed) makes every member device need
	// our distribution message again (ResetSenderKeyHolders).
	DistributionID [16]byte
	// Left: this account is no longer a member (it left or was removed).
	// The history stays; sending is refused.
	Left bool
	// InviteToken is the token of the invite link this device made, while
	// it is the group's current one, so the link can be shown again.
	InviteToken []byte
}

// Limits on a group row.
const (
	maxGroupState = 1 << 20
	maxGroupAttrs = 256 << 10
)

// GroupDevice is one member device, as a sender key is given to it.
type GroupDevice struct {
	Account        types.AccountID
	Device         types.DeviceID
	RegistrationID uint32
}

func (s *Store) groupHash(g types.GroupID) []byte { return s.keys.hash(labelGroup, g[:]) }

// SaveGroup stores g, replacing what was stored for its id.
func (s *Store) SaveGroup(ctx context.Context, g Group) error {
	switch {
	case g.ID.IsZero():
		return fmt.Errorf("%w: group without id", ErrInvalid)
	case len(g.Secret) != 0 && len(g.Secret) != 32:
		return fmt.Errorf("%w: group secret of %d bytes", ErrInvalid, len(g.Secret))
	case len(g.State) > maxGroupState || len(g.Attributes) > maxGroupAttrs || len(g.InviteToken) > maxShortText:
		return fmt.Errorf("%w: group row too large", ErrInvalid)
	case g.Seq > 1<<62:
		return fmt.Errorf("%w: group seq %d", ErrInvalid, g.Seq)
	}
	gh := s.groupHash(g.ID)
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO groups (group_hash, seq, sealed) VALUES (?, ?, ?)
			ON CONFLICT (group_hash) DO UPDATE SET seq = excluded.seq, sealed = excluded.sealed`,
			gh, int64(g.Seq), s.keys.seal(encodeGroup(&g), labelGroup, gh))
		return err
	})
}

// Group returns the group with id g, or ErrNotFound.
func (s *Store) Group(ctx context.Context, g types.GroupID) (Group, error) {
	gs, err := s.groups(ctx, `WHERE group_hash = ?`, s.groupHash(g))
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 || gs[0].ID != g {
		return Group{}, fmt.Errorf("%w: group %s", ErrNotFound, g)
	}
	return gs[0], nil
}

// Groups returns every group this device knows, in no particular order.
func (s *Store) Groups(ctx context.Context) ([]Group, error) { return s.groups(ctx, ``) }

func (s *Store) groups(ctx context.Context, where string, args ...any) ([]Group, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT group_hash, seq, sealed FROM groups `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("clientstore: read groups: %w", err)
	}
	var out []Group
	err = eachRow(rows, func() error {
		var gh, sealed []byte
		var seq int64
		if err := rows.Scan(&gh, &seq, &sealed); err != nil {
			return err
		}
		pt, err := s.keys.open(sealed, labelGroup, gh)
		if err != nil {
			return err
		}
		g, err := decodeGroup(pt)
		if err != nil {
			return err
		}
		if g.Seq != uint64(seq) || !bytes.Equal(s.groupHash(g.ID), gh) {
			return fmt.Errorf("%w: group row does not match its key", ErrCorrupt)
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

func (s *Store) deviceHash(d GroupDevice) []byte {
	return s.keys.hash(labelSenderKeyHolder, d.Account[:],
		binary.BigEndian.AppendUint32(nil, uint32(d.Device)), binary.BigEndian.AppendUint32(nil, d.RegistrationID))
}

// MissingSenderKey returns the devices of devs that do not hold our
// current sender key of group g, in the order given.
func (s *Store) MissingSenderKey(ctx context.Context, g types.GroupID, devs []GroupDevice) ([]GroupDevice, error) {
	have := make(map[string]bool)
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT device_hash FROM sender_key_holders WHERE group_hash = ?`, s.groupHash(g))
	if err != nil {
		return nil, fmt.Errorf("clientstore: read sender key holders: %w", err)
	}
	err = eachRow(rows, func() error {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return err
		}
		have[string(h)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []GroupDevice
	for _, d := range devs {
		if !have[string(s.deviceHash(d))] {
			out = append(out, d)
		}
	}
	return out, nil
}

// AddSenderKeyHolders records that devs got our current sender key of g.
func (s *Store) AddSenderKeyHolders(ctx context.Context, g types.GroupID, devs []GroupDevice) error {
	gh := s.groupHash(g)
	return s.write(ctx, func(q querier) error {
		for _, d := range devs {
			if _, err := q.ExecContext(ctx, `INSERT INTO sender_key_holders (group_hash, device_hash) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, gh, s.deviceHash(d)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResetSenderKeyHolders forgets who holds our sender key of g: after a
// rotation nobody does.
func (s *Store) ResetSenderKeyHolders(ctx context.Context, g types.GroupID) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM sender_key_holders WHERE group_hash = ?`, s.groupHash(g))
		return err
	})
}

// DeleteSenderKey removes the sender-key record of (sender, distribution
// id), ours after a rotation: a record that is gone cannot be stolen.
func (s *Store) DeleteSenderKey(ctx context.Context, sender senderkey.Address, distributionID [16]byte) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM sender_keys WHERE key_hash = ?`, s.senderKeyHash(sender, distributionID))
		return err
	})
}

// ---- codec ----

const (
	grID        protowire.Number = 1
	grSecret    protowire.Number = 2
	grSeq       protowire.Number = 3
	grState     protowire.Number = 4
	grAttrs     protowire.Number = 5
	grAttrsSeq  protowire.Number = 6
	grDistID    protowire.Number = 7
	grLeft      protowire.Number = 8
	grInviteTok protowire.Number = 9
)

func encodeGroup(g *Group) []byte {
	var f fields
	f.bytes(grID, g.ID[:])
	f.bytes(grSecret, g.Secret)
	f.uint(grSeq, g.Seq)
	f.bytes(grState, g.State)
	f.bytes(grAttrs, g.Attributes)
	f.uint(grAttrsSeq, g.AttributesSeq)
	if g.DistributionID != ([16]byte{}) {
		f.bytes(grDistID, g.DistributionID[:])
	}
	if g.Left {
		f.uint(grLeft, 1)
	}
	f.bytes(grInviteTok, g.InviteToken)
	return f
}

func decodeGroup(b []byte) (Group, error) {
	var g Group
	hasID := false
	err := decodeFields(b, "group", func(f field) bool {
		switch f.num {
		case grID:
			hasID = true
			return f.fixed(g.ID[:])
		case grSecret:
			g.Secret = bytes.Clone(f.v)
			return f.isBytes() && len(f.v) == 32
		case grSeq:
			g.Seq = f.x
			return f.isUint(1 << 62)
		case grState:
			g.State = bytes.Clone(f.v)
			return f.isBytes() && len(f.v) <= maxGroupState
		case grAttrs:
			g.Attributes = bytes.Clone(f.v)
			return f.isBytes() && len(f.v) <= maxGroupAttrs
		case grAttrsSeq:
			g.AttributesSeq = f.x
			return f.isUint(1 << 62)
		case grDistID:
			return f.fixed(g.DistributionID[:])
		case grLeft:
			g.Left = f.x == 1
			return f.isUint(1)
		case grInviteTok:
			g.InviteToken = bytes.Clone(f.v)
			return f.isBytes() && len(f.v) <= maxShortText
		}
		return true
	})
	if err == nil && !hasID {
		err = fmt.Errorf("%w: group without id", ErrCorrupt)
	}
	return g, err
}
