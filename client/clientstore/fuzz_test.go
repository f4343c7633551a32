package clientstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/parley-im/parley/types"
)

// FuzzDecoders feeds arbitrary bytes to every decoder of stored bytes: none
// may panic, and whatever decodes must encode and decode to the same value.
func FuzzDecoders(f *testing.F) {
	a, err := NewAccount("https://parley.example", "+4915112345678")
	if err != nil {
		f.Fatal(err)
	}
	a.ID, a.Device = types.NewAccountID(), 3
	f.Add(encodeAccount(&a))
	f.Add(encodeECPreKey(a.Identity, &[64]byte{1}))
	f.Add(encodeIdentity(&identityPayload{name: "n", key: a.Identity.Public, trust: TrustChanged, firstSeen: t0, changedAt: t0}))
	f.Add(encodeContact(&Contact{Account: a.ID, Phone: a.Phone, Name: "Ann"}))
	f.Add(encodeConversation(&Conversation{Peer: a.ID, Timer: time.Hour}))
	f.Add(encodeMessage(&Message{ID: types.NewMessageID(), Sender: types.Address{Account: a.ID, Device: 2}, Kind: 9, Content: []byte("hi")}))
	f.Add(encodeAccountAndText(a.ID, "👍"))
	f.Add(encodeConversation(&Conversation{Group: types.NewGroupID(), Timer: time.Minute}))
	f.Add(encodeGroup(&Group{ID: types.NewGroupID(), Secret: make([]byte, 32), Seq: 7, State: []byte{1, 2}, Attributes: []byte("a"),
		AttributesSeq: 3, DistributionID: [16]byte{9}, Left: true, InviteToken: []byte("token")}))
	f.Add([]byte{0x0a, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if acc, err := decodeAccount(b); err == nil {
			again, err := decodeAccount(encodeAccount(&acc))
			if err != nil || again.ID != acc.ID || again.Identity != acc.Identity || again.Phone != acc.Phone || !again.AuthKey.Equal(acc.AuthKey) {
				t.Fatalf("account does not round-trip: %v", err)
			}
		}
		if s, err := decodePreKey(b); err == nil && s.hasEC {
			again, err := decodePreKey(encodeECPreKey(s.ec, &s.sig))
			if err != nil || again.ec != s.ec {
				t.Fatalf("prekey does not round-trip: %v", err)
			}
		}
		if p, err := decodeIdentity(b); err == nil {
			again, err := decodeIdentity(encodeIdentity(&p))
			if err != nil || again != p {
				t.Fatalf("identity does not round-trip: %+v %+v %v", p, again, err)
			}
		}
		if c, err := decodeContact(b); err == nil {
			again, err := decodeContact(encodeContact(&c))
			if err != nil || again != c {
				t.Fatalf("contact does not round-trip: %v", err)
			}
		}
		var c Conversation
		if decodeConversation(b, &c) == nil {
			var again Conversation
			if err := decodeConversation(encodeConversation(&c), &again); err != nil || again != c {
				t.Fatalf("conversation does not round-trip: %v", err)
			}
		}
		var m Message
		if decodeMessage(b, &m) == nil {
			var again Message
			err := decodeMessage(encodeMessage(&m), &again)
			if err != nil || again.ID != m.ID || again.Sender != m.Sender || again.Kind != m.Kind || !bytes.Equal(again.Content, m.Content) {
				t.Fatalf("message does not round-trip: %v", err)
			}
		}
		if acc, text, err := decodeAccountAndText(b, "fuzz"); err == nil {
			a2, t2, err := decodeAccountAndText(encodeAccountAndText(acc, text), "fuzz")
			if err != nil || a2 != acc || t2 != text {
				t.Fatalf("reaction does not round-trip: %v", err)
			}
		}
		if g, err := decodeGroup(b); err == nil {
			again, err := decodeGroup(encodeGroup(&g))
			if err != nil || !sameGroup(again, g) {
				t.Fatalf("group does not round-trip: %+v %+v %v", g, again, err)
			}
		}
		if p, salt, err := parsePassphraseWrapped(b); err == nil && (!p.valid() || len(salt) != passphraseSaltSize) {
			t.Fatalf("accepted wrapped key with %+v", p)
		}
	})
}

// FuzzOpenSealed: arbitrary bytes in a sealed column are ErrCorrupt, never
// a panic or a success.
func FuzzOpenSealed(f *testing.F) {
	k, err := newCipherKeys(bytes.Repeat([]byte{7}, DataKeySize))
	if err != nil {
		f.Fatal(err)
	}
	good := k.seal([]byte("value"), labelMessage, []byte("row"))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{sealVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Only values this key sealed open (the seeds are re-sealed with a
		// fresh nonce in each fuzz worker, so compare plaintexts).
		if pt, err := k.open(b, labelMessage, []byte("row")); err == nil && string(pt) != "value" {
			t.Fatalf("forged value opened: %q", pt)
		}
		if _, err := k.open(b, labelMessage, []byte("other row")); err == nil {
			t.Fatal("value opened for another row")
		}
	})
}
