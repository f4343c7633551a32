package interop

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"testing"
)

// These tests prove the oracle itself: libsignal talking to libsignal through
// it, every operation once, and failures reported rather than fatal. The Go
// implementation's interop tests build on the same harness.

// must(f())(t) is f's value, failing the test if f returned an error. (Go
// passes a multi-value call only as the sole argument, hence the shape.)
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// oracleClass returns the class of an *OracleError, failing the test on any
// other outcome.
func oracleClass(t *testing.T, err error) string {
	t.Helper()
	var oe *OracleError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want an *OracleError", err)
	}
	if oe.Class == "" || oe.Message == "" {
		t.Fatalf("error %+v lacks a class or a message", oe)
	}
	return oe.Class
}

func send(t *testing.T, o *Oracle, from Party, to Party, msg string, wantType int) Ciphertext {
	t.Helper()
	c := must(o.Encrypt(from.Party, to.Address(), []byte(msg)))(t)
	if c.Type != wantType {
		t.Fatalf("%s -> %s %q: type %d, want %d", from.Party, to.Party, msg, c.Type, wantType)
	}
	return c
}

func receive(t *testing.T, o *Oracle, at Party, from Party, c Ciphertext, want string) {
	t.Helper()
	got := must(o.Decrypt(at.Party, from.Address(), c))(t)
	if string(got) != want {
		t.Fatalf("%s decrypted %q, want %q", at.Party, got, want)
	}
}

// establish makes alice start a session with bob from a fresh bundle.
func establish(t *testing.T, o *Oracle, alice, bob Party, oneTime bool) Bundle {
	t.Helper()
	b := must(o.Bundle(bob.Party, oneTime))(t)
	check(t, o.ProcessBundle(alice.Party, bob.Address(), b))
	return b
}

func TestSessionBothWays(t *testing.T) {
	o := Start(t)
	for _, oneTime := range []bool{true, false} {
		t.Run(fmt.Sprintf("oneTime=%v", oneTime), func(t *testing.T) {
			alice := must(o.NewParty(fmt.Sprintf("alice-%v", oneTime), 1))(t)
			bob := must(o.NewParty(fmt.Sprintf("bob-%v", oneTime), 2))(t)
			b := establish(t, o, alice, bob, oneTime)

			if (b.PreKeyID != nil) != oneTime || (len(b.PreKey) == 33) != oneTime {
				t.Fatalf("bundle one-time prekey %v/%d bytes, want present=%v", b.PreKeyID, len(b.PreKey), oneTime)
			}
			if len(b.KyberPreKey) != 1569 || b.KyberPreKey[0] != 0x08 || len(b.SignedPreKey) != 33 || b.SignedPreKey[0] != 0x05 {
				t.Fatalf("bundle key encodings: kyber %d bytes type %#x, signed prekey %d bytes", len(b.KyberPreKey), b.KyberPreKey[0], len(b.SignedPreKey))
			}
			if !bytes.Equal(b.IdentityKey, bob.IdentityKey) || b.RegistrationID != bob.RegistrationID || b.DeviceID != 2 {
				t.Fatal("bundle does not carry bob's identity, registration id and device id")
			}

			// Until bob answers, every message alice sends is a PreKey message.
			var first []Ciphertext
			for i := range 3 {
				first = append(first, send(t, o, alice, bob, fmt.Sprintf("a%d", i), TypePreKey))
			}
			in := must(o.Inspect(first[0]))(t)
			if in.VersionByte != 0x44 || in.MessageVersion != 4 || in.RegistrationID != alice.RegistrationID ||
				!bytes.Equal(in.IdentityKey, alice.IdentityKey) || in.SignedPreKeyID != b.SignedPreKeyID ||
				in.KyberPreKeyID == nil || *in.KyberPreKeyID != b.KyberPreKeyID || len(in.KyberCiphertext) != 1569 ||
				len(in.BaseKey) != 33 || in.Message == nil || in.Message.Counter != 0 || len(in.Message.MAC) != 8 {
				t.Fatalf("PreKey message inspection: %+v", in)
			}
			if oneTime != (in.PreKeyID != nil) || (oneTime && *in.PreKeyID != *b.PreKeyID) {
				t.Fatalf("PreKey message prekey id %v, bundle's %v", in.PreKeyID, b.PreKeyID)
			}
			// Delivered out of order, all still decrypt.
			receive(t, o, bob, alice, first[2], "a2")
			receive(t, o, bob, alice, first[0], "a0")
			receive(t, o, bob, alice, first[1], "a1")

			used := must(o.KyberUsed(bob.Party))(t)
			if len(used) != 1 || used[0].KyberPreKeyID != b.KyberPreKeyID || used[0].SignedPreKeyID != b.SignedPreKeyID || !bytes.Equal(used[0].BaseKey, in.BaseKey) {
				t.Fatalf("markKyberPreKeyUsed calls %+v, want one (all three share a base key) for kyber %d / signed %d / the message's base key", used, b.KyberPreKeyID, b.SignedPreKeyID)
			}

			// Bob's answers are plain SignalMessages and acknowledge the session.
			for i := range 3 {
				c := send(t, o, bob, alice, fmt.Sprintf("b%d", i), TypeWhisper)
				w := must(o.Inspect(c))(t)
				if w.Counter != uint32(i) || len(w.RatchetKey) != 33 || w.VersionByte != 0x44 {
					t.Fatalf("SignalMessage %d inspection: %+v", i, w)
				}
				receive(t, o, alice, bob, c, fmt.Sprintf("b%d", i))
			}
			// Ping-pong: every turn ratchets.
			for i := range 10 {
				from, to := alice, bob
				if i%2 == 1 {
					from, to = bob, alice
				}
				msg := fmt.Sprintf("turn %d", i)
				receive(t, o, to, from, send(t, o, from, to, msg, TypeWhisper), msg)
			}
			// Empty and large payloads.
			for _, n := range []int{0, 1, 15, 16, 17, 4096, 65536} {
				p := bytes.Repeat([]byte{'x'}, n)
				receive(t, o, bob, alice, send(t, o, alice, bob, string(p), TypeWhisper), string(p))
			}

			si := must(o.SessionInfo(alice.Party, bob.Address()))(t)
			if !si.Exists || !si.HasCurrentState || si.LocalRegistrationID != alice.RegistrationID || si.RemoteRegistrationID != bob.RegistrationID || len(si.Record) == 0 {
				t.Fatalf("alice's session info %+v", si)
			}
			if si := must(o.SessionInfo(alice.Party, Address{"nobody", 1}))(t); si.Exists {
				t.Fatal("session info reports a session with nobody")
			}
		})
	}
}

