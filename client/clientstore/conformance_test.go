package clientstore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// The conformance suite: the same tests of the e2ee store contracts run
// against e2ee's in-memory stores and against a Store, so both behave the
// same where the contracts say what to do. Where the trust policy
// deliberately differs (the Store blocks sending to a changed identity
// until the user acknowledges it, and accepts a changed identity when
// receiving, as Signal's apps do), the backend says so and the test
// checks each side of it.

// backend is one implementation of every e2ee store, with ways to put
// prekeys into it.
type backend struct {
	name     string
	st       session.Stores
	sk       senderkey.Store
	identity curve.KeyPair
	regID    uint32

	newPreKey       func(t *testing.T) session.PreKeyRecord
	newSignedPreKey func(t *testing.T) session.SignedPreKeyRecord
	newKyberPreKey  func(t *testing.T, lastResort bool) session.KyberPreKeyRecord

	// acknowledge ends the block on sending to a changed identity; nil
	// for a store without that block.
	acknowledge func(t *testing.T, addr session.Address, key curve.PublicKey)
	// receivesFromChanged: a changed identity is trusted for receiving.
	receivesFromChanged bool
}

var backends = []struct {
	name string
	make func(t *testing.T, name string) *backend
}{
	{"memory", newMemoryBackend},
	{"clientstore", newClientBackend},
}

// forEach runs test as a subtest against every backend.
func forEach(t *testing.T, test func(t *testing.T, b *backend)) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) { test(t, bk.make(t, "")) })
	}
}

// serviceName returns a fresh account name in UUID form, so that the
// addresses field of session starts is defined.
func serviceName() string { return types.NewAccountID().String() }

func newMemoryBackend(t *testing.T, name string) *backend {
	id, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if name == "" {
		name = serviceName()
	}
	m := session.NewMemoryStore(id, 4242)
	nextID := uint32(1)
	b := &backend{name: "memory", st: m.Stores(session.Address{Name: name, DeviceID: 1}), sk: &senderkey.MemoryStore{}, identity: id, regID: 4242}
	b.newPreKey = func(t *testing.T) session.PreKeyRecord {
		nextID++
		r, err := session.NewPreKey(rand.Reader, nextID)
		if err != nil {
			t.Fatal(err)
		}
		m.StorePreKey(r)
		return r
	}
	b.newSignedPreKey = func(t *testing.T) session.SignedPreKeyRecord {
		nextID++
		r, err := session.NewSignedPreKey(rand.Reader, id, nextID, t0)
		if err != nil {
			t.Fatal(err)
		}
		m.StoreSignedPreKey(r)
		return r
	}
	b.newKyberPreKey = func(t *testing.T, lastResort bool) session.KyberPreKeyRecord {
		nextID++
		r, err := session.NewKyberPreKey(rand.Reader, id, nextID, t0, lastResort)
		if err != nil {
			t.Fatal(err)
		}
		m.StoreKyberPreKey(r)
		return r
	}
	return b
}

