package clientstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/session"
)

// Prekey ids are 24-bit, as libsignal's apps make them (Medium.MAX_VALUE):
// each kind counts up from a random start and wraps from MaxPreKeyID to 1.
// 0 is never used, and an id still held by a stored key is skipped.
const MaxPreKeyID = 1<<24 - 1

// MaxPreKeyBatch is the most one-time keys of one kind that one upload
// carries (the server's limit per SetPreKeys).
const MaxPreKeyBatch = 200

// Prekey id spaces (the prekeys.space column).
const (
	spaceEC     = 1 // one-time EC prekeys
	spaceSigned = 2 // signed EC prekeys
	spaceKyber  = 3 // Kyber prekeys, one-time and last resort
)

func preKeyAD(space int, id uint32, lastResort bool) [][]byte {
	lr := []byte{0}
	if lastResort {
		lr[0] = 1
	}
	return [][]byte{labelPreKey, {byte(space)}, binary.BigEndian.AppendUint32(nil, id), lr}
}

// preKeyRow is one prekeys row, opened.
type preKeyRow struct {
	id         uint32
	lastResort bool
	created    time.Time
	secrets    preKeySecrets
}

// loadPreKeys runs a query for (id, last_resort, created_at, sealed) rows of
// one space and opens them.
func (s *Store) loadPreKeys(ctx context.Context, q querier, space int, query string, args ...any) ([]preKeyRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("clientstore: read prekeys: %w", err)
	}
	defer rows.Close()
	var out []preKeyRow
	for rows.Next() {
		var r preKeyRow
		var created int64
		var sealed []byte
		if err := rows.Scan(&r.id, &r.lastResort, &created, &sealed); err != nil {
			return nil, err
		}
		pt, err := s.keys.open(sealed, preKeyAD(space, r.id, r.lastResort)...)
		if err != nil {
			return nil, err
		}
		if r.secrets, err = decodePreKey(pt); err != nil {
			return nil, err
		}
		r.created = fromMS(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

const preKeyColumns = `SELECT id, last_resort, created_at, sealed FROM prekeys `

// loadPreKey returns one row, or an error wrapping session.ErrNoPreKey.
func (s *Store) loadPreKey(ctx context.Context, q querier, space int, id uint32, what string) (preKeyRow, error) {
	rows, err := s.loadPreKeys(ctx, q, space, preKeyColumns+`WHERE space = ? AND id = ?`, space, id)
	if err != nil {
		return preKeyRow{}, err
	}
	if len(rows) == 0 {
		return preKeyRow{}, fmt.Errorf("%w: clientstore: %s %d", session.ErrNoPreKey, what, id)
	}
	return rows[0], nil
}

// LoadPreKey implements session.PreKeyStore.
func (s *Store) LoadPreKey(ctx context.Context, id uint32) (session.PreKeyRecord, error) {
	r, err := s.loadPreKey(ctx, s.read(ctx), spaceEC, id, "prekey")
	if err != nil {
		return session.PreKeyRecord{}, err
	}
	return r.secrets.preKey(r.id)
}

// RemovePreKey implements session.PreKeyStore. Removing an unknown id is
// not an error.
func (s *Store) RemovePreKey(ctx context.Context, id uint32) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM prekeys WHERE space = ? AND id = ?`, spaceEC, id)
		return err
	})
}

// LoadSignedPreKey implements session.SignedPreKeyStore. Replaced signed
// prekeys stay loadable for the grace period.
func (s *Store) LoadSignedPreKey(ctx context.Context, id uint32) (session.SignedPreKeyRecord, error) {
	r, err := s.loadPreKey(ctx, s.read(ctx), spaceSigned, id, "signed prekey")
	if err != nil {
		return session.SignedPreKeyRecord{}, err
	}
	return r.secrets.signedPreKey(r.id, r.created)
}

// LoadKyberPreKey implements session.KyberPreKeyStore.
func (s *Store) LoadKyberPreKey(ctx context.Context, id uint32) (session.KyberPreKeyRecord, error) {
	r, err := s.loadPreKey(ctx, s.read(ctx), spaceKyber, id, "Kyber prekey")
	if err != nil {
		return session.KyberPreKeyRecord{}, err
	}
	return r.secrets.kyberPreKey(r.id, r.created, r.lastResort)
}

// MarkKyberPreKeyUsed implements session.KyberPreKeyStore: a one-time key
// is deleted; for a last-resort key the (signed prekey, base key) pair is
// remembered and a repeat fails with session.ErrPreKeyReused.
func (s *Store) MarkKyberPreKeyUsed(ctx context.Context, id, signedPreKeyID uint32, baseKey curve.PublicKey) error {
	return s.write(ctx, func(q querier) error {
		var lastResort bool
		err := q.QueryRowContext(ctx, `SELECT last_resort FROM prekeys WHERE space = ? AND id = ?`, spaceKyber, id).Scan(&lastResort)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: clientstore: Kyber prekey %d", session.ErrNoPreKey, id)
		}
		if err != nil {
			return err
		}
		if !lastResort {
			_, err := q.ExecContext(ctx, `DELETE FROM prekeys WHERE space = ? AND id = ?`, spaceKyber, id)
			return err
		}
		_, err = q.ExecContext(ctx, `INSERT INTO kyber_uses (prekey_id, signed_prekey_id, base_key_hash) VALUES (?, ?, ?)`,
			id, signedPreKeyID, s.keys.hash(labelKyberUse, baseKey[:]))
		if isUnique(err) {
			return fmt.Errorf("%w: clientstore: Kyber prekey %d", session.ErrPreKeyReused, id)
		}
		return err
	})
}

// allocIDs hands out n unused ids of space and advances its counter.
func allocIDs(ctx context.Context, q querier, space, n int) ([]uint32, error) {
	var next int64
	err := q.QueryRowContext(ctx, `SELECT next_id FROM prekey_ids WHERE space = ?`, space).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		r, err := rand.Int(rand.Reader, big.NewInt(MaxPreKeyID))
		if err != nil {
			return nil, err
		}
		next = r.Int64() + 1
	} else if err != nil {
		return nil, err
	}
	if next < 1 || next > MaxPreKeyID {
		next = 1
	}
	ids := make([]uint32, 0, n)
	for tried := 0; len(ids) < n; tried++ {
		if tried >= MaxPreKeyID {
			return nil, fmt.Errorf("%w: every prekey id is in use", ErrInvalid)
		}
		id := next
		next = next%MaxPreKeyID + 1
		var used int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM prekeys WHERE space = ? AND id = ?`, space, id).Scan(&used); err != nil {
			return nil, err
		}
		if used == 0 {
			ids = append(ids, uint32(id))
		}
	}
	_, err = q.ExecContext(ctx, `INSERT INTO prekey_ids (space, next_id) VALUES (?, ?)
		ON CONFLICT (space) DO UPDATE SET next_id = excluded.next_id`, space, next)
	return ids, err
}

