// Package blob keeps media blobs for the server: opaque bytes it cannot
// read, uploaded in fixed-size chunks that may be sent again after a broken
// connection, read back by ranges, deleted once every recipient has them.
//
// Store is the contract; Files (this package, the default) keeps each blob
// in one file under a directory, natsblob keeps chunks in a NATS JetStream
// object store so that every node of a cluster sees them. blobtest is the
// conformance suite both pass.
//
// S3 is not here yet: it would need either a new dependency (an AWS SDK) or
// a hand-written SigV4 client, and this repository has no S3 service to test
// either against; a cluster uses the NATS object store (or Files on a
// directory every node shares).
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Errors of every implementation, wrapped or not.
var (
	// ErrNotFound: nothing of the blob is stored.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalid: a Ref or a range that cannot name stored bytes.
	ErrInvalid = errors.New("blob: invalid reference or range")
)

// Ref names one blob and says how it is cut into chunks: every chunk has
// ChunkSize bytes except the last, which has what is left of Size.
type Ref struct {
	ID        string // 32 lowercase hex digits
	Size      int64
	ChunkSize int64
}

// Chunks is the number of chunks of the blob.
func (r Ref) Chunks() int64 {
	if r.Size <= 0 || r.ChunkSize <= 0 {
		return 0
	}
	return (r.Size + r.ChunkSize - 1) / r.ChunkSize
}

// ChunkLen is the length of chunk i.
func (r Ref) ChunkLen(i int64) int64 {
	if i < 0 || i >= r.Chunks() {
		return 0
	}
	return min(r.ChunkSize, r.Size-i*r.ChunkSize)
}

// Check reports a Ref that no store accepts: an ID that is not 32
// lowercase hex digits (it becomes a file or object name), or a
// non-positive size or chunk size.
func (r Ref) Check() error {
	if len(r.ID) != 32 {
		return fmt.Errorf("%w: id of %d characters", ErrInvalid, len(r.ID))
	}
	for i := 0; i < len(r.ID); i++ {
		if c := r.ID[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("%w: id is not lowercase hex", ErrInvalid)
		}
	}
	if r.Size <= 0 || r.ChunkSize <= 0 {
		return fmt.Errorf("%w: size %d, chunk size %d", ErrInvalid, r.Size, r.ChunkSize)
	}
	return nil
}

// CheckChunk validates a chunk index of r.
func (r Ref) CheckChunk(i int64) error {
	if err := r.Check(); err != nil {
		return err
	}
	if i < 0 || i >= r.Chunks() {
		return fmt.Errorf("%w: chunk %d of %d", ErrInvalid, i, r.Chunks())
	}
	return nil
}

// CheckRange validates the range [off, off+n) of r.
func (r Ref) CheckRange(off, n int64) error {
	if err := r.Check(); err != nil {
		return err
	}
	if off < 0 || n < 0 || off > r.Size || n > r.Size-off {
		return fmt.Errorf("%w: range %d+%d of %d bytes", ErrInvalid, off, n, r.Size)
	}
	return nil
}

// Store keeps blobs. Implementations are safe for concurrent use; two
// writers of the same chunk must write the same bytes (a client resending
// a chunk does), and the last one wins.
type Store interface {
	// WriteChunk stores chunk i of r, reading exactly r.ChunkLen(i) bytes
	// of data (no more). It returns once the chunk is durable. On any
	// error, data ending early included (io.ErrUnexpectedEOF), the chunk
	// must be written again before it is read.
	WriteChunk(ctx context.Context, r Ref, i int64, data io.Reader) error
	// Open reads the n bytes of r at off, all of whose chunks were written.
	// ErrNotFound if nothing of r is stored.
	Open(ctx context.Context, r Ref, off, n int64) (io.ReadCloser, error)
	// Delete removes every chunk of r; a blob or chunk that is not there
	// is not an error.
	Delete(ctx context.Context, r Ref) error
}

// ExactReader returns the n bytes of r and then io.EOF, or
// io.ErrUnexpectedEOF if r ends before.
func ExactReader(r io.Reader, n int64) io.Reader { return &exact{r: r, left: n} }

type exact struct {
	r    io.Reader
	left int64
}

func (e *exact) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF {
		if e.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		return n, nil
	}
	return n, err
}
