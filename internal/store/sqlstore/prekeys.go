package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// setPreKeys stores what keys holds, each kind replacing the stored keys of
// that kind; absent kinds are left alone.
func (s *Store) setPreKeys(ctx context.Context, tx db, acct types.AccountID, dev types.DeviceID, keys store.PreKeySet) error {
	replace := func(kind store.PreKeyKind, ks []store.PreKey) error {
		if _, err := tx.exec(ctx, `DELETE FROM prekeys WHERE account_id = ? AND device_id = ? AND kind = ?`,
			idArg(acct), int64(dev), int64(kind)); err != nil {
			return err
		}
		for _, part := range chunks(ks, 6) {
			args := make([]any, 0, 6*len(part))
			q := `INSERT INTO prekeys (account_id, device_id, kind, key_id, public_key, signature) VALUES `
			for i, k := range part {
				if i > 0 {
					q += ", "
				}
				q += "(?, ?, ?, ?, ?, ?)"
				args = append(args, idArg(acct), int64(dev), int64(kind), int64(k.ID), nonNil(k.Public), k.Signature)
			}
			if _, err := tx.exec(ctx, q, args...); err != nil {
				return s.mapErr(err)
			}
		}
		return nil
	}
	if keys.SignedEC != nil {
		if err := replace(store.SignedEC, []store.PreKey{*keys.SignedEC}); err != nil {
			return err
		}
	}
	if keys.LastResortKyber != nil {
		if err := replace(store.LastResortKyber, []store.PreKey{*keys.LastResortKyber}); err != nil {
			return err
		}
	}
	if len(keys.OneTimeEC) > 0 {
		if err := replace(store.OneTimeEC, keys.OneTimeEC); err != nil {
			return err
		}
	}
	if len(keys.OneTimeKyber) > 0 {
		if err := replace(store.OneTimeKyber, keys.OneTimeKyber); err != nil {
			return err
		}
	}
	return nil
}

// SetPreKeys stores a device's upload.
func (s *Store) SetPreKeys(ctx context.Context, acct types.AccountID, dev types.DeviceID, keys store.PreKeySet) error {
	err := s.inTx(ctx, func(tx db) error {
		// The device lock makes two uploads take turns, so one never sees
		// the other half done (two signed keys, or the union of two lists).
		if err := s.lockDevice(ctx, tx, acct, dev); err != nil {
			return err
		}
		return s.setPreKeys(ctx, tx, acct, dev, keys)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set prekeys of %s.%d: %w", acct, dev, err)
	}
	return nil
}

// PreKeyCounts returns how many one-time EC and Kyber prekeys the device has
// left, or ErrNotFound if there is no such device.
func (s *Store) PreKeyCounts(ctx context.Context, acct types.AccountID, dev types.DeviceID) (ec, kyber int, err error) {
	err = s.reader().queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM prekeys p WHERE p.account_id = d.account_id AND p.device_id = d.device_id AND p.kind = ?),
		(SELECT COUNT(*) FROM prekeys p WHERE p.account_id = d.account_id AND p.device_id = d.device_id AND p.kind = ?)
		FROM devices d WHERE d.account_id = ? AND d.device_id = ?`,
		int64(store.OneTimeEC), int64(store.OneTimeKyber), idArg(acct), int64(dev)).Scan(&ec, &kyber)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: prekey counts of %s.%d: %w", acct, dev, s.mapErr(err))
	}
	return ec, kyber, nil
}

func scanPreKey(row interface{ Scan(...any) error }) (store.PreKey, error) {
	var (
		id       int64
		pub, sig []byte
	)
	if err := row.Scan(&id, &pub, &sig); err != nil {
		return store.PreKey{}, err
	}
	return store.PreKey{ID: uint32(id), Public: pub, Signature: sig}, nil
}

// ClaimBundle hands out the device's bundle, removing the one-time keys in it.
func (s *Store) ClaimBundle(ctx context.Context, acct types.AccountID, dev types.DeviceID) (store.Bundle, error) {
	var b store.Bundle
	err := s.inTx(ctx, func(tx db) error {
		b = store.Bundle{}
		d, err := scanDeviceRow(tx.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE account_id = ? AND device_id = ?`,
			idArg(acct), int64(dev)))
		if err != nil {
			return s.mapErr(err)
		}
		b.Device = d
		b.SignedEC, err = scanPreKey(tx.queryRow(ctx, `SELECT key_id, public_key, signature FROM prekeys
			WHERE account_id = ? AND device_id = ? AND kind = ? ORDER BY key_id DESC LIMIT 1`,
			idArg(acct), int64(dev), int64(store.SignedEC)))
		if err != nil {
			return s.mapErr(err)
		}
		if b.OneTime, err = s.claimOneTime(ctx, tx, acct, dev, store.OneTimeEC); err != nil {
			return err
		}
		kyber, err := s.claimOneTime(ctx, tx, acct, dev, store.OneTimeKyber)
		if err != nil {
			return err
		}
		if kyber != nil {
			b.Kyber = *kyber
			return nil
		}
		b.Kyber, err = scanPreKey(tx.queryRow(ctx, `SELECT key_id, public_key, signature FROM prekeys
			WHERE account_id = ? AND device_id = ? AND kind = ? ORDER BY key_id DESC LIMIT 1`,
			idArg(acct), int64(dev), int64(store.LastResortKyber)))
		switch {
		case err == nil:
			b.KyberLastResort = true
		case errors.Is(err, sql.ErrNoRows):
			// The contract has no error for this; the bundle goes out with
			// an empty Kyber key and the sender decides.
			err = nil
		}
		return err
	})
	if err != nil {
		return store.Bundle{}, fmt.Errorf("sqlstore: claim bundle of %s.%d: %w", acct, dev, err)
	}
	return b, nil
}

// claimOneTime deletes and returns the device's lowest one-time key of kind,
// or nil if none is left. On PostgreSQL SKIP LOCKED lets concurrent claims
// each take a different key instead of queueing for the same row; on SQLite
// the single writer makes the DELETE atomic by itself.
func (s *Store) claimOneTime(ctx context.Context, tx db, acct types.AccountID, dev types.DeviceID, kind store.PreKeyKind) (*store.PreKey, error) {
	k, err := scanPreKey(tx.queryRow(ctx, `DELETE FROM prekeys
		WHERE account_id = ? AND device_id = ? AND kind = ? AND key_id = (
			SELECT key_id FROM prekeys WHERE account_id = ? AND device_id = ? AND kind = ?
			ORDER BY key_id LIMIT 1`+s.d.skipLocked+`)
		RETURNING key_id, public_key, signature`,
		idArg(acct), int64(dev), int64(kind), idArg(acct), int64(dev), int64(kind)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &k, nil
}
