package sealedsender

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/internal/wire"
)

// field is one decoded protobuf field. Later occurrences of a field replace
// earlier ones, as protobuf requires, so parsers keep only the last.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
	pos int // order of appearance, to pick the last member of a oneof
}

// decodeFields splits b into fields. want gives the expected wire type of
// each known field number; a known field with another wire type is an error
// (as in prost), unknown fields are skipped.
func decodeFields(b []byte, want map[protowire.Number]protowire.Type) (map[protowire.Number]field, error) {
	out := map[protowire.Number]field{}
	i := 0
	for len(b) > 0 {
		num, typ, n := wire.ConsumeTag(b)
		if n < 0 {
			return nil, ErrInvalidProtobuf
		}
		b = b[n:]
		wt, known := want[num]
		if known && wt != typ {
			return nil, ErrInvalidProtobuf
		}
		f := field{num: num, typ: typ, pos: len(out) + i}
		i++
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = wire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, ErrInvalidProtobuf
		}
		b = b[n:]
		if known {
			out[num] = f
		}
	}
	return out, nil
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func clone(b []byte) []byte { return append([]byte{}, b...) }
