package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
)

// Open checks the blob of size bytes at blob and then writes its plaintext
// to dst. It reads the blob twice: the first pass checks the blob's
// SHA-256 against encSHA256, the MAC, the padding and the plaintext's
// SHA-256 against fileSHA256 without writing anything, so that a blob that
// was changed, cut or made with another key (ErrTampered, ErrMalformed),
// or holds another file than announced (ErrDigest), leaves dst untouched.
// The second pass decrypts into dst and checks the plaintext's digest
// again, in case the blob changed in between (then dst has bytes and the
// error is ErrDigest; write to a temporary file to be safe from that too).
// It returns the plaintext size.
func Open(dst io.Writer, blob io.ReaderAt, size int64, key []byte, kind Kind, encSHA256, fileSHA256 []byte) (int64, error) {
	if err := Verify(io.NewSectionReader(blob, 0, size), size, key, kind, encSHA256, fileSHA256); err != nil {
		return 0, err
	}
	d, err := newDecrypter(key, kind, size)
	if err != nil {
		return 0, err
	}
	n, err := d.run(io.NewSectionReader(blob, 0, size), dst)
	if err != nil {
		return n, err
	}
	if subtle.ConstantTimeCompare(d.sum.Sum(nil), fileSHA256) != 1 {
		return n, fmt.Errorf("%w: the blob changed while it was decrypted", ErrDigest)
	}
	return n, nil
}

// Verify reads the size-byte blob from src and checks everything Open
// checks, writing nothing.
func Verify(src io.Reader, size int64, key []byte, kind Kind, encSHA256, fileSHA256 []byte) error {
	d, err := newDecrypter(key, kind, size)
	if err != nil {
		return err
	}
	if _, err := d.run(src, nil); err != nil {
		return err
	}
	// Every check is made, and only then the verdict given, so that the
	// time taken says nothing about which one failed.
	okEnc := subtle.ConstantTimeCompare(d.encSum.Sum(nil), encSHA256)
	okMAC := subtle.ConstantTimeCompare(d.mac.Sum(nil)[:MACSize], d.tag[:])
	okPad := d.padOK
	if okEnc&okMAC&okPad != 1 {
		return ErrTampered
	}
	if subtle.ConstantTimeCompare(d.sum.Sum(nil), fileSHA256) != 1 {
		return ErrDigest
	}
	return nil
}

// decrypter is one pass over a blob.
type decrypter struct {
	cbc    cipher.BlockMode
	mac    hash.Hash
	encSum hash.Hash
	sum    hash.Hash
	ctLen  int64 // ciphertext bytes (size without the MAC)
	tag    [MACSize]byte
	padOK  int
}

func newDecrypter(key []byte, kind Kind, size int64) (*decrypter, error) {
	k, err := DeriveKeys(key, kind)
	if err != nil {
		return nil, err
	}
	if size < MinBlobSize || (size-MACSize)%blockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, size)
	}
	block, err := aes.NewCipher(k.Cipher[:])
	if err != nil {
		return nil, err
	}
	d := &decrypter{cbc: cipher.NewCBCDecrypter(block, k.IV[:]), mac: hmac.New(sha256.New, k.MAC[:]),
		encSum: sha256.New(), sum: sha256.New(), ctLen: size - MACSize}
	d.mac.Write(k.IV[:])
	return d, nil
}

// run reads the blob from src, hashing and decrypting it; with dst set it
// writes the plaintext there. The last block is held back until the
// padding is known.
func (d *decrypter) run(src io.Reader, dst io.Writer) (int64, error) {
	buf := make([]byte, bufSize)
	plain := make([]byte, bufSize)
	var written int64
	left := d.ctLen
	for left > 0 {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		if _, err := io.ReadFull(src, buf[:n]); err != nil {
			return written, readErr(err)
		}
		ct := buf[:n]
		d.encSum.Write(ct)
		d.mac.Write(ct)
		d.cbc.CryptBlocks(plain[:n], ct)
		out := plain[:n]
		left -= n
		if left == 0 {
			pad := int(out[len(out)-1])
			// The padding's bytes are checked in constant time; a bad one
			// makes the blob ErrTampered (the MAC would have caught it).
			d.padOK = subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, blockSize)
			for i := 1; i <= blockSize; i++ {
				in := subtle.ConstantTimeLessOrEq(i, pad)
				eq := subtle.ConstantTimeByteEq(out[len(out)-i], byte(pad))
				d.padOK &= eq | (in ^ 1)
			}
			if d.padOK == 1 {
				out = out[:len(out)-pad]
			} else {
				out = out[:len(out)-blockSize]
			}
		}
		d.sum.Write(out)
		if dst != nil {
			m, err := dst.Write(out)
			written += int64(m)
			if err != nil {
				return written, err
			}
		}
	}
	if _, err := io.ReadFull(src, d.tag[:]); err != nil {
		return written, readErr(err)
	}
	d.encSum.Write(d.tag[:])
	return written, nil
}

// readErr makes a blob shorter than its size ErrMalformed.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: shorter than its size", ErrMalformed)
	}
	return err
}
