// Package bizstore is the business agent's own database: one SQLite file in
// the agent's profile directory (pure Go, WAL, embedded numbered
// migrations) holding the business's data: profile and opening hours, FAQ,
// catalogs and products, orders with their items, and stock reservations.
//
// One Store implements the small interfaces its consumers declare: commerce's
// CatalogStore, OrderStore, BusinessStore and FAQStore; the Cloud API
// handler's Directory, TokenStore, MediaStore, TemplateStore and
// Conversations (cloudapi); payment.Store; through WebhookQueue, the
// webhook sender's Queue; and through BotStates, the bot's StateStore. The
// consumers do not import this package, the agent wires it in. A package
// that keeps more here adds its own migration files after the existing
// ones and either a file of methods here or runs its statements through
// Querier, which joins InTx.
//
// Migrations: 001 business data (commerce), 002 the Cloud API's businesses,
// numbers, tokens, media, templates and policy state, 003 the webhook
// queue, 004 payment charges, 005 the bot's conversations.
//
// # Media
//
// An uploaded file of at most InlineMediaMax bytes is kept in its row, a
// larger one as a file named by its id in the MediaDir directory beside the
// database (0700, files 0600). SQLite reads and writes blobs below about
// 100 KB faster than the file system does and keeps them in the same
// transaction as their row (sqlite.org/intern-v-extern-blob.html); large
// ones would bloat the file, the WAL and every backup copy, and a stream of
// 100 MiB would hold the one writer for its whole upload. A large file is
// written under a temporary name, synced and renamed before its row
// commits; Open removes temporary files and files no row names, which a
// crash can leave behind.
//
// # Transactions
//
// All writes go through one connection (SQLite has one writer; queueing in
// Go beats SQLITE_BUSY), each in a transaction begun IMMEDIATE. InTx makes
// several calls one transaction: calls given its ctx join it, so a commerce
// rule (check stock, insert the order, reserve) and a subscriber's write
// (queue a webhook) commit together or not at all. Reads outside a
// transaction use a pool of readers beside the writer.
//
// The file is not encrypted: it holds what the business itself shows its
// customers and its order book (customer numbers included); the profile
// directory's permissions protect it (0700, the file 0600).
package bizstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/internal/store/sqldb"
)

// Sentinel errors. A not-found or already-exists error of any method matches
// the sentinels of the package whose interface the method implements as
// well (commerce's, cloudapi's, payment's ErrNotFound and ErrExists).
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("bizstore: not found")
	// ErrExists: a unique key is taken.
	ErrExists = errors.New("bizstore: already exists")
	// ErrNewerSchema: the file was migrated by a newer agent whose schema
	// this one cannot use.
	ErrNewerSchema = sqldb.ErrNewerSchema
)

// Store is the business agent's database. It is safe for concurrent use.
type Store struct {
	w        *sql.DB // the one writer connection
	r        *sql.DB // readers, beside the writer thanks to WAL
	log      *slog.Logger
	mediaDir string // large media files, beside the database
}

// Compile-time checks that Store is what commerce, the Cloud API handler,
// the webhook sender and the payment providers ask for.
var (
	_ commerce.CatalogStore  = (*Store)(nil)
	_ commerce.OrderStore    = (*Store)(nil)
	_ commerce.BusinessStore = (*Store)(nil)
	_ commerce.FAQStore      = (*Store)(nil)

	_ cloudapi.Directory     = (*Store)(nil)
	_ cloudapi.TokenStore    = (*Store)(nil)
	_ cloudapi.MediaStore    = (*Store)(nil)
	_ cloudapi.TemplateStore = (*Store)(nil)
	_ cloudapi.Conversations = (*Store)(nil)
	_ payment.Store          = (*Store)(nil)
	_ webhook.Queue          = (*WebhookQueue)(nil)
)

