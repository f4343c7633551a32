// Package sqlstore is Parley's one implementation of store.Store, on SQLite
// (the embedded default, pure Go) or PostgreSQL (for several nodes sharing
// one database). Both run the same queries; dialect.go holds the few
// differences.
//
// Every write runs in a transaction. On SQLite all of them go through a
// single connection, because SQLite has one writer anyway and queueing in Go
// beats retrying on SQLITE_BUSY; reads use a separate pool, which WAL lets
// run beside the writer. On PostgreSQL, transactions that decide on rows
// they read lock them first, always in the order account, devices by id,
// envelopes, so concurrent nodes neither deadlock nor break an invariant.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqldb"
	"github.com/parley-im/parley/types"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on SQLite or PostgreSQL. It is safe for concurrent use.
type Store struct {
	d   *dialect
	w   *sql.DB // write transactions; one connection on SQLite
	r   *sql.DB // reads; the same pool as w except on an on-disk SQLite database
	log *slog.Logger
	// Prepared statements of w and r, on SQLite (pgx caches its own): nil
	// on PostgreSQL. rs is ws when r is w.
	ws, rs *sqldb.StmtCache
}

// Open connects to the database dsn names and brings its schema up to date.
//
// A dsn starting with postgres:// or postgresql:// is a PostgreSQL URL (a
// search_path query parameter selects the schema). Anything else is SQLite:
// "sqlite:PATH", "sqlite::memory:", or a bare file path; the file's directory
// is created if needed.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		s   *Store
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s, err = openPostgres(ctx, dsn, log)
	} else {
		s, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), log)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	// Bounded so that many nodes stay below the server's max_connections.
	pool.SetMaxOpenConns(16)
	pool.SetMaxIdleConns(8)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	return &Store{d: postgresDialect, w: pool, r: pool, log: log}, nil
}

func openSQLite(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlstore: SQLite URIs are not supported; use sqlite:PATH")
	}
	w, r, err := sqldb.OpenSQLite(ctx, path, sqldb.SQLiteOptions{Readers: max(4, runtime.GOMAXPROCS(0))})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	st := &Store{d: sqliteDialect, w: w, r: r, log: log, ws: sqldb.NewStmtCache(w)}
	st.rs = st.ws
	if r != w {
		st.rs = sqldb.NewStmtCache(r)
	}
	return st, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping readers: %w", err)
		}
	}
	return nil
}

// Close closes the connections.
func (s *Store) Close() error {
	if s.ws != nil {
		s.ws.Close()
		s.rs.Close()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

type querier = sqldb.Querier

// db runs queries written with ? placeholders in the store's dialect.
type db struct {
	q querier
	d *dialect
}

func (c db) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.d.rebind(query), args...)
}

func (c db) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c db) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.d.rebind(query), args...)
}

// execN runs a statement and returns how many rows it changed.
func (c db) execN(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// reader is for single queries outside a transaction.
func (s *Store) reader() db { return db{q: cached(s.r, nil, s.rs), d: s.d} }

// writer is for single writes outside a transaction.
func (s *Store) writer() db { return db{q: cached(s.w, nil, s.ws), d: s.d} }

// cached runs q's queries through cache's statements, if there is a cache.
func cached(q querier, tx *sql.Tx, cache *sqldb.StmtCache) querier {
	if cache == nil {
		return q
	}
	return sqldb.Cached{Q: q, Tx: tx, Cache: cache}
}

// inTx runs fn in a write transaction and commits it, running it again after
// a PostgreSQL deadlock or serialization failure; fn must therefore set its
// results afresh on every run.
func (s *Store) inTx(ctx context.Context, fn func(tx db) error) error {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == attempts || !s.d.retryable(err) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("retrying transaction", "attempt", attempt, "err", err)
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx db) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(db{q: cached(tx, tx, s.ws), d: s.d}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// mapErr turns constraint violations into the store's errors, keeping the
// database's message for the log.
func (s *Store) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	case s.d.isUnique(err):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case s.d.isForeignKey(err):
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}

// Times are stored as unix milliseconds, with 0 for the zero time so that
// "never" round-trips.

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// idArg is the stored form of an account id.
func idArg(id types.AccountID) []byte { return id[:] }

// nullID stores the zero account id as NULL.
func nullID(id types.AccountID) any {
	if id.IsZero() {
		return nil
	}
	return id[:]
}

// nonNil keeps NOT NULL blob columns from receiving NULL for an empty value.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// id16 scans a 16-byte id column; NULL leaves the zero id.
type id16 [16]byte

func (x *id16) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*x = id16{}
		return nil
	case []byte:
		if len(v) != 16 {
			return fmt.Errorf("sqlstore: stored id is %d bytes, want 16", len(v))
		}
		copy(x[:], v)
		return nil
	}
	return fmt.Errorf("sqlstore: cannot scan %T into an id", src)
}

// optID16 scans a 16-byte id column that may also be NULL or empty (the
// unused columns of a delivery row), which leave the zero id.
type optID16 [16]byte

func (x *optID16) Scan(src any) error {
	if b, ok := src.([]byte); ok && len(b) == 0 {
		*x = optID16{}
		return nil
	}
	return (*id16)(x).Scan(src)
}

func scanAccount(p *types.AccountID) *id16 { return (*id16)(p) }
func scanMessage(p *types.MessageID) *id16 { return (*id16)(p) }

// clampU64 keeps a cursor within BIGINT.
func clampU64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// maxParams keeps every statement well below both databases' limits on
// bound parameters (SQLite 32766, PostgreSQL 65535).
const maxParams = 1000

// chunks splits xs into runs whose statements bind at most maxParams
// parameters, paramsEach for every item.
func chunks[T any](xs []T, paramsEach int) [][]T {
	size := max(1, maxParams/paramsEach)
	var out [][]T
	for len(xs) > size {
		out = append(out, xs[:size])
		xs = xs[size:]
	}
	// The rest in parts of 2^k items, largest first: a statement's text
	// depends on its number of rows, and a handful of sizes are prepared
	// once and reused (sqldb.StmtCache), where any size would be parsed
	// anew each time.
	for len(xs) > 0 {
		n := 1 << (bits.Len(uint(len(xs))) - 1)
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	return out
}
