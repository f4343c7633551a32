package clientstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type txKey struct{}

type txValue struct {
	s  *Store
	tx *sql.Tx
}

// InTx runs fn in one write transaction: every call of this store that is
// given fn's ctx joins it, and it commits when fn returns nil (nothing is
// kept when it returns an error). Use it to make several steps atomic, e.g.
// decrypting a message (session, prekeys, identity) and storing it, before
// acknowledging the envelope. A nested InTx joins the outer transaction.
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
		return fmt.Errorf("clientstore: begin: %w", err)
	}
	if err := fn(context.WithValue(ctx, txKey{}, &txValue{s: s, tx: tx})); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("clientstore: commit: %w", err)
	}
	return nil
}

// txOf returns the transaction of this store that ctx carries, if any.
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

// read returns where a single read statement runs: ctx's transaction (to
// see its uncommitted writes), or the reader pool.
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
		return fmt.Errorf("clientstore: begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return fn(tx)
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

// one reports ErrNotFound when a statement changed no row.
func one(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return nil
}
