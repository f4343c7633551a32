package storetest

import (
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

func newUpload(size, chunk int64, downloads int) store.Upload {
	var id store.MediaID
	_, _ = rand.Read(id[:])
	return store.Upload{
		ID: id, Owner: types.Address{Account: types.NewAccountID(), Device: 3}, Size: size, SHA256: randBytes(32),
		ChunkSize: chunk, Downloads: downloads, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
	}
}

func sameUpload(t *testing.T, got, want store.Upload) {
	t.Helper()
	if got.ID != want.ID || got.Owner != want.Owner || got.Size != want.Size || got.ChunkSize != want.ChunkSize ||
		got.Committed != want.Committed || got.Downloads != want.Downloads || got.Fetched != want.Fetched {
		t.Errorf("upload: got %+v, want %+v", got, want)
	}
	sameBytes(t, "SHA256", got.SHA256, want.SHA256)
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "DoneAt", got.DoneAt, want.DoneAt)
}

func dueIDs(t *testing.T, s store.Store, now time.Time, grace time.Duration) []store.MediaID {
	t.Helper()
	us, err := s.DueUploads(t.Context(), now, grace, 100)
	noErr(t, "DueUploads", err)
	var ids []store.MediaID
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

var mediaTests = []test{
	{"CreateUpload and Upload keep every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := newUpload(10<<20+5, 1<<20, 3)
		noErr(t, "CreateUpload", s.CreateUpload(ctx, u))
		got, err := s.Upload(ctx, u.ID)
		noErr(t, "Upload", err)
		sameUpload(t, got, u)
		if got.Complete() {
			t.Error("a new upload is complete")
		}
		wantErr(t, "CreateUpload of a taken id", s.CreateUpload(ctx, u), store.ErrConflict)
		_, err = s.Upload(ctx, newUpload(1, 1, 0).ID)
		wantErr(t, "Upload of no upload", err, store.ErrNotFound)
	}},

	{"CommitUpload moves the offset only from where it is", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := newUpload(2500, 1000, 1)
		noErr(t, "CreateUpload", s.CreateUpload(ctx, u))
		final := t0.Add(30 * 24 * time.Hour)
		got, err := s.CommitUpload(ctx, u.ID, 0, 1000, final)
		noErr(t, "CommitUpload 0→1000", err)
		if got.Committed != 1000 || got.Complete() {
			t.Fatalf("after the first chunk: committed %d, complete %v", got.Committed, got.Complete())
		}
		sameTime(t, "ExpiresAt of an incomplete upload", got.ExpiresAt, u.ExpiresAt)
		// A resend of the first chunk, or a client that lost track.
		got, err = s.CommitUpload(ctx, u.ID, 0, 1000, final)
		wantErr(t, "CommitUpload from a stale offset", err, store.ErrConflict)
		if got.Committed != 1000 {
			t.Errorf("the conflict reports offset %d, want 1000", got.Committed)
		}
		_, err = s.CommitUpload(ctx, u.ID, 1000, 2501, final)
		wantErr(t, "CommitUpload beyond the size", err, store.ErrConflict)
		_, err = s.CommitUpload(ctx, u.ID, 1000, 2000, final)
		noErr(t, "CommitUpload 1000→2000", err)
		got, err = s.CommitUpload(ctx, u.ID, 2000, 2500, final)
		noErr(t, "CommitUpload of the last chunk", err)
		if !got.Complete() {
			t.Fatal("not complete after the last chunk")
		}
		sameTime(t, "ExpiresAt once complete", got.ExpiresAt, final)
		again, err := s.Upload(ctx, u.ID)
		noErr(t, "Upload", err)
		sameUpload(t, again, got)
		_, err = s.CommitUpload(ctx, newUpload(1, 1, 0).ID, 0, 1, final)
		wantErr(t, "CommitUpload of no upload", err, store.ErrNotFound)
	}},

	{"CommitUpload lets one of many concurrent writers of an offset win", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := newUpload(3000, 1000, 1)
		noErr(t, "CreateUpload", s.CreateUpload(ctx, u))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		for range 12 {
			wg.Go(func() {
				_, err := s.CommitUpload(ctx, u.ID, 0, 1000, t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					t.Errorf("CommitUpload: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || conflicts != 11 {
			t.Fatalf("%d writers won and %d lost, want 1 and 11", wins, conflicts)
		}
	}},

	{"RecordDownload counts each device once and marks the blob done", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := newUpload(100, 100, 2)
		noErr(t, "CreateUpload", s.CreateUpload(ctx, u))
		_, err := s.CommitUpload(ctx, u.ID, 0, 100, t0.Add(time.Hour))
		noErr(t, "CommitUpload", err)
		a := types.Address{Account: types.NewAccountID(), Device: 1}
		b := types.Address{Account: a.Account, Device: 2}
		for i, step := range []struct {
			dev     types.Address
			at      time.Time
			fetched int
			done    time.Time
		}{
			{a, t0.Add(time.Minute), 1, time.Time{}},
			{a, t0.Add(2 * time.Minute), 1, time.Time{}}, // the same device again
			{b, t0.Add(3 * time.Minute), 2, t0.Add(3 * time.Minute)},
			{types.Address{Account: types.NewAccountID(), Device: 1}, t0.Add(4 * time.Minute), 3, t0.Add(3 * time.Minute)},
		} {
			got, err := s.RecordDownload(ctx, u.ID, step.dev, step.at)
			noErr(t, "RecordDownload", err)
			if got.Fetched != step.fetched {
				t.Errorf("step %d: Fetched = %d, want %d", i, got.Fetched, step.fetched)
			}
			sameTime(t, "DoneAt", got.DoneAt, step.done)
		}
		_, err = s.RecordDownload(ctx, newUpload(1, 1, 0).ID, a, t0)
		wantErr(t, "RecordDownload of no upload", err, store.ErrNotFound)

		// Downloads 0: kept until it expires, however many fetch it.
		keep := newUpload(100, 100, 0)
		noErr(t, "CreateUpload", s.CreateUpload(ctx, keep))
		for d := range 3 {
			got, err := s.RecordDownload(ctx, keep.ID, types.Address{Account: a.Account, Device: types.DeviceID(d + 1)}, t0)
			noErr(t, "RecordDownload", err)
			if !got.DoneAt.IsZero() {
				t.Fatal("an upload with Downloads 0 became done")
			}
		}
	}},

	{"RecordDownload counts concurrent devices", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := newUpload(100, 100, 10)
		noErr(t, "CreateUpload", s.CreateUpload(ctx, u))
		acct := types.NewAccountID()
		var wg sync.WaitGroup
		for d := range 10 {
			wg.Go(func() {
				// Each device twice, as a retried download would.
				for range 2 {
					if _, err := s.RecordDownload(ctx, u.ID, types.Address{Account: acct, Device: types.DeviceID(d + 1)}, t0); err != nil {
						t.Errorf("RecordDownload: %v", err)
					}
				}
			})
		}
		wg.Wait()
		got, err := s.Upload(ctx, u.ID)
		noErr(t, "Upload", err)
		if got.Fetched != 10 || got.DoneAt.IsZero() {
			t.Fatalf("Fetched %d, DoneAt %v; want 10 and set", got.Fetched, got.DoneAt)
		}
	}},

	{"DueUploads finds expired and fetched uploads, DeleteUpload removes them", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		expired := newUpload(100, 100, 0) // expires t0+24h
		fetched := newUpload(100, 100, 1)
		fetched.ExpiresAt = t0.Add(30 * 24 * time.Hour)
		kept := newUpload(100, 100, 2)
		kept.ExpiresAt = fetched.ExpiresAt
		for _, u := range []store.Upload{expired, fetched, kept} {
			noErr(t, "CreateUpload", s.CreateUpload(ctx, u))
		}
		dev := types.Address{Account: types.NewAccountID(), Device: 1}
		_, err := s.RecordDownload(ctx, fetched.ID, dev, t0.Add(time.Hour))
		noErr(t, "RecordDownload", err)
		_, err = s.RecordDownload(ctx, kept.ID, dev, t0.Add(time.Hour)) // one of two
		noErr(t, "RecordDownload", err)

		grace := time.Hour
		if ids := dueIDs(t, s, t0.Add(90*time.Minute), grace); len(ids) != 0 {
			t.Errorf("due within the grace and before expiry: %v", ids)
		}
		if ids := dueIDs(t, s, t0.Add(2*time.Hour), grace); !slices.Equal(ids, []store.MediaID{fetched.ID}) {
			t.Errorf("due after the grace: %v, want only the fetched one", ids)
		}
		ids := dueIDs(t, s, t0.Add(24*time.Hour), grace)
		if len(ids) != 2 || !slices.Contains(ids, expired.ID) || !slices.Contains(ids, fetched.ID) {
			t.Errorf("due at expiry: %v, want the expired and the fetched one", ids)
		}
		us, err := s.DueUploads(ctx, t0.Add(24*time.Hour), grace, 1)
		noErr(t, "DueUploads", err)
		if len(us) != 1 {
			t.Errorf("DueUploads with limit 1 returned %d", len(us))
		}

		noErr(t, "DeleteUpload", s.DeleteUpload(ctx, fetched.ID))
		noErr(t, "DeleteUpload again", s.DeleteUpload(ctx, fetched.ID))
		_, err = s.Upload(ctx, fetched.ID)
		wantErr(t, "Upload after DeleteUpload", err, store.ErrNotFound)
		// Its download records went with it: the same id counts from zero.
		fetched.Downloads = 5
		noErr(t, "CreateUpload of a reused id", s.CreateUpload(ctx, fetched))
		got, err := s.RecordDownload(ctx, fetched.ID, dev, t0)
		noErr(t, "RecordDownload", err)
		if got.Fetched != 1 {
			t.Errorf("a deleted upload's downloads were kept: Fetched %d", got.Fetched)
		}
		if ids := dueIDs(t, s, t0.Add(40*24*time.Hour), grace); len(ids) != 3 {
			t.Errorf("at 40 days %d uploads are due, want all 3", len(ids))
		}
	}},

	{"MediaKey keeps the first key offered", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		keys := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				k, err := s.MediaKey(ctx, randBytes(32))
				if err != nil {
					t.Errorf("MediaKey: %v", err)
				}
				keys[i] = k
			})
		}
		wg.Wait()
		for _, k := range keys[1:] {
			sameBytes(t, "key of another caller", k, keys[0])
		}
		if len(keys[0]) != 32 {
			t.Fatalf("key of %d bytes", len(keys[0]))
		}
		k, err := s.MediaKey(ctx, randBytes(32))
		noErr(t, "MediaKey", err)
		sameBytes(t, "key later", k, keys[0])
	}},
}
