package sqlstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/types"
)

// count returns the rows of a query's single number.
func count(t testing.TB, s *Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.r.QueryRowContext(context.Background(), s.d.rebind(query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// fanoutFixture is a group of members accounts with devices each, all
// but the first device of the first account receiving.
type fanoutFixture struct {
	s       *Store
	group   types.GroupID
	members []types.AccountID
	sender  types.Address
}

func newFanoutFixture(t testing.TB, s *Store, members, devices int) *fanoutFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	f := &fanoutFixture{s: s, group: types.NewGroupID()}
	st := store.Group{ID: f.group, Seq: 1, Head: make([]byte, 32)}
	for i := range members {
		id := types.NewAccountID()
		a := store.Account{ID: id, Phone: fmt.Sprintf("+1555%07d", i), CreatedAt: now}
		if err := s.CreateAccount(ctx, a, store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33), RegistrationID: 7}, store.PreKeySet{}); err != nil {
			t.Fatal(err)
		}
		for range devices - 1 {
			if _, err := s.AddDevice(ctx, store.Device{Account: id, AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33)}, store.PreKeySet{}, 16); err != nil {
				t.Fatal(err)
			}
		}
		f.members = append(f.members, id)
		st.Members = append(st.Members, store.GroupMember{Account: id, Since: 1, Admin: i == 0})
	}
	st.Members = sortedMembers(st.Members)
	if err := s.AppendGroupEvent(ctx, &store.GroupChange{Next: st, Event: []byte("create")}, 0, now); err != nil {
		t.Fatal(err)
	}
	f.sender = types.Address{Account: f.members[0], Device: 1}
	return f
}

func sortedMembers(ms []store.GroupMember) []store.GroupMember {
	slices.SortFunc(ms, func(a, b store.GroupMember) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	return ms
}

// message is one group message of size bytes to every member device.
func (f *fanoutFixture) message(size int) *store.Append {
	now := time.Now()
	msg := types.NewMessageID()
	content := make([]byte, size)
	_, _ = rand.Read(content)
	return &store.Append{Sender: f.sender, MessageID: msg, Fanout: &store.Fanout{
		Group: f.group, Seq: 1, Accounts: f.members, Except: f.sender,
		Envelope: store.Envelope{MessageID: msg, Sender: f.sender, Type: 7, Content: content,
			ServerTime: now, ExpiresAt: now.Add(time.Hour)},
	}}
}

// TestFanoutStoredOnce: a group message to 30 devices is one payload row
// and 30 delivery rows that hold none of its bytes; acks remove the
// delivery rows, and the last one the payload.
func TestFanoutStoredOnce(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			s := openT(t, d.dsn(t))
			f := newFanoutFixture(t, s, 10, 3)
			const size = 4096
			m := f.message(size)
			if err := s.Append(ctx, []*store.Append{m}, 100, time.Hour, time.Now()); err != nil || m.Err != nil {
				t.Fatalf("Append: %v, %v", err, m.Err)
			}
			if n := len(m.Fanout.Deliveries); n != 29 {
				t.Fatalf("%d deliveries, want 29", n)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != 1 {
				t.Errorf("%d payload rows, want 1", n)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_envelopes WHERE payload_id IS NOT NULL`); n != 29 {
				t.Errorf("%d delivery rows, want 29", n)
			}
			if n := count(t, s, `SELECT COALESCE(SUM(LENGTH(content)), 0) FROM mailbox_envelopes`); n != 0 {
				t.Errorf("delivery rows hold %d content bytes, want none", n)
			}
			if n := count(t, s, `SELECT SUM(LENGTH(content)) FROM mailbox_payloads`); n != size {
				t.Errorf("payloads hold %d content bytes, want %d", n, size)
			}
			for i, del := range m.Fanout.Deliveries {
				if _, err := s.DeleteEnvelopes(ctx, del.To.Account, del.To.Device, []uint64{del.ID}); err != nil {
					t.Fatal(err)
				}
				want := int64(1)
				if i == len(m.Fanout.Deliveries)-1 {
					want = 0
				}
				if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != want {
					t.Fatalf("after %d of %d acks: %d payload rows, want %d", i+1, len(m.Fanout.Deliveries), n, want)
				}
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_envelopes`); n != 0 {
				t.Errorf("%d envelope rows left after every ack", n)
			}
		})
	}
}

