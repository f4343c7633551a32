package e2ee

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestAddressValidate(t *testing.T) {
	for _, c := range []struct {
		dev uint32
		ok  bool
	}{{0, false}, {1, true}, {2, true}, {126, true}, {127, true}, {128, false}, {1 << 31, false}} {
		err := Address{Name: "x", DeviceID: c.dev}.Validate()
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidAddress)) {
			t.Errorf("device %d: %v", c.dev, err)
		}
	}
}

func TestAddressString(t *testing.T) {
	a := Address{Name: "9d0652a3-dcc3-4d11-975f-74d61598733f", DeviceID: 12}
	if got := a.String(); got != "9d0652a3-dcc3-4d11-975f-74d61598733f.12" {
		t.Fatal(got)
	}
}

// The 17-byte encoding is what goes under the MAC in the addresses field of
// PreKey messages, so both the kind byte and the UUID bytes must be exact.
func TestServiceIDFixedWidth(t *testing.T) {
	const u = "9d0652a3-dcc3-4d11-975f-74d61598733f"
	for _, c := range []struct {
		name, want string // want: hex, "" when not a service id
	}{
		{u, "00" + "9d0652a3dcc34d11975f74d61598733f"},
		{"PNI:" + u, "01" + "9d0652a3dcc34d11975f74d61598733f"},
		{strings.ToUpper(u), "00" + "9d0652a3dcc34d11975f74d61598733f"},
		{"ACI:" + u, ""}, // libsignal's string form of an ACI has no prefix
		{"pni:" + u, ""},
		{"+14155550100", ""},
		{"alice", ""},
		{"", ""},
		{u[:35], ""},
		{u + "0", ""},
		{strings.ReplaceAll(u, "-", ""), ""},
		{"9d0652a3-dcc3-4d11-975f-74d61598733g", ""},
		{"9d0652a3+dcc3-4d11-975f-74d61598733f", ""},
	} {
		got, ok := ServiceIDFixedWidth(c.name)
		if ok != (c.want != "") {
			t.Errorf("%q: ok = %v", c.name, ok)
			continue
		}
		if !ok {
			if got != ([17]byte{}) {
				t.Errorf("%q: not ok but returned %x", c.name, got)
			}
			continue
		}
		if hex.EncodeToString(got[:]) != c.want {
			t.Errorf("%q: %x, want %s", c.name, got, c.want)
		}
	}
}

// Names arrive from other devices and the server: the parser must not
// panic, and what it accepts must be a hyphenated UUID with an optional
// "PNI:" whose hex is exactly the 16 bytes it returns.
func FuzzServiceIDFixedWidth(f *testing.F) {
	for _, s := range []string{"9d0652a3-dcc3-4d11-975f-74d61598733f", "PNI:9d0652a3-dcc3-4d11-975f-74d61598733f", "PNI:", "", "alice", "9d0652a3-dcc3-4d11-975f-74d6159873"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := ServiceIDFixedWidth(name)
		if !ok {
			return
		}
		s, pni := strings.CutPrefix(name, "PNI:")
		if (got[0] == 1) != pni || got[0] > 1 {
			t.Fatalf("%q: kind byte %d", name, got[0])
		}
		if !strings.EqualFold(strings.ReplaceAll(s, "-", ""), hex.EncodeToString(got[1:])) || len(s) != 36 {
			t.Fatalf("%q: decoded as %x", name, got)
		}
	})
}
