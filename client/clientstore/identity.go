package clientstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// Trust is what the user has decided about a peer's identity key.
type Trust uint8

// Trust levels.
const (
	// TrustUnverified: accepted on first use, or acknowledged after a
	// change, but not compared by the user.
	TrustUnverified Trust = 1
	// TrustVerified: the user compared safety numbers for this key.
	TrustVerified Trust = 2
	// TrustChanged: the key replaced another and the user has not
	// acknowledged it yet. Sending to the device is refused (the session
	// layer reports session.ErrUntrustedIdentity) until AcknowledgeIdentity
	// or VerifyIdentity.
	TrustChanged Trust = 3

	maxTrust = TrustChanged
)

func (t Trust) String() string {
	switch t {
	case TrustUnverified:
		return "unverified"
	case TrustVerified:
		return "verified"
	case TrustChanged:
		return "changed"
	}
	return fmt.Sprintf("Trust(%d)", uint8(t))
}

// PeerIdentity is the identity key on record for one remote device.
type PeerIdentity struct {
	Address   session.Address
	Key       curve.PublicKey
	Trust     Trust
	FirstSeen time.Time // when the first key of this device was saved
	ChangedAt time.Time // when the key last changed (zero if never)
}

func (s *Store) nameHash(name string) []byte { return s.keys.hash(labelName, []byte(name)) }

func (s *Store) addrHash(a session.Address) []byte {
	return s.keys.hash(labelIdentity, []byte(a.Name), binary.BigEndian.AppendUint32(nil, a.DeviceID))
}

// identityAD binds a sealed identity to its row and its columns.
func identityAD(addrHash, nameHash []byte, device uint32) [][]byte {
	return [][]byte{labelIdentity, addrHash, nameHash, binary.BigEndian.AppendUint32(nil, device)}
}

// loadIdentity reads the identity row of addr; ok is false if there is none.
func (s *Store) loadIdentity(ctx context.Context, q querier, addr session.Address) (p identityPayload, ok bool, err error) {
	ah, nh := s.addrHash(addr), s.nameHash(addr.Name)
	var sealed []byte
	err = q.QueryRowContext(ctx, `SELECT sealed FROM identities WHERE addr_hash = ?`, ah).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("clientstore: read identity: %w", err)
	}
	pt, err := s.keys.open(sealed, identityAD(ah, nh, addr.DeviceID)...)
	if err != nil {
		return p, false, err
	}
	p, err = decodeIdentity(pt)
	return p, err == nil, err
}

func (s *Store) saveIdentityRow(ctx context.Context, q querier, addr session.Address, p *identityPayload) error {
	ah, nh := s.addrHash(addr), s.nameHash(addr.Name)
	sealed := s.keys.seal(encodeIdentity(p), identityAD(ah, nh, addr.DeviceID)...)
	_, err := q.ExecContext(ctx, `INSERT INTO identities (addr_hash, name_hash, device_id, sealed) VALUES (?, ?, ?, ?)
		ON CONFLICT (addr_hash) DO UPDATE SET sealed = excluded.sealed`, ah, nh, addr.DeviceID, sealed)
	return err
}

// SaveIdentity implements session.IdentityStore. A first key is trusted on
// first use. A different key replaces the one on record, is marked
// TrustChanged and reported as changed: the client tells the user, and
// sending stays blocked until AcknowledgeIdentity.
func (s *Store) SaveIdentity(ctx context.Context, addr session.Address, key curve.PublicKey) (changed bool, err error) {
	// The common case, the same key again (every message), needs no write
	// transaction.
	if p, ok, err := s.loadIdentity(ctx, s.read(ctx), addr); err != nil || (ok && p.key == key) {
		return false, err
	}
	err = s.write(ctx, func(q querier) error {
		changed = false
		old, ok, err := s.loadIdentity(ctx, q, addr)
		if err != nil {
			return err
		}
		now := time.Now()
		switch {
		case !ok:
			return s.saveIdentityRow(ctx, q, addr, &identityPayload{name: addr.Name, key: key, trust: TrustUnverified, firstSeen: now})
		case old.key == key:
			return nil
		}
		changed = true
		return s.saveIdentityRow(ctx, q, addr, &identityPayload{name: addr.Name, key: key, trust: TrustChanged, firstSeen: old.firstSeen, changedAt: now})
	})
	return changed, err
}

// IsTrustedIdentity implements session.IdentityStore. A device with no key
// on record is trusted (first use). For receiving, any key is trusted, as
// Signal's apps do: the message is authentic for the key it came with, and
// SaveIdentity then records the change for the user. For sending, the key
// must be the one on record and not an unacknowledged change.
func (s *Store) IsTrustedIdentity(ctx context.Context, addr session.Address, key curve.PublicKey, dir session.Direction) (bool, error) {
	p, ok, err := s.loadIdentity(ctx, s.read(ctx), addr)
	if err != nil || !ok {
		return err == nil, err
	}
	if dir == session.Receiving {
		return true, nil
	}
	return p.key == key && p.trust != TrustChanged, nil
}

