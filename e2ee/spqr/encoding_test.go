package spqr

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestGFTablesMatchDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		a, b := uint16(r.Uint32()), uint16(r.Uint32())
		if got, want := gfMul(a, b), gfMulSlow(a, b); got != want {
			t.Fatalf("gfMul(%#x,%#x) = %#x, want %#x", a, b, got, want)
		}
	}
	for a := 1; a < 1<<16; a++ {
		if p := gfMulSlow(uint16(a), gfInv(uint16(a))); p != 1 {
			t.Fatalf("%#x * inv = %#x", a, p)
		}
	}
}

func TestGFFieldLaws(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		a, b, c := uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())
		if gfMul(a, gfMul(b, c)) != gfMul(gfMul(a, b), c) {
			t.Fatal("not associative")
		}
		if gfMul(a, b^c) != gfMul(a, b)^gfMul(a, c) {
			t.Fatal("not distributive")
		}
		if gfMul(a, b) != gfMul(b, a) {
			t.Fatal("not commutative")
		}
	}
	// x^16 = x^12 + x^3 + x + 1 in this field.
	x16 := uint16(1)
	for i := 0; i < 16; i++ {
		x16 = gfMulSlow(x16, 2)
	}
	if x16 != 0x100b {
		t.Fatalf("x^16 = %#x", x16)
	}
}

func randomMsg(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestEncoderSystematic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{96, 160, 960, 1152, 64} {
		msg := randomMsg(r, n)
		e, err := newEncoder(msg)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < n/32; k++ {
			c := e.next()
			if int(c.index) != k || !bytes.Equal(c.data[:], msg[32*k:32*k+32]) {
				t.Fatalf("len %d chunk %d is not the message slice", n, k)
			}
		}
	}
}

// A chunk computed past the systematic ones is a polynomial value: any set of
// enough distinct chunks gives the message back.
func TestEncodeDecodeAnySubset(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{2, 10, 30, 32, 34, 96, 100, 160, 960, 1152, 1154} {
		for trial := 0; trial < 20; trial++ {
			msg := randomMsg(r, n)
			e, _ := newEncoder(msg)
			need := (n + 31) / 32
			// Pick need distinct chunk indexes from a wide range, in random order.
			seen := map[uint16]bool{}
			var idx []uint16
			for len(idx) < need {
				k := uint16(r.IntN(3 * need))
				if trial%4 == 0 {
					k = uint16(r.Uint32()) // anywhere in the 16-bit range
				}
				if !seen[k] {
					seen[k] = true
					idx = append(idx, k)
				}
			}
			d, _ := newDecoder(n)
			for i, k := range idx {
				if _, ok := d.decoded(); ok && n%32 == 0 {
					t.Fatalf("len %d decoded after only %d chunks", n, i)
				}
				d = d.add(e.chunkAt(k))
			}
			got, ok := d.decoded()
			if !ok || !bytes.Equal(got, msg) {
				t.Fatalf("len %d chunks %v: decoded %v, equal %v", n, idx, ok, bytes.Equal(got, msg))
			}
		}
	}
}

func TestDecoderDuplicatesAndExtras(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	msg := randomMsg(r, 1152)
	e, _ := newEncoder(msg)
	d, _ := newDecoder(1152)
	// 50 chunks with heavy duplication, out of order, then check the result.
	for i := 0; i < 200; i++ {
		d = d.add(e.chunkAt(uint16(r.IntN(50))))
	}
	got, ok := d.decoded()
	if !ok || !bytes.Equal(got, msg) {
		t.Fatal("decode with duplicates failed")
	}
	for p := 0; p < numPolys; p++ {
		if len(d.poly(p)) > 2*d.necessary(p) {
			t.Fatalf("poly %d holds %d points", p, len(d.poly(p)))
		}
	}
}

func TestDecoderAddDoesNotMutate(t *testing.T) {
	msg := randomMsg(rand.New(rand.NewPCG(11, 12)), 96)
	e, _ := newEncoder(msg)
	d0, _ := newDecoder(96)
	d1 := d0.add(e.chunkAt(0))
	d2 := d1.add(e.chunkAt(7))
	_ = d1.add(e.chunkAt(0)) // replace in place must not leak into d2
	if len(d0.poly(0)) != 0 || len(d1.poly(0)) != 1 || len(d2.poly(0)) != 2 {
		t.Fatal("add changed its receiver")
	}
}

func TestEncoderRejects(t *testing.T) {
	if _, err := newEncoder(make([]byte, 3)); !errors.Is(err, ErrEncoding) {
		t.Fatal("odd length accepted")
	}
	if _, err := newDecoder(maxEncodedLen/2 + 2); !errors.Is(err, ErrEncoding) {
		t.Fatal("oversized length accepted")
	}
}

func TestEncoderIndexWraps(t *testing.T) {
	msg := randomMsg(rand.New(rand.NewPCG(13, 14)), 64)
	e, _ := newEncoder(msg)
	e.idx = 0xffff
	if c := e.next(); c.index != 0xffff {
		t.Fatal(c.index)
	}
	if c := e.next(); c.index != 0 || !bytes.Equal(c.data[:], msg[:32]) {
		t.Fatal("index did not wrap to the first systematic chunk")
	}
}
