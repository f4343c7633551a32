package spqr

import (
	"fmt"
	"io"
)

// AuthKeySize is the length of the PQXDH output that seeds SPQR (bytes 64:96
// of libsignal's 96-byte PQXDH key material).
const AuthKeySize = 32

// Params configure a new State.
type Params struct {
	// AuthKey is the 32-byte SPQR key from PQXDH.
	AuthKey []byte
	// Direction is A2B for the session initiator, B2A for the responder.
	Direction Direction
	// Version is the highest version this side speaks: V1, or V0 to run
	// without SPQR.
	Version Version
	// MinVersion is the lowest version accepted from the peer. With V1 the
	// chain is keyed from the first message on; with V0 the state stays
	// negotiable (no keys) until it receives a V1 message, and a peer that
	// sends no pq_ratchet downgrades it to V0 for good.
	MinVersion Version
	// Chain bounds out-of-order handling; the zero value means libsignal's
	// defaults.
	Chain ChainParams
}

// negotiation is kept until the first message from the peer settles the
// version.
type negotiation struct {
	authKey    [AuthKeySize]byte
	dir        Direction
	minVersion Version
	params     ChainParams
}

// State is one session's SPQR state. The zero value is a V0 state (no SPQR).
// A State is not safe for concurrent use.
type State struct {
	v1    bool
	braid braid        // when v1
	chain *chain       // nil until keyed
	neg   *negotiation // nil once negotiation is over
}

// NewState returns the initial state of one side of a session.
func NewState(p Params) (*State, error) {
	if len(p.AuthKey) != AuthKeySize {
		return nil, fmt.Errorf("%w: auth key of %d bytes", ErrInvalidParams, len(p.AuthKey))
	}
	if !p.Direction.valid() {
		return nil, fmt.Errorf("%w: direction %d", ErrInvalidParams, p.Direction)
	}
	if p.Version > V1 || p.MinVersion > V1 || p.MinVersion > p.Version {
		return nil, fmt.Errorf("%w: version %d, minimum %d", ErrInvalidParams, p.Version, p.MinVersion)
	}
	if p.Version == V0 {
		return &State{}, nil
	}
	s := &State{v1: true, neg: &negotiation{dir: p.Direction, minVersion: p.MinVersion, params: p.Chain}}
	copy(s.neg.authKey[:], p.AuthKey)
	if p.Direction == A2B {
		s.braid = newBraidA(p.AuthKey)
	} else {
		s.braid = newBraidB(p.AuthKey)
	}
	return s, nil
}

// Version returns the version this state speaks, and whether it may still be
// negotiated down by the peer.
func (s *State) Version() (v Version, negotiating bool) {
	if !s.v1 {
		return V0, false
	}
	return V1, s.neg != nil
}

// Epoch returns the braid epoch, 0 for a V0 state.
func (s *State) Epoch() uint64 {
	if !s.v1 {
		return 0
	}
	return s.braid.epoch
}

// chainForUse returns the chain to use, possibly a fresh one derived from the
// negotiation parameters (not yet stored in s), or nil when the state sends
// without keys. keyed says whether negotiation allows a nil chain.
func (s *State) chainForUse(sending bool) (*chain, error) {
	if s.chain != nil {
		return s.chain, nil
	}
	if s.neg == nil {
		return nil, ErrChainNotAvailable
	}
	if sending && s.neg.minVersion == V0 {
		// The peer may not speak SPQR: send unkeyed until it shows it does.
		return nil, nil
	}
	return newChain(s.neg.authKey[:], s.neg.dir, s.neg.params), nil
}

