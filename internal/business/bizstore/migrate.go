package bizstore

import (
	"context"
	"embed"
	"fmt"

	"github.com/parley-im/parley/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// The migration files follow the server's convention (internal/store/sqldb
// reads and applies them).

func loadMigrations() ([]sqldb.Migration, error) {
	return sqldb.LoadMigrations(migrationFiles, "migrations")
}

// migrate refuses a file a newer agent moved beyond this one's reach, then
// applies every migration the database lacks.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("bizstore: %w", err)
	}
	m := sqldb.Migrator{InTx: s.write, Log: s.log.With("database", "business")}
	if err := m.Migrate(ctx, ms); err != nil {
		return fmt.Errorf("bizstore: migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the file.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := sqldb.SchemaVersion(ctx, s.read(ctx))
	if err != nil {
		return 0, fmt.Errorf("bizstore: schema version: %w", err)
	}
	return v, nil
}
