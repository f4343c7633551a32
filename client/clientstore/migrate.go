package clientstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change; internal/sqlmigrate holds the
// file convention both of Parley's SQL stores follow.
type migration = sqlmigrate.Migration

func loadMigrations() ([]migration, error) { return sqlmigrate.Load(migrationFiles, "migrations") }

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
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := q.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			_, err := q.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, compatible_from, applied_at) VALUES (?, ?, ?, ?)`,
				m.Version, m.Name, m.CompatibleFrom, time.Now().UnixMilli())
			if err == nil {
				s.log.Info("applied client schema migration", "version", m.Version, "name", m.Name)
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