// Send returns the next pq_ratchet message and the key that this message's
// Double Ratchet keys take as salt (nil when there is none). A V0 state
// returns an empty message and no key.
func (s *State) Send(rand io.Reader) (msg []byte, key []byte, err error) {
	if !s.v1 {
		return nil, nil, nil
	}
	nb, m, secret, err := s.braid.send(rand)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.chainForUse(true)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		if secret != nil {
			return nil, nil, fmt.Errorf("%w: epoch secret without a chain", ErrStateDecode)
		}
		m.index = 0
		s.braid = nb
		return m.appendTo(make([]byte, 0, maxMessageSize)), nil, nil
	}
	pending := 0
	if secret != nil {
		if err := c.checkAddEpoch(secret.epoch); err != nil {
			return nil, nil, err
		}
		pending = 1
	}
	if err := c.checkSendKey(m.epoch-1, pending); err != nil {
		return nil, nil, err
	}
	// Nothing below fails.
	if secret != nil {
		c.addEpoch(secret.secret)
	}
	idx, k := c.sendKey(m.epoch - 1)
	m.index = idx
	s.braid, s.chain = nb, c
	// The message and the key in one allocation (the message capped, so
	// that appending to it cannot overwrite the key).
	buf := m.appendTo(make([]byte, 0, maxMessageSize+len(k)))
	n := len(buf)
	buf = append(buf, k[:]...)
	return buf[:n:n], buf[n:], nil
}

// Recv processes a received pq_ratchet message and returns the key that the
// message's Double Ratchet keys take as salt (nil when there is none). On
// error the state is unchanged.
func (s *State) Recv(msg []byte) (key []byte, err error) {
	var msgVersion Version
	switch {
	case len(msg) == 0 || msg[0] == byte(V0):
		msgVersion = V0
	case msg[0] == byte(V1):
		msgVersion = V1
	default:
		// A later version than ours: ignore it and keep speaking ours.
		return nil, nil
	}
	stateVersion := V0
	if s.v1 {
		stateVersion = V1
	}
	if msgVersion < stateVersion {
		if s.neg == nil {
			return nil, ErrVersionMismatch
		}
		if msgVersion < s.neg.minVersion {
			return nil, ErrMinimumVersion
		}
		// The peer does not speak SPQR: settle on V0 for good.
		*s = State{}
		return nil, nil
	}
	if !s.v1 {
		return nil, nil
	}
	m, err := parseMessage(msg)
	if err != nil {
		return nil, err
	}
	nb, secret, err := s.braid.recv(&m)
	if err != nil {
		return nil, err
	}
	c, err := s.chainForUse(false)
	if err != nil {
		return nil, err
	}
	pending := 0
	if secret != nil {
		if err := c.checkAddEpoch(secret.epoch); err != nil {
			return nil, err
		}
		pending = 1
	}
	// Index 0 of the first epoch is what an unkeyed (still negotiating)
	// sender uses: no key.
	keyed := !(m.epoch == 1 && m.index == 0)
	if keyed {
		if err := c.checkRecvKey(m.epoch-1, m.index, pending); err != nil {
			return nil, err
		}
	}
	// Nothing below fails.
	if secret != nil {
		c.addEpoch(secret.secret)
	}
	if keyed {
		k := c.recvKey(m.epoch-1, m.index)
		key = k[:]
	}
	s.braid, s.chain, s.neg = nb, c, nil
	return key, nil
}

// Clone returns an independent copy: Send and Recv on either leave the
// other as it was. Callers use it to be able to discard the effect of a Recv
// whose message later fails to decrypt.
//
// It is cheap because nothing a State shares is ever written: byte slices,
// decoder points and the encoder and KEM key caches are replaced, never
// changed, and the negotiation parameters are dropped, not changed. Only the
// chain is copied, in the same allocation as the State.
func (s *State) Clone() *State {
	blk := &stateBlock{s: *s}
	if s.chain != nil {
		s.chain.cloneInto(&blk.c, blk.links[:])
		blk.s.chain = &blk.c
	}
	return &blk.s
}

// stateBlock is a cloned State with room for its chain: one allocation.
// Chains hold an epoch or two, rarely more (older ones are dropped once the
// peer moves on).
type stateBlock struct {
	s     State
	c     chain
	links [3]chainEpoch
}
