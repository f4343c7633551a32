package interop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/senderkey"
)

// Sender Keys (research note §7.4, cases 24–26): Go's e2ee/senderkey against
// libsignal's group cipher, in both roles, on the same bytes.

// skStore is a senderkey.Store that keeps records only as MarshalBinary
// bytes, like the SQLite store will: every Go step here also proves that the
// state survives a restart.
type skStore struct {
	m map[skKey][]byte
}

type skKey struct {
	sender senderkey.Address
	dist   [16]byte
}

func newSKStore() *skStore { return &skStore{m: make(map[skKey][]byte)} }

func (s *skStore) SenderKey(_ context.Context, a senderkey.Address, d [16]byte) (*senderkey.Record, error) {
	b, ok := s.m[skKey{a, d}]
	if !ok {
		return nil, nil
	}
	r := new(senderkey.Record)
	return r, r.UnmarshalBinary(b)
}

func (s *skStore) SaveSenderKey(_ context.Context, a senderkey.Address, d [16]byte, r *senderkey.Record) error {
	b, err := r.MarshalBinary()
	s.m[skKey{a, d}] = b
	return err
}

// skSnapshot copies every record, to check that failed calls change nothing.
func (s *skStore) snapshot() map[skKey][]byte {
	c := make(map[skKey][]byte, len(s.m))
	for k, v := range s.m {
		c[k] = bytes.Clone(v)
	}
	return c
}

func (s *skStore) unchangedSince(t *testing.T, snap map[skKey][]byte) {
	t.Helper()
	if len(snap) != len(s.m) {
		t.Fatal("a failed call added or removed a Go record")
	}
	for k, v := range snap {
		if !bytes.Equal(s.m[k], v) {
			t.Fatalf("a failed call changed the Go record of %v", k.sender)
		}
	}
}

func skOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// skClass returns the class of the oracle's refusal, failing the test if the
// call did not fail inside libsignal.
func skClass(t *testing.T, err error) string {
	t.Helper()
	var oe *OracleError
	if !errors.As(err, &oe) || oe.Class == "BadRequest" {
		t.Fatalf("got %v, want libsignal to refuse", err)
	}
	return oe.Class
}

// newDistribution returns a random distribution id in both forms. It is a
// version-4 UUID because the Node binding parses it as one.
func newDistribution(t *testing.T) (string, [16]byte) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], b
}

func goAddr(a Address) senderkey.Address {
	return senderkey.Address{Name: a.Name, DeviceID: a.DeviceID}
}

// chainWalker steps a sender chain key forward with HMAC-SHA256(ck, 0x02),
// written here independently of e2ee/senderkey. It keeps a checkpoint every
// 1000 steps so that asking for several iterations near 25 000 stays cheap.
type chainWalker struct {
	checkpoints [][]byte // checkpoints[k] is the key at iteration 1000*k
}

func newChainWalker(ck0 []byte) *chainWalker {
	return &chainWalker{checkpoints: [][]byte{bytes.Clone(ck0)}}
}

func (w *chainWalker) at(n uint32) []byte {
	k := min(int(n/1000), len(w.checkpoints)-1)
	ck := bytes.Clone(w.checkpoints[k])
	for it := uint32(k * 1000); it < n; it++ {
		m := hmac.New(sha256.New, ck)
		m.Write([]byte{0x02})
		ck = m.Sum(ck[:0])
		if (it+1)%1000 == 0 && int((it+1)/1000) == len(w.checkpoints) {
			w.checkpoints = append(w.checkpoints, bytes.Clone(ck))
		}
	}
	return ck
}

// rewriteFields re-encodes a protobuf message, replacing the varint or bytes
// fields listed in set and keeping every other field as it was, in order. A
// replaced field that was absent (proto3 omits zero values) is appended.
func rewriteFields(t *testing.T, msg []byte, set map[protowire.Number]any) []byte {
	t.Helper()
	var out []byte
	done := map[protowire.Number]bool{}
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			t.Fatal("rewriteFields: bad tag")
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[n:])
		if m < 0 {
			t.Fatal("rewriteFields: bad field")
		}
		if v, ok := set[num]; ok {
			out = appendField(out, num, v)
			done[num] = true
		} else {
			out = append(out, msg[:n+m]...)
		}
		msg = msg[n+m:]
	}
	for num, v := range set {
		if !done[num] {
			out = appendField(out, num, v)
		}
	}
	return out
}

