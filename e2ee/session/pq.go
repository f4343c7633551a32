package session

import (
	"crypto/rand"
	"fmt"

	"github.com/parley-im/parley/e2ee/spqr"
)

// This file joins SPQR, the sparse post-quantum ratchet (package spqr), to
// the Double Ratchet, which makes libsignal's "Triple Ratchet".
//
// Every session state holds its own spqr.State, created from bytes 64..96 of
// the PQXDH output with the initiator's direction A→B. Sending yields the
// bytes of SignalMessage.pq_ratchet and an optional 32-byte key; receiving
// consumes pq_ratchet and yields an optional key. That key is the HKDF salt
// of "WhisperMessageKeys" (no key: no salt). Nothing else in the ratchet
// changes: the MAC covers the whole SignalMessage, pq_ratchet included.
//
// libsignal 0.90 offers SPQR but allows V0 (MinVersion V0): until it hears
// from the peer its messages carry SPQR chunks with index 0, which have no
// key, and a first message from the peer without pq_ratchet settles the
// session on V0 for good. SPQROptional does the same, so a Parley session
// runs the Triple Ratchet with any peer that speaks SPQR and falls back to
// the plain Double Ratchet with one that does not. libsignal 0.92 and later
// require V1 (MinVersion V1): SPQRRequired, the default.

// SPQRPolicy is how new sessions use SPQR. It is fixed when a session is
// created (ProcessBundle, or the first PreKeySignalMessage received) and
// stored with it; changing Stores.SPQR later affects new sessions only.
type SPQRPolicy uint8

const (
	// SPQRDefault is the zero value: DefaultSPQRPolicy.
	SPQRDefault SPQRPolicy = iota
	// SPQROptional offers SPQR V1 and accepts a peer that answers without
	// it (spqr MinVersion V0), as libsignal 0.90 does.
	SPQROptional
	// SPQRRequired speaks SPQR V1 from the first message and rejects
	// messages without pq_ratchet (MinVersion V1), as libsignal does once
	// SPQR is enforced (0.92 and later, when the peer is known to speak it).
	SPQRRequired
	// SPQROff runs sessions without SPQR (V0: no pq_ratchet, no salt), the
	// behaviour of stage 1. For tests and for peers known not to speak it.
	SPQROff
)

// DefaultSPQRPolicy is what SPQRDefault means. It matches libsignal 0.92
// and later (the interop suite pins 0.103.0), which force SPQR V1 on every
// new session: a peer that answers without pq_ratchet is refused.
// SPQROptional is the libsignal 0.90 behaviour.
const DefaultSPQRPolicy = SPQRRequired

func (p SPQRPolicy) String() string {
	switch p {
	case SPQRDefault:
		return "default"
	case SPQROptional:
		return "optional"
	case SPQRRequired:
		return "required"
	case SPQROff:
		return "off"
	}
	return fmt.Sprintf("SPQRPolicy(%d)", uint8(p))
}

func (p SPQRPolicy) valid() bool { return p <= SPQROff }

// newPQState returns the SPQR state of a new session (nil: V0, no SPQR).
func newPQState(policy SPQRPolicy, authKey *[32]byte, initiator bool) (*spqr.State, error) {
	if policy == SPQRDefault {
		policy = DefaultSPQRPolicy
	}
	params := spqr.Params{AuthKey: authKey[:], Direction: spqr.B2A, Version: spqr.V1, MinVersion: spqr.V0}
	if initiator {
		params.Direction = spqr.A2B
	}
	switch policy {
	case SPQROptional:
	case SPQRRequired:
		params.MinVersion = spqr.V1
	case SPQROff:
		return nil, nil
	default:
		return nil, errorf(ErrInvalidConfig, "SPQR policy %d", policy)
	}
	st, err := spqr.NewState(params)
	if err != nil {
		return nil, fmt.Errorf("%w: SPQR: %w", ErrInvalidConfig, err)
	}
	return st, nil
}

// pqSend returns the pq_ratchet field of the next outgoing message and the
// SPQR message key to use as salt (nil: none), and advances s's SPQR state.
// On error s is unchanged. Encrypt calls it on its own clone of the state.
func (s *sessionState) pqSend() (msg, key []byte, err error) {
	if s.pq == nil {
		return nil, nil, nil
	}
	msg, key, err = s.pq.Send(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: SPQR send: %w", ErrNoSession, err)
	}
	return msg, key, nil
}

// pqRecv consumes the pq_ratchet field of an incoming message and returns
// the SPQR message key to use as salt (nil: none) and the SPQR state after
// receiving, to commit only if the message then authenticates. It does not
// change s: the message is not authenticated yet. A session without SPQR
// ignores the field, as libsignal's V0 state does.
func (s *sessionState) pqRecv(msg []byte) (key []byte, next *spqr.State, err error) {
	if s.pq == nil {
		return nil, nil, nil
	}
	next = s.pq.Clone()
	key, err = next.Recv(msg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: pq_ratchet: %w", ErrInvalidMessage, err)
	}
	return key, next, nil
}
