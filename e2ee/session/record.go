package session

import (
	"encoding/binary"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/spqr"
	"google.golang.org/protobuf/encoding/protowire"
)

// Record is everything we keep about the sessions with one remote device:
// the current session state and up to MaxArchivedStates previous ones
// (newest first), which are still tried when a message fails on the current
// one (late messages, simultaneous initiation).
//
// The zero Record is empty. Records are not safe for concurrent use.
type Record struct {
	current  *sessionState   // never modified in place (see sessionState.clone)
	previous []*sessionState // the same, and so is the array: changes make a new one
}

// recordFormat is the version of the MarshalBinary encoding. It is our own
// format, not libsignal's: session records never leave the device.
//
// Format 2 adds each state's SPQR state (field stPQState, spqr.State's own
// encoding; absent: no SPQR). Format 1 records come from sessions that ran
// without SPQR; they are read as such (V0), and written back as format 2.
const (
	recordFormat   = 2
	recordFormatV1 = 1
)

// HasSession reports whether the record holds a current session.
func (r *Record) HasSession() bool { return r != nil && r.current != nil }

// RemoteIdentity returns the identity key of the peer of the current
// session.
func (r *Record) RemoteIdentity() (curve.PublicKey, bool) {
	if !r.HasSession() {
		return curve.PublicKey{}, false
	}
	return r.current.remoteIdentity, true
}

// RemoteRegistrationID returns the peer's registration id in the current
// session.
func (r *Record) RemoteRegistrationID() (uint32, bool) {
	if !r.HasSession() {
		return 0, false
	}
	return r.current.remoteRegistrationID, true
}

// Acknowledged reports whether the peer has answered in the current session
// (false while we are still sending PreKeySignalMessages).
func (r *Record) Acknowledged() bool {
	return r.HasSession() && r.current.pending == nil
}

// ArchiveCurrentState moves the current session to the archive, so that the
// next message goes through a new PQXDH run (a session reset). Archived
// states still decrypt late messages.
func (r *Record) ArchiveCurrentState() {
	if r.current == nil {
		return
	}
	// A new array: copies of the record share the old one.
	prev := make([]*sessionState, 0, min(len(r.previous)+1, MaxArchivedStates))
	prev = append(prev, r.current)
	prev = append(prev, r.previous[:min(len(r.previous), MaxArchivedStates-1)]...)
	r.previous = prev
	r.current = nil
}

// Clone returns an independent copy of r: changing either, or running a
// session operation on either, leaves the other as it was. It is cheap:
// session states are never changed in place once they are in a record, so
// the copy shares them.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

func (r *Record) promoteState(s *sessionState) {
	r.ArchiveCurrentState()
	r.current = s
}

// promoteArchived replaces archived state i by s and makes it current.
func (r *Record) promoteArchived(i int, s *sessionState) {
	r.previous = append(r.previous[:i:i], r.previous[i+1:]...)
	r.promoteState(s)
}

// promoteMatching looks for the session created by the PQXDH run with this
// base key. It reports whether one exists; an archived one is made current.
func (r *Record) promoteMatching(version uint8, baseKey curve.PublicKey) bool {
	if r.current != nil && r.current.version == version && r.current.aliceBaseKey == baseKey {
		return true
	}
	for i, s := range r.previous {
		if s.version == version && s.aliceBaseKey == baseKey {
			r.promoteArchived(i, s)
			return true
		}
	}
	return false
}

// Field numbers of our record encoding.
const (
	recFormat   = 1
	recCurrent  = 2
	recPrevious = 3

	stVersion        = 1
	stLocalIdentity  = 2
	stRemoteIdentity = 3
	stRootKey        = 4
	stPrevCounter    = 5
	stSenderPub      = 6
	stSenderPriv     = 7
	stSenderChain    = 8
	stSenderIndex    = 9
	stReceiver       = 10
	stPending        = 11
	stLocalRegID     = 12
	stRemoteRegID    = 13
	stAliceBaseKey   = 14
	stPQState        = 15

	rcRatchetKey = 1
	rcChainKey   = 2
	rcIndex      = 3
	rcSkipped    = 4

	ppPreKeyID        = 1
	ppSignedPreKeyID  = 2
	ppBaseKey         = 3
	ppKyberPreKeyID   = 4
	ppKyberCiphertext = 5
	ppCreated         = 6
)