func newClientBackend(t *testing.T, name string) *backend {
	st, _ := newStore(t)
	a, err := NewAccount("https://parley.example", "")
	if err != nil {
		t.Fatal(err)
	}
	a.ID, a.Device = types.NewAccountID(), 1
	if name != "" {
		a.ID, err = types.ParseAccountID(name)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SaveAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	stores, err := st.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: "clientstore", st: stores, sk: st, identity: a.Identity, regID: a.RegistrationID, receivesFromChanged: true}
	b.newPreKey = func(t *testing.T) session.PreKeyRecord {
		rs, err := st.GeneratePreKeys(ctx, 1, t0)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	b.newSignedPreKey = func(t *testing.T) session.SignedPreKeyRecord {
		spk, _, err := st.RotateSignedPreKeys(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		return spk
	}
	b.newKyberPreKey = func(t *testing.T, lastResort bool) session.KyberPreKeyRecord {
		if lastResort {
			_, k, err := st.RotateSignedPreKeys(ctx, t0)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		rs, err := st.GenerateKyberPreKeys(ctx, 1, t0)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	b.acknowledge = func(t *testing.T, addr session.Address, key curve.PublicKey) {
		if err := st.AcknowledgeIdentity(ctx, addr, key); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func newKey(t *testing.T) curve.PublicKey {
	kp, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp.Public
}

func trusted(t *testing.T, b *backend, addr session.Address, key curve.PublicKey, dir session.Direction) bool {
	t.Helper()
	ok, err := b.st.Identity.IsTrustedIdentity(ctx, addr, key, dir)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestConformanceLocalIdentity(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		kp, err := b.st.Identity.IdentityKeyPair(ctx)
		if err != nil || kp != b.identity {
			t.Fatalf("IdentityKeyPair = %v, %v; want the configured pair", kp.Public, err)
		}
		reg, err := b.st.Identity.LocalRegistrationID(ctx)
		if err != nil || reg != b.regID {
			t.Fatalf("LocalRegistrationID = %d, %v; want %d", reg, err, b.regID)
		}
	})
}

func TestConformanceTrustOnFirstUse(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		addr := session.Address{Name: serviceName(), DeviceID: 2}
		k1, k2 := newKey(t), newKey(t)
		if _, ok, err := b.st.Identity.Identity(ctx, addr); ok || err != nil {
			t.Fatalf("Identity of a stranger: ok=%v err=%v", ok, err)
		}
		for _, dir := range []session.Direction{session.Sending, session.Receiving} {
			if !trusted(t, b, addr, k1, dir) {
				t.Fatalf("first key untrusted for direction %d", dir)
			}
		}
		if changed, err := b.st.Identity.SaveIdentity(ctx, addr, k1); changed || err != nil {
			t.Fatalf("first SaveIdentity: changed=%v err=%v", changed, err)
		}
		if changed, err := b.st.Identity.SaveIdentity(ctx, addr, k1); changed || err != nil {
			t.Fatalf("same key again: changed=%v err=%v", changed, err)
		}
		if got, ok, err := b.st.Identity.Identity(ctx, addr); !ok || err != nil || got != k1 {
			t.Fatalf("Identity = %x, %v, %v; want k1", got, ok, err)
		}
		if !trusted(t, b, addr, k1, session.Sending) {
			t.Fatal("saved key untrusted for sending")
		}
		if trusted(t, b, addr, k2, session.Sending) {
			t.Fatal("a different key is trusted for sending")
		}
		if got := trusted(t, b, addr, k2, session.Receiving); got != b.receivesFromChanged {
			t.Fatalf("different key trusted for receiving = %v, want %v", got, b.receivesFromChanged)
		}
		// Other devices of the same account, and other accounts, are apart.
		other := session.Address{Name: addr.Name, DeviceID: 3}
		if _, ok, _ := b.st.Identity.Identity(ctx, other); ok {
			t.Fatal("identity leaked to another device")
		}

		if changed, err := b.st.Identity.SaveIdentity(ctx, addr, k2); !changed || err != nil {
			t.Fatalf("SaveIdentity of a new key: changed=%v err=%v", changed, err)
		}
		if got, _, _ := b.st.Identity.Identity(ctx, addr); got != k2 {
			t.Fatal("Identity does not return the new key")
		}
		if trusted(t, b, addr, k1, session.Sending) {
			t.Fatal("the replaced key is still trusted for sending")
		}
		if b.acknowledge != nil {
			if trusted(t, b, addr, k2, session.Sending) {
				t.Fatal("a changed key is trusted for sending before the user acknowledged it")
			}
			b.acknowledge(t, addr, k2)
		}
		if !trusted(t, b, addr, k2, session.Sending) {
			t.Fatal("the new key is untrusted for sending after saving (and acknowledging) it")
		}
	})
}

func TestConformanceSessions(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		bob := newMemoryBackend(t, "")
		bobAddr := bob.st.Local
		if rec, err := b.st.Sessions.LoadSession(ctx, bobAddr); rec != nil || err != nil {
			t.Fatalf("LoadSession of a stranger = %v, %v", rec, err)
		}
		pre := bob.newPreKey(t)
		bundle := session.NewBundle(bob.regID, 1, bob.identity.Public, &pre, bob.newSignedPreKey(t), bob.newKyberPreKey(t, false))
		if err := session.ProcessBundle(ctx, b.st, bobAddr, bundle, t0, nil); err != nil {
			t.Fatal(err)
		}
		rec, err := b.st.Sessions.LoadSession(ctx, bobAddr)
		if err != nil || !rec.HasSession() {
			t.Fatalf("LoadSession after ProcessBundle: %v, %v", rec, err)
		}
		if id, _ := rec.RemoteIdentity(); id != bob.identity.Public {
			t.Fatal("stored session has the wrong remote identity")
		}
		want, _ := rec.MarshalBinary()

		// The loaded record belongs to the caller.
		rec.ArchiveCurrentState()
		again, err := b.st.Sessions.LoadSession(ctx, bobAddr)
		if err != nil || !again.HasSession() {
			t.Fatal("changing a loaded record changed the stored one")
		}
		if got, _ := again.MarshalBinary(); !bytes.Equal(got, want) {
			t.Fatal("loading twice gives different records")
		}
		// So does the stored one, after StoreSession.
		if err := b.st.Sessions.StoreSession(ctx, bobAddr, again); err != nil {
			t.Fatal(err)
		}
		again.ArchiveCurrentState()
		if r, _ := b.st.Sessions.LoadSession(ctx, bobAddr); !r.HasSession() {
			t.Fatal("the store kept the caller's record")
		}
		// Storing an archived record replaces the current one.
		if err := b.st.Sessions.StoreSession(ctx, bobAddr, again); err != nil {
			t.Fatal(err)
		}
		if r, _ := b.st.Sessions.LoadSession(ctx, bobAddr); r == nil || r.HasSession() {
			t.Fatal("StoreSession did not replace the record")
		}
		if r, _ := b.st.Sessions.LoadSession(ctx, session.Address{Name: bobAddr.Name, DeviceID: 2}); r != nil {
			t.Fatal("session leaked to another device")
		}
	})
}

func TestConformancePreKeys(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		if _, err := b.st.PreKeys.LoadPreKey(ctx, 999); !errors.Is(err, session.ErrNoPreKey) {
			t.Fatalf("LoadPreKey(unknown) = %v, want ErrNoPreKey", err)
		}
		pk := b.newPreKey(t)
		got, err := b.st.PreKeys.LoadPreKey(ctx, pk.ID)
		if err != nil || got != pk {
			t.Fatalf("LoadPreKey = %+v, %v; want the stored key", got.ID, err)
		}
		if err := b.st.PreKeys.RemovePreKey(ctx, pk.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.st.PreKeys.LoadPreKey(ctx, pk.ID); !errors.Is(err, session.ErrNoPreKey) {
			t.Fatalf("LoadPreKey after removal = %v", err)
		}
		if err := b.st.PreKeys.RemovePreKey(ctx, pk.ID); err != nil {
			t.Fatalf("removing twice: %v", err)
		}
	})
}

