package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
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
		if f := a.Fanout; f != nil {
			f.Deliveries, f.Full = nil, nil
		}
	}
}

// dedupKey is what makes two Appends the same message. dest is the
// destination account, or the group of a Fanout.
type dedupKey struct {
	sender types.Address
	msg    types.MessageID
	dest   types.AccountID
}

func keyOf(a *store.Append) dedupKey {
	if a.Fanout != nil {
		return dedupKey{sender: a.Sender, msg: a.MessageID, dest: types.AccountID(a.Fanout.Group)}
	}
	return dedupKey{sender: a.Sender, msg: a.MessageID, dest: a.Destination}
}

// deduped reports whether a is subject to the dedup check: a Fanout
// without a sender is a group event, which its log orders already.
func deduped(a *store.Append) bool {
	return a.Fanout == nil || !a.Sender.Account.IsZero()
}

// appendAccounts lists, sorted and once each, the accounts whose devices a
// batch touches: the lock set.
func appendAccounts(batch []*store.Append) []types.AccountID {
	var accts []types.AccountID
	for _, a := range batch {
		if a.Fanout != nil {
			accts = append(accts, a.Fanout.Accounts...)
			continue
		}
		// The destination is locked along with the envelopes' accounts (the
		// same, unless the caller erred) because the dedup key names it.
		accts = append(accts, a.Destination)
		for _, e := range a.Envelopes {
			accts = append(accts, e.Account)
		}
	}
	slices.SortFunc(accts, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(accts)
}

func (s *Store) appendBatch(ctx context.Context, tx db, batch []*store.Append, maxQueue int64, dedupWindow time.Duration, now time.Time) error {
	queued, err := s.lockDevices(ctx, tx, appendAccounts(batch))
	if err != nil {
		return err
	}
	heads, err := s.shareHeads(ctx, tx, batch)
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
		devsOf  = devicesByAccount(queued)
		targets = make(map[*store.Fanout][]address)
	)
	for _, a := range batch {
		// A duplicate wins over a full mailbox: the resend of a message that
		// was stored must not look like a failure to the sender.
		k := keyOf(a)
		if deduped(a) && live[k] {
			a.Duplicate = true
			continue
		}
		if f := a.Fanout; f != nil {
			if f.Seq != 0 {
				head, ok := heads[f.Group]
				switch {
				case !ok:
					a.Err = store.ErrNotFound
					continue
				case head != f.Seq:
					a.Err = store.ErrConflict
					continue
				}
			}
			targets[f] = fanoutTargets(f, devsOf, queued, touched, maxQueue)
		} else {
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
		}
		stored = append(stored, a)
		if deduped(a) && dedupUntil > nowMS {
			record[k] = true
			live[k] = true // a second copy later in this batch is a duplicate
		}
	}

	if err := s.recordDedup(ctx, tx, record, dedupUntil); err != nil {
		return err
	}
	if err := s.insertStored(ctx, tx, stored, targets); err != nil {
		return err
	}
	return s.setQueued(ctx, tx, queued, touched)
}

// fanoutTargets picks the devices f reaches among the locked ones, counts
// it in their queues, and notes those that are full in f.Full.
func fanoutTargets(f *store.Fanout, devsOf map[types.AccountID][]types.DeviceID, queued map[address]int64, touched map[address]bool, maxQueue int64) []address {
	var to []address
	except := address{f.Except.Account, f.Except.Device}
	seen := make(map[types.AccountID]bool, len(f.Accounts))
	for _, acct := range f.Accounts {
		if seen[acct] {
			continue // an account listed twice gets one copy
		}
		seen[acct] = true
		for _, dev := range devsOf[acct] {
			ad := address{acct, dev}
			if ad == except {
				continue
			}
			if maxQueue > 0 && queued[ad]+1 > maxQueue {
				f.Full = append(f.Full, types.Address{Account: acct, Device: dev})
				continue
			}
			queued[ad]++
			touched[ad] = true
			to = append(to, ad)
		}
	}
	return to
}

// devicesByAccount groups locked devices by account, in device id order.
func devicesByAccount(queued map[address]int64) map[types.AccountID][]types.DeviceID {
	out := make(map[types.AccountID][]types.DeviceID)
	for ad := range queued {
		out[ad.acct] = append(out[ad.acct], ad.dev)
	}
	for _, devs := range out {
		slices.Sort(devs)
	}
	return out
}

