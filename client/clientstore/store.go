package clientstore

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Sentinel errors. Every error the store returns for a condition a caller
// can act on wraps one of them.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("clientstore: not found")
	// ErrNoAccount: the store has no local account yet (it matches
	// ErrNotFound too).
	ErrNoAccount = fmt.Errorf("%w: no local account", ErrNotFound)
	// ErrDuplicate: a message with this sender and id is already stored.
	ErrDuplicate = errors.New("clientstore: already stored")
	// ErrWrongKey: the protector's secret (a passphrase) does not unlock
	// this store, or the store is protected by another kind of protector.
	// Nothing was changed.
	ErrWrongKey = errors.New("clientstore: wrong passphrase or key")
	// ErrCorrupt: stored bytes do not decode or do not authenticate for
	// their row: the file was damaged or tampered with.
	ErrCorrupt = errors.New("clientstore: stored data is corrupt")
	// ErrKeyMismatch: an identity key given to AcknowledgeIdentity or
	// VerifyIdentity is not the one on record for the address.
	ErrKeyMismatch = errors.New("clientstore: identity key is not the one on record")
	// ErrInvalid: an argument is out of range or malformed; nothing was
	// changed.
	ErrInvalid = errors.New("clientstore: invalid argument")
	// ErrNewerSchema: the file was written by a newer version of Parley
	// whose schema this one cannot use.
	ErrNewerSchema = errors.New("clientstore: database needs a newer version")
)

// DefaultKeyGrace is how long replaced prekeys are kept: as long as the
// server keeps an undelivered envelope (30 days), so that a session start
// sent to a key just before it was replaced still finds it.
const DefaultKeyGrace = 30 * 24 * time.Hour

// Options tune a Store. The zero value (or nil) is ready to use.
type Options struct {
	// Logger receives migration and maintenance messages, never content or
	// keys. Nil discards them.
	Logger *slog.Logger
	// KeyGrace is how long a replaced signed, last-resort or one-time
	// prekey stays usable. Zero means DefaultKeyGrace.
	KeyGrace time.Duration
}

// Store is the client's local database. It is safe for concurrent use.
// Methods that change several rows do so in one transaction; InTx groups
// calls into one.
type Store struct {
	w     *sql.DB // the one writer connection: SQLite has one writer anyway
	r     *sql.DB // readers, beside the writer thanks to WAL
	keys  *cipherKeys
	grace time.Duration
	log   *slog.Logger
}