func appendField(b []byte, num protowire.Number, v any) []byte {
	switch v := v.(type) {
	case uint32:
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v))
	case []byte:
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
	panic("appendField: unsupported type")
}

// fieldBytes returns the last occurrence of a bytes field.
func fieldBytes(t *testing.T, msg []byte, want protowire.Number) []byte {
	t.Helper()
	var found []byte
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			t.Fatal("fieldBytes: bad tag")
		}
		if num == want && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(msg[n:])
			if m < 0 {
				t.Fatal("fieldBytes: bad field")
			}
			found = v
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[n:])
		if m < 0 {
			t.Fatal("fieldBytes: bad field")
		}
		msg = msg[n+m:]
	}
	return found
}

// libsignalSenderAt makes a copy of libsignal party handle whose own sender
// chain for dist stands at iteration n, so that it can send message n
// without 25 000 calls (one takes about 0.4 ms). It edits the exported
// SenderKeyRecord as observed on the wire: states are field 1, a state's
// sender chain key is field 2 = {1 iteration, 2 seed}. The test refuses to
// go on unless the seed found there is the chain key of the party's SKDM at
// iteration 0, so a format change cannot go unnoticed.
func libsignalSenderAt(t *testing.T, o *Oracle, handle, dist string, skdm0 []byte, w *chainWalker, n uint32) string {
	t.Helper()
	in, err := o.InspectSKDM(skdm0)
	skOK(t, err)
	if in.Iteration != 0 {
		t.Fatal("libsignalSenderAt needs the SKDM of iteration 0")
	}
	raw, err := o.ExportState(handle)
	skOK(t, err)
	var st map[string]any
	skOK(t, json.Unmarshal(raw, &st))
	keys, _ := st["senderKeys"].([]any)
	edited := 0
	for _, e := range keys {
		e := e.(map[string]any)
		if e["distributionId"] != dist {
			continue
		}
		rec := mustB64(t, e["record"].(string))
		state := fieldBytes(t, rec, 1) // only one state: a fresh own chain
		chain := fieldBytes(t, state, 2)
		if !bytes.Equal(fieldBytes(t, chain, 2), in.ChainKey) {
			t.Fatal("libsignal's SenderKeyRecord no longer has the chain seed at state.2.2")
		}
		if !bytes.Equal(w.at(0), in.ChainKey) {
			t.Fatal("chain walker does not start at the SKDM's chain key")
		}
		chain = rewriteFields(t, chain, map[protowire.Number]any{1: n, 2: w.at(n)})
		state = rewriteFields(t, state, map[protowire.Number]any{2: chain})
		rec = rewriteFields(t, rec, map[protowire.Number]any{1: state})
		e["record"] = b64(rec)
		edited++
	}
	if edited != 1 {
		t.Fatalf("found %d sender-key records for %s", edited, dist)
	}
	raw, err = json.Marshal(st)
	skOK(t, err)
	copyHandle := fmt.Sprintf("%s@%d", handle, n)
	_, err = o.ImportState(copyHandle, raw)
	skOK(t, err)
	return copyHandle
}

// goSenderAt is the same for a Go sender: it sets the newest chain of our
// own record to iteration n. It edits senderkey's own record encoding
// (e2ee/senderkey/record.go: state = field 1, in it iteration = 2 and chain
// key = 3), again checking that it found the SKDM's chain key.
func goSenderAt(t *testing.T, s *skStore, self senderkey.Address, dist [16]byte, skdm0 []byte, w *chainWalker, n uint32) *skStore {
	t.Helper()
	dm, err := senderkey.ParseDistributionMessage(skdm0)
	skOK(t, err)
	c := &skStore{m: s.snapshot()}
	k := skKey{self, dist}
	rec := c.m[k]
	state := fieldBytes(t, rec, 1)
	if !bytes.Equal(fieldBytes(t, state, 3), dm.ChainKey[:]) || dm.Iteration != 0 || !bytes.Equal(w.at(0), dm.ChainKey[:]) {
		t.Fatal("senderkey's record no longer has the SKDM's chain key at state.3")
	}
	state = rewriteFields(t, state, map[protowire.Number]any{2: n, 3: w.at(n)})
	c.m[k] = rewriteFields(t, rec, map[protowire.Number]any{1: state})
	return c
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	skOK(t, json.Unmarshal([]byte(`"`+s+`"`), &b))
	return b
}

