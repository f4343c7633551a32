package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// Append stores a batch of Appends in one transaction: one commit, one fsync
// on SQLite, for the whole batch. maxQueue <= 0 means no queue limit.
//
// The batch costs a fixed handful of statements whatever its size: the
// decisions are made in Go on rows read up front, then written with
// multi-row statements. That is what makes the group commit pay off on
// PostgreSQL, where every statement is a network round trip.
//
// On PostgreSQL the devices of every destination are locked first, in order.
// That makes concurrent batches for one account take turns, so the queue
// check and the dedup check cannot race, and it means a device's envelopes
// get their ids in commit order: a reader that has fetched up to id N never
// later sees a smaller id appear.
func (s *Store) Append(ctx context.Context, batch []*store.Append, maxQueue int, dedupWindow time.Duration, now time.Time) error {
	if len(batch) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx db) error {
		resetAppends(batch)
		return s.appendBatch(ctx, tx, batch, int64(maxQueue), dedupWindow, now)
	})
	if err != nil {
		resetAppends(batch)
		return fmt.Errorf("sqlstore: append: %w", err)
	}
	return nil
}

func resetAppends(batch []*store.Append) {
	for _, a := range batch {
		a.Duplicate, a.FullDevices, a.Err = false, nil, nil
		for i := range a.Envelopes {
			a.Envelopes[i].ID = 0
		}
	}
}

// dedupKey is what makes two Appends the same message.
type dedupKey struct {
	sender types.Address
	msg    types.MessageID
	dest   types.AccountID
}

func keyOf(a *store.Append) dedupKey {
	return dedupKey{sender: a.Sender, msg: a.MessageID, dest: a.Destination}
}

