package client

import (
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/types"
)

// Event is something a front end shows. The concrete types are below.
type Event interface{ event() }

// ConnState is the state of the connection to the server.
type ConnState uint8

// Connection states.
const (
	Disconnected ConnState = iota
	Connecting
	Connected
)

func (s ConnState) String() string {
	switch s {
	case Disconnected:
		return "disconnected"
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	}
	return "unknown"
}

// ConnectionEvent: the connection changed state. Synced is true once the
// server delivered everything queued before the connection. Err says why a
// connection ended; ErrDeviceGone and ErrReplaced end reconnecting.
type ConnectionEvent struct {
	State  ConnState
	Synced bool
	Err    error
}

// MessageEvent: a message was added to the history: received, sent by
// another device of this account, or sent here.
type MessageEvent struct{ Message Message }

// UpdateKind says what changed in an existing message.
type UpdateKind uint8

// Updates.
const (
	Edited UpdateKind = iota + 1
	DeletedForEveryone
	Reacted
	TimerChanged
	ReadElsewhere // read on another device of this account
)

// UpdateEvent: a stored message (or conversation, for TimerChanged) changed.
type UpdateEvent struct {
	Kind         UpdateKind
	Ref          clientstore.MessageRef
	Conversation clientstore.ConversationID
	By           types.Address
}

// ReceiptEvent: Recipient got (Delivered) or read (Read) our messages.
type ReceiptEvent struct {
	Recipient types.AccountID
	Status    clientstore.Status
	IDs       []types.MessageID
}

// SentEvent: the server accepted a message (for To and our other devices).
type SentEvent struct {
	ID types.MessageID
	To types.AccountID // zero for messages only to our own devices
}

// SendFailedEvent: the server refused a message for good (it will not be
// retried).
type SendFailedEvent struct {
	ID  types.MessageID
	To  types.AccountID
	Err error
}

// TypingEvent: a contact's device started or stopped typing.
type TypingEvent struct {
	From    types.Address
	Started bool
}

// IdentityChangedEvent: a device of Account has a new identity key. Sending
// to the account is blocked until AcknowledgeIdentity.
type IdentityChangedEvent struct {
	Account types.AccountID
	Device  types.DeviceID
}

// UndecryptableEvent: an envelope from From could not be decrypted or
// parsed; it was dropped (acknowledged) as it never will be.
type UndecryptableEvent struct {
	From types.Address
	Err  error
}

func (ConnectionEvent) event()      {}
func (MessageEvent) event()         {}
func (UpdateEvent) event()          {}
func (ReceiptEvent) event()         {}
func (SentEvent) event()            {}
func (SendFailedEvent) event()      {}
func (TypingEvent) event()          {}
func (IdentityChangedEvent) event() {}
func (UndecryptableEvent) event()   {}

// Events is the stream of events. It never blocks the client: events queue
// in memory until read. It is closed by Close.
func (c *Client) Events() <-chan Event { return c.events }

func (c *Client) emit(es ...Event) {
	if len(es) == 0 {
		return
	}
	c.evMu.Lock()
	c.evQueue = append(c.evQueue, es...)
	c.evMu.Unlock()
	select {
	case c.evSig <- struct{}{}:
	default:
	}
}

func (c *Client) pump() {
	defer close(c.pumped)
	defer close(c.events)
	for {
		c.evMu.Lock()
		q := c.evQueue
		c.evQueue = nil
		c.evMu.Unlock()
		for _, e := range q {
			select {
			case c.events <- e:
			case <-c.closing:
				return
			}
		}
		if len(q) == 0 {
			select {
			case <-c.evSig:
			case <-c.closing:
				return
			}
		}
	}
}
