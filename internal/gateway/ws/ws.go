// Package ws is the server side of RFC 6455 WebSockets for the gateway,
// built so that an idle connection holds no buffers.
//
// Memory model. A node must hold about a million idle connections at a few
// KB each, so an idle Conn owns only its socket and a small struct (about
// 200 bytes; see TestConnSize): no read or write buffer, no timer, no
// goroutine, no channel. Buffers are borrowed per message:
//
//   - Wait blocks until the peer sends something, holding no buffer. On a
//     plain socket it parks in the runtime poller through RawConn.Read; its
//     readiness check is a non-blocking read into a pooled buffer that goes
//     straight back to the pool when nothing came, so a wake-up costs one
//     read and the parked goroutine holds nothing but its stack, whose
//     call path fits the smallest (2 KiB) one. Elsewhere (TLS) it reads
//     one byte into the Conn. An epoll loop can instead use SyscallConn and
//     call ReadMessage when the socket is readable.
//
// A goroutine's stack never shrinks below 4 KiB once it grew (the runtime
// halves a stack only while less than a quarter is in use, and the poller
// path is deeper than that), and new goroutines start at the average stack
// size seen at the last GC unless GODEBUG=adaptivestackstart=0. A waiter
// that keeps 2 KiB must therefore be a fresh goroutine, started with that
// setting, that does no deep work of its own: hand messages to another
// goroutine, or start a new waiter after handling them.
//   - ReadMessage borrows a read buffer from a pool (4 KiB, larger size
//     classes for larger messages), unmasks and reassembles the message in
//     place, and returns a slice of it. Release gives the buffer back once
//     nothing is pending in it.
//   - Write tries one non-blocking writev of header and payload with no
//     deadline armed; only a frame the socket cannot take at once gets a
//     write deadline, which is cleared afterwards, because an armed deadline
//     is a runtime timer that would fire later on every idle connection.
//   - A read deadline (ReadTimeout) is armed only once part of a message has
//     arrived and is cleared when the message is complete.
//
// One goroutine at a time may call Wait, ReadMessage and Release; Write,
// Ping, Close and CloseNow may be called from any goroutine.
//
// Closing. Close sends a close frame and returns at once; the TCP
// connection is dropped when the reader sees the peer's close frame or
// after CloseTimeout, whichever is first. A peer's close frame is answered
// by ReadMessage, which drops the connection and returns a CloseError.
// No compression, no subprotocols, no origin check.
package ws

import (
	"errors"
	"fmt"
	"time"
)

// StatusCode is a close code (RFC 6455 section 7.4).
type StatusCode int

// Close codes.
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusRcvd            StatusCode = 1005 // never sent; the peer's close frame had no code
	StatusAbnormalClosure         StatusCode = 1006 // never sent
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusInternalError           StatusCode = 1011
)

// validCloseCode reports whether a close frame may carry code: the
// registered codes that are not reserved for local use, and the ranges for
// libraries (3000-3999) and applications (4000-4999).
func validCloseCode(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// CloseError is returned by ReadMessage when the peer closed the
// connection with a close frame.
type CloseError struct {
	Code   StatusCode // StatusNoStatusRcvd if the frame had no code
	Reason string
}

func (e CloseError) Error() string {
	return fmt.Sprintf("ws: peer closed: status %d, reason %q", int(e.Code), e.Reason)
}

// MessageType is the kind of a data message.
type MessageType int

// Message types, numbered as their opcodes.
const (
	MessageText   MessageType = 1
	MessageBinary MessageType = 2
)

var (
	// ErrClosed is returned when the Conn is used after Close or CloseNow
	// (or after the connection was dropped).
	ErrClosed = errors.New("ws: connection closed")
	// ErrProtocol: the peer broke RFC 6455 (close code 1002).
	ErrProtocol = errors.New("ws: protocol error")
	// ErrInvalidData: a text message or close reason is not valid UTF-8
	// (close code 1007).
	ErrInvalidData = errors.New("ws: invalid UTF-8")
	// ErrMessageTooBig: a message exceeded MaxMessageBytes (close code 1009).
	ErrMessageTooBig = errors.New("ws: message too big")
	// ErrReadTimeout: a message was not complete within ReadTimeout of its
	// first byte (close code 1008).
	ErrReadTimeout = errors.New("ws: message not completed in time")
	// ErrWriteTimeout: a frame could not be written within WriteTimeout.
	ErrWriteTimeout = errors.New("ws: write timed out")
)

// ProtocolError is returned by ReadMessage when the connection failed
// because of the peer; Code is the close code sent to it. It unwraps to
// ErrProtocol, ErrInvalidData, ErrMessageTooBig or ErrReadTimeout.
type ProtocolError struct {
	Code   StatusCode
	Err    error
	Detail string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%v: %s (close %d)", e.Err, e.Detail, int(e.Code))
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// CloseStatus returns the close code carried by err: the peer's code for a
// CloseError, the code we sent for a ProtocolError, and -1 otherwise.
func CloseStatus(err error) StatusCode {
	var ce CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return -1
}

// Options configure a Conn; zero fields take their defaults.
type Options struct {
	// MaxMessageBytes bounds a message after reassembling its fragments;
	// a larger one fails the connection with close 1009. Default 256 KiB.
	MaxMessageBytes int
	// WriteTimeout bounds writing a frame the socket cannot take at once;
	// on expiry the connection is dropped. Default 10s.
	WriteTimeout time.Duration
	// ReadTimeout bounds reading the rest of a message once its first byte
	// arrived (slowloris). There is no deadline while idle. Default 30s.
	ReadTimeout time.Duration
	// CloseTimeout is how long after sending a close frame we wait for the
	// peer's before dropping the connection. Default 5s.
	CloseTimeout time.Duration
}

const (
	defaultMaxMessageBytes = 256 << 10
	defaultWriteTimeout    = 10 * time.Second
	defaultReadTimeout     = 30 * time.Second
	defaultCloseTimeout    = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = defaultMaxMessageBytes
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = defaultReadTimeout
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = defaultCloseTimeout
	}
	return o
}
