// Package sqldb is what the server's SQL stores share beneath their
// queries: the numbered migration files and the runner that applies them,
// and a SQLite file opened the way both want it. Its users are
// internal/store/sqlstore (SQLite or PostgreSQL) and
// internal/business/bizstore (SQLite). client/clientstore keeps its own
// copy of the migration convention, because client/ imports nothing under
// internal/.
//
// # Migrations
//
// A store embeds a directory of files named NNN-kebab-description.sql,
// numbered 1, 2, 3, ... without gaps, each starting with the line
// "-- vN (compatible with vM+): description". M is the oldest schema version
// whose code still works once N is applied: it lets an older build use a
// database a newer one touched, or refuse it (ErrNewerSchema). Each
// migration is applied once, in its own transaction together with its
// schema_migrations row, so a crash leaves the schema at a version
// boundary.
//
// # SQLite
//
// OpenSQLite opens one writer connection and a pool of readers beside it
// (WAL). All writes go through the one writer because SQLite has one writer
// anyway, and queueing in Go beats retrying on SQLITE_BUSY.
package sqldb

import (
	"context"
	"database/sql"
)

// Querier is what *sql.DB and *sql.Tx have in common.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
