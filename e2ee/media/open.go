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
// to dst. It reads the blob twice. The first pass checks the blob's
// SHA-256 against encSHA256, the MAC and the padding, and writes nothing:
// a blob that was changed, cut or made with another key (ErrTampered,
// ErrMalformed) leaves dst untouched. The second pass decrypts into dst
// and checks the plaintext's SHA-256 against fileSHA256 at the end: an
// authentic blob of another file than the message announced (a sender
// that lied), or a blob that changed between the passes, gives ErrDigest
// after dst got the bytes, so write to a temporary file and keep it only
// on success. It returns the plaintext size.
func Open(dst io.Writer, blob io.ReaderAt, size int64, key []byte, kind Kind, encSHA256, fileSHA256 []byte) (int64, error) {
	k, err := DeriveKeys(key, kind)
	if err != nil {
		return 0, err
	}
	if err := verify(blob, size, k, encSHA256); err != nil {
		return 0, err
	}
	return decrypt(dst, io.NewSectionReader(blob, 0, size), size, k, fileSHA256)
}

// Verify checks a blob as Open's first pass does (digest, MAC, padding),
// writing nothing.
func Verify(blob io.ReaderAt, size int64, key []byte, kind Kind, encSHA256 []byte) error {
	k, err := DeriveKeys(key, kind)
	if err != nil {
		return err
	}
	return verify(blob, size, k, encSHA256)
}

func checkSize(size int64) error {
	if size < MinBlobSize || (size-MACSize)%blockSize != 0 {
		return fmt.Errorf("%w: %d bytes", ErrMalformed, size)
	}
	return nil
}

// verify hashes the blob and checks its MAC, and the padding of its last
// block, which is all it decrypts.
func verify(blob io.ReaderAt, size int64, k Keys, encSHA256 []byte) error {
	if err := checkSize(size); err != nil {
		return err
	}
	ctLen := size - MACSize
	m := hmac.New(sha256.New, k.MAC[:])
	m.Write(k.IV[:])
	sum := sha256.New()
	buf := make([]byte, bufSize)
	src := io.NewSectionReader(blob, 0, ctLen)
	for left := ctLen; left > 0; {
		n := min(int64(len(buf)), left)
		if _, err := io.ReadFull(src, buf[:n]); err != nil {
			return readErr(err)
		}
		m.Write(buf[:n])
		sum.Write(buf[:n])
		left -= n
	}
	var tag [MACSize]byte
	if err := readAt(blob, tag[:], ctLen); err != nil {
		return err
	}
	sum.Write(tag[:])
	// The last block and the one before it (or the IV) give the padding.
	var last [2 * blockSize]byte
	prev := last[:blockSize]
	if ctLen > blockSize {
		if err := readAt(blob, last[:], ctLen-2*blockSize); err != nil {
			return err
		}
	} else {
		copy(prev, k.IV[:])
		if err := readAt(blob, last[blockSize:], 0); err != nil {
			return err
		}
	}
	block, err := aes.NewCipher(k.Cipher[:])
	if err != nil {
		return err
	}
	var plain [blockSize]byte
	cipher.NewCBCDecrypter(block, prev).CryptBlocks(plain[:], last[blockSize:])
	// Every check is made, and only then the verdict given, so that the
	// time taken says nothing about which one failed.
	okEnc := subtle.ConstantTimeCompare(sum.Sum(nil), encSHA256)
	okMAC := subtle.ConstantTimeCompare(m.Sum(nil)[:MACSize], tag[:])
	if okEnc&okMAC&padOK(plain[:]) != 1 {
		return ErrTampered
	}
	return nil
}

// padOK checks PKCS#7 padding of the last block in constant time: 1 if good.
func padOK(last []byte) int {
	pad := int(last[blockSize-1])
	ok := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, blockSize)
	for i := 1; i <= blockSize; i++ {
		in := subtle.ConstantTimeLessOrEq(i, pad)
		eq := subtle.ConstantTimeByteEq(last[blockSize-i], byte(pad))
		ok &= eq | (in ^ 1)
	}
	return ok
}

// decrypt writes the plaintext of the verified blob read from src to dst
// and checks its digest. The last block is held back until its padding is
// stripped.
func decrypt(dst io.Writer, src io.Reader, size int64, k Keys, fileSHA256 []byte) (int64, error) {
	block, err := aes.NewCipher(k.Cipher[:])
	if err != nil {
		return 0, err
	}
	cbc := cipher.NewCBCDecrypter(block, k.IV[:])
	var sum hash.Hash = sha256.New()
	buf := make([]byte, bufSize)
	plain := make([]byte, bufSize)
	var written int64
	for left := size - MACSize; left > 0; {
		n := min(int64(len(buf)), left)
		if _, err := io.ReadFull(src, buf[:n]); err != nil {
			return written, readErr(err)
		}
		cbc.CryptBlocks(plain[:n], buf[:n])
		out := plain[:n]
		left -= n
		if left == 0 {
			if padOK(out[len(out)-blockSize:]) != 1 {
				return written, fmt.Errorf("%w: the blob changed while it was decrypted", ErrDigest)
			}
			out = out[:len(out)-int(out[len(out)-1])]
		}
		sum.Write(out)
		m, err := dst.Write(out)
		written += int64(m)
		if err != nil {
			return written, err
		}
	}
	if subtle.ConstantTimeCompare(sum.Sum(nil), fileSHA256) != 1 {
		return written, ErrDigest
	}
	return written, nil
}

// readAt fills p from off; io.EOF with p full is fine (io.ReaderAt allows it).
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return readErr(err)
}

// readErr makes a blob shorter than its size ErrMalformed.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: shorter than its size", ErrMalformed)
	}
	return err
}
