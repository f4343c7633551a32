package kdf

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

func bytesOf(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// The hand-rolled HMAC must agree with crypto/hmac on every key and input
// size, around the block size and the stack buffer's edge included.
func TestHMACMatchesStandardLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, keyLen := range []int{0, 1, 32, 64, 65, 200} {
		for _, dataLen := range []int{0, 1, 55, 56, 64, 300, stackSize - 64, stackSize - 63, 5000} {
			key, data := bytesOf(r, keyLen), bytesOf(r, dataLen)
			m := hmac.New(sha256.New, key)
			m.Write(data)
			cut := dataLen / 3
			got := HMAC(key, data[:cut], nil, data[cut:])
			if !bytes.Equal(got[:], m.Sum(nil)) {
				t.Fatalf("HMAC key %d data %d differs", keyLen, dataLen)
			}
		}
	}
}

// HKDF must agree with crypto/hkdf for absent and present salts, outputs of
// one, several and the maximum number of blocks, and info in several pieces
// (longer than the stack buffer too).
func TestHKDFMatchesStandardLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, salt := range [][]byte{nil, bytesOf(r, 32), bytesOf(r, 100)} {
		for _, outLen := range []int{1, 32, 33, 64, 80, 96, 255 * 32} {
			for _, pieces := range []int{0, 1, 3, 9} {
				ikm := bytesOf(r, 32)
				var info [][]byte
				for range pieces {
					info = append(info, bytesOf(r, r.IntN(40)))
					if pieces == 9 {
						info[len(info)-1] = bytesOf(r, 30) // 270 bytes: past the stack buffer
					}
				}
				want, err := hkdf.Key(sha256.New, ikm, salt, string(bytes.Join(info, nil)), outLen)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]byte, outLen)
				HKDF(got, salt, ikm, info...)
				if !bytes.Equal(got, want) {
					t.Fatalf("HKDF salt %d out %d info pieces %d differs", len(salt), outLen, pieces)
				}
			}
		}
	}
}

// RFC 5869 test case 1, so that both implementations being wrong the same
// way would still show.
func TestHKDFRFC5869Case1(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	salt := []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c}
	info := []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9}
	want := []byte{
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36, 0x2f, 0x2a,
		0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4, 0xc5, 0xbf,
		0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65,
	}
	got := make([]byte, len(want))
	HKDF(got, salt, ikm, info[:4], info[4:])
	if !bytes.Equal(got, want) {
		t.Fatalf("HKDF = %x, want %x", got, want)
	}
}

func BenchmarkHMAC32(b *testing.B) {
	key, data := make([]byte, 32), []byte{0x01}
	b.ReportAllocs()
	for b.Loop() {
		HMAC(key, data)
	}
}

func BenchmarkHKDF96(b *testing.B) {
	out, ikm, info := make([]byte, 96), make([]byte, 32), []byte("WhisperMessageKeys")
	b.ReportAllocs()
	for b.Loop() {
		HKDF(out, nil, ikm, info)
	}
}
