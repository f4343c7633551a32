package media_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/parley-im/parley/e2ee/media"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the reference implementation")

// reference is the scheme written the obvious way, on whole buffers: the
// streaming code must give the same bytes.
func reference(key, plain []byte, kind media.Kind) []byte {
	k, err := hkdf.Key(sha256.New, key, nil, kind.Info(), 112)
	if err != nil {
		panic(err)
	}
	iv, aesKey, macKey := k[:16], k[16:48], k[48:80]
	pad := 16 - len(plain)%16
	padded := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(aesKey)
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	m := hmac.New(sha256.New, macKey)
	m.Write(iv)
	m.Write(ct)
	return append(ct, m.Sum(nil)[:10]...)
}

// vector is one entry of testdata/vectors.json.
type vector struct {
	Kind       media.Kind `json:"kind"`
	Key        string     `json:"key"`
	Plaintext  string     `json:"plaintext"`
	Blob       string     `json:"blob"`
	FileSHA256 string     `json:"file_sha256"`
	EncSHA256  string     `json:"enc_sha256"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digest(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func TestVectors(t *testing.T) {
	const path = "testdata/vectors.json"
	if *update {
		var vs []vector
		for i, n := range []int{0, 1, 15, 16, 17, 31, 100} {
			key := bytes.Repeat([]byte{byte(i + 1)}, 32)
			plain := make([]byte, n)
			for j := range plain {
				plain[j] = byte(j * 7)
			}
			kind := media.Kind(1 + i%5)
			blob := reference(key, plain, kind)
			vs = append(vs, vector{Kind: kind, Key: hex.EncodeToString(key), Plaintext: hex.EncodeToString(plain),
				Blob: hex.EncodeToString(blob), FileSHA256: hex.EncodeToString(digest(plain)), EncSHA256: hex.EncodeToString(digest(blob))})
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs {
		key, plain, blob := unhex(t, v.Key), unhex(t, v.Plaintext), unhex(t, v.Blob)
		var out bytes.Buffer
		res, err := media.Encrypt(&out, bytes.NewReader(plain), key, v.Kind)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), blob) {
			t.Errorf("kind %d, %d bytes: blob\n%x\nwant\n%x", v.Kind, len(plain), out.Bytes(), blob)
		}
		if hex.EncodeToString(res.FileSHA256) != v.FileSHA256 || hex.EncodeToString(res.EncSHA256) != v.EncSHA256 ||
			res.Size != int64(len(plain)) || res.EncSize != int64(len(blob)) || media.EncryptedSize(res.Size) != res.EncSize {
			t.Errorf("kind %d, %d bytes: result %+v", v.Kind, len(plain), res)
		}
		var got bytes.Buffer
		n, err := media.Open(&got, bytes.NewReader(blob), int64(len(blob)), key, v.Kind, unhex(t, v.EncSHA256), unhex(t, v.FileSHA256))
		if err != nil || n != int64(len(plain)) || !bytes.Equal(got.Bytes(), plain) {
			t.Errorf("kind %d, %d bytes: Open gave %d bytes, %v", v.Kind, len(plain), n, err)
		}
	}
}

// oneByteReader yields one byte per Read, the worst a source can do.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

func TestStreamingMatchesReference(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	const buf = 64 << 10
	for _, n := range []int{0, 1, 16, buf - 1, buf, buf + 1, buf + 15, buf + 16, 2*buf + 17, 5*buf + 3} {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(mrand.IntN(256))
		}
		want := reference(key, plain, media.Video)
		for name, src := range map[string]io.Reader{"whole": bytes.NewReader(plain), "one byte at a time": oneByteReader{bytes.NewReader(plain)}} {
			if name != "whole" && n > 2*buf {
				continue
			}
			var out bytes.Buffer
			res, err := media.Encrypt(&out, src, key, media.Video)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) || !bytes.Equal(res.FileSHA256, digest(plain)) || !bytes.Equal(res.EncSHA256, digest(want)) {
				t.Fatalf("%d bytes, read %s: the streamed blob differs from the reference", n, name)
			}
		}
		var got bytes.Buffer
		if _, err := media.Open(&got, bytes.NewReader(want), int64(len(want)), key, media.Video, digest(want), digest(plain)); err != nil || !bytes.Equal(got.Bytes(), plain) {
			t.Fatalf("%d bytes: Open: %v", n, err)
		}
	}
}

// sealed is one encrypted file for the tamper tests.
type sealed struct {
	key, plain, blob []byte
	res              media.Result
}

func seal(t testing.TB, n int, kind media.Kind) sealed {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(mrand.IntN(256))
	}
	plain := make([]byte, n)
	for i := range plain {
		plain[i] = byte(mrand.IntN(256))
	}
	var out bytes.Buffer
	res, err := media.Encrypt(&out, bytes.NewReader(plain), key, kind)
	if err != nil {
		t.Fatal(err)
	}
	return sealed{key, plain, out.Bytes(), res}
}

// open opens blob as s's and requires err to match want and, on error,
// nothing to be written.
func (s sealed) open(t *testing.T, what string, blob []byte, kind media.Kind, encSum, fileSum []byte, want ...error) {
	t.Helper()
	var dst bytes.Buffer
	_, err := media.Open(&dst, bytes.NewReader(blob), int64(len(blob)), s.key, kind, encSum, fileSum)
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	ok := false
	for _, w := range want {
		ok = ok || errors.Is(err, w)
	}
	if !ok {
		t.Fatalf("%s: %v, want one of %v", what, err, want)
	}
	if dst.Len() != 0 {
		t.Fatalf("%s: refused but wrote %d bytes", what, dst.Len())
	}
}

func TestTamper(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 70000} {
		s := seal(t, n, media.Image)
		s.open(t, "the untouched blob", s.blob, media.Image, s.res.EncSHA256, s.res.FileSHA256)
		// One flipped bit anywhere is refused, with the sender's digest (a
		// server that changed the blob) and with the changed blob's own
		// digest (one that also lied about it, which only the MAC catches).
		step := max(1, len(s.blob)/700)
		for i := 0; i < len(s.blob); i += step {
			b := bytes.Clone(s.blob)
			b[i] ^= 1 << (i % 8)
			s.open(t, "flipped bit", b, media.Image, s.res.EncSHA256, s.res.FileSHA256, media.ErrTampered)
			s.open(t, "flipped bit, digest of the changed blob", b, media.Image, digest(b), s.res.FileSHA256, media.ErrTampered)
		}
		// Cut anywhere.
		for cut := 0; cut < len(s.blob); cut += step {
			b := s.blob[:cut]
			s.open(t, "truncated", b, media.Image, digest(b), s.res.FileSHA256, media.ErrTampered, media.ErrMalformed)
		}
		s.open(t, "one byte more", append(bytes.Clone(s.blob), 0), media.Image, s.res.EncSHA256, s.res.FileSHA256, media.ErrMalformed)
		longer := append(bytes.Clone(s.blob), make([]byte, 16)...)
		s.open(t, "a block more", longer, media.Image, digest(longer), s.res.FileSHA256, media.ErrTampered)
		s.open(t, "another kind's keys", s.blob, media.Document, s.res.EncSHA256, s.res.FileSHA256, media.ErrTampered)
		var got bytes.Buffer
		if _, err := media.Open(&got, bytes.NewReader(s.blob), int64(len(s.blob)), s.key, media.Image, s.res.EncSHA256, digest([]byte("x"))); !errors.Is(err, media.ErrDigest) {
			t.Fatalf("another file's digest: %v, want ErrDigest", err)
		}
		s.open(t, "another blob digest", s.blob, media.Image, digest([]byte("x")), s.res.FileSHA256, media.ErrTampered)
		other := seal(t, n, media.Image)
		var dst bytes.Buffer
		if _, err := media.Open(&dst, bytes.NewReader(s.blob), int64(len(s.blob)), other.key, media.Image, s.res.EncSHA256, s.res.FileSHA256); !errors.Is(err, media.ErrTampered) || dst.Len() != 0 {
			t.Fatalf("another key: %v, %d bytes written", err, dst.Len())
		}
	}
	// A reader shorter than the size it is said to have.
	s := seal(t, 100, media.Audio)
	var dst bytes.Buffer
	if _, err := media.Open(&dst, bytes.NewReader(s.blob[:50]), int64(len(s.blob)), s.key, media.Audio, s.res.EncSHA256, s.res.FileSHA256); !errors.Is(err, media.ErrMalformed) || dst.Len() != 0 {
		t.Fatalf("short reader: %v, %d bytes written", err, dst.Len())
	}
	for _, k := range []media.Kind{0, 6, 255} {
		if _, err := media.Encrypt(io.Discard, bytes.NewReader(nil), s.key, k); !errors.Is(err, media.ErrInvalid) {
			t.Errorf("kind %d: %v", k, err)
		}
	}
	if _, err := media.Encrypt(io.Discard, bytes.NewReader(nil), s.key[:31], media.Image); !errors.Is(err, media.ErrInvalid) {
		t.Errorf("short key: %v", err)
	}
}

// TestConstantMemory: 50 MiB go through a few buffers, not 50 MiB of RAM,
// both ways.
func TestConstantMemory(t *testing.T) {
	const size = 50 << 20
	key := bytes.Repeat([]byte{3}, 32)
	f, err := os.Create(t.TempDir() + "/blob")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := media.Encrypt(f, io.LimitReader(zeros{}, size), key, media.Video)
	if err != nil {
		t.Fatal(err)
	}
	n, err := media.Open(io.Discard, f, res.EncSize, key, media.Video, res.EncSHA256, res.FileSHA256)
	if err != nil || n != size {
		t.Fatalf("Open: %d bytes, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	if res.Size != size || res.EncSize != media.EncryptedSize(size) {
		t.Fatalf("result %+v", res)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("encrypting and opening 50 MiB allocated %d bytes", alloc)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{9}, 32)
	for _, n := range []int{0, 5, 40} {
		plain := bytes.Repeat([]byte{'a'}, n)
		f.Add(reference(key, plain, media.Image), digest(plain))
	}
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 26), make([]byte, 32))
	f.Fuzz(func(t *testing.T, blob, fileSum []byte) {
		var dst bytes.Buffer
		// The blob's own digest: only the MAC and padding stand in the way.
		n, err := media.Open(&dst, bytes.NewReader(blob), int64(len(blob)), key, media.Image, digest(blob), fileSum)
		if errors.Is(err, media.ErrDigest) {
			// Authentic, but another file than announced: caught after
			// writing, which Open documents.
			return
		}
		if err != nil {
			if dst.Len() != 0 || n != 0 {
				t.Fatalf("refused (%v) but wrote %d bytes", err, dst.Len())
			}
			return
		}
		// Accepted: then it is exactly what encrypting the output gives.
		if !bytes.Equal(reference(key, dst.Bytes(), media.Image), blob) || !bytes.Equal(digest(dst.Bytes()), fileSum) {
			t.Fatal("accepted a blob that is not the encryption of what Open wrote")
		}
	})
}

func BenchmarkEncrypt(b *testing.B) {
	key := bytes.Repeat([]byte{3}, 32)
	b.SetBytes(8 << 20)
	for b.Loop() {
		if _, err := media.Encrypt(io.Discard, io.LimitReader(zeros{}, 8<<20), key, media.Video); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := seal(b, 8<<20, media.Video)
	b.SetBytes(8 << 20)
	for b.Loop() {
		if _, err := media.Open(io.Discard, bytes.NewReader(s.blob), int64(len(s.blob)), s.key, media.Video, s.res.EncSHA256, s.res.FileSHA256); err != nil {
			b.Fatal(err)
		}
	}
}