func b64(b []byte) string {
	s, _ := json.Marshal(b)
	return strings.Trim(string(s), `"`)
}

// goDecrypt decrypts at a Go receiver and compares the plaintext.
func goDecrypt(t *testing.T, s *skStore, sender Address, ct []byte, want string) {
	t.Helper()
	pt, err := senderkey.Decrypt(context.Background(), s, goAddr(sender), ct)
	if err != nil {
		t.Fatalf("Go decrypt %q: %v", want, err)
	}
	if string(pt) != want {
		t.Fatalf("Go decrypted %q, want %q", pt, want)
	}
}

// goRefuses asserts that a Go decrypt fails with want and changes nothing.
func goRefuses(t *testing.T, s *skStore, sender Address, ct []byte, want error) {
	t.Helper()
	snap := s.snapshot()
	if _, err := senderkey.Decrypt(context.Background(), s, goAddr(sender), ct); !errors.Is(err, want) {
		t.Fatalf("Go decrypt: got %v, want %v", err, want)
	}
	s.unchangedSince(t, snap)
}

func libDecrypt(t *testing.T, o *Oracle, party string, sender Address, ct []byte, want string) {
	t.Helper()
	pt, err := o.GroupDecrypt(party, sender, ct)
	if err != nil {
		t.Fatalf("libsignal decrypt %q: %v", want, err)
	}
	if string(pt) != want {
		t.Fatalf("libsignal decrypted %q, want %q", pt, want)
	}
}

// libRefuses asserts that libsignal refuses with the given error class ("":
// any class of libsignal's own).
func libRefuses(t *testing.T, o *Oracle, party string, sender Address, ct []byte, class string) {
	t.Helper()
	_, err := o.GroupDecrypt(party, sender, ct)
	t.Logf("libsignal refuses: %v", err)
	if c := skClass(t, err); class != "" && c != class {
		t.Fatalf("libsignal refused with %s, want %s (%v)", c, class, err)
	}
}

var skSizes = []int{0, 1, 15, 16, 17, 255, 4096, 65536}

func skPlaintext(i, n int) string {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*31 + j)
	}
	return string(b)
}

