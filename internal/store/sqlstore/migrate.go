package sqlstore

import (
	"context"
	"embed"
	"fmt"

	"github.com/parley-im/parley/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

func loadMigrations() ([]sqldb.Migration, error) {
	return sqldb.LoadMigrations(migrationFiles, "migrations")
}

// migrate brings the schema up to date (sqldb describes how). On
// PostgreSQL every migration first takes an advisory lock, so that nodes
// starting together apply each once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	m := sqldb.Migrator{
		InTx: func(ctx context.Context, fn func(q sqldb.Querier) error) error {
			return s.inTx(ctx, func(tx db) error { return fn(tx.q) })
		},
		Lock:     s.d.lockMigrations,
		Template: s.d.template,
		Rebind:   s.d.rebind,
		Log:      s.log.With("dialect", s.d.name),
	}
	if err := m.Migrate(ctx, ms); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := sqldb.SchemaVersion(ctx, s.r)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return v, nil
}
