package session

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/spqr"
)

// MaxUnacknowledgedSessionAge is how long we keep sending into a session we
// started while the peer has not answered. After that Encrypt fails with
// ErrStaleSession: the bundle we used may be long gone on the peer's side.
const MaxUnacknowledgedSessionAge = 30 * 24 * time.Hour

// ProcessBundle starts a session with remote from its published bundle
// (the PQXDH initiator's side). It verifies both prekey signatures, runs
// PQXDH and stores the new session as current, archiving any previous one.
// Messages are then PreKeySignalMessages until the peer answers. now is
// recorded so that Encrypt can expire an unanswered session. random
// supplies the base and ratchet keys (nil: crypto/rand).
func ProcessBundle(ctx context.Context, st Stores, remote Address, b Bundle, now time.Time, random io.Reader) error {
	if err := st.require(false); err != nil {
		return err
	}
	if err := validate(remote); err != nil {
		return err
	}
	trusted, err := st.Identity.IsTrustedIdentity(ctx, remote, b.IdentityKey, Sending)
	if err != nil {
		return err
	}
	if !trusted {
		return errorf(ErrUntrustedIdentity, "%s", remote)
	}
	if !b.IdentityKey.Verify(b.SignedPreKey.Bytes(), b.SignedPreKeySignature) {
		return errorf(ErrSignature, "signed prekey %d", b.SignedPreKeyID)
	}
	kyberPub := b.KyberPreKey.Bytes()
	if kyberPub == nil {
		return errorf(ErrInvalidKey, "bundle has no Kyber prekey")
	}
	if !b.IdentityKey.Verify(kyberPub, b.KyberPreKeySignature) {
		return errorf(ErrSignature, "Kyber prekey %d", b.KyberPreKeyID)
	}

	rec, err := st.Sessions.LoadSession(ctx, remote)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &Record{}
	}
	identity, err := st.Identity.IdentityKeyPair(ctx)
	if err != nil {
		return err
	}
	localRegID, err := st.Identity.LocalRegistrationID(ctx)
	if err != nil {
		return err
	}
	base, err := curve.GenerateKeyPair(random)
	if err != nil {
		return err
	}
	state, kyberCT, err := initAlice(&aliceParams{
		identity:        identity,
		base:            base,
		theirIdentity:   b.IdentityKey,
		theirSignedPre:  b.SignedPreKey,
		theirOneTimePre: b.PreKey,
		theirKyber:      b.KyberPreKey,
		spqr:            st.SPQR,
	}, random)
	if err != nil {
		return err
	}
	state.pending = &pendingPreKey{
		preKeyID:        b.PreKeyID,
		hasPreKeyID:     b.PreKey != nil,
		signedPreKeyID:  b.SignedPreKeyID,
		baseKey:         base.Public,
		kyberPreKeyID:   b.KyberPreKeyID,
		kyberCiphertext: kyberCT,
		created:         now,
	}
	state.localRegistrationID = localRegID
	state.remoteRegistrationID = b.RegistrationID
	rec.promoteState(state)

	if _, err := st.Identity.SaveIdentity(ctx, remote, b.IdentityKey); err != nil {
		return err
	}
	return st.Sessions.StoreSession(ctx, remote, rec)
}

