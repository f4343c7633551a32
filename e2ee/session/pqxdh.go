package session

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"io"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
)

// pqxdhSecrets is the 96-byte PQXDH output.
type pqxdhSecrets struct {
	rootKey [32]byte
	chain   chainKey
	pqKey   [32]byte // SPQR's initial authentication key
}

// derivePQXDH runs HKDF-SHA256(salt none, ikm = 0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3
// [‖ DH4] ‖ SS_kyber, info labelPQXDH) to 96 bytes. The 0xFF prefix is the
// spec's domain separator from X3DH's Ed25519-based signatures.
func derivePQXDH(dhs [][32]byte, kyberShared [32]byte) pqxdhSecrets {
	ikm := make([]byte, 0, 32*(len(dhs)+2))
	ikm = append(ikm, bytes.Repeat([]byte{0xFF}, 32)...)
	for i := range dhs {
		ikm = append(ikm, dhs[i][:]...)
	}
	ikm = append(ikm, kyberShared[:]...)
	okm, err := hkdf.Key(sha256.New, ikm, nil, labelPQXDH, 96)
	if err != nil {
		panic("session: unreachable: HKDF output length is fixed")
	}
	var s pqxdhSecrets
	copy(s.rootKey[:], okm[0:32])
	copy(s.chain.key[:], okm[32:64])
	copy(s.pqKey[:], okm[64:96])
	clear(ikm)
	return s
}

func agree(priv curve.PrivateKey, pub curve.PublicKey, what string) ([32]byte, error) {
	s, err := priv.Agree(pub)
	if err != nil {
		return s, errorf(ErrInvalidKey, "%s: %v", what, err)
	}
	return s, nil
}

// aliceParams is the initiator's view of a PQXDH run.
type aliceParams struct {
	identity        curve.KeyPair
	base            curve.KeyPair
	theirIdentity   curve.PublicKey
	theirSignedPre  curve.PublicKey
	theirOneTimePre *curve.PublicKey
	theirKyber      kem.PublicKey
	spqr            SPQRPolicy
}

// initAlice builds the initiator's session. It returns the state and the
// Kyber ciphertext to send.
func initAlice(p *aliceParams, rand io.Reader) (*sessionState, []byte, error) {
	dhs := make([][32]byte, 0, 4)
	for _, step := range []struct {
		priv curve.PrivateKey
		pub  curve.PublicKey
		what string
	}{
		{p.identity.Private, p.theirSignedPre, "DH(IKa, SPKb)"},
		{p.base.Private, p.theirIdentity, "DH(EKa, IKb)"},
		{p.base.Private, p.theirSignedPre, "DH(EKa, SPKb)"},
	} {
		s, err := agree(step.priv, step.pub, step.what)
		if err != nil {
			return nil, nil, err
		}
		dhs = append(dhs, s)
	}
	if p.theirOneTimePre != nil {
		s, err := agree(p.base.Private, *p.theirOneTimePre, "DH(EKa, OPKb)")
		if err != nil {
			return nil, nil, err
		}
		dhs = append(dhs, s)
	}
	kyberCT, kyberSS := p.theirKyber.Encapsulate()
	secrets := derivePQXDH(dhs, kyberSS)

	// Alice ratchets at once: her first sending chain already mixes in a
	// fresh ratchet key against Bob's signed prekey, which serves as his
	// first ratchet key.
	ratchet, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return nil, nil, err
	}
	dh, err := agree(ratchet.Private, p.theirSignedPre, "DH(ratchet, SPKb)")
	if err != nil {
		return nil, nil, err
	}
	root, sendChain := rootStep(secrets.rootKey, dh)
	pq, err := newPQState(p.spqr, &secrets.pqKey, true)
	if err != nil {
		return nil, nil, err
	}
	s := &sessionState{
		version:        CurrentVersion,
		localIdentity:  p.identity.Public,
		remoteIdentity: p.theirIdentity,
		rootKey:        root,
		sender:         senderChain{ratchet: ratchet, chain: sendChain},
		receivers:      []receiverChain{{ratchetKey: p.theirSignedPre, chain: secrets.chain}},
		aliceBaseKey:   p.base.Public,
		pq:             pq,
	}
	return s, kyberCT, nil
}

// bobParams is the responder's view of a PQXDH run.
type bobParams struct {
	identity        curve.KeyPair
	signedPre       curve.KeyPair
	oneTimePre      *curve.KeyPair
	kyber           kem.KeyPair
	theirIdentity   curve.PublicKey
	theirBase       curve.PublicKey
	kyberCiphertext []byte
	spqr            SPQRPolicy
}

func initBob(p *bobParams) (*sessionState, error) {
	// A base key with a small-order component would let Alice probe our
	// prekey scalars modulo 8; libsignal refuses it, and so do we.
	if !p.theirBase.IsCanonical() {
		return nil, errorf(ErrInvalidKey, "base key is not canonical")
	}
	dhs := make([][32]byte, 0, 4)
	for _, step := range []struct {
		priv curve.PrivateKey
		pub  curve.PublicKey
		what string
	}{
		{p.signedPre.Private, p.theirIdentity, "DH(SPKb, IKa)"},
		{p.identity.Private, p.theirBase, "DH(IKb, EKa)"},
		{p.signedPre.Private, p.theirBase, "DH(SPKb, EKa)"},
	} {
		s, err := agree(step.priv, step.pub, step.what)
		if err != nil {
			return nil, err
		}
		dhs = append(dhs, s)
	}
	if p.oneTimePre != nil {
		s, err := agree(p.oneTimePre.Private, p.theirBase, "DH(OPKb, EKa)")
		if err != nil {
			return nil, err
		}
		dhs = append(dhs, s)
	}
	kyberSS, err := p.kyber.Decapsulate(p.kyberCiphertext)
	if err != nil {
		return nil, errorf(ErrInvalidMessage, "Kyber ciphertext: %v", err)
	}
	secrets := derivePQXDH(dhs, kyberSS)
	pq, err := newPQState(p.spqr, &secrets.pqKey, false)
	if err != nil {
		return nil, err
	}
	// Bob's first sending chain hangs off his signed prekey; he never uses
	// it, because Alice's first message makes him ratchet before he sends.
	s := &sessionState{
		version:        CurrentVersion,
		localIdentity:  p.identity.Public,
		remoteIdentity: p.theirIdentity,
		rootKey:        secrets.rootKey,
		sender:         senderChain{ratchet: p.signedPre, chain: secrets.chain},
		aliceBaseKey:   p.theirBase,
		pq:             pq,
	}
	return s, nil
}