const skippedEntrySize = 4 + 32

// MarshalBinary encodes the record in our own versioned format.
//
// A store that keeps records as bytes runs this on every message, so the
// encoding is written into one buffer of the exact size: each state's
// length is computed first (stateSize) rather than encoded separately and
// copied.
func (r *Record) MarshalBinary() ([]byte, error) {
	var statesBuf [4]*sessionState
	var pqsBuf [4][]byte
	var sizesBuf [4]int
	states := statesBuf[:0]
	if r.current != nil {
		states = append(states, r.current)
	}
	states = append(states, r.previous...)
	pqs, sizes := pqsBuf[:0], sizesBuf[:0]
	if len(states) > len(statesBuf) {
		pqs, sizes = make([][]byte, 0, len(states)), make([]int, 0, len(states))
	}
	pqs, sizes = pqs[:len(states)], sizes[:len(states)]
	total := 2
	for i, s := range states {
		if s.pq != nil {
			pq, err := s.pq.MarshalBinary()
			if err != nil {
				return nil, errorf(ErrInvalidRecord, "SPQR state: %v", err)
			}
			pqs[i] = pq
		}
		sizes[i] = s.size(pqs[i])
		total += 1 + protowire.SizeVarint(uint64(sizes[i])) + sizes[i]
	}
	b := make([]byte, 0, total)
	b = protowire.AppendTag(b, recFormat, protowire.VarintType)
	b = protowire.AppendVarint(b, recordFormat)
	for i, s := range states {
		num := protowire.Number(recPrevious)
		if i == 0 && r.current != nil {
			num = recCurrent
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizes[i]))
		start := len(b)
		b = s.appendTo(b, pqs[i])
		if len(b)-start != sizes[i] {
			return nil, errorf(ErrInvalidRecord, "session state of %d bytes, %d expected", len(b)-start, sizes[i])
		}
	}
	return b, nil
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// Sizes of fields in the encoding (all field numbers are below 16: one tag
// byte).
func bytesFieldSize(n int) int     { return 1 + protowire.SizeVarint(uint64(n)) + n }
func varintFieldSize(v uint64) int { return 1 + protowire.SizeVarint(v) }

// marshal encodes the state alone.
func (s *sessionState) marshal() ([]byte, error) {
	var pq []byte
	if s.pq != nil {
		var err error
		if pq, err = s.pq.MarshalBinary(); err != nil {
			return nil, errorf(ErrInvalidRecord, "SPQR state: %v", err)
		}
	}
	return s.appendTo(make([]byte, 0, s.size(pq)), pq), nil
}

// size is the length of appendTo's output, pq being the SPQR state's
// encoding.
func (s *sessionState) size(pq []byte) int {
	n := varintFieldSize(uint64(s.version)) + 7*bytesFieldSize(32) +
		varintFieldSize(uint64(s.previousCounter)) + varintFieldSize(uint64(s.sender.chain.index)) +
		varintFieldSize(uint64(s.localRegistrationID)) + varintFieldSize(uint64(s.remoteRegistrationID))
	for i := range s.receivers {
		n += bytesFieldSize(s.receivers[i].size())
	}
	if p := s.pending; p != nil {
		n += bytesFieldSize(p.size())
	}
	if s.pq != nil {
		n += bytesFieldSize(len(pq))
	}
	return n
}

