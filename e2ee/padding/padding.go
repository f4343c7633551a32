// Package padding is Signal's transport padding of message content, applied
// to the serialized Content before it is encrypted and removed after it is
// decrypted.
//
// Why: the Double Ratchet and sender-key ciphers (AES-CBC) reveal the length
// of what they encrypt to within 16 bytes, so without padding the server and
// anyone on the wire could tell a "k" from a long message, or a receipt from
// a text, by size alone. Padding rounds every content up to a step of
// BlockSize bytes.
//
// The rule, as current Signal clients apply it (Signal-Android's
// PushTransportDetails, Signal-Desktop's padMessage): a content of n bytes
// becomes content ‖ 0x80 ‖ 0x00…, PaddedLen(n) = ⌈(n+2)/BlockSize⌉·BlockSize − 1
// bytes long. The length is one short of a whole step on purpose: the
// cipher's PKCS#7 padding then adds exactly one byte, so the ciphertext body
// is a whole number of steps (measured against libsignal 0.103.0: a 79-byte
// plaintext encrypts to an 80-byte body, an 80-byte one to 96). Older clients
// used 160-byte steps; Unpad accepts any length, as the clients' receivers
// do, so it reads both.
//
// Nothing below this package pads: e2ee/session, e2ee/senderkey and
// e2ee/sealedsender encrypt exactly the bytes they are given, as libsignal
// does (libsignal-client 0.103.0 exposes no message padding; its padding
// functions are for backups and zkgroup blobs). The client calls Pad on the
// serialized Content before session.Encrypt or senderkey.Encrypt, and Unpad
// on what Decrypt returns.
package padding

import (
	"errors"
	"fmt"
)

// BlockSize is the padding step in bytes. Pad's output plus the one byte of
// the cipher's own padding is a multiple of it.
const BlockSize = 80

// ErrNoTerminator: the last non-zero byte of a padded content is not the
// 0x80 terminator, or there is none (empty or all zeros). The content was
// not padded, or not by this scheme.
var ErrNoTerminator = errors.New("padding: no 0x80 terminator")

// terminator ends the content; everything after it is zero.
const terminator = 0x80

// PaddedLen is the length Pad gives a content of n bytes (n ≥ 0).
func PaddedLen(n int) int {
	// Content, terminator and the cipher's one byte, rounded up to a step;
	// then the cipher's byte is taken back off.
	return (n+2+BlockSize-1)/BlockSize*BlockSize - 1
}

// Pad returns content ‖ 0x80 ‖ zeros, PaddedLen(len(content)) bytes long, in
// a new slice; content is not modified.
func Pad(content []byte) []byte {
	out := make([]byte, PaddedLen(len(content)))
	copy(out, content)
	out[len(content)] = terminator
	return out
}

// Unpad strips the trailing zeros and the 0x80 terminator before them and
// returns the content, a subslice of padded (capacity capped at its length,
// so appending to it cannot overwrite the padding). Any length is accepted.
// It fails with ErrNoTerminator when the last non-zero byte is not 0x80.
//
// It is not constant-time, and need not be: it runs on plaintext the
// cipher has already authenticated, so its outcome tells an attacker nothing
// about bytes he chose.
func Unpad(padded []byte) ([]byte, error) {
	for i := len(padded) - 1; i >= 0; i-- {
		switch padded[i] {
		case 0:
			continue
		case terminator:
			return padded[:i:i], nil
		default:
			return nil, fmt.Errorf("%w: byte %d of %d is 0x%02x", ErrNoTerminator, i, len(padded), padded[i])
		}
	}
	return nil, fmt.Errorf("%w: %d bytes, none of them non-zero", ErrNoTerminator, len(padded))
}
