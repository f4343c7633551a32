package clientstore

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

func TestMigrationsFromEmpty(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	st, path := newStore(t)
	v, err := st.SchemaVersion(ctx)
	if err != nil || v != len(ms) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}
	for _, table := range []string{"store_keys", "account", "identities", "sessions", "sender_keys", "prekeys", "prekey_ids",
		"kyber_uses", "contacts", "conversations", "messages", "receipts", "reactions", "outbox"} {
		var n int
		if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	var mode string
	if err := st.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	st.Close()
	// Opening again applies nothing twice.
	st = openAt(t, path)
	var rows int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(ms) {
		t.Fatalf("schema_migrations has %d rows, %v; want %d", rows, err, len(ms))
	}
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.db")
	st := openAt(t, path)
	register(t, st, 1)
	st.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	// A newer client added a migration that older code can live with.
	if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (90, '090-future.sql', 1, 0)`); err != nil {
		t.Fatal(err)
	}
	openAt(t, path).Close()

	// And then one it cannot.
	if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (91, '091-future.sql', 91, 0)`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, path, protector(testPass), nil); !errors.Is(err, ErrNewerSchema) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer schema = %v, want ErrNewerSchema", err)
	}
}
