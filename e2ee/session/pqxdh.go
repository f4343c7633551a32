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
	// Alice ratchets at once: her first sending chain already mixes in a
	// fresh ratchet key against Bob's signed prekey, which serves as his
	// first ratchet key. That agreement is independent of the PQXDH ones, so
	// all of them run as one batch (sharing the final field inversion).
	ratchet, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return nil, nil, err
	}
	pairs := [5]curve.DH{
		{Private: p.identity.Private, Public: p.theirSignedPre},
		{Private: p.base.Private, Public: p.theirIdentity},
		{Private: p.base.Private, Public: p.theirSignedPre},
	}
	what := [5]string{"DH(IKa, SPKb)", "DH(EKa, IKb)", "DH(EKa, SPKb)"}
	n := 3
	if p.theirOneTimePre != nil {
		pairs[n], what[n] = curve.DH{Private: p.base.Private, Public: *p.theirOneTimePre}, "DH(EKa, OPKb)"
		n++
	}
	pairs[n], what[n] = curve.DH{Private: ratchet.Private, Public: p.theirSignedPre}, "DH(ratchet, SPKb)"
	var shared [5][32]byte
	defer clear(shared[:])
	if failed, err := curve.AgreeAll(shared[:n+1], pairs[:n+1]); err != nil {
		return nil, nil, errorf(ErrInvalidKey, "%s: %v", what[failed], err)
	}
	kyberCT, kyberSS := p.theirKyber.Encapsulate()
	secrets := derivePQXDH(shared[:n], kyberSS)
	dh := shared[n]

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
	pairs := [4]curve.DH{
		{Private: p.signedPre.Private, Public: p.theirIdentity},
		{Private: p.identity.Private, Public: p.theirBase},
		{Private: p.signedPre.Private, Public: p.theirBase},
	}
	what := [4]string{"DH(SPKb, IKa)", "DH(IKb, EKa)", "DH(SPKb, EKa)", "DH(OPKb, EKa)"}
	n := 3
	if p.oneTimePre != nil {
		pairs[3] = curve.DH{Private: p.oneTimePre.Private, Public: p.theirBase}
		n = 4
	}
	var dhs [4][32]byte
	defer clear(dhs[:])
	if failed, err := curve.AgreeAll(dhs[:n], pairs[:n]); err != nil {
		return nil, errorf(ErrInvalidKey, "%s: %v", what[failed], err)
	}
	kyberSS, err := p.kyber.Decapsulate(p.kyberCiphertext)
	if err != nil {
		return nil, errorf(ErrInvalidMessage, "Kyber ciphertext: %v", err)
	}
	secrets := derivePQXDH(dhs[:n], kyberSS)
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
