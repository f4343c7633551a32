// Package sealedsender implements Signal's sealed sender, which hides a
// message's sender from the server: server and sender certificates checked
// against one or more trust roots; v1, the single-recipient envelope (version
// byte 0x11); and v2, the multi-recipient format, in all three of its roles:
// the sender's EncryptMulti, which seals one content for many devices in a
// sent message (0x23, or 0x22 from older clients); the server's
// ParseSentMessage, which lists the recipients and their devices and cuts
// each account's received message (0x22); and the receiver's Decrypt, which
// opens v1 envelopes and v2 received messages alike.
//
// DecryptMessage is libsignal's sealedSenderDecryptMessage over
// e2ee/session: open, validate the certificate, refuse a message from the
// receiving device itself, decrypt the inner PreKey or Whisper message.
// RecipientsFromSessions builds EncryptMulti's recipient list from the
// session stores, as libsignal's sealedSenderMultiRecipientEncrypt does.
//
// Every format matches libsignal 0.103.0 byte for byte; the interop tests
// check it against libsignal itself, and the sent-message parser accepts and
// refuses exactly what libsignal's does. The package was written from the
// research note, libsignal's documentation of the formats and observed wire
// bytes, not translated. AES-256-GCM-SIV, which the standard library lacks,
// is implemented here (RFC 8452) and checked against libsignal's.
package sealedsender
