// Package media encrypts attachments (images, video, audio, documents,
// stickers) for Parley: WhatsApp's media scheme with Parley's labels. The
// sender picks a fresh 32-byte media key per file; HKDF-SHA256 (no salt,
// info "Parley <Kind> Keys") expands it to 112 bytes,
//
//	IV 16 ‖ AES-256 key 32 ‖ HMAC-SHA256 key 32 ‖ ref 32
//
// and the blob the server stores is
//
//	AES-256-CBC(PKCS#7-padded plaintext) ‖ HMAC-SHA256(MAC key, IV ‖ ciphertext)[:10]
//
// The message carries the key, the SHA-256 of the plaintext and the SHA-256
// of the blob. The receiver checks the blob's digest, the MAC and the
// padding before it hands out a single plaintext byte, and the plaintext's
// digest once it has decrypted all of it (Open).
//
// Everything streams with constant memory (64 KiB buffers), so a large
// video needs no more RAM than a photo. The package does no I/O of its own:
// it reads and writes what the caller gives it.
package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

// Kind is what an attachment is; it selects the HKDF label. The numbers
// are those of content.proto's Media.Kind.
type Kind uint8

// Kinds.
const (
	Image    Kind = 1
	Video    Kind = 2
	Audio    Kind = 3 // voice notes too
	Document Kind = 4
	Sticker  Kind = 5
)

// Info is the HKDF info string of k; empty for an unknown kind.
func (k Kind) Info() string {
	switch k {
	case Image:
		return "Parley Image Keys"
	case Video:
		return "Parley Video Keys"
	case Audio:
		return "Parley Audio Keys"
	case Document:
		return "Parley Document Keys"
	case Sticker:
		return "Parley Sticker Keys"
	}
	return ""
}

// Sizes.
const (
	KeySize   = 32 // the media key
	MACSize   = 10 // the truncated HMAC at the end of a blob
	blockSize = aes.BlockSize
	// MinBlobSize is the blob of an empty file: one padding block and the MAC.
	MinBlobSize = blockSize + MACSize
	bufSize     = 64 << 10
)

// Errors.
var (
	// ErrInvalid: a key of the wrong size or an unknown kind.
	ErrInvalid = errors.New("media: invalid key or kind")
	// ErrMalformed: the blob cannot be one this scheme made (its size).
	ErrMalformed = errors.New("media: malformed blob")
	// ErrTampered: the blob's digest, MAC or padding is wrong: it was
	// changed, cut, or made with another key.
	ErrTampered = errors.New("media: blob digest or MAC mismatch")
	// ErrDigest: the blob is authentic but the plaintext is not the one
	// the message announced.
	ErrDigest = errors.New("media: file digest mismatch")
)

// Keys are the expanded keys of one media key.
type Keys struct {
	IV     [16]byte
	Cipher [32]byte
	MAC    [32]byte
	Ref    [32]byte // unused by Parley; part of the expansion for compatibility of layout
}

// DeriveKeys expands a media key for kind.
func DeriveKeys(key []byte, kind Kind) (Keys, error) {
	if len(key) != KeySize || kind.Info() == "" {
		return Keys{}, ErrInvalid
	}
	b, err := hkdf.Key(sha256.New, key, nil, kind.Info(), 112)
	if err != nil {
		return Keys{}, err
	}
	var k Keys
	copy(k.IV[:], b[0:16])
	copy(k.Cipher[:], b[16:48])
	copy(k.MAC[:], b[48:80])
	copy(k.Ref[:], b[80:112])
	return k, nil
}

// EncryptedSize is the blob size of an n-byte plaintext.
func EncryptedSize(n int64) int64 { return n - n%blockSize + blockSize + MACSize }

// Result describes an encrypted file.
type Result struct {
	FileSHA256 []byte // of the plaintext
	EncSHA256  []byte // of the blob
	Size       int64  // plaintext bytes
	EncSize    int64  // blob bytes
}

// Encrypter reads a plaintext and yields its blob: an io.Reader, so that a
// blob can be produced twice (once for its digest, once for the upload)
// without being kept anywhere.
type Encrypter struct {
	src    io.Reader
	cbc    cipher.BlockMode
	mac    hash.Hash
	encSum hash.Hash
	sum    hash.Hash
	size   int64
	in     []byte // plaintext not yet encrypted (< one block between fills)
	out    []byte // blob bytes not yet read
	outBuf []byte
	eof    bool
	done   bool
	res    Result
}

// NewEncrypter encrypts what src yields with key for kind.
func NewEncrypter(src io.Reader, key []byte, kind Kind) (*Encrypter, error) {
	k, err := DeriveKeys(key, kind)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k.Cipher[:])
	if err != nil {
		return nil, err
	}
	e := &Encrypter{src: src, cbc: cipher.NewCBCEncrypter(block, k.IV[:]), mac: hmac.New(sha256.New, k.MAC[:]),
		encSum: sha256.New(), sum: sha256.New(), in: make([]byte, 0, bufSize+blockSize), outBuf: make([]byte, bufSize+blockSize+sha256.Size)}
	e.mac.Write(k.IV[:])
	return e, nil
}

// fill encrypts the next piece of plaintext into e.out.
func (e *Encrypter) fill() error {
	// e.in starts with the partial block left from the last fill, which
	// was hashed when it was read.
	for !e.eof && len(e.in) < bufSize {
		n, err := e.src.Read(e.in[len(e.in):bufSize])
		e.sum.Write(e.in[len(e.in) : len(e.in)+n])
		e.in = e.in[:len(e.in)+n]
		e.size += int64(n)
		if err == io.EOF {
			e.eof = true
		} else if err != nil {
			return err
		}
		if n == 0 && err == nil {
			break
		}
	}
	full := len(e.in) - len(e.in)%blockSize
	if e.eof {
		// PKCS#7: always 1..16 bytes of padding.
		pad := blockSize - len(e.in)%blockSize
		for range pad {
			e.in = append(e.in, byte(pad))
		}
		full = len(e.in)
	}
	out := e.outBuf[:full]
	e.cbc.CryptBlocks(out, e.in[:full])
	e.mac.Write(out)
	if e.eof {
		out = e.mac.Sum(out)[:full+MACSize]
		e.done = true
	}
	e.encSum.Write(out)
	e.out = out
	e.in = e.in[:copy(e.in, e.in[full:])]
	return nil
}

// Read yields the blob.
func (e *Encrypter) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		if err := e.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// Result is the file's digests and sizes, once Read returned io.EOF.
func (e *Encrypter) Result() Result {
	if !e.done || len(e.out) > 0 {
		return Result{}
	}
	return Result{FileSHA256: e.sum.Sum(nil), EncSHA256: e.encSum.Sum(nil), Size: e.size, EncSize: EncryptedSize(e.size)}
}

// Encrypt writes the blob of src to dst.
func Encrypt(dst io.Writer, src io.Reader, key []byte, kind Kind) (Result, error) {
	e, err := NewEncrypter(src, key, kind)
	if err != nil {
		return Result{}, err
	}
	if _, err := io.Copy(dst, e); err != nil {
		return Result{}, err
	}
	return e.Result(), nil
}
