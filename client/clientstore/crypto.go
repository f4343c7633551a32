package clientstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// DataKeySize is the size of the random key everything is sealed under.
const DataKeySize = 32

// sealVersion is the first byte of every sealed column. It is also part of
// the additional data, so a future format cannot be passed off as this one.
const sealVersion = 1

// sealOverhead is what sealing adds: version, nonce, GCM tag.
const sealOverhead = 1 + 12 + 16

// cipherKeys are the working keys derived from the data key. The data key
// itself is not kept: HKDF separates the sealing key from the key of the
// lookup hashes, so neither can be turned into the other.
type cipherKeys struct {
	aead  cipher.AEAD // AES-256-GCM, random 96-bit nonces
	index []byte      // HMAC-SHA256 key of the lookup columns
}

func newCipherKeys(dataKey []byte) (*cipherKeys, error) {
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("%w: data key is %d bytes, want %d", ErrCorrupt, len(dataKey), DataKeySize)
	}
	sealKey, err := hkdf.Key(sha256.New, dataKey, nil, "parley clientstore v1 seal", 32)
	if err != nil {
		return nil, err
	}
	indexKey, err := hkdf.Key(sha256.New, dataKey, nil, "parley clientstore v1 index", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	// Random nonces: a client seals far fewer than the 2^32 messages after
	// which NIST asks for a new key (every stored session update is one).
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &cipherKeys{aead: aead, index: indexKey}, nil
}

// seal encrypts plaintext for the row that ad names. ad is the row's
// identity (table label and key columns), so a sealed value copied into
// another row, or another table, does not open there.
func (k *cipherKeys) seal(plaintext []byte, ad ...[]byte) []byte {
	out := make([]byte, 1, sealOverhead+len(plaintext))
	out[0] = sealVersion
	return k.aead.Seal(out, nil, plaintext, joinAD(ad))
}

// open reverses seal; any mismatch is ErrCorrupt.
func (k *cipherKeys) open(sealed []byte, ad ...[]byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: sealed value of %d bytes", ErrCorrupt, len(sealed))
	}
	pt, err := k.aead.Open(nil, nil, sealed[1:], joinAD(ad))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed value does not open for its row", ErrCorrupt)
	}
	return pt, nil
}

// hash is the keyed lookup hash of a row key: HMAC-SHA256 under the index
// key over the length-prefixed parts. Equal inputs give equal hashes, so
// the column can be indexed, but without the data key nobody can test
// whether a given account or phone number is in the file.
func (k *cipherKeys) hash(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write(joinAD(parts))
	return m.Sum(nil)
}

// joinAD concatenates parts with 4-byte length prefixes, so that no two
// different lists give the same bytes. The seal version is in front.
func joinAD(parts [][]byte) []byte {
	n := 1
	for _, p := range parts {
		n += 4 + len(p)
	}
	out := make([]byte, 1, n)
	out[0] = sealVersion
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// u64 is the 8-byte big-endian form of an integer key column, for ad.
func u64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// Labels that start every ad and hash, one per kind of row.
var (
	labelAccount      = []byte("account")
	labelIdentity     = []byte("identity")
	labelSession      = []byte("session")
	labelSenderKey    = []byte("sender key")
	labelPreKey       = []byte("prekey")
	labelKyberUse     = []byte("kyber use")
	labelName         = []byte("name")
	labelContact      = []byte("contact")
	labelPhone        = []byte("phone")
	labelConversation = []byte("conversation")
	labelMessage      = []byte("message")
	labelReceipt      = []byte("receipt")
	labelReaction     = []byte("reaction")
	labelOutbox       = []byte("outbox")
	// v2
	labelGroup           = []byte("group")
	labelSenderKeyHolder = []byte("sender key holder")
)
