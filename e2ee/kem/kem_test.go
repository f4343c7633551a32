package kem

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/mlkem/mlkemtest"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encapsulateWith is Encapsulate with caller-chosen randomness m, built from
// the same pieces, so known answers exercise the production framing and KDF.
func encapsulateWith(t testing.TB, pk PublicKey, m []byte) (ciphertext []byte, shared [32]byte) {
	t.Helper()
	kbar, ct, err := mlkemtest.Encapsulate1024(pk.ek, m)
	if err != nil {
		t.Fatal(err)
	}
	return frame(ct), kyberKDF(kbar, ct)
}

// --- Kyber round-3 submission KAT -------------------------------------------

// nistDRBG is the AES-256 CTR_DRBG (no derivation function, no reseed) of
// the NIST PQC rng.c, which generated every randombytes() output in the KAT
// files.
type nistDRBG struct {
	key [32]byte
	v   [16]byte
}

func newNISTDRBG(seed []byte) *nistDRBG {
	d := &nistDRBG{}
	d.update(seed)
	return d
}

func (d *nistDRBG) incV() {
	for i := 15; i >= 0; i-- {
		d.v[i]++
		if d.v[i] != 0 {
			return
		}
	}
}

func (d *nistDRBG) update(provided []byte) {
	b, _ := aes.NewCipher(d.key[:])
	var tmp [48]byte
	for i := range 3 {
		d.incV()
		b.Encrypt(tmp[16*i:], d.v[:])
	}
	for i := range provided {
		tmp[i] ^= provided[i]
	}
	copy(d.key[:], tmp[:32])
	copy(d.v[:], tmp[32:])
}

func (d *nistDRBG) read(n int) []byte {
	b, _ := aes.NewCipher(d.key[:])
	out := make([]byte, 0, n)
	var blk [16]byte
	for len(out) < n {
		d.incV()
		b.Encrypt(blk[:], d.v[:])
		out = append(out, blk[:min(16, n-len(out))]...)
	}
	d.update(nil)
	return out
}

type katRecord struct {
	count                 string
	seed, pk, skZ, ct, ss []byte
}

func loadKAT(t *testing.T) []katRecord {
	t.Helper()
	f, err := os.Open("testdata/kyber1024_r3_kat.rsp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []katRecord
	var cur *katRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<16)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " = ")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "count":
			recs = append(recs, katRecord{count: v})
			cur = &recs[len(recs)-1]
		case "seed":
			cur.seed = unhex(t, v)
		case "pk":
			cur.pk = unhex(t, v)
		case "sk_z":
			cur.skZ = unhex(t, v)
		case "ct":
			cur.ct = unhex(t, v)
		case "ss":
			cur.ss = unhex(t, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no KAT records")
	}
	return recs
}

// The Kyber1024 round-3 submission's own known answers: replaying its
// randomness through crypto/mlkem plus our KDF must give its ciphertext and
// shared secret byte for byte. Round 3 hashes the raw randomness once
// (m = SHA3-256(coins)) before what FIPS 203 calls Encaps_internal, so the
// ML-KEM derandomized encapsulation gets SHA3-256(coins).
func TestKyberRound3SubmissionKAT(t *testing.T) {
	for _, r := range loadKAT(t) {
		t.Run("count="+r.count, func(t *testing.T) {
			rng := newNISTDRBG(r.seed)
			_ = rng.read(32) // d: round-3 key generation differs from FIPS 203
			if z := rng.read(32); !bytes.Equal(z, r.skZ) {
				t.Fatalf("DRBG out of step: z = %x, KAT %x", z, r.skZ)
			}
			coins := rng.read(32)
			m := sha3.Sum256(coins)

			pk, err := ParsePublicKey(append([]byte{KeyTypeKyber1024}, r.pk...))
			if err != nil {
				t.Fatal(err)
			}
			ct, ss := encapsulateWith(t, pk, m[:])
			if !bytes.Equal(ct[1:], r.ct) {
				t.Fatal("ciphertext differs from the round-3 KAT")
			}
			if !bytes.Equal(ss[:], r.ss) {
				t.Fatalf("shared secret %x, round-3 KAT %x", ss, r.ss)
			}
		})
	}
}

// --- Frozen vectors of our own construction --------------------------------

type goldenVector struct {
	Seed      string `json:"seed"`       // 64-byte d ‖ z
	M         string `json:"m"`          // 32-byte encapsulation randomness
	PublicKey string `json:"public_key"` // 0x08 ‖ ek
	Ct        string `json:"ciphertext"` // 0x08 ‖ ct
	Shared    string `json:"shared"`
}

func goldenInputs() (seeds [][]byte, ms [][]byte) {
	for i := range 3 {
		s := sha3.SumSHAKE256([]byte{'s', byte(i)}, SeedSize)
		m := sha3.SumSHAKE256([]byte{'m', byte(i)}, 32)
		seeds, ms = append(seeds, s), append(ms, m)
	}
	return
}

