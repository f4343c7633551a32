package spqr

import (
	"fmt"
	"sort"
	"sync"
)

// The erasure code. A message of N bytes (N even) is read as N/2 big-endian
// 16-bit symbols; symbol s belongs to polynomial s%16 at x = s/16, so the 16
// polynomials interleave. Chunk k carries the value at x = k of every
// polynomial, 2 bytes each: 32 bytes. For x below a polynomial's point count
// that value is the message symbol itself (the code is systematic: chunk k of
// a 32-byte-aligned message is bytes [32k, 32k+32)); beyond it, the value of
// the Lagrange polynomial through the message points. Any set of distinct
// chunks as large as the message in chunks decodes it.

// gfPoly is x^16 + x^12 + x^3 + x + 1, the reduction polynomial of GF(2^16).
const gfPoly = 0x1100b

// gfMulSlow multiplies by shift-and-add; the reference for the tables.
func gfMulSlow(a, b uint16) uint16 {
	var p uint32
	x, y := uint32(a), uint32(b)
	for y != 0 {
		if y&1 != 0 {
			p ^= x
		}
		y >>= 1
		x <<= 1
		if x&0x10000 != 0 {
			x ^= gfPoly
		}
	}
	return uint16(p)
}

type gfTables struct {
	exp [2 * 65535]uint16
	log [65536]uint16
}

// gfT builds log/exp tables on first use, from the first generator of the
// multiplicative group (the tables are only fast paths; gfMulSlow is the
// definition and the tests compare the two).
var gfT = sync.OnceValue(func() *gfTables {
	t := new(gfTables)
	for g := uint16(2); ; g++ {
		x := uint16(1)
		ok := true
		for i := 0; i < 65535; i++ {
			if i > 0 && x == 1 {
				ok = false
				break
			}
			t.exp[i] = x
			x = gfMulSlow(x, g)
		}
		if ok && x == 1 {
			break
		}
	}
	for i := 0; i < 65535; i++ {
		t.exp[i+65535] = t.exp[i]
		t.log[t.exp[i]] = uint16(i)
	}
	return t
})

func gfMul(a, b uint16) uint16 { return gfT().mul(a, b) }

// mul is gfMul for loops that fetch the tables once.
func (t *gfTables) mul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	return t.exp[int(t.log[a])+int(t.log[b])]
}

// gfInv returns the multiplicative inverse; a must not be 0.
func gfInv(a uint16) uint16 {
	t := gfT()
	return t.exp[65535-int(t.log[a])]
}

type gfPoint struct{ x, y uint16 }

// lagrange holds the points of one polynomial with their barycentric weights
// 1/prod_{m!=j}(x_j - x_m), so that each evaluation costs O(n).
type lagrange struct {
	pts []gfPoint
	w   []uint16
}

func newLagrange(pts []gfPoint) *lagrange {
	l := &lagrange{pts: pts, w: make([]uint16, len(pts))}
	for j := range pts {
		d := uint16(1)
		for m := range pts {
			if m != j {
				d = gfMul(d, pts[j].x^pts[m].x) // subtraction is XOR
			}
		}
		l.w[j] = gfInv(d)
	}
	return l
}

// eval returns the polynomial's value at x, which must differ from every
// point's x.
func (l *lagrange) eval(x uint16) uint16 {
	var stack [64]uint16
	return l.combine(l.coefficients(x, stack[:0]))
}

// coefficients appends to buf the values at x of the Lagrange basis of l's
// points: num_j·w_j, with num_j = prod_{m!=j}(x - x_m). They depend only on
// the points' x, so polynomials through the same x share them.
func (l *lagrange) coefficients(x uint16, buf []uint16) []uint16 {
	t := gfT()
	n := len(l.pts)
	// num_j from prefix and suffix products: the suffixes go into buf first,
	// each is then replaced by its coefficient. The braid's messages have
	// at most 36 points per polynomial: no heap for the caller's stack
	// buffer.
	buf = append(buf[:0], make([]uint16, n+1)...)
	buf[n] = 1
	for m := n - 1; m >= 0; m-- {
		buf[m] = t.mul(buf[m+1], x^l.pts[m].x)
	}
	prefix := uint16(1)
	for j := 0; j < n; j++ {
		buf[j] = t.mul(t.mul(prefix, buf[j+1]), l.w[j])
		prefix = t.mul(prefix, x^l.pts[j].x)
	}
	return buf[:n]
}

// combine returns sum_j coef_j·y_j: the polynomial's value where coef are
// the basis values.
func (l *lagrange) combine(coef []uint16) uint16 {
	t := gfT()
	var sum uint16
	for j, c := range coef {
		sum ^= t.mul(c, l.pts[j].y)
	}
	return sum
}

const (
	chunkSize = 32
	numPolys  = chunkSize / 2
	// maxEncodedLen: x is a 16-bit value, so each polynomial has at most 2^16
	// points.
	maxEncodedLen = (1 << 16) * numPolys * 2
)

type chunk struct {
	index uint16
	data  [chunkSize]byte
}

// encoder produces the chunks of one message. Only msg and idx are state; the
// interpolation is a cache built on demand. Copies of an encoder share msg
// and the cache, so neither is ever written once set: the cache is built
// whole and then assigned.
type encoder struct {
	msg   []byte
	idx   uint32 // next chunk; the chunk index is its low 16 bits
	polys *[numPolys]*lagrange
}

func checkEncodable(n int) error {
	if n%2 != 0 {
		return fmt.Errorf("%w: odd message length %d", ErrEncoding, n)
	}
	if n > maxEncodedLen/2 {
		return fmt.Errorf("%w: message length %d too long", ErrEncoding, n)
	}
	return nil
}

