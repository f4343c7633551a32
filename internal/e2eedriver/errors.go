package e2eedriver

import (
	"errors"
	"fmt"

	"github.com/parley-im/parley/e2ee/sealedsender"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
)

// Error classes, the part of an answer's error before ": ". They are the
// oracle's: libsignal's error code names where libsignal has a specific
// code, LibSignalError for the rest of the protocol failures, BadRequest
// when the driver did not try.
const (
	classBadRequest     = "BadRequest"
	classNotImplemented = "NotImplemented"
	classGeneric        = "LibSignalError"
	classDuplicated     = "DuplicatedMessage"
	classUntrusted      = "UntrustedIdentity"
	classInvalidAddress = "InvalidProtocolAddress"
)

// requestError is a request the driver refused without trying (class
// BadRequest) or an operation it does not implement (NotImplemented).
type requestError struct {
	class string
	msg   string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{class: classBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notImplemented(msg string) error {
	return &requestError{class: classNotImplemented, msg: msg}
}

// opError is a failure inside one of our e2ee functions, named in the
// answer's "operation" the way the oracle names libsignal's native function.
type opError struct {
	operation string
	err       error
}

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// inOp wraps a failure of the named e2ee function (nil stays nil).
func inOp(operation string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{operation: operation, err: err}
}

// invalidAddress is libsignal's error for a device id outside 1..127, which
// it raises as soon as an address is made.
func invalidAddress(name string, device uint64) error {
	return &opError{operation: "ProtocolAddress", err: fmt.Errorf("%w: protocol address is invalid: %s.%d", session.ErrInvalidAddress, name, device)}
}

// classOf maps an error to the class libsignal (through the oracle) reports
// for the same failure. Only the failures libsignal gives a code of their
// own are told apart; like the oracle everything else is LibSignalError.
func classOf(err error) string {
	var re *requestError
	switch {
	case errors.As(err, &re):
		return re.class
	case errors.Is(err, session.ErrDuplicate), errors.Is(err, senderkey.ErrDuplicate):
		return classDuplicated
	case errors.Is(err, session.ErrUntrustedIdentity):
		return classUntrusted
	case errors.Is(err, session.ErrInvalidAddress):
		return classInvalidAddress
	case errors.Is(err, sealedsender.ErrSelfSend):
		return classSelfSend
	case errors.Is(err, sealedsender.ErrInvalidRegistrationID):
		return classInvalidRegistrationID
	}
	return classGeneric
}