// Open opens the database at path, creating it (and its directory) if
// needed, and brings its schema up to date. log receives migration notes;
// nil discards them.
func Open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == ":memory:" {
		return nil, fmt.Errorf("bizstore: database path %q: want a file path", path)
	}
	// synchronous=FULL (sqldb.OpenSQLite): an order the agent confirmed to
	// a customer survives a crash.
	w, r, err := sqldb.OpenSQLite(ctx, path, sqldb.SQLiteOptions{Readers: 4, Private: true})
	if err != nil {
		return nil, fmt.Errorf("bizstore: %w", err)
	}
	s := &Store{w: w, r: r, log: log, mediaDir: filepath.Join(filepath.Dir(path), MediaDir)}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.sweepMedia(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.w.Close(), s.r.Close()) }

// Querier is what *sql.DB and *sql.Tx have in common.
type Querier = sqldb.Querier

type querier = Querier

// Querier is where another package that keeps tables in this database (by
// its own migration files) runs a statement: ctx's transaction, so that it
// commits with the rest of an InTx (an order change and the webhook that
// reports it), or else the writer connection. Like the store's own calls,
// it must be used only with the ctx of the InTx it belongs to.
func (s *Store) Querier(ctx context.Context) Querier {
	if tx := s.txOf(ctx); tx != nil {
		return tx
	}
	return s.w
}

type txKey struct{}

type txValue struct {
	s  *Store
	tx *sql.Tx
}

// InTx runs fn in one write transaction: every call of this store given
// fn's ctx joins it, and it commits when fn returns nil (nothing is kept
// when it returns an error). A nested InTx joins the outer transaction.
//
// The store has one writer connection: inside fn, call the store only with
// fn's ctx (a call with another ctx waits for the transaction to end, which
// would be forever), and keep fn short, since it holds up every other write.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.txOf(ctx) != nil {
		return fn(ctx)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("bizstore: begin: %w", err)
	}
	if err := fn(context.WithValue(ctx, txKey{}, &txValue{s: s, tx: tx})); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("bizstore: commit: %w", err)
	}
	return nil
}

func (s *Store) txOf(ctx context.Context) *sql.Tx {
	if v, ok := ctx.Value(txKey{}).(*txValue); ok && v.s == s {
		return v.tx
	}
	return nil
}

// write runs fn in ctx's transaction, or in a new one.
func (s *Store) write(ctx context.Context, fn func(q querier) error) error {
	return s.InTx(ctx, func(ctx context.Context) error { return fn(s.txOf(ctx)) })
}

// read is where a single read statement runs: ctx's transaction (to see its
// own writes), or the reader pool.
func (s *Store) read(ctx context.Context) querier {
	if tx := s.txOf(ctx); tx != nil {
		return tx
	}
	return s.r
}

// readTx runs several reads on one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(q querier) error) error {
	if tx := s.txOf(ctx); tx != nil {
		return fn(tx)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("bizstore: begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return fn(tx)
}

// keyError is a not-found or already-exists error that matches both this
// package's sentinel and commerce's.
type keyError struct {
	what   string
	exists bool
}

func (e *keyError) Error() string {
	if e.exists {
		return "bizstore: " + e.what + " already exists"
	}
	return "bizstore: " + e.what + " not found"
}

func (e *keyError) Is(target error) bool {
	if e.exists {
		return target == ErrExists || target == commerce.ErrExists || target == cloudapi.ErrExists
	}
	return target == ErrNotFound || target == commerce.ErrNotFound || target == cloudapi.ErrNotFound ||
		target == payment.ErrNotFound
}

func notFound(format string, a ...any) error { return &keyError{what: fmt.Sprintf(format, a...)} }

func exists(format string, a ...any) error {
	return &keyError{what: fmt.Sprintf(format, a...), exists: true}
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// noRow turns sql.ErrNoRows into a not-found error.
func noRow(err error, format string, a ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(format, a...)
	}
	return err
}

// one reports not found when a statement changed no row.
func one(res sql.Result, err error, format string, a ...any) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(format, a...)
	}
	return nil
}

// Times are unix milliseconds, 0 for the zero time.
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

// joinList and splitList store short string lists newline-separated.
func joinList(xs []string) string { return strings.Join(xs, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// checkList refuses list items the newline encoding cannot hold.
func checkList(what string, xs []string) error {
	for _, x := range xs {
		if x == "" || strings.ContainsAny(x, "\r\n") {
			return fmt.Errorf("%w: %s item is empty or contains a newline", commerce.ErrInvalid, what)
		}
	}
	return nil
}
