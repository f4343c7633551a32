// Package sealedsender implements Signal's sealed sender v1: server and
// sender certificates checked against a trust root, and the single-recipient
// envelope (version byte 0x11) that hides the sender's identity from the
// server. The format matches libsignal byte for byte; it was written from the
// research note and observed wire bytes, not translated.
//
// The multi-recipient v2 format (0x22/0x23) is not implemented: messages in
// it are rejected with ErrUnsupportedVersion.
package sealedsender