func TestGroup(t *testing.T) {
	o := Start(t)
	alice := must(o.NewParty("alice", 1))(t)
	bob := must(o.NewParty("bob", 1))(t)
	carol := must(o.NewParty("carol", 3))(t)
	const dist = "3f1b2c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"

	skdm := must(o.SKDM(alice.Party, dist))(t)
	si := must(o.InspectSKDM(skdm))(t)
	if si.VersionByte != 0x33 || si.DistributionID != dist || si.Iteration != 0 || len(si.ChainKey) != 32 || len(si.SigningKey) != 33 {
		t.Fatalf("SKDM inspection %+v", si)
	}
	for _, p := range []Party{bob, carol} {
		check(t, o.ProcessSKDM(p.Party, alice.Address(), skdm))
	}
	for i := range 5 {
		msg := fmt.Sprintf("hello group %d", i)
		ct := must(o.GroupEncrypt(alice.Party, dist, []byte(msg)))(t)
		in := must(o.Inspect(Ciphertext{TypeSenderKey, ct}))(t)
		if in.VersionByte != 0x33 || in.DistributionID != dist || in.ChainID != si.ChainID || in.Iteration != uint32(i) || len(in.Signature) != 64 {
			t.Fatalf("SenderKeyMessage %d inspection %+v", i, in)
		}
		// The signature covers everything before it, made with the SKDM's signing key.
		if ok := must(o.Verify(si.SigningKey, ct[:len(ct)-64], in.Signature))(t); !ok {
			t.Fatalf("SenderKeyMessage %d: signature does not verify with the SKDM's signing key", i)
		}
		for _, p := range []Party{bob, carol} {
			if got := must(o.GroupDecrypt(p.Party, alice.Address(), ct))(t); string(got) != msg {
				t.Fatalf("%s decrypted %q, want %q", p.Party, got, msg)
			}
		}
	}
	// Someone who never got the SKDM cannot read it.
	dave := must(o.NewParty("dave", 1))(t)
	ct := must(o.GroupEncrypt(alice.Party, dist, []byte("secret")))(t)
	_, err := o.GroupDecrypt(dave.Party, alice.Address(), ct)
	if c := oracleClass(t, err); c == "BadRequest" {
		t.Fatalf("group decrypt without a sender key: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	o := Start(t)
	alice := must(o.NewParty("alice", 1))(t)
	bob := must(o.NewParty("bob", 1))(t)
	aliceID, bobID := []byte("+14152222222"), []byte("+14153333333")

	fa := must(o.Fingerprint(FingerprintArgs{5200, 2, aliceID, alice.IdentityKey, bobID, bob.IdentityKey}))(t)
	fb := must(o.Fingerprint(FingerprintArgs{5200, 2, bobID, bob.IdentityKey, aliceID, alice.IdentityKey}))(t)
	if !regexp.MustCompile(`^[0-9]{60}$`).MatchString(fa.Displayable) {
		t.Fatalf("displayable %q is not 60 digits", fa.Displayable)
	}
	if fa.Displayable != fb.Displayable {
		t.Fatalf("the two sides see different safety numbers:\n%s\n%s", fa.Displayable, fb.Displayable)
	}
	if bytes.Equal(fa.Scannable, fb.Scannable) {
		t.Fatal("scannable forms are equal; each side's should list itself first")
	}
	if !must(o.FingerprintCompare(fa.Scannable, fb.Scannable))(t) || !must(o.FingerprintCompare(fb.Scannable, fa.Scannable))(t) {
		t.Fatal("the two sides' scannable fingerprints do not match")
	}

	mallory := must(o.NewParty("mallory", 1))(t)
	fm := must(o.Fingerprint(FingerprintArgs{5200, 2, bobID, mallory.IdentityKey, aliceID, alice.IdentityKey}))(t)
	if fm.Displayable == fa.Displayable || must(o.FingerprintCompare(fa.Scannable, fm.Scannable))(t) {
		t.Fatal("a different identity key gives the same safety number")
	}
	// A version mismatch is an error, not a mismatch.
	fv1 := must(o.Fingerprint(FingerprintArgs{5200, 1, bobID, bob.IdentityKey, aliceID, alice.IdentityKey}))(t)
	if _, err := o.FingerprintCompare(fa.Scannable, fv1.Scannable); err == nil {
		t.Fatal("comparing version 2 with version 1 succeeded")
	} else {
		oracleClass(t, err)
	}
}

func TestSignVerify(t *testing.T) {
	o := Start(t)
	alice := must(o.NewParty("alice", 1))(t)
	msg := []byte("the message")
	sig := must(o.Sign(alice.Party, msg))(t)
	if len(sig) != 64 {
		t.Fatalf("signature is %d bytes", len(sig))
	}
	if !must(o.Verify(alice.IdentityKey, msg, sig))(t) {
		t.Fatal("a fresh signature does not verify")
	}
	bad := bytes.Clone(sig)
	bad[10] ^= 1
	if must(o.Verify(alice.IdentityKey, msg, bad))(t) || must(o.Verify(alice.IdentityKey, []byte("another"), sig))(t) {
		t.Fatal("a tampered signature or message verifies")
	}

	// A given private key: the identity is derived from it, and signing with
	// the raw key verifies under that identity.
	priv := make([]byte, 32)
	rand.Read(priv)
	p1 := must(o.NewPartyWith(NewPartyArgs{Name: "k1", DeviceID: 1, IdentityPrivateKey: priv, RegistrationID: 77}))(t)
	p2 := must(o.NewPartyWith(NewPartyArgs{Name: "k1", DeviceID: 2, Party: "k1-2", IdentityPrivateKey: priv}))(t)
	if !bytes.Equal(p1.IdentityKey, p2.IdentityKey) || p1.RegistrationID != 77 || p2.Party != "k1-2" {
		t.Fatalf("parties from one private key: %+v %+v", p1, p2)
	}
	sig = must(o.SignWithKey(priv, msg))(t)
	if !must(o.Verify(p1.IdentityKey, msg, sig))(t) {
		t.Fatal("a signature made with the raw private key does not verify")
	}
}

func TestHKDF(t *testing.T) {
	o := Start(t)
	for _, tc := range []struct {
		length          int
		ikm, info, salt []byte
	}{
		{32, []byte("ikm"), []byte("info"), []byte("salt")},
		{96, []byte("key material"), []byte("WhisperText"), nil},
		{42, bytes.Repeat([]byte{0x0b}, 22), []byte{0xf0, 0xf1, 0xf2}, []byte{0, 1, 2, 3}},
		{1, nil, nil, []byte{}},
	} {
		got := must(o.HKDF(tc.length, tc.ikm, tc.info, tc.salt))(t)
		want := must(hkdf.Key(sha256.New, tc.ikm, tc.salt, string(tc.info), tc.length))(t)
		if !bytes.Equal(got, want) {
			t.Errorf("hkdf(%d, %q, %q, %q) = %x, crypto/hkdf says %x", tc.length, tc.ikm, tc.info, tc.salt, got, want)
		}
	}
}

// TestStateSurvivesRestart exports two parties mid-conversation, restarts the
// oracle, imports them and carries on, both 1:1 and in a group.
func TestStateSurvivesRestart(t *testing.T) {
	const dist = "0d7f2a3e-1111-4222-8333-944455556666"
	o1 := Start(t)
	alice := must(o1.NewParty("alice", 1))(t)
	bob := must(o1.NewParty("bob", 1))(t)
	establish(t, o1, alice, bob, true)
	receive(t, o1, bob, alice, send(t, o1, alice, bob, "before", TypePreKey), "before")
	receive(t, o1, alice, bob, send(t, o1, bob, alice, "reply", TypeWhisper), "reply")
	pending := send(t, o1, alice, bob, "in flight", TypeWhisper)
	check(t, o1.ProcessSKDM(bob.Party, alice.Address(), must(o1.SKDM(alice.Party, dist))(t)))
	aliceState := must(o1.ExportState(alice.Party))(t)
	bobState := must(o1.ExportState(bob.Party))(t)
	check(t, o1.Close())
	if err := o1.Call("version", nil, nil); err == nil {
		t.Fatal("a closed oracle still answers")
	}

	o2 := Start(t)
	if p := must(o2.ImportState("", aliceState))(t); p.Party != "alice" || !bytes.Equal(p.IdentityKey, alice.IdentityKey) || p.RegistrationID != alice.RegistrationID {
		t.Fatalf("imported alice %+v, was %+v", p, alice)
	}
	must(o2.ImportState("", bobState))(t)

	// Importing and exporting again changes nothing.
	var before, after any
	check(t, json.Unmarshal(aliceState, &before))
	check(t, json.Unmarshal(must(o2.ExportState(alice.Party))(t), &after))
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed across import/export:\n%s\n%s", aliceState, must(o2.ExportState(alice.Party))(t))
	}

	receive(t, o2, bob, alice, pending, "in flight")
	receive(t, o2, bob, alice, send(t, o2, alice, bob, "after", TypeWhisper), "after")
	receive(t, o2, alice, bob, send(t, o2, bob, alice, "after too", TypeWhisper), "after too")
	ct := must(o2.GroupEncrypt(alice.Party, dist, []byte("group after")))(t)
	if got := must(o2.GroupDecrypt(bob.Party, alice.Address(), ct))(t); string(got) != "group after" {
		t.Fatalf("group message after restart: %q", got)
	}
	// A party may be imported under another handle, next to the original.
	copyOf := must(o2.ImportState("bob-copy", bobState))(t)
	if copyOf.Party != "bob-copy" || copyOf.Name != "bob" {
		t.Fatalf("imported copy %+v", copyOf)
	}
}

func TestErrors(t *testing.T) {
	o := Start(t)
	alice := must(o.NewParty("alice", 1))(t)
	bob := must(o.NewParty("bob", 1))(t)
	establish(t, o, alice, bob, true)
	first := send(t, o, alice, bob, "hello", TypePreKey)
	receive(t, o, bob, alice, first, "hello")
	reply := send(t, o, bob, alice, "hi", TypeWhisper)
	receive(t, o, alice, bob, reply, "hi")

	fresh := send(t, o, bob, alice, "fresh", TypeWhisper)
	tampered := bytes.Clone(fresh.Ciphertext)
	tampered[len(tampered)-1] ^= 1
	badBundle := must(o.Bundle(bob.Party, false))(t)
	badBundle.KyberPreKeySignature[5] ^= 1
	carol := must(o.NewParty("carol", 1))(t)

	cases := []struct {
		name      string
		call      func() error
		wantClass string // empty: any libsignal class, but not BadRequest
	}{
		{"garbage whisper", func() error {
			_, err := o.Decrypt(bob.Party, alice.Address(), Ciphertext{TypeWhisper, []byte("garbage, not a message at all")})
			return err
		}, ""},
		{"garbage prekey", func() error {
			_, err := o.Decrypt(bob.Party, alice.Address(), Ciphertext{TypePreKey, []byte{0x44, 0xff, 0xff}})
			return err
		}, ""},
		{"tampered MAC", func() error {
			_, err := o.Decrypt(alice.Party, bob.Address(), Ciphertext{TypeWhisper, tampered})
			return err
		}, ""},
		{"replay", func() error { _, err := o.Decrypt(alice.Party, bob.Address(), reply); return err }, "DuplicatedMessage"},
		{"replayed prekey message", func() error { _, err := o.Decrypt(bob.Party, alice.Address(), first); return err }, "DuplicatedMessage"},
		{"no session", func() error { _, err := o.Encrypt(alice.Party, Address{"nobody", 1}, []byte("x")); return err }, ""},
		{"bad kyber signature", func() error { return o.ProcessBundle(carol.Party, bob.Address(), badBundle) }, ""},
		{"invalid device id", func() error { _, err := o.Encrypt(alice.Party, Address{"bob", 200}, []byte("x")); return err }, "InvalidProtocolAddress"},
		{"bad public key", func() error { _, err := o.Verify([]byte{0x07, 1, 2}, []byte("m"), make([]byte, 64)); return err }, ""},
		{"unknown party", func() error { _, err := o.Bundle("nobody", false); return err }, "BadRequest"},
		{"duplicate party", func() error { _, err := o.NewParty("alice", 1); return err }, "BadRequest"},
		{"unknown op", func() error { return o.Call("frobnicate", nil, nil) }, "BadRequest"},
		{"missing argument", func() error { return o.Call("encrypt", map[string]any{"party": alice.Party}, nil) }, "BadRequest"},
		{"not base64", func() error {
			return o.Call("decrypt", map[string]any{"party": bob.Party, "peer": alice.Address(), "type": TypeWhisper, "ciphertext": "%%%"}, nil)
		}, "BadRequest"},
		{"unknown message type", func() error {
			_, err := o.Decrypt(bob.Party, alice.Address(), Ciphertext{5, []byte{1}})
			return err
		}, "BadRequest"},
		{"bad state", func() error { _, err := o.ImportState("x", json.RawMessage(`{"format":1}`)); return err }, "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			class := oracleClass(t, err)
			t.Log(err)
			if tc.wantClass != "" && class != tc.wantClass || tc.wantClass == "" && class == "BadRequest" {
				t.Fatalf("class %q, want %q", class, tc.wantClass)
			}
		})
	}

	// A new identity for bob is refused until alice accepts it.
	other := must(o.NewParty("other", 1))(t)
	if replaced := must(o.SaveIdentity(alice.Party, bob.Address(), bob.IdentityKey))(t); replaced {
		t.Fatal("saving the same identity again reports a replacement")
	}
	check(t, o.Call("saveIdentity", map[string]any{"party": bob.Party, "peer": alice.Address(), "identityKey": other.IdentityKey}, nil))
	_, err := o.Encrypt(bob.Party, alice.Address(), []byte("x"))
	if c := oracleClass(t, err); c != "UntrustedIdentity" {
		t.Fatalf("encrypt to a changed identity: class %q, want UntrustedIdentity", c)
	}
	check(t, o.Call("saveIdentity", map[string]any{"party": bob.Party, "peer": alice.Address(), "identityKey": alice.IdentityKey}, nil))

	// None of it hurt the oracle or the session: the untampered message still decrypts.
	receive(t, o, alice, bob, fresh, "fresh")
	receive(t, o, bob, alice, send(t, o, alice, bob, "still here", TypeWhisper), "still here")
	receive(t, o, alice, bob, send(t, o, bob, alice, "me too", TypeWhisper), "me too")
}

// TestCallEncodingError checks that arguments encoding/json cannot encode
// fail the call without disturbing the oracle.
func TestCallEncodingError(t *testing.T) {
	o := Start(t)
	if err := o.Call("version", map[string]any{"c": make(chan int)}, nil); err == nil {
		t.Fatal("a channel argument was accepted")
	}
	check(t, o.Call("version", nil, nil))
}

// TestConcurrentCalls checks that calls from several goroutines are
// serialised and each gets its own answer.
func TestConcurrentCalls(t *testing.T) {
	o := Start(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				ikm := []byte(fmt.Sprintf("g%d-%d", g, i))
				got, err := o.HKDF(32, ikm, nil, nil)
				if err != nil {
					errs <- err
					return
				}
				want, _ := hkdf.Key(sha256.New, ikm, nil, "", 32)
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("goroutine %d call %d got another call's answer", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
