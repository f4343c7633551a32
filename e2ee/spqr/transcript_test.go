package spqr

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Each testdata/libsignal-<version>-transcript.json holds two conversations
// between two libsignal parties of that version (strict ping-pong, and
// Alice-heavy with a reply every 10th message), read from their session
// records while they talked: the initiator's SPQR auth key, every pq_ratchet
// in order prefixed by the sender, each epoch's ML-KEM decapsulation key
// (FIPS 203 expanded form, 2400 bytes) of whichever side sent keys in it, and
// the chain's next_root after each epoch was added. The script
// testdata/capture-transcript.mjs makes them. The 0.90.0 capture is kept
// beside the 0.103.0 one (the interop oracle's pin) so that a change in
// libsignal between the two shows as one file failing.
//
// transcriptVersions are the captures every transcript test runs over; their
// conversations are named "<version>/<conversation>".
var transcriptVersions = []string{"0.90.0", "0.103.0"}

type transcript struct {
	AuthKey string            `json:"authKey"`
	Msgs    []string          `json:"msgs"`
	DKs     map[string]string `json:"dks"`
	Roots   map[string]string `json:"roots"`
}

func loadTranscriptFile(t *testing.T) map[string]transcript {
	all := map[string]transcript{}
	for _, v := range transcriptVersions {
		data, err := os.ReadFile("testdata/libsignal-" + v + "-transcript.json")
		if err != nil {
			t.Fatal(err)
		}
		var one map[string]transcript
		if err := json.Unmarshal(data, &one); err != nil {
			t.Fatal(err)
		}
		for name, tr := range one {
			all[v+"/"+name] = tr
		}
	}
	return all
}

type tmsg struct {
	from string
	raw  []byte
	m    message
}

func loadTranscripts(t *testing.T) map[string][]tmsg {
	all := loadTranscriptFile(t)
	out := map[string][]tmsg{}
	for name, tr := range all {
		for i, line := range tr.Msgs {
			from, h, _ := strings.Cut(line, " ")
			raw, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseMessage(raw)
			if err != nil {
				t.Fatalf("%s message %d %x: %v", name, i, raw, err)
			}
			if !bytes.Equal(m.appendTo(nil), raw) {
				t.Fatalf("%s message %d: our encoding differs from libsignal's", name, i)
			}
			out[name] = append(out[name], tmsg{from, raw, m})
		}
	}
	return out
}

func transcriptAuthKey(t *testing.T, name string) []byte {
	k, err := hex.DecodeString(loadTranscriptFile(t)[name].AuthKey)
	if err != nil || len(k) != 32 {
		t.Fatal("bad auth key")
	}
	return k
}

// Every chunk libsignal sent, systematic or not, must be what our encoder
// makes of the decoded payload: the GF(2^16) Reed–Solomon code is
// byte-identical.
func TestTranscriptErasureCode(t *testing.T) {
	sizes := map[MessageType]int{TypeHdr: hdrMsgSize, TypeEk: kemEKSize, TypeEkCt1Ack: kemEKSize, TypeCt1: kemCT1Size, TypeCt2: ct2MsgSize}
	family := map[MessageType]string{TypeHdr: "hdr", TypeEk: "ek", TypeEkCt1Ack: "ek", TypeCt1: "ct1", TypeCt2: "ct2"}
	perVersion := map[string]int{}
	for name, msgs := range loadTranscripts(t) {
		groups := map[string][]chunk{}
		size := map[string]int{}
		for _, tm := range msgs {
			if !tm.m.typ.hasChunk() {
				continue
			}
			key := tm.from + "/" + family[tm.m.typ] + "/" + string(rune('0'+tm.m.epoch))
			groups[key] = append(groups[key], tm.m.chunk)
			size[key] = sizes[tm.m.typ]
		}
		nonSystematic := 0
		for key, chunks := range groups {
			d := mustDecoder(size[key])
			for _, c := range chunks {
				d = d.add(c)
			}
			payload, ok := d.decoded()
			if !ok {
				continue // the conversation ended before this payload was complete
			}
			e := mustEncoder(payload)
			for _, c := range chunks {
				if int(c.index) >= size[key]/32 {
					nonSystematic++
				}
				if got := e.chunkAt(c.index); got != c {
					t.Fatalf("%s %s: chunk %d differs from libsignal's", name, key, c.index)
				}
			}
		}
		t.Logf("%s: %d payloads, %d non-systematic chunks matched", name, len(groups), nonSystematic)
		version, _, _ := strings.Cut(name, "/")
		perVersion[version] += nonSystematic
	}
	for _, v := range transcriptVersions {
		if perVersion[v] == 0 {
			t.Fatalf("%s: no non-systematic chunk exercised", v)
		}
	}
}

