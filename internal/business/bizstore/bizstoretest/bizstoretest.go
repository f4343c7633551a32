// Package bizstoretest opens throwaway business databases for tests and
// presents one as the stores the conformance suites of cloudapi (through
// cloudapitest) take, so that the suites, the Cloud API handler's tests and
// the agent's run on the real store the same way.
package bizstoretest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/cloudapi/cloudapitest"
	"github.com/parley-im/parley/internal/business/commerce"
)

// Open opens a new database in a temporary directory, closed when t ends.
func Open(t testing.TB) *bizstore.Store {
	t.Helper()
	s, err := bizstore.Open(context.Background(), filepath.Join(t.TempDir(), "business.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Stores presents st as cloudapitest.Stores. catalogs are catalog ids to
// create (with these fixed ids, as a test's constants name them); with none,
// two are created for the suite.
func Stores(t testing.TB, st *bizstore.Store, catalogs ...string) cloudapitest.Stores {
	t.Helper()
	if len(catalogs) == 0 {
		catalogs = []string{"1000000000000003", "1000000000000004"}
	}
	for _, id := range catalogs {
		if err := st.InsertCatalog(context.Background(), commerce.Catalog{ID: id, Name: "Catálogo " + id}); err != nil {
			t.Fatal(err)
		}
	}
	return cloudapitest.Stores{
		Directory:   st,
		AddBusiness: st.PutBusiness,
		SetTier:     st.SetTier,
		Catalogs:    catalogs,
		Tokens:      st,
		IssueToken: func(ctx context.Context, g cloudapi.Token) (string, error) {
			tok, _, err := st.IssueToken(ctx, g, "test")
			return tok, err
		},
		RevokeToken: st.RevokeTokenValue,
		Media:       st,
		Templates:   st,
		SetTemplateStatus: func(ctx context.Context, id, status string) error {
			return st.SetTemplateStatus(ctx, id, status, "")
		},
		Conversations: st,
	}
}
