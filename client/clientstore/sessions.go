package clientstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
)

// Interface guards: one opened Store fills every field of session.Stores
// and serves as the sender-key store.
var (
	_ session.IdentityStore     = (*Store)(nil)
	_ session.SessionStore      = (*Store)(nil)
	_ session.PreKeyStore       = (*Store)(nil)
	_ session.SignedPreKeyStore = (*Store)(nil)
	_ session.KyberPreKeyStore  = (*Store)(nil)
	_ senderkey.Store           = (*Store)(nil)
)

func sessionAD(addrHash, nameHash []byte, device uint32) [][]byte {
	return [][]byte{labelSession, addrHash, nameHash, binary.BigEndian.AppendUint32(nil, device)}
}

// LoadSession implements session.SessionStore: a fresh decode every time,
// so the caller owns the record.
func (s *Store) LoadSession(ctx context.Context, addr session.Address) (*session.Record, error) {
	ah, nh := s.addrHash(addr), s.nameHash(addr.Name)
	var sealed []byte
	err := s.read(ctx).QueryRowContext(ctx, `SELECT sealed FROM sessions WHERE addr_hash = ?`, ah).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clientstore: read session: %w", err)
	}
	pt, err := s.keys.open(sealed, sessionAD(ah, nh, addr.DeviceID)...)
	if err != nil {
		return nil, err
	}
	rec := &session.Record{}
	if err := rec.UnmarshalBinary(pt); err != nil {
		return nil, fmt.Errorf("%w: session of %s: %w", ErrCorrupt, addr, err)
	}
	return rec, nil
}

// StoreSession implements session.SessionStore.
func (s *Store) StoreSession(ctx context.Context, addr session.Address, rec *session.Record) error {
	if rec == nil {
		return fmt.Errorf("%w: nil session record", ErrInvalid)
	}
	b, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	ah, nh := s.addrHash(addr), s.nameHash(addr.Name)
	sealed := s.keys.seal(b, sessionAD(ah, nh, addr.DeviceID)...)
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO sessions (addr_hash, name_hash, device_id, sealed) VALUES (?, ?, ?, ?)
			ON CONFLICT (addr_hash) DO UPDATE SET sealed = excluded.sealed`, ah, nh, addr.DeviceID, sealed)
		return err
	})
}

// SessionDevices returns the device ids that name (an account id in UUID
// form) has sessions with, ascending: the devices a message to the account
// is encrypted for.
func (s *Store) SessionDevices(ctx context.Context, name string) ([]uint32, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT device_id FROM sessions WHERE name_hash = ? ORDER BY device_id`, s.nameHash(name))
	if err != nil {
		return nil, fmt.Errorf("clientstore: read sessions: %w", err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var d uint32
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteSession forgets the session with addr (a removed device, or a
// reset). Its identity stays on record.
func (s *Store) DeleteSession(ctx context.Context, addr session.Address) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE addr_hash = ?`, s.addrHash(addr))
		return err
	})
}

// DeleteSessions forgets the sessions with every device of name.
func (s *Store) DeleteSessions(ctx context.Context, name string) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE name_hash = ?`, s.nameHash(name))
		return err
	})
}

func (s *Store) senderKeyHash(sender senderkey.Address, distributionID [16]byte) []byte {
	return s.keys.hash(labelSenderKey, []byte(sender.Name), binary.BigEndian.AppendUint32(nil, sender.DeviceID), distributionID[:])
}

// SenderKey implements senderkey.Store: a fresh decode, or (nil, nil).
func (s *Store) SenderKey(ctx context.Context, sender senderkey.Address, distributionID [16]byte) (*senderkey.Record, error) {
	kh, nh := s.senderKeyHash(sender, distributionID), s.nameHash(sender.Name)
	var sealed []byte
	err := s.read(ctx).QueryRowContext(ctx, `SELECT sealed FROM sender_keys WHERE key_hash = ?`, kh).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clientstore: read sender key: %w", err)
	}
	pt, err := s.keys.open(sealed, labelSenderKey, kh, nh)
	if err != nil {
		return nil, err
	}
	rec := &senderkey.Record{}
	if err := rec.UnmarshalBinary(pt); err != nil {
		return nil, fmt.Errorf("%w: sender key of %s: %w", ErrCorrupt, sender, err)
	}
	return rec, nil
}

// SaveSenderKey implements senderkey.Store.
func (s *Store) SaveSenderKey(ctx context.Context, sender senderkey.Address, distributionID [16]byte, r *senderkey.Record) error {
	if r == nil {
		return fmt.Errorf("%w: nil sender key record", ErrInvalid)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	kh, nh := s.senderKeyHash(sender, distributionID), s.nameHash(sender.Name)
	sealed := s.keys.seal(b, labelSenderKey, kh, nh)
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO sender_keys (key_hash, name_hash, sealed) VALUES (?, ?, ?)
			ON CONFLICT (key_hash) DO UPDATE SET sealed = excluded.sealed`, kh, nh, sealed)
		return err
	})
}
