package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/store"
)

// Codes are never named in errors or logs by key: a registration code's key
// is a phone number.

// PutCode stores c, replacing an earlier code with the same purpose and key
// together with its attempt count.
func (s *Store) PutCode(ctx context.Context, c store.Code) error {
	_, err := s.writer().exec(ctx, `INSERT INTO codes (purpose, code_key, hash, account_id, expires_at, attempts)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (purpose, code_key) DO UPDATE SET
			hash = excluded.hash, account_id = excluded.account_id,
			expires_at = excluded.expires_at, attempts = excluded.attempts`,
		int64(c.Purpose), c.Key, nonNil(c.Hash), nullID(c.Account), ms(c.ExpiresAt), int64(c.Attempts))
	if err != nil {
		return fmt.Errorf("sqlstore: put code: %w", s.mapErr(err))
	}
	return nil
}

// CheckCode counts an attempt on the code and returns it, with Attempts
// including this one.
func (s *Store) CheckCode(ctx context.Context, p store.CodePurpose, key string, maxAttempts int, now time.Time) (store.Code, error) {
	nowMS := now.UnixMilli()
	var c store.Code
	err := s.inTx(ctx, func(tx db) error {
		c = store.Code{Purpose: p, Key: key}
		var expires, attempts int64
		// One statement decides and counts, so concurrent guesses cannot
		// together get more than maxAttempts tries.
		err := tx.queryRow(ctx, `UPDATE codes SET attempts = attempts + 1
			WHERE purpose = ? AND code_key = ? AND expires_at > ? AND attempts < ?
			RETURNING hash, account_id, expires_at, attempts`,
			int64(p), key, nowMS, int64(maxAttempts)).Scan(&c.Hash, scanAccount(&c.Account), &expires, &attempts)
		if err == nil {
			c.ExpiresAt, c.Attempts = fromMS(expires), int(attempts)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Not counted: find out why.
		err = tx.queryRow(ctx, `SELECT expires_at FROM codes WHERE purpose = ? AND code_key = ?`, int64(p), key).Scan(&expires)
		switch {
		case errors.Is(err, sql.ErrNoRows), err == nil && expires <= nowMS:
			return store.ErrNotFound
		case err != nil:
			return err
		}
		return store.ErrCodeAttempts
	})
	if err != nil {
		return store.Code{}, fmt.Errorf("sqlstore: check code: %w", err)
	}
	return c, nil
}

// DeleteCode removes a code. ErrNotFound if there was none, which tells the
// second of two concurrent users of one code that it lost.
func (s *Store) DeleteCode(ctx context.Context, p store.CodePurpose, key string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM codes WHERE purpose = ? AND code_key = ?`, int64(p), key)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete code: %w", err)
	}
	return nil
}
