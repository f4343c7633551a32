package spqr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The stored form of a State is Parley's own, not libsignal's protobuf:
//
//	format(1) ‖ v1 flag ‖ [braid] ‖ chain flag ‖ [chain] ‖ negotiation flag ‖ [negotiation]
//
// Every field is stored as it is held in memory; see unmarshalBraid.

const stateFormat = 1

type writer struct{ b []byte }

func (w *writer) u8(v byte)    { w.b = append(w.b, v) }
func (w *writer) uv(v uint64)  { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) raw(p []byte) { w.b = append(w.b, p...) }
func (w *writer) flag(v bool) {
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrStateDecode}, args...)...)
	}
}

func (r *reader) u8() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("%v", errShort)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uv() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	v := r.uv()
	if v > math.MaxUint32 {
		r.fail("value %d exceeds 32 bits", v)
		return 0
	}
	return uint32(v)
}

// raw returns a copy of the next n bytes, for values the state keeps.
func (r *reader) raw(n int) []byte {
	return append([]byte(nil), r.view(n)...)
}

// view returns the next n bytes themselves (zeros once failed), for values
// copied at once.
func (r *reader) view(n int) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if len(r.b) < n {
		r.fail("%v", errShort)
		return make([]byte, n)
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// key32 reads 32 bytes into dst.
func (r *reader) key32(dst *[32]byte) {
	if r.err == nil && len(r.b) >= 32 {
		copy(dst[:], r.b[:32])
		r.b = r.b[32:]
		return
	}
	copy(dst[:], r.view(32))
}

func (r *reader) flag() bool {
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad flag")
	return false
}

// MarshalBinary encodes the state for storage.
func (s *State) MarshalBinary() ([]byte, error) {
	w := &writer{b: make([]byte, 0, s.encodedSizeHint())}
	w.u8(stateFormat)
	w.flag(s.v1)
	if s.v1 {
		s.braid.marshal(w)
	}
	w.flag(s.chain != nil)
	if s.chain != nil {
		s.chain.marshal(w)
	}
	w.flag(s.neg != nil)
	if s.neg != nil {
		w.raw(s.neg.authKey[:])
		w.u8(byte(s.neg.dir))
		w.u8(byte(s.neg.minVersion))
		w.uv(uint64(s.neg.params.MaxJump))
		w.uv(uint64(s.neg.params.MaxOOOKeys))
	}
	return w.b, nil
}

// encodedSizeHint bounds the length of MarshalBinary's output, so that it
// writes into one buffer.
func (s *State) encodedSizeHint() int {
	n := 128 // format, flags, negotiation, chain header
	if s.v1 {
		b := &s.braid
		n += 96 + len(b.seed) + len(b.enc.msg) + 4*len(b.dec.pts) + 3*numPolys +
			len(b.hdr) + len(b.m) + len(b.ek) + len(b.ct1)
	}
	if s.chain != nil {
		for _, l := range s.chain.links {
			n += 2*48 + 37*(len(l.send.prev)+len(l.recv.prev))
		}
	}
	return n
}

// UnmarshalBinary replaces s with the decoded state. On error s is unchanged.
func (s *State) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	if f := r.u8(); r.err == nil && f != stateFormat {
		return fmt.Errorf("%w: unknown format %d", ErrStateDecode, f)
	}
	var n State
	n.v1 = r.flag()
	if n.v1 && r.err == nil {
		n.braid = unmarshalBraid(r)
	}
	if r.flag() && r.err == nil {
		n.chain = unmarshalChain(r)
	}
	if r.flag() && r.err == nil {
		neg := &negotiation{}
		r.key32(&neg.authKey)
		neg.dir = Direction(r.u8())
		neg.minVersion = Version(r.u8())
		neg.params.MaxJump = r.u32()
		neg.params.MaxOOOKeys = r.u32()
		if r.err == nil && (!neg.dir.valid() || neg.minVersion > V1) {
			r.fail("bad negotiation")
		}
		n.neg = neg
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err == nil && !n.v1 && (n.chain != nil || n.neg != nil) {
		r.fail("V0 state with V1 data")
	}
	if r.err == nil && n.v1 && n.chain == nil && n.neg == nil {
		r.fail("V1 state without chain or negotiation")
	}
	if r.err != nil {
		return r.err
	}
	*s = n
	return nil
}

func marshalDecoder(w *writer, d *decoder) {
	for p := 0; p < numPolys; p++ {
		pts := d.poly(p)
		w.uv(uint64(len(pts)))
		for _, pt := range pts {
			w.b = append(w.b, byte(pt.x>>8), byte(pt.x), byte(pt.y>>8), byte(pt.y))
		}
	}
}

func unmarshalDecoder(r *reader, lenBytes int) decoder {
	d := mustDecoder(lenBytes)
	for p := 0; p < numPolys; p++ {
		d.off[p] = uint32(len(d.pts))
		n := r.uv()
		if r.err != nil {
			return d
		}
		if n > uint64(2*d.necessary(p)) || n > uint64(len(r.b)/4) {
			r.fail("decoder holds %d points", n)
			return d
		}
		if p == 0 {
			// The polynomials hold about as many points each.
			d.pts = make([]gfPoint, 0, min(int(n)*numPolys, len(r.b)/4))
		}
		start := len(d.pts)
		for i := uint64(0); i < n; i++ {
			b := r.view(4)
			if r.err != nil {
				return d
			}
			pt := gfPoint{x: uint16(b[0])<<8 | uint16(b[1]), y: uint16(b[2])<<8 | uint16(b[3])}
			if len(d.pts) > start && d.pts[len(d.pts)-1].x >= pt.x {
				r.fail("decoder points out of order")
				return d
			}
			d.pts = append(d.pts, pt)
		}
	}
	d.off[numPolys] = uint32(len(d.pts))
	return d
}

func (b *braid) marshal(w *writer) {
	w.u8(byte(b.kind))
	w.uv(b.epoch)
	w.raw(b.auth.root[:])
	w.raw(b.auth.mac[:])
	switch b.kind {
	case kindKeysSampled:
		w.raw(b.seed)
		w.raw(b.enc.msg)
		w.uv(uint64(b.enc.idx))
	case kindHeaderSent:
		w.raw(b.seed)
		w.raw(b.enc.msg)
		w.uv(uint64(b.enc.idx))
		marshalDecoder(w, &b.dec)
	case kindCt1Received:
		w.raw(b.seed)
		w.raw(b.enc.msg)
		w.uv(uint64(b.enc.idx))
		w.raw(b.ct1)
	case kindEkSentCt1Received:
		w.raw(b.seed)
		w.raw(b.ct1)
		marshalDecoder(w, &b.dec)
	case kindNoHeaderReceived:
		marshalDecoder(w, &b.dec)
	case kindHeaderReceived:
		w.raw(b.hdr)
		marshalDecoder(w, &b.dec)
	case kindCt1Sampled:
		w.raw(b.hdr)
		w.raw(b.m[:])
		w.raw(b.ct1)
		w.uv(uint64(b.enc.idx))
		marshalDecoder(w, &b.dec)
	case kindEkReceivedCt1Sampled:
		w.raw(b.hdr)
		w.raw(b.m[:])
		w.raw(b.ct1)
		w.uv(uint64(b.enc.idx))
		w.raw(b.ek)
	case kindCt1Acknowledged:
		w.raw(b.hdr)
		w.raw(b.m[:])
		w.raw(b.ct1)
		marshalDecoder(w, &b.dec)
	case kindCt2Sampled:
		w.raw(b.enc.msg)
		w.uv(uint64(b.enc.idx))
	}
}

// loadEncoder reads an encoder's message of n bytes and its position.
func loadEncoder(r *reader, n int) encoder {
	msg := r.raw(n)
	idx := r.u32()
	e := mustEncoder(msg)
	e.idx = idx
	return e
}

// unmarshalBraid checks every length and ordering a later Send or Recv relies
// on. Byte values are taken as stored: derived values (the header chunk
// source, ct1) are not recomputed, because a load happens on every message
// and recomputing costs more than the message itself; a corrupted value can
// only make the epoch fail, never crash.
func unmarshalBraid(r *reader) braid {
	var b braid
	b.kind = braidKind(r.u8())
	b.epoch = r.uv()
	r.key32(&b.auth.root)
	r.key32(&b.auth.mac)
	if r.err != nil {
		return b
	}
	if b.kind < 1 || b.kind > kindLast {
		r.fail("braid kind %d", b.kind)
		return b
	}
	if b.epoch == 0 || b.epoch == math.MaxUint64 {
		r.fail("braid epoch %d", b.epoch)
		return b
	}
	loadM := func() {
		r.key32(&b.m)
	}
	switch b.kind {
	case kindKeysSampled:
		b.seed = r.raw(kemSeedSize)
		b.enc = loadEncoder(r, hdrMsgSize)
	case kindHeaderSent:
		b.seed = r.raw(kemSeedSize)
		b.enc = loadEncoder(r, kemEKSize)
		b.dec = unmarshalDecoder(r, kemCT1Size)
	case kindCt1Received:
		b.seed = r.raw(kemSeedSize)
		b.enc = loadEncoder(r, kemEKSize)
		b.ct1 = r.raw(kemCT1Size)
	case kindEkSentCt1Received:
		b.seed = r.raw(kemSeedSize)
		b.ct1 = r.raw(kemCT1Size)
		b.dec = unmarshalDecoder(r, ct2MsgSize)
	case kindNoHeaderReceived:
		b.dec = unmarshalDecoder(r, hdrMsgSize)
	case kindHeaderReceived:
		b.hdr = r.raw(kemHeaderSize)
		b.dec = unmarshalDecoder(r, kemEKSize)
	case kindCt1Sampled:
		b.hdr = r.raw(kemHeaderSize)
		loadM()
		b.ct1 = r.raw(kemCT1Size)
		b.enc = mustEncoder(b.ct1)
		b.enc.idx = r.u32()
		b.dec = unmarshalDecoder(r, kemEKSize)
	case kindEkReceivedCt1Sampled:
		b.hdr = r.raw(kemHeaderSize)
		loadM()
		b.ct1 = r.raw(kemCT1Size)
		b.enc = mustEncoder(b.ct1)
		b.enc.idx = r.u32()
		b.ek = r.raw(kemEKSize)
	case kindCt1Acknowledged:
		b.hdr = r.raw(kemHeaderSize)
		loadM()
		b.ct1 = r.raw(kemCT1Size)
		b.dec = unmarshalDecoder(r, kemEKSize)
	case kindCt2Sampled:
		b.enc = loadEncoder(r, ct2MsgSize)
	}
	return b
}

func (d *chainDir) marshal(w *writer) {
	w.uv(uint64(d.ctr))
	w.flag(d.hasNext)
	if d.hasNext {
		w.raw(d.next[:])
	}
	w.uv(uint64(len(d.prev)))
	for _, k := range d.prev {
		w.uv(uint64(k.idx))
		w.raw(k.key[:])
	}
}

func unmarshalChainDir(r *reader, p ChainParams) chainDir {
	var d chainDir
	d.ctr = r.u32()
	d.hasNext = r.flag()
	if d.hasNext {
		r.key32(&d.next)
	}
	n := r.uv()
	if r.err != nil {
		return d
	}
	if n > p.maxOOO() || n > uint64(len(r.b)/33) {
		r.fail("%d stored keys", n)
		return d
	}
	d.prev = make([]storedKey, 0, n)
	for i := uint64(0); i < n; i++ {
		k := storedKey{idx: r.u32()}
		r.key32(&k.key)
		if r.err != nil {
			return d
		}
		if k.idx >= d.ctr || (len(d.prev) > 0 && d.prev[len(d.prev)-1].idx >= k.idx) {
			r.fail("stored keys out of order")
			return d
		}
		d.prev = append(d.prev, k)
	}
	return d
}

// chainBlock is a decoded chain with room for its links: one allocation.
type chainBlock struct {
	c     chain
	links [3]chainEpoch
}

func (c *chain) marshal(w *writer) {
	w.u8(byte(c.dir))
	w.uv(c.current)
	w.uv(c.sendEpoch)
	w.raw(c.nextRoot[:])
	w.uv(uint64(c.params.MaxJump))
	w.uv(uint64(c.params.MaxOOOKeys))
	w.uv(uint64(len(c.links)))
	for i := range c.links {
		c.links[i].send.marshal(w)
		c.links[i].recv.marshal(w)
	}
}

func unmarshalChain(r *reader) *chain {
	blk := &chainBlock{}
	c := &blk.c
	c.dir = Direction(r.u8())
	c.current = r.uv()
	c.sendEpoch = r.uv()
	r.key32(&c.nextRoot)
	c.params.MaxJump = r.u32()
	c.params.MaxOOOKeys = r.u32()
	n := r.uv()
	if r.err != nil {
		return c
	}
	if !c.dir.valid() || c.sendEpoch > c.current || c.current == math.MaxUint64 {
		r.fail("bad chain header")
		return c
	}
	// Each link takes at least 6 bytes; the bound keeps allocation honest.
	if n == 0 || n-1 > c.current || n > uint64(len(r.b)/6) {
		r.fail("%d chain links", n)
		return c
	}
	c.links = blk.links[:0]
	if n > uint64(len(blk.links)) {
		c.links = make([]chainEpoch, 0, n)
	}
	for i := uint64(0); i < n; i++ {
		l := chainEpoch{send: unmarshalChainDir(r, c.params), recv: unmarshalChainDir(r, c.params)}
		if r.err != nil {
			return c
		}
		if !l.recv.hasNext {
			r.fail("retired receive chain")
			return c
		}
		c.links = append(c.links, l)
	}
	return c
}
