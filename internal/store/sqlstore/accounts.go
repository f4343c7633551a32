package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// CreateAccount stores a new account with its primary device, whose id is
// always types.PrimaryDevice whatever primary.ID says.
func (s *Store) CreateAccount(ctx context.Context, a store.Account, primary store.Device, keys store.PreKeySet) error {
	err := s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO accounts (id, phone, created_at, last_seen) VALUES (?, ?, ?, ?)`,
			idArg(a.ID), a.Phone, ms(a.CreatedAt), ms(a.LastSeen))
		if err != nil {
			return s.mapErr(err)
		}
		primary.Account, primary.ID = a.ID, types.PrimaryDevice
		if err := s.insertDevice(ctx, tx, primary); err != nil {
			return err
		}
		return s.setPreKeys(ctx, tx, a.ID, types.PrimaryDevice, keys)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create account: %w", err)
	}
	return nil
}

const accountColumns = `id, phone, created_at, last_seen`

func scanAccountRow(row interface{ Scan(...any) error }) (store.Account, error) {
	var (
		a                   store.Account
		created, lastSeenMS int64
	)
	if err := row.Scan(scanAccount(&a.ID), &a.Phone, &created, &lastSeenMS); err != nil {
		return store.Account{}, err
	}
	a.CreatedAt, a.LastSeen = fromMS(created), fromMS(lastSeenMS)
	return a, nil
}

// Account returns the account with id.
func (s *Store) Account(ctx context.Context, id types.AccountID) (store.Account, error) {
	a, err := scanAccountRow(s.reader().queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, idArg(id)))
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlstore: account %s: %w", id, s.mapErr(err))
	}
	return a, nil
}

// AccountByPhone returns the account registered to phone.
func (s *Store) AccountByPhone(ctx context.Context, phone string) (store.Account, error) {
	a, err := scanAccountRow(s.reader().queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE phone = ?`, phone))
	if err != nil {
		// The number is personal data: it stays out of the error.
		return store.Account{}, fmt.Errorf("sqlstore: account by phone: %w", s.mapErr(err))
	}
	return a, nil
}

// lockAccount locks the account row for the transaction and returns its
// phone number, or ErrNotFound. Taking it first is what orders concurrent
// changes to the same account's devices.
func (s *Store) lockAccount(ctx context.Context, tx db, id types.AccountID) (phone string, err error) {
	err = tx.queryRow(ctx, `SELECT phone FROM accounts WHERE id = ?`+s.d.forUpdate, idArg(id)).Scan(&phone)
	return phone, s.mapErr(err)
}

// lockDevices locks every device row of the accounts in account and device
// order and returns their queue lengths. On SQLite, where the single writer
// already excludes everyone else, it only reads.
func (s *Store) lockDevices(ctx context.Context, tx db, accts []types.AccountID) (map[address]int64, error) {
	queued := make(map[address]int64)
	for _, part := range chunks(accts, 1) {
		args := make([]any, len(part))
		for i, a := range part {
			args[i] = idArg(a)
		}
		rows, err := tx.query(ctx, `SELECT account_id, device_id, queued FROM devices WHERE account_id IN (`+
			placeholders(len(part))+`) ORDER BY account_id, device_id`+s.d.forUpdate, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				k   address
				dev int64
				n   int64
			)
			if err := rows.Scan(scanAccount(&k.acct), &dev, &n); err != nil {
				rows.Close()
				return nil, err
			}
			k.dev = types.DeviceID(dev)
			queued[k] = n
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return queued, nil
}

// deleteDevicesOf removes every device of the account with what hangs off
// them. The device rows are locked before their envelopes are touched, the
// order every transaction keeps; the foreign keys' ON DELETE CASCADE is only
// a backstop.
func (s *Store) deleteDevicesOf(ctx context.Context, tx db, id types.AccountID) error {
	if s.d.rowLocks {
		if _, err := s.lockDevices(ctx, tx, []types.AccountID{id}); err != nil {
			return err
		}
	}
	if err := s.deleteQueue(ctx, tx, `account_id = ?`, idArg(id)); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM prekeys WHERE account_id = ?`,
		`DELETE FROM devices WHERE account_id = ?`,
	} {
		if _, err := tx.exec(ctx, q, idArg(id)); err != nil {
			return err
		}
	}
	return s.devicesChanged(ctx, tx, id)
}

// ReplaceDevices swaps every device of the account for a new primary one.
// Dedup records for messages to the account are kept: a resend of a message
// meant for the old devices should not reach the new one, which could not
// decrypt it.
func (s *Store) ReplaceDevices(ctx context.Context, id types.AccountID, primary store.Device, keys store.PreKeySet) error {
	err := s.inTx(ctx, func(tx db) error {
		if _, err := s.lockAccount(ctx, tx, id); err != nil {
			return err
		}
		if err := s.deleteDevicesOf(ctx, tx, id); err != nil {
			return err
		}
		primary.Account, primary.ID = id, types.PrimaryDevice
		if err := s.insertDevice(ctx, tx, primary); err != nil {
			return err
		}
		return s.setPreKeys(ctx, tx, id, types.PrimaryDevice, keys)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: replace devices of %s: %w", id, err)
	}
	return nil
}

// ChangePhone moves the account to phone.
func (s *Store) ChangePhone(ctx context.Context, id types.AccountID, phone string) error {
	n, err := s.writer().execN(ctx, `UPDATE accounts SET phone = ? WHERE id = ?`, phone, idArg(id))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlstore: change phone of %s: %w", id, s.mapErr(err))
	}
	return nil
}

// DeleteAccount removes the account and everything kept for it: devices,
// prekeys, queued envelopes, dedup records it sent or received, privacy
// settings and contacts, and codes for its number or naming it. Rate limit
// counters stay; they expire on their own and are keyed by what they limit.
func (s *Store) DeleteAccount(ctx context.Context, id types.AccountID) error {
	err := s.inTx(ctx, func(tx db) error {
		phone, err := s.lockAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.deleteDevicesOf(ctx, tx, id); err != nil {
			return err
		}
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`DELETE FROM mailbox_dedup WHERE sender_account = ?`, []any{idArg(id)}},
			{`DELETE FROM mailbox_dedup WHERE destination = ?`, []any{idArg(id)}},
			{`DELETE FROM privacy_contacts WHERE owner = ?`, []any{idArg(id)}},
			{`DELETE FROM privacy_settings WHERE account_id = ?`, []any{idArg(id)}},
			{`DELETE FROM codes WHERE account_id = ?`, []any{idArg(id)}},
			{`DELETE FROM codes WHERE purpose = ? AND code_key = ?`, []any{int64(store.PurposeRegister), phone}},
			{`DELETE FROM accounts WHERE id = ?`, []any{idArg(id)}},
		} {
			if _, err := tx.exec(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete account %s: %w", id, err)
	}
	return nil
}

// exists reports whether a query returns a row.
func exists(row *sql.Row) (bool, error) {
	var one int
	err := row.Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