// Encrypt encrypts plaintext for remote on the current session. Until the
// peer has answered, the result is a PreKeySignalMessage (TypePreKey),
// afterwards a SignalMessage (TypeSignal).
func Encrypt(ctx context.Context, st Stores, remote Address, plaintext []byte, now time.Time) (Ciphertext, error) {
	if err := st.require(false); err != nil {
		return Ciphertext{}, err
	}
	if err := validate(remote); err != nil {
		return Ciphertext{}, err
	}
	rec, err := st.Sessions.LoadSession(ctx, remote)
	if err != nil {
		return Ciphertext{}, err
	}
	if !rec.HasSession() {
		return Ciphertext{}, errorf(ErrNoSession, "%s", remote)
	}
	s := rec.current
	if s.pending != nil && now.After(s.pending.created.Add(MaxUnacknowledgedSessionAge)) {
		return Ciphertext{}, errorf(ErrStaleSession, "%s: started %s", remote, s.pending.created.UTC().Format(time.RFC3339))
	}
	ck := s.sender.chain
	if ck.index == ^uint32(0) {
		return Ciphertext{}, errorf(ErrNoSession, "%s: sending chain exhausted", remote)
	}
	// States in records are never changed (the store's copy shares them):
	// work on a clone, which goes into rec only once everything succeeded.
	s = s.clone(true)
	pqMsg, pqKey, err := s.pqSend()
	if err != nil {
		return Ciphertext{}, err
	}
	mk := deriveMessageKeys(ck.messageSeed(), pqKey)
	// Like libsignal 0.91 and later, a session start names both ends
	// (covered by the MAC) so that a message cannot be replayed to, or
	// passed off as coming from, another account. Only when both names are
	// service ids: the field has no encoding for other names.
	var addresses []byte
	if s.pending != nil {
		addresses, _ = encodeAddresses(st.Local, remote)
	}
	body := sealSignalMessage(&mk, s.sender.ratchet.Public, ck.index, s.previousCounter,
		plaintext, pqMsg, addresses, s.localIdentity, s.remoteIdentity)
	out := Ciphertext{Type: TypeSignal, Body: body}
	if p := s.pending; p != nil {
		out = Ciphertext{Type: TypePreKey, Body: encodePreKeyMessage(&preKeyMessage{
			registrationID:  s.localRegistrationID,
			preKeyID:        p.preKeyID,
			hasPreKeyID:     p.hasPreKeyID,
			signedPreKeyID:  p.signedPreKeyID,
			kyberPreKeyID:   p.kyberPreKeyID,
			kyberCiphertext: p.kyberCiphertext,
			baseKey:         p.baseKey,
			identityKey:     s.localIdentity,
		}, body)}
	}
	s.sender.chain = ck.next()

	trusted, err := st.Identity.IsTrustedIdentity(ctx, remote, s.remoteIdentity, Sending)
	if err != nil {
		return Ciphertext{}, err
	}
	if !trusted {
		return Ciphertext{}, errorf(ErrUntrustedIdentity, "%s", remote)
	}
	if _, err := st.Identity.SaveIdentity(ctx, remote, s.remoteIdentity); err != nil {
		return Ciphertext{}, err
	}
	rec.current = s
	if err := st.Sessions.StoreSession(ctx, remote, rec); err != nil {
		return Ciphertext{}, err
	}
	return out, nil
}

// Decrypt dispatches on the message type.
func Decrypt(ctx context.Context, st Stores, remote Address, c Ciphertext) ([]byte, error) {
	switch c.Type {
	case TypeSignal:
		return DecryptSignal(ctx, st, remote, c.Body)
	case TypePreKey:
		return DecryptPreKey(ctx, st, remote, c.Body)
	}
	return nil, errorf(ErrInvalidMessage, "message type %d", c.Type)
}

// DecryptSignal decrypts a SignalMessage from remote. It is tried on the
// current session and then on the archived ones; a session that decrypts it
// becomes current.
//
// If the message carries the addresses field (libsignal 0.91 and later), it
// must name remote as sender and st.Local as recipient; a message with the
// field is rejected when st.Local is not set or the names are not service
// ids, because the binding cannot be checked then.
func DecryptSignal(ctx context.Context, st Stores, remote Address, body []byte) ([]byte, error) {
	if err := st.require(false); err != nil {
		return nil, err
	}
	if err := validate(remote); err != nil {
		return nil, err
	}
	var msg signalMessage
	if err := parseSignalMessageInto(&msg, body); err != nil {
		return nil, err
	}
	rec, err := st.Sessions.LoadSession(ctx, remote)
	if err != nil {
		return nil, err
	}
	if rec == nil || (rec.current == nil && len(rec.previous) == 0) {
		return nil, errorf(ErrNoSession, "%s", remote)
	}
	pt, err := decryptWithRecord(rec, &msg, st.Local, remote)
	if err != nil {
		return nil, err
	}
	// As in libsignal, trust is checked after decryption: the identity is
	// the one of the session that actually decrypted the message.
	identity := rec.current.remoteIdentity
	trusted, err := st.Identity.IsTrustedIdentity(ctx, remote, identity, Receiving)
	if err != nil {
		return nil, err
	}
	if !trusted {
		return nil, errorf(ErrUntrustedIdentity, "%s", remote)
	}
	if _, err := st.Identity.SaveIdentity(ctx, remote, identity); err != nil {
		return nil, err
	}
	if err := st.Sessions.StoreSession(ctx, remote, rec); err != nil {
		return nil, err
	}
	return pt, nil
}