// Freezes seed → public key and (public key, m) → (ciphertext, secret), so
// any change to key derivation, framing or the KDF is caught, and checks
// that Decapsulate recovers the frozen secret.
func TestGoldenVectors(t *testing.T) {
	const path = "testdata/golden.json"
	seeds, ms := goldenInputs()
	if *update {
		var vs []goldenVector
		for i := range seeds {
			kp, err := KeyPairFromSeed(seeds[i])
			if err != nil {
				t.Fatal(err)
			}
			ct, ss := encapsulateWith(t, kp.PublicKey(), ms[i])
			vs = append(vs, goldenVector{
				Seed: hex.EncodeToString(seeds[i]), M: hex.EncodeToString(ms[i]),
				PublicKey: hex.EncodeToString(kp.PublicKey().Bytes()),
				Ct:        hex.EncodeToString(ct), Shared: hex.EncodeToString(ss[:]),
			})
		}
		out, _ := json.MarshalIndent(vs, "", " ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []goldenVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(seeds) {
		t.Fatalf("%d golden vectors, want %d", len(vs), len(seeds))
	}
	for i, v := range vs {
		kp, err := KeyPairFromSeed(unhex(t, v.Seed))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(kp.PublicKey().Bytes()); got != v.PublicKey {
			t.Errorf("#%d: public key from seed changed", i)
		}
		if !bytes.Equal(kp.Seed(), unhex(t, v.Seed)) {
			t.Errorf("#%d: Seed does not round-trip", i)
		}
		pk, err := ParsePublicKey(unhex(t, v.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		ct, ss := encapsulateWith(t, pk, unhex(t, v.M))
		if hex.EncodeToString(ct) != v.Ct {
			t.Errorf("#%d: ciphertext changed", i)
		}
		if hex.EncodeToString(ss[:]) != v.Shared {
			t.Errorf("#%d: encapsulated secret %x, golden %s", i, ss, v.Shared)
		}
		got, err := kp.Decapsulate(unhex(t, v.Ct))
		if err != nil || hex.EncodeToString(got[:]) != v.Shared {
			t.Errorf("#%d: decapsulated %x, %v; golden %s", i, got, err, v.Shared)
		}
	}
}

// The KDF on its own, pinned to the definition SHAKE256(K̄ ‖ SHA3-256(ct))[:32]
// computed with one-shot functions.
func TestKyberKDFDefinition(t *testing.T) {
	kbar := bytes.Repeat([]byte{0x11}, 32)
	ct := bytes.Repeat([]byte{0x22}, mlkemCiphertextSize)
	h := sha3.Sum256(ct)
	want := sha3.SumSHAKE256(append(append([]byte(nil), kbar...), h[:]...), 32)
	got := kyberKDF(kbar, ct)
	if !bytes.Equal(got[:], want) {
		t.Fatalf("kyberKDF = %x, want %x", got, want)
	}
	if bytes.Equal(got[:], kbar) {
		t.Fatal("KDF is the identity")
	}
}

const (
	mlkemCiphertextSize = CiphertextSize - 1
	mlkemPublicKeySize  = PublicKeySize - 1
)

// --- API behaviour ------------------------------------------------------------

func TestRoundTrip(t *testing.T) {
	for i := range 50 {
		kp, err := GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		pub := kp.PublicKey().Bytes()
		if len(pub) != PublicKeySize || pub[0] != KeyTypeKyber1024 {
			t.Fatalf("public key framing: %d bytes, type %#x", len(pub), pub[0])
		}
		pk, err := ParsePublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		ct, ss := pk.Encapsulate()
		if len(ct) != CiphertextSize || ct[0] != KeyTypeKyber1024 {
			t.Fatalf("ciphertext framing: %d bytes, type %#x", len(ct), ct[0])
		}
		got, err := kp.Decapsulate(ct)
		if err != nil {
			t.Fatal(err)
		}
		if got != ss {
			t.Fatalf("#%d: decapsulated %x, encapsulated %x", i, got, ss)
		}
		if ss == ([32]byte{}) {
			t.Fatal("all-zero secret")
		}
		// Re-deriving from the stored seed gives the same key.
		again, err := KeyPairFromSeed(kp.Seed())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.PublicKey().Bytes(), pub) {
			t.Fatal("KeyPairFromSeed(Seed()) changed the public key")
		}
		if got2, _ := again.Decapsulate(ct); got2 != ss {
			t.Fatal("restored key pair decapsulates differently")
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	kp, _ := GenerateKeyPair()
	valid := kp.PublicKey().Bytes()
	retyped := func(b byte) []byte { c := bytes.Clone(valid); c[0] = b; return c }
	// Coefficients are packed 12 bits each; 0xFFF ≥ q = 3329 is not reduced.
	unreduced := bytes.Clone(valid)
	unreduced[1] = 0xFF
	unreduced[2] |= 0x0F

	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"valid", valid, nil},
		{"nil", nil, ErrInvalidKey},
		{"type byte only", valid[:1], ErrInvalidKey},
		{"raw ek without type", valid[1:], ErrInvalidKey},
		{"one byte short", valid[:PublicKeySize-1], ErrInvalidKey},
		{"one byte long", append(bytes.Clone(valid), 0), ErrInvalidKey},
		{"type 0x05 (curve key)", retyped(0x05), ErrInvalidKey},
		{"type 0x00", retyped(0x00), ErrInvalidKey},
		{"type 0x0A (ML-KEM-1024 in later libsignal)", retyped(0x0A), ErrInvalidKey},
		{"unreduced coefficient", unreduced, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk, err := ParsePublicKey(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			if err != nil {
				if pk.Bytes() != nil {
					t.Fatal("failed parse returned a usable key")
				}
				return
			}
			if !bytes.Equal(pk.Bytes(), tt.in) {
				t.Fatal("Bytes does not round-trip")
			}
		})
	}
}

// Bytes hands out copies: callers scribbling on them must not change the key.
func TestBytesIsACopy(t *testing.T) {
	kp, _ := GenerateKeyPair()
	b := kp.PublicKey().Bytes()
	b[0], b[1] = 0, 0
	if c := kp.PublicKey().Bytes(); c[0] != KeyTypeKyber1024 || bytes.Equal(c, b) {
		t.Fatal("PublicKey.Bytes aliases internal state")
	}
	s := kp.Seed()
	s[0] ^= 1
	if bytes.Equal(kp.Seed(), s) {
		t.Fatal("KeyPair.Seed aliases internal state")
	}
	in := bytes.Clone(b)
	in[0] = KeyTypeKyber1024
	in[1] = kp.PublicKey().Bytes()[1]
	pk, err := ParsePublicKey(in)
	if err != nil {
		t.Fatal(err)
	}
	in[5] ^= 0xFF
	if bytes.Equal(pk.Bytes(), in) {
		t.Fatal("ParsePublicKey aliases its input")
	}
}

func TestDecapsulateErrors(t *testing.T) {
	kp, _ := GenerateKeyPair()
	ct, ss := kp.PublicKey().Encapsulate()
	retyped := func(b byte) []byte { c := bytes.Clone(ct); c[0] = b; return c }

	tests := []struct {
		name string
		kp   KeyPair
		in   []byte
		err  error
	}{
		{"nil", kp, nil, ErrInvalidCiphertext},
		{"type byte only", kp, ct[:1], ErrInvalidCiphertext},
		{"raw ct without type", kp, ct[1:], ErrInvalidCiphertext},
		{"one byte long", kp, append(bytes.Clone(ct), 0), ErrInvalidCiphertext},
		{"type 0x05", kp, retyped(0x05), ErrInvalidCiphertext},
		{"type 0x0A", kp, retyped(0x0A), ErrInvalidCiphertext},
		{"zero key pair", KeyPair{}, ct, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.kp.Decapsulate(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			if got != ([32]byte{}) {
				t.Fatal("error path returned secret bytes")
			}
		})
	}
	// Failed calls leave the key pair intact.
	if got, err := kp.Decapsulate(ct); err != nil || got != ss {
		t.Fatal("key pair damaged by failed calls")
	}
}

// A corrupted but well-framed ciphertext is not an error (KEMs reject
// implicitly): it yields a different, deterministic secret.
func TestImplicitRejection(t *testing.T) {
	kp, _ := GenerateKeyPair()
	ct, ss := kp.PublicKey().Encapsulate()
	for _, pos := range []int{1, 2, 700, CiphertextSize - 1} {
		bad := bytes.Clone(ct)
		bad[pos] ^= 0x01
		a, err := kp.Decapsulate(bad)
		if err != nil {
			t.Fatalf("byte %d: %v", pos, err)
		}
		b, _ := kp.Decapsulate(bad)
		if a == ss || a != b {
			t.Fatalf("byte %d: secret %x (orig %x, again %x)", pos, a, ss, b)
		}
	}
}

func TestKeyPairFromSeedErrors(t *testing.T) {
	for _, n := range []int{0, 32, 63, 65, 96} {
		if _, err := KeyPairFromSeed(make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%d-byte seed: got %v", n, err)
		}
	}
	a, err := KeyPairFromSeed(make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := KeyPairFromSeed(make([]byte, 64))
	if !bytes.Equal(a.PublicKey().Bytes(), b.PublicKey().Bytes()) {
		t.Fatal("KeyPairFromSeed is not deterministic")
	}
}

func TestZeroValues(t *testing.T) {
	if (PublicKey{}).Bytes() != nil {
		t.Error("zero PublicKey has bytes")
	}
	if (KeyPair{}).Seed() != nil {
		t.Error("zero KeyPair has a seed")
	}
	if (KeyPair{}).PublicKey().Bytes() != nil {
		t.Error("zero KeyPair has a public key")
	}
	defer func() {
		if recover() == nil {
			t.Error("Encapsulate on zero PublicKey did not panic")
		}
	}()
	PublicKey{}.Encapsulate()
}

// Keys are shared between goroutines in the session layer; run under -race.
func TestConcurrentUse(t *testing.T) {
	kp, _ := GenerateKeyPair()
	pk := kp.PublicKey()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				ct, ss := pk.Encapsulate()
				got, err := kp.Decapsulate(ct)
				if err != nil || got != ss {
					errs <- errors.New("concurrent round trip failed")
					return
				}
				_ = pk.Bytes()
				_ = kp.Seed()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
