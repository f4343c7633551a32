-- v3 (compatible with v1+): the webhook sender's queue, in this database so that an order change and its event commit together
--
-- The tables are those webhook.SQLiteQueue (since removed) created, unchanged
-- (hence IF NOT EXISTS: a file whose queue that type created keeps its events).

-- Events waiting for delivery; seq is the order of enqueueing, which is the
-- delivery order per customer. body is the exact signed bytes.
CREATE TABLE IF NOT EXISTS webhook_events (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	customer     TEXT NOT NULL,
	body         BLOB NOT NULL,
	enqueued     INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS webhook_events_customer ON webhook_events (customer, seq);

-- Ids delivered or dropped, remembered to refuse replays.
CREATE TABLE IF NOT EXISTS webhook_removed (
	id      TEXT PRIMARY KEY,
	removed INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS webhook_removed_at ON webhook_removed (removed);
