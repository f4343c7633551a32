package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

func TestMatchDevices(t *testing.T) {
	acct, other := types.NewAccountID(), types.NewAccountID()
	devs := []store.Device{{ID: 1, RegistrationID: 11}, {ID: 2, RegistrationID: 22}, {ID: 3, RegistrationID: 33}}
	env := func(ids ...types.DeviceID) []OutEnvelope {
		var out []OutEnvelope
		for _, id := range ids {
			out = append(out, OutEnvelope{Device: id})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		from types.Address
		envs []OutEnvelope
		want *MismatchedError
		bad  bool
	}{
		{"all devices", types.Address{Account: other, Device: 1}, env(1, 2, 3), nil, false},
		{"own account leaves the sender out", types.Address{Account: acct, Device: 2}, env(1, 3), nil, false},
		{"own account with the sender in", types.Address{Account: acct, Device: 2}, env(1, 2, 3), &MismatchedError{Extra: []types.DeviceID{2}}, false},
		{"missing and extra", types.Address{Account: other, Device: 1}, env(3, 1, 9), &MismatchedError{Missing: []types.DeviceID{2}, Extra: []types.DeviceID{9}}, false},
		{"stale registration", types.Address{Account: other, Device: 1}, []OutEnvelope{{Device: 1, RegistrationID: 11}, {Device: 2, RegistrationID: 99}, {Device: 3}},
			&MismatchedError{Stale: []types.DeviceID{2}}, false},
		{"two envelopes for one device", types.Address{Account: other, Device: 1}, env(1, 1, 2, 3), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := matchDevices(tc.from, Outgoing{Destination: acct, Envelopes: tc.envs}, devs)
			var mm *MismatchedError
			switch {
			case tc.bad:
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, want ErrInvalid", err)
				}
			case tc.want == nil:
				if err != nil {
					t.Fatalf("got %v", err)
				}
			case !errors.As(err, &mm):
				t.Fatalf("got %v, want a mismatch", err)
			case fmt.Sprint(mm) != fmt.Sprint(tc.want):
				t.Fatalf("got %v, want %v", mm, tc.want)
			}
		})
	}
}