// appendTo appends the state's encoding; pq is the SPQR state's.
func (s *sessionState) appendTo(b, pq []byte) []byte {
	b = appendVarintField(b, stVersion, uint64(s.version))
	b = appendBytesField(b, stLocalIdentity, s.localIdentity[:])
	b = appendBytesField(b, stRemoteIdentity, s.remoteIdentity[:])
	b = appendBytesField(b, stRootKey, s.rootKey[:])
	b = appendVarintField(b, stPrevCounter, uint64(s.previousCounter))
	b = appendBytesField(b, stSenderPub, s.sender.ratchet.Public[:])
	b = appendBytesField(b, stSenderPriv, s.sender.ratchet.Private[:])
	b = appendBytesField(b, stSenderChain, s.sender.chain.key[:])
	b = appendVarintField(b, stSenderIndex, uint64(s.sender.chain.index))
	for i := range s.receivers {
		rc := &s.receivers[i]
		b = protowire.AppendTag(b, stReceiver, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(rc.size()))
		b = appendBytesField(b, rcRatchetKey, rc.ratchetKey[:])
		b = appendBytesField(b, rcChainKey, rc.chain.key[:])
		b = appendVarintField(b, rcIndex, uint64(rc.chain.index))
		if len(rc.skipped) > 0 {
			b = protowire.AppendTag(b, rcSkipped, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(len(rc.skipped)*skippedEntrySize))
			for _, k := range rc.skipped {
				b = binary.BigEndian.AppendUint32(b, k.index)
				b = append(b, k.seed[:]...)
			}
		}
	}
	if p := s.pending; p != nil {
		b = protowire.AppendTag(b, stPending, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(p.size()))
		if p.hasPreKeyID {
			b = appendVarintField(b, ppPreKeyID, uint64(p.preKeyID))
		}
		b = appendVarintField(b, ppSignedPreKeyID, uint64(p.signedPreKeyID))
		b = appendBytesField(b, ppBaseKey, p.baseKey[:])
		b = appendVarintField(b, ppKyberPreKeyID, uint64(p.kyberPreKeyID))
		b = appendBytesField(b, ppKyberCiphertext, p.kyberCiphertext)
		b = appendVarintField(b, ppCreated, protowire.EncodeZigZag(p.created.UnixMilli()))
	}
	b = appendVarintField(b, stLocalRegID, uint64(s.localRegistrationID))
	b = appendVarintField(b, stRemoteRegID, uint64(s.remoteRegistrationID))
	b = appendBytesField(b, stAliceBaseKey, s.aliceBaseKey[:])
	if s.pq != nil {
		b = appendBytesField(b, stPQState, pq)
	}
	return b
}

func (rc *receiverChain) size() int {
	n := 2*bytesFieldSize(32) + varintFieldSize(uint64(rc.chain.index))
	if len(rc.skipped) > 0 {
		n += bytesFieldSize(len(rc.skipped) * skippedEntrySize)
	}
	return n
}

func (p *pendingPreKey) size() int {
	n := varintFieldSize(uint64(p.signedPreKeyID)) + bytesFieldSize(32) +
		varintFieldSize(uint64(p.kyberPreKeyID)) + bytesFieldSize(len(p.kyberCiphertext)) +
		varintFieldSize(protowire.EncodeZigZag(p.created.UnixMilli()))
	if p.hasPreKeyID {
		n += varintFieldSize(uint64(p.preKeyID))
	}
	return n
}

// UnmarshalBinary decodes a record written by MarshalBinary. On error r is
// left unchanged.
func (r *Record) UnmarshalBinary(data []byte) error {
	// The states are decoded once the format is known: it decides how
	// their SPQR field reads.
	var current []byte
	var previous [][]byte
	rd := recordReader{b: data}
	var format uint64
	haveFormat := false
	for rd.ok() {
		num, typ := rd.tag()
		switch {
		case num == recFormat && typ == protowire.VarintType:
			format, haveFormat = rd.varint(), true
		case num == recCurrent && typ == protowire.BytesType:
			current = rd.bytes()
			if current == nil {
				current = []byte{}
			}
		case num == recPrevious && typ == protowire.BytesType:
			if len(previous) == MaxArchivedStates {
				return errorf(ErrInvalidRecord, "more than %d archived states", MaxArchivedStates)
			}
			previous = append(previous, rd.bytes())
		default:
			rd.skip(num, typ)
		}
	}
	if rd.err != nil {
		return rd.err
	}
	if !haveFormat || (format != recordFormat && format != recordFormatV1) {
		return errorf(ErrInvalidRecord, "unknown record format %d", format)
	}
	var out Record
	if current != nil {
		s, err := unmarshalState(current, format)
		if err != nil {
			return err
		}
		out.current = s
	}
	for _, b := range previous {
		s, err := unmarshalState(b, format)
		if err != nil {
			return err
		}
		out.previous = append(out.previous, s)
	}
	*r = out
	return nil
}