func (s *Store) appendBatch(ctx context.Context, tx db, batch []*store.Append, maxQueue int64, dedupWindow time.Duration, now time.Time) error {
	// The destination is locked along with the envelopes' accounts (the
	// same, unless the caller erred) because the dedup key names it.
	var accts []types.AccountID
	for _, a := range batch {
		accts = append(accts, a.Destination)
		for _, e := range a.Envelopes {
			accts = append(accts, e.Account)
		}
	}
	slices.SortFunc(accts, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
	queued, err := s.lockDevices(ctx, tx, slices.Compact(accts))
	if err != nil {
		return err
	}
	nowMS, dedupUntil := now.UnixMilli(), now.Add(dedupWindow).UnixMilli()
	live, err := s.liveDedup(ctx, tx, batch, nowMS)
	if err != nil {
		return err
	}

	var (
		record  = make(map[dedupKey]bool)
		stored  []*store.Append
		touched = make(map[address]bool)
		need    = make(map[address]int64)
	)
	for _, a := range batch {
		// A duplicate wins over a full mailbox: the resend of a message that
		// was stored must not look like a failure to the sender.
		k := keyOf(a)
		if live[k] {
			a.Duplicate = true
			continue
		}
		clear(need)
		missing := false
		for _, e := range a.Envelopes {
			ad := address{e.Account, e.Device}
			if _, ok := queued[ad]; !ok {
				missing = true
			}
			need[ad]++
		}
		if missing {
			a.Err = store.ErrNotFound
			continue
		}
		if maxQueue > 0 {
			for ad, n := range need {
				if queued[ad]+n > maxQueue {
					a.FullDevices = append(a.FullDevices, ad.dev)
				}
			}
			if len(a.FullDevices) > 0 {
				slices.Sort(a.FullDevices)
				a.Err = store.ErrMailboxFull
				continue
			}
		}
		for ad, n := range need {
			queued[ad] += n
			touched[ad] = true
		}
		stored = append(stored, a)
		if dedupUntil > nowMS {
			record[k] = true
			live[k] = true // a second copy later in this batch is a duplicate
		}
	}

	if err := s.recordDedup(ctx, tx, record, dedupUntil); err != nil {
		return err
	}
	if err := s.insertEnvelopes(ctx, tx, stored); err != nil {
		return err
	}
	return s.setQueued(ctx, tx, queued, touched)
}

// liveDedup returns which of the batch's messages were accepted less than
// their dedup window ago.
func (s *Store) liveDedup(ctx context.Context, tx db, batch []*store.Append, nowMS int64) (map[dedupKey]bool, error) {
	live := make(map[dedupKey]bool)
	for _, part := range chunks(batch, 4) {
		args := []any{nowMS}
		var where strings.Builder
		for i, a := range part {
			if i > 0 {
				where.WriteString(" OR ")
			}
			where.WriteString("(sender_account = ? AND sender_device = ? AND message_id = ? AND destination = ?)")
			args = append(args, idArg(a.Sender.Account), int64(a.Sender.Device), a.MessageID[:], idArg(a.Destination))
		}
		rows, err := tx.query(ctx, `SELECT sender_account, sender_device, message_id, destination FROM mailbox_dedup
			WHERE expires_at > ? AND (`+where.String()+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				k   dedupKey
				dev int64
			)
			if err := rows.Scan(scanAccount(&k.sender.Account), &dev, scanMessage(&k.msg), scanAccount(&k.dest)); err != nil {
				rows.Close()
				return nil, err
			}
			k.sender.Device = types.DeviceID(dev)
			live[k] = true
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// recordDedup stores the dedup records of the messages just accepted,
// replacing expired ones under the same key.
func (s *Store) recordDedup(ctx context.Context, tx db, record map[dedupKey]bool, until int64) error {
	keys := make([]dedupKey, 0, len(record))
	for k := range record {
		keys = append(keys, k)
	}
	for _, part := range chunks(keys, 5) {
		args := make([]any, 0, 5*len(part))
		for _, k := range part {
			args = append(args, idArg(k.sender.Account), int64(k.sender.Device), k.msg[:], idArg(k.dest), until)
		}
		if _, err := tx.exec(ctx, `INSERT INTO mailbox_dedup (sender_account, sender_device, message_id, destination, expires_at)
			VALUES `+rowsOf(len(part), 5)+`
			ON CONFLICT (sender_account, sender_device, message_id, destination)
			DO UPDATE SET expires_at = excluded.expires_at`, args...); err != nil {
			return err
		}
	}
	return nil
}

// envelopeKey identifies an envelope within one batch, to match the ids the
// database assigned to the envelopes that asked for them.
type envelopeKey struct {
	to     address
	msg    types.MessageID
	sender types.Address
}

// insertEnvelopes stores the envelopes of the accepted Appends and sets
// their IDs.
func (s *Store) insertEnvelopes(ctx context.Context, tx db, stored []*store.Append) error {
	var envs []*store.Envelope
	for _, a := range stored {
		for i := range a.Envelopes {
			envs = append(envs, &a.Envelopes[i])
		}
	}
	const columns = 10
	for _, part := range chunks(envs, columns) {
		args := make([]any, 0, columns*len(part))
		waiting := make(map[envelopeKey][]*store.Envelope, len(part))
		for _, e := range part {
			args = append(args, idArg(e.Account), int64(e.Device), e.MessageID[:], idArg(e.Sender.Account), int64(e.Sender.Device),
				int64(e.Type), nonNil(e.Content), ms(e.ClientTime), ms(e.ServerTime), ms(e.ExpiresAt))
			k := envelopeKey{address{e.Account, e.Device}, e.MessageID, e.Sender}
			waiting[k] = append(waiting[k], e)
		}
		rows, err := tx.query(ctx, `INSERT INTO mailbox_envelopes
			(account_id, device_id, message_id, sender_account, sender_device, type, content, client_time, server_time, expires_at)
			VALUES `+rowsOf(len(part), columns)+`
			RETURNING id, account_id, device_id, message_id, sender_account, sender_device`, args...)
		if err != nil {
			return err
		}
		type assigned struct {
			id int64
			k  envelopeKey
		}
		var got []assigned
		for rows.Next() {
			var (
				r        assigned
				dev, sdv int64
			)
			if err := rows.Scan(&r.id, scanAccount(&r.k.to.acct), &dev, scanMessage(&r.k.msg), scanAccount(&r.k.sender.Account), &sdv); err != nil {
				rows.Close()
				return err
			}
			r.k.to.dev, r.k.sender.Device = types.DeviceID(dev), types.DeviceID(sdv)
			got = append(got, r)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return err
		}
		// RETURNING promises no order; ids are handed out in row order, so
		// matching in id order gives each envelope its own id, and envelopes
		// of one batch increasing ids.
		slices.SortFunc(got, func(a, b assigned) int { return cmp.Compare(a.id, b.id) })
		for _, r := range got {
			q := waiting[r.k]
			if len(q) == 0 {
				return fmt.Errorf("inserted envelope %d matches none of the batch", r.id)
			}
			q[0].ID, waiting[r.k] = uint64(r.id), q[1:]
		}
		if len(got) != len(part) {
			return fmt.Errorf("inserted %d envelopes, want %d", len(got), len(part))
		}
	}
	return nil
}

// setQueued writes the new queue lengths of the touched devices, under the
// locks taken by lockDevices.
func (s *Store) setQueued(ctx context.Context, tx db, queued map[address]int64, touched map[address]bool) error {
	vals := make(map[address]int64, len(touched))
	for k := range touched {
		vals[k] = queued[k]
	}
	return s.updateQueued(ctx, tx, vals, "CASE", "ELSE queued END")
}

// decQueued lowers the queue lengths of devices by what was removed.
func (s *Store) decQueued(ctx context.Context, tx db, gone map[address]int64) error {
	return s.updateQueued(ctx, tx, gone, "queued - CASE", "ELSE 0 END")
}

// updateQueued sets each device's queue count to head, one WHEN per device
// giving its value, then tail: one statement per chunk of devices, in
// address order.
func (s *Store) updateQueued(ctx context.Context, tx db, vals map[address]int64, head, tail string) error {
	keys := make([]address, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareAddress)
	for _, part := range chunks(keys, 5) {
		var set, where strings.Builder
		setArgs := make([]any, 0, 3*len(part))
		whereArgs := make([]any, 0, 2*len(part))
		for i, k := range part {
			set.WriteString(" WHEN account_id = ? AND device_id = ? THEN ?")
			setArgs = append(setArgs, idArg(k.acct), int64(k.dev), vals[k])
			if i > 0 {
				where.WriteString(" OR ")
			}
			where.WriteString("(account_id = ? AND device_id = ?)")
			whereArgs = append(whereArgs, idArg(k.acct), int64(k.dev))
		}
		if _, err := tx.exec(ctx, `UPDATE devices SET queued = `+head+set.String()+` `+tail+` WHERE `+where.String(),
			append(setArgs, whereArgs...)...); err != nil {
			return err
		}
	}
	return nil
}

func compareAddress(a, b address) int {
	if c := bytes.Compare(a.acct[:], b.acct[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.dev, b.dev)
}

// Fetch returns up to limit envelopes of the device after the cursor.
func (s *Store) Fetch(ctx context.Context, acct types.AccountID, dev types.DeviceID, after uint64, limit int) ([]store.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reader().query(ctx, `SELECT id, message_id, sender_account, sender_device, type, content, client_time, server_time, expires_at
		FROM mailbox_envelopes WHERE account_id = ? AND device_id = ? AND id > ? ORDER BY id LIMIT ?`,
		idArg(acct), int64(dev), clampU64(after), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: fetch for %s.%d: %w", acct, dev, err)
	}
	defer rows.Close()
	var out []store.Envelope
	for rows.Next() {
		e := store.Envelope{Account: acct, Device: dev}
		var id, senderDev, typ, clientT, serverT, expires int64
		if err := rows.Scan(&id, scanMessage(&e.MessageID), scanAccount(&e.Sender.Account), &senderDev, &typ, &e.Content,
			&clientT, &serverT, &expires); err != nil {
			return nil, fmt.Errorf("sqlstore: fetch for %s.%d: %w", acct, dev, err)
		}
		e.ID, e.Sender.Device, e.Type = uint64(id), types.DeviceID(senderDev), uint32(typ)
		e.ClientTime, e.ServerTime, e.ExpiresAt = fromMS(clientT), fromMS(serverT), fromMS(expires)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: fetch for %s.%d: %w", acct, dev, err)
	}
	return out, nil
}

// DeleteEnvelopes removes the device's envelopes among ids.
func (s *Store) DeleteEnvelopes(ctx context.Context, acct types.AccountID, dev types.DeviceID, ids []uint64) (int, error) {
	n, err := s.DeleteBatch(ctx, []store.Deletion{{Account: acct, Device: dev, IDs: ids}})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete envelopes of %s.%d: %w", acct, dev, err)
	}
	return n, nil
}

// DeleteBatch removes the acked envelopes of many devices in one
// transaction: acks arrive one device at a time, and committing each alone
// would cost an fsync per ack. Like Append it costs a fixed handful of
// statements whatever the batch's size: lock the devices, delete, recount.
func (s *Store) DeleteBatch(ctx context.Context, dels []store.Deletion) (int, error) {
	var total int
	for _, d := range dels {
		total += len(d.IDs)
	}
	if total == 0 {
		return 0, nil
	}
	var removed int64
	err := s.inTx(ctx, func(tx db) error {
		removed = 0
		if s.d.rowLocks {
			accts := make([]types.AccountID, 0, len(dels))
			for _, d := range dels {
				accts = append(accts, d.Account)
			}
			slices.SortFunc(accts, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
			if _, err := s.lockDevices(ctx, tx, slices.Compact(accts)); err != nil {
				return err
			}
		}
		gone := make(map[address]int64)
		for _, part := range deletionChunks(dels) {
			var where strings.Builder
			var args []any
			for _, d := range part {
				if where.Len() > 0 {
					where.WriteString(" OR ")
				}
				where.WriteString("(account_id = ? AND device_id = ? AND id IN (" + placeholders(len(d.IDs)) + "))")
				args = append(args, idArg(d.Account), int64(d.Device))
				for _, id := range d.IDs {
					args = append(args, clampU64(id))
				}
			}
			rows, err := tx.query(ctx, `DELETE FROM mailbox_envelopes WHERE `+where.String()+` RETURNING account_id, device_id`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var (
					k   address
					dev int64
				)
				if err := rows.Scan(scanAccount(&k.acct), &dev); err != nil {
					rows.Close()
					return err
				}
				k.dev = types.DeviceID(dev)
				gone[k]++
				removed++
			}
			if err := errors.Join(rows.Close(), rows.Err()); err != nil {
				return err
			}
		}
		return s.decQueued(ctx, tx, gone)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete envelopes: %w", err)
	}
	return int(removed), nil
}

// deletionChunks splits deletions into statements of at most maxParams
// parameters; one deletion with more ids than that is split too.
func deletionChunks(dels []store.Deletion) [][]store.Deletion {
	var (
		out  [][]store.Deletion
		cur  []store.Deletion
		used int
	)
	for _, d := range dels {
		for len(d.IDs) > 0 {
			n := min(len(d.IDs), maxParams-2)
			if used+2+n > maxParams && len(cur) > 0 {
				out, cur, used = append(out, cur), nil, 0
			}
			cur = append(cur, store.Deletion{Account: d.Account, Device: d.Device, IDs: d.IDs[:n]})
			used += 2 + n
			d.IDs = d.IDs[n:]
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// QueueLength returns how many envelopes wait for the device, or ErrNotFound
// if there is no such device.
func (s *Store) QueueLength(ctx context.Context, acct types.AccountID, dev types.DeviceID) (int, error) {
	var n int64
	err := s.reader().queryRow(ctx, `SELECT queued FROM devices WHERE account_id = ? AND device_id = ?`,
		idArg(acct), int64(dev)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: queue length of %s.%d: %w", acct, dev, s.mapErr(err))
	}
	return int(n), nil
}

// Expire removes up to limit envelopes whose ExpiresAt is before now (a zero
// ExpiresAt never expires), and every expired dedup record. It also drops
// expired codes and ended rate limit windows, which nothing can observe any
// more, so that those tables do not grow without bound.
func (s *Store) Expire(ctx context.Context, now time.Time, limit int) (int, error) {
	nowMS := now.UnixMilli()
	var removed int64
	err := s.inTx(ctx, func(tx db) error {
		removed = 0
		if limit > 0 {
			n, err := s.expireEnvelopes(ctx, tx, nowMS, limit)
			if err != nil {
				return err
			}
			removed = n
		}
		for _, q := range []string{
			`DELETE FROM mailbox_dedup WHERE expires_at <= ?`,
			`DELETE FROM codes WHERE expires_at <= ?`,
			`DELETE FROM rate_limits WHERE window_end <= ?`,
		} {
			if _, err := tx.exec(ctx, q, nowMS); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire: %w", err)
	}
	return int(removed), nil
}

func (s *Store) expireEnvelopes(ctx context.Context, tx db, nowMS int64, limit int) (int64, error) {
	// Find the candidates without locking, then lock their devices before
	// touching any envelope, the lock order every transaction keeps.
	rows, err := tx.query(ctx, `SELECT id, account_id, device_id FROM mailbox_envelopes
		WHERE expires_at > 0 AND expires_at < ? ORDER BY expires_at, id LIMIT ?`, nowMS, int64(limit))
	if err != nil {
		return 0, err
	}
	var (
		ids     []int64
		devs    = make(map[address]bool)
		accts   []types.AccountID
		scanErr error
	)
	for rows.Next() {
		var (
			id  int64
			k   address
			dev int64
		)
		if scanErr = rows.Scan(&id, scanAccount(&k.acct), &dev); scanErr != nil {
			break
		}
		k.dev = types.DeviceID(dev)
		ids = append(ids, id)
		if !devs[k] {
			devs[k] = true
			accts = append(accts, k.acct)
		}
	}
	if err := errors.Join(scanErr, rows.Close(), rows.Err()); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if s.d.rowLocks {
		slices.SortFunc(accts, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
		if _, err := s.lockDevices(ctx, tx, slices.Compact(accts)); err != nil {
			return 0, err
		}
	}
	var removed int64
	for _, part := range chunks(ids, 1) {
		args := make([]any, 0, 1+len(part))
		for _, id := range part {
			args = append(args, id)
		}
		args = append(args, nowMS)
		// Checked again: an ack may have removed some meanwhile.
		n, err := tx.execN(ctx, `DELETE FROM mailbox_envelopes WHERE id IN (`+placeholders(len(part))+
			`) AND expires_at > 0 AND expires_at < ?`, args...)
		if err != nil {
			return 0, err
		}
		removed += n
	}
	// Recounted rather than decremented: Expire is rare, and a recount also
	// repairs a count that drifted for whatever reason.
	keys := make([]address, 0, len(devs))
	for k := range devs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareAddress)
	for _, k := range keys {
		if _, err := tx.exec(ctx, `UPDATE devices SET queued = (SELECT COUNT(*) FROM mailbox_envelopes e
			WHERE e.account_id = devices.account_id AND e.device_id = devices.device_id)
			WHERE account_id = ? AND device_id = ?`, idArg(k.acct), int64(k.dev)); err != nil {
			return 0, err
		}
	}
	return removed, nil
}