func newEncoder(msg []byte) (encoder, error) {
	if err := checkEncodable(len(msg)); err != nil {
		return encoder{}, err
	}
	return encoder{msg: msg}, nil
}

// pointsOf returns how many message symbols polynomial p carries when the
// message has n symbols.
func pointsOf(n, p int) int {
	c := n / numPolys
	if p < n%numPolys {
		c++
	}
	return c
}

func (e *encoder) symbol(s int) uint16 {
	return uint16(e.msg[2*s])<<8 | uint16(e.msg[2*s+1])
}

func (e *encoder) chunkAt(k uint16) chunk {
	c := chunk{index: k}
	n := len(e.msg) / 2
	// Polynomials with the same number of points have the same x (0, 1, …),
	// so the basis values at k are computed once per point count (there
	// are at most two).
	var coefStack [64]uint16
	var coef []uint16
	coefFor := -1
	for p := 0; p < numPolys; p++ {
		var y uint16
		if pts := pointsOf(n, p); int(k) < pts {
			y = e.symbol(int(k)*numPolys + p)
		} else {
			if e.polys == nil {
				e.polys = e.interpolate()
			}
			l := e.polys[p]
			if pts != coefFor {
				coef, coefFor = l.coefficients(k, coefStack[:0]), pts
			}
			y = l.combine(coef)
		}
		c.data[2*p] = byte(y >> 8)
		c.data[2*p+1] = byte(y)
	}
	return c
}

// interpolate builds the polynomials through the message symbols.
func (e *encoder) interpolate() *[numPolys]*lagrange {
	n := len(e.msg) / 2
	polys := new([numPolys]*lagrange)
	for p := range polys {
		pts := make([]gfPoint, pointsOf(n, p))
		for x := range pts {
			pts[x] = gfPoint{x: uint16(x), y: e.symbol(x*numPolys + p)}
		}
		polys[p] = newLagrange(pts)
	}
	return polys
}

// next returns the next chunk and advances; the index wraps at 2^16 as
// libsignal's does.
func (e *encoder) next() chunk {
	c := e.chunkAt(uint16(e.idx))
	e.idx++
	return c
}

// decoder gathers chunks of a message of need symbols. Points are kept sorted
// by x; a later point with the same x replaces the earlier one.
//
// The points of all polynomials share one slice, polynomial p's being
// pts[off[p]:off[p+1]]. That slice is never written once the decoder is
// built (add makes a new one), so copies of a decoder share it safely and a
// state clone does not copy points.
type decoder struct {
	need int
	off  [numPolys + 1]uint32
	pts  []gfPoint
}

func newDecoder(lenBytes int) (decoder, error) {
	if err := checkEncodable(lenBytes); err != nil {
		return decoder{}, err
	}
	return decoder{need: lenBytes / 2}, nil
}

func (d *decoder) necessary(p int) int { return pointsOf(d.need, p) }

// poly returns polynomial p's points (not to be written).
func (d *decoder) poly(p int) []gfPoint {
	return d.pts[d.off[p]:d.off[p+1]:d.off[p+1]]
}

// add returns a decoder with chunk c added; d itself is not changed, so that a
// chunk whose message later fails authentication leaves no trace.
func (d decoder) add(c chunk) decoder {
	// What happens to each polynomial: -1 nothing, else the position where
	// the point goes, replacing one when same says so.
	var at [numPolys]int
	var same [numPolys]bool
	grow, change := 0, false
	for p := 0; p < numPolys; p++ {
		x := c.index
		y := uint16(c.data[2*p])<<8 | uint16(c.data[2*p+1])
		need := d.necessary(p)
		old := d.poly(p)
		at[p] = -1
		// A point is kept while the polynomial is short of points, or when it
		// is a systematic one that saves interpolation.
		if int(x) >= need && len(old) >= need {
			continue
		}
		i := len(old)
		if i > 0 && old[i-1].x >= x { // chunks usually come in order
			i = sort.Search(len(old), func(i int) bool { return old[i].x >= x })
		}
		at[p] = i
		if i < len(old) && old[i].x == x {
			same[p] = true
			change = change || old[i].y != y
		} else {
			grow++
			change = true
		}
	}
	if !change {
		return d
	}
	n := decoder{need: d.need, pts: make([]gfPoint, 0, len(d.pts)+grow)}
	for p := 0; p < numPolys; p++ {
		old := d.poly(p)
		n.off[p] = uint32(len(n.pts))
		i := at[p]
		if i < 0 {
			n.pts = append(n.pts, old...)
			continue
		}
		pt := gfPoint{c.index, uint16(c.data[2*p])<<8 | uint16(c.data[2*p+1])}
		n.pts = append(n.pts, old[:i]...)
		n.pts = append(n.pts, pt)
		if same[p] {
			i++
		}
		n.pts = append(n.pts, old[i:]...)
	}
	n.off[numPolys] = uint32(len(n.pts))
	return n
}

// decoded returns the message once enough chunks are in.
func (d *decoder) decoded() ([]byte, bool) {
	for p := 0; p < numPolys; p++ {
		if len(d.poly(p)) < d.necessary(p) {
			return nil, false
		}
	}
	var polys [numPolys]*lagrange
	out := make([]byte, 0, 2*d.need)
	for s := 0; s < d.need; s++ {
		p, x := s%numPolys, uint16(s/numPolys)
		pts := d.poly(p)
		i := sort.Search(len(pts), func(i int) bool { return pts[i].x >= x })
		var y uint16
		if i < len(pts) && pts[i].x == x {
			y = pts[i].y
		} else {
			if polys[p] == nil {
				polys[p] = newLagrange(pts[:d.necessary(p)])
			}
			y = polys[p].eval(x)
		}
		out = append(out, byte(y>>8), byte(y))
	}
	return out, true
}
