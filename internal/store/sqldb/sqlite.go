package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLiteOptions are what the stores choose differently.
type SQLiteOptions struct {
	// Readers is the size of the reader pool (at least 1).
	Readers int
	// Private creates the file readable by its owner only (0600), where
	// SQLite would follow the umask.
	Private bool
}

const sqliteCommon = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"

// OpenSQLite opens the SQLite database at path, a file path (its directory
// is created 0700 if needed) or ":memory:", and returns its one writer
// connection and a pool of readers beside it.
//
// Writes are durable: synchronous=FULL makes every commit reach the disk
// before it returns, so what a store acknowledged survives kill -9 and
// power loss. Transactions begin IMMEDIATE, taking the write lock up front:
// a deferred one that later upgrades could fail with SQLITE_BUSY despite
// busy_timeout. Readers are query_only.
//
// An in-memory database lives and dies with its one connection, so for
// ":memory:" w and r are that connection; good enough for tests and trials.
func OpenSQLite(ctx context.Context, path string, o SQLiteOptions) (w, r *sql.DB, err error) {
	switch {
	case path == "":
		return nil, nil, errors.New("empty SQLite path")
	case strings.HasPrefix(path, "file:"):
		return nil, nil, errors.New("SQLite URIs are not supported; give a file path")
	case strings.ContainsAny(path, "?#"):
		return nil, nil, fmt.Errorf("SQLite path %q: ? and # are not allowed", path)
	}
	if path == ":memory:" {
		one, err := openWriter(ctx, ":memory:")
		if err != nil {
			return nil, nil, err
		}
		return one, one, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create directory for SQLite database: %w", err)
	}
	if o.Private {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("create SQLite database file: %w", err)
		}
		f.Close()
	}
	// The writer connects first so the file is in WAL mode before a reader
	// opens it.
	w, err = openWriter(ctx, path, "_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)")
	if err != nil {
		return nil, nil, err
	}
	r, err = sql.Open("sqlite", path+"?"+sqliteCommon+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	n := max(1, o.Readers)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return w, r, nil
}

// openWriter opens the one connection all writes go through.
func openWriter(ctx context.Context, path string, pragmas ...string) (*sql.DB, error) {
	dsn := path + "?" + sqliteCommon
	for _, p := range pragmas {
		dsn += "&" + p
	}
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return w, nil
}
