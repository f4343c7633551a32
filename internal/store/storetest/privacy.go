package storetest

import (
	"slices"
	"testing"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

var privacyTests = []test{
	{"an account that set nothing shows to everyone", func(t *testing.T, s store.Store) {
		a, _ := createAccount(t, s)
		ps, err := s.PrivacySettings(t.Context(), a.ID)
		noErr(t, "PrivacySettings", err)
		if ps.LastSeen != store.VisibleEveryone || len(ps.Contacts) != 0 {
			t.Errorf("PrivacySettings = %+v, want everyone and no contacts", ps)
		}
	}},

	{"SetVisibility and SetContacts replace the settings", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		other, _ := createAccount(t, s)
		b, c := types.NewAccountID(), types.NewAccountID()

		for _, v := range []store.Visibility{store.VisibleNobody, store.VisibleContacts, store.VisibleEveryone, store.VisibleContacts} {
			noErr(t, "SetVisibility", s.SetVisibility(ctx, a.ID, v))
			ps, err := s.PrivacySettings(ctx, a.ID)
			noErr(t, "PrivacySettings", err)
			if ps.LastSeen != v {
				t.Fatalf("LastSeen = %v after setting %v", ps.LastSeen, v)
			}
		}

		isContact := func(owner, other types.AccountID) bool {
			t.Helper()
			ok, err := s.IsContact(ctx, owner, other)
			noErr(t, "IsContact", err)
			return ok
		}
		for _, tc := range []struct {
			name string
			set  []types.AccountID
		}{
			{"two contacts", []types.AccountID{b, c}},
			{"a replacement list", []types.AccountID{c}},
			{"no contacts", nil},
			{"a repeated contact", []types.AccountID{b, b}},
		} {
			noErr(t, "SetContacts", s.SetContacts(ctx, a.ID, tc.set))
			want := sortIDs(slices.Compact(sortIDs(tc.set)))
			ps, err := s.PrivacySettings(ctx, a.ID)
			noErr(t, "PrivacySettings", err)
			if got := sortIDs(ps.Contacts); !slices.Equal(got, want) {
				t.Errorf("%s: contacts %v, want %v", tc.name, got, want)
			}
			if ps.LastSeen != store.VisibleContacts {
				t.Errorf("%s: SetContacts changed LastSeen to %v", tc.name, ps.LastSeen)
			}
			for _, x := range []types.AccountID{b, c} {
				if got, want := isContact(a.ID, x), slices.Contains(tc.set, x); got != want {
					t.Errorf("%s: IsContact(a, %s) = %v, want %v", tc.name, x, got, want)
				}
			}
		}
		// Contact lists are one-way and per account.
		if isContact(b, a.ID) {
			t.Error("IsContact is not one-way")
		}
		ps, err := s.PrivacySettings(ctx, other.ID)
		noErr(t, "PrivacySettings(other)", err)
		if ps.LastSeen != store.VisibleEveryone || len(ps.Contacts) != 0 {
			t.Errorf("another account's settings changed to %+v", ps)
		}
	}},
}
