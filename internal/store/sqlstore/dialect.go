package sqlstore

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL. Queries
// are written once, with ? placeholders and in the SQL both understand
// (ON CONFLICT upserts, RETURNING); what is left over lives here.
type dialect struct {
	name string

	// numbered placeholders ($1, $2, ...) instead of ?.
	numbered bool

	// rowLocks: the database has concurrent writers, so a transaction must
	// lock the rows it reads before deciding on them. SQLite has one writer,
	// which serializes everything already, and no FOR UPDATE.
	rowLocks bool

	// forUpdate and skipLocked end a SELECT that locks what it reads, or
	// are empty where rowLocks is false.
	forUpdate  string
	skipLocked string
	// forShare ends a SELECT that keeps what it reads from changing until
	// the transaction ends, or is empty where rowLocks is false.
	forShare string

	// emptyBlob is a zero-length blob literal.
	emptyBlob string

	// arrays: the database takes arrays as parameters (unnest), so a list
	// of rows is a few parameters however long it is, not a VALUES list
	// to parse.
	arrays bool

	// Column types for the migration templates.
	blob     string // {{BLOB}}
	serialID string // {{ID}}: a BIGINT primary key, assigned increasing, never reused

	// lockMigrations is run first in every migration transaction so that
	// nodes starting together do not apply a migration twice; empty where the
	// write transaction is exclusive anyway.
	lockMigrations string
}

var sqliteDialect = &dialect{
	name:      "sqlite",
	blob:      "BLOB",
	emptyBlob: "x''",
	// AUTOINCREMENT, because a plain rowid reuses the highest id once its row
	// is deleted, and a client's fetch cursor would then skip new envelopes.
	serialID: "INTEGER PRIMARY KEY AUTOINCREMENT",
}

var postgresDialect = &dialect{
	name:           "postgres",
	numbered:       true,
	rowLocks:       true,
	forUpdate:      " FOR UPDATE",
	skipLocked:     " FOR UPDATE SKIP LOCKED",
	forShare:       " FOR SHARE",
	arrays:         true,
	emptyBlob:      "''::bytea",
	blob:           "BYTEA",
	serialID:       "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	lockMigrations: "SELECT pg_advisory_xact_lock(hashtext('parley schema_migrations ' || current_schema()))",
}

// rebind turns ? placeholders into $n where the dialect needs it. Queries in
// this package never hold a ? inside a string literal.
func (d *dialect) rebind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// template fills the dialect's types into a migration.
func (d *dialect) template(sql string) string {
	return strings.NewReplacer("{{BLOB}}", d.blob, "{{ID}}", d.serialID).Replace(sql)
}

// isUnique reports a unique or primary key violation.
func (d *dialect) isUnique(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "23505"
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports a row that refers to one that does not exist.
func (d *dialect) isForeignKey(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "23503"
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// retryable reports an error after which the whole transaction may simply be
// run again: PostgreSQL's deadlock and serialization failures. The lock order
// used throughout (account, then devices by id, then envelopes) should make
// them rare; this is the safety net.
func (d *dialect) retryable(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	return false
}

// rowsOf returns "(?, ?), (?, ?), ..." for a multi-row VALUES list.
func rowsOf(rows, columns int) string {
	row := "(" + placeholders(columns) + ")"
	return strings.Repeat(row+", ", rows-1) + row
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// deviceRows returns row sources "<source> AS v" with columns column1
// (account id), column2 (device id) and, when vals is not nil, column3
// (vals[i] for keys[i]), with their arguments: one on PostgreSQL (arrays),
// and VALUES lists of at most maxParams parameters elsewhere.
func (d *dialect) deviceRows(keys []address, vals []int64) []rowSource {
	if d.arrays {
		accts, devs := make([][]byte, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			accts[i], devs[i] = idArg(k.acct), int64(k.dev)
		}
		if vals == nil {
			return []rowSource{{"unnest(?::bytea[], ?::bigint[]) AS v (column1, column2)", []any{accts, devs}}}
		}
		return []rowSource{{"unnest(?::bytea[], ?::bigint[], ?::bigint[]) AS v (column1, column2, column3)", []any{accts, devs, vals}}}
	}
	row, per := "(CAST(? AS "+d.blob+"), CAST(? AS BIGINT))", 2
	if vals != nil {
		row, per = "(CAST(? AS "+d.blob+"), CAST(? AS BIGINT), CAST(? AS BIGINT))", 3
	}
	var out []rowSource
	for start := 0; start < len(keys); start += maxParams / per {
		end := min(len(keys), start+maxParams/per)
		args := make([]any, 0, per*(end-start))
		for i := start; i < end; i++ {
			args = append(args, idArg(keys[i].acct), int64(keys[i].dev))
			if vals != nil {
				args = append(args, vals[i])
			}
		}
		out = append(out, rowSource{"(VALUES " + strings.Repeat(row+", ", end-start-1) + row + ") AS v", args})
	}
	return out
}

// rowSource is a FROM item and its arguments.
type rowSource struct {
	sql  string
	args []any
}
