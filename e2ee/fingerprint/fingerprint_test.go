package fingerprint

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// vectors mirrors testdata/vectors.json, libsignal's own test constants.
type vectors struct {
	Source      string `json:"source"`
	Iterations  int    `json:"iterations"`
	Alice, Bob  party
	Displayable string `json:"displayable"`
	Versions    []struct {
		Version        uint32 `json:"version"`
		AliceScannable string `json:"alice_scannable"`
		BobScannable   string `json:"bob_scannable"`
	} `json:"versions"`
	Encoding struct {
		Version    uint32 `json:"version"`
		LocalByte  string `json:"local_byte"`
		RemoteByte string `json:"remote_byte"`
		Serialized string `json:"serialized"`
	} `json:"encoding"`
}

type party struct {
	IdentityKey string `json:"identity_key"`
	StableID    string `json:"stable_id"`
}

func (p party) key(t testing.TB) []byte { return mustHex(t, p.IdentityKey) }
func (p party) id() []byte              { return []byte(p.StableID) }

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.Iterations == 0 || len(v.Versions) != 2 || v.Displayable == "" {
		t.Fatalf("incomplete golden file: %+v", v)
	}
	return v
}

func mustNew(t testing.TB, iterations int, version uint32, lid, lkey, rid, rkey []byte) *Fingerprint {
	t.Helper()
	f, err := New(iterations, version, lid, lkey, rid, rkey)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOfficialVectors(t *testing.T) {
	v := loadVectors(t)
	for _, tv := range v.Versions {
		alice := mustNew(t, v.Iterations, tv.Version, v.Alice.id(), v.Alice.key(t), v.Bob.id(), v.Bob.key(t))
		bob := mustNew(t, v.Iterations, tv.Version, v.Bob.id(), v.Bob.key(t), v.Alice.id(), v.Alice.key(t))

		if got := hex.EncodeToString(alice.Scannable()); got != tv.AliceScannable {
			t.Errorf("v%d alice scannable\n got %s\nwant %s", tv.Version, got, tv.AliceScannable)
		}
		if got := hex.EncodeToString(bob.Scannable()); got != tv.BobScannable {
			t.Errorf("v%d bob scannable\n got %s\nwant %s", tv.Version, got, tv.BobScannable)
		}
		// The displayable number does not depend on the version.
		for name, f := range map[string]*Fingerprint{"alice": alice, "bob": bob} {
			if got := f.Displayable(); got != v.Displayable {
				t.Errorf("v%d %s displayable %s, want %s", tv.Version, name, got, v.Displayable)
			}
			if got := strings.Join(f.DisplayableGroups(), ""); got != v.Displayable {
				t.Errorf("v%d %s groups joined %s", tv.Version, name, got)
			}
			if f.Version() != tv.Version {
				t.Errorf("v%d %s Version() = %d", tv.Version, name, f.Version())
			}
		}

		// Compare against the official bytes, as if scanned from a libsignal client.
		check := func(f *Fingerprint, scannedHex string, want bool) {
			t.Helper()
			ok, err := f.Compare(mustHex(t, scannedHex))
			if err != nil || ok != want {
				t.Errorf("v%d Compare = %v, %v; want %v, nil", tv.Version, ok, err, want)
			}
		}
		check(alice, tv.BobScannable, true)
		check(bob, tv.AliceScannable, true)
		// Our own code scanned back is not a match (libsignal: Ok(false)).
		check(alice, tv.AliceScannable, false)
		check(bob, tv.BobScannable, false)
	}
}

func TestOfficialEncoding(t *testing.T) {
	e := loadVectors(t).Encoding
	local := bytes.Repeat(mustHex(t, e.LocalByte), scanBytes)
	remote := bytes.Repeat(mustHex(t, e.RemoteByte), scanBytes)
	if got := hex.EncodeToString(encodeCombined(e.Version, local, remote)); got != e.Serialized {
		t.Fatalf("encoding\n got %s\nwant %s", got, e.Serialized)
	}
	c, err := decodeCombined(mustHex(t, e.Serialized))
	if err != nil || c.version != e.Version || !bytes.Equal(c.local.content, local) || !bytes.Equal(c.remote.content, remote) {
		t.Fatalf("decode round trip: %+v, %v", c, err)
	}
}

func TestDisplayableGroups(t *testing.T) {
	v := loadVectors(t)
	f := mustNew(t, v.Iterations, Version2, v.Alice.id(), v.Alice.key(t), v.Bob.id(), v.Bob.key(t))
	g := f.DisplayableGroups()
	want := []string{"30035", "44776", "92869", "39689", "28698", "76765", "45825", "75691", "62576", "84344", "09180", "79131"}
	if len(g) != 12 || strings.Join(g, " ") != strings.Join(want, " ") {
		t.Fatalf("groups %q", g)
	}
}

func TestEncodeDigitsPadding(t *testing.T) {
	// A chunk whose value mod 100000 is small must keep its leading zeros.
	b := make([]byte, displayBytes)
	b[4] = 7                                             // chunk 0 = 7
	copy(b[5:10], []byte{0x00, 0x00, 0x01, 0x86, 0xa0})  // chunk 1 = 100000 -> 0
	copy(b[10:15], []byte{0xff, 0xff, 0xff, 0xff, 0xff}) // 2^40-1 = 1099511627775 -> 27775
	copy(b[15:20], []byte{0x00, 0x00, 0x01, 0x86, 0x9f}) // 99999
	if got, want := encodeDigits(b), "00007"+"00000"+"27775"+"99999"+"00000"+"00000"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

// randomParty returns a random stable id and a well-formed serialized key.
// The fingerprint never interprets the key as a curve point, so random
// 32-byte strings are as good as real keys here.
func randomParty(r *rand.Rand) (id, key []byte) {
	key = make([]byte, identityKeyLen)
	key[0] = keyTypeDJB
	for i := 1; i < len(key); i++ {
		key[i] = byte(r.Uint32())
	}
	id = make([]byte, 16) // a service id (UUID) as version 2 clients use
	for i := range id {
		id[i] = byte(r.Uint32())
	}
	return id, key
}

func TestSymmetry(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		aid, akey := randomParty(r)
		bid, bkey := randomParty(r)
		for _, ver := range []uint32{Version1, Version2} {
			a := mustNew(t, 1024, ver, aid, akey, bid, bkey)
			b := mustNew(t, 1024, ver, bid, bkey, aid, akey)
			if a.Displayable() != b.Displayable() {
				t.Fatalf("case %d: displayable differs: %s vs %s", i, a.Displayable(), b.Displayable())
			}
			if d := a.Displayable(); len(d) != 60 || strings.Trim(d, "0123456789") != "" {
				t.Fatalf("case %d: bad displayable %q", i, d)
			}
			for _, c := range []struct {
				f       *Fingerprint
				scanned []byte
				want    bool
			}{
				{a, b.Scannable(), true},
				{b, a.Scannable(), true},
				{a, a.Scannable(), false},
				{b, b.Scannable(), false},
			} {
				if ok, err := c.f.Compare(c.scanned); err != nil || ok != c.want {
					t.Fatalf("case %d v%d: Compare = %v, %v; want %v", i, ver, ok, err, c.want)
				}
			}
		}
	}
}

func TestMismatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	aid, akey := randomParty(r)
	bid, bkey := randomParty(r)
	_, mkey := randomParty(r) // a man in the middle substitutes his key for Bob's
	otherID := append(bytes.Clone(aid), 0)

	bob := mustNew(t, 1024, Version2, bid, bkey, aid, akey)
	cases := []struct {
		name  string
		alice *Fingerprint
	}{
		{"different key", mustNew(t, 1024, Version2, aid, akey, bid, mkey)},
		{"different id", mustNew(t, 1024, Version2, otherID, akey, bid, bkey)},
		{"different iterations", mustNew(t, 1025, Version2, aid, akey, bid, bkey)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.alice.Displayable() == bob.Displayable() {
				t.Error("displayable numbers match")
			}
			for _, pair := range [][2]*Fingerprint{{c.alice, bob}, {bob, c.alice}} {
				if ok, err := pair[0].Compare(pair[1].Scannable()); ok || err != nil {
					t.Errorf("Compare = %v, %v; want false, nil", ok, err)
				}
			}
		})
	}
}