// Open opens the store at path, creating it (and its directory) if it does
// not exist. A new store gets a fresh random data key, wrapped by p; an
// existing one is unlocked with p, and a wrong passphrase gives an error
// wrapping ErrWrongKey without anything in the file changing. The schema is
// then brought up to date.
func Open(ctx context.Context, path string, p KeyProtector, o *Options) (*Store, error) {
	if o == nil {
		o = &Options{}
	}
	s := &Store{grace: o.KeyGrace, log: o.Logger}
	if s.grace <= 0 {
		s.grace = DefaultKeyGrace
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if p == nil {
		return nil, fmt.Errorf("%w: no key protector", ErrInvalid)
	}
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("%w: database path %q", ErrInvalid, path)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	// synchronous=FULL: a message the client acked to the server, and the
	// session state that decrypted it, survive a crash or power loss.
	// secure_delete: freed pages are zeroed, so replaced (sealed) session
	// states do not linger in the file. BEGIN IMMEDIATE takes the write lock
	// up front, so a transaction never fails half way on SQLITE_BUSY.
	const common = "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)"
	w, err := sql.Open("sqlite", path+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("clientstore: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.w = w
	if err := s.unlock(ctx, p); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("clientstore: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	return s, nil
}

// createPrivate makes the directory (0700) and an empty database file
// (0600) if they are missing. SQLite gives the -wal and -shm files the
// mode of the database file.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("clientstore: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("clientstore: create database file: %w", err)
	}
	return f.Close()
}

// unlock unwraps the data key of an existing store before anything is
// written, then migrates; a new store is migrated and gets a fresh key.
func (s *Store) unlock(ctx context.Context, p KeyProtector) error {
	kind, wrapped, err := s.readWrappedKey(ctx)
	if err != nil {
		return err
	}
	if wrapped == nil {
		if err := s.migrate(ctx); err != nil {
			return err
		}
		dataKey := make([]byte, DataKeySize)
		if _, err := rand.Read(dataKey); err != nil {
			return err
		}
		newWrapped, err := p.Wrap(ctx, dataKey)
		if err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		// DO NOTHING: if another process created the store meanwhile, its
		// key wins and is read back below.
		if _, err := s.w.ExecContext(ctx, `INSERT INTO store_keys (id, protector, wrapped, created_at, changed_at)
			VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, p.Kind(), newWrapped, now, now); err != nil {
			return fmt.Errorf("clientstore: save data key: %w", err)
		}
		if kind, wrapped, err = s.readWrappedKey(ctx); err != nil {
			return err
		}
	}
	if kind != p.Kind() {
		return fmt.Errorf("%w: the store is protected by %q, not %q", ErrWrongKey, kind, p.Kind())
	}
	dataKey, err := p.Unwrap(ctx, wrapped)
	if err != nil {
		return err
	}
	if s.keys, err = newCipherKeys(dataKey); err != nil {
		return err
	}
	clear(dataKey)
	return s.migrate(ctx)
}

// readWrappedKey returns the protector kind and wrapped key, or nil for a
// store that has none yet (new, or created up to its first migration).
func (s *Store) readWrappedKey(ctx context.Context) (string, []byte, error) {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_keys'`).Scan(&n); err != nil {
		return "", nil, fmt.Errorf("clientstore: read database: %w", err)
	}
	if n == 0 {
		return "", nil, nil
	}
	if err := s.checkSchema(ctx); err != nil {
		return "", nil, err
	}
	var kind string
	var wrapped []byte
	err := s.w.QueryRowContext(ctx, `SELECT protector, wrapped FROM store_keys WHERE id = 1`).Scan(&kind, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("clientstore: read data key: %w", err)
	}
	if wrapped == nil {
		wrapped = []byte{}
	}
	return kind, wrapped, nil
}

// ChangeProtector rewraps the data key: from must unlock the store (the
// current passphrase, so that an unlocked, unattended client cannot have
// its passphrase changed), and to protects it from now on. Only the
// wrapped key changes; everything sealed stays as it is. A wrong current secret
// gives ErrWrongKey and changes nothing.
func (s *Store) ChangeProtector(ctx context.Context, from, to KeyProtector) error {
	if from == nil || to == nil {
		return fmt.Errorf("%w: no key protector", ErrInvalid)
	}
	kind, wrapped, err := s.readWrappedKey(ctx)
	if err != nil {
		return err
	}
	if kind != from.Kind() {
		return fmt.Errorf("%w: the store is protected by %q, not %q", ErrWrongKey, kind, from.Kind())
	}
	dataKey, err := from.Unwrap(ctx, wrapped)
	if err != nil {
		return err
	}
	defer clear(dataKey)
	check, err := newCipherKeys(dataKey)
	if err != nil {
		return err
	}
	if !hmac.Equal(check.index, s.keys.index) {
		return fmt.Errorf("%w: the key does not belong to this store", ErrCorrupt)
	}
	newWrapped, err := to.Wrap(ctx, dataKey)
	if err != nil {
		return err
	}
	// Compare and swap, so that two concurrent changes cannot both win.
	res, err := s.w.ExecContext(ctx, `UPDATE store_keys SET protector = ?, wrapped = ?, changed_at = ? WHERE id = 1 AND wrapped = ?`,
		to.Kind(), newWrapped, time.Now().UnixMilli(), wrapped)
	if err != nil {
		return fmt.Errorf("clientstore: save data key: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%w: the key was changed concurrently", ErrWrongKey)
	}
	return nil
}

// Close closes the database. Calls after Close fail.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}
