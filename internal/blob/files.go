package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

var _ Store = (*Files)(nil)

// Files keeps each blob in one file, dir/<first two hex digits>/<id>, with
// chunk i at offset i × ChunkSize. A chunk is synced to the disk before
// WriteChunk returns.
type Files struct {
	dir string
}

// NewFiles returns a store under dir, creating it (mode 0700).
func NewFiles(dir string) (*Files, error) {
	if dir == "" {
		return nil, errors.New("blob: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	return &Files{dir: dir}, nil
}

func (f *Files) path(id string) string { return filepath.Join(f.dir, id[:2], id) }

// WriteChunk writes the chunk in place and syncs the file.
func (f *Files) WriteChunk(ctx context.Context, r Ref, i int64, data io.Reader) error {
	if err := r.CheckChunk(i); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := f.path(r.ID)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	file, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	n := r.ChunkLen(i)
	_, err = io.Copy(io.NewOffsetWriter(file, i*r.ChunkSize), ExactReader(&ctxReader{ctx, data}, n))
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: write chunk %d of %s: %w", i, r.ID, err)
	}
	return nil
}

// Open opens the file at off.
func (f *Files) Open(ctx context.Context, r Ref, off, n int64) (io.ReadCloser, error) {
	if err := r.CheckRange(off, n); err != nil {
		return nil, err
	}
	file, err := os.Open(f.path(r.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, r.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &section{ExactReader(io.NewSectionReader(file, off, n), n), file}, nil
}

type section struct {
	io.Reader
	io.Closer
}

// Delete removes the file.
func (f *Files) Delete(_ context.Context, r Ref) error {
	if err := r.Check(); err != nil {
		return err
	}
	if err := os.Remove(f.path(r.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// ctxReader stops reading once ctx is done, so that a chunk from a client
// that stalls does not outlive a cancelled request.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
