package sqlstore

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

// migration is one numbered schema change. compatibleFrom is the oldest
// schema version whose code still works once this one is applied: it lets an
// older binary refuse a database that a newer one has moved too far.
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
// 1, 2, 3, ... without gaps and that each header agrees with its file name.
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

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version         BIGINT PRIMARY KEY,
	name            TEXT NOT NULL,
	compatible_from BIGINT NOT NULL,
	applied_at      BIGINT NOT NULL
)`

// migrate applies every migration the database lacks, each in its own
// transaction together with its schema_migrations row, so a crash leaves the
// schema at a version boundary.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := s.inTx(ctx, func(tx db) error {
			if s.d.lockMigrations != "" {
				if _, err := tx.exec(ctx, s.d.lockMigrations); err != nil {
					return err
				}
			}
			if _, err := tx.exec(ctx, createMigrationsTable); err != nil {
				return err
			}
			// Checked under the lock: another node may have just applied it.
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.exec(ctx, s.d.template(m.sql)); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, compatible_from, applied_at) VALUES (?, ?, ?, ?)`,
				m.version, m.name, m.compatibleFrom, time.Now().UnixMilli())
			if err == nil {
				s.log.Info("applied schema migration", "version", m.version, "name", m.name, "dialect", s.d.name)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	}
	return s.checkNewerSchema(ctx, len(ms))
}

// checkNewerSchema refuses a database that a newer binary migrated beyond
// what this one can work with.
func (s *Store) checkNewerSchema(ctx context.Context, known int) error {
	var version, compat int
	err := s.w.QueryRowContext(ctx, s.d.rebind(
		`SELECT version, compatible_from FROM schema_migrations ORDER BY version DESC LIMIT 1`)).Scan(&version, &compat)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return fmt.Errorf("sqlstore: read schema version: %w", err)
	}
	if version > known && compat > known {
		return fmt.Errorf("sqlstore: database schema is v%d, which needs code for v%d+; this build knows v%d", version, compat, known)
	}
	if version > known {
		s.log.Warn("database schema is newer than this build", "schema_version", version, "known_version", known)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}
