// Package session implements libsignal's one-to-one sessions: PQXDH session
// setup (X25519 + Kyber1024) and the libsignal flavour of the Double Ratchet,
// with the wire formats of message version 4 (SignalMessage and
// PreKeySignalMessage, version byte 0x44), byte-compatible with libsignal
// 0.103 (checked by the interop suite, see interop/).
//
// Sessions run libsignal's Triple Ratchet: every session state carries an
// SPQR state (package spqr, the sparse post-quantum ratchet) whose
// per-message key salts the Double Ratchet's message keys and whose
// messages travel in SignalMessage.pq_ratchet. Stores.SPQR chooses how new
// sessions use it (SPQRPolicy); the default, like libsignal 0.92 and
// later, requires it (SPQROptional falls back to the plain Double Ratchet
// with a peer that answers without it, as libsignal 0.90 did). See pq.go.
//
// A PreKeySignalMessage names both ends in its addresses field, as libsignal
// 0.91 and later do, when Stores.Local and the remote name are service ids.
//
// The package does no I/O. Identity keys, prekeys and session records live
// in stores the caller provides (Stores); MemoryStore is an in-memory
// implementation for tests and tools. Every operation loads what it needs,
// works on a copy, and writes back only after it has fully succeeded, so a
// failed call never changes stored state. Calls for the same remote address
// must be serialised by the caller (as with libsignal); calls for different
// addresses may run concurrently if the stores allow it.
package session