// Two Go parties running a capture's traffic pattern must send what the two
// libsignal parties sent, message by message: same sender, epoch, key index,
// payload kind and chunk index (the bytes differ, the keys being random).
// The versions differ in one visible way, which this pins: libsignal 0.90
// offered SPQR with MinVersion V0, so its initiator sent index-0 (keyless)
// chunks until it heard from the peer, while 0.92 and later (0.103 here)
// require V1 and key every message from the first.
func TestTranscriptGoPairSameShape(t *testing.T) {
	minVersion := map[string]Version{"0.90.0": V0, "0.103.0": V1}
	patterns := map[string]func(k int) bool{
		"pingpong":   func(k int) bool { return k%2 == 0 },
		"aliceheavy": func(k int) bool { return k%10 != 5 },
	}
	all := loadTranscripts(t)
	for _, v := range transcriptVersions {
		min, ok := minVersion[v]
		if !ok {
			t.Fatalf("%s: no MinVersion known for this capture", v)
		}
		for conv, aliceSends := range patterns {
			name := v + "/" + conv
			msgs := all[name]
			if len(msgs) == 0 {
				t.Fatalf("%s: no messages", name)
			}
			a, b := newPair(t, min)
			r := detRand(7)
			for i, tm := range msgs {
				from, to, who := a, b, "A"
				if !aliceSends(i) {
					from, to, who = b, a, "B"
				}
				out := mustSend(t, from, r)
				mustRecvKey(t, to, out)
				got, _ := parseMessage(out.msg)
				g := fmt.Sprintf("%s e%d i%d %v c%d", who, got.epoch, got.index, got.typ, got.chunk.index)
				w := fmt.Sprintf("%s e%d i%d %v c%d", tm.from, tm.m.epoch, tm.m.index, tm.m.typ, tm.m.chunk.index)
				if g != w {
					t.Fatalf("%s message %d: Go sent %s, libsignal %s", name, i, g, w)
				}
			}
		}
	}
}

// A Go responder fed libsignal-Alice's messages of epoch 1: it must verify
// her header MAC (authenticator and labels), accept her encapsulation key
// vector against that header (header = rho ‖ H(ek)), derive the chain keys
// without error, and send the same sequence of payload kinds libsignal-Bob
// sent. From epoch 2 on the keys depend on Go-Bob's own encapsulation, so the
// replay stops there.
func TestTranscriptGoResponder(t *testing.T) {
	for name, msgs := range loadTranscripts(t) {
		bob, err := NewState(Params{AuthKey: transcriptAuthKey(t, name), Direction: B2A, Version: V1, MinVersion: V0})
		if err != nil {
			t.Fatal(err)
		}
		r := detRand(5)
		reached := map[braidKind]bool{}
		for i, tm := range msgs {
			if tm.m.epoch > 1 {
				break
			}
			if tm.from == "B" {
				out := mustSend(t, bob, r)
				got, _ := parseMessage(out.msg)
				if got.epoch != tm.m.epoch || got.index != tm.m.index || got.typ != tm.m.typ || got.chunk.index != tm.m.chunk.index {
					t.Fatalf("%s message %d: Go-Bob sent e%d/i%d/%v/c%d, libsignal-Bob e%d/i%d/%v/c%d", name, i,
						got.epoch, got.index, got.typ, got.chunk.index, tm.m.epoch, tm.m.index, tm.m.typ, tm.m.chunk.index)
				}
				continue
			}
			key, err := bob.Recv(tm.raw)
			if err != nil {
				t.Fatalf("%s message %d (%v): %v", name, i, tm.m.typ, err)
			}
			if (key == nil) != (tm.m.index == 0) {
				t.Fatalf("%s message %d: key presence", name, i)
			}
			reached[bob.braid.kind] = true
		}
		if !reached[kindHeaderReceived] && !reached[kindCt1Sampled] {
			t.Fatalf("%s: header never accepted", name)
		}
		if !reached[kindCt2Sampled] {
			t.Fatalf("%s: key vector never accepted (states %v)", name, reached)
		}
	}
}