// recordReader is a forgiving-nothing protobuf walker for our own records:
// any malformation is ErrInvalidRecord.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) ok() bool { return r.err == nil && len(r.b) > 0 }

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = errorf(ErrInvalidRecord, "%s", what)
	}
	r.b = nil
}

func (r *recordReader) tag() (protowire.Number, protowire.Type) {
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 {
		r.fail("bad tag")
		return 0, 0
	}
	r.b = r.b[n:]
	return num, typ
}

func (r *recordReader) varint() uint64 {
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) u32() uint32 {
	v := r.varint()
	if v > 0xFFFFFFFF {
		r.fail("value exceeds uint32")
		return 0
	}
	return uint32(v)
}

func (r *recordReader) bytes() []byte {
	v, n := protowire.ConsumeBytes(r.b)
	if n < 0 {
		r.fail("bad length")
		return nil
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) key32(dst *[32]byte) {
	v := r.bytes()
	if r.err != nil {
		return
	}
	if len(v) != 32 {
		r.fail("key is not 32 bytes")
		return
	}
	copy(dst[:], v)
}

func (r *recordReader) skip(num protowire.Number, typ protowire.Type) {
	n := protowire.ConsumeFieldValue(num, typ, r.b)
	if n < 0 {
		r.fail("bad field")
		return
	}
	r.b = r.b[n:]
}

// expect checks the wire type of a known field.
func (r *recordReader) expect(typ, want protowire.Type) bool {
	if typ != want {
		r.fail("wrong wire type")
		return false
	}
	return true
}

func unmarshalState(data []byte, format uint64) (*sessionState, error) {
	blk := &stateBlock{}
	s := &blk.s
	s.receivers = blk.receivers[:0:MaxReceiverChains]
	rd := recordReader{b: data}
	var seen uint32
	for rd.ok() {
		num, typ := rd.tag()
		if rd.err != nil {
			break
		}
		if num >= 1 && num <= 31 {
			seen |= 1 << num
		}
		switch num {
		case stVersion:
			if rd.expect(typ, protowire.VarintType) {
				v := rd.varint()
				if v != CurrentVersion {
					rd.fail("unsupported session version")
				}
				s.version = uint8(v)
			}
		case stLocalIdentity:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&s.localIdentity))
			}
		case stRemoteIdentity:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&s.remoteIdentity))
			}
		case stRootKey:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32(&s.rootKey)
			}
		case stPrevCounter:
			if rd.expect(typ, protowire.VarintType) {
				s.previousCounter = rd.u32()
			}
		case stSenderPub:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&s.sender.ratchet.Public))
			}
		case stSenderPriv:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&s.sender.ratchet.Private))
			}
		case stSenderChain:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32(&s.sender.chain.key)
			}
		case stSenderIndex:
			if rd.expect(typ, protowire.VarintType) {
				s.sender.chain.index = rd.u32()
			}
		case stReceiver:
			if rd.expect(typ, protowire.BytesType) {
				if len(s.receivers) == MaxReceiverChains {
					rd.fail("too many receiver chains")
					break
				}
				rc, err := unmarshalReceiver(rd.bytes())
				if err != nil {
					return nil, err
				}
				s.receivers = append(s.receivers, rc)
			}
		case stPending:
			if rd.expect(typ, protowire.BytesType) {
				p, err := unmarshalPending(rd.bytes())
				if err != nil {
					return nil, err
				}
				s.pending = p
			}
		case stLocalRegID:
			if rd.expect(typ, protowire.VarintType) {
				s.localRegistrationID = rd.u32()
			}
		case stRemoteRegID:
			if rd.expect(typ, protowire.VarintType) {
				s.remoteRegistrationID = rd.u32()
			}
		case stAliceBaseKey:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&s.aliceBaseKey))
			}
		case stPQState:
			if rd.expect(typ, protowire.BytesType) {
				v := rd.bytes()
				if rd.err != nil || format == recordFormatV1 {
					// Reserved but never written in format 1.
					break
				}
				pq := &spqr.State{}
				if err := pq.UnmarshalBinary(v); err != nil {
					return nil, errorf(ErrInvalidRecord, "SPQR state: %v", err)
				}
				s.pq = pq
			}
		default:
			rd.skip(num, typ)
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	const required = 1<<stVersion | 1<<stLocalIdentity | 1<<stRemoteIdentity | 1<<stRootKey |
		1<<stSenderPub | 1<<stSenderPriv | 1<<stSenderChain | 1<<stSenderIndex | 1<<stAliceBaseKey
	if seen&required != required {
		return nil, errorf(ErrInvalidRecord, "session state lacks a required field")
	}
	return s, nil
}

