package senderkey

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/e2ee/curve"
)

// Limits, as in libsignal's consts.rs.
const (
	// MaxStates is how many chains a record keeps per (sender, distribution
	// id); the oldest is dropped when a new one arrives.
	MaxStates = 5
	// MaxMessageKeys bounds the skipped message keys kept per chain; the
	// oldest are dropped first.
	MaxMessageKeys = 2000
	// MaxForwardJump is the largest accepted distance between the chain's
	// next iteration and a message's iteration.
	MaxForwardJump = 25000
)

// Record is the sender-key state for one (sender, distribution id): up to
// MaxStates chains, newest first. The zero value is an empty record.
type Record struct {
	states []*state
}

// state is one sender chain. For our own chains signingPriv is set.
type state struct {
	chainID     uint32
	iteration   uint32 // iteration of chainKey, i.e. of the next message
	chainKey    [32]byte
	signingPub  curve.PublicKey
	signingPriv *curve.PrivateKey
	skipped     []messageKey // oldest first, at most MaxMessageKeys
}

// messageKey is the seed of a message that was skipped over and may still
// arrive.
type messageKey struct {
	iteration uint32
	seed      [32]byte
}

func (r *Record) newest() *state {
	if r == nil || len(r.states) == 0 {
		return nil
	}
	return r.states[0]
}

func (r *Record) stateFor(chainID uint32) *state {
	if r == nil {
		return nil
	}
	for _, s := range r.states {
		if s.chainID == chainID {
			return s
		}
	}
	return nil
}

// addState puts s at the front. It follows libsignal's add_sender_key_state:
// a state with the same chain id and signing key is kept as it is (so a
// repeated SKDM neither rewinds nor skips the chain) and moved to the front;
// a state with the same chain id but another key is dropped; then the oldest
// states are dropped to make room.
func (r *Record) addState(s *state) {
	var existing *state
	kept := r.states[:0]
	for _, old := range r.states {
		if old.chainID == s.chainID {
			if existing == nil && old.signingPub == s.signingPub {
				existing = old
			}
			continue
		}
		kept = append(kept, old)
	}
	if existing != nil {
		s = existing
	}
	if len(kept) >= MaxStates {
		kept = kept[:MaxStates-1]
	}
	r.states = append([]*state{s}, kept...)
}

// skippedIndex returns the position of the key for iteration, or -1.
func (s *state) skippedIndex(iteration uint32) int {
	for i := range s.skipped {
		if s.skipped[i].iteration == iteration {
			return i
		}
	}
	return -1
}

func (r *Record) clone() *Record {
	if r == nil {
		return nil
	}
	c := &Record{states: make([]*state, len(r.states))}
	for i, s := range r.states {
		cs := *s
		if s.signingPriv != nil {
			p := *s.signingPriv
			cs.signingPriv = &p
		}
		cs.skipped = append([]messageKey(nil), s.skipped...)
		c.states[i] = &cs
	}
	return c
}

// Field numbers of our own record encoding. It is local state and need not
// match libsignal's SenderKeyRecordStructure.
const (
	recFieldState  protowire.Number = 1
	recFieldFormat protowire.Number = 15

	stFieldChainID     protowire.Number = 1
	stFieldIteration   protowire.Number = 2
	stFieldChainKey    protowire.Number = 3
	stFieldSigningPub  protowire.Number = 4
	stFieldSigningPriv protowire.Number = 5
	stFieldSkipped     protowire.Number = 6
	stFieldVersion     protowire.Number = 7

	mkFieldIteration protowire.Number = 1
	mkFieldSeed      protowire.Number = 2

	recordFormat = 1
)

// MarshalBinary encodes the record, including private signing keys, for
// storage. It never fails.
func (r *Record) MarshalBinary() ([]byte, error) {
	var b []byte
	b = protowire.AppendTag(b, recFieldFormat, protowire.VarintType)
	b = protowire.AppendVarint(b, recordFormat)
	for _, s := range r.states {
		b = protowire.AppendTag(b, recFieldState, protowire.BytesType)
		b = protowire.AppendBytes(b, s.marshal())
	}
	return b, nil
}

