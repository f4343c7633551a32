// Package storetest is the conformance suite for store.Store: every
// implementation, and every database an implementation speaks, must pass Run.
// The tests look only through the interface and check what a user of the
// server would notice: a message lost or delivered twice, a prekey handed
// out twice, a device over the limit, data left behind by a deleted account.
package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// Run runs the suite. open must return a new, empty store for each call and
// close it when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Accounts", accountTests},
		{"Devices", deviceTests},
		{"Codes", codeTests},
		{"RateLimits", rateLimitTests},
		{"PreKeys", preKeyTests},
		{"Mailbox", mailboxTests},
		{"Privacy", privacyTests},
		{"Groups", groupTests},
		{"Media", mediaTests},
		{"Holders", holderTests},
		{"Ping", []test{{"answers", func(t *testing.T, s store.Store) {
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}}}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// t0 is the suite's "now": whole milliseconds, the precision a store must keep.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

var phoneSeq atomic.Uint64

// newPhone returns an E.164 number no other test uses.
func newPhone() string {
	return fmt.Sprintf("+1555%03d%04d", mrand.IntN(1000), phoneSeq.Add(1)%10000)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newDevice(acct types.AccountID, id types.DeviceID) store.Device {
	return store.Device{
		Account:        acct,
		ID:             id,
		AuthKey:        randBytes(32),
		IdentityKey:    append([]byte{0x05}, randBytes(32)...),
		RegistrationID: mrand.Uint32N(16380) + 1,
		Name:           randBytes(24),
		CreatedAt:      t0,
	}
}

func newPreKey(id uint32, signed bool) store.PreKey {
	k := store.PreKey{ID: id, Public: append([]byte{0x05}, randBytes(32)...)}
	if signed {
		k.Signature = randBytes(64)
	}
	return k
}

// newKeys returns a signed and a last-resort key and nEC and nKyber one-time
// keys, with ids starting at base.
func newKeys(base uint32, nEC, nKyber int) store.PreKeySet {
	signed, lastResort := newPreKey(base, true), newPreKey(base+1, true)
	ks := store.PreKeySet{SignedEC: &signed, LastResortKyber: &lastResort}
	for i := range nEC {
		ks.OneTimeEC = append(ks.OneTimeEC, newPreKey(base+100+uint32(i), false))
	}
	for i := range nKyber {
		ks.OneTimeKyber = append(ks.OneTimeKyber, newPreKey(base+100+uint32(i), true))
	}
	return ks
}

// createAccount stores a new account whose primary device has signed and
// last-resort keys.
func createAccount(t *testing.T, s store.Store) (store.Account, store.Device) {
	t.Helper()
	a := store.Account{ID: types.NewAccountID(), Phone: newPhone(), CreatedAt: t0}
	d := newDevice(a.ID, types.PrimaryDevice)
	if err := s.CreateAccount(t.Context(), a, d, newKeys(1, 0, 0)); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a, d
}

// addDevice links one more device with signed and last-resort keys.
func addDevice(t *testing.T, s store.Store, acct types.AccountID) store.Device {
	t.Helper()
	d := newDevice(acct, 0)
	id, err := s.AddDevice(t.Context(), d, newKeys(1, 0, 0), 10)
	if err != nil {
		t.Fatalf("AddDevice: %v", err)
	}
	d.ID = id
	return d
}

func addr(acct types.AccountID, dev types.DeviceID) types.Address {
	return types.Address{Account: acct, Device: dev}
}

// newAppend is a message from sender to the given devices of dest, with
// the message id msg.
func newAppend(sender types.Address, msg types.MessageID, dest types.AccountID, devs ...types.DeviceID) *store.Append {
	a := &store.Append{Sender: sender, MessageID: msg, Destination: dest}
	for _, d := range devs {
		a.Envelopes = append(a.Envelopes, store.Envelope{
			Account:    dest,
			Device:     d,
			MessageID:  msg,
			Sender:     sender,
			Type:       mrand.Uint32N(8) + 1,
			Content:    randBytes(40 + mrand.IntN(40)),
			ClientTime: t0.Add(-time.Second),
			ServerTime: t0,
			ExpiresAt:  t0.Add(30 * 24 * time.Hour),
		})
	}
	return a
}

const (
	bigQueue = 1000
	window   = time.Hour
)

// appendOK appends the batch and fails unless every Append was stored.
func appendOK(t *testing.T, s store.Store, now time.Time, batch ...*store.Append) {
	t.Helper()
	if err := s.Append(t.Context(), batch, bigQueue, window, now); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for i, a := range batch {
		if a.Err != nil || a.Duplicate {
			t.Fatalf("Append %d: Err=%v Duplicate=%v, want stored", i, a.Err, a.Duplicate)
		}
	}
}

// fetchAll returns every envelope queued for the device.
func fetchAll(t *testing.T, s store.Store, acct types.AccountID, dev types.DeviceID) []store.Envelope {
	t.Helper()
	es, err := s.Fetch(t.Context(), acct, dev, 0, 10000)
	if err != nil {
		t.Fatalf("Fetch %s.%d: %v", acct, dev, err)
	}
	return es
}

func envelopeIDs(es []store.Envelope) []uint64 {
	ids := make([]uint64, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func messageIDs(es []store.Envelope) []types.MessageID {
	ids := make([]types.MessageID, len(es))
	for i, e := range es {
		ids[i] = e.MessageID
	}
	return ids
}

func queueLength(t *testing.T, s store.Store, acct types.AccountID, dev types.DeviceID) int {
	t.Helper()
	n, err := s.QueueLength(t.Context(), acct, dev)
	if err != nil {
		t.Fatalf("QueueLength %s.%d: %v", acct, dev, err)
	}
	return n
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %x, want %x", what, got, want)
	}
}

func sameDevice(t *testing.T, got, want store.Device) {
	t.Helper()
	if got.Account != want.Account || got.ID != want.ID || got.RegistrationID != want.RegistrationID {
		t.Errorf("device: got %s.%d reg %d, want %s.%d reg %d",
			got.Account, got.ID, got.RegistrationID, want.Account, want.ID, want.RegistrationID)
	}
	sameBytes(t, "AuthKey", got.AuthKey, want.AuthKey)
	sameBytes(t, "IdentityKey", got.IdentityKey, want.IdentityKey)
	sameBytes(t, "Name", got.Name, want.Name)
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "LastSeen", got.LastSeen, want.LastSeen)
}

func samePreKey(t *testing.T, what string, got, want store.PreKey) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("%s: id %d, want %d", what, got.ID, want.ID)
	}
	sameBytes(t, what+" public", got.Public, want.Public)
	sameBytes(t, what+" signature", got.Signature, want.Signature)
}