func TestVersionMismatch(t *testing.T) {
	v := loadVectors(t)
	a1 := mustNew(t, v.Iterations, Version1, v.Alice.id(), v.Alice.key(t), v.Bob.id(), v.Bob.key(t))
	b2 := mustNew(t, v.Iterations, Version2, v.Bob.id(), v.Bob.key(t), v.Alice.id(), v.Alice.key(t))
	if a1.Displayable() != b2.Displayable() {
		t.Fatal("displayable must not depend on the version")
	}
	if bytes.Equal(a1.Scannable(), b2.Scannable()) {
		t.Fatal("scannable must depend on the version")
	}
	for _, c := range []struct {
		f            *Fingerprint
		scanned      []byte
		theirs, ours uint32
	}{
		{a1, b2.Scannable(), 2, 1},
		{b2, a1.Scannable(), 1, 2},
		// An empty message decodes with every field absent: version 0.
		{b2, nil, 0, 2},
	} {
		ok, err := c.f.Compare(c.scanned)
		var vm *VersionMismatchError
		if ok || !errors.Is(err, ErrVersionMismatch) || !errors.As(err, &vm) || vm.Theirs != c.theirs || vm.Ours != c.ours {
			t.Errorf("Compare = %v, %v; want version mismatch theirs %d ours %d", ok, err, c.theirs, c.ours)
		}
		if errors.Is(err, ErrMalformed) {
			t.Errorf("version mismatch must be distinct from ErrMalformed")
		}
	}
}

