package storetest

import (
	"sync"
	"testing"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

func keyIDs(ks []store.PreKey) map[uint32]store.PreKey {
	m := make(map[uint32]store.PreKey, len(ks))
	for _, k := range ks {
		m[k.ID] = k
	}
	return m
}

func counts(t *testing.T, s store.Store, acct types.AccountID, dev types.DeviceID, wantEC, wantKyber int) {
	t.Helper()
	ec, ky, err := s.PreKeyCounts(t.Context(), acct, dev)
	noErr(t, "PreKeyCounts", err)
	if ec != wantEC || ky != wantKyber {
		t.Errorf("PreKeyCounts = %d EC, %d Kyber; want %d, %d", ec, ky, wantEC, wantKyber)
	}
}

var preKeyTests = []test{
	{"SetPreKeys replaces what it is given", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		counts(t, s, a.ID, 1, 0, 0)

		first := newKeys(100, 10, 5)
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, first))
		counts(t, s, a.ID, 1, 10, 5)

		// A new EC list replaces every unclaimed EC key; Kyber stays.
		ec := newKeys(1000, 3, 0).OneTimeEC
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, store.PreKeySet{OneTimeEC: ec}))
		counts(t, s, a.ID, 1, 3, 5)

		// Only a signed key: nothing else changes.
		signed := newPreKey(2000, true)
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, store.PreKeySet{SignedEC: &signed, OneTimeKyber: []store.PreKey{}}))
		counts(t, s, a.ID, 1, 3, 5)

		b, err := s.ClaimBundle(ctx, a.ID, 1)
		noErr(t, "ClaimBundle", err)
		samePreKey(t, "signed prekey", b.SignedEC, signed)
		if b.OneTime == nil {
			t.Fatal("no one-time EC key handed out")
		}
		want, ok := keyIDs(ec)[b.OneTime.ID]
		if !ok {
			t.Fatalf("one-time EC key %d is from the replaced upload", b.OneTime.ID)
		}
		samePreKey(t, "one-time EC", *b.OneTime, want)
		wantKyber, ok := keyIDs(first.OneTimeKyber)[b.Kyber.ID]
		if !ok || b.KyberLastResort {
			t.Fatalf("Kyber key %d (last resort %v) is not one of the uploaded one-time keys", b.Kyber.ID, b.KyberLastResort)
		}
		samePreKey(t, "one-time Kyber", b.Kyber, wantKyber)

		// A new last-resort key is what comes once one-time Kyber keys run out.
		lastResort := newPreKey(3000, true)
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, store.PreKeySet{LastResortKyber: &lastResort}))
		for range 4 {
			_, err := s.ClaimBundle(ctx, a.ID, 1)
			noErr(t, "ClaimBundle", err)
		}
		b, err = s.ClaimBundle(ctx, a.ID, 1)
		noErr(t, "ClaimBundle", err)
		if !b.KyberLastResort {
			t.Fatal("sixth bundle did not fall back to the last-resort Kyber key")
		}
		samePreKey(t, "last-resort Kyber", b.Kyber, lastResort)
	}},

	{"SetPreKeys and PreKeyCounts of no device", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		wantErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 7, newKeys(1, 2, 2)), store.ErrNotFound)
		wantErr(t, "SetPreKeys", s.SetPreKeys(ctx, types.NewAccountID(), 1, newKeys(1, 2, 2)), store.ErrNotFound)
		_, _, err := s.PreKeyCounts(ctx, a.ID, 7)
		wantErr(t, "PreKeyCounts", err, store.ErrNotFound)
	}},

	{"ClaimBundle hands out each one-time key once, then the last resort", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, d := createAccount(t, s)
		keys := newKeys(10, 2, 1)
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, keys))
		ecKeys, kyberKeys := keyIDs(keys.OneTimeEC), keyIDs(keys.OneTimeKyber)

		seenEC := map[uint32]bool{}
		for i := range 3 {
			b, err := s.ClaimBundle(ctx, a.ID, 1)
			noErr(t, "ClaimBundle", err)
			sameDevice(t, b.Device, d)
			samePreKey(t, "signed prekey", b.SignedEC, *keys.SignedEC)
			switch {
			case i < 2 && b.OneTime == nil:
				t.Fatalf("bundle %d has no one-time EC key with %d left", i+1, 2-i)
			case i < 2:
				if seenEC[b.OneTime.ID] {
					t.Fatalf("one-time EC key %d handed out twice", b.OneTime.ID)
				}
				seenEC[b.OneTime.ID] = true
				samePreKey(t, "one-time EC", *b.OneTime, ecKeys[b.OneTime.ID])
			case b.OneTime != nil:
				t.Fatalf("bundle 3 has one-time EC key %d, but none was left", b.OneTime.ID)
			}
			if i == 0 {
				if b.KyberLastResort {
					t.Fatal("first bundle used the last-resort Kyber key while a one-time one was left")
				}
				samePreKey(t, "one-time Kyber", b.Kyber, kyberKeys[b.Kyber.ID])
			} else {
				if !b.KyberLastResort {
					t.Fatalf("bundle %d: one-time Kyber key %d handed out twice", i+1, b.Kyber.ID)
				}
				samePreKey(t, "last-resort Kyber", b.Kyber, *keys.LastResortKyber)
			}
		}
		counts(t, s, a.ID, 1, 0, 0)
	}},

	{"ClaimBundle of no device or no signed prekey", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		_, err := s.ClaimBundle(ctx, a.ID, 5)
		wantErr(t, "ClaimBundle of no device", err, store.ErrNotFound)
		_, err = s.ClaimBundle(ctx, types.NewAccountID(), 1)
		wantErr(t, "ClaimBundle of no account", err, store.ErrNotFound)
		id, err := s.AddDevice(ctx, newDevice(a.ID, 0), store.PreKeySet{OneTimeEC: newKeys(1, 3, 0).OneTimeEC}, 5)
		noErr(t, "AddDevice", err)
		_, err = s.ClaimBundle(ctx, a.ID, id)
		wantErr(t, "ClaimBundle without a signed prekey", err, store.ErrNotFound)
		counts(t, s, a.ID, id, 3, 0) // a refused claim takes nothing
	}},

	{"ClaimBundle concurrently never hands out a key twice", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		const keys, callers, claimsEach = 50, 16, 5 // 80 claims for 50 keys
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, newKeys(1, keys, keys)))
		var (
			mu                    sync.Mutex
			ec, kyber             = map[uint32]int{}, map[uint32]int{}
			noEC, lastResort, bad int
			errs                  []error
		)
		parallel(callers, func(int) {
			for range claimsEach {
				b, err := s.ClaimBundle(ctx, a.ID, 1)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				default:
					if b.OneTime != nil {
						ec[b.OneTime.ID]++
					} else {
						noEC++
					}
					if b.KyberLastResort {
						lastResort++
					} else if len(b.Kyber.Public) == 0 {
						bad++
					} else {
						kyber[b.Kyber.ID]++
					}
				}
				mu.Unlock()
			}
		})
		if len(errs) > 0 {
			t.Fatalf("ClaimBundle failed: %v", errs)
		}
		for id, n := range ec {
			if n > 1 {
				t.Errorf("one-time EC key %d handed out %d times", id, n)
			}
		}
		for id, n := range kyber {
			if n > 1 {
				t.Errorf("one-time Kyber key %d handed out %d times", id, n)
			}
		}
		const claims = callers * claimsEach
		if len(ec) != keys || noEC != claims-keys {
			t.Errorf("%d distinct one-time EC keys and %d bundles without, want %d and %d", len(ec), noEC, keys, claims-keys)
		}
		if len(kyber) != keys || lastResort != claims-keys || bad != 0 {
			t.Errorf("%d distinct one-time Kyber keys, %d last resort, %d empty; want %d, %d, 0",
				len(kyber), lastResort, bad, keys, claims-keys)
		}
		counts(t, s, a.ID, 1, 0, 0)
	}},
}
