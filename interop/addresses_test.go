package interop

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/session"
)

// Research case 11, the addresses field (SignalMessage field 6, libsignal
// 0.91 and later) in full: present and MAC-covered when both names are
// service ids, so that tampering with it is refused by both; a message
// addressed to another local address is refused by both; names that are not
// service ids give no field, in both implementations and for the same name
// forms; and a message without the field is accepted by both.
// TestSessionLibsignalToGo, TestSessionGoToLibsignal and TestSessionWireLayout
// check the field's bytes for ACI names.

// addrReplace replaces the addresses field of the SignalMessage inside a
// PreKeySignalMessage, keeping the MAC: what an attacker can do.
func addrReplace(t *testing.T, c Ciphertext, addresses []byte) Ciphertext {
	t.Helper()
	inner := fieldBytes(t, c.Ciphertext[1:], 4)
	inner = sessRewriteSignal(t, inner, map[protowire.Number]any{6: addresses})
	return Ciphertext{Type: c.Type, Ciphertext: sessRewritePreKey(t, c.Ciphertext, map[protowire.Number]any{4: inner})}
}

// addrWant is the addresses field for two names that are service ids,
// ACI (bare UUID) or PNI ("PNI:" UUID), written out independently of
// e2ee/session.
func addrWant(t *testing.T, sender, recipient Address) []byte {
	t.Helper()
	var out []byte
	for _, a := range []Address{sender, recipient} {
		kind, name := byte(0), a.Name
		if rest, ok := strings.CutPrefix(name, "PNI:"); ok {
			kind, name = 1, rest
		}
		u, err := hex.DecodeString(strings.ReplaceAll(name, "-", ""))
		if err != nil || len(u) != 16 {
			t.Fatalf("addrWant: %q is not a service id", a.Name)
		}
		out = append(append(append(out, kind), u...), byte(a.DeviceID))
	}
	return out
}

func TestAddressesTampered(t *testing.T) {
	o := Start(t)
	bad := func(t *testing.T, good []byte) map[string][]byte {
		flipped := bytes.Clone(good)
		flipped[5] ^= 1
		otherDevice := bytes.Clone(good)
		otherDevice[35]++
		return map[string][]byte{"flipped bit": flipped, "other recipient device": otherDevice, "empty": {}, "truncated": good[:18]}
	}
	t.Run("libsignal sends, Go refuses", func(t *testing.T) {
		alice := sessNewLib(t, o, 1)
		bob := newSessGo(t, 2)
		bob.libStart(t, o, alice, true)
		c := sessLibSend(t, o, alice, bob.ia(), "hi", TypePreKey)
		good := must(o.Inspect(c))(t).Message.Addresses
		if !bytes.Equal(good, addrWant(t, alice.Address(), bob.ia())) {
			t.Fatalf("libsignal's addresses %x", good)
		}
		for name, a := range bad(t, good) {
			t.Run(name, func(t *testing.T) { bob.refuses(t, alice.Address(), addrReplace(t, c, a), session.ErrBadMAC) })
		}
		// Dropping the field also breaks the MAC.
		inner := fieldBytes(t, c.Ciphertext[1:], 4)
		dropped := append([]byte{inner[0]}, sessDropFields(t, inner[1:len(inner)-8], 6)...)
		dropped = append(dropped, inner[len(inner)-8:]...)
		bob.refuses(t, alice.Address(), Ciphertext{Type: TypePreKey, Ciphertext: sessRewritePreKey(t, c.Ciphertext, map[protowire.Number]any{4: dropped})}, session.ErrBadMAC)
		bob.receive(t, alice.Address(), c, "hi")
	})
	t.Run("Go sends, libsignal refuses", func(t *testing.T) {
		alice := newSessGo(t, 3)
		bob := sessNewLib(t, o, 4)
		alice.goStart(t, o, bob, true)
		c := alice.send(t, bob.Address(), "hi", TypePreKey)
		good := must(o.Inspect(c))(t).Message.Addresses
		if !bytes.Equal(good, addrWant(t, alice.ia(), bob.Address())) {
			t.Fatalf("Go's addresses %x", good)
		}
		for name, a := range bad(t, good) {
			t.Run(name, func(t *testing.T) {
				if class := sessLibRefuses(t, o, bob, alice.ia(), addrReplace(t, c, a)); class == "" {
					t.Fatal("libsignal accepted tampered addresses")
				}
			})
		}
		sessLibReceive(t, o, bob, alice.ia(), c, "hi")
	})
}

