package senderkey

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/parley-im/parley/e2ee/curve"
)

// CreateDistribution returns the SKDM for our own chain for distributionID,
// creating the chain on first use. Like libsignal it reuses an existing
// chain: the SKDM then carries the chain's current iteration and chain key,
// so a member who joins later cannot decrypt earlier messages. rand may be
// nil (crypto/rand).
func CreateDistribution(ctx context.Context, store Store, self Address, distributionID [16]byte, rand io.Reader) ([]byte, error) {
	rec, err := load(ctx, store, self, distributionID)
	if err != nil {
		return nil, err
	}
	if rec.newest() == nil {
		s, err := newOwnState(rand, rec)
		if err != nil {
			return nil, err
		}
		rec.addState(s)
		if err := save(ctx, store, self, distributionID, rec); err != nil {
			return nil, err
		}
	}
	return distribution(distributionID, rec.newest()), nil
}

// RotateDistribution starts a new chain (new chain id, chain key and signing
// key) for distributionID and returns its SKDM; later Encrypt calls use it.
// Our own record keeps only the new chain: a sender never needs its old
// ones, and dropping them means a later theft of the record yields no
// signing key that receivers still accept for an old chain. Receivers that
// process the SKDM keep the older chains (up to MaxStates in all), so
// messages still in flight on them decrypt. libsignal clients rotate the
// same way, by deleting their record and creating a new SKDM.
func RotateDistribution(ctx context.Context, store Store, self Address, distributionID [16]byte, rand io.Reader) ([]byte, error) {
	rec, err := load(ctx, store, self, distributionID)
	if err != nil {
		return nil, err
	}
	s, err := newOwnState(rand, rec) // distinct from the old chain ids
	if err != nil {
		return nil, err
	}
	rec = &Record{states: []*state{s}}
	if err := save(ctx, store, self, distributionID, rec); err != nil {
		return nil, err
	}
	return distribution(distributionID, s), nil
}

// ProcessDistribution stores the chain carried by an SKDM from sender under
// the SKDM's distribution id. Processing the same SKDM again changes nothing
// but the order of states; an SKDM with a new chain id adds a state and
// pushes out the oldest beyond MaxStates.
func ProcessDistribution(ctx context.Context, store Store, sender Address, skdm []byte) error {
	m, err := ParseDistributionMessage(skdm)
	if err != nil {
		return err
	}
	rec, err := load(ctx, store, sender, m.DistributionID)
	if err != nil {
		return err
	}
	rec.addState(&state{
		chainID:    m.ChainID,
		iteration:  m.Iteration,
		chainKey:   m.ChainKey,
		signingPub: m.SigningKey,
	})
	return save(ctx, store, sender, m.DistributionID, rec)
}

// Encrypt encrypts plaintext on our newest chain for distributionID and
// returns the signed SenderKeyMessage. rand (nil: crypto/rand) supplies the
// XEdDSA nonce randomness.
func Encrypt(ctx context.Context, store Store, self Address, distributionID [16]byte, plaintext []byte, rand io.Reader) ([]byte, error) {
	rec, err := load(ctx, store, self, distributionID)
	if err != nil {
		return nil, err
	}
	s := rec.newest()
	if s == nil {
		return nil, ErrNoSenderKey
	}
	if s.signingPriv == nil {
		return nil, fmt.Errorf("%w: newest chain has no signing private key", ErrNoSenderKey)
	}
	if s.iteration == math.MaxUint32 {
		return nil, ErrChainExhausted
	}
	seed, next := chainStep(&s.chainKey)
	m := Message{
		DistributionID: distributionID,
		ChainID:        s.chainID,
		Iteration:      s.iteration,
		Ciphertext:     encryptCBC(&seed, plaintext),
	}
	out := m.marshalUnsigned()
	sig, err := s.signingPriv.Sign(randOrDefault(rand), out)
	if err != nil {
		return nil, fmt.Errorf("senderkey: sign: %w", err)
	}
	out = append(out, sig[:]...)
	s.chainKey, s.iteration = next, s.iteration+1
	if err := save(ctx, store, self, distributionID, rec); err != nil {
		return nil, err
	}
	return out, nil
}

