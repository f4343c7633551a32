package e2eedriver

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/interop"
)

// pairings are the assignments of implementations to the scenarios' two
// sides, "A on X, B on Y". libsignal↔libsignal is the control: it checks
// the scenarios themselves against the reference.
func pairings(t *testing.T) [][2]impl {
	t.Helper()
	ps := [][2]impl{
		{goImpl, goImpl},
		{goImpl, libImpl},
		{libImpl, goImpl},
		{libImpl, libImpl},
	}
	if !testing.Short() {
		// The built command, to show that cmd/parley-e2ee is the same
		// driver on real stdin and stdout.
		bin := impl{"go-command", func(t *testing.T) caller { return startCommand(t, buildCommand(t)) }}
		ps = append(ps, [2]impl{bin, libImpl}, [2]impl{libImpl, bin})
	}
	// PARLEY_E2EE_PEER runs the scenarios against any other implementation
	// of the protocol too: a shell command that speaks it on stdin/stdout.
	if cmd := os.Getenv("PARLEY_E2EE_PEER"); cmd != "" {
		peer := impl{"peer", func(t *testing.T) caller { return startCommand(t, "sh", "-c", cmd) }}
		ps = append(ps, [2]impl{goImpl, peer}, [2]impl{peer, goImpl})
	}
	return ps
}

// TestInterop runs every scenario with every pairing. Pairings with
// libsignal skip without interop/oracle/node_modules (and fail under
// CI=true, as interop.Start does).
func TestInterop(t *testing.T) {
	for _, p := range pairings(t) {
		x, y := p[0], p[1]
		t.Run(x.name+"↔"+y.name, func(t *testing.T) {
			t.Run("conversation", func(t *testing.T) { conversation(t, x, y) })
			t.Run("refusals", func(t *testing.T) { refusals(t, x, y) })
			t.Run("sealed", func(t *testing.T) { sealed(t, x, y) })
			t.Run("sealedV2", func(t *testing.T) { sealedV2(t, x, y) })
		})
	}
}

// TestFingerprintCompare pins fingerprintCompare's reading of malformed
// codes to libsignal's, case by case, on both implementations. The cases
// were found by asking the oracle; libsignal is the reference.
func TestFingerprintCompare(t *testing.T) {
	half := func(num protowire.Number, content []byte) []byte {
		inner := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), content)
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), inner)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	version := func(v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), v)
	}
	nested := func(n int) []byte {
		var b []byte
		for range n {
			b = protowire.AppendTag(b, 9, protowire.StartGroupType)
		}
		for range n {
			b = protowire.AppendTag(b, 9, protowire.EndGroupType)
		}
		return b
	}
	a, b := bytes.Repeat([]byte{'A'}, 32), bytes.Repeat([]byte{'B'}, 32)
	mine := cat(version(2), half(2, a), half(3, b))
	theirs := cat(version(2), half(2, b), half(3, a))
	emptyHalf := func(num protowire.Number) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), nil)
	}
	cases := []struct {
		name        string
		mine, other []byte
		match       bool
		errPrefix   string // "": no error
	}{
		{"match", mine, theirs, true, ""},
		{"own code", mine, mine, false, ""},
		{"other without version", mine, cat(half(2, b), half(3, a)), false, "LibSignalError: fingerprint version number mismatch"},
		{"other version 1", mine, cat(version(1), half(2, b), half(3, a)), false, "LibSignalError: fingerprint version number mismatch"},
		{"mine without version", cat(half(2, a), half(3, b)), theirs, false, "LibSignalError: fingerprint parsing error: missing version"},
		{"mine without remote", cat(version(2), half(2, a)), theirs, false, "LibSignalError: fingerprint parsing error: missing remote fingerprint"},
		{"mine with an empty remote", cat(version(2), half(2, a), emptyHalf(3)), theirs, false, "LibSignalError: fingerprint parsing error: missing remote fingerprint"},
		{"mine with empty remote content", cat(version(2), half(2, a), half(3, nil)), theirs, false, ""},
		{"other without remote", mine, cat(version(2), half(2, b)), false, "LibSignalError: fingerprint parsing error: missing their remote fingerprint"},
		{"other truncated", mine, []byte{8}, false, "LibSignalError: fingerprint parsing error"},
		{"other empty", mine, []byte{}, false, "LibSignalError: fingerprint version number mismatch"},
		{"other with trailing garbage", mine, cat(theirs, []byte{0xff}), false, "LibSignalError: fingerprint parsing error"},
		{"other with a short half", mine, cat(version(2), half(2, b[:5]), half(3, a)), false, ""},
		{"halves merge", mine, cat(version(2), half(2, b), emptyHalf(2), half(3, a)), true, ""},
		{"other with empty local content", mine, cat(version(2), half(2, nil), half(3, a)), false, ""},
		{"groups 100 deep", mine, cat(theirs, nested(100)), true, ""},
		{"groups 101 deep", mine, cat(theirs, nested(101)), false, "LibSignalError: fingerprint parsing error"},
	}
	for _, im := range []impl{goImpl, libImpl} {
		t.Run(im.name, func(t *testing.T) {
			c := im.start(t)
			for _, tc := range cases {
				var r struct {
					Match bool `json:"match"`
				}
				err := c.Call("fingerprintCompare", map[string]any{"scannable": tc.mine, "other": tc.other}, &r)
				if tc.errPrefix == "" {
					if err != nil || r.Match != tc.match {
						t.Errorf("%s: match %v, %v; want %v", tc.name, r.Match, err, tc.match)
					}
					continue
				}
				var oe *interop.OracleError
				if !errors.As(err, &oe) || !strings.HasPrefix(oe.Class+": "+oe.Message, tc.errPrefix) {
					t.Errorf("%s: %v, want %q...", tc.name, err, tc.errPrefix)
				}
			}
		})
	}
}
