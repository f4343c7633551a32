package bizstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// reachedKeep is how long a reached customer is remembered: the messaging
// limit looks back 24 hours, and a little more costs nothing.
const reachedKeep = 48 * time.Hour

// LastInbound implements cloudapi.Conversations.
func (s *Store) LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, error) {
	var at int64
	err := s.read(ctx).QueryRowContext(ctx, `SELECT last_inbound FROM customer_windows WHERE phone_number_id = ? AND wa_id = ?`,
		phoneNumberID, waID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return fromMS(at), nil
}

// RecordInbound implements cloudapi.Conversations; an older time than the
// one recorded changes nothing.
func (s *Store) RecordInbound(ctx context.Context, phoneNumberID, waID string, at time.Time) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO customer_windows (phone_number_id, wa_id, last_inbound) VALUES (?, ?, ?)
			ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_inbound = max(last_inbound, excluded.last_inbound)`,
			phoneNumberID, waID, ms(at))
		return err
	})
}

// Consent implements cloudapi.Conversations: the zero Consent for a
// customer never recorded.
func (s *Store) Consent(ctx context.Context, phoneNumberID, waID string) (cloudapi.Consent, error) {
	var (
		c       cloudapi.Consent
		updated int64
	)
	err := s.read(ctx).QueryRowContext(ctx, `SELECT opted_in, marketing_opt_out, updated_at FROM consents
		WHERE phone_number_id = ? AND wa_id = ?`, phoneNumberID, waID).Scan(&c.OptedIn, &c.MarketingOptOut, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return cloudapi.Consent{}, nil
	}
	if err != nil {
		return cloudapi.Consent{}, err
	}
	c.Updated = fromMS(updated)
	return c, nil
}

// SetConsent implements cloudapi.Conversations.
func (s *Store) SetConsent(ctx context.Context, phoneNumberID, waID string, c cloudapi.Consent) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO consents (phone_number_id, wa_id, opted_in, marketing_opt_out, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET opted_in = excluded.opted_in,
				marketing_opt_out = excluded.marketing_opt_out, updated_at = excluded.updated_at`,
			phoneNumberID, waID, c.OptedIn, c.MarketingOptOut, ms(c.Updated))
		return err
	})
}

// Reached implements cloudapi.Conversations.
func (s *Store) Reached(ctx context.Context, wabaID, waID string, since time.Time) (n int, includes bool, err error) {
	err = s.readTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM reached_customers WHERE waba_id = ? AND reached_at >= ?`,
			wabaID, ms(since)).Scan(&n); err != nil {
			return err
		}
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM reached_customers WHERE waba_id = ? AND wa_id = ? AND reached_at >= ?`,
			wabaID, waID, ms(since)).Scan(&one)
		includes = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return err
	})
	return n, includes, err
}

// RecordReached implements cloudapi.Conversations. It also forgets the
// business's customers reached more than reachedKeep before at.
func (s *Store) RecordReached(ctx context.Context, wabaID, waID string, at time.Time) error {
	return s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO reached_customers (waba_id, wa_id, reached_at) VALUES (?, ?, ?)
			ON CONFLICT (waba_id, wa_id) DO UPDATE SET reached_at = max(reached_at, excluded.reached_at)`,
			wabaID, waID, ms(at)); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM reached_customers WHERE waba_id = ? AND reached_at < ?`,
			wabaID, ms(at.Add(-reachedKeep)))
		return err
	})
}

// ClaimReference implements cloudapi.Conversations.
func (s *Store) ClaimReference(ctx context.Context, wabaID, referenceID, waID string) (string, error) {
	var owner string
	err := s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO order_references (waba_id, reference_id, wa_id, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, wabaID, referenceID, waID, time.Now().UnixMilli()); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `SELECT wa_id FROM order_references WHERE waba_id = ? AND reference_id = ?`,
			wabaID, referenceID).Scan(&owner)
	})
	return owner, err
}

// Reference implements cloudapi.Conversations.
func (s *Store) Reference(ctx context.Context, wabaID, referenceID string) (string, error) {
	var owner string
	err := s.read(ctx).QueryRowContext(ctx, `SELECT wa_id FROM order_references WHERE waba_id = ? AND reference_id = ?`,
		wabaID, referenceID).Scan(&owner)
	if err != nil {
		return "", noRow(err, "order reference %s", referenceID)
	}
	return owner, nil
}