// Decrypt verifies and decrypts a SenderKeyMessage from sender. The record
// is saved only after the message decrypted, so a failed call leaves the
// stored state exactly as it was.
func Decrypt(ctx context.Context, store Store, sender Address, ciphertext []byte) ([]byte, error) {
	m, err := ParseMessage(ciphertext)
	if err != nil {
		return nil, err
	}
	rec, err := load(ctx, store, sender, m.DistributionID)
	if err != nil {
		return nil, err
	}
	s := rec.stateFor(m.ChainID)
	if s == nil {
		return nil, ErrNoSenderKey
	}
	if !s.signingPub.Verify(m.signed, m.Signature[:]) {
		return nil, ErrBadSignature
	}

	// Work out the key without touching s; commit only after decryption.
	var (
		seed     [32]byte
		used     = -1         // index into s.skipped of an old key
		newSkips []messageKey // keys for iterations jumped over
		next     [32]byte
	)
	switch {
	case m.Iteration < s.iteration:
		if used = s.skippedIndex(m.Iteration); used < 0 {
			return nil, ErrDuplicate
		}
		seed = s.skipped[used].seed
	case m.Iteration-s.iteration > MaxForwardJump:
		return nil, ErrTooFarAhead
	case m.Iteration == math.MaxUint32:
		return nil, ErrInvalidMessage // its successor chain key cannot exist
	default:
		ck := s.chainKey
		if jump := m.Iteration - s.iteration; jump > 0 {
			newSkips = make([]messageKey, 0, min(jump, MaxMessageKeys))
		}
		for it := s.iteration; it < m.Iteration; it++ {
			var sk [32]byte
			sk, ck = chainStep(&ck)
			// Keys that would be evicted at once are not kept at all.
			if m.Iteration-it <= MaxMessageKeys {
				newSkips = append(newSkips, messageKey{iteration: it, seed: sk})
			}
		}
		seed, next = chainStep(&ck)
	}

	plaintext, err := decryptCBC(&seed, m.Ciphertext)
	if err != nil {
		return nil, err
	}

	if used >= 0 {
		s.skipped = append(s.skipped[:used], s.skipped[used+1:]...)
	} else {
		s.skipped = append(s.skipped, newSkips...)
		if excess := len(s.skipped) - MaxMessageKeys; excess > 0 {
			n := copy(s.skipped, s.skipped[excess:])
			s.skipped = s.skipped[:n]
		}
		s.chainKey, s.iteration = next, m.Iteration+1
	}
	if err := save(ctx, store, sender, m.DistributionID, rec); err != nil {
		return nil, err
	}
	return plaintext, nil
}

func distribution(distributionID [16]byte, s *state) []byte {
	m := DistributionMessage{
		DistributionID: distributionID,
		ChainID:        s.chainID,
		Iteration:      s.iteration,
		ChainKey:       s.chainKey,
		SigningKey:     s.signingPub,
	}
	return m.Marshal()
}

// newOwnState makes a fresh chain with a chain id not yet used in rec. The
// id is 31 bits, as libsignal makes them (it shifts a random uint32 right by
// one, which keeps the id positive in Java clients).
func newOwnState(r io.Reader, rec *Record) (*state, error) {
	r = randOrDefault(r)
	s := &state{}
	for {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("senderkey: random: %w", err)
		}
		s.chainID = binary.LittleEndian.Uint32(b[:]) >> 1
		if rec.stateFor(s.chainID) == nil {
			break
		}
	}
	if _, err := io.ReadFull(r, s.chainKey[:]); err != nil {
		return nil, fmt.Errorf("senderkey: random: %w", err)
	}
	kp, err := curve.GenerateKeyPair(r)
	if err != nil {
		return nil, fmt.Errorf("senderkey: random: %w", err)
	}
	s.signingPub, s.signingPriv = kp.Public, &kp.Private
	return s, nil
}

func load(ctx context.Context, store Store, a Address, distributionID [16]byte) (*Record, error) {
	rec, err := store.SenderKey(ctx, a, distributionID)
	if err != nil {
		return nil, fmt.Errorf("senderkey: load: %w", err)
	}
	if rec == nil {
		rec = &Record{}
	}
	return rec, nil
}

func save(ctx context.Context, store Store, a Address, distributionID [16]byte, rec *Record) error {
	if err := store.SaveSenderKey(ctx, a, distributionID, rec); err != nil {
		return fmt.Errorf("senderkey: save: %w", err)
	}
	return nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
