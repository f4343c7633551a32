package spqr

import "errors"

// Every error returned by this package wraps one of these sentinels; test with
// errors.Is. The names follow the failure, not the Rust crate's variants,
// although each maps onto one of them.
var (
	// ErrInvalidParams: NewState was given an unusable parameter.
	ErrInvalidParams = errors.New("spqr: invalid parameters")
	// ErrMessageDecode: the pq_ratchet bytes are not a well-formed V1 message.
	ErrMessageDecode = errors.New("spqr: malformed message")
	// ErrStateDecode: UnmarshalBinary was given bytes that are not a valid
	// state, or a state is internally inconsistent.
	ErrStateDecode = errors.New("spqr: malformed state")
	// ErrMACVerify: an authenticated header or ciphertext did not verify.
	ErrMACVerify = errors.New("spqr: MAC verification failed")
	// ErrEpochOutOfRange: the message names an epoch this state cannot use.
	ErrEpochOutOfRange = errors.New("spqr: epoch out of range")
	// ErrVersionMismatch: the peer speaks an older version and this state has
	// finished negotiating.
	ErrVersionMismatch = errors.New("spqr: version mismatch after negotiation")
	// ErrMinimumVersion: the peer speaks a version below the allowed minimum.
	ErrMinimumVersion = errors.New("spqr: peer below minimum version")
	// ErrKeyJump: the message index is too far ahead of the chain.
	ErrKeyJump = errors.New("spqr: message index jumps too far ahead")
	// ErrKeyTrimmed: the message is too old; its key was discarded.
	ErrKeyTrimmed = errors.New("spqr: message key already discarded")
	// ErrKeyAlreadyRequested: the message key was already used (a duplicate).
	ErrKeyAlreadyRequested = errors.New("spqr: message key already used")
	// ErrErroneousData: the peer's encapsulation key does not match its header.
	ErrErroneousData = errors.New("spqr: encapsulation key does not match header")
	// ErrSendEpochDecreased: an internal sending epoch went backwards.
	ErrSendEpochDecreased = errors.New("spqr: send epoch decreased")
	// ErrChainNotAvailable: the state has no key chain and cannot derive one.
	ErrChainNotAvailable = errors.New("spqr: key chain not available")
	// ErrChainExhausted: a chain counter would overflow 32 bits.
	ErrChainExhausted = errors.New("spqr: key chain exhausted")
	// ErrRandom: reading from the randomness source failed.
	ErrRandom = errors.New("spqr: randomness source failed")
	// ErrEncoding: a message given to the erasure code has an unusable length,
	// or a chunk set cannot be decoded.
	ErrEncoding = errors.New("spqr: erasure code")
)
