package session

// This file is the seam for SPQR, the sparse post-quantum ratchet (stage 2).
//
// In libsignal every message runs through the session's SPQR state: sending
// yields the bytes for SignalMessage.pq_ratchet and an optional 32-byte key,
// receiving consumes pq_ratchet and yields an optional key, and that key is
// the HKDF salt of "WhisperMessageKeys". The state is created from bytes
// 64..96 of the PQXDH output (pqxdhSecrets.pqKey) with the initiator's
// direction A→B. Stage 2 implements pqSend/pqRecv over sessionState.pqState
// (kept opaque in records already); the callers already use the key as the
// salt and commit the new state only when the message succeeds (Encrypt
// directly, decryption through stateUpdate.pqState). Nothing else in the
// ratchet changes.
//
// Stage 1 runs sessions without SPQR ("V0"): we send no pq_ratchet and use
// no salt. libsignal 0.90 starts sessions offering SPQR but with V0 allowed;
// until it hears from us its messages carry SPQR header chunks with index 0,
// which have no key, and our first message without pq_ratchet makes it
// settle on V0. So ignoring the field on receipt is what V0 does.

// pqSend returns the pq_ratchet field of the next outgoing message, the
// SPQR message key to use as salt (nil: none) and the SPQR state after
// sending (nil: unchanged). It does not change s.
func (s *sessionState) pqSend() (msg, key, newState []byte, err error) {
	return nil, nil, nil, nil
}

// pqRecv consumes the pq_ratchet field of an incoming message and returns
// the SPQR message key to use as salt (nil: none) and the SPQR state after
// receiving (nil: unchanged). It does not change s: the message is not
// authenticated yet.
func (s *sessionState) pqRecv(msg []byte) (key, newState []byte, err error) {
	return nil, nil, nil
}
