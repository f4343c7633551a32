package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// address is one device, as a map key.
type address struct {
	acct types.AccountID
	dev  types.DeviceID
}

func (s *Store) insertDevice(ctx context.Context, tx db, d store.Device) error {
	_, err := tx.exec(ctx, `INSERT INTO devices (account_id, device_id, auth_key, identity_key, registration_id, name, created_at, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		idArg(d.Account), int64(d.ID), nonNil(d.AuthKey), nonNil(d.IdentityKey), int64(d.RegistrationID), d.Name,
		ms(d.CreatedAt), ms(d.LastSeen))
	return s.mapErr(err)
}

const deviceColumns = `account_id, device_id, auth_key, identity_key, registration_id, name, created_at, last_seen`

func scanDeviceRow(row interface{ Scan(...any) error }) (store.Device, error) {
	var (
		d                    store.Device
		id, regID            int64
		created, lastSeenMS  int64
		authKey, identityKey []byte
		name                 []byte
	)
	if err := row.Scan(scanAccount(&d.Account), &id, &authKey, &identityKey, &regID, &name, &created, &lastSeenMS); err != nil {
		return store.Device{}, err
	}
	d.ID, d.RegistrationID = types.DeviceID(id), uint32(regID)
	d.AuthKey, d.IdentityKey, d.Name = authKey, identityKey, name
	d.CreatedAt, d.LastSeen = fromMS(created), fromMS(lastSeenMS)
	return d, nil
}

// AddDevice links d to its account under the lowest free id above 1.
func (s *Store) AddDevice(ctx context.Context, d store.Device, keys store.PreKeySet, max int) (types.DeviceID, error) {
	var id types.DeviceID
	err := s.inTx(ctx, func(tx db) error {
		// The account lock makes concurrent adds to one account take turns,
		// so they neither both pass the limit nor pick the same id.
		if _, err := s.lockAccount(ctx, tx, d.Account); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT device_id FROM devices WHERE account_id = ? ORDER BY device_id`, idArg(d.Account))
		if err != nil {
			return err
		}
		var ids []types.DeviceID
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, types.DeviceID(v))
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) >= max {
			return store.ErrDeviceLimit
		}
		id = types.PrimaryDevice + 1
		for _, used := range ids { // ascending
			if used == id {
				id++
			} else if used > id {
				break
			}
		}
		d.ID = id
		if err := s.insertDevice(ctx, tx, d); err != nil {
			return err
		}
		if err := s.setPreKeys(ctx, tx, d.Account, id, keys); err != nil {
			return err
		}
		return s.devicesChanged(ctx, tx, d.Account)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: add device to %s: %w", d.Account, err)
	}
	return id, nil
}

// Device returns one device.
func (s *Store) Device(ctx context.Context, acct types.AccountID, dev types.DeviceID) (store.Device, error) {
	d, err := scanDeviceRow(s.reader().queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE account_id = ? AND device_id = ?`,
		idArg(acct), int64(dev)))
	if err != nil {
		return store.Device{}, fmt.Errorf("sqlstore: device %s.%d: %w", acct, dev, s.mapErr(err))
	}
	return d, nil
}

// Devices lists the account's devices by id.
func (s *Store) Devices(ctx context.Context, acct types.AccountID) ([]store.Device, error) {
	rows, err := s.reader().query(ctx, `SELECT `+deviceColumns+` FROM devices WHERE account_id = ? ORDER BY device_id`, idArg(acct))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: devices of %s: %w", acct, err)
	}
	defer rows.Close()
	var ds []store.Device
	for rows.Next() {
		d, err := scanDeviceRow(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: devices of %s: %w", acct, err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: devices of %s: %w", acct, err)
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("sqlstore: devices of %s: %w", acct, store.ErrNotFound)
	}
	return ds, nil
}

// lockDevice locks one device row, or reports ErrNotFound.
func (s *Store) lockDevice(ctx context.Context, tx db, acct types.AccountID, dev types.DeviceID) error {
	ok, err := exists(tx.queryRow(ctx, `SELECT 1 FROM devices WHERE account_id = ? AND device_id = ?`+s.d.forUpdate,
		idArg(acct), int64(dev)))
	if err == nil && !ok {
		err = store.ErrNotFound
	}
	return err
}

// RemoveDevice deletes the device with its prekeys and mailbox.
func (s *Store) RemoveDevice(ctx context.Context, acct types.AccountID, dev types.DeviceID) error {
	err := s.inTx(ctx, func(tx db) error {
		if err := s.lockDevice(ctx, tx, acct, dev); err != nil {
			return err
		}
		if err := s.deleteQueue(ctx, tx, `account_id = ? AND device_id = ?`, idArg(acct), int64(dev)); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM prekeys WHERE account_id = ? AND device_id = ?`,
			`DELETE FROM devices WHERE account_id = ? AND device_id = ?`,
		} {
			if _, err := tx.exec(ctx, q, idArg(acct), int64(dev)); err != nil {
				return err
			}
		}
		return s.devicesChanged(ctx, tx, acct)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: remove device %s.%d: %w", acct, dev, err)
	}
	return nil
}

// deleteQueue removes the envelopes that where selects, with the payloads
// only they referred to. The caller has locked their devices.
func (s *Store) deleteQueue(ctx context.Context, tx db, where string, args ...any) error {
	rows, err := tx.query(ctx, `DELETE FROM mailbox_envelopes WHERE `+where+` RETURNING payload_id`, args...)
	if err != nil {
		return err
	}
	var payloads []int64
	for rows.Next() {
		var p sql.NullInt64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		if p.Valid {
			payloads = append(payloads, p.Int64)
		}
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return err
	}
	return s.deleteOrphanPayloads(ctx, tx, payloads)
}
