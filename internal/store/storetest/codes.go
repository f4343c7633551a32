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

func newCode(p store.CodePurpose, key string) store.Code {
	return store.Code{Purpose: p, Key: key, Hash: randBytes(32), ExpiresAt: t0.Add(10 * time.Minute)}
}

var codeTests = []test{
	{"CheckCode counts attempts up to the limit", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := newCode(store.PurposeRegister, newPhone())
		noErr(t, "PutCode", s.PutCode(ctx, c))
		for want := 1; want <= 3; want++ {
			got, err := s.CheckCode(ctx, c.Purpose, c.Key, 3, t0)
			noErr(t, "CheckCode", err)
			if got.Attempts != want {
				t.Fatalf("attempt %d: Attempts = %d", want, got.Attempts)
			}
			sameBytes(t, "Hash", got.Hash, c.Hash)
			sameTime(t, "ExpiresAt", got.ExpiresAt, c.ExpiresAt)
			if got.Purpose != c.Purpose || got.Key != c.Key || !got.Account.IsZero() {
				t.Errorf("CheckCode returned %v %q %s", got.Purpose, got.Key, got.Account)
			}
		}
		for range 2 {
			_, err := s.CheckCode(ctx, c.Purpose, c.Key, 3, t0)
			wantErr(t, "CheckCode after 3 attempts", err, store.ErrCodeAttempts)
		}
		// The refused attempts were not counted: with a higher limit the
		// next attempt is the fourth.
		got, err := s.CheckCode(ctx, c.Purpose, c.Key, 4, t0)
		noErr(t, "CheckCode with limit 4", err)
		if got.Attempts != 4 {
			t.Errorf("Attempts = %d, want 4: refused attempts were counted", got.Attempts)
		}
	}},

	{"CheckCode of an expired or missing code", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := newCode(store.PurposeRegister, newPhone())
		noErr(t, "PutCode", s.PutCode(ctx, c))
		_, err := s.CheckCode(ctx, c.Purpose, c.Key, 3, c.ExpiresAt.Add(-time.Millisecond))
		noErr(t, "CheckCode just before expiry", err)
		_, err = s.CheckCode(ctx, c.Purpose, c.Key, 3, c.ExpiresAt.Add(time.Millisecond))
		wantErr(t, "CheckCode after expiry", err, store.ErrNotFound)
		_, err = s.CheckCode(ctx, c.Purpose, newPhone(), 3, t0)
		wantErr(t, "CheckCode of no code", err, store.ErrNotFound)
	}},

	{"PutCode replaces the code and its attempts", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := newCode(store.PurposeRegister, newPhone())
		noErr(t, "PutCode", s.PutCode(ctx, c))
		for range 3 {
			_, err := s.CheckCode(ctx, c.Purpose, c.Key, 3, t0)
			noErr(t, "CheckCode", err)
		}
		c2 := newCode(c.Purpose, c.Key)
		c2.ExpiresAt = t0.Add(time.Hour)
		noErr(t, "PutCode again", s.PutCode(ctx, c2))
		got, err := s.CheckCode(ctx, c.Purpose, c.Key, 3, t0.Add(30*time.Minute))
		noErr(t, "CheckCode of the new code", err)
		sameBytes(t, "Hash", got.Hash, c2.Hash)
		sameTime(t, "ExpiresAt", got.ExpiresAt, c2.ExpiresAt)
		if got.Attempts != 1 {
			t.Errorf("Attempts = %d, want 1 for a fresh code", got.Attempts)
		}
	}},

	{"purposes are separate and link codes carry the account", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		key := "5f1c0e7d" + types.NewMessageID().String()
		reg := newCode(store.PurposeRegister, key)
		link := newCode(store.PurposeLink, key)
		link.Account = types.NewAccountID()
		noErr(t, "PutCode", s.PutCode(ctx, reg))
		noErr(t, "PutCode", s.PutCode(ctx, link))
		got, err := s.CheckCode(ctx, store.PurposeLink, key, 3, t0)
		noErr(t, "CheckCode(link)", err)
		sameBytes(t, "link Hash", got.Hash, link.Hash)
		if got.Account != link.Account {
			t.Errorf("link code Account = %s, want %s", got.Account, link.Account)
		}
		noErr(t, "DeleteCode(link)", s.DeleteCode(ctx, store.PurposeLink, key))
		got, err = s.CheckCode(ctx, store.PurposeRegister, key, 3, t0)
		noErr(t, "CheckCode(register) after the link code was deleted", err)
		sameBytes(t, "register Hash", got.Hash, reg.Hash)
		if got.Attempts != 1 {
			t.Errorf("register code Attempts = %d, want 1: attempts on the link code were shared", got.Attempts)
		}
	}},

	{"DeleteCode", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := newCode(store.PurposeRegister, newPhone())
		noErr(t, "PutCode", s.PutCode(ctx, c))
		noErr(t, "DeleteCode", s.DeleteCode(ctx, c.Purpose, c.Key))
		_, err := s.CheckCode(ctx, c.Purpose, c.Key, 3, t0)
		wantErr(t, "CheckCode after DeleteCode", err, store.ErrNotFound)
		wantErr(t, "DeleteCode again", s.DeleteCode(ctx, c.Purpose, c.Key), store.ErrNotFound)
	}},

	{"CheckCode concurrently allows exactly maxAttempts", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		c := newCode(store.PurposeRegister, newPhone())
		noErr(t, "PutCode", s.PutCode(ctx, c))
		const max, callers = 5, 20
		var (
			mu       sync.Mutex
			attempts []int
			refused  int
			errs     []error
		)
		parallel(callers, func(int) {
			got, err := s.CheckCode(ctx, c.Purpose, c.Key, max, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				attempts = append(attempts, got.Attempts)
			case errors.Is(err, store.ErrCodeAttempts):
				refused++
			default:
				errs = append(errs, err)
			}
		})
		if len(errs) > 0 {
			t.Fatalf("CheckCode failed: %v", errs)
		}
		slices.Sort(attempts)
		if !slices.Equal(attempts, []int{1, 2, 3, 4, 5}) || refused != callers-max {
			t.Fatalf("attempts %v, %d refused; want [1 2 3 4 5] and %d refused", attempts, refused, callers-max)
		}
	}},
}

