// Package store declares what Parley's server keeps and how it asks for it:
// one small, context-first interface per domain, composed into Store. The
// one implementation, sqlstore, speaks SQLite (the embedded default) and
// PostgreSQL; storetest is the conformance suite both must pass.
//
// The server is a courier, not an archive: besides accounts, devices and
// their public keys it holds only opaque envelopes until they are acked.
package store

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/parley-im/parley/types"
)

// Errors every implementation returns, wrapped or not, so callers can use
// errors.Is.
var (
	ErrNotFound     = errors.New("store: not found")
	ErrConflict     = errors.New("store: already exists")
	ErrDeviceLimit  = errors.New("store: device limit reached")
	ErrMailboxFull  = errors.New("store: mailbox full")
	ErrCodeAttempts = errors.New("store: too many code attempts")
)

// Store is every concern together, as the server wires it.
type Store interface {
	Accounts
	Devices
	Codes
	RateLimits
	PreKeys
	Mailbox
	Privacy
	Groups
	Media
	Holders
	// Ping checks the database answers; /healthz uses it.
	Ping(ctx context.Context) error
	Close() error
}

// Visibility says who may see an account's last seen and online state.
type Visibility int

const (
	VisibleEveryone Visibility = iota
	VisibleContacts
	VisibleNobody
)

// Account is one registered phone number's account.
type Account struct {
	ID        types.AccountID
	Phone     string // E.164
	CreatedAt time.Time
	// LastSeen is when a device of the account was last connected; zero if never.
	LastSeen time.Time
}

// Device is one device of an account with its public keys. Secrets never
// reach the server: AuthKey is an Ed25519 public key that the device proves
// possession of on every connection.
type Device struct {
	Account        types.AccountID
	ID             types.DeviceID
	AuthKey        []byte // Ed25519 public key, 32 bytes
	IdentityKey    []byte // 0x05 ‖ 32 bytes
	RegistrationID uint32
	Name           []byte // opaque, encrypted by the client
	CreatedAt      time.Time
	LastSeen       time.Time
}

// Accounts keeps accounts. Creating, re-registering and deleting change
// devices too, atomically, so no half-made account is ever visible.
type Accounts interface {
	// CreateAccount stores a new account with its primary device (and that
	// device's signed and last-resort prekeys, when keys holds them).
	// ErrConflict if the phone number already has an account.
	CreateAccount(ctx context.Context, a Account, primary Device, keys PreKeySet) error
	Account(ctx context.Context, id types.AccountID) (Account, error)
	AccountByPhone(ctx context.Context, phone string) (Account, error)
	// ReplaceDevices removes every device of the account, with its prekeys and
	// mailbox, and installs primary (device 1) with its keys: a re-registration.
	ReplaceDevices(ctx context.Context, id types.AccountID, primary Device, keys PreKeySet) error
	// ChangePhone moves the account to a new number. ErrConflict if taken.
	ChangePhone(ctx context.Context, id types.AccountID, phone string) error
	// DeleteAccount removes the account and everything held for it: devices,
	// prekeys, queued envelopes, privacy settings and contact lists.
	DeleteAccount(ctx context.Context, id types.AccountID) error
}

// Devices keeps the devices of accounts.
type Devices interface {
	// AddDevice gives d the lowest free device id above 1 and stores it with
	// keys. ErrDeviceLimit if the account already has max devices in all.
	AddDevice(ctx context.Context, d Device, keys PreKeySet, max int) (types.DeviceID, error)
	Device(ctx context.Context, acct types.AccountID, dev types.DeviceID) (Device, error)
	// Devices lists an account's devices by id. ErrNotFound if the account has none.
	Devices(ctx context.Context, acct types.AccountID) ([]Device, error)
	// RemoveDevice deletes a device with its prekeys and mailbox.
	RemoveDevice(ctx context.Context, acct types.AccountID, dev types.DeviceID) error
}

// Holder is the connection that holds a device online: the node, and the
// connection on it. A node is one run of `parley serve`, with an id that is
// new at every start, so a restarted node is not taken for the one that died.
type Holder struct {
	Node string
	Conn string
	// Since is when the connection authenticated: of two connections of one
	// device, on one node or two, the later one holds it.
	Since time.Time
}