// TestFanoutPayloadGoesWithItsDevices: deleting the devices holding a
// payload's last deliveries, or letting them expire, removes the payload.
func TestFanoutPayloadGoesWithItsDevices(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			s := openT(t, d.dsn(t))
			f := newFanoutFixture(t, s, 3, 2)
			m, expiring := f.message(10), f.message(10)
			expiring.Fanout.Envelope.ExpiresAt = time.Now().Add(time.Minute)
			if err := s.Append(ctx, []*store.Append{m, expiring}, 100, time.Hour, time.Now()); err != nil || m.Err != nil || expiring.Err != nil {
				t.Fatalf("Append: %v, %v, %v", err, m.Err, expiring.Err)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != 2 {
				t.Fatalf("%d payload rows, want 2", n)
			}
			if _, err := s.Expire(ctx, time.Now().Add(2*time.Minute), 1000); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != 1 {
				t.Fatalf("after expiry: %d payload rows, want 1", n)
			}
			// The sender's other device, then two whole accounts.
			if err := s.RemoveDevice(ctx, f.sender.Account, 2); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAccount(ctx, f.members[1]); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != 1 {
				t.Fatalf("with deliveries left: %d payload rows, want 1", n)
			}
			if err := s.ReplaceDevices(ctx, f.members[2], store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33)}, store.PreKeySet{}); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != 0 {
				t.Errorf("after every receiving device went: %d payload rows, want 0", n)
			}
		})
	}
}

// TestFanoutConcurrentAcks: devices acking the deliveries of one payload
// at once, in separate transactions, leave no payload behind. On
// PostgreSQL two transactions deleting the last two deliveries would each
// see the other's and keep the payload, without the lock on it.
func TestFanoutConcurrentAcks(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			s := openT(t, d.dsn(t))
			f := newFanoutFixture(t, s, 8, 2)
			var batch []*store.Append
			for range 10 {
				batch = append(batch, f.message(50))
			}
			if err := s.Append(ctx, batch, 1000, time.Hour, time.Now()); err != nil {
				t.Fatal(err)
			}
			byDevice := map[types.Address][]uint64{}
			for _, m := range batch {
				for _, del := range m.Fanout.Deliveries {
					byDevice[del.To] = append(byDevice[del.To], del.ID)
				}
			}
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				errs []error
			)
			for to, ids := range byDevice {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, id := range ids {
						if _, err := s.DeleteEnvelopes(ctx, to.Account, to.Device, []uint64{id}); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM mailbox_payloads`); n != 0 {
				t.Errorf("%d payload rows left after every delivery was acked", n)
			}
		})
	}
}

// BenchmarkFanout measures one group message to 1024 members with 3
// devices each, stored (one payload, 3071 deliveries) and then acked by
// every device in batches of 256 acks, as the gateway's group commit
// would deliver them.
func BenchmarkFanout(b *testing.B) {
	for _, d := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/parley.db" }},
		{"postgres", func(b *testing.B) string { return storetest.PostgresDSN(b) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, d.dsn(b))
			f := newFanoutFixture(b, s, 1024, 3)
			var appending, acking time.Duration
			deliveries := 0
			for b.Loop() {
				m := f.message(200)
				start := time.Now()
				if err := s.Append(ctx, []*store.Append{m}, 50_000, time.Hour, time.Now()); err != nil || m.Err != nil {
					b.Fatal(err, m.Err)
				}
				appending += time.Since(start)
				deliveries += len(m.Fanout.Deliveries)
				start = time.Now()
				var dels []store.Deletion
				for _, del := range m.Fanout.Deliveries {
					dels = append(dels, store.Deletion{Account: del.To.Account, Device: del.To.Device, IDs: []uint64{del.ID}})
					if len(dels) == 256 {
						if _, err := s.DeleteBatch(ctx, dels); err != nil {
							b.Fatal(err)
						}
						dels = nil
					}
				}
				if _, err := s.DeleteBatch(ctx, dels); err != nil {
					b.Fatal(err)
				}
				acking += time.Since(start)
			}
			b.ReportMetric(float64(appending.Microseconds())/1000/float64(b.N), "append-ms")
			b.ReportMetric(float64(acking.Microseconds())/1000/float64(b.N), "ack-ms")
			b.ReportMetric(float64(deliveries)/appending.Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkGroupDevices measures reading a full group's members and
// devices (1024 members, 3 devices each), what every SendGroup reads to
// check the sender's devices hash.
func BenchmarkGroupDevices(b *testing.B) {
	for _, d := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/parley.db" }},
		{"postgres", func(b *testing.B) string { return storetest.PostgresDSN(b) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			s := openT(b, d.dsn(b))
			f := newFanoutFixture(b, s, 1024, 3)
			for b.Loop() {
				gd, err := s.GroupDevices(context.Background(), f.group)
				if err != nil || len(gd.Devices) != 3072 {
					b.Fatal(err, len(gd.Devices))
				}
			}
		})
	}
}
