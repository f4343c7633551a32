// Package cloudapitest is the conformance suite for the stores the Cloud API
// handler declares (Directory, TokenStore, MediaStore, TemplateStore,
// Conversations): the in-memory ones of package cloudapi and the business
// agent's SQLite ones (internal/business/bizstore) must both pass Run. The
// tests look only through the interfaces, plus the few administrative
// operations a test needs to set up (adding a business, issuing a token),
// and check what the API's caller would notice.
package cloudapitest

import (
	"context"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// Stores is one implementation of the handler's stores with the
// administrative operations the suite sets up through. A nil store skips
// its tests.
type Stores struct {
	Directory cloudapi.Directory
	// AddBusiness adds or replaces b and the given numbers of it, as
	// cloudapi.MemDirectory.Add does. b.CatalogIDs are among Catalogs.
	AddBusiness func(ctx context.Context, b cloudapi.Business, numbers ...cloudapi.PhoneNumber) error
	// SetTier changes a business's messaging limit.
	SetTier func(ctx context.Context, wabaID string, t cloudapi.Tier) error
	// Catalogs are at least two catalog ids AddBusiness may connect.
	Catalogs []string

	Tokens cloudapi.TokenStore
	// IssueToken makes a token with grant g; RevokeToken forgets one.
	IssueToken  func(ctx context.Context, g cloudapi.Token) (string, error)
	RevokeToken func(ctx context.Context, token string) error

	Media cloudapi.MediaStore

	Templates cloudapi.TemplateStore
	// SetTemplateStatus changes a template's status.
	SetTemplateStatus func(ctx context.Context, id, status string) error

	Conversations cloudapi.Conversations
}

// Mem returns the in-memory stores of package cloudapi.
func Mem() Stores {
	dir, tokens, templates := cloudapi.NewMemDirectory(), cloudapi.NewMemTokens(), cloudapi.NewMemTemplates()
	return Stores{
		Directory: dir,
		AddBusiness: func(_ context.Context, b cloudapi.Business, numbers ...cloudapi.PhoneNumber) error {
			dir.Add(b, numbers...)
			return nil
		},
		SetTier: func(_ context.Context, wabaID string, t cloudapi.Tier) error {
			dir.SetTier(wabaID, t)
			return nil
		},
		Catalogs:    []string{"1000000000000003", "1000000000000004"},
		Tokens:      tokens,
		IssueToken:  func(_ context.Context, g cloudapi.Token) (string, error) { return tokens.Issue(g), nil },
		RevokeToken: func(_ context.Context, token string) error { tokens.Revoke(token); return nil },
		Media:       cloudapi.NewMemMedia(),
		Templates:   templates,
		SetTemplateStatus: func(_ context.Context, id, status string) error {
			templates.SetStatus(id, status)
			return nil
		},
		Conversations: cloudapi.NewMemConversations(),
	}
}

type test struct {
	name string
	run  func(t *testing.T, s Stores)
}

// Run runs the suite. open must return new, empty stores for each call and
// release them when t ends.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	groups := []struct {
		name  string
		has   func(Stores) bool
		tests []test
	}{
		{"Directory", func(s Stores) bool { return s.Directory != nil }, directoryTests},
		{"Tokens", func(s Stores) bool { return s.Tokens != nil }, tokenTests},
		{"Media", func(s Stores) bool { return s.Media != nil }, mediaTests},
		{"Templates", func(s Stores) bool { return s.Templates != nil }, templateTests},
		{"Conversations", func(s Stores) bool { return s.Conversations != nil }, conversationTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					if !g.has(s) {
						t.Skip("not implemented by these stores")
					}
					tc.run(t, s)
				})
			}
		})
	}
}

// t0 is the suite's "now": whole milliseconds, the precision a store must
// keep.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