// DecryptPreKey decrypts a PreKeySignalMessage from remote: the PQXDH
// responder's side. If no session exists for the message's base key yet,
// one is built from our prekeys and becomes current; after success the
// one-time prekey is removed and the Kyber prekey marked used.
func DecryptPreKey(ctx context.Context, st Stores, remote Address, body []byte) ([]byte, error) {
	if err := st.require(true); err != nil {
		return nil, err
	}
	if err := validate(remote); err != nil {
		return nil, err
	}
	msg, err := parsePreKeyMessage(body)
	if err != nil {
		return nil, err
	}
	trusted, err := st.Identity.IsTrustedIdentity(ctx, remote, msg.identityKey, Receiving)
	if err != nil {
		return nil, err
	}
	if !trusted {
		return nil, errorf(ErrUntrustedIdentity, "%s", remote)
	}
	rec, err := st.Sessions.LoadSession(ctx, remote)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = &Record{}
	}
	used, err := processPreKey(ctx, st, rec, msg)
	if err != nil {
		return nil, err
	}
	pt, err := decryptWithRecord(rec, msg.message, st.Local, remote)
	if err != nil {
		return nil, err
	}
	// The Kyber prekey is marked first: for a last-resort key that is the
	// replay check, and a replay must not leave a session behind. A store
	// that can run these writes in one transaction (carried in ctx) makes
	// the whole step atomic.
	if used {
		if err := st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, msg.kyberPreKeyID, msg.signedPreKeyID, msg.baseKey); err != nil {
			return nil, err
		}
		if msg.hasPreKeyID {
			if err := st.PreKeys.RemovePreKey(ctx, msg.preKeyID); err != nil {
				return nil, err
			}
		}
	}
	if _, err := st.Identity.SaveIdentity(ctx, remote, msg.identityKey); err != nil {
		return nil, err
	}
	if err := st.Sessions.StoreSession(ctx, remote, rec); err != nil {
		return nil, err
	}
	return pt, nil
}

// processPreKey makes the session for msg's PQXDH run current in rec,
// building it if needed. used reports whether prekeys were consumed.
func processPreKey(ctx context.Context, st Stores, rec *Record, msg *preKeyMessage) (used bool, err error) {
	if rec.promoteMatching(msg.version, msg.baseKey) {
		return false, nil // a repeat of a session start we already processed
	}
	spk, err := st.SignedPreKeys.LoadSignedPreKey(ctx, msg.signedPreKeyID)
	if err != nil {
		return false, err
	}
	kyber, err := st.KyberPreKeys.LoadKyberPreKey(ctx, msg.kyberPreKeyID)
	if err != nil {
		return false, err
	}
	var oneTime *curve.KeyPair
	if msg.hasPreKeyID {
		pk, err := st.PreKeys.LoadPreKey(ctx, msg.preKeyID)
		if err != nil {
			return false, err
		}
		oneTime = &pk.KeyPair
	}
	identity, err := st.Identity.IdentityKeyPair(ctx)
	if err != nil {
		return false, err
	}
	localRegID, err := st.Identity.LocalRegistrationID(ctx)
	if err != nil {
		return false, err
	}
	state, err := initBob(&bobParams{
		identity:        identity,
		signedPre:       spk.KeyPair,
		oneTimePre:      oneTime,
		kyber:           kyber.KeyPair,
		theirIdentity:   msg.identityKey,
		theirBase:       msg.baseKey,
		kyberCiphertext: msg.kyberCiphertext,
		spqr:            st.SPQR,
	})
	if err != nil {
		return false, err
	}
	state.localRegistrationID = localRegID
	state.remoteRegistrationID = msg.registrationID
	rec.promoteState(state)
	return true, nil
}

