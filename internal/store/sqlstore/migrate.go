package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change; internal/sqlmigrate holds the
// file convention both of Parley's SQL stores follow.
type migration = sqlmigrate.Migration

func loadMigrations() ([]migration, error) { return sqlmigrate.Load(migrationFiles, "migrations") }

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
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.exec(ctx, s.d.template(m.SQL)); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, compatible_from, applied_at) VALUES (?, ?, ?, ?)`,
				m.Version, m.Name, m.CompatibleFrom, time.Now().UnixMilli())
			if err == nil {
				s.log.Info("applied schema migration", "version", m.Version, "name", m.Name, "dialect", s.d.name)
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
