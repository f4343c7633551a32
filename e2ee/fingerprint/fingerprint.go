// Package fingerprint computes Signal safety numbers byte-compatibly with
// libsignal: the 60-digit displayable form users read aloud and the
// scannable form (a CombinedFingerprints protobuf) that goes into QR codes.
//
// Each party's digest is an iterated SHA-512 over a zero version prefix, the
// party's 33-byte serialized identity key (0x05‖32) and its stable
// identifier. The displayable number is independent of the fingerprint
// version; only the scannable encoding carries it, so that clients with
// different stable-identifier schemes (phone numbers in version 1, service
// ids in version 2) refuse to compare rather than report a false mismatch.
package fingerprint

import (
	"bytes"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Version1 and Version2 are the scannable fingerprint versions libsignal
// clients use; Signal clients currently create Version2.
const (
	Version1 uint32 = 1
	Version2 uint32 = 2
)

// DefaultIterations is the iteration count every Signal client uses; a
// different count yields different, incompatible safety numbers.
const DefaultIterations = 5200

// libsignal refuses counts outside (1, 1_000_000]: one round would skip the
// stretching entirely and a huge count is a denial of service.
const (
	minIterations = 2
	maxIterations = 1_000_000
)

const (
	identityKeyLen = 33
	keyTypeDJB     = 0x05
	// displayBytes of the digest feed the 30 digits; scanBytes go in the QR code.
	displayBytes = 30
	scanBytes    = 32
	chunkBytes   = 5
	digitsPerChk = 5
	partyDigits  = displayBytes / chunkBytes * digitsPerChk // 30
	groupCount   = 2 * partyDigits / digitsPerChk           // 12
)

var (
	// ErrInvalidIterations: the iteration count is outside libsignal's range.
	ErrInvalidIterations = errors.New("fingerprint: invalid iteration count")
	// ErrInvalidKey: an identity key is not a 33-byte 0x05-prefixed key.
	ErrInvalidKey = errors.New("fingerprint: invalid identity key")
	// ErrVersionMismatch: the scanned code uses another fingerprint version,
	// so the two clients cannot tell whether the identities match. Errors
	// returned for this case are *VersionMismatchError.
	ErrVersionMismatch = errors.New("fingerprint: version mismatch")
	// ErrMalformed: the scanned bytes are not a safety-number code at all
	// (not a CombinedFingerprints message, or one lacking a fingerprint).
	ErrMalformed = errors.New("fingerprint: scanned code is not a fingerprint")
)

// VersionMismatchError carries both versions so the UI can tell the user
// which side has to update.
type VersionMismatchError struct {
	Theirs, Ours uint32
}

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("fingerprint: version mismatch: theirs %d, ours %d", e.Theirs, e.Ours)
}

// Is makes errors.Is(err, ErrVersionMismatch) work.
func (e *VersionMismatchError) Is(target error) bool { return target == ErrVersionMismatch }

// Fingerprint is the safety number of one conversation as seen from the local
// side. It is immutable and safe for concurrent use.
type Fingerprint struct {
	version       uint32
	displayable   string
	local, remote [scanBytes]byte
	scannable     []byte
}

// New computes the fingerprint of the conversation between the local party
// and the remote party. The ids are the parties' stable identifiers as bytes
// (libsignal treats them as opaque); the keys are serialized identity public
// keys, 0x05‖32 bytes. The argument order follows libsignal's Node API
// Fingerprint.new(iterations, version, localId, localKey, remoteId, remoteKey).
func New(iterations int, version uint32, localID, localKey, remoteID, remoteKey []byte) (*Fingerprint, error) {
	if iterations < minIterations || iterations > maxIterations {
		return nil, fmt.Errorf("%w: %d", ErrInvalidIterations, iterations)
	}
	if err := checkKey(localKey); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	if err := checkKey(remoteKey); err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	ld := digest(iterations, localID, localKey)
	rd := digest(iterations, remoteID, remoteKey)

	f := &Fingerprint{version: version}
	copy(f.local[:], ld[:scanBytes])
	copy(f.remote[:], rd[:scanBytes])

	// Sorting makes both parties show the same number without agreeing on
	// who is "first".
	ls, rs := encodeDigits(ld[:displayBytes]), encodeDigits(rd[:displayBytes])
	if ls < rs {
		f.displayable = ls + rs
	} else {
		f.displayable = rs + ls
	}
	f.scannable = encodeCombined(version, f.local[:], f.remote[:])
	return f, nil
}

func checkKey(k []byte) error {
	if len(k) != identityKeyLen {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(k), identityKeyLen)
	}
	if k[0] != keyTypeDJB {
		return fmt.Errorf("%w: key type 0x%02x, want 0x%02x", ErrInvalidKey, k[0], keyTypeDJB)
	}
	return nil
}

