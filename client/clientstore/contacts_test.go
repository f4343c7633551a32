package clientstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

func TestContacts(t *testing.T) {
	st, _ := newStore(t)
	ann, bob := types.NewAccountID(), types.NewAccountID()
	for _, c := range []Contact{
		{Account: bob, Phone: "+4915112345678", Name: "bob"},
		{Account: ann, Name: "Ann"},
	} {
		if err := st.SaveContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := st.Contact(ctx, bob); err != nil || c.Name != "bob" || c.Phone != "+4915112345678" {
		t.Fatalf("Contact = %+v, %v", c, err)
	}
	if c, err := st.ContactByPhone(ctx, "+4915112345678"); err != nil || c.Account != bob {
		t.Fatalf("ContactByPhone = %+v, %v", c, err)
	}
	// The number moves to Ann: Bob keeps his name, loses the number.
	if err := st.SaveContact(ctx, Contact{Account: ann, Phone: "+4915112345678", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.ContactByPhone(ctx, "+4915112345678"); err != nil || c.Account != ann {
		t.Fatalf("number after the move = %+v, %v", c, err)
	}
	if c, _ := st.Contact(ctx, bob); c.Phone != "" || c.Name != "bob" {
		t.Fatalf("Bob after the move = %+v", c)
	}
	all, err := st.Contacts(ctx)
	if err != nil || len(all) != 2 || all[0].Account != ann || all[1].Account != bob {
		t.Fatalf("Contacts = %+v, %v; want Ann then bob", all, err)
	}
	if _, err := st.Contact(ctx, types.NewAccountID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown contact = %v", err)
	}
	if _, err := st.ContactByPhone(ctx, "+4915100000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown phone = %v", err)
	}
	for _, c := range []Contact{{Name: "nobody"}, {Account: bob, Phone: "015112345678"}, {Account: bob, Phone: "+49 151 1234567"}} {
		if err := st.SaveContact(ctx, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveContact(%+v) = %v, want ErrInvalid", c, err)
		}
	}
}

func TestPeerIdentitiesAndVerification(t *testing.T) {
	st, _ := newStore(t)
	bob := types.NewAccountID()
	d1 := session.Address{Name: bob.String(), DeviceID: 1}
	d2 := session.Address{Name: bob.String(), DeviceID: 2}
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	for _, x := range []struct {
		a session.Address
		k [32]byte
	}{{d2, k2}, {d1, k1}} {
		if _, err := st.SaveIdentity(ctx, x.a, x.k); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := st.PeerIdentities(ctx, bob)
	if err != nil || len(ids) != 2 || ids[0].Address != d1 || ids[1].Address != d2 || ids[0].Key != k1 ||
		ids[0].Trust != TrustUnverified || ids[0].FirstSeen.IsZero() || !ids[0].ChangedAt.IsZero() {
		t.Fatalf("PeerIdentities = %+v, %v", ids, err)
	}

	// The user compares safety numbers for device 1.
	if err := st.VerifyIdentity(ctx, d1, k3, true); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("verifying a key not on record = %v", err)
	}
	if err := st.VerifyIdentity(ctx, d1, k1, true); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.PeerIdentity(ctx, d1); p.Trust != TrustVerified {
		t.Fatalf("trust after verifying = %v", p.Trust)
	}
	// A verified key that changes is a change like any other.
	if changed, _ := st.SaveIdentity(ctx, d1, k3); !changed {
		t.Fatal("change of a verified key not reported")
	}
	p, _ := st.PeerIdentity(ctx, d1)
	if p.Trust != TrustChanged || p.Key != k3 || p.ChangedAt.IsZero() || !p.FirstSeen.Equal(ids[0].FirstSeen) {
		t.Fatalf("after change: %+v", p)
	}
	// Verifying the new key also acknowledges it.
	if err := st.VerifyIdentity(ctx, d1, k3, true); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.IsTrustedIdentity(ctx, d1, k3, session.Sending); !ok {
		t.Fatal("verified key untrusted")
	}
	if err := st.VerifyIdentity(ctx, d1, k3, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.PeerIdentity(ctx, d1); p.Trust != TrustUnverified {
		t.Fatalf("trust after unverifying = %v", p.Trust)
	}
	// Verification of a device without a key records the key.
	d3 := session.Address{Name: bob.String(), DeviceID: 3}
	if err := st.VerifyIdentity(ctx, d3, k2, true); err != nil {
		t.Fatal(err)
	}
	if p, err := st.PeerIdentity(ctx, d3); err != nil || p.Key != k2 || p.Trust != TrustVerified {
		t.Fatalf("PeerIdentity(d3) = %+v, %v", p, err)
	}
	if err := st.AcknowledgeIdentity(ctx, session.Address{Name: "nobody", DeviceID: 1}, k1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("acknowledging a stranger = %v", err)
	}
	if _, err := st.PeerIdentity(ctx, session.Address{Name: "nobody", DeviceID: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PeerIdentity of a stranger = %v", err)
	}
}

func TestSessionDevices(t *testing.T) {
	alice := newDevice(t)
	bobName := types.NewAccountID().String()
	for _, dev := range []uint32{3, 1, 2} {
		bob := newMemoryBackend(t, bobName)
		pre := bob.newPreKey(t)
		b := session.NewBundle(bob.regID, dev, bob.identity.Public, &pre, bob.newSignedPreKey(t), bob.newKyberPreKey(t, false))
		addr := session.Address{Name: bobName, DeviceID: dev}
		if err := session.ProcessBundle(ctx, alice.stores, addr, b, t0, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := alice.st.SessionDevices(ctx, bobName)
	if err != nil || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("SessionDevices = %v, %v", got, err)
	}
	if err := alice.st.DeleteSession(ctx, session.Address{Name: bobName, DeviceID: 2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := alice.st.SessionDevices(ctx, bobName); len(got) != 2 || got[1] != 3 {
		t.Fatalf("after removing device 2: %v", got)
	}
	if err := alice.st.DeleteSessions(ctx, bobName); err != nil {
		t.Fatal(err)
	}
	if got, _ := alice.st.SessionDevices(ctx, bobName); len(got) != 0 {
		t.Fatalf("after removing all: %v", got)
	}
}

func TestAccount(t *testing.T) {
	st, path := newStore(t)
	if _, err := st.Account(ctx); !errors.Is(err, ErrNoAccount) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Account of a new store = %v", err)
	}
	if _, err := st.Stores(ctx); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("Stores without account = %v", err)
	}
	a, err := NewAccount("https://parley.example", "+4915112345678")
	if err != nil {
		t.Fatal(err)
	}
	if a.RegistrationID < 1 || a.RegistrationID > MaxRegistrationID {
		t.Fatalf("registration id %d", a.RegistrationID)
	}
	// Saved before registration, when the server has not answered yet.
	if err := st.SaveAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stores(ctx); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("Stores before registration = %v", err)
	}
	a.ID, a.Device = types.NewAccountID(), 2
	a.LinkedBy[0], a.LinkSignature = 7, bytes.Repeat([]byte{9}, 64) // a linked device's vouching
	if err := st.SaveAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openAt(t, path)
	got, err := st.Account(ctx)
	if err != nil || got.ID != a.ID || got.Device != 2 || got.Phone != a.Phone || got.ServerURL != a.ServerURL ||
		got.RegistrationID != a.RegistrationID || !got.AuthKey.Equal(a.AuthKey) || got.Identity != a.Identity ||
		got.LinkedBy != a.LinkedBy || !bytes.Equal(got.LinkSignature, a.LinkSignature) {
		t.Fatalf("Account after reopen = %v, %v", got, err)
	}
	stores, err := st.Stores(ctx)
	if err != nil || stores.Local != (session.Address{Name: a.ID.String(), DeviceID: 2}) {
		t.Fatalf("Stores.Local = %v, %v", stores.Local, err)
	}
	if s := a.String(); len(s) > 80 {
		t.Fatalf("Account.String too long, keys in it? %q", s)
	}
	bad := a
	bad.RegistrationID = MaxRegistrationID + 1
	if err := st.SaveAccount(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad registration id = %v", err)
	}
	bad = a
	bad.Identity.Public[0] ^= 1
	if err := st.SaveAccount(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("mismatched identity = %v", err)
	}
}

// TestProfileNames: the account's and a contact's profile names survive
// a reopen, and are bounded.
func TestProfileNames(t *testing.T) {
	st, path := newStore(t)
	a := register(t, st, 1)
	a.ProfileName = "Alice 🌻"
	if err := st.SaveAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	peer := types.NewAccountID()
	if err := st.SaveContact(ctx, Contact{Account: peer, Name: "Bob (work)", ProfileName: "Bobby"}); err != nil {
		t.Fatal(err)
	}
	long := Contact{Account: types.NewAccountID(), ProfileName: strings.Repeat("x", MaxProfileName+1)}
	if err := st.SaveContact(ctx, long); !errors.Is(err, ErrInvalid) {
		t.Errorf("over-long profile name: %v, want ErrInvalid", err)
	}
	bad := a
	bad.ProfileName = "\xff"
	if err := st.SaveAccount(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("profile name not UTF-8: %v, want ErrInvalid", err)
	}
	st.Close()
	st = openAt(t, path)
	got, err := st.Account(ctx)
	if err != nil || got.ProfileName != "Alice 🌻" {
		t.Fatalf("account after reopen: %q, %v", got.ProfileName, err)
	}
	ct, err := st.Contact(ctx, peer)
	if err != nil || ct.Name != "Bob (work)" || ct.ProfileName != "Bobby" {
		t.Fatalf("contact after reopen: %+v, %v", ct, err)
	}
}
