package bizstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "biz", "business.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestMigrationsApplyAndReopen(t *testing.T) {
	s, path := open(t)
	ctx := t.Context()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(ms))
	}
	if err := s.PutProfile(ctx, commerce.Profile{Name: "Livraria"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, want 0600", fi.Mode().Perm())
	}
	s.Close()

	// Reopening applies nothing again and keeps the data.
	s2, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	p, err := s2.Profile(ctx)
	if err != nil || p.Name != "Livraria" {
		t.Fatalf("profile after reopen: %+v, %v", p, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := open(t)
	ctx := t.Context()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (99, '099-future.sql', 99, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, path, nil); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("opening a file from a newer agent: %v, want ErrNewerSchema", err)
	}
}

func TestMigrationFilesFollowTheConvention(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"001-business-data.sql", "002-cloud-api.sql", "003-webhook-queue.sql", "004-payment-charges.sql", "005-bot-conversations.sql"}
	if len(ms) < len(want) {
		t.Fatalf("%d migrations, want at least %d", len(ms), len(want))
	}
	for i, name := range want {
		if ms[i].Name != name || ms[i].CompatibleFrom != 1 {
			t.Errorf("migration %d is %s (compatible from v%d), want %s (v1+: it only adds tables)", i+1, ms[i].Name, ms[i].CompatibleFrom, name)
		}
	}
}

func TestObjectIDs(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	digits := regexp.MustCompile(`^[1-9][0-9]{14,15}$`)
	seen := map[string]bool{}
	for i := range 200 {
		kind := commerce.KindProduct
		if i%2 == 0 {
			kind = commerce.KindCatalog
		}
		id, err := s.NewObjectID(ctx, kind)
		if err != nil {
			t.Fatal(err)
		}
		if !digits.MatchString(id) || seen[id] {
			t.Fatalf("id %q: not 15-16 digits or repeated", id)
		}
		seen[id] = true
		if k, err := s.ObjectKind(ctx, id); err != nil || k != kind {
			t.Fatalf("ObjectKind(%s) = %q, %v; want %q", id, k, err, kind)
		}
	}
	if _, err := s.ObjectKind(ctx, "123"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestErrorsMatchBothSentinels(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	_, err := s.Product(ctx, "1")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, commerce.ErrNotFound) || errors.Is(err, ErrExists) {
		t.Fatalf("missing product: %v", err)
	}
	c := commerce.Catalog{ID: "100000000000001", Name: "Livros", CreatedAt: time.Now()}
	if err := s.InsertCatalog(ctx, c); err != nil {
		t.Fatal(err)
	}
	err = s.InsertCatalog(ctx, c)
	if !errors.Is(err, ErrExists) || !errors.Is(err, commerce.ErrExists) || errors.Is(err, ErrNotFound) {
		t.Fatalf("duplicate catalog: %v", err)
	}
}

// A transaction that fails keeps nothing, and calls with its ctx see its
// own writes.
func TestInTxRollsBack(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.InsertCatalog(ctx, commerce.Catalog{ID: "100000000000002", Name: "A"}); err != nil {
			return err
		}
		if _, err := s.Catalog(ctx, "100000000000002"); err != nil {
			t.Errorf("the transaction does not see its own insert: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.Catalog(ctx, "100000000000002"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rolled back catalog is there: %v", err)
	}
}

// Another package's statements through Querier join InTx: kept on commit,
// gone on rollback.
func TestQuerierJoinsTransactions(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	if _, err := s.Querier(ctx).ExecContext(ctx, `CREATE TABLE extension_rows (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := s.Querier(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM extension_rows`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(ctx context.Context) error {
		_, err := s.Querier(ctx).ExecContext(ctx, `INSERT INTO extension_rows VALUES ('x')`)
		return err
	}
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(ctx context.Context) error {
		if err := insert(ctx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d rows after a rollback", n)
	}
	if err := s.InTx(ctx, insert); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d rows after a commit", n)
	}
}

func TestDirectoryRefusals(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	if err := s.PutBusiness(ctx, cloudapi.Business{ID: "1", CatalogIDs: []string{"404"}}); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("a business with an unknown catalog: %v", err)
	}
	if _, err := s.Business(ctx, "1"); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("a refused business was stored: %v", err)
	}
	if err := s.SetTier(ctx, "1", cloudapi.Tier2K); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("tier of an unknown business: %v", err)
	}
	if err := s.ConnectCatalog(ctx, "1", "404"); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("connecting to an unknown business: %v", err)
	}
	if err := s.PutBusiness(ctx, cloudapi.Business{ID: "1"}, cloudapi.PhoneNumber{ID: "2"}); err != nil {
		t.Fatal(err)
	}
	c := commerce.Catalog{ID: "3", Name: "Livros"}
	if err := s.InsertCatalog(ctx, c); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.ConnectCatalog(ctx, "1", "3"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertCatalog(ctx, commerce.Catalog{ID: "4", Name: "Discos"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConnectCatalog(ctx, "1", "4"); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Business(ctx, "1"); len(b.CatalogIDs) != 2 || b.CatalogIDs[0] != "3" || b.CatalogIDs[1] != "4" {
		t.Errorf("catalogs %v, want [3 4]", b.CatalogIDs)
	}
	// A deleted catalog leaves the business.
	if err := s.DeleteCatalog(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Business(ctx, "1"); len(b.CatalogIDs) != 1 || b.CatalogIDs[0] != "4" {
		t.Errorf("after deleting a catalog: %v", b.CatalogIDs)
	}
	if all, err := s.Businesses(ctx); err != nil || len(all) != 1 || all[0].PhoneNumberIDs[0] != "2" {
		t.Errorf("Businesses: %+v %v", all, err)
	}
}
