package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"

	"github.com/parley-im/parley/e2ee/internal/kdf"
)

// KDF labels. They are libsignal's, and part of the wire compatibility.
const (
	labelPQXDH       = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024"
	labelRatchet     = "WhisperRatchet"
	labelMessageKeys = "WhisperMessageKeys"
)

// Limits, as in libsignal.
const (
	// MaxForwardJumps is how far beyond the current chain position a message
	// counter may be; one more is rejected with ErrTooFarAhead.
	MaxForwardJumps = 25_000
	// MaxMessageKeys is how many skipped message keys one receiving chain
	// keeps; the oldest are dropped first.
	MaxMessageKeys = 2000
	// MaxReceiverChains is how many receiving chains a session keeps.
	MaxReceiverChains = 5
	// MaxArchivedStates is how many previous session states a Record keeps.
	MaxArchivedStates = 40
)

// chainKey is one link of a symmetric-key ratchet chain.
type chainKey struct {
	key   [32]byte
	index uint32
}

var (
	seedMessageKey = []byte{0x01}
	seedChainKey   = []byte{0x02}

	labelRatchetBytes     = []byte(labelRatchet)
	labelMessageKeysBytes = []byte(labelMessageKeys)
)

func (c chainKey) next() chainKey {
	return chainKey{key: kdf.HMAC(c.key[:], seedChainKey), index: c.index + 1}
}

// messageSeed is the input to the message-key HKDF. libsignal keeps skipped
// keys in this form (not expanded) so that the SPQR salt can be applied when
// the message finally arrives.
func (c chainKey) messageSeed() [32]byte {
	return kdf.HMAC(c.key[:], seedMessageKey)
}

type messageKeys struct {
	cipherKey [32]byte
	macKey    [32]byte
	iv        [16]byte
}

// deriveMessageKeys expands a message seed. pqSalt is the SPQR message key,
// nil while a session runs without SPQR (an absent HKDF salt, equivalent to
// 32 zero bytes).
func deriveMessageKeys(seed [32]byte, pqSalt []byte) messageKeys {
	var okm [80]byte
	kdf.HKDF(okm[:], pqSalt, seed[:], labelMessageKeysBytes)
	var mk messageKeys
	copy(mk.cipherKey[:], okm[0:32])
	copy(mk.macKey[:], okm[32:64])
	copy(mk.iv[:], okm[64:80])
	return mk
}

// rootStep is the DH-ratchet KDF: HKDF(salt = root key, ikm = DH output,
// "WhisperRatchet") → new root key ‖ chain key.
func rootStep(root [32]byte, dh [32]byte) (newRoot [32]byte, ck chainKey) {
	var okm [64]byte
	kdf.HKDF(okm[:], root[:], dh[:], labelRatchetBytes)
	copy(newRoot[:], okm[:32])
	copy(ck.key[:], okm[32:64])
	return newRoot, ck
}

// AES-256-CBC with PKCS#7 padding (always 1..16 bytes). The chaining is
// done here, block by block: cipher.NewCBCEncrypter and NewCBCDecrypter
// allocate, and keep the IV, which moves the message keys to the heap.

// paddedLen is the ciphertext length for n bytes of plaintext.
func paddedLen(n int) int { return n + aes.BlockSize - n%aes.BlockSize }

// appendPadded appends plaintext and its padding to b.
func appendPadded(b, plaintext []byte) []byte {
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	b = append(b, plaintext...)
	for range pad {
		b = append(b, byte(pad))
	}
	return b
}

func newAES(mk *messageKeys) cipher.Block {
	block, err := aes.NewCipher(mk.cipherKey[:])
	if err != nil {
		panic("session: unreachable: AES-256 key length is fixed")
	}
	return block
}

// cbcEncrypt encrypts buf, a multiple of the block size, in place.
func cbcEncrypt(mk *messageKeys, buf []byte) {
	block := newAES(mk)
	prev := mk.iv[:]
	for i := 0; i < len(buf); i += aes.BlockSize {
		blk := buf[i : i+aes.BlockSize]
		subtle.XORBytes(blk, blk, prev)
		block.Encrypt(blk, blk)
		prev = blk
	}
}

// encryptCBC returns the padded and encrypted plaintext.
func encryptCBC(mk *messageKeys, plaintext []byte) []byte {
	out := appendPadded(make([]byte, 0, paddedLen(len(plaintext))), plaintext)
	cbcEncrypt(mk, out)
	return out
}

// decryptCBC reverses encryptCBC. The MAC has been checked before, so the
// padding check is not a padding oracle; it is still done without early
// exits because that costs nothing.
func decryptCBC(mk *messageKeys, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, errorf(ErrInvalidMessage, "ciphertext length %d is not a positive multiple of 16", len(ciphertext))
	}
	block := newAES(mk)
	out := make([]byte, len(ciphertext))
	prev := mk.iv[:]
	for i := 0; i < len(out); i += aes.BlockSize {
		blk := out[i : i+aes.BlockSize]
		block.Decrypt(blk, ciphertext[i:i+aes.BlockSize])
		subtle.XORBytes(blk, blk, prev)
		prev = ciphertext[i : i+aes.BlockSize]
	}
	pad := int(out[len(out)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, pad)
		match := subtle.ConstantTimeByteEq(out[len(out)-i], byte(pad))
		good &= match | (inPad ^ 1)
	}
	if good != 1 {
		return nil, errorf(ErrInvalidMessage, "bad padding")
	}
	return out[:len(out)-pad], nil
}
