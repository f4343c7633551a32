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
	kyberCiphertext []byte // immutable once set, shared by clones
	created         time.Time
}

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

// clone deep-copies everything a decryption or encryption may change.
func (s *sessionState) clone() *sessionState {
	c := *s
	c.receivers = make([]receiverChain, len(s.receivers), MaxReceiverChains+1)
	for i, r := range s.receivers {
		c.receivers[i] = r
		if len(r.skipped) > 0 {
			c.receivers[i].skipped = append([]skippedKey(nil), r.skipped...)
		}
	}
	if s.pending != nil {
		p := *s.pending
		c.pending = &p
	}
	if s.pq != nil {
		c.pq = s.pq.Clone()
	}
	return &c
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

func (r *receiverChain) removeSkipped(i int) {
	r.skipped = append(r.skipped[:i], r.skipped[i+1:]...)
	if len(r.skipped) == 0 {
		r.skipped = nil
	}
}