func unmarshalReceiver(data []byte) (receiverChain, error) {
	var rc receiverChain
	rd := recordReader{b: data}
	var haveKey, haveChain bool
	for rd.ok() {
		num, typ := rd.tag()
		if rd.err != nil {
			break
		}
		switch num {
		case rcRatchetKey:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&rc.ratchetKey))
				haveKey = true
			}
		case rcChainKey:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32(&rc.chain.key)
				haveChain = true
			}
		case rcIndex:
			if rd.expect(typ, protowire.VarintType) {
				rc.chain.index = rd.u32()
			}
		case rcSkipped:
			if rd.expect(typ, protowire.BytesType) {
				packed := rd.bytes()
				if len(packed)%skippedEntrySize != 0 || len(packed)/skippedEntrySize > MaxMessageKeys {
					rd.fail("bad skipped keys")
					break
				}
				rc.skipped = make([]skippedKey, len(packed)/skippedEntrySize)
				for i := range rc.skipped {
					e := packed[i*skippedEntrySize:]
					rc.skipped[i].index = binary.BigEndian.Uint32(e)
					copy(rc.skipped[i].seed[:], e[4:skippedEntrySize])
				}
			}
		default:
			rd.skip(num, typ)
		}
	}
	if rd.err != nil {
		return receiverChain{}, rd.err
	}
	if !haveKey || !haveChain {
		return receiverChain{}, errorf(ErrInvalidRecord, "receiver chain lacks a required field")
	}
	return rc, nil
}

func unmarshalPending(data []byte) (*pendingPreKey, error) {
	p := &pendingPreKey{}
	rd := recordReader{b: data}
	var haveBase, haveCT bool
	for rd.ok() {
		num, typ := rd.tag()
		if rd.err != nil {
			break
		}
		switch num {
		case ppPreKeyID:
			if rd.expect(typ, protowire.VarintType) {
				p.preKeyID, p.hasPreKeyID = rd.u32(), true
			}
		case ppSignedPreKeyID:
			if rd.expect(typ, protowire.VarintType) {
				p.signedPreKeyID = rd.u32()
			}
		case ppBaseKey:
			if rd.expect(typ, protowire.BytesType) {
				rd.key32((*[32]byte)(&p.baseKey))
				haveBase = true
			}
		case ppKyberPreKeyID:
			if rd.expect(typ, protowire.VarintType) {
				p.kyberPreKeyID = rd.u32()
			}
		case ppKyberCiphertext:
			if rd.expect(typ, protowire.BytesType) {
				p.kyberCiphertext = append([]byte(nil), rd.bytes()...)
				haveCT = true
			}
		case ppCreated:
			if rd.expect(typ, protowire.VarintType) {
				p.created = time.UnixMilli(protowire.DecodeZigZag(rd.varint()))
			}
		default:
			rd.skip(num, typ)
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	if !haveBase || !haveCT {
		return nil, errorf(ErrInvalidRecord, "pending prekey lacks a required field")
	}
	return p, nil
}