func (s *Store) insertPreKey(ctx context.Context, q querier, space int, id uint32, lastResort bool, created time.Time, secret []byte) error {
	sealed := s.keys.seal(secret, preKeyAD(space, id, lastResort)...)
	_, err := q.ExecContext(ctx, `INSERT INTO prekeys (space, id, last_resort, created_at, sealed) VALUES (?, ?, ?, ?, ?)`,
		space, id, lastResort, ms(created), sealed)
	return err
}

func checkBatch(n int) error {
	if n < 1 || n > MaxPreKeyBatch {
		return fmt.Errorf("%w: batch of %d prekeys, want 1..%d", ErrInvalid, n, MaxPreKeyBatch)
	}
	return nil
}

// GeneratePreKeys creates n (1..MaxPreKeyBatch) one-time EC prekeys with
// the next ids and stores them as unpublished.
func (s *Store) GeneratePreKeys(ctx context.Context, n int, now time.Time) ([]session.PreKeyRecord, error) {
	if err := checkBatch(n); err != nil {
		return nil, err
	}
	recs := make([]session.PreKeyRecord, n)
	for i := range recs {
		var err error
		if recs[i], err = session.NewPreKey(rand.Reader, 0); err != nil {
			return nil, err
		}
	}
	created := fromMS(ms(now))
	err := s.write(ctx, func(q querier) error {
		ids, err := allocIDs(ctx, q, spaceEC, n)
		if err != nil {
			return err
		}
		for i := range recs {
			recs[i].ID = ids[i]
			if err := s.insertPreKey(ctx, q, spaceEC, ids[i], false, created, encodeECPreKey(recs[i].KeyPair, nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// GenerateKyberPreKeys creates n (1..MaxPreKeyBatch) one-time Kyber
// prekeys, signed by the account's identity key, and stores them as
// unpublished.
func (s *Store) GenerateKyberPreKeys(ctx context.Context, n int, now time.Time) ([]session.KyberPreKeyRecord, error) {
	if err := checkBatch(n); err != nil {
		return nil, err
	}
	identity, err := s.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	created := fromMS(ms(now))
	recs := make([]session.KyberPreKeyRecord, n)
	for i := range recs {
		if recs[i], err = session.NewKyberPreKey(rand.Reader, identity, 0, created, false); err != nil {
			return nil, err
		}
	}
	err = s.write(ctx, func(q querier) error {
		ids, err := allocIDs(ctx, q, spaceKyber, n)
		if err != nil {
			return err
		}
		for i := range recs {
			recs[i].ID = ids[i]
			if err := s.insertPreKey(ctx, q, spaceKyber, ids[i], false, created, encodeKyberPreKey(recs[i].KeyPair, recs[i].Signature)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// RotateSignedPreKeys makes a new signed EC prekey and a new last-resort
// Kyber prekey current (unpublished until MarkPublished). The previous ones
// stay loadable for the grace period (Options.KeyGrace), so session starts
// already on their way still work. The first call creates the keys a
// registration needs.
func (s *Store) RotateSignedPreKeys(ctx context.Context, now time.Time) (session.SignedPreKeyRecord, session.KyberPreKeyRecord, error) {
	identity, err := s.IdentityKeyPair(ctx)
	if err != nil {
		return session.SignedPreKeyRecord{}, session.KyberPreKeyRecord{}, err
	}
	created := fromMS(ms(now))
	spk, err := session.NewSignedPreKey(rand.Reader, identity, 0, created)
	if err != nil {
		return session.SignedPreKeyRecord{}, session.KyberPreKeyRecord{}, err
	}
	kyber, err := session.NewKyberPreKey(rand.Reader, identity, 0, created, true)
	if err != nil {
		return session.SignedPreKeyRecord{}, session.KyberPreKeyRecord{}, err
	}
	err = s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE prekeys SET retired_at = ?
			WHERE retired_at = 0 AND (space = ? OR (space = ? AND last_resort))`, ms(now), spaceSigned, spaceKyber); err != nil {
			return err
		}
		spkIDs, err := allocIDs(ctx, q, spaceSigned, 1)
		if err != nil {
			return err
		}
		kyberIDs, err := allocIDs(ctx, q, spaceKyber, 1)
		if err != nil {
			return err
		}
		spk.ID, kyber.ID = spkIDs[0], kyberIDs[0]
		if err := s.insertPreKey(ctx, q, spaceSigned, spk.ID, false, created, encodeECPreKey(spk.KeyPair, &spk.Signature)); err != nil {
			return err
		}
		if err := s.insertPreKey(ctx, q, spaceKyber, kyber.ID, true, created, encodeKyberPreKey(kyber.KeyPair, kyber.Signature)); err != nil {
			return err
		}
		return s.prune(ctx, q, now)
	})
	if err != nil {
		return session.SignedPreKeyRecord{}, session.KyberPreKeyRecord{}, err
	}
	return spk, kyber, nil
}

// CurrentSignedPreKeys returns the current signed prekey and last-resort
// Kyber prekey (their Timestamp tells when to rotate), or ErrNotFound
// before the first RotateSignedPreKeys.
func (s *Store) CurrentSignedPreKeys(ctx context.Context) (session.SignedPreKeyRecord, session.KyberPreKeyRecord, error) {
	var spk session.SignedPreKeyRecord
	var kyber session.KyberPreKeyRecord
	err := s.readTx(ctx, func(q querier) error {
		var err error
		spk, kyber, err = s.currentSigned(ctx, q, false)
		return err
	})
	return spk, kyber, err
}

// currentSigned loads the current signed keys; onlyUnpublished skips them
// once published (ErrNotFound then means "nothing to publish").
func (s *Store) currentSigned(ctx context.Context, q querier, onlyUnpublished bool) (session.SignedPreKeyRecord, session.KyberPreKeyRecord, error) {
	cond := ""
	if onlyUnpublished {
		cond = " AND published_at = 0"
	}
	spks, err := s.loadPreKeys(ctx, q, spaceSigned, preKeyColumns+`WHERE space = ? AND retired_at = 0`+cond, spaceSigned)
	if err != nil {
		return session.SignedPreKeyRecord{}, session.KyberPreKeyRecord{}, err
	}
	kybers, err := s.loadPreKeys(ctx, q, spaceKyber, preKeyColumns+`WHERE space = ? AND last_resort AND retired_at = 0`+cond, spaceKyber)
	if err != nil {
		return session.SignedPreKeyRecord{}, session.KyberPreKeyRecord{}, err
	}
	var spk session.SignedPreKeyRecord
	var kyber session.KyberPreKeyRecord
	if len(spks) > 0 {
		if spk, err = spks[0].secrets.signedPreKey(spks[0].id, spks[0].created); err != nil {
			return spk, kyber, err
		}
	}
	if len(kybers) > 0 {
		if kyber, err = kybers[0].secrets.kyberPreKey(kybers[0].id, kybers[0].created, true); err != nil {
			return spk, kyber, err
		}
	}
	if len(spks) == 0 && len(kybers) == 0 && !onlyUnpublished {
		return spk, kyber, fmt.Errorf("%w: no signed prekeys yet", ErrNotFound)
	}
	return spk, kyber, nil
}

// PreKeyUpload is what to send in one SetPreKeys (or Register): the current
// signed and last-resort keys if they are not published yet, and unpublished
// one-time keys, at most MaxPreKeyBatch of each kind, oldest first.
type PreKeyUpload struct {
	SignedPreKey    *session.SignedPreKeyRecord
	LastResortKyber *session.KyberPreKeyRecord
	PreKeys         []session.PreKeyRecord
	KyberPreKeys    []session.KyberPreKeyRecord
}

// Empty reports whether there is nothing to upload.
func (u PreKeyUpload) Empty() bool {
	return u.SignedPreKey == nil && u.LastResortKyber == nil && len(u.PreKeys) == 0 && len(u.KyberPreKeys) == 0
}

// Unpublished returns the keys that the server does not have yet.
func (s *Store) Unpublished(ctx context.Context) (PreKeyUpload, error) {
	var u PreKeyUpload
	err := s.readTx(ctx, func(q querier) error {
		spk, kyber, err := s.currentSigned(ctx, q, true)
		if err != nil {
			return err
		}
		if spk.ID != 0 {
			u.SignedPreKey = &spk
		}
		if kyber.ID != 0 {
			u.LastResortKyber = &kyber
		}
		const oneTime = `WHERE space = ? AND NOT last_resort AND published_at = 0 AND retired_at = 0 ORDER BY created_at, id LIMIT ?`
		ec, err := s.loadPreKeys(ctx, q, spaceEC, preKeyColumns+oneTime, spaceEC, MaxPreKeyBatch)
		if err != nil {
			return err
		}
		for _, r := range ec {
			rec, err := r.secrets.preKey(r.id)
			if err != nil {
				return err
			}
			u.PreKeys = append(u.PreKeys, rec)
		}
		ky, err := s.loadPreKeys(ctx, q, spaceKyber, preKeyColumns+oneTime, spaceKyber, MaxPreKeyBatch)
		if err != nil {
			return err
		}
		for _, r := range ky {
			rec, err := r.secrets.kyberPreKey(r.id, r.created, false)
			if err != nil {
				return err
			}
			u.KyberPreKeys = append(u.KyberPreKeys, rec)
		}
		return nil
	})
	return u, err
}

// MarkPublished records that the server accepted u. As the server replaces
// its unclaimed one-time keys of a kind by a non-empty new list, the
// one-time keys of that kind published before are retired: they stay
// loadable for the grace period (a bundle with one may have been handed out
// already) and are then deleted, as are signed and last-resort keys
// replaced longer ago than that.
func (s *Store) MarkPublished(ctx context.Context, u PreKeyUpload, now time.Time) error {
	at := ms(now)
	return s.write(ctx, func(q querier) error {
		mark := func(space int, lastResort bool, ids []uint32) error {
			if len(ids) == 0 {
				return nil
			}
			if space == spaceEC || (space == spaceKyber && !lastResort) {
				if _, err := q.ExecContext(ctx, `UPDATE prekeys SET retired_at = ?
					WHERE space = ? AND NOT last_resort AND published_at > 0 AND retired_at = 0`, at, space); err != nil {
					return err
				}
			}
			for _, id := range ids {
				if _, err := q.ExecContext(ctx, `UPDATE prekeys SET published_at = ? WHERE space = ? AND id = ? AND last_resort = ?`,
					at, space, id, lastResort); err != nil {
					return err
				}
			}
			return nil
		}
		if u.SignedPreKey != nil {
			if err := mark(spaceSigned, false, []uint32{u.SignedPreKey.ID}); err != nil {
				return err
			}
		}
		if u.LastResortKyber != nil {
			if err := mark(spaceKyber, true, []uint32{u.LastResortKyber.ID}); err != nil {
				return err
			}
		}
		ids := make([]uint32, len(u.PreKeys))
		for i, r := range u.PreKeys {
			ids[i] = r.ID
		}
		if err := mark(spaceEC, false, ids); err != nil {
			return err
		}
		ids = make([]uint32, len(u.KyberPreKeys))
		for i, r := range u.KyberPreKeys {
			ids[i] = r.ID
		}
		if err := mark(spaceKyber, false, ids); err != nil {
			return err
		}
		return s.prune(ctx, q, now)
	})
}

// prune deletes keys retired longer than the grace period ago, and the
// replay records of last-resort keys that are gone.
func (s *Store) prune(ctx context.Context, q querier, now time.Time) error {
	res, err := q.ExecContext(ctx, `DELETE FROM prekeys WHERE retired_at > 0 AND retired_at <= ?`, ms(now.Add(-s.grace)))
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM kyber_uses WHERE prekey_id NOT IN (SELECT id FROM prekeys WHERE space = ?)`, spaceKyber); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.log.Debug("pruned replaced prekeys", "count", n)
	}
	return nil
}
