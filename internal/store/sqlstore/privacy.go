package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// PrivacySettings returns the account's settings, or the default for an
// account that never set any (or does not exist).
func (s *Store) PrivacySettings(ctx context.Context, acct types.AccountID) (store.PrivacySettings, error) {
	var ps store.PrivacySettings
	var v int64
	err := s.reader().queryRow(ctx, `SELECT last_seen FROM privacy_settings WHERE account_id = ?`, idArg(acct)).Scan(&v)
	switch {
	case err == nil:
		ps.LastSeen = store.Visibility(v)
	case !errors.Is(err, sql.ErrNoRows):
		return store.PrivacySettings{}, fmt.Errorf("sqlstore: privacy settings of %s: %w", acct, err)
	}
	rows, err := s.reader().query(ctx, `SELECT contact FROM privacy_contacts WHERE owner = ? ORDER BY contact`, idArg(acct))
	if err != nil {
		return store.PrivacySettings{}, fmt.Errorf("sqlstore: contacts of %s: %w", acct, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c types.AccountID
		if err := rows.Scan(scanAccount(&c)); err != nil {
			return store.PrivacySettings{}, fmt.Errorf("sqlstore: contacts of %s: %w", acct, err)
		}
		ps.Contacts = append(ps.Contacts, c)
	}
	if err := rows.Err(); err != nil {
		return store.PrivacySettings{}, fmt.Errorf("sqlstore: contacts of %s: %w", acct, err)
	}
	return ps, nil
}

// SetVisibility changes who sees the account's last seen. ErrNotFound if
// there is no such account.
func (s *Store) SetVisibility(ctx context.Context, acct types.AccountID, v store.Visibility) error {
	_, err := s.writer().exec(ctx, `INSERT INTO privacy_settings (account_id, last_seen) VALUES (?, ?)
		ON CONFLICT (account_id) DO UPDATE SET last_seen = excluded.last_seen`, idArg(acct), int64(v))
	if err != nil {
		return fmt.Errorf("sqlstore: set visibility of %s: %w", acct, s.mapErr(err))
	}
	return nil
}

// SetContacts replaces the account's contact list. ErrNotFound if there is
// no such account.
func (s *Store) SetContacts(ctx context.Context, acct types.AccountID, contacts []types.AccountID) error {
	cs := slices.Clone(contacts)
	slices.SortFunc(cs, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
	cs = slices.Compact(cs)
	err := s.inTx(ctx, func(tx db) error {
		// The account lock makes two replacements take turns instead of
		// leaving the union of both lists.
		if _, err := s.lockAccount(ctx, tx, acct); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM privacy_contacts WHERE owner = ?`, idArg(acct)); err != nil {
			return err
		}
		for _, part := range chunks(cs, 2) {
			args := make([]any, 0, 2*len(part))
			q := `INSERT INTO privacy_contacts (owner, contact) VALUES `
			for i, c := range part {
				if i > 0 {
					q += ", "
				}
				q += "(?, ?)"
				args = append(args, idArg(acct), idArg(c))
			}
			if _, err := tx.exec(ctx, q, args...); err != nil {
				return s.mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set contacts of %s: %w", acct, err)
	}
	return nil
}

// IsContact reports whether owner lists other as a contact.
func (s *Store) IsContact(ctx context.Context, owner, other types.AccountID) (bool, error) {
	ok, err := exists(s.reader().queryRow(ctx, `SELECT 1 FROM privacy_contacts WHERE owner = ? AND contact = ?`,
		idArg(owner), idArg(other)))
	if err != nil {
		return false, fmt.Errorf("sqlstore: is contact: %w", err)
	}
	return ok, nil
}