// shareHeads reads the heads of the groups whose Fanouts name one, and on
// PostgreSQL keeps them from moving until the transaction ends: a group
// change waits for this batch, or this batch sees it.
func (s *Store) shareHeads(ctx context.Context, tx db, batch []*store.Append) (map[types.GroupID]uint64, error) {
	var ids []types.GroupID
	for _, a := range batch {
		if a.Fanout != nil && a.Fanout.Seq != 0 {
			ids = append(ids, a.Fanout.Group)
		}
	}
	heads := make(map[types.GroupID]uint64, len(ids))
	if len(ids) == 0 {
		return heads, nil
	}
	slices.SortFunc(ids, func(a, b types.GroupID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	for _, part := range chunks(ids, 1) {
		args := make([]any, len(part))
		for i, g := range part {
			args[i] = g[:]
		}
		rows, err := tx.query(ctx, `SELECT group_id, seq FROM group_heads WHERE group_id IN (`+placeholders(len(part))+
			`) ORDER BY group_id`+s.d.forShare, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				g   types.GroupID
				seq int64
			)
			if err := rows.Scan((*id16)(&g), &seq); err != nil {
				rows.Close()
				return nil, err
			}
			heads[g] = uint64(seq)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return nil, err
		}
	}
	return heads, nil
}

// insertStored inserts what the accepted Appends carry in batch order, so
// that each device's envelope ids follow the batch: runs of ordinary
// envelopes go in multi-row statements, and each Fanout's deliveries
// between them.
func (s *Store) insertStored(ctx context.Context, tx db, stored []*store.Append, targets map[*store.Fanout][]address) error {
	payloads, err := s.insertPayloads(ctx, tx, stored, targets)
	if err != nil {
		return err
	}
	var run []*store.Append
	for _, a := range stored {
		if a.Fanout == nil {
			run = append(run, a)
			continue
		}
		if len(targets[a.Fanout]) == 0 {
			continue
		}
		if err := s.insertEnvelopes(ctx, tx, run); err != nil {
			return err
		}
		run = nil
		if err := s.insertDeliveries(ctx, tx, a.Fanout, payloads[a.Fanout], targets[a.Fanout]); err != nil {
			return err
		}
	}
	return s.insertEnvelopes(ctx, tx, run)
}

// insertPayloads stores the payload of every Fanout that reaches a device,
// one row each, and returns their ids.
func (s *Store) insertPayloads(ctx context.Context, tx db, stored []*store.Append, targets map[*store.Fanout][]address) (map[*store.Fanout]int64, error) {
	var fs []*store.Fanout
	for _, a := range stored {
		if a.Fanout != nil && len(targets[a.Fanout]) > 0 {
			fs = append(fs, a.Fanout)
		}
	}
	ids := make(map[*store.Fanout]int64, len(fs))
	const columns = 9
	for _, part := range chunks(fs, columns) {
		args := make([]any, 0, columns*len(part))
		for _, f := range part {
			e := &f.Envelope
			args = append(args, f.Group[:], e.MessageID[:], idArg(e.Sender.Account), int64(e.Sender.Device), int64(e.Type),
				nonNil(e.Content), ms(e.ClientTime), ms(e.ServerTime), ms(e.ExpiresAt))
		}
		rows, err := tx.query(ctx, `INSERT INTO mailbox_payloads
			(group_id, message_id, sender_account, sender_device, type, content, client_time, server_time, expires_at)
			VALUES `+rowsOf(len(part), columns)+` RETURNING id`, args...)
		if err != nil {
			return nil, err
		}
		var got []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			got = append(got, id)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return nil, err
		}
		if len(got) != len(part) {
			return nil, fmt.Errorf("inserted %d payloads, want %d", len(got), len(part))
		}
		// Ids are handed out in row order (see insertEnvelopes).
		slices.Sort(got)
		for i, f := range part {
			ids[f] = got[i]
		}
	}
	return ids, nil
}

