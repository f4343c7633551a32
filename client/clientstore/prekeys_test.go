package clientstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/session"
)

func setNextID(t *testing.T, st *Store, space int, next int64) {
	t.Helper()
	if _, err := st.w.ExecContext(ctx, `INSERT INTO prekey_ids (space, next_id) VALUES (?, ?)
		ON CONFLICT (space) DO UPDATE SET next_id = excluded.next_id`, space, next); err != nil {
		t.Fatal(err)
	}
}

// oneTimeKey is either kind of one-time prekey record.
type oneTimeKey interface {
	session.PreKeyRecord | session.KyberPreKeyRecord
}

func ids[T oneTimeKey](rs []T) []uint32 {
	out := make([]uint32, len(rs))
	for i, r := range rs {
		switch r := any(r).(type) {
		case session.PreKeyRecord:
			out[i] = r.ID
		case session.KyberPreKeyRecord:
			out[i] = r.ID
		}
	}
	return out
}

func TestPreKeyIDs(t *testing.T) {
	st, _ := newStore(t)
	register(t, st, 1)

	first, err := st.GeneratePreKeys(ctx, 5, t0)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(first)
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]%MaxPreKeyID+1 {
			t.Fatalf("ids not consecutive: %v", got)
		}
	}
	for _, id := range got {
		if id < 1 || id > MaxPreKeyID {
			t.Fatalf("id %d outside 1..2^24-1", id)
		}
	}

	// Near the top of the range the ids wrap to 1, skipping 0.
	setNextID(t, st, spaceEC, MaxPreKeyID-1)
	wrapped, err := st.GeneratePreKeys(ctx, 4, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{MaxPreKeyID - 1, MaxPreKeyID, 1, 2}; !slices.Equal(ids(wrapped), want) {
		t.Fatalf("ids across the wrap = %v, want %v", ids(wrapped), want)
	}
	// Ids still in use are skipped, not overwritten.
	setNextID(t, st, spaceEC, 1)
	again, err := st.GeneratePreKeys(ctx, 2, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{3, 4}; !slices.Equal(ids(again), want) {
		t.Fatalf("ids after wrapping onto used ones = %v, want %v", ids(again), want)
	}
	if k, err := st.LoadPreKey(ctx, 1); err != nil || k != wrapped[2] {
		t.Fatal("a key in use was replaced")
	}

	// Kyber keys, one-time and last resort, share one id space.
	setNextID(t, st, spaceKyber, MaxPreKeyID)
	ky, err := st.GenerateKyberPreKeys(ctx, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, lr, err := st.RotateSignedPreKeys(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ky[0].ID != MaxPreKeyID || lr.ID != 1 {
		t.Fatalf("Kyber ids %d then %d, want %d then 1", ky[0].ID, lr.ID, MaxPreKeyID)
	}
}

func TestPreKeyBatchLimits(t *testing.T) {
	st, _ := newStore(t)
	if _, err := st.GenerateKyberPreKeys(ctx, 1, t0); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("Kyber prekeys without an account = %v, want ErrNoAccount", err)
	}
	if _, _, err := st.RotateSignedPreKeys(ctx, t0); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("signed prekeys without an account = %v, want ErrNoAccount", err)
	}
	register(t, st, 1)
	for _, n := range []int{0, -1, MaxPreKeyBatch + 1} {
		if _, err := st.GeneratePreKeys(ctx, n, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("GeneratePreKeys(%d) = %v, want ErrInvalid", n, err)
		}
		if _, err := st.GenerateKyberPreKeys(ctx, n, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("GenerateKyberPreKeys(%d) = %v, want ErrInvalid", n, err)
		}
	}
	if _, _, err := st.CurrentSignedPreKeys(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CurrentSignedPreKeys before rotation = %v", err)
	}
}

// The publish cycle as a client runs it: register, replenish, rotate, and
// replaced keys that keep working for the grace period, then go.
func TestPublishCycle(t *testing.T) {
	st, _ := newStore(t)
	a := register(t, st, 1)
	u, err := st.Unpublished(ctx)
	if err != nil || !u.Empty() {
		t.Fatalf("Unpublished of a new store = %+v, %v", u, err)
	}

	// Registration: signed keys and a first batch.
	spk1, lr1, err := st.RotateSignedPreKeys(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Identity.Public.Verify(spk1.KeyPair.Public.Bytes(), spk1.Signature[:]) ||
		!a.Identity.Public.Verify(lr1.KeyPair.PublicKey().Bytes(), lr1.Signature[:]) {
		t.Fatal("signed prekey signatures do not verify")
	}
	batch1, _ := st.GeneratePreKeys(ctx, 3, t0)
	kyber1, _ := st.GenerateKyberPreKeys(ctx, 2, t0)
	u, err = st.Unpublished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.SignedPreKey == nil || u.SignedPreKey.ID != spk1.ID || u.LastResortKyber == nil || u.LastResortKyber.ID != lr1.ID ||
		!slices.Equal(ids(u.PreKeys), ids(batch1)) || !slices.Equal(ids(u.KyberPreKeys), ids(kyber1)) {
		t.Fatalf("Unpublished = %+v", u)
	}
	if err := st.MarkPublished(ctx, u, t0); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.Unpublished(ctx); !u.Empty() {
		t.Fatalf("Unpublished after publishing = %+v", u)
	}

	// Replenish one day later: only the new keys are to be published, and
	// the server's replacement retires the old batch.
	day := t0.Add(24 * time.Hour)
	batch2, _ := st.GeneratePreKeys(ctx, 3, day)
	u, _ = st.Unpublished(ctx)
	if u.SignedPreKey != nil || u.LastResortKyber != nil || len(u.KyberPreKeys) != 0 || !slices.Equal(ids(u.PreKeys), ids(batch2)) {
		t.Fatalf("Unpublished after replenishing = %+v", u)
	}
	if err := st.MarkPublished(ctx, u, day); err != nil {
		t.Fatal(err)
	}
	// Rotation a week later: the old signed keys still work.
	week := t0.Add(7 * 24 * time.Hour)
	spk2, lr2, err := st.RotateSignedPreKeys(ctx, week)
	if err != nil {
		t.Fatal(err)
	}
	cur, curLR, err := st.CurrentSignedPreKeys(ctx)
	if err != nil || cur.ID != spk2.ID || curLR.ID != lr2.ID || !cur.Timestamp.Equal(week) {
		t.Fatalf("CurrentSignedPreKeys = %d/%d, %v; want %d/%d", cur.ID, curLR.ID, err, spk2.ID, lr2.ID)
	}
	if err := st.MarkKyberPreKeyUsed(ctx, lr1.ID, spk1.ID, newKey(t)); err != nil {
		t.Fatal(err)
	}
	u, _ = st.Unpublished(ctx)
	if err := st.MarkPublished(ctx, u, week); err != nil {
		t.Fatal(err)
	}
	stillThere := func(want bool) {
		t.Helper()
		_, e1 := st.LoadPreKey(ctx, batch1[0].ID)
		_, e2 := st.LoadSignedPreKey(ctx, spk1.ID)
		_, e3 := st.LoadKyberPreKey(ctx, lr1.ID)
		for _, err := range []error{e1, e2, e3} {
			if want && err != nil {
				t.Fatalf("replaced key gone within the grace period: %v", err)
			}
			if !want && !errors.Is(err, session.ErrNoPreKey) {
				t.Fatalf("replaced key still there after the grace period: %v", err)
			}
		}
	}
	stillThere(true)
	// Past the grace period the next publication prunes them, and the
	// replay records of the pruned last-resort key.
	late := week.Add(DefaultKeyGrace + time.Hour)
	if err := st.MarkPublished(ctx, PreKeyUpload{}, late); err != nil {
		t.Fatal(err)
	}
	stillThere(false)
	var uses int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM kyber_uses`).Scan(&uses); err != nil || uses != 0 {
		t.Fatalf("kyber_uses left = %d, %v", uses, err)
	}
	for _, r := range batch2 {
		if _, err := st.LoadPreKey(ctx, r.ID); err != nil {
			t.Fatalf("current one-time key pruned: %v", err)
		}
	}
	if _, err := st.LoadSignedPreKey(ctx, spk2.ID); err != nil {
		t.Fatalf("current signed key pruned: %v", err)
	}
}

func TestUnpublishedIsBounded(t *testing.T) {
	st, _ := newStore(t)
	register(t, st, 1)
	for range 2 {
		if _, err := st.GeneratePreKeys(ctx, MaxPreKeyBatch, t0); err != nil {
			t.Fatal(err)
		}
	}
	u, err := st.Unpublished(ctx)
	if err != nil || len(u.PreKeys) != MaxPreKeyBatch {
		t.Fatalf("Unpublished gave %d keys, %v; want %d", len(u.PreKeys), err, MaxPreKeyBatch)
	}
	if err := st.MarkPublished(ctx, u, t0); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.Unpublished(ctx); len(u.PreKeys) != MaxPreKeyBatch {
		t.Fatalf("second upload has %d keys", len(u.PreKeys))
	}
}
