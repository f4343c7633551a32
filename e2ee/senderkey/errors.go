package senderkey

import "errors"

var (
	// ErrNoSenderKey reports that there is no record for the (sender,
	// distribution id), no state with the message's chain id, or, when
	// encrypting, no state of our own with a signing private key.
	ErrNoSenderKey = errors.New("senderkey: no sender key state")
	// ErrInvalidMessage reports malformed bytes (protobuf, lengths, keys) or a
	// ciphertext that does not decrypt.
	ErrInvalidMessage = errors.New("senderkey: invalid message")
	// ErrBadSignature reports a SenderKeyMessage whose XEdDSA signature does
	// not verify under the signing key of the matching chain.
	ErrBadSignature = errors.New("senderkey: bad signature")
	// ErrDuplicate reports a message for an iteration whose key was already
	// used, or was dropped because too many keys were skipped since.
	ErrDuplicate = errors.New("senderkey: duplicate or expired message")
	// ErrTooFarAhead reports a message more than MaxForwardJump iterations
	// ahead of the chain. Each skipped iteration costs a key derivation, so
	// without the bound one signed message from a faulty or hostile member
	// could keep a receiver busy for minutes.
	ErrTooFarAhead = errors.New("senderkey: message too far in the future")
	// ErrUnknownVersion reports a version byte whose high nibble is not 3.
	ErrUnknownVersion = errors.New("senderkey: unknown message version")
	// ErrChainExhausted reports a chain at iteration 2^32-1, which cannot
	// advance; the sender must rotate (RotateDistribution).
	ErrChainExhausted = errors.New("senderkey: chain exhausted")
	// ErrInvalidRecord reports stored record bytes that do not parse.
	ErrInvalidRecord = errors.New("senderkey: invalid record")
)