func TestConformanceSignedPreKeys(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		if _, err := b.st.SignedPreKeys.LoadSignedPreKey(ctx, 999); !errors.Is(err, session.ErrNoPreKey) {
			t.Fatalf("LoadSignedPreKey(unknown) = %v, want ErrNoPreKey", err)
		}
		spk := b.newSignedPreKey(t)
		got, err := b.st.SignedPreKeys.LoadSignedPreKey(ctx, spk.ID)
		if err != nil || got.ID != spk.ID || got.KeyPair != spk.KeyPair || got.Signature != spk.Signature || !got.Timestamp.Equal(spk.Timestamp) {
			t.Fatalf("LoadSignedPreKey = %+v, %v; want %+v", got, err, spk)
		}
		if !b.identity.Public.Verify(got.KeyPair.Public.Bytes(), got.Signature[:]) {
			t.Fatal("signed prekey signature does not verify")
		}
	})
}

func TestConformanceKyberPreKeys(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		if _, err := b.st.KyberPreKeys.LoadKyberPreKey(ctx, 999); !errors.Is(err, session.ErrNoPreKey) {
			t.Fatalf("LoadKyberPreKey(unknown) = %v", err)
		}
		if err := b.st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 999, 1, newKey(t)); !errors.Is(err, session.ErrNoPreKey) {
			t.Fatalf("MarkKyberPreKeyUsed(unknown) = %v", err)
		}
		same := func(got, want session.KyberPreKeyRecord) bool {
			return got.ID == want.ID && got.LastResort == want.LastResort && got.Signature == want.Signature &&
				bytes.Equal(got.KeyPair.PublicKey().Bytes(), want.KeyPair.PublicKey().Bytes()) &&
				bytes.Equal(got.KeyPair.Seed(), want.KeyPair.Seed())
		}
		one := b.newKyberPreKey(t, false)
		if got, err := b.st.KyberPreKeys.LoadKyberPreKey(ctx, one.ID); err != nil || !same(got, one) {
			t.Fatalf("LoadKyberPreKey(one-time) = %v; not the stored key", err)
		}
		base := newKey(t)
		if err := b.st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, one.ID, 7, base); err != nil {
			t.Fatal(err)
		}
		if _, err := b.st.KyberPreKeys.LoadKyberPreKey(ctx, one.ID); !errors.Is(err, session.ErrNoPreKey) {
			t.Fatalf("one-time Kyber key still there after use: %v", err)
		}

		last := b.newKyberPreKey(t, true)
		if got, err := b.st.KyberPreKeys.LoadKyberPreKey(ctx, last.ID); err != nil || !same(got, last) || !got.LastResort {
			t.Fatalf("LoadKyberPreKey(last resort) = %v; not the stored key", err)
		}
		if err := b.st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, last.ID, 7, base); err != nil {
			t.Fatal(err)
		}
		if err := b.st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, last.ID, 7, base); !errors.Is(err, session.ErrPreKeyReused) {
			t.Fatalf("replayed session start = %v, want ErrPreKeyReused", err)
		}
		if err := b.st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, last.ID, 8, base); err != nil {
			t.Fatalf("another signed prekey: %v", err)
		}
		if err := b.st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, last.ID, 7, newKey(t)); err != nil {
			t.Fatalf("another base key: %v", err)
		}
		if _, err := b.st.KyberPreKeys.LoadKyberPreKey(ctx, last.ID); err != nil {
			t.Fatalf("last-resort key gone after use: %v", err)
		}
	})
}

