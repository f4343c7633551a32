package sqlstore

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/types"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openT(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		// A directory that does not exist yet: Open creates it.
		return openT(t, "sqlite:"+filepath.Join(t.TempDir(), "data", "parley.db"))
	})
}

func TestSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openT(t, "sqlite::memory:")
	})
}

func TestPostgres(t *testing.T) {
	storetest.PostgresDSN(t) // skip or fail once, before the suite
	storetest.Run(t, func(t *testing.T) store.Store {
		return openT(t, storetest.PostgresDSN(t))
	})
}

// dialects lists a fresh database of each kind.
func dialects(t *testing.T) []struct {
	name string
	dsn  func(t *testing.T) string
} {
	return []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "parley.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }},
	}
}

var tables = []string{
	"accounts", "devices", "prekeys", "mailbox_envelopes", "mailbox_dedup",
	"codes", "rate_limits", "privacy_settings", "privacy_contacts",
	"group_heads", "group_events", "group_members", "mailbox_payloads",
}

func TestMigrations(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	for _, d := range dialects(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := d.dsn(t)
			s, err := Open(ctx, dsn, testLogger(t))
			if err != nil {
				t.Fatalf("Open of an empty database: %v", err)
			}
			if s.Dialect() != d.name {
				t.Fatalf("opened %s, want %s", s.Dialect(), d.name)
			}
			v, err := s.SchemaVersion(ctx)
			if err != nil || v != len(ms) {
				t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
			}
			for _, table := range tables {
				var n int
				if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}
			applied := appliedMigrations(t, s)
			if len(applied) != len(ms) {
				t.Fatalf("schema_migrations has %d rows, want %d", len(applied), len(ms))
			}
			a := store.Account{ID: types.NewAccountID(), Phone: "+15550001111", CreatedAt: time.Now()}
			if err := s.CreateAccount(ctx, a, store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33)}, store.PreKeySet{}); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			// Reopening applies nothing and keeps the data.
			s = openT(t, dsn)
			if again := appliedMigrations(t, s); len(again) != len(applied) {
				t.Fatalf("reopen: schema_migrations has %d rows, want %d", len(again), len(applied))
			} else {
				for v, at := range applied {
					if again[v] != at {
						t.Errorf("reopen applied migration %d again", v)
					}
				}
			}
			if _, err := s.Account(ctx, a.ID); err != nil {
				t.Fatalf("reopen lost the account: %v", err)
			}
		})
	}
}

// Nodes sharing a PostgreSQL database start together; each migration must
// still be applied once.
func TestMigrationsConcurrentOpen(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			s, err := Open(t.Context(), dsn, testLogger(t))
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if applied := appliedMigrations(t, openT(t, dsn)); len(applied) != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", len(applied), len(ms))
	}
}

// appliedMigrations maps each applied version to when it was applied.
func appliedMigrations(t *testing.T, s *Store) map[int]int64 {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	m := map[int]int64{}
	for rows.Next() {
		var (
			v  int
			at int64
		)
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		m[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRefusesTooNewSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parley.db")
	s := openT(t, path)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, compatible_from, applied_at) VALUES (999, '999-future.sql', 999, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path, testLogger(t)); err == nil {
		s.Close()
		t.Fatal("Open accepted a schema that needs a newer build")
	}
}

func TestOpenDSNForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		filepath.Join(dir, "bare", "parley.db"),
		"sqlite:" + filepath.Join(dir, "prefixed", "parley.db"),
		"sqlite::memory:",
	} {
		s := openT(t, dsn)
		if s.Dialect() != "sqlite" {
			t.Errorf("%s opened %s", dsn, s.Dialect())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bare", "parley.db")); err != nil {
		t.Errorf("bare path: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "prefixed", "parley.db")); err != nil {
		t.Errorf("sqlite: path: %v", err)
	}
	var pragma struct {
		journal     string
		synchronous int
		foreignKeys int
	}
	s := openT(t, filepath.Join(dir, "pragmas.db"))
	ctx := t.Context()
	for _, q := range []struct {
		sql  string
		dest any
	}{
		{"PRAGMA journal_mode", &pragma.journal},
		{"PRAGMA synchronous", &pragma.synchronous},
		{"PRAGMA foreign_keys", &pragma.foreignKeys},
	} {
		if err := s.w.QueryRowContext(ctx, q.sql).Scan(q.dest); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if pragma.journal != "wal" || pragma.synchronous != 2 || pragma.foreignKeys != 1 {
		t.Errorf("writer: journal_mode=%s synchronous=%d foreign_keys=%d; want wal, 2 (FULL), 1",
			pragma.journal, pragma.synchronous, pragma.foreignKeys)
	}
}

// BenchmarkMailboxAppendFetchDelete measures the mailbox's path for one
// envelope: appended in a batch of 64 (the group commit), fetched, acked.
func BenchmarkMailboxAppendFetchDelete(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchMailbox(b, openT(b, filepath.Join(b.TempDir(), "parley.db")))
	})
	b.Run("postgres", func(b *testing.B) {
		benchMailbox(b, openT(b, storetest.PostgresDSN(b)))
	})
}

func benchMailbox(b *testing.B, s *Store) {
	const (
		batchSize  = 64
		recipients = 16
	)
	ctx := context.Background()
	now := time.Now()
	newAccount := func(i int) types.AccountID {
		id := types.NewAccountID()
		a := store.Account{ID: id, Phone: "+1555100" + string(rune('0'+i/10)) + string(rune('0'+i%10)), CreatedAt: now}
		d := store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33)}
		if err := s.CreateAccount(ctx, a, d, store.PreKeySet{}); err != nil {
			b.Fatal(err)
		}
		return id
	}
	sender := types.Address{Account: newAccount(99), Device: 1}
	var to []types.AccountID
	for i := range recipients {
		to = append(to, newAccount(i))
	}
	content := make([]byte, 256)

	envelopes := 0
	var appending time.Duration
	for b.Loop() {
		batch := make([]*store.Append, batchSize)
		for i := range batch {
			msg := types.NewMessageID()
			dst := to[i%recipients]
			batch[i] = &store.Append{Sender: sender, MessageID: msg, Destination: dst, Envelopes: []store.Envelope{{
				Account: dst, Device: 1, MessageID: msg, Sender: sender, Type: 1, Content: content,
				ClientTime: now, ServerTime: now, ExpiresAt: now.Add(time.Hour),
			}}}
		}
		start := time.Now()
		if err := s.Append(ctx, batch, 100000, time.Hour, now); err != nil {
			b.Fatal(err)
		}
		appending += time.Since(start)
		for _, dst := range to {
			es, err := s.Fetch(ctx, dst, 1, 0, 1000)
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]uint64, len(es))
			for i, e := range es {
				ids[i] = e.ID
			}
			n, err := s.DeleteEnvelopes(ctx, dst, 1, ids)
			if err != nil || n != len(ids) {
				b.Fatalf("DeleteEnvelopes = %d, %v; want %d", n, err, len(ids))
			}
			envelopes += n
		}
	}
	// The whole path, and Append alone: acks, one transaction per device,
	// are most of the cost once appends are batched.
	b.ReportMetric(float64(envelopes)/b.Elapsed().Seconds(), "envelopes/s")
	b.ReportMetric(float64(envelopes)/appending.Seconds(), "appended/s")
}
