package clientstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KeyProtector wraps the store's data key for storage in the file, and
// unwraps it on Open. The store keeps Kind and the wrapped bytes in its
// store_keys table; the protector decides everything else.
//
// PassphraseProtector is the one built in. An OS keyring protector is the
// intended second one (macOS Keychain, Windows Credential Manager, the
// freedesktop Secret Service): its Wrap would create a random 256-bit
// key-encryption key, put it in the keyring under a random entry name, and
// return that name with the data key sealed under the KEK (AES-256-GCM);
// Unwrap would look the entry up and open the seal, returning ErrWrongKey
// when the entry is missing or does not open it. It needs per-OS code or a
// dependency (such as github.com/zalando/go-keyring), so it is not written
// yet; nothing in the store has to change for it.
type KeyProtector interface {
	// Kind names the protector in the file, e.g. "passphrase".
	Kind() string
	// Wrap seals dataKey and returns what to store.
	Wrap(ctx context.Context, dataKey []byte) ([]byte, error)
	// Unwrap returns the data key from what Wrap returned. A secret that
	// does not open it is an error wrapping ErrWrongKey; malformed input
	// one wrapping ErrCorrupt.
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// Argon2Params are the Argon2id costs of a PassphraseProtector. They are
// stored in the file beside the salt, so they can be raised later without
// breaking old files.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // parallelism
}

// DefaultArgon2Params is RFC 9106's second recommended setting (t=3,
// 64 MiB, p=4): well under a second on a laptop, costly to guess at scale.
var DefaultArgon2Params = Argon2Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// Limits on parameters read from a file, so that a tampered file cannot make
// Open allocate without bound or spin for hours.
const (
	maxArgon2Time      = 64
	maxArgon2MemoryKiB = 4 << 20 // 4 GiB
	maxArgon2Threads   = 64
)

func (p Argon2Params) valid() bool {
	return p.Time >= 1 && p.Time <= maxArgon2Time &&
		p.Threads >= 1 && p.Threads <= maxArgon2Threads &&
		p.MemoryKiB >= 8*uint32(p.Threads) && p.MemoryKiB <= maxArgon2MemoryKiB
}

// PassphraseProtector derives a key-encryption key from a passphrase with
// Argon2id and seals the data key under it with AES-256-GCM. Params are
// used when wrapping (zero: DefaultArgon2Params); unwrapping uses the ones
// recorded in the wrapped bytes.
type PassphraseProtector struct {
	Passphrase []byte
	Params     Argon2Params
}

// Passphrase returns a protector for pass with the default costs.
func Passphrase(pass string) *PassphraseProtector {
	return &PassphraseProtector{Passphrase: []byte(pass)}
}

// Kind implements KeyProtector.
func (p *PassphraseProtector) Kind() string { return "passphrase" }

// The wrapped form: version ‖ time (4, BE) ‖ memory KiB (4, BE) ‖ threads
// (1) ‖ salt (16) ‖ nonce (12) ‖ sealed data key (32 + 16). Everything
// before the nonce is the header, which is also the GCM additional data, so
// the costs cannot be lowered in the file without the unwrap failing.
const (
	passphraseVersion  = 1
	passphraseSaltSize = 16
	passphraseHeader   = 1 + 4 + 4 + 1 + passphraseSaltSize
	passphraseWrapped  = passphraseHeader + 12 + DataKeySize + 16
)

// Wrap implements KeyProtector.
func (p *PassphraseProtector) Wrap(_ context.Context, dataKey []byte) ([]byte, error) {
	if len(p.Passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", ErrInvalid)
	}
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("%w: data key is %d bytes", ErrInvalid, len(dataKey))
	}
	params := p.Params
	if params == (Argon2Params{}) {
		params = DefaultArgon2Params
	}
	if !params.valid() {
		return nil, fmt.Errorf("%w: Argon2 parameters %+v", ErrInvalid, params)
	}
	out := make([]byte, passphraseHeader, passphraseWrapped)
	out[0] = passphraseVersion
	binary.BigEndian.PutUint32(out[1:], params.Time)
	binary.BigEndian.PutUint32(out[5:], params.MemoryKiB)
	out[9] = params.Threads
	salt := out[10:passphraseHeader]
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := passphraseAEAD(p.Passphrase, salt, params)
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, nil, dataKey, out[:passphraseHeader]), nil
}

// Unwrap implements KeyProtector.
func (p *PassphraseProtector) Unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	params, salt, err := parsePassphraseWrapped(wrapped)
	if err != nil {
		return nil, err
	}
	aead, err := passphraseAEAD(p.Passphrase, salt, params)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, nil, wrapped[passphraseHeader:], wrapped[:passphraseHeader])
	if err != nil {
		return nil, fmt.Errorf("%w: passphrase does not unlock the store", ErrWrongKey)
	}
	return key, nil
}

// parsePassphraseWrapped checks the shape and the costs of a wrapped key.
func parsePassphraseWrapped(b []byte) (Argon2Params, []byte, error) {
	if len(b) != passphraseWrapped || b[0] != passphraseVersion {
		return Argon2Params{}, nil, fmt.Errorf("%w: wrapped key of %d bytes", ErrCorrupt, len(b))
	}
	params := Argon2Params{
		Time:      binary.BigEndian.Uint32(b[1:]),
		MemoryKiB: binary.BigEndian.Uint32(b[5:]),
		Threads:   b[9],
	}
	if !params.valid() {
		return Argon2Params{}, nil, fmt.Errorf("%w: Argon2 parameters %+v out of range", ErrCorrupt, params)
	}
	return params, b[10:passphraseHeader], nil
}

func passphraseAEAD(pass, salt []byte, params Argon2Params) (cipher.AEAD, error) {
	kek := argon2.IDKey(pass, salt, params.Time, params.MemoryKiB, params.Threads, 32)
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}
