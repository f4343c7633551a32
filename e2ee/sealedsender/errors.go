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
	// ErrUnsupportedVersion reports a v2 (multi-recipient) envelope.
	ErrUnsupportedVersion = errors.New("sealedsender: sealed sender v2 not supported")
	// ErrInvalidMessage reports an envelope that does not authenticate or
	// decrypt, or whose certificate key differs from the encrypted static key.
	ErrInvalidMessage = errors.New("sealedsender: invalid sealed sender message")
	// ErrInvalidArgument reports bad input to a constructor (device id, UUID).
	ErrInvalidArgument = errors.New("sealedsender: invalid argument")
)
