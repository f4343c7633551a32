package sealedsender

import "errors"

var (
	// ErrInvalidProtobuf reports bytes that are not the expected protobuf
	// message, or that lack a required field.
	ErrInvalidProtobuf = errors.New("sealedsender: invalid protobuf encoding")
	// ErrInvalidKey reports a public key that is not 0x05‖32 bytes.
	ErrInvalidKey = errors.New("sealedsender: invalid key")
	// ErrRevokedServerCertificate reports a server certificate whose key id is
	// on the revocation list.
	ErrRevokedServerCertificate = errors.New("sealedsender: revoked server certificate")
	// ErrUntrustedServerCertificate reports a server certificate not signed by
	// the trust root.
	ErrUntrustedServerCertificate = errors.New("sealedsender: server certificate not signed by trust root")
	// ErrBadSenderSignature reports a sender certificate not signed by the key
	// of its server certificate.
	ErrBadSenderSignature = errors.New("sealedsender: sender certificate not signed by server")
	// ErrExpired reports a sender certificate past its expiry time.
	ErrExpired = errors.New("sealedsender: sender certificate expired")
	// ErrUnknownServerCertificate reports a sender certificate that refers to
	// a server certificate by an id we do not know.
	ErrUnknownServerCertificate = errors.New("sealedsender: unknown server certificate id")
	// ErrUnknownVersion reports an envelope whose version nibble is unknown.
	ErrUnknownVersion = errors.New("sealedsender: unknown version")
	// ErrInvalidSentMessage reports a v2 sent message (the multi-recipient
	// upload) that does not parse: truncated, a device id of 0 inside a
	// device list or above 127, an unknown service id kind, a recipient
	// listed both with and without devices, or no room for the ephemeral key.
	ErrInvalidSentMessage = errors.New("sealedsender: invalid sealed sender v2 sent message")
	// ErrNotRecipient reports a request for the message of a service id that
	// the sent message does not list with devices.
	ErrNotRecipient = errors.New("sealedsender: not a recipient of this message")
	// ErrNotSingleRecipient reports a sent message with other than exactly
	// one recipient entry, passed where one is required.
	ErrNotSingleRecipient = errors.New("sealedsender: sent message does not have exactly one recipient")
	// ErrInvalidServiceID reports a string or 17-byte value that is not a
	// service id (a hyphenated UUID, optionally "PNI:"-prefixed).
	ErrInvalidServiceID = errors.New("sealedsender: invalid service id")
	// ErrInvalidRegistrationID reports a registration id that does not fit
	// the 14 bits a v2 message has for it.
	ErrInvalidRegistrationID = errors.New("sealedsender: registration id out of range")
	// ErrSelfSend reports a message whose sender certificate names the
	// receiving device itself (libsignal's SealedSenderSelfSend).
	ErrSelfSend = errors.New("sealedsender: message sent by this device")
	// ErrUnsupportedMessageType reports a content whose inner message is not
	// one DecryptMessage can decrypt over a 1:1 session (PreKey, Whisper).
	ErrUnsupportedMessageType = errors.New("sealedsender: inner message type not decryptable over a session")
	// ErrInvalidMessage reports an envelope that does not authenticate or
	// decrypt, or whose certificate key differs from the encrypted static key.
	ErrInvalidMessage = errors.New("sealedsender: invalid sealed sender message")
	// ErrInvalidArgument reports bad input to a constructor (device id, UUID).
	ErrInvalidArgument = errors.New("sealedsender: invalid argument")
)
