package cloudapitest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

var tokenTests = []test{
	{"a token finds its grant by its hash", func(t *testing.T, s Stores) {
		ctx := t.Context()
		grants := []cloudapi.Token{
			{WABAID: "3000000000000001", Scopes: []cloudapi.Scope{cloudapi.ScopeMessages, cloudapi.ScopeMedia}, Expires: t0.Add(time.Hour)},
			{WABAID: "3000000000000001", Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}},
			{WABAID: "3000000000000002", Scopes: []cloudapi.Scope{cloudapi.ScopeCatalog, cloudapi.ScopeProfile, cloudapi.ScopeTemplates}},
		}
		var tokens []string
		for _, g := range grants {
			tok, err := s.IssueToken(ctx, g)
			must(t, err)
			if slices.Contains(tokens, tok) {
				t.Fatal("the same token was issued twice")
			}
			tokens = append(tokens, tok)
		}
		for i, tok := range tokens {
			got, err := s.Tokens.Token(ctx, cloudapi.HashToken(tok))
			must(t, err)
			want := grants[i]
			if got.WABAID != want.WABAID || !slices.Equal(got.Scopes, want.Scopes) || !got.Expires.Equal(want.Expires) {
				t.Fatalf("grant %+v, want %+v", got, want)
			}
		}
	}},
	{"unknown and revoked tokens are not found", func(t *testing.T, s Stores) {
		ctx := t.Context()
		_, hash := cloudapi.NewToken()
		if _, err := s.Tokens.Token(ctx, hash); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("unknown token: %v, want ErrNotFound", err)
		}
		keep, err := s.IssueToken(ctx, cloudapi.Token{WABAID: "3000000000000011", Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}})
		must(t, err)
		drop, err := s.IssueToken(ctx, cloudapi.Token{WABAID: "3000000000000011", Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}})
		must(t, err)
		must(t, s.RevokeToken(ctx, drop))
		if _, err := s.Tokens.Token(ctx, cloudapi.HashToken(drop)); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("revoked token: %v, want ErrNotFound", err)
		}
		if _, err := s.Tokens.Token(ctx, cloudapi.HashToken(keep)); err != nil {
			t.Fatalf("revoking one token revoked another: %v", err)
		}
	}},
	{"an expired token is still found, with its expiry", func(t *testing.T, s Stores) {
		// The handler tells "expired" (190/463) from "unknown" (190).
		ctx := t.Context()
		past := t0.Add(-24 * time.Hour)
		tok, err := s.IssueToken(ctx, cloudapi.Token{WABAID: "3000000000000021", Scopes: []cloudapi.Scope{cloudapi.ScopeMessages}, Expires: past})
		must(t, err)
		got, err := s.Tokens.Token(ctx, cloudapi.HashToken(tok))
		if err != nil || !got.Expires.Equal(past) {
			t.Fatalf("expired token: %+v %v", got, err)
		}
	}},
}
