package clientstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/types"
)

// Contact is someone the user knows. The identity keys of their devices,
// and whether the user verified them, are PeerIdentities(Account).
type Contact struct {
	Account types.AccountID
	Phone   string // E.164, or empty if not known
	Name    string // display name the user chose
	// ProfileName is the name the contact chose for themselves, as their
	// messages said (SenderProfile); shown when the user gave no Name.
	ProfileName string
}

// contactHash keys a contact: the hash of the account's session name, the
// same value as identities.name_hash of its devices.
func (s *Store) contactHash(a types.AccountID) []byte { return s.nameHash(a.String()) }

func (s *Store) phoneHash(phone string) []byte { return s.keys.hash(labelPhone, []byte(phone)) }

// SaveContact adds or updates c. A phone number another contact had moves
// to c (numbers get reassigned); that contact keeps its name.
func (s *Store) SaveContact(ctx context.Context, c Contact) error {
	if c.Account.IsZero() {
		return fmt.Errorf("%w: contact without account id", ErrInvalid)
	}
	if c.Phone != "" {
		if p, err := types.ParsePhone(c.Phone); err != nil || p != c.Phone {
			return fmt.Errorf("%w: phone number is not E.164", ErrInvalid)
		}
	}
	if len(c.Name) > maxShortText || len(c.Phone) > maxShortText {
		return fmt.Errorf("%w: contact name longer than %d bytes", ErrInvalid, maxShortText)
	}
	if len(c.ProfileName) > MaxProfileName || !utf8.ValidString(c.ProfileName) || !utf8.ValidString(c.Name) {
		return fmt.Errorf("%w: contact name not UTF-8 or profile name longer than %d bytes", ErrInvalid, MaxProfileName)
	}
	return s.write(ctx, func(q querier) error {
		var phoneHash any
		if c.Phone != "" {
			ph := s.phoneHash(c.Phone)
			phoneHash = ph
			other, err := s.contactWhere(ctx, q, `phone_hash = ?`, ph)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err == nil && other.Account != c.Account {
				other.Phone = ""
				if err := s.putContact(ctx, q, other, nil); err != nil {
					return err
				}
			}
		}
		return s.putContact(ctx, q, c, phoneHash)
	})
}

func (s *Store) putContact(ctx context.Context, q querier, c Contact, phoneHash any) error {
	ah := s.contactHash(c.Account)
	sealed := s.keys.seal(encodeContact(&c), labelContact, ah)
	_, err := q.ExecContext(ctx, `INSERT INTO contacts (account_hash, phone_hash, sealed) VALUES (?, ?, ?)
		ON CONFLICT (account_hash) DO UPDATE SET phone_hash = excluded.phone_hash, sealed = excluded.sealed`, ah, phoneHash, sealed)
	return err
}

// Contact returns the contact with account id a, or ErrNotFound.
func (s *Store) Contact(ctx context.Context, a types.AccountID) (Contact, error) {
	c, err := s.contactWhere(ctx, s.read(ctx), `account_hash = ?`, s.contactHash(a))
	if err == nil && c.Account != a {
		err = fmt.Errorf("%w: contact row does not match its key", ErrCorrupt)
	}
	return c, err
}

// ContactByPhone returns the contact with this E.164 number, or
// ErrNotFound.
func (s *Store) ContactByPhone(ctx context.Context, phone string) (Contact, error) {
	c, err := s.contactWhere(ctx, s.read(ctx), `phone_hash = ?`, s.phoneHash(phone))
	if err == nil && c.Phone != phone {
		// The phone hash is not part of the sealed row's identity (it moves
		// between contacts), so the answer is checked instead.
		err = fmt.Errorf("%w: contact row does not match its phone", ErrCorrupt)
	}
	return c, err
}

func (s *Store) contactWhere(ctx context.Context, q querier, where string, arg any) (Contact, error) {
	var ah, sealed []byte
	err := q.QueryRowContext(ctx, `SELECT account_hash, sealed FROM contacts WHERE `+where, arg).Scan(&ah, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, fmt.Errorf("%w: contact", ErrNotFound)
	}
	if err != nil {
		return Contact{}, fmt.Errorf("clientstore: read contact: %w", err)
	}
	pt, err := s.keys.open(sealed, labelContact, ah)
	if err != nil {
		return Contact{}, err
	}
	return decodeContact(pt)
}

// Contacts returns every contact, by name, then phone.
func (s *Store) Contacts(ctx context.Context) ([]Contact, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT account_hash, sealed FROM contacts`)
	if err != nil {
		return nil, fmt.Errorf("clientstore: read contacts: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var ah, sealed []byte
		if err := rows.Scan(&ah, &sealed); err != nil {
			return nil, err
		}
		pt, err := s.keys.open(sealed, labelContact, ah)
		if err != nil {
			return nil, err
		}
		c, err := decodeContact(pt)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Contact) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Phone, b.Phone)
	})
	return out, rows.Err()
}