func (s *state) marshal() []byte {
	b := make([]byte, 0, 96+len(s.skipped)*40)
	b = appendUint32(b, stFieldVersion, MessageVersion)
	b = appendUint32(b, stFieldChainID, s.chainID)
	b = appendUint32(b, stFieldIteration, s.iteration)
	b = appendBytes(b, stFieldChainKey, s.chainKey[:])
	b = appendBytes(b, stFieldSigningPub, s.signingPub.Bytes())
	if s.signingPriv != nil {
		b = appendBytes(b, stFieldSigningPriv, s.signingPriv[:])
	}
	var mk []byte
	for _, k := range s.skipped {
		mk = appendUint32(mk[:0], mkFieldIteration, k.iteration)
		mk = appendBytes(mk, mkFieldSeed, k.seed[:])
		b = appendBytes(b, stFieldSkipped, mk)
	}
	return b
}

// UnmarshalBinary replaces r with the decoded record. On error r is left
// unchanged and the error is ErrInvalidRecord.
func (r *Record) UnmarshalBinary(b []byte) error {
	var states []*state
	format := uint64(0)
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool {
		switch {
		case num == recFieldFormat && typ == protowire.VarintType:
			format = x
		case num == recFieldState && typ == protowire.BytesType:
			s, ok := unmarshalState(v)
			if !ok || len(states) == MaxStates {
				return false
			}
			states = append(states, s)
		case num == recFieldFormat || num == recFieldState:
			return false
		}
		return true
	})
	if err != nil || format != recordFormat {
		return ErrInvalidRecord
	}
	seen := make(map[uint32]bool, len(states))
	for _, s := range states {
		if seen[s.chainID] {
			return ErrInvalidRecord
		}
		seen[s.chainID] = true
	}
	r.states = states
	return nil
}

func unmarshalState(b []byte) (*state, bool) {
	s := &state{}
	var have struct{ version, chainID, iteration, chainKey, pub bool }
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool {
		switch {
		case num == stFieldVersion && typ == protowire.VarintType:
			have.version = x == MessageVersion
		case num == stFieldChainID && typ == protowire.VarintType && x <= 0xFFFFFFFF:
			s.chainID, have.chainID = uint32(x), true
		case num == stFieldIteration && typ == protowire.VarintType && x <= 0xFFFFFFFF:
			s.iteration, have.iteration = uint32(x), true
		case num == stFieldChainKey && typ == protowire.BytesType && len(v) == 32:
			copy(s.chainKey[:], v)
			have.chainKey = true
		case num == stFieldSigningPub && typ == protowire.BytesType:
			k, err := curve.ParsePublicKey(v)
			if err != nil {
				return false
			}
			s.signingPub, have.pub = k, true
		case num == stFieldSigningPriv && typ == protowire.BytesType:
			// Not checked against signingPub: that would cost a scalar
			// multiplication on every load of a record we wrote ourselves.
			k, err := curve.ParsePrivateKey(v)
			if err != nil {
				return false
			}
			s.signingPriv = &k
		case num == stFieldSkipped && typ == protowire.BytesType:
			k, ok := unmarshalMessageKey(v)
			if !ok || len(s.skipped) == MaxMessageKeys {
				return false
			}
			s.skipped = append(s.skipped, k)
		case num >= stFieldChainID && num <= stFieldVersion:
			return false
		}
		return true
	})
	if err != nil || !have.version || !have.chainID || !have.iteration || !have.chainKey || !have.pub {
		return nil, false
	}
	for _, k := range s.skipped {
		if k.iteration >= s.iteration {
			return nil, false
		}
	}
	return s, true
}

func unmarshalMessageKey(b []byte) (messageKey, bool) {
	var k messageKey
	var haveIter, haveSeed bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool {
		switch {
		case num == mkFieldIteration && typ == protowire.VarintType && x <= 0xFFFFFFFF:
			k.iteration, haveIter = uint32(x), true
		case num == mkFieldSeed && typ == protowire.BytesType && len(v) == 32:
			copy(k.seed[:], v)
			haveSeed = true
		case num == mkFieldIteration || num == mkFieldSeed:
			return false
		}
		return true
	})
	return k, err == nil && haveIter && haveSeed
}

// walk calls fn for every field of a protobuf message: v is set for bytes
// fields, x for varints; other wire types are passed with neither. fn
// returning false stops the walk with ErrInvalidRecord.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrInvalidRecord
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrInvalidRecord
		}
		b = b[n:]
		if !fn(num, typ, v, x) {
			return ErrInvalidRecord
		}
	}
	return nil
}