// A message addressed to another device, or another account, than the
// receiver's own address is refused by both, though the keys are right.
func TestAddressesWrongLocal(t *testing.T) {
	o := Start(t)
	for _, wrong := range []string{"device", "name"} {
		t.Run("libsignal sends, Go refuses: other "+wrong, func(t *testing.T) {
			alice := sessNewLib(t, o, 1)
			bob := newSessGo(t, 2)
			to := bob.ia()
			if wrong == "device" {
				to.DeviceID = 3
			} else {
				to.Name = sessName()
			}
			check(t, o.Call("processBundle", map[string]any{"party": alice.Party, "peer": to, "bundle": bob.publish(t, true), "now": sessNow.UnixMilli()}, nil))
			c := sessLibSend(t, o, alice, to, "hi", TypePreKey)
			bob.refuses(t, alice.Address(), c, session.ErrInvalidMessage)
			if rec := bob.record(t, alice.Address()); rec != nil {
				t.Fatal("Go stored a session")
			}
		})
		t.Run("Go sends, libsignal refuses: other "+wrong, func(t *testing.T) {
			alice := newSessGo(t, 1)
			bob := sessNewLib(t, o, 2)
			to := bob.Address()
			if wrong == "device" {
				to.DeviceID = 3
			} else {
				to.Name = sessName()
			}
			b := must(o.Bundle(bob.Party, true))(t)
			b.DeviceID = to.DeviceID
			check(t, session.ProcessBundle(sessCtx, alice.st, sessAddr(to), sessFromOracle(t, b), sessNow, nil))
			c := alice.send(t, to, "hi", TypePreKey)
			if class := sessLibRefuses(t, o, bob, alice.ia(), c); class == "" {
				t.Fatal("libsignal accepted a message for another address")
			} else {
				t.Logf("libsignal: %s", class)
			}
			if si := must(o.SessionInfo(bob.Party, alice.ia()))(t); si.Exists {
				t.Fatal("libsignal stored a session")
			}
		})
	}
}

