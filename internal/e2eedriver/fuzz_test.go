package e2eedriver

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/parley-im/parley/e2ee/fingerprint"
)

// FuzzRequest feeds arbitrary request lines to a driver holding two parties
// with a session and a group: whatever comes in, the driver answers with
// exactly one JSON object carrying ok and, when the line had one, its id,
// and it never panics.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"op":"version"}`,
		`{"id":2,"op":"decrypt","args":{"party":"bob","peer":{"name":"alice","deviceId":1},"type":2,"ciphertext":"RAgB"}}`,
		`{"id":3,"op":"decrypt","args":{"party":"bob","peer":{"name":"alice","deviceId":1},"type":3,"ciphertext":"RAgB"}}`,
		`{"id":4,"op":"groupDecrypt","args":{"party":"bob","sender":{"name":"alice","deviceId":1},"ciphertext":"MwoQ"}}`,
		`{"id":5,"op":"processSkdm","args":{"party":"bob","sender":{"name":"alice","deviceId":1},"skdm":"MwoQ"}}`,
		`{"id":6,"op":"importState","args":{"state":{"format":"parley-e2ee/1","name":"x","deviceId":1,"registrationId":1,"identityPrivateKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","nextPreKeyId":1,"nextSignedPreKeyId":1,"nextKyberPreKeyId":1,"sessions":[{"name":"a","deviceId":1,"record":"CAE="}]}}}`,
		`{"id":7,"op":"fingerprintCompare","args":{"scannable":"CAISIgogQUFB","other":"CAI="}}`,
		`{"id":8,"op":"hkdf","args":{"length":1e3,"ikm":null}}`,
		`{"id":9,"op":"processBundle","args":{"party":"alice","peer":{"name":"bob","deviceId":1},"bundle":{"registrationId":1}}}`,
		`{"id":10,"op":"encrypt","args":{"party":"alice","peer":{"name":"bob","deviceId":1},"plaintext":"aGk=","now":1}}`,
		`{"id":11,"op":"sealedMultiSplit","args":{"ciphertext":"IwEAAAAAAAAAAAAAAAAAAAAAAAABAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`,
		`{"id":12,"op":"sealedOpen","args":{"party":"bob","ciphertext":"Ig=="}}`,
		`[{"op":"version"}]`, `{"op":{"x":1}}`, `{"id":null,"op":"close"}`, "\x00", `"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d := New()
		setup := []string{
			`{"id":1,"op":"newParty","args":{"name":"alice","deviceId":1}}`,
			`{"id":2,"op":"newParty","args":{"name":"bob","deviceId":1}}`,
			`{"id":3,"op":"skdm","args":{"party":"alice","distributionId":"d1f0e7a4-5a4e-4c6e-9b7a-1a2b3c4d5e6f"}}`,
		}
		for _, s := range setup {
			if a, _ := d.handle([]byte(s)); !a.OK {
				t.Fatalf("setup %s: %s", s, a.Error)
			}
		}
		a, _ := d.handle(line)
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
		var back map[string]json.RawMessage
		if err := json.Unmarshal(out, &back); err != nil || back["ok"] == nil || back["id"] == nil {
			t.Fatalf("answer %s", out)
		}
		if a.OK == (a.Error != "") {
			t.Fatalf("ok %v with error %q", a.OK, a.Error)
		}
	})
}

// FuzzCompareScannable checks the scannable reader on untrusted codes: it
// never panics, and as the reader of the scanned code it agrees with
// e2ee/fingerprint's Compare on every input.
func FuzzCompareScannable(f *testing.F) {
	k1 := append([]byte{5}, bytes.Repeat([]byte{1}, 32)...)
	k2 := append([]byte{5}, bytes.Repeat([]byte{2}, 32)...)
	fa, _ := fingerprint.New(2, 2, []byte("a"), k1, []byte("b"), k2)
	fb, _ := fingerprint.New(2, 2, []byte("b"), k2, []byte("a"), k1)
	f.Add(fa.Scannable(), fb.Scannable())
	f.Add(fa.Scannable(), fa.Scannable())
	f.Add([]byte{8, 2}, []byte{})
	f.Fuzz(func(t *testing.T, mine, other []byte) {
		_, _ = compareScannable(mine, other)
		match, err := compareScannable(fa.Scannable(), other)
		want, wantErr := fa.Compare(other)
		if (err == nil) != (wantErr == nil) || match != want {
			t.Fatalf("compareScannable(a, %x) = %v, %v; fingerprint.Compare = %v, %v", other, match, err, want, wantErr)
		}
	})
}
