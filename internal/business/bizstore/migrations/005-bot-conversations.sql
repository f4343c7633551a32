-- v5 (compatible with v1+): the bot's conversations with customers
--
-- state is the JSON of bot.Conversation; version is its optimistic
-- concurrency counter (a save names the version it loaded). updated_at is
-- when it was last saved: conversations hold transcripts, and idle ones are
-- deleted.
CREATE TABLE bot_conversations (
	customer   TEXT PRIMARY KEY, -- wa_id
	state      BLOB NOT NULL,
	version    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX bot_conversations_by_age ON bot_conversations (updated_at);