// Case 24, libsignal → Go: a libsignal SKDM processed by Go, then libsignal
// groupEncrypt → Go decrypt, for PKCS#7 edge sizes; Go reads the SKDM
// exactly as libsignal reports it and re-encodes it byte for byte.
func TestSenderKeyLibsignalToGo(t *testing.T) {
	o := Start(t)
	ctx := context.Background()
	alice, err := o.NewParty("alice", 1)
	skOK(t, err)
	dist, distID := newDistribution(t)
	skdm, err := o.SKDM(alice.Party, dist)
	skOK(t, err)

	in, err := o.InspectSKDM(skdm)
	skOK(t, err)
	dm, err := senderkey.ParseDistributionMessage(skdm)
	skOK(t, err)
	if dm.DistributionID != distID || dm.ChainID != in.ChainID || dm.Iteration != in.Iteration ||
		!bytes.Equal(dm.ChainKey[:], in.ChainKey) || !bytes.Equal(dm.SigningKey.Bytes(), in.SigningKey) {
		t.Fatalf("Go parsed %+v, libsignal reports %+v", dm, in)
	}
	if !bytes.Equal(dm.Marshal(), skdm) {
		t.Fatalf("Go re-encodes libsignal's SKDM differently:\n go %x\nlib %x", dm.Marshal(), skdm)
	}

	bob, carol := newSKStore(), newSKStore()
	for _, s := range []*skStore{bob, carol} {
		skOK(t, senderkey.ProcessDistribution(ctx, s, goAddr(alice.Address()), skdm))
	}
	for i, n := range skSizes {
		msg := skPlaintext(i, n)
		ct, err := o.GroupEncrypt(alice.Party, dist, []byte(msg))
		skOK(t, err)
		pm, err := senderkey.ParseMessage(ct)
		skOK(t, err)
		if pm.Iteration != uint32(i) || pm.ChainID != dm.ChainID || pm.DistributionID != distID {
			t.Fatalf("message %d parsed as %+v", i, pm)
		}
		for _, s := range []*skStore{bob, carol} {
			goDecrypt(t, s, alice.Address(), ct, msg)
			goRefuses(t, s, alice.Address(), ct, senderkey.ErrDuplicate)
		}
	}

	// A later SKDM from libsignal carries the advanced chain: a Go member who
	// joins now reads from here on, not before.
	later, err := o.SKDM(alice.Party, dist)
	skOK(t, err)
	ldm, err := senderkey.ParseDistributionMessage(later)
	skOK(t, err)
	if ldm.Iteration != uint32(len(skSizes)) || ldm.ChainID != dm.ChainID {
		t.Fatalf("later SKDM %+v", ldm)
	}
	dave := newSKStore()
	skOK(t, senderkey.ProcessDistribution(ctx, dave, goAddr(alice.Address()), later))
	ct, err := o.GroupEncrypt(alice.Party, dist, []byte("welcome dave"))
	skOK(t, err)
	goDecrypt(t, dave, alice.Address(), ct, "welcome dave")
	goDecrypt(t, bob, alice.Address(), ct, "welcome dave")
}

// Case 24, Go → libsignal: a Go SKDM processed by libsignal, then Go Encrypt
// → libsignal groupDecrypt. libsignal's own parser reads every field as Go
// wrote it, finds no unknown field, and verifies Go's XEdDSA signature.
func TestSenderKeyGoToLibsignal(t *testing.T) {
	o := Start(t)
	ctx := context.Background()
	self := Address{Name: "alice", DeviceID: 2}
	dist, distID := newDistribution(t)
	alice := newSKStore()
	skdm, err := senderkey.CreateDistribution(ctx, alice, goAddr(self), distID, nil)
	skOK(t, err)

	in, err := o.InspectSKDM(skdm)
	skOK(t, err)
	dm, err := senderkey.ParseDistributionMessage(skdm)
	skOK(t, err)
	if in.VersionByte != 0x33 || in.DistributionID != dist || in.ChainID != dm.ChainID || in.Iteration != 0 ||
		!bytes.Equal(in.ChainKey, dm.ChainKey[:]) || !bytes.Equal(in.SigningKey, dm.SigningKey.Bytes()) || len(in.UnknownFields) != 0 {
		t.Fatalf("libsignal reads Go's SKDM as %+v; Go wrote %+v", in, dm)
	}

	var members []string
	for _, name := range []string{"bob", "carol"} {
		p, err := o.NewParty(name, 1)
		skOK(t, err)
		skOK(t, o.ProcessSKDM(p.Party, self, skdm))
		members = append(members, p.Party)
	}
	for i, n := range skSizes {
		msg := skPlaintext(i, n)
		ct, err := senderkey.Encrypt(ctx, alice, goAddr(self), distID, []byte(msg), nil)
		skOK(t, err)
		mi, err := o.Inspect(Ciphertext{TypeSenderKey, ct})
		skOK(t, err)
		if mi.VersionByte != 0x33 || mi.DistributionID != dist || mi.ChainID != dm.ChainID || mi.Iteration != uint32(i) || len(mi.UnknownFields) != 0 {
			t.Fatalf("libsignal reads Go message %d as %+v", i, mi)
		}
		ok, err := o.Verify(dm.SigningKey.Bytes(), ct[:len(ct)-64], mi.Signature)
		skOK(t, err)
		if !ok {
			t.Fatalf("libsignal rejects Go's signature on message %d", i)
		}
		for _, p := range members {
			libDecrypt(t, o, p, self, ct, msg)
			libRefuses(t, o, p, self, ct, "DuplicatedMessage")
		}
	}

	// Go's later SKDM carries the advanced chain, like libsignal's.
	later, err := senderkey.CreateDistribution(ctx, alice, goAddr(self), distID, nil)
	skOK(t, err)
	lin, err := o.InspectSKDM(later)
	skOK(t, err)
	if lin.Iteration != uint32(len(skSizes)) || lin.ChainID != dm.ChainID {
		t.Fatalf("later SKDM %+v", lin)
	}
	dave, err := o.NewParty("dave", 1)
	skOK(t, err)
	skOK(t, o.ProcessSKDM(dave.Party, self, later))
	ct, err := senderkey.Encrypt(ctx, alice, goAddr(self), distID, []byte("welcome dave"), nil)
	skOK(t, err)
	libDecrypt(t, o, dave.Party, self, ct, "welcome dave")
	libDecrypt(t, o, members[0], self, ct, "welcome dave")
}

