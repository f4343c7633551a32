// Package client is Parley's Go SDK: the one implementation of a Parley
// device that the command line, the terminal UI, the web client's tests and
// bots sit on. It registers a device, keeps its prekeys published, keeps a
// connection to the server (reconnecting with back-off), encrypts every
// message once per device of the recipient and once per other device of
// the sender, decrypts what arrives, keeps the history in the encrypted
// local store (client/clientstore) and tells the front end what happened
// through one stream of events.
//
// # Guarantees
//
//   - A message is written to the local outbox, in the same transaction as
//     the history entry, before Send returns; it leaves the outbox only once
//     the server has accepted it. A crash, a closed client or a lost network
//     loses nothing: the next connection sends it again with the same
//     message id, which the server and the receivers deduplicate.
//   - A received envelope is acknowledged to the server only after it was
//     decrypted and stored in one transaction, so a crash in between makes
//     the server deliver it again, and the store shows it once.
//   - A contact's changed identity key blocks sending to that contact
//     (IdentityChangedError) until AcknowledgeIdentity.
//
// # Lifecycle
//
//	c, _ := client.Open(ctx, dir, client.Options{Protector: clientstore.Passphrase(p)})
//	c.Register(ctx, serverURL, phone, code) // once per profile
//	c.Connect()                            // background: connect, receive, send the outbox
//	for e := range c.Events() { ... }
//	c.Close()
//
// Linking a device (the QR code flow): the new device calls StartLink and
// shows PendingLink.URI, the primary ApproveLink with it, and the new
// device's PendingLink.Wait returns once it is linked (link.go explains the
// protocol). Devices and RemoveDevice manage the linked devices.
//
// Groups (groups.go explains the design): CreateGroup, AddMembers,
// RemoveMembers, Leave, SetGroupAttributes, SetAdmins, SetAnnouncementOnly
// and invite links change a group through its signed log, which every
// member verifies; SendGroup sends to it through the outbox, as Send does
// to an account; Groups and Group tell a group as this device verified it.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Sentinel errors.
var (
	// ErrInvalid: an argument is malformed; nothing changed.
	ErrInvalid = errors.New("client: invalid argument")
	// ErrNotRegistered: the profile has no registered device yet.
	ErrNotRegistered = errors.New("client: not registered")
	// ErrRegistered: the profile already has a registered device.
	ErrRegistered = errors.New("client: already registered")
	// ErrNotConnected: the call needs a live connection (typing).
	ErrNotConnected = errors.New("client: not connected")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrIdentityChanged: a contact's identity key changed and the user has
	// not acknowledged it; IdentityChangedError wraps it.
	ErrIdentityChanged = errors.New("client: contact's identity key changed")
	// ErrUnknownPhone: nobody registered this phone number (LookupPhone).
	ErrUnknownPhone = errors.New("client: nobody has this phone number")
	// ErrUnknownContact is the earlier name of ErrUnknownPhone.
	ErrUnknownContact = ErrUnknownPhone
	// ErrDeviceGone: the server removed this device (unlinked, or the
	// account re-registered elsewhere or was deleted). The profile is dead.
	ErrDeviceGone = errors.New("client: device removed by the server")
	// ErrReplaced: another instance of this device connected; this one
	// does not reconnect.
	ErrReplaced = errors.New("client: replaced by another connection of this device")
)

// IdentityChangedError says which devices of Account have a changed,
// unacknowledged identity key. errors.Is(err, ErrIdentityChanged) holds.
type IdentityChangedError struct {
	Account types.AccountID
	Devices []types.DeviceID
}

func (e *IdentityChangedError) Error() string {
	return fmt.Sprintf("client: identity key of %s changed (devices %v); acknowledge it to send", e.Account, e.Devices)
}

// Is makes errors.Is(err, ErrIdentityChanged) true.
func (e *IdentityChangedError) Is(target error) bool { return target == ErrIdentityChanged }