// Every epoch of the libsignal conversations, recomputed: the ek sender's
// header MAC, decapsulation of the ct sender's ciphertext with the ek
// sender's key (taken from its record), the epoch secret ("SCKA Key"), the
// authenticator update and ciphertext MAC, and the chain's Add Epoch root all
// agree with libsignal's bytes.
func TestTranscriptEpochSecrets(t *testing.T) {
	all := loadTranscriptFile(t)
	for name, msgs := range loadTranscripts(t) {
		tr := all[name]
		authKey := transcriptAuthKey(t, name)
		c := newChain(authKey, A2B, ChainParams{})
		if hex.EncodeToString(c.nextRoot[:]) != tr.Roots["0"] {
			t.Fatalf("%s: chain start root differs", name)
		}
		auth := newAuthenticator(authKey, 1)
		payload := func(from string, epoch uint64, types []MessageType, size int) ([]byte, bool) {
			d := mustDecoder(size)
			for _, tm := range msgs {
				if tm.from == from && tm.m.epoch == epoch && slices.Contains(types, tm.m.typ) {
					d = d.add(tm.m.chunk)
				}
			}
			return d.decoded()
		}
		epochs := 0
		for e := uint64(1); ; e++ {
			ekSide, ctSide := "A", "B"
			if e%2 == 0 {
				ekSide, ctSide = "B", "A"
			}
			hdrMsg, ok1 := payload(ekSide, e, []MessageType{TypeHdr}, hdrMsgSize)
			ct1, ok2 := payload(ctSide, e, []MessageType{TypeCt1}, kemCT1Size)
			ct2Msg, ok3 := payload(ctSide, e, []MessageType{TypeCt2}, ct2MsgSize)
			dkHex, ok4 := tr.DKs[fmt.Sprint(e)]
			if !ok1 || !ok2 || !ok3 || !ok4 {
				break
			}
			hdr := hdrMsg[:kemHeaderSize]
			if !hmac.Equal(hdrMsg[kemHeaderSize:], auth.macOf(labelMACHeader, e, hdr)) {
				t.Fatalf("%s epoch %d: header MAC", name, e)
			}
			dk, _ := hex.DecodeString(dkHex)
			ct := append(bytes.Clone(ct1), ct2Msg[:kemCT2Size]...)
			k := decapsExpandedForTest(t, dk, ct)
			if !bytes.Equal(dk[kemEKSize+kemEKSize+32:][:32], hdr[32:]) || !bytes.Equal(dk[2*kemEKSize:][:32], hdr[:32]) {
				t.Fatalf("%s epoch %d: header is not rho ‖ H(ek) of the key", name, e)
			}
			secret := scka(e, k)
			auth.update(e, secret)
			if !hmac.Equal(ct2Msg[kemCT2Size:], auth.macOf(labelMACCt, e, ct)) {
				t.Fatalf("%s epoch %d: ciphertext MAC", name, e)
			}
			c.addEpoch(secret)
			if hex.EncodeToString(c.nextRoot[:]) != tr.Roots[fmt.Sprint(e)] {
				t.Fatalf("%s epoch %d: chain root after Add Epoch differs", name, e)
			}
			epochs++
		}
		t.Logf("%s: %d epochs verified", name, epochs)
		if epochs < 2 {
			t.Fatalf("%s: only %d epochs", name, epochs)
		}
	}
}

// decapsExpandedForTest decapsulates with a FIPS 203 expanded decapsulation
// key (dk_PKE ‖ ek ‖ H(ek) ‖ z), which crypto/mlkem cannot load: K-PKE.Decrypt
// gives m, and re-encrypting with the incremental encapsulation must give the
// ciphertext back (the Fujisaki–Okamoto check).
func decapsExpandedForTest(t *testing.T, dk, ct []byte) []byte {
	t.Helper()
	if len(dk) != 2400 || len(ct) != kemCT1Size+kemCT2Size {
		t.Fatal("bad sizes")
	}
	var w ringElement
	for i := 0; i < kemK; i++ {
		u := decodeDecompress(ct[320*i:320*(i+1)], kemDU)
		w = polyAdd(w, mulNTT(decode12(dk[384*i:384*(i+1)]), ntt(u)))
	}
	v := decodeDecompress(ct[kemCT1Size:], kemDV)
	w = invNTT(w)
	var m [32]byte
	for i := 0; i < kemN; i++ {
		m[i/8] |= byte(compress(fqSub(v[i], w[i]), 1)) << (i % 8)
	}
	ekVec, rho, h := dk[kemEKSize:2*kemEKSize], dk[2*kemEKSize:2*kemEKSize+32], dk[2*kemEKSize+32:2*kemEKSize+64]
	hdr := append(bytes.Clone(rho), h...)
	ct1, k := encaps1(hdr, &m)
	if !bytes.Equal(append(ct1, encaps2(hdr, ekVec, &m)...), ct) {
		t.Fatal("re-encryption does not give the ciphertext")
	}
	return k[:]
}

func decodeDecompress(b []byte, d uint) ringElement {
	var f ringElement
	var acc uint32
	var bits uint
	i := 0
	for _, c := range b {
		acc |= uint32(c) << bits
		bits += 8
		for bits >= d && i < kemN {
			y := acc & (1<<d - 1)
			acc >>= d
			bits -= d
			f[i] = uint16((y*kemQ + 1<<(d-1)) >> d)
			i++
		}
	}
	return f
}
