package storetest

import (
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

var accountTests = []test{
	{"CreateAccount stores account and primary device", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a := store.Account{ID: types.NewAccountID(), Phone: newPhone(), CreatedAt: t0}
		d := newDevice(a.ID, types.PrimaryDevice)
		keys := newKeys(7, 0, 0)
		noErr(t, "CreateAccount", s.CreateAccount(ctx, a, d, keys))

		for _, get := range []struct {
			name string
			f    func() (store.Account, error)
		}{
			{"Account", func() (store.Account, error) { return s.Account(ctx, a.ID) }},
			{"AccountByPhone", func() (store.Account, error) { return s.AccountByPhone(ctx, a.Phone) }},
		} {
			got, err := get.f()
			noErr(t, get.name, err)
			if got.ID != a.ID || got.Phone != a.Phone {
				t.Errorf("%s: got %s %s, want %s %s", get.name, got.ID, got.Phone, a.ID, a.Phone)
			}
			sameTime(t, get.name+" CreatedAt", got.CreatedAt, a.CreatedAt)
			if !got.LastSeen.IsZero() {
				t.Errorf("%s: LastSeen %v, want zero for a new account", get.name, got.LastSeen)
			}
		}

		got, err := s.Device(ctx, a.ID, types.PrimaryDevice)
		noErr(t, "Device", err)
		sameDevice(t, got, d)
		ds, err := s.Devices(ctx, a.ID)
		noErr(t, "Devices", err)
		if len(ds) != 1 || ds[0].ID != types.PrimaryDevice {
			t.Fatalf("Devices: %d devices, want the primary only", len(ds))
		}

		b, err := s.ClaimBundle(ctx, a.ID, types.PrimaryDevice)
		noErr(t, "ClaimBundle", err)
		samePreKey(t, "signed prekey", b.SignedEC, *keys.SignedEC)
		samePreKey(t, "last-resort Kyber", b.Kyber, *keys.LastResortKyber)
		if !b.KyberLastResort || b.OneTime != nil {
			t.Errorf("bundle: KyberLastResort=%v OneTime=%v, want last resort and no one-time key", b.KyberLastResort, b.OneTime)
		}
	}},

	{"CreateAccount with a taken phone number conflicts and stores nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		first, _ := createAccount(t, s)
		second := store.Account{ID: types.NewAccountID(), Phone: first.Phone, CreatedAt: t0}
		err := s.CreateAccount(ctx, second, newDevice(second.ID, types.PrimaryDevice), newKeys(1, 5, 5))
		wantErr(t, "CreateAccount", err, store.ErrConflict)
		_, err = s.Account(ctx, second.ID)
		wantErr(t, "Account of the refused account", err, store.ErrNotFound)
		_, err = s.Devices(ctx, second.ID)
		wantErr(t, "Devices of the refused account", err, store.ErrNotFound)
		got, err := s.AccountByPhone(ctx, first.Phone)
		noErr(t, "AccountByPhone", err)
		if got.ID != first.ID {
			t.Errorf("AccountByPhone: %s, want the first account %s", got.ID, first.ID)
		}
	}},

	{"Account and AccountByPhone of nothing", func(t *testing.T, s store.Store) {
		_, err := s.Account(t.Context(), types.NewAccountID())
		wantErr(t, "Account", err, store.ErrNotFound)
		_, err = s.AccountByPhone(t.Context(), newPhone())
		wantErr(t, "AccountByPhone", err, store.ErrNotFound)
	}},

	{"ChangePhone", func(t *testing.T, s store.Store) {
		for _, tc := range []struct {
			name    string
			to      func(mine, other store.Account) (types.AccountID, string)
			wantErr error
		}{
			{"to a free number", func(mine, _ store.Account) (types.AccountID, string) { return mine.ID, newPhone() }, nil},
			{"to its own number", func(mine, _ store.Account) (types.AccountID, string) { return mine.ID, mine.Phone }, nil},
			{"to a taken number", func(mine, other store.Account) (types.AccountID, string) { return mine.ID, other.Phone }, store.ErrConflict},
			{"of no account", func(_, _ store.Account) (types.AccountID, string) { return types.NewAccountID(), newPhone() }, store.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				mine, _ := createAccount(t, s)
				other, _ := createAccount(t, s)
				id, phone := tc.to(mine, other)
				err := s.ChangePhone(ctx, id, phone)
				if tc.wantErr != nil {
					wantErr(t, "ChangePhone", err, tc.wantErr)
					phone = mine.Phone // nothing may have moved
				} else {
					noErr(t, "ChangePhone", err)
				}
				got, err := s.AccountByPhone(ctx, phone)
				noErr(t, "AccountByPhone(new)", err)
				if got.ID != mine.ID {
					t.Errorf("number %s belongs to %s, want %s", phone, got.ID, mine.ID)
				}
				if phone != mine.Phone {
					_, err := s.AccountByPhone(ctx, mine.Phone)
					wantErr(t, "AccountByPhone(old)", err, store.ErrNotFound)
				}
				got, err = s.AccountByPhone(ctx, other.Phone)
				noErr(t, "AccountByPhone(other)", err)
				if got.ID != other.ID {
					t.Errorf("the other account lost its number")
				}
			})
		}
	}},

	{"ReplaceDevices leaves only the new primary device", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		addDevice(t, s, a.ID)
		addDevice(t, s, a.ID)
		sender, _ := createAccount(t, s)
		for dev := types.DeviceID(1); dev <= 3; dev++ {
			noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, dev, newKeys(50, 5, 5)))
		}
		appendOK(t, s, t0, newAppend(addr(sender.ID, 1), types.NewMessageID(), a.ID, 1, 2, 3))
		// Someone else's mailbox must not be touched.
		appendOK(t, s, t0, newAppend(addr(a.ID, 1), types.NewMessageID(), sender.ID, 1))

		primary := newDevice(a.ID, types.PrimaryDevice)
		keys := newKeys(900, 3, 2)
		noErr(t, "ReplaceDevices", s.ReplaceDevices(ctx, a.ID, primary, keys))

		ds, err := s.Devices(ctx, a.ID)
		noErr(t, "Devices", err)
		if len(ds) != 1 {
			t.Fatalf("Devices: %d devices after ReplaceDevices, want 1", len(ds))
		}
		sameDevice(t, ds[0], primary)
		gone(t, s, a.ID, 2)
		gone(t, s, a.ID, 3)
		if es := fetchAll(t, s, a.ID, 1); len(es) != 0 {
			t.Errorf("new primary device inherited %d envelopes of the old one", len(es))
		}
		if n := queueLength(t, s, a.ID, 1); n != 0 {
			t.Errorf("QueueLength of the new primary = %d, want 0", n)
		}
		ec, ky, err := s.PreKeyCounts(ctx, a.ID, 1)
		noErr(t, "PreKeyCounts", err)
		if ec != 3 || ky != 2 {
			t.Errorf("PreKeyCounts = %d, %d; want the new keys' 3, 2", ec, ky)
		}
		b, err := s.ClaimBundle(ctx, a.ID, 1)
		noErr(t, "ClaimBundle", err)
		samePreKey(t, "signed prekey", b.SignedEC, *keys.SignedEC)
		sameBytes(t, "bundle identity key", b.Device.IdentityKey, primary.IdentityKey)

		got, err := s.Account(ctx, a.ID)
		noErr(t, "Account", err)
		if got.Phone != a.Phone {
			t.Errorf("phone changed to %s", got.Phone)
		}
		if es := fetchAll(t, s, sender.ID, 1); len(es) != 1 {
			t.Errorf("other account's queue has %d envelopes, want 1", len(es))
		}
		err = s.ReplaceDevices(ctx, types.NewAccountID(), newDevice(types.AccountID{}, 1), keys)
		wantErr(t, "ReplaceDevices of no account", err, store.ErrNotFound)
	}},

	{"DeleteAccount leaves nothing for the account", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		addDevice(t, s, a.ID)
		other, _ := createAccount(t, s)
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, newKeys(50, 5, 5)))
		toA := types.NewMessageID()
		fromA := types.NewMessageID()
		appendOK(t, s, t0, newAppend(addr(other.ID, 1), toA, a.ID, 1, 2))
		appendOK(t, s, t0, newAppend(addr(a.ID, 1), fromA, other.ID, 1))
		noErr(t, "SetVisibility", s.SetVisibility(ctx, a.ID, store.VisibleNobody))
		noErr(t, "SetContacts", s.SetContacts(ctx, a.ID, []types.AccountID{other.ID}))
		noErr(t, "PutCode", s.PutCode(ctx, store.Code{Purpose: store.PurposeRegister, Key: a.Phone, Hash: randBytes(32), ExpiresAt: t0.Add(time.Hour)}))
		linkKey := "link-" + types.NewMessageID().String()
		noErr(t, "PutCode", s.PutCode(ctx, store.Code{Purpose: store.PurposeLink, Key: linkKey, Hash: randBytes(32), Account: a.ID, ExpiresAt: t0.Add(time.Hour)}))
		// The other account's data, which must survive.
		noErr(t, "SetContacts", s.SetContacts(ctx, other.ID, []types.AccountID{a.ID}))
		noErr(t, "SetVisibility", s.SetVisibility(ctx, other.ID, store.VisibleContacts))

		noErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID))

		_, err := s.Account(ctx, a.ID)
		wantErr(t, "Account", err, store.ErrNotFound)
		_, err = s.AccountByPhone(ctx, a.Phone)
		wantErr(t, "AccountByPhone", err, store.ErrNotFound)
		_, err = s.Devices(ctx, a.ID)
		wantErr(t, "Devices", err, store.ErrNotFound)
		gone(t, s, a.ID, 1)
		gone(t, s, a.ID, 2)
		ps, err := s.PrivacySettings(ctx, a.ID)
		noErr(t, "PrivacySettings", err)
		if ps.LastSeen != store.VisibleEveryone || len(ps.Contacts) != 0 {
			t.Errorf("PrivacySettings = %+v, want the default", ps)
		}
		if ok, err := s.IsContact(ctx, a.ID, other.ID); err != nil || ok {
			t.Errorf("IsContact(deleted, other) = %v, %v; want false", ok, err)
		}
		_, err = s.CheckCode(ctx, store.PurposeRegister, a.Phone, 5, t0)
		wantErr(t, "CheckCode(registration code for its number)", err, store.ErrNotFound)
		_, err = s.CheckCode(ctx, store.PurposeLink, linkKey, 5, t0)
		wantErr(t, "CheckCode(link code for the account)", err, store.ErrNotFound)

		// The other account keeps what is its own.
		if es := fetchAll(t, s, other.ID, 1); len(es) != 1 {
			t.Errorf("other account's queue has %d envelopes, want 1", len(es))
		}
		ps, err = s.PrivacySettings(ctx, other.ID)
		noErr(t, "PrivacySettings(other)", err)
		if ps.LastSeen != store.VisibleContacts {
			t.Errorf("other account's visibility changed to %v", ps.LastSeen)
		}

		// The number is free again, and nothing remembered stops a message:
		// an account made again with the same id gets the same message ids
		// through, both ways.
		again := store.Account{ID: a.ID, Phone: a.Phone, CreatedAt: t0.Add(time.Hour)}
		noErr(t, "CreateAccount with the freed number and id", s.CreateAccount(ctx, again, newDevice(a.ID, 1), newKeys(1, 0, 0)))
		ps, err = s.PrivacySettings(ctx, a.ID)
		noErr(t, "PrivacySettings", err)
		if ps.LastSeen != store.VisibleEveryone || len(ps.Contacts) != 0 {
			t.Errorf("new account inherited privacy settings %+v", ps)
		}
		appendOK(t, s, t0.Add(time.Minute), newAppend(addr(other.ID, 1), toA, a.ID, 1))
		appendOK(t, s, t0.Add(time.Minute), newAppend(addr(a.ID, 1), fromA, other.ID, 1))

		wantErr(t, "DeleteAccount of no account", s.DeleteAccount(ctx, types.NewAccountID()), store.ErrNotFound)
	}},
}
