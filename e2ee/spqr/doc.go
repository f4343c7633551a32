// Package spqr implements the Sparse Post-Quantum Ratchet, version 1: the
// ML-KEM Braid (a sparse continuous key agreement over ML-KEM-768 whose large
// messages travel as erasure-coded 32-byte chunks) feeding a symmetric
// per-epoch key chain. Its output is the per-message key that libsignal mixes
// into the Double Ratchet ("Triple Ratchet"), and its messages are the bytes of
// SignalMessage.pq_ratchet, byte-compatible with libsignal's spqr crate v1.5.3.
//
// It is written from Signal's specifications ("The ML-KEM Braid" and "The
// Double Ratchet Algorithm" revision 3, sections 5 and 6), FIPS 203 and the
// wire bytes observed from libsignal; it shares no code with the Rust crate.
// testdata/ holds conversations recorded between two libsignal 0.90.0
// parties, against which the tests check the wire format, the erasure code,
// every epoch secret and MAC, and the braid's schedule.
//
// # Use from a session
//
// One State per session state (an archived session keeps its own):
//
//	st, err := spqr.NewState(spqr.Params{
//		AuthKey:    pqxdh[64:96], // bytes 64..96 of the 96-byte PQXDH output
//		Direction:  spqr.A2B,     // A2B for the initiator, B2A for the responder
//		Version:    spqr.V1,
//		MinVersion: spqr.V0,      // V0 like libsignal 0.90.0; V1 once SPQR is forced (0.92+)
//	})
//
// Encrypting a message:
//
//	pq, key, err := st.Send(rand.Reader)
//	// SignalMessage.pq_ratchet = pq (empty for a V0 state);
//	// key (nil or 32 bytes) is the HKDF salt of "WhisperMessageKeys",
//	// nil meaning no salt.
//
// Decrypting a message:
//
//	tmp := st.Clone()
//	key, err := tmp.Recv(pq) // pq = SignalMessage.pq_ratchet, absent = empty
//	// derive the message keys with key as salt; if the Double Ratchet
//	// decryption succeeds, st = tmp, else drop tmp.
//
// Send and Recv change the state only when they return no error; Clone is for
// rolling back a Recv whose message then fails to decrypt. An empty
// pq_ratchet from the peer downgrades a state made with MinVersion V0 to V0
// (no SPQR, no keys, for good) and is refused with ErrMinimumVersion by a
// state made with MinVersion V1; a pq_ratchet whose first byte is above 1 is
// ignored (nil key, no error), as libsignal does. MarshalBinary and
// UnmarshalBinary store a State in Parley's own format (not libsignal's
// session-record protobuf).
package spqr