// liveDedup returns which of the batch's messages were accepted less than
// their dedup window ago.
func (s *Store) liveDedup(ctx context.Context, tx db, batch []*store.Append, nowMS int64) (map[dedupKey]bool, error) {
	live := make(map[dedupKey]bool)
	var keys []dedupKey
	for _, a := range batch {
		if deduped(a) {
			keys = append(keys, keyOf(a))
		}
	}
	for _, part := range chunks(keys, 4) {
		args := []any{nowMS}
		var where strings.Builder
		for i, k := range part {
			if i > 0 {
				where.WriteString(" OR ")
			}
			where.WriteString("(sender_account = ? AND sender_device = ? AND message_id = ? AND destination = ?)")
			args = append(args, idArg(k.sender.Account), int64(k.sender.Device), k.msg[:], idArg(k.dest))
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

// insertDeliveries stores one delivery row of f's payload per target
// device and sets f.Deliveries: one statement on PostgreSQL, whatever the
// number of devices. A delivery row carries only its device, payload and
// expiry; the columns an ordinary envelope fills stay empty.
func (s *Store) insertDeliveries(ctx context.Context, tx db, f *store.Fanout, payload int64, to []address) error {
	e := s.d.emptyBlob
	for _, src := range s.d.deviceRows(to, nil) {
		rows, err := tx.query(ctx, `INSERT INTO mailbox_envelopes
			(account_id, device_id, payload_id, expires_at, message_id, sender_account, sender_device, type, content, client_time, server_time)
			SELECT v.column1, v.column2, CAST(? AS BIGINT), CAST(? AS BIGINT), `+e+`, `+e+`, 0, 0, `+e+`, 0, 0 FROM `+src.sql+`
			RETURNING id, account_id, device_id`, append([]any{payload, ms(f.Envelope.ExpiresAt)}, src.args...)...)
		if err != nil {
			return err
		}
		start := len(f.Deliveries)
		for rows.Next() {
			var (
				d   store.Delivery
				dev int64
			)
			if err := rows.Scan(&d.ID, scanAccount(&d.To.Account), &dev); err != nil {
				rows.Close()
				return err
			}
			d.To.Device = types.DeviceID(dev)
			f.Deliveries = append(f.Deliveries, d)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return err
		}
		// Ids are handed out in row order; sorted, every device's
		// deliveries list in the order they were made.
		slices.SortFunc(f.Deliveries[start:], func(a, b store.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	}
	if len(f.Deliveries) != len(to) {
		return fmt.Errorf("inserted %d deliveries, want %d", len(f.Deliveries), len(to))
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
	return s.updateQueued(ctx, tx, vals, "v.column3")
}

// decQueued lowers the queue lengths of devices by what was removed.
func (s *Store) decQueued(ctx context.Context, tx db, gone map[address]int64) error {
	return s.updateQueued(ctx, tx, gone, "queued - v.column3")
}

// updateQueued sets each device's queue count to set, an expression of
// its old count (queued) and its value in vals (v.column3), joining the
// list of devices (deviceRows: one statement on PostgreSQL). The devices
// are locked already, so the order the rows are updated in does not
// matter. A CASE per device, as before, made statements whose parsing
// cost grew with the square of their length.
func (s *Store) updateQueued(ctx context.Context, tx db, vals map[address]int64, set string) error {
	keys := make([]address, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareAddress)
	ns := make([]int64, len(keys))
	for i, k := range keys {
		ns[i] = vals[k]
	}
	for _, src := range s.d.deviceRows(keys, ns) {
		if _, err := tx.exec(ctx, `UPDATE devices SET queued = `+set+` FROM `+src.sql+`
			WHERE devices.account_id = v.column1 AND devices.device_id = v.column2`, src.args...); err != nil {
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

// Fetch returns up to limit envelopes of the device after the cursor; a
// delivery row gets its content from its payload.
func (s *Store) Fetch(ctx context.Context, acct types.AccountID, dev types.DeviceID, after uint64, limit int) ([]store.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.reader().query(ctx, `SELECT e.id, e.message_id, e.sender_account, e.sender_device, e.type, e.content,
			e.client_time, e.server_time, e.expires_at, e.payload_id IS NOT NULL,
			p.group_id, p.message_id, p.sender_account, p.sender_device, p.type, p.content, p.client_time, p.server_time
		FROM mailbox_envelopes e LEFT JOIN mailbox_payloads p ON p.id = e.payload_id
		WHERE e.account_id = ? AND e.device_id = ? AND e.id > ? ORDER BY e.id LIMIT ?`,
		idArg(acct), int64(dev), clampU64(after), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: fetch for %s.%d: %w", acct, dev, err)
	}
	defer rows.Close()
	var out []store.Envelope
	for rows.Next() {
		e := store.Envelope{Account: acct, Device: dev}
		var (
			id, senderDev, typ, clientT, serverT, expires int64
			shared                                        bool
			msg, sender, pGroup, pMsg, pSender            optID16
			pSenderDev, pType, pClientT, pServerT         sql.NullInt64
			pContent                                      []byte
		)
		if err := rows.Scan(&id, &msg, &sender, &senderDev, &typ, &e.Content,
			&clientT, &serverT, &expires, &shared,
			&pGroup, &pMsg, &pSender, &pSenderDev, &pType, &pContent, &pClientT, &pServerT); err != nil {
			return nil, fmt.Errorf("sqlstore: fetch for %s.%d: %w", acct, dev, err)
		}
		e.MessageID, e.Sender.Account = types.MessageID(msg), types.AccountID(sender)
		if shared && pSenderDev.Valid {
			// (A delivery whose payload is gone, which the locking should
			// never let happen, is handed out empty rather than left to
			// block its device's queue.)
			e.Group, e.MessageID, e.Sender.Account = types.GroupID(pGroup), types.MessageID(pMsg), types.AccountID(pSender)
			senderDev, typ, e.Content, clientT, serverT = pSenderDev.Int64, pType.Int64, pContent, pClientT.Int64, pServerT.Int64
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
		var payloads []int64
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
			rows, err := tx.query(ctx, `DELETE FROM mailbox_envelopes WHERE `+where.String()+` RETURNING account_id, device_id, payload_id`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var (
					k       address
					dev     int64
					payload sql.NullInt64
				)
				if err := rows.Scan(scanAccount(&k.acct), &dev, &payload); err != nil {
					rows.Close()
					return err
				}
				k.dev = types.DeviceID(dev)
				gone[k]++
				removed++
				if payload.Valid {
					payloads = append(payloads, payload.Int64)
				}
			}
			if err := errors.Join(rows.Close(), rows.Err()); err != nil {
				return err
			}
		}
		if err := s.decQueued(ctx, tx, gone); err != nil {
			return err
		}
		return s.deleteOrphanPayloads(ctx, tx, payloads)
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
			if err := s.expirePayloads(ctx, tx, nowMS, limit); err != nil {
				return err
			}
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
	rows, err := tx.query(ctx, `SELECT id, account_id, device_id, payload_id FROM mailbox_envelopes
		WHERE expires_at > 0 AND expires_at < ? ORDER BY expires_at, id LIMIT ?`, nowMS, int64(limit))
	if err != nil {
		return 0, err
	}
	var (
		ids      []int64
		payloads []int64
		devs     = make(map[address]bool)
		accts    []types.AccountID
		scanErr  error
	)
	for rows.Next() {
		var (
			id      int64
			k       address
			dev     int64
			payload sql.NullInt64
		)
		if scanErr = rows.Scan(&id, scanAccount(&k.acct), &dev, &payload); scanErr != nil {
			break
		}
		k.dev = types.DeviceID(dev)
		ids = append(ids, id)
		if payload.Valid {
			payloads = append(payloads, payload.Int64)
		}
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
	return removed, s.deleteOrphanPayloads(ctx, tx, payloads)
}

// deleteOrphanPayloads removes those of the payloads that no delivery row
// refers to any more, after the caller deleted some of their rows.
//
// On PostgreSQL the payload rows are locked first, in id order. Two
// transactions that delete the last two deliveries of one payload would
// otherwise each still see the other's row and keep the payload; with the
// lock, the second to get it reads afresh and sees both rows gone.
func (s *Store) deleteOrphanPayloads(ctx context.Context, tx db, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, part := range chunks(ids, 1) {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if s.d.rowLocks {
			rows, err := tx.query(ctx, `SELECT id FROM mailbox_payloads WHERE id IN (`+placeholders(len(part))+`) ORDER BY id`+s.d.forUpdate, args...)
			if err != nil {
				return err
			}
			if err := errors.Join(rows.Close(), rows.Err()); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `DELETE FROM mailbox_payloads WHERE id IN (`+placeholders(len(part))+`)
			AND NOT EXISTS (SELECT 1 FROM mailbox_envelopes e WHERE e.payload_id = mailbox_payloads.id)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// expirePayloads removes up to limit expired payloads that no delivery row
// refers to: those whose deliveries expired in an earlier sweep, or went
// with a device deleted by a path that did not look at its payloads.
func (s *Store) expirePayloads(ctx context.Context, tx db, nowMS int64, limit int) error {
	rows, err := tx.query(ctx, `SELECT id FROM mailbox_payloads p WHERE expires_at > 0 AND expires_at < ?
		AND NOT EXISTS (SELECT 1 FROM mailbox_envelopes e WHERE e.payload_id = p.id) ORDER BY expires_at, id LIMIT ?`, nowMS, int64(limit))
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return err
	}
	return s.deleteOrphanPayloads(ctx, tx, ids)
}