// Case 25: out-of-order and duplicate delivery, both ways. The same
// shuffled schedule, with every message delivered twice, must give the same
// result on both implementations.
func TestSenderKeyOutOfOrder(t *testing.T) {
	o := Start(t)
	ctx := context.Background()
	const n = 40
	order := mrand.New(mrand.NewPCG(25, 26)).Perm(n)

	t.Run("libsignal to Go", func(t *testing.T) {
		alice, err := o.NewParty("alice-ooo", 1)
		skOK(t, err)
		dist, _ := newDistribution(t)
		skdm, err := o.SKDM(alice.Party, dist)
		skOK(t, err)
		bob := newSKStore()
		skOK(t, senderkey.ProcessDistribution(ctx, bob, goAddr(alice.Address()), skdm))
		var cts [][]byte
		for i := range n {
			ct, err := o.GroupEncrypt(alice.Party, dist, []byte(fmt.Sprint("m", i)))
			skOK(t, err)
			cts = append(cts, ct)
		}
		for _, i := range order {
			goDecrypt(t, bob, alice.Address(), cts[i], fmt.Sprint("m", i))
			goRefuses(t, bob, alice.Address(), cts[i], senderkey.ErrDuplicate)
		}
	})

	t.Run("Go to libsignal", func(t *testing.T) {
		self := Address{Name: "alice-go-ooo", DeviceID: 1}
		_, distID := newDistribution(t)
		alice := newSKStore()
		skdm, err := senderkey.CreateDistribution(ctx, alice, goAddr(self), distID, nil)
		skOK(t, err)
		bob, err := o.NewParty("bob-ooo", 1)
		skOK(t, err)
		skOK(t, o.ProcessSKDM(bob.Party, self, skdm))
		var cts [][]byte
		for i := range n {
			ct, err := senderkey.Encrypt(ctx, alice, goAddr(self), distID, []byte(fmt.Sprint("m", i)), nil)
			skOK(t, err)
			cts = append(cts, ct)
		}
		for _, i := range order {
			libDecrypt(t, o, bob.Party, self, cts[i], fmt.Sprint("m", i))
			libRefuses(t, o, bob.Party, self, cts[i], "DuplicatedMessage")
		}
	})
}

