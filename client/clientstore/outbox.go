package clientstore

import (
	"context"
	"fmt"
	"time"
)

// OutboxItem is a send the server has not accepted yet. Payload is the
// client's own serialisation of what to send (destination and plaintext
// content, say: it is encrypted when sent, with the session state of that
// moment), sealed at rest like message content.
type OutboxItem struct {
	ID          int64
	Payload     []byte
	CreatedAt   time.Time
	Attempts    int       // failed attempts so far
	NextAttempt time.Time // not before then
}

// MaxOutboxPayload bounds one outbox payload.
const MaxOutboxPayload = 2 << 20

// AddOutbox queues payload for sending, due at once, and returns the item's
// id. Call it in the same InTx as AddMessage, so that a message shown as
// pending is always one that will be sent.
func (s *Store) AddOutbox(ctx context.Context, payload []byte, now time.Time) (int64, error) {
	if len(payload) == 0 || len(payload) > MaxOutboxPayload {
		return 0, fmt.Errorf("%w: outbox payload of %d bytes", ErrInvalid, len(payload))
	}
	var id int64
	err := s.write(ctx, func(q querier) error {
		// The id is part of the sealed value's identity, so the row is
		// inserted first and sealed once the id is known.
		if err := q.QueryRowContext(ctx, `INSERT INTO outbox (created_at, next_attempt_at, sealed) VALUES (?, ?, x'') RETURNING id`,
			ms(now), ms(now)).Scan(&id); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `UPDATE outbox SET sealed = ? WHERE id = ?`, s.keys.seal(payload, labelOutbox, u64(id)), id)
		return err
	})
	return id, err
}

// DueOutbox returns up to limit items whose next attempt is due at now,
// oldest first (the order they were queued in).
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	if limit < 1 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT id, created_at, attempts, next_attempt_at, sealed FROM outbox
		WHERE next_attempt_at <= ? ORDER BY id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("clientstore: read outbox: %w", err)
	}
	var out []OutboxItem
	err = eachRow(rows, func() error {
		var it OutboxItem
		var created, next int64
		var sealed []byte
		if err := rows.Scan(&it.ID, &created, &it.Attempts, &next, &sealed); err != nil {
			return err
		}
		pt, err := s.keys.open(sealed, labelOutbox, u64(it.ID))
		if err != nil {
			return err
		}
		it.Payload, it.CreatedAt, it.NextAttempt = pt, fromMS(created), fromMS(next)
		out = append(out, it)
		return nil
	})
	return out, err
}

// RetryOutbox records a failed attempt of item id and when to try again
// (the client chooses the back-off from Attempts).
func (s *Store) RetryOutbox(ctx context.Context, id int64, next time.Time) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?`, ms(next), id)
		if err != nil {
			return err
		}
		return one(res, fmt.Sprintf("outbox item %d", id))
	})
}

// RemoveOutbox deletes item id: the server accepted it (or the client gave
// up). Removing an item that is gone is not an error, since the server may
// have accepted a retry of it already.
func (s *Store) RemoveOutbox(ctx context.Context, id int64) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id)
		return err
	})
}