// Options configure a Client. The zero value works, except that Open needs
// a Protector.
type Options struct {
	// Protector unlocks the profile's store (Open only).
	Protector clientstore.KeyProtector
	// Logger receives ids and errors, never content, keys or numbers. Nil
	// discards.
	Logger *slog.Logger
	// UserAgent is sent in Hello. Default "parley-go".
	UserAgent string
	// HTTPClient dials the WebSocket. Default http.DefaultClient.
	HTTPClient *http.Client
	// MinBackoff and MaxBackoff bound the reconnect and resend delays.
	// Defaults 250 ms and 30 s; each delay is jittered.
	MinBackoff, MaxBackoff time.Duration
	// PreKeyBatch is how many one-time prekeys of each kind are uploaded at
	// once. Default 50 (a batch of Kyber keys is about 85 KB).
	PreKeyBatch int
	// PreKeyLow: replenish when fewer one-time keys of a kind are left on
	// the server. Default 10, the server's own threshold.
	PreKeyLow int
	// SignedPreKeyAge is when the signed and last-resort keys are rotated.
	// Default 7 days.
	SignedPreKeyAge time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// TempDir is where media blobs are staged while they are uploaded and
	// downloaded (encrypted; removed afterwards). Default os.TempDir().
	TempDir string
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UserAgent == "" {
		o.UserAgent = "parley-go"
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(30*time.Second, o.MinBackoff)
	}
	if o.PreKeyBatch <= 0 {
		o.PreKeyBatch = 50
	}
	if o.PreKeyBatch > clientstore.MaxPreKeyBatch {
		o.PreKeyBatch = clientstore.MaxPreKeyBatch
	}
	if o.PreKeyLow <= 0 {
		o.PreKeyLow = 10
	}
	if o.SignedPreKeyAge <= 0 {
		o.SignedPreKeyAge = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// DatabaseFile is the store's file name inside a profile directory.
const DatabaseFile = "parley.db"

// Client is one device of one account. Its methods are safe for concurrent
// use.
type Client struct {
	st        *clientstore.Store
	ownsStore bool
	o         Options
	log       *slog.Logger

	// crypto serialises every session operation (e2ee/session requires it
	// per address; one lock is simplest and cheap at a device's rates).
	crypto sync.Mutex
	// groupMu serialises changes of group state (applying events, sending
	// to a group). It is taken before crypto, never while holding it.
	groupMu sync.Mutex
	// replenishMu serialises prekey uploads.
	replenishMu sync.Mutex

	mu     sync.Mutex
	acct   clientstore.Account
	conn   *transport.Conn // current connection, nil when down
	state  ConnState
	synced bool // the server said QueueEmpty on this connection
	// lastSentMs is the sent time of the last message made (nextSentMs).
	lastSentMs int64
	runCancel  context.CancelFunc
	runDone    chan struct{}
	closed     bool
	fatal      error
	pending    map[types.MessageID]bool // message ids in the outbox
	changed    chan struct{}            // closed and replaced when pending or state changes
	blocked    map[int64]types.AccountID
	claims     map[types.AccountID]claimState // phone numbers the directory did not confirm
	// gdevs caches each group's member devices (GetGroupDevices) for the
	// seq they belong to.
	gdevs map[types.GroupID]*wirepb.GroupDevicesResult

	kick chan struct{} // wakes the sender

	evMu    sync.Mutex
	evQueue []Event
	evSig   chan struct{}
	events  chan Event
	closing chan struct{}
	pumped  chan struct{}

	hook testHooks
}

// testHooks lets tests simulate crashes at the worst moments.
type testHooks struct {
	// afterAccept runs when the server accepted an outbox item, before it
	// is removed; returning true skips the removal (a crash just then).
	afterAccept func(types.MessageID) bool
	// beforeAck runs before envelopes are acknowledged; returning true
	// skips the ack (a crash just after storing).
	beforeAck func() bool
	// groupSent sees each SenderKeyMessage sent to a group.
	groupSent func(types.GroupID, []byte)
	// afterEncrypt runs once a message is encrypted for addr, before it is
	// sent, with the crypto lock held (whatever else may happen then).
	afterEncrypt func(addr session.Address)
}

// Open opens (or creates) the profile in dir: its store is dir/parley.db,
// unlocked with o.Protector.
func Open(ctx context.Context, dir string, o Options) (*Client, error) {
	if o.Protector == nil {
		return nil, fmt.Errorf("%w: no key protector", ErrInvalid)
	}
	st, err := clientstore.Open(ctx, filepath.Join(dir, DatabaseFile), o.Protector, &clientstore.Options{Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	c, err := New(ctx, st, o)
	if err != nil {
		st.Close()
		return nil, err
	}
	c.ownsStore = true
	return c, nil
}

// New makes a client on an open store, which the caller keeps and closes
// after the client.
func New(ctx context.Context, st *clientstore.Store, o Options) (*Client, error) {
	o.defaults()
	c := &Client{
		st: st, o: o, log: o.Logger.With("component", "client"),
		pending: make(map[types.MessageID]bool), changed: make(chan struct{}), blocked: make(map[int64]types.AccountID), claims: make(map[types.AccountID]claimState),
		kick: make(chan struct{}, 1), evSig: make(chan struct{}, 1), events: make(chan Event, 64),
		closing: make(chan struct{}), pumped: make(chan struct{}),
	}
	acct, err := st.Account(ctx)
	switch {
	case errors.Is(err, clientstore.ErrNoAccount):
	case err != nil:
		return nil, err
	default:
		c.acct = acct
	}
	items, err := st.DueOutbox(ctx, time.Unix(1<<40, 0), 1<<20)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		p, err := decodeOutbox(it.Payload)
		if err != nil {
			c.log.Warn("undecodable outbox item dropped", "outbox_id", it.ID, "err", err)
			_ = st.RemoveOutbox(ctx, it.ID)
			continue
		}
		c.pending[p.ID] = true
	}
	go c.pump()
	return c, nil
}

// Store is the client's store, for front ends that read history and
// contacts directly. Write through the client, not the store.
func (c *Client) Store() *clientstore.Store { return c.st }

// Account returns this device's account (zero ID until registered).
func (c *Client) Account() clientstore.Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acct
}

func (c *Client) account() (clientstore.Account, error) {
	a := c.Account()
	if a.ID.IsZero() || a.Device == 0 {
		return a, ErrNotRegistered
	}
	return a, nil
}

// Close stops the connection and the sender without waiting for anything
// to be sent (the outbox keeps it for the next Open), then closes the
// store if Open opened it.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cancel, done := c.runCancel, c.runDone
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	close(c.closing)
	<-c.pumped
	if c.ownsStore {
		return c.st.Close()
	}
	return nil
}

// notify wakes everyone waiting for a change of pending sends or state.
// Call with c.mu held.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitFor blocks until cond (called with c.mu held) is true.
func (c *Client) waitFor(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		if cond() {
			c.mu.Unlock()
			return nil
		}
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		if c.fatal != nil {
			err := c.fatal
			c.mu.Unlock()
			return err
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitSent blocks until the server has accepted message id (at once if it
// is not waiting in the outbox).
func (c *Client) WaitSent(ctx context.Context, id types.MessageID) error {
	return c.waitFor(ctx, func() bool { return !c.pending[id] })
}

// WaitIdle blocks until the client is connected, the server has delivered
// everything that was queued for it, and the outbox is empty.
func (c *Client) WaitIdle(ctx context.Context) error {
	return c.waitFor(ctx, func() bool { return c.synced && c.state == Connected && len(c.pending) == 0 })
}

// WaitSynced blocks until the client is connected and the server has
// delivered everything that was queued for it (whatever the outbox holds).
func (c *Client) WaitSynced(ctx context.Context) error {
	return c.waitFor(ctx, func() bool { return c.synced && c.state == Connected })
}

// Pending returns how many sends wait for the server.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

func (c *Client) wakeSender() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// stores is the session.Stores of the account.
func (c *Client) stores() session.Stores {
	a := c.Account()
	return session.Stores{Local: a.Address(), Identity: c.st, Sessions: c.st, PreKeys: c.st, SignedPreKeys: c.st, KyberPreKeys: c.st}
}

func sessionAddr(a types.AccountID, d types.DeviceID) session.Address {
	return session.Address{Name: a.String(), DeviceID: uint32(d)}
}
