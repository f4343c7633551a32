-- v1 (compatible with v1+): initial schema
--
-- One file serves both dialects: {{BLOB}} is BLOB on SQLite and BYTEA on
-- PostgreSQL, {{ID}} an increasing BIGINT key that is never reused. Times are
-- unix milliseconds, 0 meaning never. Tables are created unqualified so that
-- a PostgreSQL search_path picks the schema.

CREATE TABLE accounts (
	id         {{BLOB}} PRIMARY KEY,
	phone      TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX accounts_phone_key ON accounts (phone);

CREATE TABLE devices (
	account_id      {{BLOB}} NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	device_id       BIGINT NOT NULL,
	auth_key        {{BLOB}} NOT NULL,
	identity_key    {{BLOB}} NOT NULL,
	registration_id BIGINT NOT NULL,
	name            {{BLOB}},
	created_at      BIGINT NOT NULL,
	last_seen       BIGINT NOT NULL DEFAULT 0,
	-- queued is the number of mailbox_envelopes rows of the device, kept in
	-- the same transactions, so Append checks the queue limit without
	-- counting; the row is also the lock that orders a device's envelopes.
	queued          BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, device_id)
);

-- kind is a store.PreKeyKind: 1 signed EC, 2 last-resort Kyber (one of each
-- per device), 3 one-time EC, 4 one-time Kyber.
CREATE TABLE prekeys (
	account_id {{BLOB}} NOT NULL,
	device_id  BIGINT NOT NULL,
	kind       INTEGER NOT NULL,
	key_id     BIGINT NOT NULL,
	public_key {{BLOB}} NOT NULL,
	signature  {{BLOB}},
	PRIMARY KEY (account_id, device_id, kind, key_id),
	FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);

CREATE TABLE mailbox_envelopes (
	id             {{ID}},
	account_id     {{BLOB}} NOT NULL,
	device_id      BIGINT NOT NULL,
	message_id     {{BLOB}} NOT NULL,
	sender_account {{BLOB}} NOT NULL,
	sender_device  BIGINT NOT NULL,
	type           BIGINT NOT NULL,
	content        {{BLOB}} NOT NULL,
	client_time    BIGINT NOT NULL,
	server_time    BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);
CREATE INDEX mailbox_envelopes_device_idx ON mailbox_envelopes (account_id, device_id, id);
CREATE INDEX mailbox_envelopes_expires_idx ON mailbox_envelopes (expires_at) WHERE expires_at > 0;

-- One row per accepted (sender, message id, destination) until expires_at,
-- so a resent message is stored once.
CREATE TABLE mailbox_dedup (
	sender_account {{BLOB}} NOT NULL,
	sender_device  BIGINT NOT NULL,
	message_id     {{BLOB}} NOT NULL,
	destination    {{BLOB}} NOT NULL,
	expires_at     BIGINT NOT NULL,
	PRIMARY KEY (sender_account, sender_device, message_id, destination)
);
CREATE INDEX mailbox_dedup_expires_idx ON mailbox_dedup (expires_at);
CREATE INDEX mailbox_dedup_destination_idx ON mailbox_dedup (destination);

-- purpose is a store.CodePurpose; account_id is NULL when the code has none.
CREATE TABLE codes (
	purpose    INTEGER NOT NULL,
	code_key   TEXT NOT NULL,
	hash       {{BLOB}} NOT NULL,
	account_id {{BLOB}},
	expires_at BIGINT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (purpose, code_key)
);
CREATE INDEX codes_account_idx ON codes (account_id);
CREATE INDEX codes_expires_idx ON codes (expires_at);

CREATE TABLE rate_limits (
	rate_key   TEXT PRIMARY KEY,
	window_end BIGINT NOT NULL,
	events     BIGINT NOT NULL
);
CREATE INDEX rate_limits_window_end_idx ON rate_limits (window_end);

-- last_seen is a store.Visibility.
CREATE TABLE privacy_settings (
	account_id {{BLOB}} PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	last_seen  INTEGER NOT NULL
);

-- contact has no foreign key: a contact may be deleted, or not yet registered.
CREATE TABLE privacy_contacts (
	owner   {{BLOB}} NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	contact {{BLOB}} NOT NULL,
	PRIMARY KEY (owner, contact)
);
