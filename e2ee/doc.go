// Package e2ee is Parley's implementation of the Signal protocol, written in
// Go from the Signal specifications and byte-compatible with the official
// libsignal, which the interop tests run against (interop/). It does no I/O
// and imports nothing of the server: keys, sessions and sender keys live in
// stores the caller provides.
//
// The work is split by layer:
//
//   - curve: X25519 keys in libsignal's encoding and XEdDSA signatures
//   - kem: Kyber1024 (round 3) for the post-quantum part of PQXDH
//   - session: PQXDH session setup and the Double Ratchet
//   - spqr: the Sparse Post-Quantum Ratchet (ML-KEM Braid) mixed into the
//     Double Ratchet's message keys
//   - senderkey: Sender Keys for groups
//   - sealedsender: certificates and sealed sender v1, which hides the
//     sender from the server
//   - fingerprint: safety numbers, displayable and scannable
//   - grouplog: a group's membership as a signed hash chain of events, and
//     the rules every member and the server apply to it
//   - padding: Signal's transport padding, which the client applies to
//     message content before encrypting it
//   - media: attachments, encrypted with a key of their own (WhatsApp's
//     scheme) and streamed with constant memory
//
// This package itself holds Address, the device address every layer files
// its state under (session.Address and senderkey.Address are aliases), and
// imports nothing else of Parley's.
//
// docs/protocol.md says which libsignal version this matches and what is
// not done yet.
package e2ee
