package spqr

import (
	"crypto/sha256"
	"encoding/hex"
	mrand "math/rand/v2"
	"testing"
)

// stateEncodingDigest runs a deterministic conversation with loss and
// reordering and hashes both parties' stored states after every operation.
func stateEncodingDigest(t *testing.T) (string, int) {
	rnd := mrand.New(mrand.NewPCG(51, 52))
	r := detRand(51)
	a, b := newPair(t, V1)
	parties := [2]*State{a, b}
	var queue [2][]sentMsg
	h := sha256.New()
	n := 0
	kinds := map[braidKind]bool{}
	for step := 0; step < 3000; step++ {
		from := rnd.IntN(2)
		if rnd.Float64() < 0.5 {
			m := mustSend(t, parties[from], r)
			if rnd.Float64() >= 0.1 {
				queue[1-from] = append(queue[1-from], m)
			}
		} else if q := queue[from]; len(q) > 0 {
			i := 0
			if rnd.Float64() < 0.3 {
				i = rnd.IntN(len(q))
			}
			m := q[i]
			queue[from] = append(q[:i:i], q[i+1:]...)
			_, _ = parties[from].Recv(m.msg)
		}
		if step%7 == 0 {
			parties[0], parties[1] = roundTrip(t, parties[0]), roundTrip(t, parties[1])
		}
		for _, p := range parties {
			kinds[p.braid.kind] = true
			enc, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			h.Write(enc)
			n++
		}
	}
	if len(kinds) != int(kindLast) {
		t.Fatalf("covered %d of %d braid kinds", len(kinds), kindLast)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// The stored form of a State is a format records keep on disk: it must not
// change with the in-memory layout. The digest was taken with the first
// implementation (before the decoder's points moved into one slice).
func TestStateEncodingGolden(t *testing.T) {
	const want = "7e1c38a6b85d51e91c3bc5963ba86781e822185985f0789d04de4553a57b87b4"
	if got, n := stateEncodingDigest(t); got != want {
		t.Fatalf("digest of %d stored states: %s, want %s", n, got, want)
	}
}
