package bizstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-im/parley/internal/business/webhook"
)

// WebhookQueue is the webhook sender's queue in the business database
// (migration 003; the tables the former webhook.SQLiteQueue created). Add
// joins the InTx of its ctx: a commerce.Subscriber that queues an order_status event with the
// ctx it is given commits the event with the order change, or neither.
//
// The sender's Run calls the other methods with its own ctx; Claim takes
// the writer, so it waits for an open transaction that is adding events
// and then sees them (the sender's wake-up cannot be lost to an
// uncommitted Add).
type WebhookQueue struct{ s *Store }

// WebhookQueue returns the queue; give it to webhook.New as Config.Queue.
func (s *Store) WebhookQueue() *WebhookQueue { return &WebhookQueue{s: s} }

// Add implements webhook.Queue.
func (wq *WebhookQueue) Add(ctx context.Context, ev webhook.Event, now time.Time) (bool, error) {
	var added bool
	err := wq.s.write(ctx, func(q querier) error {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM webhook_removed WHERE id = ?`, ev.ID).Scan(&one)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		body := ev.Body
		if body == nil {
			body = []byte{}
		}
		res, err := q.ExecContext(ctx, `INSERT INTO webhook_events (id, customer, body, enqueued, next_attempt)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Customer, body, ms(now), ms(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added = n == 1
		return err
	})
	return added && err == nil, err
}

// heads selects each customer's oldest event.
const heads = `SELECT e.seq, e.id, e.customer, e.body, e.enqueued, e.attempts, e.next_attempt
	FROM webhook_events e JOIN (SELECT MIN(seq) AS seq FROM webhook_events GROUP BY customer) h ON e.seq = h.seq`

// Claim implements webhook.Queue.
func (wq *WebhookQueue) Claim(ctx context.Context, now time.Time, limit int, leaseUntil time.Time) ([]webhook.Queued, error) {
	var out []webhook.Queued
	err := wq.s.write(ctx, func(q querier) error {
		out = nil
		rows, err := q.QueryContext(ctx, heads+` WHERE e.next_attempt <= ? ORDER BY e.next_attempt, e.seq LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				e         webhook.Queued
				enq, next int64
			)
			if err := rows.Scan(&e.Seq, &e.ID, &e.Customer, &e.Body, &enq, &e.Attempts, &next); err != nil {
				rows.Close()
				return err
			}
			e.Enqueued, e.NextAttempt = time.UnixMilli(enq), time.UnixMilli(next)
			out = append(out, e)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return err
		}
		for _, e := range out {
			if _, err := q.ExecContext(ctx, `UPDATE webhook_events SET next_attempt = ? WHERE seq = ?`, ms(leaseUntil), e.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NextDue implements webhook.Queue.
func (wq *WebhookQueue) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := wq.s.read(ctx).QueryRowContext(ctx, `SELECT MIN(e.next_attempt) FROM (`+heads+`) e`).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(next.Int64), true, nil
}

// Retry implements webhook.Queue.
func (wq *WebhookQueue) Retry(ctx context.Context, id string, attempts int, next time.Time) error {
	return wq.s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `UPDATE webhook_events SET attempts = ?, next_attempt = ? WHERE id = ?`, attempts, ms(next), id)
		return err
	})
}

// Remove implements webhook.Queue.
func (wq *WebhookQueue) Remove(ctx context.Context, id string, now time.Time) error {
	return wq.s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM webhook_events WHERE id = ?`, id); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO webhook_removed (id, removed) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET removed = excluded.removed`, id, ms(now))
		return err
	})
}

// Forget implements webhook.Queue.
func (wq *WebhookQueue) Forget(ctx context.Context, before time.Time) error {
	return wq.s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM webhook_removed WHERE removed < ?`, ms(before))
		return err
	})
}

// Pending is how many events wait for delivery (for status displays).
func (wq *WebhookQueue) Pending(ctx context.Context) (int, error) {
	var n int
	err := wq.s.read(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events`).Scan(&n)
	return n, err
}
