-- v2 (compatible with v1+): groups, and envelopes stored once for many devices
--
-- A group is a log of signed events (group_events) and the state the log
-- adds up to (group_heads, group_members), kept beside it so that no request
-- replays the log. Flags are INTEGER 0/1; times unix milliseconds.

CREATE TABLE group_heads (
	group_id          {{BLOB}} PRIMARY KEY,
	seq               BIGINT NOT NULL,
	head              {{BLOB}} NOT NULL,
	announcement_only INTEGER NOT NULL,
	invite_hash       {{BLOB}} NOT NULL,
	sealed_attributes {{BLOB}} NOT NULL,
	attributes_seq    BIGINT NOT NULL,
	-- devices_gen moves whenever a member's devices change (linked,
	-- removed, re-registered, deleted), in the same transaction, so that
	-- a node may cache a group's devices and know when they are stale.
	devices_gen       BIGINT NOT NULL DEFAULT 0,
	updated_at        BIGINT NOT NULL
);

CREATE TABLE group_events (
	group_id   {{BLOB}} NOT NULL REFERENCES group_heads (group_id),
	seq        BIGINT NOT NULL,
	event      {{BLOB}} NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (group_id, seq)
);

-- account_id has no foreign key: a deleted account stays a member in the
-- signed log until someone removes it, and so it does here.
CREATE TABLE group_members (
	group_id   {{BLOB}} NOT NULL REFERENCES group_heads (group_id),
	account_id {{BLOB}} NOT NULL,
	admin      INTEGER NOT NULL,
	since      BIGINT NOT NULL,
	PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account_idx ON group_members (account_id, group_id);

-- One row per group message or group event, whatever the number of
-- devices it goes to; each device's copy is a mailbox_envelopes row with
-- payload_id set and its own columns empty. The payload goes with its last
-- delivery row, or when it expires.
CREATE TABLE mailbox_payloads (
	id             {{ID}},
	group_id       {{BLOB}} NOT NULL,
	message_id     {{BLOB}} NOT NULL,
	sender_account {{BLOB}} NOT NULL,
	sender_device  BIGINT NOT NULL,
	type           BIGINT NOT NULL,
	content        {{BLOB}} NOT NULL,
	client_time    BIGINT NOT NULL,
	server_time    BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL
);
CREATE INDEX mailbox_payloads_expires_idx ON mailbox_payloads (expires_at) WHERE expires_at > 0;

-- No foreign key: the store removes payloads itself, after their last
-- delivery, and a device's deletion cascading to its rows must not be held
-- up by them.
ALTER TABLE mailbox_envelopes ADD COLUMN payload_id BIGINT;
CREATE INDEX mailbox_envelopes_payload_idx ON mailbox_envelopes (payload_id) WHERE payload_id IS NOT NULL;

-- mailbox_dedup.destination holds a group id for group messages: ids of
-- both kinds are random 128-bit values, and the key includes the sender.
