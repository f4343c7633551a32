package clientstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// The migration-file convention (names, headers, numbering) is the server's
// too (internal/store/sqldb). The reader is repeated rather than
// shared because client/ is public API and imports nothing under internal/
// (internal/repotest enforces it): keep the two in step.

// migration is one numbered schema change. compatibleFrom is the oldest
// schema version whose code still works once this one is applied, so an
// older client can tell whether it may use a file a newer one has touched.
type migration struct {
	version        int
	compatibleFrom int
	name           string
	sql            string
}

var (
	migrationName   = regexp.MustCompile(`^(\d{3})-([a-z0-9]+(?:-[a-z0-9]+)*)\.sql$`)
	migrationHeader = regexp.MustCompile(`^-- v(\d+) \(compatible with v(\d+)\+\): \S.*$`)
)

// loadMigrations parses the embedded files, checking that they are numbered
// 1, 2, 3, ... and that each header agrees with its file name.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: name is not NNN-kebab-description.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
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
		ms = append(ms, migration{version: v, compatibleFrom: compat, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies every migration the database lacks, each in its own
// transaction together with its schema_migrations row.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := s.write(ctx, func(q querier) error {
			if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version         INTEGER PRIMARY KEY,
				name            TEXT NOT NULL,
				compatible_from INTEGER NOT NULL,
				applied_at      INTEGER NOT NULL
			)`); err != nil {
				return err
			}
			var n int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := q.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			_, err := q.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, compatible_from, applied_at) VALUES (?, ?, ?, ?)`,
				m.version, m.name, m.compatibleFrom, time.Now().UnixMilli())
			if err == nil {
				s.log.Info("applied client schema migration", "version", m.version, "name", m.name)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("clientstore: migrate: %w", err)
		}
	}
	return s.checkSchema(ctx)
}

// checkSchema refuses a file that a newer client migrated beyond what this
// one can work with. It runs before anything is written.
func (s *Store) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	known := len(ms)
	var version, compat int
	err = s.w.QueryRowContext(ctx, `SELECT version, compatible_from FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&version, &compat)
	if errors.Is(err, sql.ErrNoRows) || (err != nil && strings.Contains(err.Error(), "no such table")) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clientstore: read schema version: %w", err)
	}
	if version > known && compat > known {
		return fmt.Errorf("%w: schema v%d needs code for v%d+; this build knows v%d", ErrNewerSchema, version, compat, known)
	}
	if version > known {
		s.log.Warn("client database schema is newer than this build", "schema_version", version, "known_version", known)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the file.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.read(ctx).QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("clientstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}