var rateLimitTests = []test{
	{"Allow counts a fixed window", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const limit = 3
		key := "send:" + types.NewAccountID().String()
		for i := range limit {
			ok, _, err := s.Allow(ctx, key, limit, time.Minute, t0.Add(time.Duration(i)*time.Second))
			noErr(t, "Allow", err)
			if !ok {
				t.Fatalf("event %d refused within the limit", i+1)
			}
		}
		ok, retry, err := s.Allow(ctx, key, limit, time.Minute, t0.Add(10*time.Second))
		noErr(t, "Allow", err)
		if ok {
			t.Fatal("event over the limit allowed")
		}
		if retry != 50*time.Second {
			t.Errorf("retryAfter = %v, want 50s until the window ends", retry)
		}
		ok, retry, err = s.Allow(ctx, key, limit, time.Minute, t0.Add(59*time.Second))
		noErr(t, "Allow", err)
		if ok || retry != time.Second {
			t.Errorf("Allow at 59s = %v, %v; want refused, 1s", ok, retry)
		}
		ok, _, err = s.Allow(ctx, key, limit, time.Minute, t0.Add(time.Minute))
		noErr(t, "Allow", err)
		if !ok {
			t.Error("event in the next window refused")
		}
		// Other keys are counted apart.
		ok, _, err = s.Allow(ctx, key+"x", limit, time.Minute, t0.Add(10*time.Second))
		noErr(t, "Allow", err)
		if !ok {
			t.Error("first event of another key refused")
		}
	}},

	{"AllowN counts several events at once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const limit = 10
		key := "lookup:" + types.NewAccountID().String()
		for _, c := range []struct {
			n    int
			at   time.Duration
			ok   bool
			wait time.Duration
		}{
			{4, 0, true, 0},
			{6, time.Second, true, 0}, // exactly the limit
			{1, 2 * time.Second, false, 58 * time.Second},
			{1, time.Minute, true, 0}, // the next window
			{10, time.Minute, false, time.Minute},
		} {
			ok, retry, err := s.AllowN(ctx, key, c.n, limit, time.Minute, t0.Add(c.at))
			noErr(t, "AllowN", err)
			if ok != c.ok || retry != c.wait {
				t.Fatalf("AllowN(%d) at %v = %v, %v; want %v, %v", c.n, c.at, ok, retry, c.ok, c.wait)
			}
		}
		// More than the limit in one go is refused even in a fresh window.
		ok, _, err := s.AllowN(ctx, key+"x", limit+1, limit, time.Minute, t0)
		noErr(t, "AllowN", err)
		if ok {
			t.Error("AllowN over the limit in a fresh window allowed")
		}
		if _, _, err := s.AllowN(ctx, key+"y", 0, limit, time.Minute, t0); err == nil {
			t.Error("AllowN(0) did not fail")
		}
	}},

	{"Allow concurrently allows exactly limit", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const limit, callers = 10, 30
		key := "login:" + types.NewAccountID().String()
		var (
			mu       sync.Mutex
			allowed  int
			refused  int
			errs     []error
			maxRetry time.Duration
		)
		parallel(callers, func(int) {
			ok, retry, err := s.Allow(ctx, key, limit, time.Hour, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case ok:
				allowed++
			default:
				refused++
				maxRetry = max(maxRetry, retry)
			}
		})
		if len(errs) > 0 {
			t.Fatalf("Allow failed: %v", errs)
		}
		if allowed != limit || refused != callers-limit {
			t.Fatalf("%d allowed, %d refused; want %d and %d", allowed, refused, limit, callers-limit)
		}
		if maxRetry != time.Hour {
			t.Errorf("retryAfter = %v, want 1h", maxRetry)
		}
	}},
}
