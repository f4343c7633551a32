package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// AppendGroupEvent stores an event, the state it leads to and its notice in
// one transaction.
//
// The head row is the group's lock: the conditional UPDATE (or the insert
// that creates it) makes concurrent appends at one seq take turns on
// PostgreSQL, and the loser finds the seq moved. The notice's devices are
// locked before the head, the order Append keeps too (devices, then group
// heads), so a SendGroup and a change of its group cannot deadlock.
func (s *Store) AppendGroupEvent(ctx context.Context, ch *store.GroupChange, maxQueue int, now time.Time) error {
	if ch.Next.Seq != ch.Prev+1 {
		return fmt.Errorf("sqlstore: append group event: seq %d does not follow %d", ch.Next.Seq, ch.Prev)
	}
	err := s.inTx(ctx, func(tx db) error {
		var notify []*store.Append
		if ch.Notify != nil {
			if ch.Notify.Fanout == nil {
				return errors.New("group event notice without a fanout")
			}
			notify = []*store.Append{ch.Notify}
			resetAppends(notify)
		}
		queued, err := s.lockDevices(ctx, tx, appendAccounts(notify))
		if err != nil {
			return err
		}
		if err := s.moveHead(ctx, tx, ch, now); err != nil {
			return err
		}
		g := ch.Next.ID
		if _, err := tx.exec(ctx, `INSERT INTO group_events (group_id, seq, event, created_at) VALUES (?, ?, ?, ?)`,
			g[:], int64(ch.Next.Seq), nonNil(ch.Event), now.UnixMilli()); err != nil {
			return err
		}
		if err := s.setMembers(ctx, tx, g, ch.Next.Members); err != nil {
			return err
		}
		if ch.Notify == nil {
			return nil
		}
		touched := make(map[address]bool)
		f := ch.Notify.Fanout
		targets := map[*store.Fanout][]address{f: fanoutTargets(f, devicesByAccount(queued), queued, touched, int64(maxQueue))}
		if err := s.insertStored(ctx, tx, notify, targets); err != nil {
			return err
		}
		return s.setQueued(ctx, tx, queued, touched)
	})
	if err != nil {
		if ch.Notify != nil {
			resetAppends([]*store.Append{ch.Notify})
		}
		return fmt.Errorf("sqlstore: append event %d to group %s: %w", ch.Next.Seq, ch.Next.ID, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// moveHead creates the group's head row (Prev 0) or moves it from Prev to
// Next, or reports ErrConflict (or ErrNotFound) without changing anything.
func (s *Store) moveHead(ctx context.Context, tx db, ch *store.GroupChange, now time.Time) error {
	n := &ch.Next
	g := n.ID
	var (
		changed int64
		err     error
	)
	if ch.Prev == 0 {
		changed, err = tx.execN(ctx, `INSERT INTO group_heads
			(group_id, seq, head, announcement_only, invite_hash, sealed_attributes, attributes_seq, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id) DO NOTHING`,
			g[:], int64(n.Seq), nonNil(n.Head), boolInt(n.AnnouncementOnly), nonNil(n.InviteHash), nonNil(n.SealedAttributes),
			int64(n.AttributesSeq), now.UnixMilli())
	} else {
		changed, err = tx.execN(ctx, `UPDATE group_heads SET seq = ?, head = ?, announcement_only = ?, invite_hash = ?,
			sealed_attributes = ?, attributes_seq = ?, updated_at = ? WHERE group_id = ? AND seq = ?`,
			int64(n.Seq), nonNil(n.Head), boolInt(n.AnnouncementOnly), nonNil(n.InviteHash), nonNil(n.SealedAttributes),
			int64(n.AttributesSeq), now.UnixMilli(), g[:], int64(ch.Prev))
	}
	if err != nil || changed == 1 {
		return err
	}
	if ch.Prev == 0 {
		return store.ErrConflict
	}
	ok, err := exists(tx.queryRow(ctx, `SELECT 1 FROM group_heads WHERE group_id = ?`, g[:]))
	switch {
	case err != nil:
		return err
	case ok:
		return store.ErrConflict
	}
	return store.ErrNotFound
}

// setMembers makes the group's member rows those of members, writing only
// what differs from the stored ones.
func (s *Store) setMembers(ctx context.Context, tx db, g types.GroupID, members []store.GroupMember) error {
	cur, err := s.members(ctx, tx, g)
	if err != nil {
		return err
	}
	have := make(map[types.AccountID]store.GroupMember, len(cur))
	for _, m := range cur {
		have[m.Account] = m
	}
	var put []store.GroupMember
	for _, m := range members {
		if old, ok := have[m.Account]; !ok || old != m {
			put = append(put, m)
		}
		delete(have, m.Account)
	}
	gone := make([]types.AccountID, 0, len(have))
	for a := range have {
		gone = append(gone, a)
	}
	slices.SortFunc(gone, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
	for _, part := range chunks(gone, 1) {
		args := []any{g[:]}
		for _, a := range part {
			args = append(args, idArg(a))
		}
		if _, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND account_id IN (`+placeholders(len(part))+`)`, args...); err != nil {
			return err
		}
	}
	const columns = 4
	for _, part := range chunks(put, columns) {
		args := make([]any, 0, columns*len(part))
		for _, m := range part {
			args = append(args, g[:], idArg(m.Account), boolInt(m.Admin), int64(m.Since))
		}
		if _, err := tx.exec(ctx, `INSERT INTO group_members (group_id, account_id, admin, since) VALUES `+rowsOf(len(part), columns)+`
			ON CONFLICT (group_id, account_id) DO UPDATE SET admin = excluded.admin, since = excluded.since`, args...); err != nil {
			return err
		}
	}
	return nil
}

// members reads a group's members, sorted by account.
func (s *Store) members(ctx context.Context, q db, g types.GroupID) ([]store.GroupMember, error) {
	rows, err := q.query(ctx, `SELECT account_id, admin, since FROM group_members WHERE group_id = ? ORDER BY account_id`, g[:])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.GroupMember
	for rows.Next() {
		var (
			m            store.GroupMember
			admin, since int64
		)
		if err := rows.Scan(scanAccount(&m.Account), &admin, &since); err != nil {
			return nil, err
		}
		m.Admin, m.Since = admin != 0, uint64(since)
		out = append(out, m)
	}
	return out, rows.Err()
}

// readTx runs fn in a read-only transaction that sees one snapshot: on
// PostgreSQL REPEATABLE READ, on SQLite any transaction (WAL readers see
// the database as of their first read).
func (s *Store) readTx(ctx context.Context, fn func(tx db) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.rowLocks {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(db{q: cached(tx, tx, s.rs), d: s.d}); err != nil {
		return err
	}
	return tx.Commit()
}

// head reads a group's head row into g, or returns ErrNotFound.
func (s *Store) head(ctx context.Context, q db, id types.GroupID, g *store.Group) error {
	var seq, announce, attrSeq int64
	err := q.queryRow(ctx, `SELECT seq, head, announcement_only, invite_hash, sealed_attributes, attributes_seq
		FROM group_heads WHERE group_id = ?`, id[:]).Scan(&seq, &g.Head, &announce, &g.InviteHash, &g.SealedAttributes, &attrSeq)
	if err != nil {
		return s.mapErr(err)
	}
	g.ID, g.Seq, g.AnnouncementOnly, g.AttributesSeq = id, uint64(seq), announce != 0, uint64(attrSeq)
	return nil
}

// Group returns the group's current state.
func (s *Store) Group(ctx context.Context, id types.GroupID) (store.Group, error) {
	var g store.Group
	err := s.readTx(ctx, func(tx db) error {
		g = store.Group{}
		if err := s.head(ctx, tx, id, &g); err != nil {
			return err
		}
		var err error
		g.Members, err = s.members(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: group %s: %w", id, err)
	}
	return g, nil
}

// GroupEvents returns a page of the group's log after a seq.
func (s *Store) GroupEvents(ctx context.Context, id types.GroupID, after uint64, maxBytes int) ([]store.GroupEvent, error) {
	const maxEvents = 1000
	var out []store.GroupEvent
	err := s.readTx(ctx, func(tx db) error {
		out = nil
		var g store.Group
		if err := s.head(ctx, tx, id, &g); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT seq, event FROM group_events WHERE group_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			id[:], clampU64(after), maxEvents)
		if err != nil {
			return err
		}
		defer rows.Close()
		total := 0
		for rows.Next() {
			var (
				e   store.GroupEvent
				seq int64
			)
			if err := rows.Scan(&seq, &e.Raw); err != nil {
				return err
			}
			if total += len(e.Raw); len(out) > 0 && total > maxBytes {
				break
			}
			e.Seq = uint64(seq)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: events of group %s: %w", id, err)
	}
	return out, nil
}

// GroupDevices returns the group's members with their devices, from one
// snapshot.
func (s *Store) GroupDevices(ctx context.Context, id types.GroupID) (store.GroupDevices, error) {
	var gd store.GroupDevices
	err := s.readTx(ctx, func(tx db) error {
		gd = store.GroupDevices{}
		var seq, gen, announce int64
		if err := tx.queryRow(ctx, `SELECT seq, devices_gen, announcement_only FROM group_heads WHERE group_id = ?`, id[:]).Scan(&seq, &gen, &announce); err != nil {
			return s.mapErr(err)
		}
		gd.Seq, gd.DevicesGen, gd.AnnouncementOnly = uint64(seq), uint64(gen), announce != 0
		rows, err := tx.query(ctx, `SELECT m.account_id, m.admin, m.since, d.device_id, d.registration_id, d.identity_key
			FROM group_members m LEFT JOIN devices d ON d.account_id = m.account_id
			WHERE m.group_id = ? ORDER BY m.account_id, d.device_id`, id[:])
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				m            store.GroupMember
				admin, since int64
				dev, reg     sql.NullInt64
				identity     []byte
			)
			if err := rows.Scan(scanAccount(&m.Account), &admin, &since, &dev, &reg, &identity); err != nil {
				return err
			}
			m.Admin, m.Since = admin != 0, uint64(since)
			if n := len(gd.Members); n == 0 || gd.Members[n-1].Account != m.Account {
				gd.Members = append(gd.Members, m)
			}
			if dev.Valid {
				gd.Devices = append(gd.Devices, store.Device{
					Account: m.Account, ID: types.DeviceID(dev.Int64), RegistrationID: uint32(reg.Int64), IdentityKey: identity})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return store.GroupDevices{}, fmt.Errorf("sqlstore: devices of group %s: %w", id, err)
	}
	return gd, nil
}

// GroupVersion returns the group's head seq and devices generation.
func (s *Store) GroupVersion(ctx context.Context, id types.GroupID) (seq, devicesGen uint64, err error) {
	var sq, gen int64
	err = s.reader().queryRow(ctx, `SELECT seq, devices_gen FROM group_heads WHERE group_id = ?`, id[:]).Scan(&sq, &gen)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: version of group %s: %w", id, s.mapErr(err))
	}
	return uint64(sq), uint64(gen), nil
}

// devicesChanged moves the devices generation of every group acct is a
// member of: its devices just changed, in this transaction. The head rows
// are locked in group order first, after the devices (the order every
// transaction keeps), so two such changes cannot deadlock.
func (s *Store) devicesChanged(ctx context.Context, tx db, acct types.AccountID) error {
	if s.d.rowLocks {
		rows, err := tx.query(ctx, `SELECT group_id FROM group_heads WHERE group_id IN
			(SELECT group_id FROM group_members WHERE account_id = ?) ORDER BY group_id`+s.d.forUpdate, idArg(acct))
		if err != nil {
			return err
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, `UPDATE group_heads SET devices_gen = devices_gen + 1 WHERE group_id IN
		(SELECT group_id FROM group_members WHERE account_id = ?)`, idArg(acct))
	return err
}

// GroupsOf lists the groups an account is a member of.
func (s *Store) GroupsOf(ctx context.Context, acct types.AccountID) ([]store.GroupSummary, error) {
	rows, err := s.reader().query(ctx, `SELECT h.group_id, h.seq FROM group_members m JOIN group_heads h ON h.group_id = m.group_id
		WHERE m.account_id = ? ORDER BY h.group_id`, idArg(acct))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: groups of %s: %w", acct, err)
	}
	defer rows.Close()
	var out []store.GroupSummary
	for rows.Next() {
		var (
			g   store.GroupSummary
			seq int64
		)
		if err := rows.Scan((*id16)(&g.ID), &seq); err != nil {
			return nil, fmt.Errorf("sqlstore: groups of %s: %w", acct, err)
		}
		g.Seq = uint64(seq)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: groups of %s: %w", acct, err)
	}
	return out, nil
}