// digest is libsignal's per-party hash: H0 = SHA-512(0x0000‖key‖id‖key),
// Hi = SHA-512(Hi-1‖key), iterations hashes in all. The key is mixed into
// every round so that precomputation cannot be shared across identities.
func digest(iterations int, id, key []byte) [sha512.Size]byte {
	h := sha512.New()
	h.Write([]byte{0, 0}) // the digest format version, always 0
	h.Write(key)
	h.Write(id)
	h.Write(key)
	var out [sha512.Size]byte
	h.Sum(out[:0])

	// One reusable buffer keeps the 5200-round loop allocation-free.
	var buf [sha512.Size + identityKeyLen]byte
	copy(buf[sha512.Size:], key)
	for i := 1; i < iterations; i++ {
		copy(buf[:sha512.Size], out[:])
		out = sha512.Sum512(buf[:])
	}
	return out
}

// encodeDigits turns 30 digest bytes into 30 decimal digits: six 40-bit
// big-endian chunks, each reduced mod 100000 and zero-padded. The modulo bias
// is negligible (2^40 / 10^5 ≈ 1.1e7 full cycles).
func encodeDigits(b []byte) string {
	out := make([]byte, 0, partyDigits)
	var chunk [8]byte
	for i := 0; i+chunkBytes <= len(b); i += chunkBytes {
		copy(chunk[8-chunkBytes:], b[i:i+chunkBytes])
		n := binary.BigEndian.Uint64(chunk[:]) % 100000
		s := strconv.FormatUint(n, 10)
		for range digitsPerChk - len(s) {
			out = append(out, '0')
		}
		out = append(out, s...)
	}
	return string(out)
}

// Version reports the scannable fingerprint version this value was built with.
func (f *Fingerprint) Version() uint32 { return f.version }

// Displayable returns the 60-digit safety number, identical on both sides.
func (f *Fingerprint) Displayable() string { return f.displayable }

// DisplayableGroups returns the safety number as 12 groups of 5 digits, the
// way Signal lays it out for reading aloud.
func (f *Fingerprint) DisplayableGroups() []string {
	if len(f.displayable) != groupCount*digitsPerChk {
		return nil // a zero Fingerprint not made by New
	}
	g := make([]string, groupCount)
	for i := range g {
		g[i] = f.displayable[i*digitsPerChk : (i+1)*digitsPerChk]
	}
	return g
}

// Scannable returns the serialized CombinedFingerprints for the QR code. The
// slice is a fresh copy.
func (f *Fingerprint) Scannable() []byte { return bytes.Clone(f.scannable) }

// Compare checks a code scanned from the other party's screen, which is
// untrusted camera input. It returns true only if their "local" is our
// "remote" and vice versa. Like libsignal it returns (false, nil) when the
// code is well formed but shows other identities (including our own code
// scanned back), a *VersionMismatchError (matching ErrVersionMismatch) when
// the version differs (a missing version counts as 0), and ErrMalformed when
// the bytes are not a fingerprint code. Content comparison is constant time.
func (f *Fingerprint) Compare(scanned []byte) (bool, error) {
	c, err := decodeCombined(scanned)
	if err != nil {
		return false, err
	}
	if c.version != f.version {
		return false, &VersionMismatchError{Theirs: c.version, Ours: f.version}
	}
	if !c.local.hasContent {
		return false, fmt.Errorf("%w: missing their local fingerprint", ErrMalformed)
	}
	if !c.remote.hasContent {
		return false, fmt.Errorf("%w: missing their remote fingerprint", ErrMalformed)
	}
	// Both comparisons always run; ConstantTimeCompare yields 0 on length
	// mismatch, as libsignal's ct_eq does.
	same := subtle.ConstantTimeCompare(c.local.content, f.remote[:]) &
		subtle.ConstantTimeCompare(c.remote.content, f.local[:])
	return same == 1, nil
}

// Scanned is a scannable code taken apart, for callers that hold the bytes
// of a code rather than the Fingerprint that made it (a driver comparing two
// codes, a code kept from an earlier scan).
type Scanned struct {
	Version    uint32 // 0 when absent, as libsignal reads it
	HasVersion bool
	Local      []byte
	HasLocal   bool // the local half carried a content field, even an empty one
	Remote     []byte
	HasRemote  bool
}

// ParseScannable reads a scannable code with the rules Compare applies to
// scanned input; its errors match ErrMalformed.
func ParseScannable(b []byte) (Scanned, error) {
	c, err := decodeCombined(b)
	if err != nil {
		return Scanned{}, err
	}
	return Scanned{
		Version: c.version, HasVersion: c.hasVersion,
		Local: c.local.content, HasLocal: c.local.hasContent,
		Remote: c.remote.content, HasRemote: c.remote.hasContent,
	}, nil
}