// TestCommitterGroups: items that queue up while a commit runs go into the
// next commit together, and close commits whatever was taken.
func TestCommitterGroups(t *testing.T) {
	var (
		mu      sync.Mutex
		batches [][]int
		release = make(chan struct{})
	)
	c := newCommitter(1, 100, func(items []int) error {
		if len(batches) == 0 {
			<-release // hold the first commit while the rest queue up
		}
		mu.Lock()
		batches = append(batches, slices.Clone(items))
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	first, err := c.submitErr(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the writer has taken item 0
	for i := 1; i <= 50; i++ {
		wg.Add(1)
		done, err := c.submitErr(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		go func() { defer wg.Done(); <-done }()
	}
	close(release)
	<-first
	wg.Wait()
	if !c.close() {
		t.Fatal("close did not close")
	}
	if c.close() {
		t.Fatal("second close closed again")
	}
	if _, err := c.submitErr(context.Background(), 99); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if len(batches) != 2 || len(batches[1]) != 50 {
		t.Fatalf("batches %v: want [0] then the 50 that waited, in one commit", batches)
	}
}

type publishCount struct{ n atomic.Int64 }

func (p *publishCount) Publish(string, []byte) error { p.n.Add(1); return nil }

// TestExpiry: an envelope nobody fetched is gone after the TTL.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	var expired atomic.Int64
	pub := &publishCount{}
	m := New(st, pub, Config{TTL: 30 * 24 * time.Hour, SweepEvery: time.Hour, Now: clock},
		Metrics{Expired: func(n int) { expired.Add(int64(n)) }}, slog.New(slog.DiscardHandler))
	defer m.Close()

	sender, dest := types.NewAccountID(), types.NewAccountID()
	for _, a := range []types.AccountID{sender, dest} {
		if err := st.CreateAccount(ctx, store.Account{ID: a, Phone: "+1555" + a.String()[:7], CreatedAt: clock()},
			store.Device{Account: a, ID: 1, AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33), RegistrationID: 1}, store.PreKeySet{}); err != nil {
			t.Fatal(err)
		}
	}
	from := types.Address{Account: sender, Device: 1}
	to := types.Address{Account: dest, Device: 1}
	send := func(text string) {
		t.Helper()
		if _, err := m.Send(ctx, from, Outgoing{MessageID: types.NewMessageID(), Destination: dest,
			Envelopes: []OutEnvelope{{Device: 1, Type: uint32(wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT), Content: []byte(text)}}}); err != nil {
			t.Fatal(err)
		}
	}
	send("old")
	now.Add((29 * 24 * time.Hour).Milliseconds())
	send("newer")
	if pub.n.Load() != 2 {
		t.Errorf("published %d notices, want 2", pub.n.Load())
	}

	now.Add((24*time.Hour + time.Minute).Milliseconds()) // "old" is now 30 days and a minute old
	m.Sweep(ctx)
	envs, err := m.Fetch(ctx, to, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 || string(envs[0].Content) != "newer" || expired.Load() != 1 {
		t.Fatalf("after 30 days: %d envelopes, %d expired; want only the newer one left", len(envs), expired.Load())
	}
	if n, _ := m.QueueLength(ctx, to); n != 1 {
		t.Errorf("queue length %d, want 1", n)
	}
}

// The bus must satisfy Publisher.
var _ Publisher = (*bus.Bus)(nil)

type publishLog struct {
	mu   sync.Mutex
	subj []string
	evs  []*buspb.Event
}

func (p *publishLog) Publish(subject string, data []byte) error {
	ev := new(buspb.Event)
	if err := proto.Unmarshal(data, ev); err != nil {
		return err
	}
	p.mu.Lock()
	p.subj, p.evs = append(p.subj, subject), append(p.evs, ev)
	p.mu.Unlock()
	return nil
}

// TestResendRescans: a send committed without its notice being published
// (the database died between the commit and its answer, so the sender was
// told it failed) is sent again with the same id. The resend is a
// duplicate, and the destination device is told to look in its mailbox,
// where the first attempt's envelope waits: otherwise a device that stays
// connected would not see it before it reconnects.
func TestResendRescans(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub := &publishLog{}
	m := New(st, pub, Config{}, Metrics{}, slog.New(slog.DiscardHandler))
	defer m.Close()
	sender, dest := types.NewAccountID(), types.NewAccountID()
	for _, a := range []types.AccountID{sender, dest} {
		if err := st.CreateAccount(ctx, store.Account{ID: a, Phone: "+1555" + a.String()[:7], CreatedAt: time.Now()},
			store.Device{Account: a, ID: 1, AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33), RegistrationID: 1}, store.PreKeySet{}); err != nil {
			t.Fatal(err)
		}
	}
	from, to := types.Address{Account: sender, Device: 1}, types.Address{Account: dest, Device: 1}
	mid := types.NewMessageID()
	now := time.Now()
	// The first attempt, committed behind the mailbox's back.
	first := &store.Append{Sender: from, MessageID: mid, Destination: dest, Envelopes: []store.Envelope{{
		Account: dest, Device: 1, MessageID: mid, Sender: from, Type: 1, Content: []byte("hi"),
		ClientTime: now, ServerTime: now, ExpiresAt: now.Add(time.Hour)}}}
	if err := st.Append(ctx, []*store.Append{first}, 100, time.Hour, now); err != nil || first.Err != nil {
		t.Fatal(err, first.Err)
	}
	dup, err := m.Send(ctx, from, Outgoing{MessageID: mid, Destination: dest,
		Envelopes: []OutEnvelope{{Device: 1, Type: 1, Content: []byte("hi")}}})
	if err != nil || !dup {
		t.Fatalf("resend: duplicate %v, err %v; want a duplicate", dup, err)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.evs) != 1 || pub.subj[0] != bus.DeviceSubject(to) || pub.evs[0].GetRescan() == nil {
		t.Fatalf("published %v on %v; want one rescan for %s", pub.evs, pub.subj, to)
	}
}
