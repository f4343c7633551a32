package senderkey

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/parley-im/parley/e2ee/curve"
)

var (
	alice = Address{Name: "alice", DeviceID: 1}
	bob   = Address{Name: "bob", DeviceID: 2}
	carol = Address{Name: "carol", DeviceID: 3}
	dist1 = [16]byte{0xd1, 1, 2, 3, 4, 5, 0x46, 7, 0x88, 9, 10, 11, 12, 13, 14, 15}
	dist2 = [16]byte{0xd2, 1, 2, 3, 4, 5, 0x46, 7, 0x88, 9, 10, 11, 12, 13, 14, 15}
)

// testRand is a deterministic randomness source, so failures reproduce.
func testRand(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

// codecStore keeps records only as MarshalBinary bytes, so every operation
// that goes through it also proves the record survives a restart.
type codecStore struct {
	m map[memoryKey][]byte
}

func (c *codecStore) SenderKey(_ context.Context, a Address, d [16]byte) (*Record, error) {
	b, ok := c.m[memoryKey{a, d}]
	if !ok {
		return nil, nil
	}
	r := new(Record)
	if err := r.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *codecStore) SaveSenderKey(_ context.Context, a Address, d [16]byte, r *Record) error {
	if c.m == nil {
		c.m = make(map[memoryKey][]byte)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	c.m[memoryKey{a, d}] = b
	return nil
}

// snapshot returns the encoded record for (a, d), or nil if there is none.
func snapshot(t testing.TB, s Store, a Address, d [16]byte) []byte {
	t.Helper()
	r, err := s.SenderKey(context.Background(), a, d)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return nil
	}
	b, _ := r.MarshalBinary()
	return b
}

func mustRecord(t testing.TB, s Store, a Address, d [16]byte) *Record {
	t.Helper()
	r, err := s.SenderKey(context.Background(), a, d)
	if err != nil || r == nil {
		t.Fatalf("no record for %v: %v", a, err)
	}
	return r
}

// forger builds correctly signed SenderKeyMessages at any iteration of a
// chain, starting from its SKDM and the signing private key, so tests can
// produce far-ahead, skipped or tampered messages without encrypting
// thousands of real ones.
type forger struct {
	dm   *DistributionMessage
	priv curve.PrivateKey
	// checkpoints[k] is the chain key at dm.Iteration + k*checkpointEvery.
	checkpoints [][32]byte
}

const checkpointEvery = 1000

func newForger(t testing.TB, s Store, self Address, d [16]byte, skdm []byte) *forger {
	t.Helper()
	dm, err := ParseDistributionMessage(skdm)
	if err != nil {
		t.Fatal(err)
	}
	st := mustRecord(t, s, self, d).stateFor(dm.ChainID)
	if st == nil || st.signingPriv == nil {
		t.Fatal("no own state")
	}
	return &forger{dm: dm, priv: *st.signingPriv}
}

func (f *forger) seed(iteration uint32) [32]byte {
	if len(f.checkpoints) == 0 {
		f.checkpoints = [][32]byte{f.dm.ChainKey}
	}
	k := min(int(iteration-f.dm.Iteration)/checkpointEvery, len(f.checkpoints)-1)
	ck := f.checkpoints[k]
	for it := f.dm.Iteration + uint32(k*checkpointEvery); it < iteration; it++ {
		_, ck = chainStep(&ck)
		if n := it + 1 - f.dm.Iteration; n%checkpointEvery == 0 && int(n/checkpointEvery) == len(f.checkpoints) {
			f.checkpoints = append(f.checkpoints, ck)
		}
	}
	seed, _ := chainStep(&ck)
	return seed
}

func (f *forger) sign(m *Message) []byte {
	b := m.marshalUnsigned()
	sig, err := f.priv.Sign(testRand(uint64(m.Iteration)), b)
	if err != nil {
		panic(err)
	}
	return append(b, sig[:]...)
}

func (f *forger) message(iteration uint32, plaintext []byte) []byte {
	seed := f.seed(iteration)
	return f.sign(&Message{
		DistributionID: f.dm.DistributionID,
		ChainID:        f.dm.ChainID,
		Iteration:      iteration,
		Ciphertext:     encryptCBC(&seed, plaintext),
	})
}

// group sets up a sender and receivers that processed the sender's SKDM.
func group(t testing.TB, store func() Store, sender Address, d [16]byte, receivers ...Address) (Store, map[Address]Store, []byte) {
	t.Helper()
	ctx := context.Background()
	ss := store()
	skdm, err := CreateDistribution(ctx, ss, sender, d, testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	rs := make(map[Address]Store)
	for _, r := range receivers {
		rs[r] = store()
		if err := ProcessDistribution(ctx, rs[r], sender, skdm); err != nil {
			t.Fatal(err)
		}
	}
	return ss, rs, skdm
}

func memory() Store { return new(MemoryStore) }
func codec() Store  { return new(codecStore) }

func mustEncrypt(t testing.TB, s Store, self Address, d [16]byte, pt string) []byte {
	t.Helper()
	ct, err := Encrypt(context.Background(), s, self, d, []byte(pt), testRand(7))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func mustDecrypt(t testing.TB, s Store, sender Address, ct []byte, want string) {
	t.Helper()
	pt, err := Decrypt(context.Background(), s, sender, ct)
	if err != nil {
		t.Fatalf("decrypt %q: %v", want, err)
	}
	if string(pt) != want {
		t.Fatalf("decrypt: got %q, want %q", pt, want)
	}
}

// decryptFails asserts err is want and the stored record did not change.
func decryptFails(t testing.TB, s Store, sender Address, d [16]byte, ct []byte, want error) {
	t.Helper()
	before := snapshot(t, s, sender, d)
	_, err := Decrypt(context.Background(), s, sender, ct)
	if !errors.Is(err, want) {
		t.Fatalf("decrypt: got %v, want %v", err, want)
	}
	if after := snapshot(t, s, sender, d); !bytes.Equal(before, after) {
		t.Fatal("failed decrypt changed the stored record")
	}
}

// libsignalVectors is testdata/libsignal_0.90.0.json, written by
// testdata/gen_libsignal.mjs from the official libsignal.
type libsignalVectors struct {
	Libsignal string `json:"libsignal"`
	Sender    struct {
		Name     string `json:"name"`
		DeviceID uint32 `json:"device_id"`
	} `json:"sender"`
	DistributionID string   `json:"distribution_id"`
	SKDM           hexBytes `json:"skdm"`
	ChainID        uint32   `json:"chain_id"`
	Messages       []struct {
		Plaintext  hexBytes `json:"plaintext"`
		Ciphertext hexBytes `json:"ciphertext"`
	} `json:"messages"`
	LaterSKDM      hexBytes `json:"later_skdm"`
	LaterIteration uint32   `json:"later_iteration"`
	AfterLater     struct {
		Plaintext  hexBytes `json:"plaintext"`
		Ciphertext hexBytes `json:"ciphertext"`
	} `json:"after_later"`
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

func loadVectors(t testing.TB) *libsignalVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/libsignal_0.90.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var v libsignalVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func (v *libsignalVectors) distributionID(t testing.TB) [16]byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(v.DistributionID, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("bad distribution id %q", v.DistributionID)
	}
	return [16]byte(b)
}

func (v *libsignalVectors) sender() Address {
	return Address{Name: v.Sender.Name, DeviceID: v.Sender.DeviceID}
}
