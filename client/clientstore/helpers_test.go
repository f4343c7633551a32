package clientstore

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	// cheap keeps Argon2id fast in tests; the format is the same.
	cheap = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
)

const testPass = "correct horse battery staple"

func protector(pass string) *PassphraseProtector {
	return &PassphraseProtector{Passphrase: []byte(pass), Params: cheap}
}

// openAt opens (or creates) the store at path with testPass, closed at the
// end of the test.
func openAt(tb testing.TB, path string) *Store {
	tb.Helper()
	st, err := Open(ctx, path, protector(testPass), nil)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// newStore creates a store in a fresh directory and returns it and its path.
func newStore(tb testing.TB) (*Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "client.db")
	return openAt(tb, path), path
}

// register saves a registered account with fresh keys.
func register(tb testing.TB, st *Store, device types.DeviceID) Account {
	tb.Helper()
	a, err := NewAccount("https://parley.example", "+4915112345678")
	if err != nil {
		tb.Fatal(err)
	}
	a.ID, a.Device = types.NewAccountID(), device
	if err := st.SaveAccount(ctx, a); err != nil {
		tb.Fatal(err)
	}
	return a
}

// publish plays the server: it takes the store's unpublished keys, marks
// them published and returns a bundle with one of each kind of one-time
// key (nil one-time EC key if oneTime is false).
func publish(tb testing.TB, st *Store, a Account, oneTime bool) session.Bundle {
	tb.Helper()
	if _, _, err := st.CurrentSignedPreKeys(ctx); err != nil {
		if _, _, err := st.RotateSignedPreKeys(ctx, t0); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := st.GeneratePreKeys(ctx, 2, t0); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.GenerateKyberPreKeys(ctx, 2, t0); err != nil {
		tb.Fatal(err)
	}
	u, err := st.Unpublished(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.MarkPublished(ctx, u, t0); err != nil {
		tb.Fatal(err)
	}
	spk, lastResort, err := st.CurrentSignedPreKeys(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	_ = lastResort
	var pre *session.PreKeyRecord
	if oneTime {
		pre = &u.PreKeys[0]
	}
	return session.NewBundle(a.RegistrationID, uint32(a.Device), a.Identity.Public, pre, spk, u.KyberPreKeys[0])
}

func randomKey(tb testing.TB) [32]byte {
	tb.Helper()
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		tb.Fatal(err)
	}
	return k
}

// ctxT is context.Context, short for InTx callbacks in tests.
type ctxT = context.Context