// Holders keeps which node holds each connected device, and the last seen
// times of devices and accounts, so that when a node dies the others can
// tell those watching its devices that they went offline, and when.
// Last seen times never move backwards: reports arriving out of order from
// several nodes or devices keep the latest.
type Holders interface {
	// DeviceOnline records that h holds a, unless a connection that
	// authenticated later holds it already, and moves the last seen of a
	// and its account to t. ErrNotFound if there is no such device.
	DeviceOnline(ctx context.Context, a types.Address, h Holder, t time.Time) error
	// DeviceOffline records that connection conn let a go at t: the last
	// seen of a and its account move to t, and conn no longer holds a (if
	// another connection holds it, that one stays). ErrNotFound if there is
	// no such device.
	DeviceOffline(ctx context.Context, a types.Address, conn string, t time.Time) error
	// ReleaseNode takes every device node holds away from it, moves their
	// last seen (and their accounts') to t, and returns them. Of several
	// callers releasing one node at once, each device goes to one only.
	// Once the devices are taken they are returned: a failure to move their
	// last seen after that is not an error.
	ReleaseNode(ctx context.Context, node string, t time.Time) ([]types.Address, error)
	// HolderNodes lists the nodes that hold a device.
	HolderNodes(ctx context.Context) ([]string, error)
	// HeldAccounts reports which of accts have a device that some node
	// holds: a question for the store, where asking the nodes over the bus
	// would wait out every stalled node's subscriptions.
	HeldAccounts(ctx context.Context, accts []types.AccountID) (map[types.AccountID]bool, error)
}

// CodePurpose separates codes so a registration code cannot link a device.
type CodePurpose int

const (
	PurposeRegister CodePurpose = iota + 1 // keyed by phone number
	PurposeLink                            // keyed by the link code's hash
)

// Code is a one-time code, stored only as a hash.
type Code struct {
	Purpose   CodePurpose
	Key       string // phone number, or the hex hash of a link code
	Hash      []byte // HMAC of the code
	Account   types.AccountID
	ExpiresAt time.Time
	Attempts  int
}

// Codes keeps one-time verification and link codes.
type Codes interface {
	// PutCode stores c, replacing any earlier code with the same purpose and key.
	PutCode(ctx context.Context, c Code) error
	// CheckCode counts one attempt on the code and returns it. It returns
	// ErrNotFound if there is none or it expired, and ErrCodeAttempts
	// (without counting) once maxAttempts attempts were made.
	CheckCode(ctx context.Context, p CodePurpose, key string, maxAttempts int, now time.Time) (Code, error)
	DeleteCode(ctx context.Context, p CodePurpose, key string) error
}

