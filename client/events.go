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

// SentEvent: the server accepted a message (for To and our other devices,
// or for every member device of Group).
type SentEvent struct {
	ID    types.MessageID
	To    types.AccountID // zero for messages only to our own devices, and to groups
	Group types.GroupID   // the group of a group message
}

// SendFailedEvent: the server refused a message for good (it will not be
// retried).
type SendFailedEvent struct {
	ID    types.MessageID
	To    types.AccountID
	Group types.GroupID
	Err   error
}

// TypingEvent: a contact's device started or stopped typing (in Group,
// when it is not zero).
type TypingEvent struct {
	From    types.Address
	Started bool
	Group   types.GroupID
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

// GroupEventKind says what changed in a group.
type GroupEventKind uint8

// Group changes.
const (
	GroupCreated GroupEventKind = iota + 1
	GroupMembersAdded
	GroupMembersRemoved
	GroupMemberLeft
	GroupMemberJoined // by invite link
	GroupAdminsChanged
	GroupAttributesChanged // name, description or picture
	GroupSettingsChanged   // announcement-only
	GroupInviteChanged     // an invite link made or revoked
)

func (k GroupEventKind) String() string {
	switch k {
	case GroupCreated:
		return "created"
	case GroupMembersAdded:
		return "members-added"
	case GroupMembersRemoved:
		return "members-removed"
	case GroupMemberLeft:
		return "member-left"
	case GroupMemberJoined:
		return "member-joined"
	case GroupAdminsChanged:
		return "admins-changed"
	case GroupAttributesChanged:
		return "attributes-changed"
	case GroupSettingsChanged:
		return "settings-changed"
	case GroupInviteChanged:
		return "invite-changed"
	}
	return "unknown"
}

// GroupEvent: a group changed (its verified log grew by the event Seq, by
// Actor), or, with Seq 0, its attributes could be opened now that the
// group secret arrived. A MessageEvent with the history line follows it.
// Client.Group tells the group as it is now (members, attributes, whether
// this account is still in it).
type GroupEvent struct {
	Group    types.GroupID
	Kind     GroupEventKind
	Seq      uint64
	Actor    types.Address
	Accounts []types.AccountID // added, removed, or whose admin flag changed
}

// GroupRejectedEvent: the server handed out a group event that does not
// verify (forged, reordered, or signed by a key the actor's device does not
// have). It was refused; the group stays as this device last verified it.
type GroupRejectedEvent struct {
	Group types.GroupID
	Err   error
}

func (GroupEvent) event()         {}
func (GroupRejectedEvent) event() {}

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
