// Package curve implements the Curve25519 primitives of the Signal protocol
// exactly as libsignal encodes and uses them: X25519 keys serialised as
// 0x05‖u, clamped 32-byte private keys, XEdDSA signatures with libsignal's
// sign-bit convention, and the base-key canonicality check that libsignal
// applies during PQXDH.
//
// Everything here is pure computation: no I/O, no global state. Bad input
// never panics; it yields a sentinel error or false.
package curve

import (
	"crypto/rand"
	"errors"
	"io"
)

// KeyTypeDJB is the type byte libsignal prefixes to serialised Curve25519
// public keys ("DJB" after Daniel J. Bernstein).
const KeyTypeDJB = 0x05

// Sizes of the encodings handled by this package.
const (
	PublicKeySize           = 32     // raw Montgomery u-coordinate
	SerializedPublicKeySize = 1 + 32 // KeyTypeDJB ‖ u
	PrivateKeySize          = 32
	SharedSecretSize        = 32
	SignatureSize           = 64
)

var (
	// ErrInvalidKey reports a key of the wrong length or type byte, or an
	// agreement with a peer key that yields the all-zero secret.
	ErrInvalidKey = errors.New("curve: invalid key")
	// ErrBadSignature reports a signature that does not verify. Verify itself
	// returns a bool; the sentinel exists so that callers can wrap the failure.
	ErrBadSignature = errors.New("curve: bad signature")
)

// PublicKey is an X25519 public key: the little-endian Montgomery
// u-coordinate exactly as received, without the type byte. It is not
// reduced or validated on parse because libsignal does not do so either;
// IsCanonical is the explicit check where the protocol demands one.
type PublicKey [32]byte

// ParsePublicKey parses the libsignal serialisation 0x05‖u. It requires
// exactly 33 bytes (libsignal tolerates trailing bytes with a warning; we do
// not, because nothing we talk to produces them).
func ParsePublicKey(b []byte) (PublicKey, error) {
	if len(b) != SerializedPublicKeySize || b[0] != KeyTypeDJB {
		return PublicKey{}, ErrInvalidKey
	}
	var k PublicKey
	copy(k[:], b[1:])
	return k, nil
}

// Bytes returns the libsignal serialisation 0x05‖u (33 bytes, freshly
// allocated).
func (k PublicKey) Bytes() []byte {
	out := make([]byte, SerializedPublicKeySize)
	out[0] = KeyTypeDJB
	copy(out[1:], k[:])
	return out
}

// PrivateKey is a clamped X25519 scalar in the raw 32-byte form libsignal
// stores. Keeping it clamped matters beyond X25519: the XEdDSA nonce hashes
// these exact bytes, so an unclamped copy would give different signatures.
type PrivateKey [32]byte

// ParsePrivateKey accepts exactly 32 bytes and clamps them, as libsignal does
// for backward compatibility with unclamped stored keys.
func ParsePrivateKey(b []byte) (PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return PrivateKey{}, ErrInvalidKey
	}
	var k PrivateKey
	copy(k[:], b)
	clamp((*[32]byte)(&k))
	return k, nil
}

func clamp(k *[32]byte) {
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
}

// KeyPair is a private key together with its public key.
type KeyPair struct {
	Private PrivateKey
	Public  PublicKey
}

// GenerateKeyPair reads 32 bytes from rand (crypto/rand.Reader if nil) and
// clamps them, like libsignal's PrivateKey::new.
func GenerateKeyPair(rand io.Reader) (KeyPair, error) {
	var k PrivateKey
	if _, err := io.ReadFull(randOrDefault(rand), k[:]); err != nil {
		return KeyPair{}, err
	}
	clamp((*[32]byte)(&k))
	return KeyPair{Private: k, Public: k.PublicKey()}, nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
