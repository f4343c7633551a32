package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

var deviceTests = []test{
	{"AddDevice takes the lowest free id and stores keys", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		const max = 4
		add := func(want types.DeviceID) store.Device {
			t.Helper()
			d := newDevice(a.ID, 0)
			id, err := s.AddDevice(ctx, d, newKeys(20, 2, 1), max)
			noErr(t, "AddDevice", err)
			if id != want {
				t.Fatalf("AddDevice gave id %d, want %d", id, want)
			}
			d.ID = id
			return d
		}
		add(2)
		add(3)
		noErr(t, "RemoveDevice", s.RemoveDevice(ctx, a.ID, 2))
		d2 := add(2) // the gap is reused
		d4 := add(4)

		_, err := s.AddDevice(ctx, newDevice(a.ID, 0), store.PreKeySet{}, max)
		wantErr(t, "AddDevice beyond the limit", err, store.ErrDeviceLimit)

		ds, err := s.Devices(ctx, a.ID)
		noErr(t, "Devices", err)
		var ids []types.DeviceID
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, []types.DeviceID{1, 2, 3, 4}) {
			t.Fatalf("Devices = %v, want [1 2 3 4]", ids)
		}
		sameDevice(t, ds[1], d2)
		got, err := s.Device(ctx, a.ID, 4)
		noErr(t, "Device", err)
		sameDevice(t, got, d4)
		ec, ky, err := s.PreKeyCounts(ctx, a.ID, 4)
		noErr(t, "PreKeyCounts", err)
		if ec != 2 || ky != 1 {
			t.Errorf("PreKeyCounts of added device = %d, %d; want 2, 1", ec, ky)
		}
		b, err := s.ClaimBundle(ctx, a.ID, 4)
		noErr(t, "ClaimBundle", err)
		if b.Device.ID != 4 || b.OneTime == nil || b.KyberLastResort {
			t.Errorf("bundle of added device: id %d, one-time %v, last resort %v", b.Device.ID, b.OneTime, b.KyberLastResort)
		}
	}},

	{"AddDevice to no account", func(t *testing.T, s store.Store) {
		_, err := s.AddDevice(t.Context(), newDevice(types.NewAccountID(), 0), newKeys(1, 0, 0), 5)
		wantErr(t, "AddDevice", err, store.ErrNotFound)
	}},

	{"AddDevice concurrently respects the limit", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		const max, callers = 5, 12
		var (
			mu     sync.Mutex
			ids    []types.DeviceID
			limits int
			errs   []error
		)
		parallel(callers, func(int) {
			id, err := s.AddDevice(ctx, newDevice(a.ID, 0), newKeys(1, 1, 1), max)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ids = append(ids, id)
			case errors.Is(err, store.ErrDeviceLimit):
				limits++
			default:
				errs = append(errs, err)
			}
		})
		if len(errs) > 0 {
			t.Fatalf("AddDevice failed: %v", errs)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []types.DeviceID{2, 3, 4, 5}) || limits != callers-4 {
			t.Fatalf("added %v with %d refusals, want [2 3 4 5] and %d", ids, limits, callers-4)
		}
		ds, err := s.Devices(ctx, a.ID)
		noErr(t, "Devices", err)
		if len(ds) != max {
			t.Fatalf("account has %d devices, limit %d", len(ds), max)
		}
	}},

	{"Device and Devices of nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		_, err := s.Device(ctx, a.ID, 2)
		wantErr(t, "Device of no device", err, store.ErrNotFound)
		_, err = s.Device(ctx, types.NewAccountID(), 1)
		wantErr(t, "Device of no account", err, store.ErrNotFound)
		_, err = s.Devices(ctx, types.NewAccountID())
		wantErr(t, "Devices of no account", err, store.ErrNotFound)
	}},

	{"RemoveDevice removes its keys and mailbox only", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		addDevice(t, s, a.ID)
		sender, _ := createAccount(t, s)
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 1, newKeys(10, 3, 3)))
		noErr(t, "SetPreKeys", s.SetPreKeys(ctx, a.ID, 2, newKeys(10, 4, 4)))
		appendOK(t, s, t0,
			newAppend(addr(sender.ID, 1), types.NewMessageID(), a.ID, 1, 2),
			newAppend(addr(sender.ID, 1), types.NewMessageID(), a.ID, 1, 2))

		noErr(t, "RemoveDevice", s.RemoveDevice(ctx, a.ID, 2))
		gone(t, s, a.ID, 2)
		if n := len(fetchAll(t, s, a.ID, 1)); n != 2 {
			t.Errorf("device 1 has %d envelopes, want 2", n)
		}
		if n := queueLength(t, s, a.ID, 1); n != 2 {
			t.Errorf("device 1 QueueLength = %d, want 2", n)
		}
		if ec, ky, err := s.PreKeyCounts(ctx, a.ID, 1); err != nil || ec != 3 || ky != 3 {
			t.Errorf("device 1 PreKeyCounts = %d, %d, %v; want 3, 3", ec, ky, err)
		}
		wantErr(t, "RemoveDevice again", s.RemoveDevice(ctx, a.ID, 2), store.ErrNotFound)

		// A device linked later under the same id starts empty.
		d := newDevice(a.ID, 0)
		id, err := s.AddDevice(ctx, d, newKeys(500, 1, 0), 5)
		noErr(t, "AddDevice", err)
		if id != 2 {
			t.Fatalf("AddDevice gave %d, want 2", id)
		}
		if es := fetchAll(t, s, a.ID, 2); len(es) != 0 {
			t.Errorf("new device 2 received %d envelopes of the removed one", len(es))
		}
		if n := queueLength(t, s, a.ID, 2); n != 0 {
			t.Errorf("new device 2 QueueLength = %d, want 0", n)
		}
		if ec, ky, err := s.PreKeyCounts(ctx, a.ID, 2); err != nil || ec != 1 || ky != 0 {
			t.Errorf("new device 2 PreKeyCounts = %d, %d, %v; want 1, 0", ec, ky, err)
		}
	}},
}
