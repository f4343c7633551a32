package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// pair is a sender and a recipient with two devices.
func pair(t *testing.T, s store.Store) (sender types.Address, to store.Account) {
	t.Helper()
	from, _ := createAccount(t, s)
	to, _ = createAccount(t, s)
	addDevice(t, s, to.ID)
	return addr(from.ID, 1), to
}

func sameEnvelope(t *testing.T, got, want store.Envelope) {
	t.Helper()
	if got.ID != want.ID || got.Account != want.Account || got.Device != want.Device ||
		got.MessageID != want.MessageID || got.Sender != want.Sender || got.Type != want.Type {
		t.Errorf("envelope: got id %d to %s.%d msg %s from %s type %d, want id %d to %s.%d msg %s from %s type %d",
			got.ID, got.Account, got.Device, got.MessageID, got.Sender, got.Type,
			want.ID, want.Account, want.Device, want.MessageID, want.Sender, want.Type)
	}
	sameBytes(t, "Content", got.Content, want.Content)
	sameTime(t, "ClientTime", got.ClientTime, want.ClientTime)
	sameTime(t, "ServerTime", got.ServerTime, want.ServerTime)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

// stored reports which message ids the device has queued, in order.
func stored(t *testing.T, s store.Store, acct types.AccountID, dev types.DeviceID) []types.MessageID {
	t.Helper()
	return messageIDs(fetchAll(t, s, acct, dev))
}

var mailboxTests = []test{
	{"Append stores envelopes that Fetch returns in order", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		batch := []*store.Append{
			newAppend(sender, types.NewMessageID(), to.ID, 1, 2),
			newAppend(sender, types.NewMessageID(), to.ID, 1, 2),
			newAppend(sender, types.NewMessageID(), to.ID, 2, 1),
		}
		appendOK(t, s, t0, batch...)
		var last uint64
		want := map[types.DeviceID][]store.Envelope{}
		for _, a := range batch {
			for _, e := range a.Envelopes {
				if e.ID <= last {
					t.Fatalf("envelope ids not increasing: %d after %d", e.ID, last)
				}
				last = e.ID
				want[e.Device] = append(want[e.Device], e)
			}
		}
		for dev := types.DeviceID(1); dev <= 2; dev++ {
			got, err := s.Fetch(ctx, to.ID, dev, 0, 100)
			noErr(t, "Fetch", err)
			if len(got) != 3 {
				t.Fatalf("device %d: %d envelopes, want 3", dev, len(got))
			}
			for i := range got {
				sameEnvelope(t, got[i], want[dev][i])
			}
			if n := queueLength(t, s, to.ID, dev); n != 3 {
				t.Errorf("device %d: QueueLength = %d, want 3", dev, n)
			}
		}
		noErr(t, "Append of an empty batch", s.Append(ctx, nil, bigQueue, window, t0))
	}},

	{"Fetch pages after a cursor", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		var batch []*store.Append
		for range 10 {
			batch = append(batch, newAppend(sender, types.NewMessageID(), to.ID, 1))
		}
		appendOK(t, s, t0, batch...)
		all := envelopeIDs(fetchAll(t, s, to.ID, 1))
		for _, tc := range []struct {
			name  string
			after uint64
			limit int
			want  []uint64
		}{
			{"first page", 0, 4, all[:4]},
			{"second page", all[3], 4, all[4:8]},
			{"last page", all[7], 4, all[8:]},
			{"after the end", all[9], 4, nil},
			{"from the middle, all", all[4], 100, all[5:]},
		} {
			got, err := s.Fetch(ctx, to.ID, 1, tc.after, tc.limit)
			noErr(t, "Fetch", err)
			if ids := envelopeIDs(got); !slices.Equal(ids, tc.want) && !(len(ids) == 0 && len(tc.want) == 0) {
				t.Errorf("%s: ids %v, want %v", tc.name, ids, tc.want)
			}
		}
		if got := fetchAll(t, s, to.ID, 2); len(got) != 0 {
			t.Errorf("device 2 has %d envelopes meant for device 1", len(got))
		}
	}},

	{"a message is stored once per sender device and destination", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		other, _ := createAccount(t, s)
		msg := types.NewMessageID()

		// Twice in one batch: the second is the duplicate.
		batch := []*store.Append{newAppend(sender, msg, to.ID, 1), newAppend(sender, msg, to.ID, 1)}
		noErr(t, "Append", s.Append(ctx, batch, bigQueue, window, t0))
		if batch[0].Duplicate || batch[0].Err != nil || !batch[1].Duplicate || batch[1].Err != nil {
			t.Fatalf("same message twice in a batch: Duplicate %v, %v; Err %v, %v; want only the second a duplicate",
				batch[0].Duplicate, batch[1].Duplicate, batch[0].Err, batch[1].Err)
		}
		if batch[1].Envelopes[0].ID != 0 {
			t.Error("duplicate got an envelope id")
		}

		// Again in a later batch, within the window.
		again := newAppend(sender, msg, to.ID, 1, 2)
		noErr(t, "Append", s.Append(ctx, []*store.Append{again}, bigQueue, window, t0.Add(window-time.Millisecond)))
		if !again.Duplicate || again.Err != nil {
			t.Fatalf("resend within the window: Duplicate %v, Err %v", again.Duplicate, again.Err)
		}
		if got := stored(t, s, to.ID, 1); len(got) != 1 {
			t.Fatalf("device 1 has %d envelopes, want the message once", len(got))
		}
		if got := stored(t, s, to.ID, 2); len(got) != 0 {
			t.Fatalf("device 2 got %d envelopes from a duplicate", len(got))
		}

		// The same id from another sender device, or to another account, is
		// another message.
		appendOK(t, s, t0, newAppend(addr(sender.Account, 2), msg, to.ID, 1))
		appendOK(t, s, t0, newAppend(sender, msg, other.ID, 1))
		if got := stored(t, s, to.ID, 1); len(got) != 2 {
			t.Fatalf("device 1 has %d envelopes, want 2", len(got))
		}
	}},

	{"a resend after the dedup window is stored again", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		msg := types.NewMessageID()
		appendOK(t, s, t0, newAppend(sender, msg, to.ID, 1))
		appendOK(t, s, t0.Add(window), newAppend(sender, msg, to.ID, 1))

		// Also once Expire dropped the record, and again a duplicate after that.
		_, err := s.Expire(ctx, t0.Add(3*window), 100)
		noErr(t, "Expire", err)
		appendOK(t, s, t0.Add(3*window), newAppend(sender, msg, to.ID, 1))
		dup := newAppend(sender, msg, to.ID, 1)
		noErr(t, "Append", s.Append(ctx, []*store.Append{dup}, bigQueue, window, t0.Add(3*window+time.Minute)))
		if !dup.Duplicate {
			t.Fatal("resend within the new window not a duplicate")
		}
		if got := stored(t, s, to.ID, 1); len(got) != 3 {
			t.Fatalf("device has %d envelopes, want 3", len(got))
		}
	}},

	{"a full mailbox stores nothing of the Append", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		const maxQueue = 2
		appendOK(t, s, t0, newAppend(sender, types.NewMessageID(), to.ID, 1), newAppend(sender, types.NewMessageID(), to.ID, 1))

		msg := types.NewMessageID()
		full := newAppend(sender, msg, to.ID, 1, 2)
		fits := newAppend(sender, types.NewMessageID(), to.ID, 2)
		noErr(t, "Append", s.Append(ctx, []*store.Append{full, fits}, maxQueue, window, t0))
		wantErr(t, "Append to a full device", full.Err, store.ErrMailboxFull)
		if !slices.Equal(full.FullDevices, []types.DeviceID{1}) {
			t.Errorf("FullDevices = %v, want [1]", full.FullDevices)
		}
		if full.Duplicate || fits.Err != nil || fits.Duplicate {
			t.Errorf("Duplicate %v; other Append Err %v Duplicate %v", full.Duplicate, fits.Err, fits.Duplicate)
		}
		if got := stored(t, s, to.ID, 2); !slices.Equal(got, []types.MessageID{fits.MessageID}) {
			t.Errorf("device 2 holds %d envelopes, want only the other Append's", len(got))
		}
		if n := queueLength(t, s, to.ID, 1); n != 2 {
			t.Errorf("device 1 QueueLength = %d, want 2", n)
		}

		// Nothing was remembered either: once there is room, the resend goes through.
		es := fetchAll(t, s, to.ID, 1)
		n, err := s.DeleteEnvelopes(ctx, to.ID, 1, []uint64{es[0].ID})
		noErr(t, "DeleteEnvelopes", err)
		if n != 1 {
			t.Fatalf("DeleteEnvelopes removed %d, want 1", n)
		}
		retry := newAppend(sender, msg, to.ID, 1, 2)
		noErr(t, "Append", s.Append(ctx, []*store.Append{retry}, maxQueue, window, t0.Add(time.Second)))
		if retry.Err != nil || retry.Duplicate {
			t.Fatalf("resend once there is room: Err %v, Duplicate %v; want stored", retry.Err, retry.Duplicate)
		}
		if n := queueLength(t, s, to.ID, 1); n != 2 {
			t.Errorf("device 1 QueueLength = %d, want 2", n)
		}

		// A resend of a stored message is a duplicate, not a failure, even now.
		dup := newAppend(sender, msg, to.ID, 1, 2)
		noErr(t, "Append", s.Append(ctx, []*store.Append{dup}, maxQueue, window, t0.Add(2*time.Second)))
		if !dup.Duplicate || dup.Err != nil {
			t.Errorf("resend of a stored message to a full device: Duplicate %v, Err %v; want a duplicate", dup.Duplicate, dup.Err)
		}
	}},

	{"the queue limit counts earlier Appends of the same batch", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		var batch []*store.Append
		for range 5 {
			batch = append(batch, newAppend(sender, types.NewMessageID(), to.ID, 1))
		}
		noErr(t, "Append", s.Append(ctx, batch, 3, window, t0))
		for i, a := range batch {
			if i < 3 && a.Err != nil {
				t.Errorf("Append %d: %v, want stored", i, a.Err)
			}
			if i >= 3 {
				wantErr(t, "Append beyond the limit", a.Err, store.ErrMailboxFull)
			}
		}
		if n := queueLength(t, s, to.ID, 1); n != 3 {
			t.Errorf("QueueLength = %d, want 3", n)
		}
		if got := stored(t, s, to.ID, 1); len(got) != 3 {
			t.Errorf("%d envelopes stored, want 3", len(got))
		}
	}},

	{"an Append to a missing device stores nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		msg := types.NewMessageID()
		bad := newAppend(sender, msg, to.ID, 1, 9)
		good := newAppend(sender, types.NewMessageID(), to.ID, 2)
		nobody := newAppend(sender, types.NewMessageID(), types.NewAccountID(), 1)
		noErr(t, "Append", s.Append(ctx, []*store.Append{bad, good, nobody}, bigQueue, window, t0))
		wantErr(t, "Append to a missing device", bad.Err, store.ErrNotFound)
		wantErr(t, "Append to a missing account", nobody.Err, store.ErrNotFound)
		if good.Err != nil || good.Duplicate {
			t.Fatalf("valid Append in the same batch: Err %v, Duplicate %v", good.Err, good.Duplicate)
		}
		if got := stored(t, s, to.ID, 1); len(got) != 0 {
			t.Errorf("device 1 holds %d envelopes of a failed Append", len(got))
		}
		if n := queueLength(t, s, to.ID, 1); n != 0 {
			t.Errorf("device 1 QueueLength = %d, want 0", n)
		}
		if got := stored(t, s, to.ID, 2); len(got) != 1 {
			t.Errorf("device 2 holds %d envelopes, want 1", len(got))
		}
		// Nothing remembered: the corrected resend is stored.
		appendOK(t, s, t0, newAppend(sender, msg, to.ID, 1))
	}},

	{"DeleteEnvelopes removes only the device's own envelopes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		appendOK(t, s, t0,
			newAppend(sender, types.NewMessageID(), to.ID, 1, 2),
			newAppend(sender, types.NewMessageID(), to.ID, 1),
			newAppend(sender, types.NewMessageID(), to.ID, 1))
		one, two := envelopeIDs(fetchAll(t, s, to.ID, 1)), envelopeIDs(fetchAll(t, s, to.ID, 2))

		n, err := s.DeleteEnvelopes(ctx, to.ID, 1, []uint64{one[0], two[0], one[2], 1 << 40})
		noErr(t, "DeleteEnvelopes", err)
		if n != 2 {
			t.Errorf("DeleteEnvelopes removed %d, want 2", n)
		}
		if got := envelopeIDs(fetchAll(t, s, to.ID, 1)); !slices.Equal(got, one[1:2]) {
			t.Errorf("device 1 holds %v, want %v", got, one[1:2])
		}
		if got := envelopeIDs(fetchAll(t, s, to.ID, 2)); !slices.Equal(got, two) {
			t.Errorf("device 2 holds %v, want %v untouched", got, two)
		}
		if a, b := queueLength(t, s, to.ID, 1), queueLength(t, s, to.ID, 2); a != 1 || b != 1 {
			t.Errorf("QueueLength = %d, %d; want 1, 1", a, b)
		}
		for _, ids := range [][]uint64{{one[0]}, nil} {
			n, err := s.DeleteEnvelopes(ctx, to.ID, 1, ids)
			noErr(t, "DeleteEnvelopes", err)
			if n != 0 {
				t.Errorf("DeleteEnvelopes(%v) removed %d, want 0", ids, n)
			}
		}
		if n := queueLength(t, s, to.ID, 1); n != 1 {
			t.Errorf("QueueLength = %d after deleting nothing, want 1", n)
		}
	}},

	{"DeleteBatch removes many devices' envelopes at once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		_, other := pair(t, s)
		appendOK(t, s, t0,
			newAppend(sender, types.NewMessageID(), to.ID, 1, 2),
			newAppend(sender, types.NewMessageID(), to.ID, 1),
			newAppend(sender, types.NewMessageID(), other.ID, 1))
		one, two, three := envelopeIDs(fetchAll(t, s, to.ID, 1)), envelopeIDs(fetchAll(t, s, to.ID, 2)), envelopeIDs(fetchAll(t, s, other.ID, 1))
		n, err := s.DeleteBatch(ctx, []store.Deletion{
			{Account: other.ID, Device: 1, IDs: three},
			{Account: to.ID, Device: 1, IDs: []uint64{one[1], two[0]}}, // two[0] is device 2's: left alone
			{Account: to.ID, Device: 2, IDs: nil},
			{Account: types.NewAccountID(), Device: 1, IDs: []uint64{one[0]}}, // no such device
		})
		noErr(t, "DeleteBatch", err)
		if n != 2 {
			t.Errorf("DeleteBatch removed %d, want 2", n)
		}
		if got := envelopeIDs(fetchAll(t, s, to.ID, 1)); !slices.Equal(got, one[:1]) {
			t.Errorf("device 1 holds %v, want %v", got, one[:1])
		}
		if got := envelopeIDs(fetchAll(t, s, to.ID, 2)); !slices.Equal(got, two) {
			t.Errorf("device 2 holds %v, want %v", got, two)
		}
		if a, b, c := queueLength(t, s, to.ID, 1), queueLength(t, s, to.ID, 2), queueLength(t, s, other.ID, 1); a != 1 || b != 1 || c != 0 {
			t.Errorf("QueueLength = %d, %d, %d; want 1, 1, 0", a, b, c)
		}
	}},

	{"envelope ids keep increasing after the queue empties", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		first := newAppend(sender, types.NewMessageID(), to.ID, 1)
		appendOK(t, s, t0, first)
		_, err := s.DeleteEnvelopes(ctx, to.ID, 1, []uint64{first.Envelopes[0].ID})
		noErr(t, "DeleteEnvelopes", err)
		second := newAppend(sender, types.NewMessageID(), to.ID, 1)
		appendOK(t, s, t0, second)
		if second.Envelopes[0].ID <= first.Envelopes[0].ID {
			t.Fatalf("id %d reused or went back after %d: a fetch cursor would skip it",
				second.Envelopes[0].ID, first.Envelopes[0].ID)
		}
		got, err := s.Fetch(ctx, to.ID, 1, first.Envelopes[0].ID, 10)
		noErr(t, "Fetch", err)
		if len(got) != 1 {
			t.Fatalf("Fetch after the old cursor found %d envelopes, want 1", len(got))
		}
	}},

	{"Expire removes expired envelopes and fixes queue lengths", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		withExpiry := func(a *store.Append, at time.Time) *store.Append {
			for i := range a.Envelopes {
				a.Envelopes[i].ExpiresAt = at
			}
			return a
		}
		soon, later := t0.Add(time.Hour), t0.Add(10*time.Hour)
		keep := withExpiry(newAppend(sender, types.NewMessageID(), to.ID, 1, 2), later)
		appendOK(t, s, t0,
			withExpiry(newAppend(sender, types.NewMessageID(), to.ID, 1, 2), soon),
			withExpiry(newAppend(sender, types.NewMessageID(), to.ID, 1), soon),
			keep,
			withExpiry(newAppend(sender, types.NewMessageID(), to.ID, 1), soon))

		n, err := s.Expire(ctx, soon, 100)
		noErr(t, "Expire", err)
		if n != 0 {
			t.Fatalf("Expire at the expiry instant removed %d, want 0", n)
		}
		now := soon.Add(time.Minute)
		var total []int
		for range 3 {
			n, err := s.Expire(ctx, now, 2)
			noErr(t, "Expire", err)
			total = append(total, n)
		}
		if !slices.Equal(total, []int{2, 2, 0}) {
			t.Fatalf("Expire with limit 2 removed %v, want [2 2 0]", total)
		}
		for dev := types.DeviceID(1); dev <= 2; dev++ {
			if got := stored(t, s, to.ID, dev); !slices.Equal(got, []types.MessageID{keep.MessageID}) {
				t.Errorf("device %d holds %d envelopes, want only the unexpired one", dev, len(got))
			}
			if n := queueLength(t, s, to.ID, dev); n != 1 {
				t.Errorf("device %d QueueLength = %d, want 1", dev, n)
			}
		}
		// The fixed counts are what the queue limit sees.
		var batch []*store.Append
		for range 3 {
			batch = append(batch, newAppend(sender, types.NewMessageID(), to.ID, 1))
		}
		noErr(t, "Append", s.Append(ctx, batch, 3, window, now))
		if batch[0].Err != nil || batch[1].Err != nil || !errors.Is(batch[2].Err, store.ErrMailboxFull) {
			t.Errorf("after Expire, queue limit 3 with 1 queued: Err %v, %v, %v; want nil, nil, full",
				batch[0].Err, batch[1].Err, batch[2].Err)
		}
	}},

	{"concurrent Appends keep the queue limit and store a message once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		const maxQueue, callers, perBatch = 20, 12, 4
		dup := types.NewMessageID()
		var (
			mu                   sync.Mutex
			accepted, full, dups int
			errs                 []error
		)
		parallel(callers, func(i int) {
			var batch []*store.Append
			for range perBatch {
				batch = append(batch, newAppend(addr(sender.Account, types.DeviceID(i+1)), types.NewMessageID(), to.ID, 1))
			}
			// Every caller also sends the same message, as retries on
			// several nodes would.
			batch = append(batch, newAppend(sender, dup, to.ID, 2))
			err := s.Append(ctx, batch, maxQueue, window, t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, a := range batch {
				switch {
				case a.Duplicate:
					dups++
				case errors.Is(a.Err, store.ErrMailboxFull):
					full++
				case a.Err != nil:
					errs = append(errs, a.Err)
				default:
					accepted++
				}
			}
		})
		if len(errs) > 0 {
			t.Fatalf("Append failed: %v", errs)
		}
		if accepted != maxQueue+1 || full != callers*perBatch-maxQueue || dups != callers-1 {
			t.Errorf("%d stored, %d full, %d duplicates; want %d, %d, %d",
				accepted, full, dups, maxQueue+1, callers*perBatch-maxQueue, callers-1)
		}
		es := fetchAll(t, s, to.ID, 1)
		if len(es) != maxQueue || queueLength(t, s, to.ID, 1) != maxQueue {
			t.Errorf("device 1 holds %d envelopes, QueueLength %d; want %d", len(es), queueLength(t, s, to.ID, 1), maxQueue)
		}
		if got := stored(t, s, to.ID, 2); !slices.Equal(got, []types.MessageID{dup}) {
			t.Errorf("device 2 holds %d copies of the message sent by every caller, want 1", len(got))
		}
	}},

	{"concurrent Append, Fetch, DeleteEnvelopes and Expire keep queue lengths right", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		sender, to := pair(t, s)
		soon := t0.Add(time.Minute)
		var (
			mu   sync.Mutex
			errs []error
		)
		fail := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		parallel(8, func(i int) {
			for round := range 6 {
				switch i % 4 {
				case 0, 1: // senders, half of whose envelopes expire soon
					var batch []*store.Append
					for range 4 {
						a := newAppend(sender, types.NewMessageID(), to.ID, 1, 2)
						if round%2 == 0 {
							for j := range a.Envelopes {
								a.Envelopes[j].ExpiresAt = soon
							}
						}
						batch = append(batch, a)
					}
					if err := s.Append(ctx, batch, bigQueue, window, t0); err != nil {
						fail(err)
					}
				case 2: // a device acking what it fetched
					dev := types.DeviceID(i%2 + 1)
					es, err := s.Fetch(ctx, to.ID, dev, 0, 5)
					if err == nil {
						_, err = s.DeleteEnvelopes(ctx, to.ID, dev, envelopeIDs(es))
					}
					if err != nil {
						fail(err)
					}
				case 3:
					if _, err := s.Expire(ctx, soon.Add(time.Second), 7); err != nil {
						fail(err)
					}
				}
			}
		})
		if len(errs) > 0 {
			t.Fatalf("failed: %v", errs)
		}
		for dev := types.DeviceID(1); dev <= 2; dev++ {
			es := fetchAll(t, s, to.ID, dev)
			if n := queueLength(t, s, to.ID, dev); n != len(es) {
				t.Errorf("device %d: QueueLength %d, but %d envelopes queued", dev, n, len(es))
			}
			for i := 1; i < len(es); i++ {
				if es[i].ID <= es[i-1].ID {
					t.Fatalf("device %d: Fetch not in id order", dev)
				}
			}
		}
	}},
}
