package session

import (
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/spqr"
)

// skippedKey is the message seed of a message that has not arrived yet.
type skippedKey struct {
	index uint32
	seed  [32]byte
}

// receiverChain is the receiving side of one DH-ratchet step of the peer.
type receiverChain struct {
	ratchetKey curve.PublicKey
	chain      chainKey
	skipped    []skippedKey // oldest first, at most MaxMessageKeys
}

// senderChain is our current sending chain and the ratchet key pair that
// heads it.
type senderChain struct {
	ratchet curve.KeyPair
	chain   chainKey
}

// pendingPreKey is what the initiator repeats in every message until the
// peer answers: the PQXDH parameters the responder needs to build the
// session.
type pendingPreKey struct {
	preKeyID        uint32
	hasPreKeyID     bool
	signedPreKeyID  uint32
	baseKey         curve.PublicKey
	kyberPreKeyID   uint32
	kyberCiphertext []byte
	created         time.Time
}

// A pendingPreKey is never changed once made (the state drops it instead),
// so state clones share it.

// sessionState is one Double Ratchet session. Records keep the current one
// and archived ones.
type sessionState struct {
	version              uint8
	localIdentity        curve.PublicKey
	remoteIdentity       curve.PublicKey
	rootKey              [32]byte
	previousCounter      uint32
	sender               senderChain
	receivers            []receiverChain // oldest first, at most MaxReceiverChains
	pending              *pendingPreKey  // nil once the peer has answered
	localRegistrationID  uint32
	remoteRegistrationID uint32
	aliceBaseKey         curve.PublicKey // identifies the PQXDH run (both sides)
	pq                   *spqr.State     // nil: no SPQR (V0); see pq.go
}

// A session state is never changed once it is in a Record: an operation
// that changes it works on a clone and puts the clone into the record. So
// records, and the copies of them that stores keep or hand out, share
// states freely (Record.Clone copies no state), and a failed operation
// leaves every state as it was.

// clone returns a copy of s that the caller may change. It shares only what
// is never written in place: skipped-key arrays (capped, so that appending
// reallocates; removeSkipped builds a new one), the pending prekey data and,
// unless withPQ, the SPQR state (for a caller that replaces it).
func (s *sessionState) clone(withPQ bool) *sessionState {
	blk := &stateBlock{s: *s}
	c := &blk.s
	c.receivers = append(blk.receivers[:0], s.receivers...)
	for i := range c.receivers {
		sk := c.receivers[i].skipped
		c.receivers[i].skipped = sk[:len(sk):len(sk)]
	}
	if withPQ && s.pq != nil {
		c.pq = s.pq.Clone()
	}
	return c
}

// stateBlock is a cloned state with room for its receiver chains (one more
// than kept: addReceiver appends before it drops the oldest), so that a
// clone is one allocation.
type stateBlock struct {
	s         sessionState
	receivers [MaxReceiverChains + 1]receiverChain
}

func (s *sessionState) receiverIndex(key curve.PublicKey) int {
	// Newest first: the common case is the latest chain.
	for i := len(s.receivers) - 1; i >= 0; i-- {
		if s.receivers[i].ratchetKey == key {
			return i
		}
	}
	return -1
}

func (s *sessionState) addReceiver(key curve.PublicKey, ck chainKey) int {
	s.receivers = append(s.receivers, receiverChain{ratchetKey: key, chain: ck})
	if len(s.receivers) > MaxReceiverChains {
		copy(s.receivers, s.receivers[1:])
		s.receivers[len(s.receivers)-1] = receiverChain{}
		s.receivers = s.receivers[:len(s.receivers)-1]
	}
	return len(s.receivers) - 1
}

// addSkipped appends seeds (oldest first) and drops the oldest beyond
// MaxMessageKeys.
func (r *receiverChain) addSkipped(keys []skippedKey) {
	if len(keys) == 0 {
		return
	}
	r.skipped = append(r.skipped, keys...)
	if over := len(r.skipped) - MaxMessageKeys; over > 0 {
		r.skipped = append(r.skipped[:0:0], r.skipped[over:]...)
	}
}

func (r *receiverChain) findSkipped(index uint32) int {
	for i := len(r.skipped) - 1; i >= 0; i-- {
		if r.skipped[i].index == index {
			return i
		}
	}
	return -1
}

// removeSkipped drops entry i. The array may be shared with other copies of
// the state, so the result is a new one.
func (r *receiverChain) removeSkipped(i int) {
	if len(r.skipped) == 1 {
		r.skipped = nil
		return
	}
	n := make([]skippedKey, 0, len(r.skipped)-1)
	n = append(n, r.skipped[:i]...)
	r.skipped = append(n, r.skipped[i+1:]...)
}
