// Package natsblob keeps media blobs in a NATS JetStream object store, so
// that every node of a cluster reads what any node received. Chunk i of
// blob ID is the object "ID.i"; a range read fetches the objects it covers.
//
// The bucket is made on first use (one replica, file storage); an operator
// who wants more replicas creates it beforehand (nats object add
// --replicas 3 BUCKET) and Open uses it as it is.
package natsblob

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-im/parley/internal/blob"
)

// DefaultBucket is the bucket the server uses.
const DefaultBucket = "parley-media"

var _ blob.Store = (*Store)(nil)

// Store is a blob.Store in one object store bucket.
type Store struct {
	bucket string
	obs    jetstream.ObjectStore
	stream jetstream.Stream
}

// Open uses (or creates) bucket on nc's JetStream. It fails when the NATS
// server has no JetStream.
func Open(ctx context.Context, nc *nats.Conn, bucket string) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsblob: %w", err)
	}
	obs, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: bucket, Description: "Parley media blobs (end-to-end encrypted)",
		})
	}
	if err != nil {
		return nil, fmt.Errorf("natsblob: bucket %s (does the NATS server run JetStream?): %w", bucket, err)
	}
	// The object store's own stream, for purging deletion markers (ADR-20
	// fixes its name and subjects).
	stream, err := js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("natsblob: stream of bucket %s: %w", bucket, err)
	}
	return &Store{bucket: bucket, obs: obs, stream: stream}, nil
}

func name(id string, i int64) string { return id + "." + strconv.FormatInt(i, 10) }

// WriteChunk puts the chunk as one object, replacing an earlier one.
func (s *Store) WriteChunk(ctx context.Context, r blob.Ref, i int64, data io.Reader) error {
	if err := r.CheckChunk(i); err != nil {
		return err
	}
	n := r.ChunkLen(i)
	// Put reads to EOF: the exact reader ends it after the chunk, and a
	// short body fails the Put, which then purges what it sent.
	info, err := s.obs.Put(ctx, jetstream.ObjectMeta{Name: name(r.ID, i)}, blob.ExactReader(data, n))
	if err != nil {
		return fmt.Errorf("natsblob: write chunk %d of %s: %w", i, r.ID, err)
	}
	if int64(info.Size) != n {
		return fmt.Errorf("natsblob: chunk %d of %s stored %d bytes, want %d", i, r.ID, info.Size, n)
	}
	return nil
}

// Open reads the chunks that cover the range one after the other.
func (s *Store) Open(ctx context.Context, r blob.Ref, off, n int64) (io.ReadCloser, error) {
	if err := r.CheckRange(off, n); err != nil {
		return nil, err
	}
	rd := &reader{ctx: ctx, s: s, r: r, off: off, left: n}
	if n > 0 {
		// The first chunk is fetched now so that a missing blob is
		// reported here rather than at the first Read.
		if err := rd.next(); err != nil {
			return nil, err
		}
	} else if _, err := s.obs.GetInfo(ctx, name(r.ID, 0)); err != nil {
		return nil, s.mapErr(r, err)
	}
	return rd, nil
}

func (s *Store) mapErr(r blob.Ref, err error) error {
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, r.ID)
	}
	return fmt.Errorf("natsblob: %w", err)
}

// reader reads [off, off+left) chunk by chunk.
type reader struct {
	ctx  context.Context
	s    *Store
	r    blob.Ref
	off  int64
	left int64
	cur  jetstream.ObjectResult
	in   io.Reader // cur, limited to what is wanted of it
}

// next opens the chunk holding off and skips to off.
func (rd *reader) next() error {
	i := rd.off / rd.r.ChunkSize
	res, err := rd.s.obs.Get(rd.ctx, name(rd.r.ID, i))
	if err != nil {
		return rd.s.mapErr(rd.r, err)
	}
	skip := rd.off - i*rd.r.ChunkSize
	if _, err := io.CopyN(io.Discard, res, skip); err != nil {
		res.Close()
		return fmt.Errorf("natsblob: chunk %d of %s: %w", i, rd.r.ID, err)
	}
	want := min(rd.left, rd.r.ChunkLen(i)-skip)
	rd.cur, rd.in = res, blob.ExactReader(res, want)
	return nil
}

func (rd *reader) Read(p []byte) (int, error) {
	for {
		if rd.left == 0 {
			return 0, io.EOF
		}
		if rd.in == nil {
			if err := rd.next(); err != nil {
				return 0, err
			}
		}
		n, err := rd.in.Read(p)
		rd.off += int64(n)
		rd.left -= int64(n)
		if err == io.EOF {
			rd.cur.Close()
			rd.cur, rd.in = nil, nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (rd *reader) Close() error {
	if rd.cur != nil {
		rd.cur.Close()
		rd.cur, rd.in = nil, nil
	}
	return nil
}

// Delete deletes each chunk's object and purges its deletion marker, which
// the object store would otherwise keep for ever.
func (s *Store) Delete(ctx context.Context, r blob.Ref) error {
	if err := r.Check(); err != nil {
		return err
	}
	for i := range r.Chunks() {
		nm := name(r.ID, i)
		if err := s.obs.Delete(ctx, nm); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("natsblob: delete %s: %w", nm, err)
		}
		subj := "$O." + s.bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(nm))
		if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("natsblob: purge %s: %w", nm, err)
		}
	}
	return nil
}