func TestNewErrors(t *testing.T) {
	key := make([]byte, identityKeyLen)
	key[0] = keyTypeDJB
	id := []byte("+14152222222")
	for _, c := range []struct {
		name       string
		iterations int
		lkey, rkey []byte
		want       error
	}{
		{"zero iterations", 0, key, key, ErrInvalidIterations},
		{"one iteration", 1, key, key, ErrInvalidIterations},
		{"negative iterations", -5200, key, key, ErrInvalidIterations},
		{"too many iterations", 1_000_001, key, key, ErrInvalidIterations},
		{"short local key", 5200, key[:32], key, ErrInvalidKey},
		{"long remote key", 5200, key, append(bytes.Clone(key), 0), ErrInvalidKey},
		{"raw 32-byte key", 5200, key[1:], key, ErrInvalidKey},
		{"wrong key type", 5200, key, append([]byte{0x08}, key[1:]...), ErrInvalidKey},
		{"nil key", 5200, nil, key, ErrInvalidKey},
	} {
		f, err := New(c.iterations, Version2, id, c.lkey, id, c.rkey)
		if f != nil || !errors.Is(err, c.want) {
			t.Errorf("%s: New = %v, %v; want %v", c.name, f, err, c.want)
		}
	}
	// The boundaries libsignal accepts, and empty stable ids.
	if _, err := New(2, Version2, nil, key, nil, key); err != nil {
		t.Errorf("2 iterations: %v", err)
	}
}

func TestScannableIsCopy(t *testing.T) {
	v := loadVectors(t)
	f := mustNew(t, v.Iterations, Version2, v.Alice.id(), v.Alice.key(t), v.Bob.id(), v.Bob.key(t))
	s := f.Scannable()
	s[len(s)-1] ^= 1
	if got := hex.EncodeToString(f.Scannable()); got != v.Versions[1].AliceScannable {
		t.Fatal("mutating the returned slice changed the fingerprint")
	}
}