// Case 25: the forward-jump limit (25 000 accepted, 25 001 refused) and the
// bound on skipped keys (2000 kept) agree, with real messages from each side
// at those iterations.
func TestSenderKeyJumpLimits(t *testing.T) {
	o := Start(t)
	ctx := context.Background()
	const jump = senderkey.MaxForwardJump
	const kept = senderkey.MaxMessageKeys

	t.Run("libsignal to Go", func(t *testing.T) {
		alice, err := o.NewParty("alice-jump", 1)
		skOK(t, err)
		dist, _ := newDistribution(t)
		skdm, err := o.SKDM(alice.Party, dist)
		skOK(t, err)
		in, err := o.InspectSKDM(skdm)
		skOK(t, err)
		w := newChainWalker(in.ChainKey)
		at := func(n uint32, msg string) []byte {
			h := libsignalSenderAt(t, o, alice.Party, dist, skdm, w, n)
			ct, err := o.GroupEncrypt(h, dist, []byte(msg))
			skOK(t, err)
			if pm, _ := senderkey.ParseMessage(ct); pm == nil || pm.Iteration != n {
				t.Fatalf("edited libsignal sender did not send iteration %d", n)
			}
			return ct
		}
		bob := newSKStore()
		skOK(t, senderkey.ProcessDistribution(ctx, bob, goAddr(alice.Address()), skdm))
		goRefuses(t, bob, alice.Address(), at(jump+1, "too far"), senderkey.ErrTooFarAhead)
		goDecrypt(t, bob, alice.Address(), at(jump, "edge"), "edge")
		goDecrypt(t, bob, alice.Address(), at(jump-kept, "oldest kept"), "oldest kept")
		goRefuses(t, bob, alice.Address(), at(jump-kept-1, "dropped"), senderkey.ErrDuplicate)
		goDecrypt(t, bob, alice.Address(), at(jump-1, "newest skipped"), "newest skipped")
		goDecrypt(t, bob, alice.Address(), at(2*jump+1, "edge again"), "edge again")
	})

	t.Run("Go to libsignal", func(t *testing.T) {
		self := Address{Name: "alice-go-jump", DeviceID: 1}
		_, distID := newDistribution(t)
		alice := newSKStore()
		skdm, err := senderkey.CreateDistribution(ctx, alice, goAddr(self), distID, nil)
		skOK(t, err)
		dm, err := senderkey.ParseDistributionMessage(skdm)
		skOK(t, err)
		w := newChainWalker(dm.ChainKey[:])
		at := func(n uint32, msg string) []byte {
			ct, err := senderkey.Encrypt(ctx, goSenderAt(t, alice, goAddr(self), distID, skdm, w, n), goAddr(self), distID, []byte(msg), nil)
			skOK(t, err)
			if pm, _ := senderkey.ParseMessage(ct); pm == nil || pm.Iteration != n {
				t.Fatalf("edited Go sender did not send iteration %d", n)
			}
			return ct
		}
		bob, err := o.NewParty("bob-jump", 1)
		skOK(t, err)
		skOK(t, o.ProcessSKDM(bob.Party, self, skdm))
		libRefuses(t, o, bob.Party, self, at(jump+1, "too far"), "")
		libDecrypt(t, o, bob.Party, self, at(jump, "edge"), "edge")
		libDecrypt(t, o, bob.Party, self, at(jump-kept, "oldest kept"), "oldest kept")
		libRefuses(t, o, bob.Party, self, at(jump-kept-1, "dropped"), "DuplicatedMessage")
		libDecrypt(t, o, bob.Party, self, at(jump-1, "newest skipped"), "newest skipped")
		libDecrypt(t, o, bob.Party, self, at(2*jump+1, "edge again"), "edge again")
	})
}

