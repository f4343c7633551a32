package padding

import (
	"bytes"
	"errors"
	"testing"
)

// Unpad takes decrypted bytes from the peer: it must never panic, and what
// it accepts must be exactly content ‖ 0x80 ‖ zeros.
func FuzzUnpad(f *testing.F) {
	for _, s := range [][]byte{nil, {0}, {0x80}, {0x41, 0x80, 0}, {0x80, 0x41}, Pad(nil), Pad(content(79)), make([]byte, 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, padded []byte) {
		orig := bytes.Clone(padded)
		got, err := Unpad(padded)
		if !bytes.Equal(padded, orig) {
			t.Fatal("Unpad modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrNoTerminator) || got != nil {
				t.Fatalf("error %v with result %x", err, got)
			}
			return
		}
		n := len(got)
		if !bytes.Equal(padded[:n], got) || padded[n] != 0x80 || !allZero(padded[n+1:]) {
			t.Fatalf("accepted %x as %x", padded, got)
		}
	})
}

// Pad then Unpad gives the content back, whatever it is (ending in 0x80 or
// zeros included), at the promised length.
func FuzzPadRoundTrip(f *testing.F) {
	for _, s := range [][]byte{nil, {0}, {0x80}, {0x80, 0}, content(78), content(79), content(159)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c []byte) {
		p := Pad(c)
		if len(p) != PaddedLen(len(c)) || (len(p)+1)%BlockSize != 0 {
			t.Fatalf("%d bytes padded to %d", len(c), len(p))
		}
		got, err := Unpad(p)
		if err != nil || !bytes.Equal(got, c) {
			t.Fatalf("round trip of %x: %x, %v", c, got, err)
		}
	})
}
