package senderkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
)

// messageKeyInfo is the HKDF info libsignal uses for sender message keys.
const messageKeyInfo = "WhisperGroup"

// chainStep derives, from the chain key at some iteration, the message seed
// for that iteration and the chain key for the next one: HMAC-SHA256 of the
// single bytes 0x01 and 0x02 under the chain key, as in libsignal's
// SenderChainKey. HMAC is written out over sha256.Sum256 because a receiver
// may have to run this MaxForwardJump times for one message, and
// crypto/hmac's per-call allocations made that several times slower.
// TestChainStepIsHMAC checks it against crypto/hmac.
func chainStep(ck *[32]byte) (seed, next [32]byte) {
	var inner [sha256.BlockSize + 1]byte
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		var k byte
		if i < len(ck) {
			k = ck[i]
		}
		inner[i] = k ^ 0x36
		outer[i] = k ^ 0x5c
	}
	inner[sha256.BlockSize] = 0x01
	h := sha256.Sum256(inner[:])
	copy(outer[sha256.BlockSize:], h[:])
	seed = sha256.Sum256(outer[:])
	inner[sha256.BlockSize] = 0x02
	h = sha256.Sum256(inner[:])
	copy(outer[sha256.BlockSize:], h[:])
	next = sha256.Sum256(outer[:])
	return seed, next
}

// messageKeys expands a message seed into the CBC IV and the AES-256 key.
func messageKeys(seed *[32]byte) (iv [16]byte, key [32]byte) {
	okm, err := hkdf.Key(sha256.New, seed[:], nil, messageKeyInfo, 48)
	if err != nil {
		// Only possible for lengths above 255*32 bytes.
		panic("senderkey: unreachable: hkdf: " + err.Error())
	}
	copy(iv[:], okm[:16])
	copy(key[:], okm[16:])
	return iv, key
}

func encryptCBC(seed *[32]byte, plaintext []byte) []byte {
	iv, key := messageKeys(seed)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("senderkey: unreachable: aes: " + err.Error())
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	out := make([]byte, len(plaintext)+pad)
	copy(out, plaintext)
	for i := len(plaintext); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(out, out)
	return out
}

func decryptCBC(seed *[32]byte, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrInvalidMessage
	}
	iv, key := messageKeys(seed)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("senderkey: unreachable: aes: " + err.Error())
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv[:]).CryptBlocks(out, ciphertext)
	// The message is signed, so a padding oracle is not reachable by a
	// forger; the padding is still checked without data-dependent branches.
	pad := int(out[len(out)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, pad)
		match := subtle.ConstantTimeByteEq(out[len(out)-i], byte(pad))
		good &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	if good != 1 {
		return nil, ErrInvalidMessage
	}
	return out[:len(out)-pad], nil
}
