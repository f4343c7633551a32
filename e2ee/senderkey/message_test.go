package senderkey

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// Re-encoding what libsignal sent must give back the same bytes: this pins
// the field order, the proto2 "zero values are written" rule (iteration 0 is
// 0x18 0x00) and therefore the exact bytes the signature covers.
func TestLibsignalBytesReencodeExactly(t *testing.T) {
	v := loadVectors(t)
	dm, err := ParseDistributionMessage(v.SKDM)
	if err != nil {
		t.Fatal(err)
	}
	if dm.ChainID != v.ChainID || dm.Iteration != 0 || dm.DistributionID != v.distributionID(t) {
		t.Fatalf("parsed %+v", dm)
	}
	if got := dm.Marshal(); !bytes.Equal(got, v.SKDM) {
		t.Fatalf("SKDM re-encoding differs:\n got %x\nwant %x", got, []byte(v.SKDM))
	}
	if !bytes.Contains(v.SKDM, []byte{0x18, 0x00, 0x22, 0x20}) {
		t.Fatal("expected iteration 0 to be written explicitly")
	}
	for i, m := range v.Messages {
		pm, err := ParseMessage(m.Ciphertext)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if pm.Iteration != uint32(i) || pm.ChainID != v.ChainID {
			t.Fatalf("message %d: iteration %d chain %d", i, pm.Iteration, pm.ChainID)
		}
		got := append(pm.marshalUnsigned(), pm.Signature[:]...)
		if !bytes.Equal(got, m.Ciphertext) {
			t.Fatalf("message %d re-encoding differs:\n got %x\nwant %x", i, got, []byte(m.Ciphertext))
		}
		if !dm.SigningKey.Verify(pm.signed, pm.Signature[:]) {
			t.Fatalf("message %d: libsignal signature does not verify", i)
		}
	}
	later, err := ParseDistributionMessage(v.LaterSKDM)
	if err != nil {
		t.Fatal(err)
	}
	if later.Iteration != v.LaterIteration || !bytes.Equal(later.Marshal(), v.LaterSKDM) {
		t.Fatalf("later SKDM: %+v", later)
	}
}

func TestParseDistributionMessageErrors(t *testing.T) {
	good := (&DistributionMessage{DistributionID: dist1, ChainID: 7, Iteration: 0, ChainKey: [32]byte{1}, SigningKey: [32]byte{9}}).Marshal()
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	with := func(prefix byte, body ...[]byte) []byte { return append([]byte{prefix}, bytes.Join(body, nil)...) }
	uuid := append(h("0a10"), dist1[:]...)
	chain := h("1007")
	iter := h("1800")
	ck := append(h("2220"), make([]byte, 32)...)
	sk := append(h("2a2105"), make([]byte, 32)...)

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"good", good, nil},
		{"any low nibble", with(0x30, uuid, chain, iter, ck, sk), nil},
		{"fields out of order", with(0x33, sk, ck, iter, chain, uuid), nil},
		{"unknown field skipped", with(0x33, uuid, chain, iter, ck, sk, h("3001")), nil},
		{"empty", nil, ErrInvalidMessage},
		{"version byte only", []byte{0x33}, ErrInvalidMessage},
		{"version 2", with(0x23, uuid, chain, iter, ck, sk), ErrUnknownVersion},
		{"version 4", with(0x44, uuid, chain, iter, ck, sk), ErrUnknownVersion},
		{"no uuid", with(0x33, chain, iter, ck, sk), ErrInvalidMessage},
		{"no chain id", with(0x33, uuid, iter, ck, sk), ErrInvalidMessage},
		{"no iteration", with(0x33, uuid, chain, ck, sk), ErrInvalidMessage},
		{"no chain key", with(0x33, uuid, chain, iter, sk), ErrInvalidMessage},
		{"no signing key", with(0x33, uuid, chain, iter, ck), ErrInvalidMessage},
		{"short uuid", with(0x33, h("0a0f"), dist1[:15], chain, iter, ck, sk), ErrInvalidMessage},
		{"short chain key", with(0x33, uuid, chain, iter, append(h("221f"), make([]byte, 31)...), sk), ErrInvalidMessage},
		{"long chain key", with(0x33, uuid, chain, iter, append(h("2221"), make([]byte, 33)...), sk), ErrInvalidMessage},
		{"signing key wrong type", with(0x33, uuid, chain, iter, ck, append(h("2a2106"), make([]byte, 32)...)), ErrInvalidMessage},
		{"signing key without type", with(0x33, uuid, chain, iter, ck, append(h("2a20"), make([]byte, 32)...)), ErrInvalidMessage},
		{"chain id as bytes", with(0x33, uuid, h("1200"), iter, ck, sk), ErrInvalidMessage},
		{"truncated", good[:len(good)-1], ErrInvalidMessage},
		{"bad tag", with(0x33, h("00")), ErrInvalidMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDistributionMessage(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseMessageErrors(t *testing.T) {
	m := &Message{DistributionID: dist1, ChainID: 7, Iteration: 3, Ciphertext: make([]byte, 16)}
	good := append(m.marshalUnsigned(), make([]byte, 64)...)
	unsigned := func(b []byte) []byte { return append(b, make([]byte, 64)...) }
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	uuid := append(h("0a10"), dist1[:]...)

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"good", good, nil},
		{"empty ciphertext parses", unsigned(append(append([]byte{0x33}, uuid...), h("100718002200")...)), nil},
		{"empty", nil, ErrInvalidMessage},
		{"signature only", make([]byte, 64), ErrUnknownVersion},
		{"too short", good[:64], ErrInvalidMessage},
		{"version 2", append([]byte{0x23}, good[1:]...), ErrUnknownVersion},
		{"version 15", append([]byte{0xf3}, good[1:]...), ErrUnknownVersion},
		{"no ciphertext", unsigned(append(append([]byte{0x33}, uuid...), h("10071800")...)), ErrInvalidMessage},
		{"no iteration", unsigned(append(append([]byte{0x33}, uuid...), h("10072200")...)), ErrInvalidMessage},
		{"signing key field is unknown here", unsigned(append(append([]byte{0x33}, uuid...), h("1007180022002a00")...)), nil},
		{"signature missing a byte", good[:len(good)-1], ErrInvalidMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMessage(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
