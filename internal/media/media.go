// Package media is the server side of Parley's media: end-to-end encrypted
// blobs that clients upload in chunks over HTTP and that recipients fetch
// by ranges, kept in a blob store until every recipient device has them
// or they expire. The server never sees a key: it checks sizes, the
// blob's SHA-256 on completion and bearer tokens, nothing more.
//
// The WebSocket requests CreateUpload and GetMediaToken (gateway) hand out
// the tokens; the HTTP endpoints (http.go) move the bytes; a sweeper
// deletes what is due. docs/protocol.md, section "Media", is what a client
// sees.
package media

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/internal/blob"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// Errors the gateway maps to wire codes.
var (
	ErrInvalid  = errors.New("media: invalid request")
	ErrTooLarge = errors.New("media: blob larger than the server allows")
	ErrNotFound = errors.New("media: no such blob")
)

// QuotaError: the account uploaded its daily quota.
type QuotaError struct{ RetryAfter time.Duration }

func (e *QuotaError) Error() string {
	return fmt.Sprintf("media: upload quota used up, retry after %v", e.RetryAfter.Round(time.Second))
}

// PathPrefix is where the HTTP endpoints live: PathPrefix + media id (hex).
const PathPrefix = "/v1/media/"

// Config tunes the service; zero values take the defaults noted.
type Config struct {
	MaxBytes   int64         // largest blob; default 100 MiB
	ChunkBytes int64         // upload chunk; default 4 MiB
	TTL        time.Duration // life of a complete blob; default 30 days
	// UploadWindow is how long an upload may take; the upload token ends
	// then and an incomplete upload is deleted. Default 24 hours.
	UploadWindow time.Duration
	// Grace keeps a blob this long after the last of its devices fetched
	// it, so that a device whose download broke at the very end (or
	// whose client crashed before saving) can fetch it again. Default 1 hour.
	Grace time.Duration
	// DownloadTokenTTL is the life of a download token. Default 6 hours.
	DownloadTokenTTL time.Duration
	// Quota is how many bytes one account may upload per day; ≤ 0 off.
	Quota int64
	// Secret keys the tokens; empty uses a random key kept in the store
	// (the same for every node on that store).
	Secret []byte
	// SweepEvery is how often the sweeper looks for due blobs. Default 1 minute.
	SweepEvery time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.MaxBytes == 0 {
		c.MaxBytes = 100 << 20
	}
	if c.ChunkBytes == 0 {
		c.ChunkBytes = 4 << 20
	}
	if c.TTL == 0 {
		c.TTL = 30 * 24 * time.Hour
	}
	if c.UploadWindow == 0 {
		c.UploadWindow = 24 * time.Hour
	}
	if c.Grace == 0 {
		c.Grace = time.Hour
	}
	if c.DownloadTokenTTL == 0 {
		c.DownloadTokenTTL = 6 * time.Hour
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Store is what the service keeps in the database.
type Store interface {
	store.Media
	store.RateLimits
}

// Metrics are callbacks for the node's collectors; nil ones are skipped.
type Metrics struct {
	Uploaded   func(bytes int64) // stored by PATCH
	Downloaded func(bytes int64) // served by GET
	Deleted    func(blobs int)   // removed by the sweeper
}

// Service is the media service of one node.
type Service struct {
	st    Store
	blobs blob.Store
	cfg   Config
	m     Metrics
	log   *slog.Logger
	key   []byte

	started atomic.Bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// New returns the service; Start runs its sweeper.
func New(ctx context.Context, st Store, blobs blob.Store, cfg Config, m Metrics, log *slog.Logger) (*Service, error) {
	cfg.defaults()
	secret := cfg.Secret
	if len(secret) == 0 {
		candidate := make([]byte, 32)
		_, _ = rand.Read(candidate)
		var err error
		if secret, err = st.MediaKey(ctx, candidate); err != nil {
			return nil, fmt.Errorf("media: token key: %w", err)
		}
	}
	return &Service{st: st, blobs: blobs, cfg: cfg, m: m, log: log, key: tokenKey(secret),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// ChunkBytes is the upload chunk size.
func (s *Service) ChunkBytes() int64 { return s.cfg.ChunkBytes }

// Upload is a created upload as the device gets it.
type Upload struct {
	ID      store.MediaID
	Path    string
	Token   string
	Chunk   int64
	Expires time.Time
}

// CreateUpload starts the upload of a blob of size bytes with this SHA-256
// by device owner, deleted after downloads distinct devices fetched it (0:
// at expiry).
func (s *Service) CreateUpload(ctx context.Context, owner types.Address, size int64, sum []byte, downloads uint32) (Upload, error) {
	switch {
	case size <= 0:
		return Upload{}, fmt.Errorf("%w: size must be positive", ErrInvalid)
	case size > s.cfg.MaxBytes:
		return Upload{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, size, s.cfg.MaxBytes)
	case len(sum) != 32:
		return Upload{}, fmt.Errorf("%w: sha256 must be 32 bytes", ErrInvalid)
	case downloads > 1<<20:
		return Upload{}, fmt.Errorf("%w: downloads above %d", ErrInvalid, 1<<20)
	}
	now := s.cfg.Now()
	if s.cfg.Quota > 0 {
		// Counted in MiB, rounded up, so that small blobs count too.
		n := int((size + 1<<20 - 1) >> 20)
		ok, retry, err := s.st.AllowN(ctx, "media-quota:"+owner.Account.String(), n, int(s.cfg.Quota>>20), 24*time.Hour, now)
		if err != nil {
			return Upload{}, err
		}
		if !ok {
			return Upload{}, &QuotaError{RetryAfter: retry}
		}
	}
	u := store.Upload{Owner: owner, Size: size, SHA256: sum, ChunkSize: s.cfg.ChunkBytes, Downloads: int(downloads),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.UploadWindow)}
	_, _ = rand.Read(u.ID[:])
	if err := s.st.CreateUpload(ctx, u); err != nil {
		return Upload{}, err
	}
	tok := sign(s.key, Token{Purpose: PurposeUpload, Media: u.ID, Device: owner, Expires: u.ExpiresAt})
	return Upload{ID: u.ID, Path: PathPrefix + u.ID.String(), Token: tok, Chunk: u.ChunkSize, Expires: u.ExpiresAt}, nil
}

// Download is a download token as the device gets it.
type Download struct {
	Path    string
	Token   string
	Size    int64
	Expires time.Time
}

// DownloadToken lets device dev fetch blob id, once it is complete.
func (s *Service) DownloadToken(ctx context.Context, dev types.Address, id []byte) (Download, error) {
	if len(id) != 16 {
		return Download{}, fmt.Errorf("%w: media id must be 16 bytes", ErrInvalid)
	}
	mid := store.MediaID(id)
	u, err := s.st.Upload(ctx, mid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Complete()) {
		return Download{}, ErrNotFound
	}
	if err != nil {
		return Download{}, err
	}
	now := s.cfg.Now()
	exp := now.Add(s.cfg.DownloadTokenTTL)
	if exp.After(u.ExpiresAt) {
		exp = u.ExpiresAt
	}
	if !exp.After(now) {
		return Download{}, ErrNotFound
	}
	tok := sign(s.key, Token{Purpose: PurposeDownload, Media: mid, Device: dev, Expires: exp})
	return Download{Path: PathPrefix + mid.String(), Token: tok, Size: u.Size, Expires: exp}, nil
}

func ref(u store.Upload) blob.Ref {
	return blob.Ref{ID: u.ID.String(), Size: u.Size, ChunkSize: u.ChunkSize}
}

// Sweep deletes the blobs that are due at now, blob first and row after,
// so that a failure in between leaves the row for the next sweep. It
// returns how many it deleted.
func (s *Service) Sweep(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		due, err := s.st.DueUploads(ctx, now, s.cfg.Grace, 100)
		if err != nil {
			return total, err
		}
		for _, u := range due {
			if err := s.blobs.Delete(ctx, ref(u)); err != nil {
				return total, err
			}
			if err := s.st.DeleteUpload(ctx, u.ID); err != nil {
				return total, err
			}
			total++
		}
		if s.m.Deleted != nil && len(due) > 0 {
			s.m.Deleted(len(due))
		}
		if len(due) < 100 {
			return total, nil
		}
	}
}

// Start runs the sweeper until Close.
func (s *Service) Start() {
	if s.started.Swap(true) {
		return
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SweepEvery)
			n, err := s.Sweep(ctx, s.cfg.Now())
			cancel()
			if err != nil {
				s.log.Warn("media sweep failed", "err", err)
			}
			if n > 0 {
				s.log.Debug("media swept", "blobs", n)
			}
		}
	}()
}

// Close stops the sweeper (if Start ran).
func (s *Service) Close() {
	s.once.Do(func() {
		close(s.stop)
		if s.started.Load() {
			<-s.done
		}
	})
}
