// Package session implements libsignal's one-to-one sessions: PQXDH session
// setup (X25519 + Kyber1024) and the libsignal flavour of the Double Ratchet,
// with the wire formats of message version 4 (SignalMessage and
// PreKeySignalMessage, version byte 0x44), byte-compatible with libsignal
// 0.90.
//
// Stage 1 runs without SPQR (the sparse post-quantum ratchet): messages carry
// no pq_ratchet and the message keys are derived with an empty HKDF salt,
// which libsignal 0.90 accepts by downgrading its side of the session. The
// SPQR key will plug in as that salt; see pq.go for the seam.
//
// The package does no I/O. Identity keys, prekeys and session records live
// in stores the caller provides (Stores); MemoryStore is an in-memory
// implementation for tests and tools. Every operation loads what it needs,
// works on a copy, and writes back only after it has fully succeeded, so a
// failed call never changes stored state. Calls for the same remote address
// must be serialised by the caller (as with libsignal); calls for different
// addresses may run concurrently if the stores allow it.
package session