// Wire-format edge cases; the expected outcomes are prost's (libsignal's
// decoder), derived from its decoding rules.
func TestCompareWire(t *testing.T) {
	v := loadVectors(t)
	alice := mustNew(t, v.Iterations, Version2, v.Alice.id(), v.Alice.key(t), v.Bob.id(), v.Bob.key(t))
	bobCode := mustHex(t, v.Versions[1].BobScannable)
	c, err := decodeCombined(bobCode)
	if err != nil {
		t.Fatal(err)
	}
	bl, br := c.local.content, c.remote.content // Bob's local, Bob's remote

	ver := func(b []byte, n uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), n)
	}
	fp := func(b []byte, num protowire.Number, content []byte) []byte { return appendLogical(b, num, content) }
	raw := func(b []byte, num protowire.Number, inner []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), inner)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	groups := func(n int) []byte {
		var b []byte
		for range n {
			b = protowire.AppendTag(b, 9, protowire.StartGroupType)
		}
		for range n {
			b = protowire.AppendTag(b, 9, protowire.EndGroupType)
		}
		return b
	}
	good := fp(fp(ver(nil, 2), 2, bl), 3, br)

	for _, c := range []struct {
		name    string
		scanned []byte
		want    bool
		err     error
	}{
		{"canonical", good, true, nil},
		{"fields reordered", fp(fp(ver(nil, 2), 3, br), 2, bl), true, nil},
		{"unknown fields skipped", cat(ver(nil, 2), []byte{0x25, 1, 2, 3, 4, 0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x7f},
			raw(nil, 2, cat([]byte{0x10, 0x01}, protowire.AppendBytes([]byte{0x0a}, bl))), fp(nil, 3, br), raw(nil, 4, []byte("x"))), true, nil},
		{"last version wins", fp(fp(ver(ver(nil, 1), 2), 2, bl), 3, br), true, nil},
		{"uint32 version truncates", fp(fp(ver(nil, 1<<32|2), 2, bl), 3, br), true, nil},
		{"non-minimal varint", cat([]byte{0x08, 0x82, 0x00}, fp(fp(nil, 2, bl), 3, br)), true, nil},
		{"sub-messages merge", cat(ver(nil, 2), fp(nil, 2, bl), raw(nil, 2, nil), fp(nil, 3, br)), true, nil},
		{"last content wins", cat(ver(nil, 2), fp(nil, 2, br), fp(nil, 2, bl), fp(nil, 3, br)), true, nil},
		{"100 nested groups", cat(good, groups(100)), true, nil},
		{"short content", fp(fp(ver(nil, 2), 2, bl[:31]), 3, br), false, nil},
		{"long content", fp(fp(ver(nil, 2), 2, append(bytes.Clone(bl), 0)), 3, br), false, nil},
		{"swapped", fp(fp(ver(nil, 2), 2, br), 3, bl), false, nil},
		{"empty content", fp(fp(ver(nil, 2), 2, nil), 3, br), false, nil},
		{"missing local", fp(ver(nil, 2), 3, br), false, ErrMalformed},
		{"missing remote", fp(ver(nil, 2), 2, bl), false, ErrMalformed},
		{"local without content", cat(fp(ver(nil, 2), 3, br), raw(nil, 2, nil)), false, ErrMalformed},
		{"version checked before contents", ver(nil, 1), false, ErrVersionMismatch},
		{"truncated", good[:len(good)-1], false, ErrMalformed},
		{"trailing junk byte", cat(good, []byte{0x80}), false, ErrMalformed},
		{"field number 0", cat(good, []byte{0x00, 0x00}), false, ErrMalformed},
		{"wire type 6", cat(good, []byte{0x0e}), false, ErrMalformed},
		{"stray end group", cat(good, []byte{0x4c}), false, ErrMalformed},
		{"version as bytes", cat(raw(nil, 1, []byte{2}), fp(fp(nil, 2, bl), 3, br)), false, ErrMalformed},
		{"local as varint", cat(ver(nil, 2), []byte{0x10, 0x01}, fp(nil, 3, br)), false, ErrMalformed},
		{"content as varint", cat(ver(nil, 2), raw(nil, 2, []byte{0x08, 0x01}), fp(nil, 3, br)), false, ErrMalformed},
		{"key above 2^32", cat(good, []byte{0x80, 0x80, 0x80, 0x80, 0x10, 0x00}), false, ErrMalformed},
		{"mismatched end group", cat(good, []byte{0x4b, 0x54}), false, ErrMalformed},
		{"101 nested groups", cat(good, groups(101)), false, ErrMalformed},
		{"overlong varint", cat(good, []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), false, ErrMalformed},
		{"a URL QR code", []byte("https://example.com/"), false, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, err := alice.Compare(c.scanned)
			if ok != c.want || (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
				t.Fatalf("Compare(%x) = %v, %v; want %v, %v", c.scanned, ok, err, c.want, c.err)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	v := loadVectors(b)
	aid, akey, bid, bkey := v.Alice.id(), v.Alice.key(b), v.Bob.id(), v.Bob.key(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(DefaultIterations, Version2, aid, akey, bid, bkey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	v := loadVectors(b)
	f, err := New(DefaultIterations, Version2, v.Alice.id(), v.Alice.key(b), v.Bob.id(), v.Bob.key(b))
	if err != nil {
		b.Fatal(err)
	}
	scanned := mustHex(b, v.Versions[1].BobScannable)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := f.Compare(scanned); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func TestZeroValueDoesNotPanic(t *testing.T) {
	var f Fingerprint
	if f.Displayable() != "" || f.DisplayableGroups() != nil || len(f.Scannable()) != 0 {
		t.Fatal("zero value should be empty")
	}
	// Version 0 equals the absent version, so the missing fingerprints decide.
	if ok, err := f.Compare(nil); ok || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Compare = %v, %v; want false, ErrMalformed", ok, err)
	}
}

func TestParseScannable(t *testing.T) {
	k1 := append([]byte{5}, bytes.Repeat([]byte{1}, 32)...)
	k2 := append([]byte{5}, bytes.Repeat([]byte{2}, 32)...)
	a, err := New(2, Version2, []byte("a"), k1, []byte("b"), k2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(2, Version2, []byte("b"), k2, []byte("a"), k1)
	s, err := ParseScannable(a.Scannable())
	if err != nil {
		t.Fatal(err)
	}
	// a's local half is what b keeps as remote, and the other way round.
	bs, _ := ParseScannable(b.Scannable())
	if !s.HasVersion || s.Version != Version2 || !s.HasLocal || !s.HasRemote ||
		!bytes.Equal(s.Local, bs.Remote) || !bytes.Equal(s.Remote, bs.Local) || len(s.Local) != 32 {
		t.Fatalf("parsed %+v", s)
	}
	// Neither version nor halves: all absent, no error (libsignal reads it so).
	if e, err := ParseScannable(nil); err != nil || e.HasVersion || e.HasLocal || e.HasRemote {
		t.Fatalf("empty code: %+v %v", e, err)
	}
	if _, err := ParseScannable([]byte{8}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated code: %v", err)
	}
}
