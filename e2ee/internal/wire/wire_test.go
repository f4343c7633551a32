package wire

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func group(num protowire.Number, depth int) []byte {
	var b []byte
	for range depth {
		b = protowire.AppendTag(b, num, protowire.StartGroupType)
	}
	for range depth {
		b = protowire.AppendTag(b, num, protowire.EndGroupType)
	}
	return b
}

func TestConsume(t *testing.T) {
	varint := func(num protowire.Number) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1)
	}
	for _, c := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"varint", varint(7), true},
		{"largest field number", varint(protowire.MaxValidNumber), true},
		{"field number 2^29", varint(protowire.MaxValidNumber + 1), false},
		{"field number 2^31-1", varint(1<<31 - 1), false},
		{"field number 0", []byte{0x00, 0x01}, false},
		{"group", group(9, 1), true},
		{"groups 100 deep", group(9, RecursionLimit), true},
		{"groups 101 deep", group(9, RecursionLimit+1), false},
		{"group with a bad field number inside", append(append(protowire.AppendTag(nil, 9, protowire.StartGroupType),
			varint(protowire.MaxValidNumber+1)...), protowire.AppendTag(nil, 9, protowire.EndGroupType)...), false},
		{"mismatched end", append(protowire.AppendTag(nil, 9, protowire.StartGroupType), protowire.AppendTag(nil, 8, protowire.EndGroupType)...), false},
		{"end without start", protowire.AppendTag(nil, 9, protowire.EndGroupType), false},
		{"unterminated group", protowire.AppendTag(nil, 9, protowire.StartGroupType), false},
	} {
		num, typ, n := ConsumeTag(c.b)
		ok := n >= 0
		if ok {
			m := ConsumeFieldValue(num, typ, c.b[n:])
			ok = m >= 0 && n+m == len(c.b)
		}
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
		}
	}
}

func FuzzConsume(f *testing.F) {
	f.Add(group(9, 3))
	f.Add(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 300))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never more lenient than protowire, never out of bounds.
		num, typ, n := ConsumeTag(b)
		if n < 0 {
			return
		}
		m := ConsumeFieldValue(num, typ, b[n:])
		if m > len(b)-n {
			t.Fatalf("consumed %d of %d bytes", m, len(b)-n)
		}
		if m >= 0 && protowire.ConsumeFieldValue(num, typ, b[n:]) != m {
			t.Fatalf("accepted %d bytes where protowire reads %d", m, protowire.ConsumeFieldValue(num, typ, b[n:]))
		}
	})
}
