package bizstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// InlineMediaMax is the largest file kept inside the database; larger ones
// go to MediaDir (see the package comment for why 100 KiB).
const InlineMediaMax = 100 << 10

// MediaDir is the directory, beside the database file, of large media.
const MediaDir = "media"

// tempPrefix starts the names of files being written.
const tempPrefix = ".upload-"

// strayAge is how old a temporary or unreferenced file in MediaDir must be
// before Open removes it: another process on the same profile (the CLI
// beside a running agent) may be writing it right now.
const strayAge = time.Hour

// mediaID is what a media id may look like: it names a file.
var mediaID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// PutMedia implements cloudapi.MediaStore. With r, it stores r's bytes
// (replacing any) and m; without, only m, keeping the bytes. Large files
// stream to disk and their row is written only when the file is complete,
// so a long upload does not hold the database.
func (s *Store) PutMedia(ctx context.Context, m cloudapi.Media, r io.Reader) error {
	if !mediaID.MatchString(m.ID) {
		return fmt.Errorf("bizstore: media id %q is not 1-64 letters, digits, _ or -", m.ID)
	}
	if r == nil {
		return s.write(ctx, func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO media (id, phone_number_id, mime_type, sha256, file_size, filename,
				created_at, storage) VALUES (?, ?, ?, ?, ?, ?, ?, '')
				ON CONFLICT (id) DO UPDATE SET phone_number_id = excluded.phone_number_id, mime_type = excluded.mime_type,
					sha256 = excluded.sha256, file_size = excluded.file_size, filename = excluded.filename,
					created_at = excluded.created_at`,
				m.ID, m.PhoneNumberID, m.MIMEType, m.SHA256, m.FileSize, m.Filename, ms(m.Created))
			return err
		})
	}
	head, err := io.ReadAll(io.LimitReader(r, InlineMediaMax+1))
	if err != nil {
		return err // the caller's reader's error, unwrapped: it may be the caller's own sentinel
	}
	var data []byte
	storage := "inline"
	if len(head) <= InlineMediaMax {
		data = head
		if data == nil {
			data = []byte{}
		}
	} else {
		storage = "file"
		if err := s.writeMediaFile(m.ID, io.MultiReader(bytes.NewReader(head), r)); err != nil {
			return err
		}
	}
	var old string
	err = s.write(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT storage FROM media WHERE id = ?`, m.ID).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO media (id, phone_number_id, mime_type, sha256, file_size, filename,
			created_at, storage, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET phone_number_id = excluded.phone_number_id, mime_type = excluded.mime_type,
				sha256 = excluded.sha256, file_size = excluded.file_size, filename = excluded.filename,
				created_at = excluded.created_at, storage = excluded.storage, data = excluded.data`,
			m.ID, m.PhoneNumberID, m.MIMEType, m.SHA256, m.FileSize, m.Filename, ms(m.Created), storage, data)
		return err
	})
	if err != nil {
		if storage == "file" {
			_ = os.Remove(s.mediaPath(m.ID))
		}
		return err
	}
	if old == "file" && storage == "inline" {
		_ = os.Remove(s.mediaPath(m.ID))
	}
	return nil
}

func (s *Store) mediaPath(id string) string { return filepath.Join(s.mediaDir, id) }

// writeMediaFile streams r to MediaDir/id: a temporary file, synced, then
// renamed over the final name, so that a reader sees a whole file or none.
func (s *Store) writeMediaFile(id string, r io.Reader) error {
	if err := os.MkdirAll(s.mediaDir, 0o700); err != nil {
		return fmt.Errorf("bizstore: media directory: %w", err)
	}
	f, err := os.CreateTemp(s.mediaDir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("bizstore: media file: %w", err)
	}
	tmp := f.Name()
	_, err = io.Copy(f, r)
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err // possibly the caller's reader's own error
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bizstore: media file: %w", err)
	}
	if err := os.Rename(tmp, s.mediaPath(id)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bizstore: media file: %w", err)
	}
	if d, err := os.Open(s.mediaDir); err == nil {
		_ = d.Sync() // the rename itself survives a crash
		d.Close()
	}
	return nil
}

// Media implements cloudapi.MediaStore.
func (s *Store) Media(ctx context.Context, id string) (cloudapi.Media, error) {
	var (
		m       cloudapi.Media
		created int64
	)
	err := s.read(ctx).QueryRowContext(ctx, `SELECT id, phone_number_id, mime_type, sha256, file_size, filename, created_at
		FROM media WHERE id = ?`, id).Scan(&m.ID, &m.PhoneNumberID, &m.MIMEType, &m.SHA256, &m.FileSize, &m.Filename, &created)
	if err != nil {
		return cloudapi.Media{}, noRow(err, "media %s", id)
	}
	m.Created = fromMS(created)
	return m, nil
}

// OpenMedia implements cloudapi.MediaStore.
func (s *Store) OpenMedia(ctx context.Context, id string) (io.ReadCloser, error) {
	var (
		storage string
		data    []byte
	)
	err := s.read(ctx).QueryRowContext(ctx, `SELECT storage, data FROM media WHERE id = ?`, id).Scan(&storage, &data)
	if err != nil {
		return nil, noRow(err, "media %s", id)
	}
	switch storage {
	case "inline":
		return io.NopCloser(bytes.NewReader(data)), nil
	case "file":
		f, err := os.Open(s.mediaPath(id))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notFound("media file %s", id)
		}
		return f, err
	}
	return nil, notFound("bytes of media %s", id)
}

// DeleteMedia implements cloudapi.MediaStore. A file on disk is removed
// once its row is gone; a reader that opened it keeps reading it.
func (s *Store) DeleteMedia(ctx context.Context, id string) error {
	var storage string
	err := s.write(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT storage FROM media WHERE id = ?`, id).Scan(&storage); err != nil {
			return noRow(err, "media %s", id)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM media WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return err
	}
	if storage == "file" {
		if err := os.Remove(s.mediaPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("bizstore: removing a deleted media file failed", "err", err)
		}
	}
	return nil
}

// sweepMedia removes what a crash leaves in MediaDir: temporary files, and
// files no row names (renamed just before a crash lost their row), once
// they are older than strayAge.
func (s *Store) sweepMedia(ctx context.Context) error {
	entries, err := os.ReadDir(s.mediaDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bizstore: media directory: %w", err)
	}
	cutoff := time.Now().Add(-strayAge)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.ModTime().After(cutoff) {
			continue
		}
		name := e.Name()
		stray := strings.HasPrefix(name, tempPrefix)
		if !stray {
			var n int
			if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM media WHERE id = ? AND storage = 'file'`, name).Scan(&n); err != nil {
				return fmt.Errorf("bizstore: media sweep: %w", err)
			}
			stray = n == 0
		}
		if stray {
			if err := os.Remove(filepath.Join(s.mediaDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("bizstore: removing a stray media file failed", "err", err)
			}
		}
	}
	return nil
}
