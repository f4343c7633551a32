package group_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/types"
)

// BenchmarkDevices measures what a SendGroup to a full group (1024
// members, 3 devices each) spends finding the group's devices and their
// hash: a read of every member device without the cache, one indexed read
// of the group's version with it.
func BenchmarkDevices(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlstore.Open(ctx, "sqlite:"+b.TempDir()+"/g.db", log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bu, err := bus.Open(ctx, bus.Config{Name: "bench"}, log)
	if err != nil {
		b.Fatal(err)
	}
	defer bu.Close()
	mb := mailbox.New(st, bu, mailbox.Config{}, mailbox.Metrics{}, log)
	defer mb.Close()
	g := store.Group{ID: types.NewGroupID(), Seq: 1, Head: make([]byte, 32)}
	for i := range 1024 {
		a := types.NewAccountID()
		if err := st.CreateAccount(ctx, store.Account{ID: a, Phone: fmt.Sprintf("+1555%07d", i), CreatedAt: time.Now()},
			store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33), RegistrationID: 1}, store.PreKeySet{}); err != nil {
			b.Fatal(err)
		}
		for range 2 {
			if _, err := st.AddDevice(ctx, store.Device{Account: a, AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33)}, store.PreKeySet{}, 5); err != nil {
				b.Fatal(err)
			}
		}
		g.Members = append(g.Members, store.GroupMember{Account: a, Admin: i == 0, Since: 1})
	}
	slices.SortFunc(g.Members, func(x, y store.GroupMember) int { return bytes.Compare(x.Account[:], y.Account[:]) })
	if err := st.AppendGroupEvent(ctx, &store.GroupChange{Next: g, Event: []byte("create")}, 0, time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cache int
	}{{"uncached", -1}, {"cached", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			svc := group.New(st, mb, group.Config{CacheGroups: tc.cache}, log)
			for b.Loop() {
				d, err := svc.Devices(ctx, g.Members[0].Account, g.ID)
				if err != nil || len(d.Devices) != 3072 {
					b.Fatal(err)
				}
			}
		})
	}
}