// Identity implements session.IdentityStore.
func (s *Store) Identity(ctx context.Context, addr session.Address) (curve.PublicKey, bool, error) {
	p, ok, err := s.loadIdentity(ctx, s.read(ctx), addr)
	return p.key, ok, err
}

// PeerIdentity returns what is on record for addr, or ErrNotFound.
func (s *Store) PeerIdentity(ctx context.Context, addr session.Address) (PeerIdentity, error) {
	p, ok, err := s.loadIdentity(ctx, s.read(ctx), addr)
	if err != nil {
		return PeerIdentity{}, err
	}
	if !ok {
		return PeerIdentity{}, fmt.Errorf("%w: identity of %s", ErrNotFound, addr)
	}
	return PeerIdentity{Address: addr, Key: p.key, Trust: p.trust, FirstSeen: p.firstSeen, ChangedAt: p.changedAt}, nil
}

// PeerIdentities returns the identities on record for the devices of
// account, by device id.
func (s *Store) PeerIdentities(ctx context.Context, account types.AccountID) ([]PeerIdentity, error) {
	return s.identities(ctx, `SELECT addr_hash, name_hash, device_id, sealed FROM identities WHERE name_hash = ? ORDER BY device_id`,
		s.nameHash(account.String()))
}

// ChangedIdentities returns every device whose key changed and that the
// user has not acknowledged, oldest change first.
func (s *Store) ChangedIdentities(ctx context.Context) ([]PeerIdentity, error) {
	out, err := s.identities(ctx, `SELECT addr_hash, name_hash, device_id, sealed FROM identities`)
	out = slices.DeleteFunc(out, func(p PeerIdentity) bool { return p.Trust != TrustChanged })
	slices.SortFunc(out, func(a, b PeerIdentity) int { return a.ChangedAt.Compare(b.ChangedAt) })
	return out, err
}

// identities runs a query for (addr_hash, name_hash, device_id, sealed).
func (s *Store) identities(ctx context.Context, query string, args ...any) ([]PeerIdentity, error) {
	rows, err := s.read(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("clientstore: read identities: %w", err)
	}
	defer rows.Close()
	var out []PeerIdentity
	for rows.Next() {
		var ah, nh, sealed []byte
		var device uint32
		if err := rows.Scan(&ah, &nh, &device, &sealed); err != nil {
			return nil, err
		}
		pt, err := s.keys.open(sealed, identityAD(ah, nh, device)...)
		if err != nil {
			return nil, err
		}
		p, err := decodeIdentity(pt)
		if err != nil {
			return nil, err
		}
		addr := session.Address{Name: p.name, DeviceID: device}
		out = append(out, PeerIdentity{Address: addr, Key: p.key, Trust: p.trust, FirstSeen: p.firstSeen, ChangedAt: p.changedAt})
	}
	return out, rows.Err()
}

// AcknowledgeIdentity records that the user has seen that addr's key
// changed to key: sending is allowed again (the trust becomes
// TrustUnverified). key must be the key on record (the one the user was
// shown), else ErrKeyMismatch; ErrNotFound if there is none.
func (s *Store) AcknowledgeIdentity(ctx context.Context, addr session.Address, key curve.PublicKey) error {
	return s.write(ctx, func(q querier) error {
		p, err := s.identityFor(ctx, q, addr, key)
		if err != nil || p.trust != TrustChanged {
			return err
		}
		p.trust = TrustUnverified
		return s.saveIdentityRow(ctx, q, addr, &p)
	})
}

// VerifyIdentity records the user's comparison of safety numbers for key:
// verified true marks it TrustVerified (which also acknowledges a change),
// false takes the mark back (TrustUnverified). A device with no key on
// record gets key; a different key on record is ErrKeyMismatch.
func (s *Store) VerifyIdentity(ctx context.Context, addr session.Address, key curve.PublicKey, verified bool) error {
	return s.write(ctx, func(q querier) error {
		p, err := s.identityFor(ctx, q, addr, key)
		if errors.Is(err, ErrNotFound) {
			p, err = identityPayload{name: addr.Name, key: key, firstSeen: time.Now()}, nil
		}
		if err != nil {
			return err
		}
		p.trust = TrustUnverified
		if verified {
			p.trust = TrustVerified
		}
		return s.saveIdentityRow(ctx, q, addr, &p)
	})
}

// identityFor loads addr's identity and checks that it is key.
func (s *Store) identityFor(ctx context.Context, q querier, addr session.Address, key curve.PublicKey) (identityPayload, error) {
	p, ok, err := s.loadIdentity(ctx, q, addr)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, fmt.Errorf("%w: identity of %s", ErrNotFound, addr)
	}
	if p.key != key {
		return p, fmt.Errorf("%w: %s", ErrKeyMismatch, addr)
	}
	return p, nil
}
