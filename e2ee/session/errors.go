package session

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every failure returned by this package wraps exactly one
// of them (plus context), so callers can branch with errors.Is.
var (
	// ErrNoSession: there is no usable session with the remote address.
	ErrNoSession = errors.New("session: no session")
	// ErrStaleSession: the session was started by us and the peer has not
	// answered for longer than MaxUnacknowledgedSessionAge, so we refuse to
	// keep sending into it; fetch a new bundle. It also matches ErrNoSession,
	// as libsignal reports it that way.
	ErrStaleSession = fmt.Errorf("%w: unacknowledged session expired", ErrNoSession)
	// ErrUntrustedIdentity: the identity store does not trust the remote
	// identity key.
	ErrUntrustedIdentity = errors.New("session: untrusted identity")
	// ErrInvalidMessage: the message is malformed or does not belong to any
	// session we have.
	ErrInvalidMessage = errors.New("session: invalid message")
	// ErrInvalidKey: a key in a bundle, message or store is malformed or
	// unacceptable (wrong encoding, low order, non-canonical base key).
	ErrInvalidKey = errors.New("session: invalid key")
	// ErrBadMAC: the message authentication code does not verify.
	ErrBadMAC = errors.New("session: bad MAC")
	// ErrDuplicate: the message was already decrypted (its key is gone).
	ErrDuplicate = errors.New("session: duplicate message")
	// ErrTooFarAhead: the message counter is more than MaxForwardJumps
	// beyond the chain.
	ErrTooFarAhead = errors.New("session: message too far into the future")
	// ErrLegacyVersion: a message of protocol version 3 or older (X3DH),
	// which libsignal no longer accepts either.
	ErrLegacyVersion = errors.New("session: legacy message version")
	// ErrUnknownVersion: a message of a protocol version newer than 4.
	ErrUnknownVersion = errors.New("session: unrecognised message version")
	// ErrSignature: a prekey signature in a bundle does not verify.
	ErrSignature = errors.New("session: bad prekey signature")
	// ErrNoPreKey: a prekey referenced by a message is not in the store.
	ErrNoPreKey = errors.New("session: unknown prekey")
	// ErrPreKeyReused: a last-resort Kyber prekey was used again with the
	// same signed prekey and base key (a replayed session start).
	ErrPreKeyReused = errors.New("session: Kyber prekey reused")
	// ErrInvalidAddress: a device id outside 1..127.
	ErrInvalidAddress = errors.New("session: invalid address")
	// ErrInvalidRecord: a serialised Record cannot be decoded.
	ErrInvalidRecord = errors.New("session: invalid record")
	// ErrMissingStore: a Stores field the operation needs is nil.
	ErrMissingStore = errors.New("session: store missing")
	// ErrInvalidConfig: a Stores option has a value this package does not
	// know (an SPQRPolicy out of range).
	ErrInvalidConfig = errors.New("session: invalid configuration")
)

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
