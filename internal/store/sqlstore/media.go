package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

const uploadColumns = `id, owner_account, owner_device, blob_size, sha256, chunk_size, committed_bytes,
	downloads, fetched, created_at, expires_at, done_at`

func scanUpload(row interface{ Scan(...any) error }) (store.Upload, error) {
	var u store.Upload
	var dev, downloads, fetched, created, expires, done int64
	err := row.Scan((*id16)(&u.ID), scanAccount(&u.Owner.Account), &dev, &u.Size, &u.SHA256, &u.ChunkSize, &u.Committed,
		&downloads, &fetched, &created, &expires, &done)
	u.Owner.Device = types.DeviceID(dev)
	u.Downloads, u.Fetched = int(downloads), int(fetched)
	u.CreatedAt, u.ExpiresAt, u.DoneAt = fromMS(created), fromMS(expires), fromMS(done)
	return u, err
}

// CreateUpload stores a new upload.
func (s *Store) CreateUpload(ctx context.Context, u store.Upload) error {
	_, err := s.writer().exec(ctx, `INSERT INTO media_uploads (`+uploadColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, ?, ?, 0)`,
		u.ID[:], idArg(u.Owner.Account), int64(u.Owner.Device), u.Size, nonNil(u.SHA256), u.ChunkSize,
		int64(u.Downloads), ms(u.CreatedAt), ms(u.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create upload %s: %w", u.ID, s.mapErr(err))
	}
	return nil
}

// Upload returns one upload.
func (s *Store) Upload(ctx context.Context, id store.MediaID) (store.Upload, error) {
	u, err := scanUpload(s.reader().queryRow(ctx, `SELECT `+uploadColumns+` FROM media_uploads WHERE id = ?`, id[:]))
	if err != nil {
		return store.Upload{}, fmt.Errorf("sqlstore: upload %s: %w", id, s.mapErr(err))
	}
	return u, nil
}

// CommitUpload advances the committed offset with one conditional update,
// so that of two writers of the same offset exactly one wins.
func (s *Store) CommitUpload(ctx context.Context, id store.MediaID, from, to int64, expires time.Time) (store.Upload, error) {
	var u store.Upload
	err := s.inTx(ctx, func(tx db) error {
		n, err := tx.execN(ctx, `UPDATE media_uploads SET committed_bytes = ?,
			expires_at = CASE WHEN blob_size = ? THEN ? ELSE expires_at END
			WHERE id = ? AND committed_bytes = ? AND ? <= blob_size`,
			to, to, ms(expires), id[:], from, to)
		if err != nil {
			return err
		}
		u, err = scanUpload(tx.queryRow(ctx, `SELECT `+uploadColumns+` FROM media_uploads WHERE id = ?`, id[:]))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		err = s.mapErr(err)
		if errors.Is(err, store.ErrConflict) {
			return u, fmt.Errorf("sqlstore: commit upload %s at %d: %w", id, from, err)
		}
		return store.Upload{}, fmt.Errorf("sqlstore: commit upload %s: %w", id, err)
	}
	return u, nil
}

// RecordDownload inserts the device's row and counts it if it is new.
func (s *Store) RecordDownload(ctx context.Context, id store.MediaID, dev types.Address, now time.Time) (store.Upload, error) {
	var u store.Upload
	err := s.inTx(ctx, func(tx db) error {
		n, err := tx.execN(ctx, `INSERT INTO media_downloads (media_id, account_id, device_id) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, id[:], idArg(dev.Account), int64(dev.Device))
		if err != nil {
			return err
		}
		if n > 0 {
			// The update locks the upload's row, so concurrent downloads
			// are counted one after the other.
			if _, err := tx.exec(ctx, `UPDATE media_uploads SET fetched = fetched + 1,
				done_at = CASE WHEN done_at = 0 AND downloads > 0 AND fetched + 1 >= downloads THEN ? ELSE done_at END
				WHERE id = ?`, ms(now), id[:]); err != nil {
				return err
			}
		}
		u, err = scanUpload(tx.queryRow(ctx, `SELECT `+uploadColumns+` FROM media_uploads WHERE id = ?`, id[:]))
		return err
	})
	if err != nil {
		return store.Upload{}, fmt.Errorf("sqlstore: record download of %s: %w", id, s.mapErr(err))
	}
	return u, nil
}

// DueUploads lists expired and fully fetched uploads, oldest deadline first.
func (s *Store) DueUploads(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]store.Upload, error) {
	rows, err := s.reader().query(ctx, `SELECT `+uploadColumns+` FROM media_uploads
		WHERE expires_at <= ? OR (done_at > 0 AND done_at <= ?)
		ORDER BY expires_at LIMIT ?`, ms(now), ms(now.Add(-grace)), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: due uploads: %w", err)
	}
	defer rows.Close()
	var out []store.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: due uploads: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: due uploads: %w", err)
	}
	return out, nil
}

// DeleteUpload removes the upload; its download rows go with it.
func (s *Store) DeleteUpload(ctx context.Context, id store.MediaID) error {
	err := s.inTx(ctx, func(tx db) error {
		// Explicit, not only ON DELETE CASCADE: a SQLite connection without
		// foreign keys on would leave them behind.
		if _, err := tx.exec(ctx, `DELETE FROM media_downloads WHERE media_id = ?`, id[:]); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM media_uploads WHERE id = ?`, id[:])
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete upload %s: %w", id, err)
	}
	return nil
}

// MediaKey keeps the first candidate any node offered.
func (s *Store) MediaKey(ctx context.Context, candidate []byte) ([]byte, error) {
	var key []byte
	err := s.inTx(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `INSERT INTO media_keys (name, secret) VALUES ('token', ?) ON CONFLICT (name) DO NOTHING`,
			nonNil(candidate)); err != nil {
			return err
		}
		return tx.queryRow(ctx, `SELECT secret FROM media_keys WHERE name = 'token'`).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: media key: %w", err)
	}
	return key, nil
}
