package e2eedriver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// compareScannable is the oracle's fingerprintCompare: mine and other are
// two scannable fingerprints (CombinedFingerprints protobufs), and they
// match when other's local half is mine's remote half and the other way
// round. e2ee/fingerprint compares a code with a Fingerprint it computed
// and offers no way to load one from its scannable bytes, so both are read
// here, with the semantics the oracle shows: mine must carry a version and
// both halves; other may lack the version (it counts as 0) but not a half.
func compareScannable(mine, other []byte) (bool, error) {
	m, err := parseCombined(mine)
	if err != nil {
		return false, fmt.Errorf("fingerprint parsing error: %w", err)
	}
	switch {
	case !m.hasVersion:
		return false, errors.New("fingerprint parsing error: missing version")
	case !m.local.present:
		return false, errors.New("fingerprint parsing error: missing local fingerprint")
	case !m.remote.present:
		return false, errors.New("fingerprint parsing error: missing remote fingerprint")
	}
	o, err := parseCombined(other)
	if err != nil {
		return false, fmt.Errorf("fingerprint parsing error: failed to decode their protobuf: %w", err)
	}
	if o.version != m.version {
		return false, fmt.Errorf("fingerprint version number mismatch them %d us %d", o.version, m.version)
	}
	switch {
	case !o.local.present:
		return false, errors.New("fingerprint parsing error: missing their local fingerprint")
	case !o.remote.present:
		return false, errors.New("fingerprint parsing error: missing their remote fingerprint")
	}
	same := subtle.ConstantTimeCompare(o.local.content, m.remote.content) & subtle.ConstantTimeCompare(o.remote.content, m.local.content)
	return same == 1, nil
}

type combined struct {
	version       uint32
	hasVersion    bool
	local, remote half
}

type half struct {
	content []byte
	present bool // the content field was there, even if empty
}

// parseCombined reads CombinedFingerprints {1 version, 2 local, 3 remote},
// each half a LogicalFingerprint {1 content}, with the decoder semantics
// libsignal shows (prost's, which e2ee/fingerprint follows too): unknown
// fields are skipped, the last scalar wins, a repeated half merges into the
// earlier one, a known field with the wrong wire type is an error, and
// nesting (the halves and unknown groups) stops at 100 levels.
func parseCombined(b []byte) (combined, error) {
	var c combined
	err := walkProto(b, recursionLimit, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			c.version, c.hasVersion = uint32(x), true
		case (num == 2 || num == 3) && typ == protowire.BytesType:
			h := &c.local
			if num == 3 {
				h = &c.remote
			}
			return walkProto(v, recursionLimit-1, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num != 1 {
					return nil
				}
				if typ != protowire.BytesType {
					return errWireType
				}
				h.content, h.present = v, true
				return nil
			})
		case num <= 3:
			return errWireType
		}
		return nil
	})
	return c, err
}

const recursionLimit = 100

var (
	errWireType  = errors.New("known field has the wrong wire type")
	errTooDeep   = errors.New("nesting too deep")
	errMalformed = errors.New("malformed protobuf")
)

// walkProto calls fn for each field of a protobuf message (v is the value of
// a length-delimited field, x that of a varint) and skips groups, with depth
// as the nesting budget.
func walkProto(b []byte, depth int, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n, err := consumeKey(b)
		if err != nil {
			return err
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			if n, err = skipField(num, typ, b, depth); err != nil {
				return err
			}
		}
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// consumeKey reads a field key; keys above 2^32-1, field number 0 and the
// wire types 6 and 7 are errors.
func consumeKey(b []byte) (protowire.Number, protowire.Type, int, error) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 || v > math.MaxUint32 || v&7 > uint64(protowire.Fixed32Type) || v>>3 == 0 {
		return 0, 0, 0, errMalformed
	}
	return protowire.Number(v >> 3), protowire.Type(v & 7), n, nil
}

// skipField skips the value of a fixed-width field or a group.
func skipField(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	if depth <= 0 {
		return 0, errTooDeep
	}
	switch typ {
	case protowire.VarintType:
		_, n := protowire.ConsumeVarint(b)
		return n, nil
	case protowire.BytesType:
		_, n := protowire.ConsumeBytes(b)
		return n, nil
	case protowire.Fixed32Type:
		_, n := protowire.ConsumeFixed32(b)
		return n, nil
	case protowire.Fixed64Type:
		_, n := protowire.ConsumeFixed64(b)
		return n, nil
	case protowire.StartGroupType:
		off := 0
		for {
			inum, ityp, kn, err := consumeKey(b[off:])
			if err != nil {
				return 0, err
			}
			off += kn
			if ityp == protowire.EndGroupType {
				if inum != num {
					return 0, errMalformed
				}
				return off, nil
			}
			vn, err := skipField(inum, ityp, b[off:], depth-1)
			if err != nil {
				return 0, err
			}
			if vn < 0 {
				return 0, errMalformed
			}
			off += vn
		}
	}
	return 0, errMalformed // an end-group key outside any group
}
