-- v1 (compatible with v1+): initial schema
--
-- Conventions (README.md explains the design):
-- * sealed: AES-256-GCM under the store's data key, with the row's identity
--   (a label and the key columns) as additional data; the plaintext is a
--   protowire field list (codec.go) or, for records, e2ee's own encoding.
-- * *_hash: HMAC-SHA256 under a key derived from the data key, so equal
--   values can be looked up while the file does not name them.
-- * Times are unix milliseconds, 0 meaning never. They, counters and flags
--   are plain: SQL orders and filters on them.

-- The data key, wrapped by a KeyProtector. Exactly one row.
CREATE TABLE store_keys (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	protector  TEXT NOT NULL,   -- KeyProtector.Kind(), e.g. 'passphrase'
	wrapped    BLOB NOT NULL,   -- what the protector's Wrap returned
	created_at INTEGER NOT NULL,
	changed_at INTEGER NOT NULL
);

-- This device's account and keys. At most one row; everything sealed.
CREATE TABLE account (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	sealed BLOB NOT NULL
);

-- The identity key on record for each remote device (session.Address), with
-- the user's trust decision sealed beside it.
CREATE TABLE identities (
	addr_hash BLOB PRIMARY KEY,      -- hash(name, device)
	name_hash BLOB NOT NULL,         -- hash(name): all devices of an account
	device_id INTEGER NOT NULL,
	sealed    BLOB NOT NULL          -- key, trust, first seen, changed at
) WITHOUT ROWID;
CREATE INDEX identities_name ON identities (name_hash);

-- One Double Ratchet session record (session.Record) per remote device.
CREATE TABLE sessions (
	addr_hash BLOB PRIMARY KEY,
	name_hash BLOB NOT NULL,
	device_id INTEGER NOT NULL,
	sealed    BLOB NOT NULL          -- Record.MarshalBinary
) WITHOUT ROWID;
CREATE INDEX sessions_name ON sessions (name_hash);

-- Sender-key records (senderkey.Record) per sender device and distribution.
CREATE TABLE sender_keys (
	key_hash  BLOB PRIMARY KEY,      -- hash(name, device, distribution id)
	name_hash BLOB NOT NULL,
	sealed    BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX sender_keys_name ON sender_keys (name_hash);

-- Our prekeys. space: 1 one-time EC, 2 signed EC, 3 Kyber (one-time and
-- last resort share libsignal's Kyber id space). A key is current while
-- retired_at is 0; a retired one still works until the grace period ends.
CREATE TABLE prekeys (
	space        INTEGER NOT NULL,
	id           INTEGER NOT NULL,  -- 1 .. 2^24-1
	last_resort  INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,  -- the record's timestamp
	published_at INTEGER NOT NULL DEFAULT 0,
	retired_at   INTEGER NOT NULL DEFAULT 0,
	sealed       BLOB NOT NULL,     -- private key or Kyber seed, signature
	PRIMARY KEY (space, id)
) WITHOUT ROWID;
CREATE INDEX prekeys_unpublished ON prekeys (space, published_at, retired_at);

-- The next id to hand out in each prekey space (random start, wraps).
CREATE TABLE prekey_ids (
	space   INTEGER PRIMARY KEY,
	next_id INTEGER NOT NULL
);

-- Session starts seen on a last-resort Kyber key, refused when replayed.
CREATE TABLE kyber_uses (
	prekey_id        INTEGER NOT NULL,
	signed_prekey_id INTEGER NOT NULL,
	base_key_hash    BLOB NOT NULL,
	PRIMARY KEY (prekey_id, signed_prekey_id, base_key_hash)
) WITHOUT ROWID;

-- People we know. The trusted keys of their devices are in identities.
CREATE TABLE contacts (
	account_hash BLOB PRIMARY KEY,   -- hash(account id as the session name)
	phone_hash   BLOB UNIQUE,        -- hash(E.164 phone); NULL if unknown
	sealed       BLOB NOT NULL       -- account id, phone, display name
) WITHOUT ROWID;

-- Chats. Only direct chats so far; a group chat would be another peer_hash
-- label and a sealed group id.
CREATE TABLE conversations (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	peer_hash     BLOB NOT NULL UNIQUE,
	last_activity INTEGER NOT NULL DEFAULT 0,  -- newest message, for the chat list
	last_read_seq INTEGER NOT NULL DEFAULT 0,  -- messages up to here are read
	sealed        BLOB NOT NULL                -- peer account id, timer
);

-- Message history. seq orders a conversation (arrival order). A message is
-- named by its sender's account and the id the sender chose (ref_hash), so a
-- resend, or the copy synced to our other devices, is stored once.
CREATE TABLE messages (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	ref_hash        BLOB NOT NULL UNIQUE,        -- hash(sender account, message id)
	direction       INTEGER NOT NULL,            -- 1 incoming, 2 outgoing
	sent_at         INTEGER NOT NULL,
	received_at     INTEGER NOT NULL,
	edited_at       INTEGER NOT NULL DEFAULT 0,
	expires_at      INTEGER NOT NULL DEFAULT 0,  -- disappearing messages
	deleted         INTEGER NOT NULL DEFAULT 0,  -- deleted for everyone: content erased
	sealed          BLOB NOT NULL                -- id, sender, kind, content
);
CREATE INDEX messages_conversation ON messages (conversation_id, seq);
CREATE INDEX messages_expiry ON messages (expires_at) WHERE expires_at > 0;

-- Delivery state of an outgoing message, per recipient account; it only
-- moves forward (sent, delivered, read).
CREATE TABLE receipts (
	message_seq    INTEGER NOT NULL REFERENCES messages (seq) ON DELETE CASCADE,
	recipient_hash BLOB NOT NULL,
	status         INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	sealed         BLOB NOT NULL,    -- recipient account id
	PRIMARY KEY (message_seq, recipient_hash)
) WITHOUT ROWID;

-- One reaction per reacting account and message.
CREATE TABLE reactions (
	message_seq  INTEGER NOT NULL REFERENCES messages (seq) ON DELETE CASCADE,
	reactor_hash BLOB NOT NULL,
	reacted_at   INTEGER NOT NULL,
	sealed       BLOB NOT NULL,      -- reactor account id, emoji
	PRIMARY KEY (message_seq, reactor_hash)
) WITHOUT ROWID;

-- Sends the server has not accepted yet; a row goes when it does.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	sealed          BLOB NOT NULL    -- the client's payload
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
