package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNewerSchema: a newer build migrated the database beyond what this one
// can work with.
var ErrNewerSchema = errors.New("the database needs a newer version")

// Migration is one numbered schema change.
type Migration struct {
	Version int
	// CompatibleFrom is the oldest schema version whose code still works
	// once this migration is applied.
	CompatibleFrom int
	Name           string // the file name
	SQL            string
}

var (
	migrationName   = regexp.MustCompile(`^(\d{3})-([a-z0-9]+(?:-[a-z0-9]+)*)\.sql$`)
	migrationHeader = regexp.MustCompile(`^-- v(\d+) \(compatible with v(\d+)\+\): \S.*$`)
)

// LoadMigrations parses the files in dir of fsys, checking that they are
// numbered 1, 2, 3, ... without gaps and that each header agrees with its
// file name.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: name is not NNN-kebab-description.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(string(body), "\n")
		h := migrationHeader.FindStringSubmatch(strings.TrimRight(first, "\r"))
		if h == nil {
			return nil, fmt.Errorf("migration %q: first line is not \"-- vN (compatible with vM+): description\"", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		hv, _ := strconv.Atoi(h[1])
		compat, _ := strconv.Atoi(h[2])
		if hv != v || compat < 1 || compat > v {
			return nil, fmt.Errorf("migration %q: header says v%d compatible with v%d+", e.Name(), hv, compat)
		}
		ms = append(ms, Migration{Version: v, CompatibleFrom: compat, Name: e.Name(), SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrator applies migrations to one database.
type Migrator struct {
	// InTx runs fn in one write transaction and commits it when fn
	// returns nil.
	InTx func(ctx context.Context, fn func(q Querier) error) error
	// Lock, when set, runs first in every migration's transaction, so that
	// processes starting together on one database do not apply a migration
	// twice; SQLite's write transaction is exclusive without it.
	Lock string
	// Template rewrites a migration's SQL for the database (its column
	// types, say); nil runs it as written.
	Template func(sql string) string
	// Rebind turns the ? placeholders of the runner's own statements into
	// the database's; nil keeps them.
	Rebind func(query string) string
	// Log receives a line for each migration applied and a warning when
	// the database is newer than this build but compatible with it.
	Log *slog.Logger
}

// Both databases take BIGINT; on SQLite it has INTEGER affinity.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version         BIGINT PRIMARY KEY,
	name            TEXT NOT NULL,
	compatible_from BIGINT NOT NULL,
	applied_at      BIGINT NOT NULL
)`

// Migrate applies every migration in ms (as LoadMigrations returns them)
// that the database lacks. A database a newer build moved beyond this one's
// reach is refused (ErrNewerSchema) before anything is written.
func (m *Migrator) Migrate(ctx context.Context, ms []Migration) error {
	rebind, template := m.Rebind, m.Template
	if rebind == nil {
		rebind = func(q string) string { return q }
	}
	if template == nil {
		template = func(q string) string { return q }
	}
	log := m.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for i, mig := range ms {
		err := m.InTx(ctx, func(q Querier) error {
			if m.Lock != "" {
				if _, err := q.ExecContext(ctx, m.Lock); err != nil {
					return err
				}
			}
			if _, err := q.ExecContext(ctx, createMigrationsTable); err != nil {
				return err
			}
			if i == 0 {
				if err := checkNewer(ctx, q, len(ms), log); err != nil {
					return err
				}
			}
			// Checked under the lock: another process may have just applied it.
			var n int
			if err := q.QueryRowContext(ctx, rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), mig.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := q.ExecContext(ctx, template(mig.SQL)); err != nil {
				return fmt.Errorf("apply %s: %w", mig.Name, err)
			}
			_, err := q.ExecContext(ctx, rebind(`INSERT INTO schema_migrations (version, name, compatible_from, applied_at) VALUES (?, ?, ?, ?)`),
				mig.Version, mig.Name, mig.CompatibleFrom, time.Now().UnixMilli())
			if err == nil {
				log.Info("applied schema migration", "version", mig.Version, "name", mig.Name)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkNewer refuses a database whose newest migration needs code this
// build does not have.
func checkNewer(ctx context.Context, q Querier, known int, log *slog.Logger) error {
	var version, compat int
	err := q.QueryRowContext(ctx, `SELECT version, compatible_from FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&version, &compat)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > known && compat > known {
		return fmt.Errorf("%w: its schema is v%d, which needs code for v%d+; this build knows v%d", ErrNewerSchema, version, compat, known)
	}
	if version > known {
		log.Warn("database schema is newer than this build", "schema_version", version, "known_version", known)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database.
func SchemaVersion(ctx context.Context, q Querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}
