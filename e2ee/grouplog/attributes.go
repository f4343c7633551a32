package grouplog

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parley-im/parley/e2ee/internal/kdf"
	"github.com/parley-im/parley/types"
)

// SecretSize is the size of a group secret.
const SecretSize = 32

// attributesInfo is the HKDF label of the key that seals a group's
// attributes.
const attributesInfo = "parley-group-attributes-v1"

// ErrAttributes is returned when sealed attributes do not open with the
// secret (a wrong secret, or bytes changed on the way).
var ErrAttributes = errors.New("grouplog: attributes do not open with this secret")

// The name, description and picture of a group are the members' business,
// not the server's: they travel sealed under a key from the group secret,
// which members get pairwise (or from an invite link) and the server never
// sees. The group id and the event's seq are the additional data, so a
// server cannot move a sealed name from one group or event to another.
func attributesAEAD(secret []byte) (cipher.AEAD, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: group secret is %d bytes, want %d", ErrMalformed, len(secret), SecretSize)
	}
	var key [32]byte
	kdf.HKDF(key[:], nil, secret, []byte(attributesInfo))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func attributesAD(g types.GroupID, seq uint64) []byte {
	ad := make([]byte, 24)
	copy(ad, g[:])
	binary.BigEndian.PutUint64(ad[16:], seq)
	return ad
}

// SealAttributes seals attrs (a serialized content.GroupAttributes) for the
// event seq of group g: 12-byte nonce ‖ AES-256-GCM ciphertext.
func SealAttributes(secret []byte, g types.GroupID, seq uint64, attrs []byte) ([]byte, error) {
	aead, err := attributesAEAD(secret)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(attrs)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, attrs, attributesAD(g, seq)), nil
}

// OpenAttributes opens what SealAttributes sealed for the same group and seq.
func OpenAttributes(secret []byte, g types.GroupID, seq uint64, sealed []byte) ([]byte, error) {
	aead, err := attributesAEAD(secret)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrAttributes
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], attributesAD(g, seq))
	if err != nil {
		return nil, ErrAttributes
	}
	return out, nil
}

// NewSecret returns a fresh group secret.
func NewSecret() []byte {
	s := make([]byte, SecretSize)
	_, _ = rand.Read(s) // crypto/rand.Read never fails on supported platforms
	return s
}