// Which names count as service ids: the field is written for the same
// sender names by both implementations (the receiver's name is always an
// ACI here), and each side accepts what the other sent, with or without
// the field. A message without the field between service-id names is what
// an older sender produces: accepted by both.
func TestAddressesNameForms(t *testing.T) {
	o := Start(t)
	forms := []struct {
		name     string
		make     func() string
		hasField bool // what libsignal 0.103.0 does (checked below)
	}{
		{"ACI", sessName, true},
		{"PNI", func() string { return "PNI:" + sessName() }, true},
		{"ACI in upper case", func() string { return strings.ToUpper(sessName()) }, true},
		{"ACI without hyphens", func() string { return strings.ReplaceAll(sessName(), "-", "") }, false},
		{"ACI: prefix", func() string { return "ACI:" + sessName() }, false},
		{"pni: in lower case", func() string { return "pni:" + sessName() }, false},
		{"ACI in braces", func() string { return "{" + sessName() + "}" }, false},
		{"phone number", func() string { return "+14155550123" }, false},
		{"plain name", func() string { return "alice" }, false},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			// libsignal sends from a party with this name to Go.
			lib := must(o.NewPartyWith(NewPartyArgs{Name: f.make(), DeviceID: 1, Party: fmt.Sprint("addr-", sessName())}))(t)
			bob := newSessGo(t, 2)
			bob.libStart(t, o, lib, true)
			c := sessLibSend(t, o, lib, bob.ia(), "from libsignal", TypePreKey)
			libAddr := must(o.Inspect(c))(t).Message.Addresses
			if (libAddr != nil) != f.hasField {
				t.Errorf("libsignal, sender %q: addresses %x, want present=%v", lib.Name, libAddr, f.hasField)
			}
			if libAddr != nil && !bytes.Equal(libAddr, addrWant(t, lib.Address(), bob.ia())) {
				t.Errorf("libsignal's addresses %x, want %x", libAddr, addrWant(t, lib.Address(), bob.ia()))
			}
			bob.receive(t, lib.Address(), c, "from libsignal")

			// Go sends from a device with this name to libsignal.
			g := newSessGo(t, 1)
			g.addr.Name = f.make()
			g.st = g.store.Stores(g.addr)
			peer := sessNewLib(t, o, 2)
			g.goStart(t, o, peer, true)
			gc := g.send(t, peer.Address(), "from Go", TypePreKey)
			goAddr := must(o.Inspect(gc))(t).Message.Addresses
			if (goAddr != nil) != f.hasField {
				t.Errorf("Go, sender %q: addresses %x, want present=%v (as libsignal)", g.addr.Name, goAddr, f.hasField)
			}
			if goAddr != nil && !bytes.Equal(goAddr, addrWant(t, g.ia(), peer.Address())) {
				t.Errorf("Go's addresses %x, want %x", goAddr, addrWant(t, g.ia(), peer.Address()))
			}
			sessLibReceive(t, o, peer, g.ia(), gc, "from Go")
		})
	}

	// No field between service-id names: the sender's own name was not a
	// service id when it encrypted (its receiver knows it by its ACI).
	t.Run("absent field, libsignal receives", func(t *testing.T) {
		g := newSessGo(t, 1)
		aci := g.ia()
		g.addr.Name = "not-a-service-id"
		g.st = g.store.Stores(g.addr)
		peer := sessNewLib(t, o, 2)
		g.goStart(t, o, peer, true)
		c := g.send(t, peer.Address(), "old sender", TypePreKey)
		if a := must(o.Inspect(c))(t).Message.Addresses; a != nil {
			t.Fatalf("addresses %x", a)
		}
		sessLibReceive(t, o, peer, aci, c, "old sender")
	})
	t.Run("absent field, Go receives", func(t *testing.T) {
		lib := must(o.NewPartyWith(NewPartyArgs{Name: "not-a-service-id", DeviceID: 1, Party: fmt.Sprint("addr-", sessName())}))(t)
		bob := newSessGo(t, 2)
		bob.libStart(t, o, lib, true)
		c := sessLibSend(t, o, lib, bob.ia(), "old sender", TypePreKey)
		if a := must(o.Inspect(c))(t).Message.Addresses; a != nil {
			t.Fatalf("addresses %x", a)
		}
		bob.receive(t, Address{Name: sessName(), DeviceID: 1}, c, "old sender")
	})
	// And a field that names service ids while the receiver's own name is not
	// one: neither side can check the binding, and both refuse.
	t.Run("field present, receiver's name not a service id", func(t *testing.T) {
		alice := sessNewLib(t, o, 1)
		// Go: the same device under a name that is not a service id.
		bob := newSessGo(t, 2)
		bob.libStart(t, o, alice, true)
		c := sessLibSend(t, o, alice, bob.ia(), "x", TypePreKey)
		renamed := bob.st
		renamed.Local.Name = "bob"
		_, goErr := session.Decrypt(sessCtx, renamed, sessAddr(alice.Address()), session.Ciphertext{Type: session.TypePreKey, Body: c.Ciphertext})
		bob.receive(t, alice.Address(), c, "x") // and under its own name it decrypts

		// libsignal: a clone of its receiver, renamed.
		alice2 := sessNewLib(t, o, 1)
		lbob := sessNewLib(t, o, 2)
		check(t, o.ProcessBundle(alice2.Party, lbob.Address(), must(o.Bundle(lbob.Party, true))(t)))
		c2 := sessLibSend(t, o, alice2, lbob.Address(), "y", TypePreKey)
		var st map[string]any
		check(t, json.Unmarshal(must(o.ExportState(lbob.Party))(t), &st))
		st["name"] = "bob"
		clone := must(o.ImportState("addr-renamed-"+lbob.Party, must(json.Marshal(st))(t)))(t)
		_, libErr := o.Decrypt(clone.Party, alice2.Address(), c2)
		sessLibReceive(t, o, lbob, alice2.Address(), c2, "y")

		if (goErr == nil) != (libErr == nil) || goErr != nil && !errors.Is(goErr, session.ErrInvalidMessage) {
			t.Fatalf("Go: %v; libsignal: %v", goErr, libErr)
		}
		t.Logf("Go: %v; libsignal: %v", goErr, libErr)
	})
}