// Case 25: bad signatures and wrong distribution ids. Every single-bit flip
// of a valid message, from either side, is refused by both implementations,
// which keep their state: the original still decrypts afterwards.
func TestSenderKeyTamperingAndWrongDistribution(t *testing.T) {
	o := Start(t)
	ctx := context.Background()

	lib, err := o.NewParty("alice-lib", 1)
	skOK(t, err)
	dist, distID := newDistribution(t)
	libSKDM, err := o.SKDM(lib.Party, dist)
	skOK(t, err)
	goSelf := Address{Name: "alice-go", DeviceID: 1}
	goAlice := newSKStore()
	goSKDM, err := senderkey.CreateDistribution(ctx, goAlice, goAddr(goSelf), distID, nil)
	skOK(t, err)

	// Each side is a member of the other's sender key.
	goBob := newSKStore()
	skOK(t, senderkey.ProcessDistribution(ctx, goBob, goAddr(lib.Address()), libSKDM))
	skOK(t, senderkey.ProcessDistribution(ctx, goBob, goAddr(goSelf), goSKDM))
	libBob, err := o.NewParty("bob-lib", 1)
	skOK(t, err)
	skOK(t, o.ProcessSKDM(libBob.Party, lib.Address(), libSKDM))
	skOK(t, o.ProcessSKDM(libBob.Party, goSelf, goSKDM))

	fromLib, err := o.GroupEncrypt(lib.Party, dist, []byte("from libsignal"))
	skOK(t, err)
	fromGo, err := senderkey.Encrypt(ctx, goAlice, goAddr(goSelf), distID, []byte("from go"), nil)
	skOK(t, err)

	for _, m := range []struct {
		name   string
		sender Address
		ct     []byte
		pt     string
	}{{"libsignal message", lib.Address(), fromLib, "from libsignal"}, {"Go message", goSelf, fromGo, "from go"}} {
		t.Run(m.name, func(t *testing.T) {
			for i := range m.ct {
				for _, bit := range []byte{0x01, 0x80} {
					bad := bytes.Clone(m.ct)
					bad[i] ^= bit
					snap := goBob.snapshot()
					_, goErr := senderkey.Decrypt(ctx, goBob, goAddr(m.sender), bad)
					_, libErr := o.GroupDecrypt(libBob.Party, m.sender, bad)
					if goErr == nil || libErr == nil {
						t.Fatalf("byte %d bit %#x: Go err %v, libsignal err %v", i, bit, goErr, libErr)
					}
					skClass(t, libErr)
					goBob.unchangedSince(t, snap)
					// In the signature, or in the signed bytes when they still
					// name the same chain, the failure must be the signature.
					if i >= len(m.ct)-64 && !errors.Is(goErr, senderkey.ErrBadSignature) {
						t.Fatalf("byte %d (signature) bit %#x: Go err %v", i, bit, goErr)
					}
				}
			}
			goDecrypt(t, goBob, m.sender, m.ct, m.pt)
			libDecrypt(t, o, libBob.Party, m.sender, m.ct, m.pt)
		})
	}

	// A message for a distribution the receiver has no key for.
	dist2, distID2 := newDistribution(t)
	_, err = o.SKDM(lib.Party, dist2)
	skOK(t, err)
	other, err := o.GroupEncrypt(lib.Party, dist2, []byte("elsewhere"))
	skOK(t, err)
	goRefuses(t, goBob, lib.Address(), other, senderkey.ErrNoSenderKey)
	libRefuses(t, o, libBob.Party, lib.Address(), other, "")
	_, err = senderkey.CreateDistribution(ctx, goAlice, goAddr(goSelf), distID2, nil)
	skOK(t, err)
	otherGo, err := senderkey.Encrypt(ctx, goAlice, goAddr(goSelf), distID2, []byte("elsewhere"), nil)
	skOK(t, err)
	goRefuses(t, goBob, goSelf, otherGo, senderkey.ErrNoSenderKey)
	libRefuses(t, o, libBob.Party, goSelf, otherGo, "")

	// The right message from the wrong sender address.
	fromLib2, err := o.GroupEncrypt(lib.Party, dist, []byte("again"))
	skOK(t, err)
	goRefuses(t, goBob, goSelf, fromLib2, senderkey.ErrNoSenderKey)
	libRefuses(t, o, libBob.Party, goSelf, fromLib2, "")
	goDecrypt(t, goBob, lib.Address(), fromLib2, "again")
	libDecrypt(t, o, libBob.Party, lib.Address(), fromLib2, "again")
}