func TestConformanceSenderKeys(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		self := b.st.Local
		var dist [16]byte
		copy(dist[:], "distribution-one")
		if r, err := b.sk.SenderKey(ctx, self, dist); r != nil || err != nil {
			t.Fatalf("SenderKey of nothing = %v, %v", r, err)
		}
		skdm, err := senderkey.CreateDistribution(ctx, b.sk, self, dist, nil)
		if err != nil {
			t.Fatal(err)
		}
		before, err := b.sk.SenderKey(ctx, self, dist)
		if err != nil || before == nil {
			t.Fatalf("SenderKey after CreateDistribution = %v, %v", before, err)
		}
		want, _ := before.MarshalBinary()

		peer := newMemoryBackend(t, "")
		if err := senderkey.ProcessDistribution(ctx, peer.sk, self, skdm); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			ct, err := senderkey.Encrypt(ctx, b.sk, self, dist, fmt.Appendf(nil, "group message %d", i), nil)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := senderkey.Decrypt(ctx, peer.sk, self, ct)
			if err != nil || string(pt) != fmt.Sprintf("group message %d", i) {
				t.Fatalf("Decrypt = %q, %v", pt, err)
			}
		}
		if got, _ := before.MarshalBinary(); !bytes.Equal(got, want) {
			t.Fatal("a loaded record changed when the store's changed")
		}
		after, _ := b.sk.SenderKey(ctx, self, dist)
		if got, _ := after.MarshalBinary(); bytes.Equal(got, want) {
			t.Fatal("Encrypt did not advance the stored chain")
		}
		var other [16]byte
		if r, _ := b.sk.SenderKey(ctx, self, other); r != nil {
			t.Fatal("sender key leaked to another distribution id")
		}
	})
}

// TestConformanceConversation runs real sessions in both roles against
// in-memory peers: the backend starts one (Alice) and answers one (Bob),
// with messages in both directions and out of order.
func TestConformanceConversation(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		t.Run("initiator", func(t *testing.T) {
			peer := newMemoryBackend(t, "")
			pre := peer.newPreKey(t)
			bundle := session.NewBundle(peer.regID, 1, peer.identity.Public, &pre, peer.newSignedPreKey(t), peer.newKyberPreKey(t, false))
			if err := session.ProcessBundle(ctx, b.st, peer.st.Local, bundle, t0, nil); err != nil {
				t.Fatal(err)
			}
			chat(t, b.st, peer.st)
		})
		t.Run("responder", func(t *testing.T) {
			peer := newMemoryBackend(t, "")
			pre := b.newPreKey(t)
			bundle := session.NewBundle(b.regID, 1, b.identity.Public, &pre, b.newSignedPreKey(t), b.newKyberPreKey(t, false))
			if err := session.ProcessBundle(ctx, peer.st, b.st.Local, bundle, t0, nil); err != nil {
				t.Fatal(err)
			}
			chat(t, peer.st, b.st)
			if _, err := b.st.PreKeys.LoadPreKey(ctx, pre.ID); !errors.Is(err, session.ErrNoPreKey) {
				t.Fatalf("one-time prekey not removed after the session start: %v", err)
			}
		})
	})
}

// chat exchanges messages between a (who processed b's bundle) and b:
// a's first message starts the session; some arrive out of order.
func chat(t *testing.T, a, b session.Stores) {
	t.Helper()
	send := func(from, to session.Stores, text string) session.Ciphertext {
		t.Helper()
		c, err := session.Encrypt(ctx, from, to.Local, []byte(text), t0)
		if err != nil {
			t.Fatalf("Encrypt %q: %v", text, err)
		}
		return c
	}
	recv := func(at, from session.Stores, c session.Ciphertext, want string) {
		t.Helper()
		pt, err := session.Decrypt(ctx, at, from.Local, c)
		if err != nil || string(pt) != want {
			t.Fatalf("Decrypt = %q, %v; want %q", pt, err, want)
		}
	}
	recv(b, a, send(a, b, "hello"), "hello")
	recv(a, b, send(b, a, "hi there"), "hi there")
	m1, m2, m3 := send(a, b, "one"), send(a, b, "two"), send(a, b, "three")
	recv(b, a, m3, "three")
	recv(b, a, m1, "one")
	r := send(b, a, "reply")
	recv(b, a, m2, "two")
	recv(a, b, r, "reply")
	if _, err := session.Decrypt(ctx, b, a.Local, m2); !errors.Is(err, session.ErrDuplicate) {
		t.Fatalf("replay = %v, want ErrDuplicate", err)
	}
}
