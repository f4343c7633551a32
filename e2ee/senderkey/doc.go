// Package senderkey implements libsignal's Sender Keys, the group messaging
// layer of the Signal protocol, byte-compatible with the official libsignal.
//
// Each group member owns a sender chain per distribution id: a 32-byte chain
// key that ratchets forward with every message plus an XEdDSA signing key.
// The member hands the chain to every other member once, in a
// SenderKeyDistributionMessage (SKDM) sent over the 1:1 sessions, and then
// encrypts each group message only once, as a SenderKeyMessage that the
// server fans out. Receivers keep, per (sender, distribution id), up to
// MaxStates chains so that messages from a rotated-away chain still decrypt.
//
// There is no signal.org specification of Sender Keys; libsignal's behaviour
// is the definition. The wire formats here were confirmed against bytes
// produced by @signalapp/libsignal-client 0.90.0 (testdata/ and interop/).
//
// Wire formats (proto2, package signal.proto.wire, fields in this order):
//
//	SKDM:             0x33 ‖ {1 distribution_uuid, 2 chain_id, 3 iteration, 4 chain_key, 5 signing_key}
//	SenderKeyMessage: 0x33 ‖ {1 distribution_uuid, 2 chain_id, 3 iteration, 4 ciphertext} ‖ signature(64)
//
// The signature is XEdDSA by the chain's signing key over every byte before
// it. Message keys: seed = HMAC-SHA256(chain key, 0x01), next chain key =
// HMAC-SHA256(chain key, 0x02), HKDF-SHA256(salt none, seed, "WhisperGroup")
// gives IV(16) ‖ AES-256 key(32) for AES-256-CBC with PKCS#7 padding.
//
// Operations load a Record from a Store, change it and save it back; they do
// not lock. Callers must serialise operations on the same (address,
// distribution id), for example per group, or two concurrent Encrypt calls
// could reuse an iteration.
package senderkey
