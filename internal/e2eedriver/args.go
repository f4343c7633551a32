package e2eedriver

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/parley-im/parley/e2ee/session"
)

// argReader reads the arguments of one request (or one nested object) with
// the oracle's rules and messages. The first problem sticks: later reads
// return zero values, and err reports the first, which is what the oracle
// reports since it stops at the first bad argument.
type argReader struct {
	m     map[string]json.RawMessage
	where string // "args", "args.bundle", "args.state.sessions[2]", ...
	err   error
}

func (a *argReader) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func firstByte(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func isJSONString(raw json.RawMessage) bool { return firstByte(raw) == '"' }
func isJSONObject(raw json.RawMessage) bool { return firstByte(raw) == '{' }

// has reports whether key is present and not null (the oracle's has).
func (a *argReader) has(key string) bool {
	raw, ok := a.m[key]
	return ok && !isNull(raw)
}

func (a *argReader) need(key string) (json.RawMessage, bool) {
	if a.err != nil {
		return nil, false
	}
	if !a.has(key) {
		a.fail(badRequest("%s.%s is required", a.where, key))
		return nil, false
	}
	return a.m[key], true
}

func (a *argReader) str(key string) string {
	raw, ok := a.need(key)
	if !ok {
		return ""
	}
	var s string
	if !isJSONString(raw) || json.Unmarshal(raw, &s) != nil {
		a.fail(badRequest("%s.%s must be a string", a.where, key))
	}
	return s
}

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER: the oracle takes
// only integers a double holds exactly.
const maxSafeInteger = 1<<53 - 1

// int reads a non-negative safe integer, the oracle's int. Like JSON.parse
// it accepts any number syntax with an integral value (3, 3.0, 3e0).
func (a *argReader) int(key string) uint64 {
	raw, ok := a.need(key)
	if !ok {
		return 0
	}
	s := string(bytes.TrimSpace(raw))
	if c := firstByte(raw); c != '-' && (c < '0' || c > '9') {
		a.fail(badRequest("%s.%s must be a non-negative integer", a.where, key))
		return 0
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n <= maxSafeInteger {
		return n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > maxSafeInteger {
		a.fail(badRequest("%s.%s must be a non-negative integer", a.where, key))
		return 0
	}
	return uint64(f)
}

// u32 is int for the values libsignal keeps in 32 bits (ids, registration
// ids). libsignal's binding rejects larger ones before it does anything.
func (a *argReader) u32(key string) uint32 {
	n := a.int(key)
	if n > math.MaxUint32 {
		a.fail(badRequest("%s.%s must be below 2^32", a.where, key))
		return 0
	}
	return uint32(n)
}

func (a *argReader) optU32(key string) (uint32, bool) {
	if !a.has(key) {
		return 0, false
	}
	return a.u32(key), true
}

// when reads a time in milliseconds since 1970, or def when absent.
func (a *argReader) when(key string, def time.Time) time.Time {
	if !a.has(key) {
		return def
	}
	ms := a.int(key)
	return time.UnixMilli(int64(ms))
}

func (a *argReader) decode(key string, raw json.RawMessage) []byte {
	var s string
	if !isJSONString(raw) || json.Unmarshal(raw, &s) != nil || !isStdBase64(s) {
		a.fail(badRequest("%s.%s: not standard padded base64", a.where, key))
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		a.fail(badRequest("%s.%s: not standard padded base64", a.where, key))
		return nil
	}
	return b
}

// isStdBase64 checks the alphabet and length; Go's decoder alone would also
// accept embedded newlines, which the oracle refuses.
func isStdBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// bytes reads required binary data (keys, ciphertexts).
func (a *argReader) bytes(key string) []byte {
	raw, ok := a.need(key)
	if !ok {
		return nil
	}
	return a.decode(key, raw)
}

// payload reads binary data that may be empty: absent or null is empty.
func (a *argReader) payload(key string) []byte {
	if a.err != nil || !a.has(key) {
		return []byte{}
	}
	return a.decode(key, a.m[key])
}

// optBytes reads binary data that may be absent (nil).
func (a *argReader) optBytes(key string) []byte {
	if a.err != nil || !a.has(key) {
		return nil
	}
	b := a.decode(key, a.m[key])
	if b == nil {
		b = []byte{}
	}
	return b
}

// object reads a nested object. A failed read returns an empty reader that
// shares the sticky error.
func (a *argReader) object(key string) *argReader {
	sub := &argReader{m: map[string]json.RawMessage{}, where: a.where + "." + key}
	raw, ok := a.need(key)
	if ok && (!isJSONObject(raw) || json.Unmarshal(raw, &sub.m) != nil) {
		a.fail(badRequest("%s.%s must be an object", a.where, key))
	}
	sub.err = a.err
	return sub
}

// list reads an optional array of objects (absent or null: none).
func (a *argReader) list(key string) []*argReader {
	if a.err != nil || !a.has(key) {
		return nil
	}
	var raws []json.RawMessage
	if firstByte(a.m[key]) != '[' || json.Unmarshal(a.m[key], &raws) != nil {
		a.fail(badRequest("%s.%s must be an array", a.where, key))
		return nil
	}
	out := make([]*argReader, len(raws))
	for i, raw := range raws {
		out[i] = &argReader{m: map[string]json.RawMessage{}, where: a.where + "." + key + "[" + strconv.Itoa(i) + "]"}
		if !isJSONObject(raw) || json.Unmarshal(raw, &out[i].m) != nil {
			a.fail(badRequest("%s must be an object", out[i].where))
			return nil
		}
	}
	return out
}

// merge takes over the first error of a nested reader.
func (a *argReader) merge(sub *argReader) {
	if sub.err != nil {
		a.fail(sub.err)
	}
}

// flag is the oracle's `args.key === true`: anything else is false.
func (a *argReader) flag(key string) bool {
	return bytes.Equal(bytes.TrimSpace(a.m[key]), []byte("true"))
}

// address reads {name, deviceId}. A device id outside 1..127 is libsignal's
// InvalidProtocolAddress, not a bad request: the oracle gets it from
// libsignal when it builds the address.
func (a *argReader) address(key string) session.Address {
	sub := a.object(key)
	name := sub.str("name")
	dev := sub.int("deviceId")
	a.merge(sub)
	if a.err != nil {
		return session.Address{}
	}
	if dev < 1 || dev > session.MaxDeviceID {
		a.fail(invalidAddress(name, dev))
		return session.Address{}
	}
	return session.Address{Name: name, DeviceID: uint32(dev)}
}

// distribution reads a distribution id, a UUID string in the 8-4-4-4-12
// hex form (either case).
func (a *argReader) distribution(key string) [16]byte {
	s := a.str(key)
	var id [16]byte
	if a.err != nil {
		return id
	}
	id, ok := parseUUID(s)
	if !ok {
		a.fail(badRequest("%s.%s: invalid UUID %q", a.where, key, s))
	}
	return id
}

func parseUUID(s string) (id [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	compact := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(compact)); err != nil {
		return id, false
	}
	return id, true
}

func formatUUID(id [16]byte) string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Bytes is binary data in answers: standard padded base64, and "" rather
// than null when empty, as the oracle writes it.
type Bytes []byte

// MarshalJSON implements json.Marshaler.
func (b Bytes) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+base64.StdEncoding.EncodedLen(len(b)))
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}
