package bizstore

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/business/payment"
)

const chargeColumns = `id, reference, amount, currency, status, method, pix_code, pix_merchant_name, pix_key,
	pix_key_type, upi_link, failure_reason, created_at, updated_at`

func scanCharge(sc scanner) (payment.Charge, error) {
	var (
		c                        payment.Charge
		id, cur, status, method  string
		created, updated, amount int64
	)
	if err := sc.Scan(&id, &c.Reference, &amount, &cur, &status, &method, &c.Pix.Code, &c.Pix.MerchantName,
		&c.Pix.Key, &c.Pix.KeyType, &c.UPI.Link, &c.FailureReason, &created, &updated); err != nil {
		return payment.Charge{}, err
	}
	c.ID, c.Amount = payment.ChargeID(id), payment.Money{Minor: amount, Currency: payment.Currency(cur)}
	c.Status, c.Method = payment.Status(status), payment.Method(method)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, nil
}

// InsertCharge implements payment.Store. A taken id and a second live
// charge for a reference are both payment.ErrConflict; the unique index on
// live references decides between concurrent inserts.
func (s *Store) InsertCharge(ctx context.Context, c payment.Charge) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO payment_charges (`+chargeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			string(c.ID), c.Reference, c.Amount.Minor, string(c.Amount.Currency), string(c.Status), string(c.Method),
			c.Pix.Code, c.Pix.MerchantName, c.Pix.Key, c.Pix.KeyType, c.UPI.Link, c.FailureReason,
			ms(c.CreatedAt), ms(c.UpdatedAt))
		if isUnique(err) {
			return fmt.Errorf("%w: charge %s, or a live charge of reference %s, exists", payment.ErrConflict, c.ID, c.Reference)
		}
		return err
	})
}

// Charge implements payment.Store.
func (s *Store) Charge(ctx context.Context, id payment.ChargeID) (payment.Charge, error) {
	c, err := scanCharge(s.read(ctx).QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM payment_charges WHERE id = ?`, string(id)))
	if err != nil {
		return payment.Charge{}, noRow(err, "charge %s", id)
	}
	return c, nil
}

// LiveCharge implements payment.Store.
func (s *Store) LiveCharge(ctx context.Context, reference string) (payment.Charge, error) {
	c, err := scanCharge(s.read(ctx).QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM payment_charges
		WHERE reference = ? AND status <> 'failed'`, reference))
	if err != nil {
		return payment.Charge{}, noRow(err, "live charge of %s", reference)
	}
	return c, nil
}

// SettleCharge implements payment.Store. The read and the update are one
// write transaction, and the store has one writer: of concurrent calls
// exactly one sees the charge pending.
func (s *Store) SettleCharge(ctx context.Context, id payment.ChargeID, to payment.Status, reason string, at time.Time) (payment.Charge, bool, error) {
	if !to.Final() {
		return payment.Charge{}, false, fmt.Errorf("%w: cannot settle to %q", payment.ErrInvalidRequest, to)
	}
	var (
		c       payment.Charge
		changed bool
	)
	err := s.write(ctx, func(q querier) error {
		var err error
		c, err = scanCharge(q.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM payment_charges WHERE id = ?`, string(id)))
		if err != nil {
			return noRow(err, "charge %s", id)
		}
		switch {
		case c.Status == to:
			return nil
		case c.Status != payment.StatusPending:
			return fmt.Errorf("%w: charge %s is already %s", payment.ErrConflict, id, c.Status)
		}
		c.Status, c.UpdatedAt = to, fromMS(ms(at))
		if to == payment.StatusFailed {
			c.FailureReason = reason
		}
		if _, err := q.ExecContext(ctx, `UPDATE payment_charges SET status = ?, failure_reason = ?, updated_at = ? WHERE id = ?`,
			string(c.Status), c.FailureReason, ms(c.UpdatedAt), string(id)); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		// A conflict still reports the charge as it is, as MemStore does.
		return c, false, err
	}
	return c, changed, nil
}