// decryptWithRecord tries the current state, then the archived ones. The
// first that decrypts the message is replaced by its updated copy (and made
// current). A duplicate is final: the message was decrypted before by that
// state. Failed attempts change nothing.
func decryptWithRecord(rec *Record, msg *signalMessage, local, remote Address) ([]byte, error) {
	var firstErr error
	if rec.current != nil {
		pt, upd, err := prepareDecrypt(rec.current, msg, local, remote)
		if err == nil {
			rec.current = upd.apply(rec.current)
			return pt, nil
		}
		if errors.Is(err, ErrDuplicate) {
			return nil, err
		}
		firstErr = err
	}
	for i, prev := range rec.previous {
		pt, upd, err := prepareDecrypt(prev, msg, local, remote)
		if err == nil {
			rec.promoteArchived(i, upd.apply(prev))
			return pt, nil
		}
		if errors.Is(err, ErrDuplicate) {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = errorf(ErrNoSession, "%s", remote)
	}
	return nil, firstErr
}

// stateUpdate is what a successful decryption changes in a session state.
type stateUpdate struct {
	receiver   int // index of the receiving chain, -1 for a new one
	ratchetKey curve.PublicKey
	skippedAt  int          // skipped key used, or -1
	skipped    []skippedKey // seeds to keep for messages not yet arrived
	nextChain  chainKey     // the receiving chain after this message
	// Set for a new receiving chain (a DH ratchet step).
	newRoot   [32]byte
	newSender senderChain
	pq        *spqr.State // the SPQR state after this message (nil: no SPQR)
}

// prepareDecrypt authenticates and decrypts msg with s without changing s;
// the returned update applies the consequences.
func prepareDecrypt(s *sessionState, msg *signalMessage, local, remote Address) ([]byte, stateUpdate, error) {
	if msg.version != s.version {
		return nil, stateUpdate{}, errorf(ErrInvalidMessage, "message version %d on a version %d session", msg.version, s.version)
	}
	if msg.counter == ^uint32(0) {
		return nil, stateUpdate{}, errorf(ErrInvalidMessage, "counter at the end of the chain")
	}
	upd := stateUpdate{receiver: s.receiverIndex(msg.ratchetKey), ratchetKey: msg.ratchetKey, skippedAt: -1}

	// Find the receiving chain, or derive the one a new ratchet key starts.
	var ck chainKey
	var stepRoot [32]byte
	if upd.receiver >= 0 {
		ck = s.receivers[upd.receiver].chain
	} else {
		dh, err := agree(s.sender.ratchet.Private, msg.ratchetKey, "ratchet step")
		if err != nil {
			return nil, stateUpdate{}, err
		}
		stepRoot, ck = rootStep(s.rootKey, dh)
	}

	// Find the message seed: a skipped one, or walk the chain forward.
	var seed [32]byte
	if msg.counter < ck.index {
		// ck.index > 0, so the chain exists (a new chain starts at 0).
		rc := &s.receivers[upd.receiver]
		upd.skippedAt = rc.findSkipped(msg.counter)
		if upd.skippedAt < 0 {
			return nil, stateUpdate{}, errorf(ErrDuplicate, "counter %d, chain at %d", msg.counter, ck.index)
		}
		seed = rc.skipped[upd.skippedAt].seed
	} else {
		jump := msg.counter - ck.index
		if jump > MaxForwardJumps {
			return nil, stateUpdate{}, errorf(ErrTooFarAhead, "counter %d, chain at %d", msg.counter, ck.index)
		}
		// Only the newest MaxMessageKeys skipped seeds survive, so older
		// ones are not even computed.
		keepFrom := ck.index
		if jump > MaxMessageKeys {
			keepFrom = msg.counter - MaxMessageKeys
		}
		if jump > 0 {
			upd.skipped = make([]skippedKey, 0, min(jump, MaxMessageKeys))
		}
		for ck.index < msg.counter {
			if ck.index >= keepFrom {
				upd.skipped = append(upd.skipped, skippedKey{index: ck.index, seed: ck.messageSeed()})
			}
			ck = ck.next()
		}
		seed = ck.messageSeed()
		upd.nextChain = ck.next()
	}

	pqKey, pq, err := s.pqRecv(msg.pqRatchet)
	if err != nil {
		return nil, stateUpdate{}, err
	}
	upd.pq = pq
	mk := deriveMessageKeys(seed, pqKey)
	if !msg.verifyMAC(mk.macKey[:], s.remoteIdentity, s.localIdentity) {
		return nil, stateUpdate{}, errorf(ErrBadMAC, "counter %d", msg.counter)
	}
	if msg.hasAddresses {
		want, ok := encodeAddresses(remote, local)
		if !ok || string(want) != string(msg.addresses) {
			return nil, stateUpdate{}, errorf(ErrInvalidMessage, "addresses field does not match %s → %s", remote, local)
		}
	}
	pt, err := decryptCBC(&mk, msg.ciphertext)
	if err != nil {
		return nil, stateUpdate{}, err
	}

	if upd.receiver < 0 {
		// The peer ratcheted; we answer with a fresh ratchet key of our own.
		ratchet, err := curve.GenerateKeyPair(rand.Reader)
		if err != nil {
			return nil, stateUpdate{}, err
		}
		dh, err := agree(ratchet.Private, msg.ratchetKey, "ratchet step")
		if err != nil {
			return nil, stateUpdate{}, err
		}
		var sendChain chainKey
		upd.newRoot, sendChain = rootStep(stepRoot, dh)
		upd.newSender = senderChain{ratchet: ratchet, chain: sendChain}
	}
	return pt, upd, nil
}

// apply returns s with a successful decryption committed (s itself is not
// changed). It cannot fail.
func (u *stateUpdate) apply(prev *sessionState) *sessionState {
	s := prev.clone(false) // u.pq replaces the SPQR state
	if u.receiver < 0 {
		s.rootKey = u.newRoot
		u.receiver = s.addReceiver(u.ratchetKey, u.nextChain)
		// libsignal's convention: the index of our last message on the old
		// chain (0 when none was sent).
		s.previousCounter = 0
		if s.sender.chain.index > 0 {
			s.previousCounter = s.sender.chain.index - 1
		}
		s.sender = u.newSender
	}
	rc := &s.receivers[u.receiver]
	if u.skippedAt >= 0 {
		rc.removeSkipped(u.skippedAt)
	} else {
		rc.addSkipped(u.skipped)
		rc.chain = u.nextChain
	}
	s.pq = u.pq
	s.pending = nil
	return s
}
