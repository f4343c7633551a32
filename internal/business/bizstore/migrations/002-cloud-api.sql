-- v2 (compatible with v1+): the Cloud API's businesses, numbers, access tokens, media, templates and messaging-policy state
--
-- Conventions as in 001: times are unix milliseconds (0 = never), short
-- string lists newline-separated. Rows of the Cloud API name businesses,
-- numbers and customers by their Graph ids (waba_id, phone_number_id,
-- wa_id) without foreign keys where the API itself accepts any id (a token
-- or a template of a business the directory does not list is the
-- directory's business, not the token store's).

-- WhatsApp Business Accounts the agent serves (usually one).
CREATE TABLE businesses (
	id         TEXT PRIMARY KEY, -- waba_id
	name       TEXT NOT NULL,
	currency   TEXT NOT NULL,
	time_zone  TEXT NOT NULL,
	tier       INTEGER NOT NULL CHECK (tier >= 0), -- unique customers per 24 h outside the window; 0 = unlimited
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- A business's phone numbers, listed in the order they were added (rowid).
CREATE TABLE phone_numbers (
	id                   TEXT PRIMARY KEY, -- phone_number_id
	waba_id              TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
	display_phone_number TEXT NOT NULL,
	wa_id                TEXT NOT NULL,
	verified_name        TEXT NOT NULL,
	quality_rating       TEXT NOT NULL,
	throughput           INTEGER NOT NULL,
	cart_enabled         INTEGER NOT NULL,
	catalog_visible      INTEGER NOT NULL,
	created_at           INTEGER NOT NULL
);

CREATE INDEX phone_numbers_by_business ON phone_numbers (waba_id);

-- The catalogs connected to a business, in the business's order.
CREATE TABLE business_catalogs (
	waba_id    TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
	catalog_id TEXT NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	PRIMARY KEY (waba_id, catalog_id)
) WITHOUT ROWID;

-- Access tokens: only their SHA-256 is kept. id names a token in listings
-- and revocations without being able to use it.
CREATE TABLE access_tokens (
	hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
	id         TEXT NOT NULL UNIQUE,
	waba_id    TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	label      TEXT NOT NULL,
	expires_at INTEGER NOT NULL, -- 0: never
	created_at INTEGER NOT NULL
);

-- Uploaded media. Small files live in data (storage 'inline'), larger ones
-- in the media directory beside the database as a file named by the id
-- (storage 'file'); '' is metadata without bytes yet.
CREATE TABLE media (
	id              TEXT PRIMARY KEY,
	phone_number_id TEXT NOT NULL,
	mime_type       TEXT NOT NULL,
	sha256          TEXT NOT NULL,
	file_size       INTEGER NOT NULL,
	filename        TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	storage         TEXT NOT NULL CHECK (storage IN ('', 'inline', 'file')),
	data            BLOB
);

-- Message templates; components is the definition in Meta's create shape
-- (JSON, kept byte for byte).
CREATE TABLE templates (
	id               TEXT PRIMARY KEY,
	waba_id          TEXT NOT NULL,
	name             TEXT NOT NULL,
	language         TEXT NOT NULL,
	category         TEXT NOT NULL,
	status           TEXT NOT NULL,
	parameter_format TEXT NOT NULL,
	components       TEXT NOT NULL,
	rejected_reason  TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	UNIQUE (waba_id, name, language)
);

-- The customer service window: when a customer last wrote to a number.
CREATE TABLE customer_windows (
	phone_number_id TEXT NOT NULL,
	wa_id           TEXT NOT NULL,
	last_inbound    INTEGER NOT NULL,
	PRIMARY KEY (phone_number_id, wa_id)
) WITHOUT ROWID;

-- A customer's opt-in and marketing opt-out towards a number.
CREATE TABLE consents (
	phone_number_id   TEXT NOT NULL,
	wa_id             TEXT NOT NULL,
	opted_in          INTEGER NOT NULL,
	marketing_opt_out INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	PRIMARY KEY (phone_number_id, wa_id)
) WITHOUT ROWID;

-- Customers a business reached outside their window, and when it last did:
-- the messaging limit counts the distinct ones of the last 24 hours.
CREATE TABLE reached_customers (
	waba_id    TEXT NOT NULL,
	wa_id      TEXT NOT NULL,
	reached_at INTEGER NOT NULL,
	PRIMARY KEY (waba_id, wa_id)
) WITHOUT ROWID;

CREATE INDEX reached_customers_by_time ON reached_customers (waba_id, reached_at);

-- Order reference_ids of order_details messages, bound to the customer
-- they were first sent to.
CREATE TABLE order_references (
	waba_id      TEXT NOT NULL,
	reference_id TEXT NOT NULL,
	wa_id        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (waba_id, reference_id)
) WITHOUT ROWID;
