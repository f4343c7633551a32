package client

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/types"
)

// FuzzLinkURI: whatever a user pastes or a camera reads gives a link or
// ErrInvalidLinkURI, never a panic, and a link it accepts prints back to a
// URI that parses to the same link.
func FuzzLinkURI(f *testing.F) {
	k1, _ := curve.GenerateKeyPair(rand.Reader)
	k2, _ := curve.GenerateKeyPair(rand.Reader)
	f.Add(linkURI{addr: "AAAAAAAAAAAAAAAAAAAAAA", pub: k1.Public, identity: k2.Public}.String())
	f.Add("parley://link?addr=a&pub=&id=")
	f.Add("parley://link/?addr=a%00&pub=BQ&id=BQ")
	f.Add("  parley://LINK?addr=a  ")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLinkURI(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidLinkURI) {
				t.Fatalf("error %v is not ErrInvalidLinkURI", err)
			}
			return
		}
		again, err := parseLinkURI(l.String())
		if err != nil || again != l {
			t.Fatalf("%q parsed to %+v, which prints as %q and parses to %+v, %v", s, l, l.String(), again, err)
		}
	})
}

// FuzzProvisioning: a provisioning message from anyone (the server relays
// whatever a primary sends) opens to a valid message or fails with
// ErrBadProvisioning; and the plaintext parser alone never panics and
// re-encodes what it accepts.
func FuzzProvisioning(f *testing.F) {
	eph, _ := curve.GenerateKeyPair(rand.Reader)
	id, _ := curve.GenerateKeyPair(rand.Reader)
	to := linkURI{addr: "addr", pub: eph.Public, identity: id.Public}
	p := &provisioning{code: "ABCD2345", account: types.NewAccountID(), phone: "+15550000001", primary: id.Public, signature: make([]byte, 64)}
	sealed, _ := sealProvisioning(to, p)
	f.Add(sealed, p.marshal())
	f.Add([]byte{1}, []byte{0x0a, 0x00})
	f.Add(append([]byte{1}, make([]byte, 80)...), append(p.marshal(), 0x0a, 0x01, 'x'))
	f.Fuzz(func(t *testing.T, body, plain []byte) {
		if m, err := openProvisioning(eph, "addr", body); err != nil {
			if !errors.Is(err, ErrBadProvisioning) {
				t.Fatalf("error %v is not ErrBadProvisioning", err)
			}
		} else if !bytes.Equal(body, sealed) && m.code == "" {
			t.Fatal("an empty code was accepted")
		}
		m, err := unmarshalProvisioning(plain)
		if err != nil {
			return
		}
		again, err := unmarshalProvisioning(m.marshal())
		if err != nil || again.code != m.code || again.account != m.account || again.phone != m.phone ||
			again.primary != m.primary || !bytes.Equal(again.signature, m.signature) {
			t.Fatalf("re-encoding %+v gave %+v, %v", m, again, err)
		}
	})
}
