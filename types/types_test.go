package types

import (
	"errors"
	"testing"
)

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"+4915112345678", "+4915112345678", true},
		{" +1 (555) 010-9999 ", "+15550109999", true},
		{"+62 812 3456 7890", "+6281234567890", true},
		{"4915112345678", "", false},     // no +
		{"+0123456789", "", false},       // country code cannot start with 0
		{"+1234567890123456", "", false}, // 16 digits
		{"+12345", "", false},            // too short
		{"+49151abc", "", false},
		{"", "", false},
	} {
		got, err := ParsePhone(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidPhone) {
			t.Errorf("ParsePhone(%q) error %v is not ErrInvalidPhone", tc.in, err)
		}
	}
}

func TestAccountIDText(t *testing.T) {
	a := NewAccountID()
	if a.IsZero() {
		t.Fatal("random id is zero")
	}
	if a == NewAccountID() {
		t.Fatal("two random ids are equal")
	}
	s := a.String()
	if len(s) != 36 || s[14] != '4' {
		t.Fatalf("%q is not a v4 UUID", s)
	}
	b, err := ParseAccountID(s)
	if err != nil || b != a {
		t.Fatalf("round trip: %v %v", b, err)
	}
	var c AccountID
	if err := c.UnmarshalText([]byte(s)); err != nil || c != a {
		t.Fatal("UnmarshalText")
	}
	for _, bad := range []string{"", "not-a-uuid", s[:35] + "g", s[:8] + "x" + s[9:]} {
		if _, err := ParseAccountID(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseAccountID(%q) = %v", bad, err)
		}
	}
	if _, err := AccountIDFromBytes(make([]byte, 15)); !errors.Is(err, ErrInvalidID) {
		t.Error("15 bytes accepted")
	}
	if got := (Address{Account: a, Device: 3}).String(); got != s+".3" {
		t.Errorf("address %q", got)
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"+4915112345678", "+1 (555) 010-9999", "", "+", "++1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePhone(s)
		if err != nil {
			return
		}
		again, err := ParsePhone(p)
		if err != nil || again != p {
			t.Fatalf("normal form %q does not parse to itself", p)
		}
	})
}

func FuzzParseAccountID(f *testing.F) {
	f.Add(NewAccountID().String())
	f.Add("00000000-0000-0000-0000-00000000000")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAccountID(s)
		if err != nil {
			return
		}
		if b, err := ParseAccountID(a.String()); err != nil || b != a {
			t.Fatalf("%q parsed but does not round-trip", s)
		}
	})
}

func TestGroupIDText(t *testing.T) {
	g := NewGroupID()
	if g.IsZero() || g == NewGroupID() {
		t.Fatal("random group ids are zero or equal")
	}
	back, err := ParseGroupID(g.String())
	if err != nil || back != g {
		t.Fatalf("round trip: %v %v", back, err)
	}
	var u GroupID
	if err := u.UnmarshalText([]byte(g.String())); err != nil || u != g {
		t.Fatal("UnmarshalText")
	}
	if _, err := ParseGroupID("nope"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("ParseGroupID(nope) = %v", err)
	}
	if b, err := GroupIDFromBytes(g[:]); err != nil || b != g {
		t.Fatal("GroupIDFromBytes")
	}
	if _, err := GroupIDFromBytes(make([]byte, 17)); !errors.Is(err, ErrInvalidID) {
		t.Error("17 bytes accepted")
	}
}
