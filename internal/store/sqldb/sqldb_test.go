package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	file := func(header string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(header + "\nCREATE TABLE t (x INTEGER);\n")}
	}
	for _, tc := range []struct {
		name    string
		files   fstest.MapFS
		wantErr string // empty: loads
	}{
		{"numbered in order", fstest.MapFS{
			"m/002-second.sql": file("-- v2 (compatible with v1+): the second"),
			"m/001-first.sql":  file("-- v1 (compatible with v1+): the first"),
		}, ""},
		{"a gap", fstest.MapFS{
			"m/001-first.sql": file("-- v1 (compatible with v1+): the first"),
			"m/003-third.sql": file("-- v3 (compatible with v1+): the third"),
		}, "expected version 2"},
		{"a name not in kebab case", fstest.MapFS{
			"m/001_First.sql": file("-- v1 (compatible with v1+): the first"),
		}, "name is not"},
		{"no header", fstest.MapFS{
			"m/001-first.sql": &fstest.MapFile{Data: []byte("CREATE TABLE t (x INTEGER);\n")},
		}, "first line is not"},
		{"a header of another version", fstest.MapFS{
			"m/001-first.sql": file("-- v2 (compatible with v1+): the first"),
		}, "header says v2"},
		{"compatible with a later version", fstest.MapFS{
			"m/001-first.sql": file("-- v1 (compatible with v2+): the first"),
		}, "compatible with v2+"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.files, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadMigrations: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 2 || ms[0].Name != "001-first.sql" || ms[1].Version != 2 || ms[1].CompatibleFrom != 1 {
				t.Fatalf("loaded %+v", ms)
			}
		})
	}
}

// sqliteMigrator applies migrations through w, as bizstore does.
func sqliteMigrator(w *sql.DB) *Migrator {
	return &Migrator{InTx: func(ctx context.Context, fn func(Querier) error) error {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}}
}

func TestMigrateOnceAndRefuseNewer(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "db", "x.db")
	w, r, err := OpenSQLite(ctx, path, SQLiteOptions{Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { w.Close(); r.Close() }()
	ms := []Migration{
		{Version: 1, CompatibleFrom: 1, Name: "001-t.sql", SQL: "CREATE TABLE t (x INTEGER)"},
		{Version: 2, CompatibleFrom: 1, Name: "002-u.sql", SQL: "CREATE TABLE u (x INTEGER)"},
	}
	m := sqliteMigrator(w)
	for range 2 { // the second run applies nothing (CREATE TABLE would fail)
		if err := m.Migrate(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := SchemaVersion(ctx, r); err != nil || v != 2 {
		t.Fatalf("SchemaVersion = %d, %v; want 2", v, err)
	}

	// A build that knows only v1 may use a v2 database compatible with v1+,
	if err := m.Migrate(ctx, ms[:1]); err != nil {
		t.Fatalf("older build, compatible schema: %v", err)
	}
	// but not one whose newest migration needs v3+.
	if _, err := w.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (3, '003-v.sql', 3, 0)`); err != nil {
		t.Fatal(err)
	}
	ms = append(ms, Migration{Version: 3, CompatibleFrom: 3, Name: "003-v.sql", SQL: "CREATE TABLE v (x INTEGER)"})
	if err := m.Migrate(ctx, ms[:2]); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("older build, incompatible schema: %v, want ErrNewerSchema", err)
	}
}

func TestOpenSQLitePaths(t *testing.T) {
	ctx := t.Context()
	for _, bad := range []string{"", "file:x.db", "x.db?mode=ro", "x.db#y"} {
		if w, _, err := OpenSQLite(ctx, bad, SQLiteOptions{}); err == nil {
			w.Close()
			t.Errorf("OpenSQLite(%q) opened it", bad)
		}
	}
	w, r, err := OpenSQLite(ctx, ":memory:", SQLiteOptions{Readers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w != r {
		t.Error("an in-memory database has separate readers, which would see another database")
	}
}
