package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// released releases node and returns its devices sorted.
func released(t *testing.T, s store.Store, node string, at time.Time) []types.Address {
	t.Helper()
	got, err := s.ReleaseNode(t.Context(), node, at)
	noErr(t, "ReleaseNode", err)
	slices.SortFunc(got, compareAddr)
	return got
}

func holderNodes(t *testing.T, s store.Store) []string {
	t.Helper()
	got, err := s.HolderNodes(t.Context())
	noErr(t, "HolderNodes", err)
	slices.Sort(got)
	return got
}

func lastSeen(t *testing.T, s store.Store, a types.Address) (account, device time.Time) {
	t.Helper()
	acc, err := s.Account(t.Context(), a.Account)
	noErr(t, "Account", err)
	d, err := s.Device(t.Context(), a.Account, a.Device)
	noErr(t, "Device", err)
	return acc.LastSeen, d.LastSeen
}

var holderTests = []test{
	{"HeldAccounts reports the accounts with a device held by some node", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		held, _ := createAccount(t, s)
		left, _ := createAccount(t, s)
		never, _ := createAccount(t, s)
		addDevice(t, s, held.ID)
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(held.ID, 2), store.Holder{Node: "n1", Conn: "c1", Since: t0}, t0))
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(left.ID, 1), store.Holder{Node: "n2", Conn: "c2", Since: t0}, t0))
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, addr(left.ID, 1), "c2", t0.Add(time.Second)))
		ask := []types.AccountID{held.ID, left.ID, never.ID, types.NewAccountID()}
		got, err := s.HeldAccounts(ctx, ask)
		noErr(t, "HeldAccounts", err)
		if len(got) != 1 || !got[held.ID] {
			t.Fatalf("HeldAccounts = %v, want only %v", got, held.ID)
		}
		got, err = s.HeldAccounts(ctx, nil)
		noErr(t, "HeldAccounts of none", err)
		if len(got) != 0 {
			t.Fatalf("HeldAccounts(nil) = %v", got)
		}
		released(t, s, "n1", t0.Add(time.Minute))
		got, err = s.HeldAccounts(ctx, ask)
		noErr(t, "HeldAccounts after the release", err)
		if len(got) != 0 {
			t.Fatalf("HeldAccounts after releasing the node = %v, want none", got)
		}
	}},
	{"DeviceOnline and DeviceOffline keep the latest last seen per device and account", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		addDevice(t, s, a.ID)
		t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)
		h := store.Holder{Node: "n", Conn: "c", Since: t0}
		check := func(step string, account, dev1, dev2 time.Time) {
			t.Helper()
			got, err := s.Account(ctx, a.ID)
			noErr(t, "Account", err)
			sameTime(t, step+": account LastSeen", got.LastSeen, account)
			for dev, want := range map[types.DeviceID]time.Time{1: dev1, 2: dev2} {
				d, err := s.Device(ctx, a.ID, dev)
				noErr(t, "Device", err)
				sameTime(t, step+": device LastSeen", d.LastSeen, want)
			}
		}
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(a.ID, 2), h, t2))
		check("device 2 online at t2", t2, time.Time{}, t2)
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, addr(a.ID, 1), "c", t1))
		check("device 1 offline at t1", t2, t1, t2)
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, addr(a.ID, 2), "c", t1))
		check("device 2 offline at t1, reported late", t2, t1, t2)
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(a.ID, 1), h, t3))
		check("device 1 online at t3", t3, t3, t2)

		later := t0.Add(time.Hour)
		wantErr(t, "DeviceOnline of no device", s.DeviceOnline(ctx, addr(a.ID, 9), h, later), store.ErrNotFound)
		wantErr(t, "DeviceOffline of no device", s.DeviceOffline(ctx, addr(a.ID, 9), "c", later), store.ErrNotFound)
		wantErr(t, "DeviceOnline of no account", s.DeviceOnline(ctx, addr(types.NewAccountID(), 1), h, later), store.ErrNotFound)
		check("after the failures", t3, t3, t2)
	}},

	{"ReleaseNode returns what the node holds, once, and moves its last seen", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		addDevice(t, s, a.ID)
		b, _ := createAccount(t, s)
		c, _ := createAccount(t, s)
		x := func(conn string) store.Holder { return store.Holder{Node: "node-x", Conn: conn, Since: t0} }
		y := func(conn string) store.Holder {
			return store.Holder{Node: "node-y", Conn: conn, Since: t0.Add(time.Second)}
		}
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(a.ID, 1), x("a1"), t0))
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(a.ID, 2), x("a2"), t0))
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(b.ID, 1), x("b1"), t0))
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(c.ID, 1), y("c1"), t0))
		// b's device reconnected to node y before node x was found dead.
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(b.ID, 1), y("b1 again"), t0.Add(time.Second)))
		// a's device 2 went offline from node x normally.
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, addr(a.ID, 2), "a2", t0.Add(2*time.Second)))
		if got := holderNodes(t, s); !slices.Equal(got, []string{"node-x", "node-y"}) {
			t.Fatalf("HolderNodes = %v", got)
		}

		dead := t0.Add(time.Minute)
		if got, want := released(t, s, "node-x", dead), []types.Address{addr(a.ID, 1)}; !slices.Equal(got, want) {
			t.Fatalf("ReleaseNode(node-x) = %v, want %v", got, want)
		}
		acc, dev := lastSeen(t, s, addr(a.ID, 1))
		sameTime(t, "released device's last seen", dev, dead)
		sameTime(t, "released device's account's last seen", acc, dead)
		if _, dev := lastSeen(t, s, addr(b.ID, 1)); dev.Equal(dead) {
			t.Error("releasing node-x moved the last seen of a device node-y holds")
		}
		if got := released(t, s, "node-x", dead.Add(time.Minute)); len(got) != 0 {
			t.Errorf("node-x released again: %v", got)
		}
		if _, dev := lastSeen(t, s, addr(a.ID, 1)); !dev.Equal(dead) {
			t.Errorf("an empty release moved last seen to %v", dev)
		}
		if got := holderNodes(t, s); !slices.Equal(got, []string{"node-y"}) {
			t.Fatalf("HolderNodes after the release = %v", got)
		}
		// Released at a time before the device's own last seen: the later stays.
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, addr(c.ID, 1), "not c1", dead.Add(time.Hour)))
		want := []types.Address{addr(b.ID, 1), addr(c.ID, 1)}
		slices.SortFunc(want, compareAddr)
		if got := released(t, s, "node-y", dead); !slices.Equal(got, want) {
			t.Fatalf("ReleaseNode(node-y) = %v, want %v", got, want)
		}
		acc, dev = lastSeen(t, s, addr(c.ID, 1))
		sameTime(t, "device last seen after an earlier release", dev, dead.Add(time.Hour))
		sameTime(t, "account last seen after an earlier release", acc, dead.Add(time.Hour))
		if got := holderNodes(t, s); len(got) != 0 {
			t.Errorf("HolderNodes after releasing both = %v", got)
		}
	}},

	{"the later connection of a device holds it, whatever order the reports come in", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		d := addr(a.ID, 1)
		older := store.Holder{Node: "node-x", Conn: "old", Since: t0}
		newer := store.Holder{Node: "node-y", Conn: "new", Since: t0.Add(time.Millisecond)}
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, d, newer, t0))
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, d, older, t0)) // reported late
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, d, "old", t0))
		if got := released(t, s, "node-x", t0); len(got) != 0 {
			t.Errorf("the older connection's node released %v", got)
		}
		if got := holderNodes(t, s); !slices.Equal(got, []string{"node-y"}) {
			t.Fatalf("HolderNodes = %v, want the newer connection's node", got)
		}
		// The same connection announcing itself again keeps holding.
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, d, newer, t0.Add(time.Minute)))
		noErr(t, "DeviceOffline", s.DeviceOffline(ctx, d, "new", t0.Add(time.Minute)))
		if got := holderNodes(t, s); len(got) != 0 {
			t.Errorf("HolderNodes after the holder went offline = %v", got)
		}
	}},

	{"removing a device or an account removes its holder", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, _ := createAccount(t, s)
		dev := addDevice(t, s, a.ID)
		b, _ := createAccount(t, s)
		h := store.Holder{Node: "node-x", Conn: "c", Since: t0}
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(a.ID, dev.ID), h, t0))
		noErr(t, "DeviceOnline", s.DeviceOnline(ctx, addr(b.ID, 1), h, t0))
		noErr(t, "RemoveDevice", s.RemoveDevice(ctx, a.ID, dev.ID))
		noErr(t, "DeleteAccount", s.DeleteAccount(ctx, b.ID))
		if got := released(t, s, "node-x", t0); len(got) != 0 {
			t.Errorf("released devices that no longer exist: %v", got)
		}
	}},

	{"nodes releasing one node at once share its devices out", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var all []types.Address
		for i := range 40 {
			a, _ := createAccount(t, s)
			d := addr(a.ID, 1)
			all = append(all, d)
			noErr(t, "DeviceOnline", s.DeviceOnline(ctx, d, store.Holder{Node: "dead", Conn: string(rune('a' + i%26)), Since: t0}, t0))
		}
		var (
			mu  sync.Mutex
			got []types.Address
			wg  sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				part, err := s.ReleaseNode(ctx, "dead", t0.Add(time.Minute))
				if err != nil {
					t.Errorf("ReleaseNode: %v", err)
				}
				mu.Lock()
				got = append(got, part...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.SortFunc(got, compareAddr)
		slices.SortFunc(all, compareAddr)
		if !slices.Equal(got, all) {
			t.Errorf("the releases returned %d devices together, want each of %d once", len(got), len(all))
		}
	}},
}