// Case 26: rotation. The sender starts new chains (new chain id and signing
// key) for the same distribution; receivers keep up to five, newest first,
// so messages still in flight on older chains decrypt until a sixth chain
// pushes the oldest out. Both implementations draw that line at the same
// place.
func TestSenderKeyRotation(t *testing.T) {
	o := Start(t)
	ctx := context.Background()
	const chains = senderkey.MaxStates + 1

	t.Run("libsignal to Go", func(t *testing.T) {
		// libsignal rotates by starting over with an empty sender-key store;
		// here each chain is a separate oracle party with the same address.
		addr := Address{Name: "alice-rot", DeviceID: 1}
		dist, _ := newDistribution(t)
		bob := newSKStore()
		var late [][]byte
		for i := range chains {
			p, err := o.NewPartyWith(NewPartyArgs{Name: addr.Name, DeviceID: addr.DeviceID, Party: fmt.Sprintf("alice-rot#%d", i)})
			skOK(t, err)
			skdm, err := o.SKDM(p.Party, dist)
			skOK(t, err)
			skOK(t, senderkey.ProcessDistribution(ctx, bob, goAddr(addr), skdm))
			now, err := o.GroupEncrypt(p.Party, dist, []byte(fmt.Sprint("now ", i)))
			skOK(t, err)
			goDecrypt(t, bob, addr, now, fmt.Sprint("now ", i))
			ct, err := o.GroupEncrypt(p.Party, dist, []byte(fmt.Sprint("late ", i)))
			skOK(t, err)
			late = append(late, ct)
		}
		goRefuses(t, bob, addr, late[0], senderkey.ErrNoSenderKey)
		for i := 1; i < chains; i++ {
			goDecrypt(t, bob, addr, late[i], fmt.Sprint("late ", i))
		}
	})

	t.Run("Go to libsignal", func(t *testing.T) {
		self := Address{Name: "alice-go-rot", DeviceID: 1}
		_, distID := newDistribution(t)
		alice := newSKStore()
		bob, err := o.NewParty("bob-rot", 1)
		skOK(t, err)
		var late [][]byte
		chainIDs := map[uint32]bool{}
		for i := range chains {
			var skdm []byte
			if i == 0 {
				skdm, err = senderkey.CreateDistribution(ctx, alice, goAddr(self), distID, nil)
			} else {
				skdm, err = senderkey.RotateDistribution(ctx, alice, goAddr(self), distID, nil)
			}
			skOK(t, err)
			in, err := o.InspectSKDM(skdm)
			skOK(t, err)
			if chainIDs[in.ChainID] || in.Iteration != 0 {
				t.Fatalf("rotation %d: SKDM %+v", i, in)
			}
			chainIDs[in.ChainID] = true
			skOK(t, o.ProcessSKDM(bob.Party, self, skdm))
			now, err := senderkey.Encrypt(ctx, alice, goAddr(self), distID, []byte(fmt.Sprint("now ", i)), nil)
			skOK(t, err)
			libDecrypt(t, o, bob.Party, self, now, fmt.Sprint("now ", i))
			ct, err := senderkey.Encrypt(ctx, alice, goAddr(self), distID, []byte(fmt.Sprint("late ", i)), nil)
			skOK(t, err)
			late = append(late, ct)
		}
		libRefuses(t, o, bob.Party, self, late[0], "")
		for i := 1; i < chains; i++ {
			libDecrypt(t, o, bob.Party, self, late[i], fmt.Sprint("late ", i))
		}
	})

	t.Run("reprocessing an SKDM", func(t *testing.T) {
		// Neither side rewinds a chain when the same SKDM arrives again, so
		// a replay stays a duplicate on both.
		alice, err := o.NewParty("alice-again", 1)
		skOK(t, err)
		dist, _ := newDistribution(t)
		skdm, err := o.SKDM(alice.Party, dist)
		skOK(t, err)
		bobLib, err := o.NewParty("bob-again", 1)
		skOK(t, err)
		bobGo := newSKStore()
		skOK(t, o.ProcessSKDM(bobLib.Party, alice.Address(), skdm))
		skOK(t, senderkey.ProcessDistribution(ctx, bobGo, goAddr(alice.Address()), skdm))
		ct, err := o.GroupEncrypt(alice.Party, dist, []byte("once"))
		skOK(t, err)
		goDecrypt(t, bobGo, alice.Address(), ct, "once")
		libDecrypt(t, o, bobLib.Party, alice.Address(), ct, "once")
		skOK(t, o.ProcessSKDM(bobLib.Party, alice.Address(), skdm))
		skOK(t, senderkey.ProcessDistribution(ctx, bobGo, goAddr(alice.Address()), skdm))
		goRefuses(t, bobGo, alice.Address(), ct, senderkey.ErrDuplicate)
		libRefuses(t, o, bobLib.Party, alice.Address(), ct, "DuplicatedMessage")
	})
}
