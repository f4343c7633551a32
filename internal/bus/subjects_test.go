package bus

import (
	"testing"

	"github.com/parley-im/parley/types"
)

func TestParseAccountSubject(t *testing.T) {
	acct := types.NewAccountID()
	a := acct.String()
	tests := []struct {
		subject string
		kind    SubjectKind
		dev     types.DeviceID
	}{
		{DeviceSubject(types.Address{Account: acct, Device: 1}), KindDevice, 1},
		{DeviceSubject(types.Address{Account: acct, Device: 4294967295}), KindDevice, 4294967295},
		{AccountSubject(acct), KindAccount, 0},
		{ProbeSubject(acct), KindProbe, 0},
		{PresenceSubject(acct), 0, 0},
		{ProvisionSubject("abc"), 0, 0},
		{NodeHeartbeatSubject, 0, 0},
		{"parley.acct." + a, 0, 0},
		{"parley.acct." + a + ".dev.", 0, 0},
		{"parley.acct." + a + ".dev.0", 0, 0},
		{"parley.acct." + a + ".dev.4294967296", 0, 0},
		{"parley.acct." + a + ".dev.x", 0, 0},
		{"parley.acct." + a + ".other", 0, 0},
		{"parley.acct.not-an-id.all", 0, 0},
	}
	for _, tt := range tests {
		got, kind, dev, ok := ParseAccountSubject(tt.subject)
		if ok != (tt.kind != 0) || kind != tt.kind || dev != tt.dev || (ok && got != acct) {
			t.Errorf("ParseAccountSubject(%q) = %v %v %v %v, want kind %v device %v", tt.subject, got, kind, dev, ok, tt.kind, tt.dev)
		}
	}
}

// FuzzParseAccountSubject: whatever a subject says, a parse that succeeds
// names a subject that AccountWildcard matches and that builds back the same.
func FuzzParseAccountSubject(f *testing.F) {
	acct := types.NewAccountID()
	f.Add(DeviceSubject(types.Address{Account: acct, Device: 3}))
	f.Add(AccountSubject(acct))
	f.Add(ProbeSubject(acct))
	f.Fuzz(func(t *testing.T, s string) {
		a, kind, dev, ok := ParseAccountSubject(s)
		if !ok {
			return
		}
		var back string
		switch kind {
		case KindDevice:
			back = DeviceSubject(types.Address{Account: a, Device: dev})
		case KindAccount:
			back = AccountSubject(a)
		case KindProbe:
			back = ProbeSubject(a)
		default:
			t.Fatalf("kind %d", kind)
		}
		if _, k2, d2, ok2 := ParseAccountSubject(back); !ok2 || k2 != kind || d2 != dev {
			t.Fatalf("%q parsed as %v/%v but its rebuild %q does not", s, kind, dev, back)
		}
	})
}