// RateLimits counts events in fixed windows, shared by every node.
type RateLimits interface {
	// Allow counts one event for key and reports whether it is within limit
	// events per window; if not, also how long until the window ends.
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// AllowN counts n events (n ≥ 1) at once, as Allow counts one: ok is
	// false if the count is then over limit. Refused events are counted
	// too, as with Allow.
	AllowN(ctx context.Context, key string, n, limit int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// PreKeyKind says what a prekey is for.
type PreKeyKind int

const (
	SignedEC        PreKeyKind = iota + 1 // one per device, replaced on rotation
	LastResortKyber                       // one per device, replaced on rotation
	OneTimeEC                             // many, each handed out once
	OneTimeKyber                          // many, each handed out once
)

// PreKey is one public prekey as its device uploaded it.
type PreKey struct {
	ID        uint32
	Public    []byte
	Signature []byte // empty for one-time EC prekeys
}

// PreKeySet is what a device uploads; nil and empty members leave the
// stored keys of that kind alone.
type PreKeySet struct {
	SignedEC        *PreKey
	LastResortKyber *PreKey
	OneTimeEC       []PreKey // replaces every unclaimed one-time EC prekey
	OneTimeKyber    []PreKey // replaces every unclaimed one-time Kyber prekey
}

// Bundle is what a sender needs to start a session with one device.
type Bundle struct {
	Device   Device
	SignedEC PreKey
	OneTime  *PreKey // nil when none was left
	Kyber    PreKey  // a one-time Kyber prekey, or the last-resort one
	// KyberLastResort is true when Kyber is the last-resort key.
	KyberLastResort bool
}

// PreKeys keeps the prekey directory.
type PreKeys interface {
	SetPreKeys(ctx context.Context, acct types.AccountID, dev types.DeviceID, keys PreKeySet) error
	// PreKeyCounts returns how many one-time EC and Kyber prekeys are left.
	PreKeyCounts(ctx context.Context, acct types.AccountID, dev types.DeviceID) (ec, kyber int, err error)
	// ClaimBundle returns the device's bundle and removes the one-time keys
	// it hands out, atomically: no key is ever handed out twice, also with
	// many callers on many nodes at once. ErrNotFound if the device does not
	// exist or has no signed prekey.
	ClaimBundle(ctx context.Context, acct types.AccountID, dev types.DeviceID) (Bundle, error)
}

// Envelope is an opaque message for one device, as stored.
type Envelope struct {
	ID         uint64 // assigned by the store, increasing per store
	Account    types.AccountID
	Device     types.DeviceID
	MessageID  types.MessageID
	Sender     types.Address
	Type       uint32
	Content    []byte
	ClientTime time.Time
	ServerTime time.Time
	ExpiresAt  time.Time
	// Group is set on envelopes a device gets as a member of this group
	// (a Fanout).
	Group types.GroupID
}

// Append is one accepted Send: one envelope per destination device, stored
// all or nothing. Or, with Fanout set, one group message (SendGroup) or
// group event for many devices; Destination and Envelopes are then unused.
type Append struct {
	Sender      types.Address
	MessageID   types.MessageID
	Destination types.AccountID
	Envelopes   []Envelope // IDs are set by the store
	Fanout      *Fanout

	// Set by Mailbox.Append:
	Duplicate   bool             // the sender already sent this message id to this destination
	FullDevices []types.DeviceID // with Err == ErrMailboxFull
	Err         error
}

// Fanout is one envelope for every device of some accounts, stored once:
// one payload and one small delivery row per device, never a copy of the
// payload per device. Fetch shows each device its delivery as an ordinary
// Envelope (with Group set); acking deletes the delivery, and the payload
// goes with its last delivery (or at its ExpiresAt).
type Fanout struct {
	Group types.GroupID
	// Seq, when not zero, is the group head at which Accounts were read:
	// the Append fails with ErrConflict if the head moved meanwhile (and
	// ErrNotFound if there is no such group), so nothing reaches a member
	// removed before the commit.
	Seq uint64
	// Every device of these accounts gets the envelope, except Except (the
	// sending device). Devices are those in the store at the commit.
	Accounts []types.AccountID
	Except   types.Address
	// Envelope is the payload; its Account, Device, ID and Group are unused.
	Envelope Envelope

	// Set by the store when the Append is stored:
	Deliveries []Delivery
	// Full lists devices left out because their queue was at the limit: a
	// group message is not refused because one of many devices is full.
	Full []types.Address
}

// Delivery is one device's copy of a Fanout, by its envelope id.
type Delivery struct {
	To types.Address
	ID uint64
}

// Deletion is one device's acked envelopes.
type Deletion struct {
	Account types.AccountID
	Device  types.DeviceID
	IDs     []uint64
}

// Mailbox keeps envelopes until their device acks them.
type Mailbox interface {
	// Append stores every Append of the batch in one transaction, each one
	// all or nothing: a duplicate (same sender, message id and destination
	// less than dedupWindow ago) is marked Duplicate and stores nothing; one that
	// would put a device above maxQueue envelopes gets Err = ErrMailboxFull.
	// A Fanout's duplicate key is (sender, message id, group); it skips
	// full devices rather than failing (see Fanout.Full), and a Fanout
	// without a sender (a group event) is never a duplicate.
	// The returned error is for the batch as a whole (nothing stored).
	// Each device's envelopes get increasing ids in batch order, and
	// batches committed later get higher ids.
	Append(ctx context.Context, batch []*Append, maxQueue int, dedupWindow time.Duration, now time.Time) error
	// Fetch returns up to limit envelopes of the device with ID > after,
	// in ID order.
	Fetch(ctx context.Context, acct types.AccountID, dev types.DeviceID, after uint64, limit int) ([]Envelope, error)
	// DeleteEnvelopes removes the device's envelopes with these ids, in one
	// transaction; ids of other devices are left alone. It returns how many
	// were removed.
	DeleteEnvelopes(ctx context.Context, acct types.AccountID, dev types.DeviceID, ids []uint64) (int, error)
	// DeleteBatch removes the envelopes of every Deletion in one
	// transaction, with DeleteEnvelopes' rules for each, and returns how many
	// were removed in all.
	DeleteBatch(ctx context.Context, dels []Deletion) (int, error)
	// QueueLength is how many envelopes wait for the device.
	QueueLength(ctx context.Context, acct types.AccountID, dev types.DeviceID) (int, error)
	// Expire removes up to limit envelopes that expired before now, and
	// expired dedup records and Fanout payloads; it returns how many
	// envelopes it removed.
	Expire(ctx context.Context, now time.Time, limit int) (int, error)
}

// PrivacySettings is what an account shares about its presence.
type PrivacySettings struct {
	LastSeen Visibility
	Contacts []types.AccountID // who counts as a contact for VisibleContacts
}

// Privacy keeps presence privacy settings.
type Privacy interface {
	// PrivacySettings returns the account's settings; the default (everyone,
	// no contacts) for an account that never set any.
	PrivacySettings(ctx context.Context, acct types.AccountID) (PrivacySettings, error)
	// SetVisibility changes who sees the last seen.
	SetVisibility(ctx context.Context, acct types.AccountID, v Visibility) error
	// SetContacts replaces the account's contact list.
	SetContacts(ctx context.Context, acct types.AccountID, contacts []types.AccountID) error
	// IsContact reports whether owner lists other as a contact.
	IsContact(ctx context.Context, owner, other types.AccountID) (bool, error)
}

// GroupMember is one member of a group as its log says.
type GroupMember struct {
	Account types.AccountID
	Admin   bool
	Since   uint64 // the seq of the event that added it
}

// Group is a group's current state: what its event log adds up to, kept
// so that the server never replays the log to answer a request. The
// store keeps it as given; e2ee/grouplog decides what it is.
type Group struct {
	ID               types.GroupID
	Seq              uint64 // of the newest event
	Head             []byte // SHA-256 of the newest event
	AnnouncementOnly bool
	InviteHash       []byte // empty: no invite link
	SealedAttributes []byte
	AttributesSeq    uint64
	Members          []GroupMember // sorted by account
}

// GroupChange is one event appended to a group's log with the state it
// leads to.
type GroupChange struct {
	// Prev is the seq of the head the event follows: 0 creates the group.
	Prev  uint64
	Next  Group  // the state after the event; Next.Seq is Prev+1
	Event []byte // the serialized event, at Next.Seq
	// Notify, if set, is the event's envelope (Fanout.Seq unused), stored
	// in the same transaction, so that each device gets the group's events
	// in log order and never an event that was not appended.
	Notify *Append
}

// GroupEvent is one stored event of a group's log.
type GroupEvent struct {
	Seq uint64
	Raw []byte
}

// GroupSummary is one group an account is a member of.
type GroupSummary struct {
	ID  types.GroupID
	Seq uint64
}

// GroupDevices is a group's membership with every member's devices, as of
// one head, read at once.
type GroupDevices struct {
	Seq uint64
	// DevicesGen changes whenever a member's devices do; with Seq it says
	// whether a copy of this is still current (GroupVersion).
	DevicesGen       uint64
	AnnouncementOnly bool
	Members          []GroupMember // sorted by account
	// Devices of the members, by account and device id; only Account, ID,
	// RegistrationID and IdentityKey are set.
	Devices []Device
}

// Groups keeps group logs and their current state.
type Groups interface {
	// AppendGroupEvent stores ch atomically: the event at Prev+1, the new
	// state, and the notice if any. ErrConflict if the head is not at Prev
	// (for Prev 0: the group exists), also when several callers on several
	// nodes append at once; ErrNotFound for Prev > 0 and no such group.
	// maxQueue bounds the notice's devices as in Append.
	AppendGroupEvent(ctx context.Context, ch *GroupChange, maxQueue int, now time.Time) error
	// Group returns the current state, or ErrNotFound.
	Group(ctx context.Context, id types.GroupID) (Group, error)
	// GroupEvents returns the events with seq > after in order, stopping
	// before the one that would take the total of Raw above maxBytes (but
	// returning at least one). ErrNotFound if there is no such group.
	GroupEvents(ctx context.Context, id types.GroupID, after uint64, maxBytes int) ([]GroupEvent, error)
	// GroupDevices returns the members and their devices, or ErrNotFound.
	GroupDevices(ctx context.Context, id types.GroupID) (GroupDevices, error)
	// GroupVersion returns the group's head seq and devices generation:
	// a GroupDevices with both equal is current. ErrNotFound if no group.
	GroupVersion(ctx context.Context, id types.GroupID) (seq, devicesGen uint64, err error)
	// GroupsOf lists the groups acct is a member of, by group id.
	GroupsOf(ctx context.Context, acct types.AccountID) ([]GroupSummary, error)
}

// MediaID names a media blob: 16 random bytes chosen by the server.
type MediaID [16]byte

// String is the id as 32 lowercase hex digits, as in URLs and blob names.
func (id MediaID) String() string { return hex.EncodeToString(id[:]) }

// Upload is one media blob as the server keeps track of it: its upload
// while it is in progress, then the devices that fetched it.
type Upload struct {
	ID        MediaID
	Owner     types.Address // the device that uploads it
	Size      int64         // bytes of the (encrypted) blob
	SHA256    []byte        // of the whole blob, checked on completion
	ChunkSize int64         // every chunk but the last has this many bytes
	// Committed is how many bytes are stored: whole chunks, or Size once
	// the upload is complete.
	Committed int64
	// Downloads is the number of distinct devices after whose complete
	// download the blob goes; 0 keeps it until it expires.
	Downloads int
	// Fetched is how many distinct devices fetched it to the end.
	Fetched   int
	CreatedAt time.Time
	// ExpiresAt is when the blob goes regardless: the end of the upload
	// window while incomplete, completion plus the TTL after.
	ExpiresAt time.Time
	// DoneAt is when Fetched reached Downloads; zero before.
	DoneAt time.Time
}

// Complete reports whether every byte was uploaded.
func (u Upload) Complete() bool { return u.Committed == u.Size }

// Media keeps track of media blobs; the bytes themselves are in a blob store.
type Media interface {
	// CreateUpload stores u as a new upload with nothing committed.
	// ErrConflict if its id is taken.
	CreateUpload(ctx context.Context, u Upload) error
	// Upload returns the upload. ErrNotFound if there is none.
	Upload(ctx context.Context, id MediaID) (Upload, error)
	// CommitUpload moves Committed from `from` to `to`, only if it is still
	// `from`; when to is the size, the upload is complete and ExpiresAt
	// becomes expires. It returns the upload as it is then: with
	// ErrConflict if Committed was not from (two writers of one offset, or
	// a client that lost track), ErrNotFound if there is no such upload.
	CommitUpload(ctx context.Context, id MediaID, from, to int64, expires time.Time) (Upload, error)
	// RecordDownload notes that device dev fetched the blob to the end and
	// returns the upload as it is then. Each device counts once; when
	// Fetched reaches a non-zero Downloads, DoneAt becomes now.
	// ErrNotFound if there is no such upload.
	RecordDownload(ctx context.Context, id MediaID, dev types.Address, now time.Time) (Upload, error)
	// DueUploads returns up to limit uploads to delete at now: expired
	// (ExpiresAt ≤ now), or fetched by all their devices at least grace
	// before now.
	DueUploads(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]Upload, error)
	// DeleteUpload removes the upload and its download records; one that
	// is gone already is not an error.
	DeleteUpload(ctx context.Context, id MediaID) error
	// MediaKey returns the key that signs media tokens on every node: the
	// stored one, or candidate, which is stored if there is none yet.
	MediaKey(ctx context.Context, candidate []byte) ([]byte, error)
}
