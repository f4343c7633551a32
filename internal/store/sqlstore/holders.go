package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// setLastSeen moves the last seen of a and its account to v (unix
// milliseconds), never backwards. Account first, then device: the lock
// order of every transaction.
func setLastSeen(ctx context.Context, tx db, a types.Address, v int64) error {
	n, err := tx.execN(ctx, `UPDATE accounts SET last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END WHERE id = ?`,
		v, v, idArg(a.Account))
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	n, err = tx.execN(ctx, `UPDATE devices SET last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END WHERE account_id = ? AND device_id = ?`,
		v, v, idArg(a.Account), int64(a.Device))
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeviceOnline records that h holds a since h.Since, unless a later
// connection holds it, and moves last seen to t.
func (s *Store) DeviceOnline(ctx context.Context, a types.Address, h store.Holder, t time.Time) error {
	err := s.inTx(ctx, func(tx db) error {
		if err := setLastSeen(ctx, tx, a, ms(t)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO device_holders (account_id, device_id, node, conn, since) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account_id, device_id) DO UPDATE SET node = excluded.node, conn = excluded.conn, since = excluded.since
			WHERE device_holders.since <= excluded.since`,
			idArg(a.Account), int64(a.Device), h.Node, h.Conn, h.Since.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: device %s online: %w", a, err)
	}
	return nil
}

// DeviceOffline moves last seen to t and drops conn as a's holder.
func (s *Store) DeviceOffline(ctx context.Context, a types.Address, conn string, t time.Time) error {
	err := s.inTx(ctx, func(tx db) error {
		if err := setLastSeen(ctx, tx, a, ms(t)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM device_holders WHERE account_id = ? AND device_id = ? AND conn = ?`,
			idArg(a.Account), int64(a.Device), conn)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: device %s offline: %w", a, err)
	}
	return nil
}

// ReleaseNode deletes node's holder rows and moves last seen of what they
// held to t. The delete is a statement of its own: whoever deletes a row
// gets it, so callers racing to release one node share its devices out,
// and it takes no account or device lock, so it cannot deadlock with a
// DeviceOnline (account, device, then holder). Should the last seen update
// fail, the devices are released all the same and the failure is only
// logged: a later last seen is lost, never a watcher's offline.
func (s *Store) ReleaseNode(ctx context.Context, node string, t time.Time) ([]types.Address, error) {
	rows, err := s.writer().query(ctx, `DELETE FROM device_holders WHERE node = ? RETURNING account_id, device_id`, node)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: release node %s: %w", node, err)
	}
	var keys []address
	for rows.Next() {
		var (
			k   address
			dev int64
		)
		if err := rows.Scan(scanAccount(&k.acct), &dev); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: release node %s: %w", node, err)
		}
		k.dev = types.DeviceID(dev)
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlstore: release node %s: %w", node, err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: release node %s: %w", node, err)
	}
	out := make([]types.Address, len(keys))
	for i, k := range keys {
		out[i] = types.Address{Account: k.acct, Device: k.dev}
	}
	if len(keys) == 0 {
		return out, nil
	}
	slices.SortFunc(keys, compareAddress)
	v := ms(t)
	err = s.inTx(ctx, func(tx db) error {
		for _, src := range s.d.deviceRows(keys, nil) {
			args := append([]any{v, v}, src.args...)
			if _, err := tx.exec(ctx, `UPDATE accounts SET last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END
				FROM `+src.sql+` WHERE accounts.id = v.column1`, args...); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE devices SET last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END
				FROM `+src.sql+` WHERE devices.account_id = v.column1 AND devices.device_id = v.column2`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("last seen of a released node's devices not updated", "node", node, "devices", len(out), "err", err)
	}
	return out, nil
}

// HeldAccounts reports which of accts have a holder row.
func (s *Store) HeldAccounts(ctx context.Context, accts []types.AccountID) (map[types.AccountID]bool, error) {
	held := make(map[types.AccountID]bool)
	for _, part := range chunks(accts, 1) {
		args := make([]any, len(part))
		for i, a := range part {
			args[i] = idArg(a)
		}
		rows, err := s.reader().query(ctx, `SELECT DISTINCT account_id FROM device_holders WHERE account_id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: held accounts: %w", err)
		}
		for rows.Next() {
			var a types.AccountID
			if err := rows.Scan(scanAccount(&a)); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: held accounts: %w", err)
			}
			held[a] = true
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return nil, fmt.Errorf("sqlstore: held accounts: %w", err)
		}
	}
	return held, nil
}

// HolderNodes lists the nodes with at least one holder row.
func (s *Store) HolderNodes(ctx context.Context) ([]string, error) {
	rows, err := s.reader().query(ctx, `SELECT DISTINCT node FROM device_holders ORDER BY node`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: holder nodes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: holder nodes: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: holder nodes: %w", err)
	}
	return out, nil
}