// gone checks that a device has no prekeys and no queue: either the store
// says there is no such device, or it reports zero.
func gone(t *testing.T, s store.Store, acct types.AccountID, dev types.DeviceID) {
	t.Helper()
	ctx := t.Context()
	if es := fetchAll(t, s, acct, dev); len(es) != 0 {
		t.Errorf("device %d: %d envelopes still queued", dev, len(es))
	}
	if n, err := s.QueueLength(ctx, acct, dev); err != nil && !errors.Is(err, store.ErrNotFound) || err == nil && n != 0 {
		t.Errorf("device %d: QueueLength = %d, %v; want 0 or ErrNotFound", dev, n, err)
	}
	if ec, ky, err := s.PreKeyCounts(ctx, acct, dev); err != nil && !errors.Is(err, store.ErrNotFound) || err == nil && (ec != 0 || ky != 0) {
		t.Errorf("device %d: PreKeyCounts = %d, %d, %v; want none", dev, ec, ky, err)
	}
	if _, err := s.Device(ctx, acct, dev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("device %d: Device: %v, want ErrNotFound", dev, err)
	}
	if _, err := s.ClaimBundle(ctx, acct, dev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("device %d: ClaimBundle: %v, want ErrNotFound", dev, err)
	}
}

// parallel runs f n times at once and waits for all of them.
func parallel(n int, f func(i int)) {
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			f(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
}

func sortIDs[T ~[16]byte](ids []T) []T {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b T) int { return bytes.Compare(a[:], b[:]) })
	return ids
}
