-- v1 (compatible with v1+): business profile, opening hours, FAQ, catalogs, products, orders and stock reservations
--
-- Conventions: times are unix milliseconds (0 = never); money is integer
-- minor units beside an ISO 4217 code; lists of short strings (websites,
-- image URLs, keywords) are newline-separated, the code refusing newlines
-- inside them.

-- Every Graph object id the agent has handed out (catalogs, product items;
-- media and templates may follow), so that one id names one object of one
-- kind and is never reused.
CREATE TABLE object_ids (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The business profile. At most one row.
CREATE TABLE business_profile (
	id                     INTEGER PRIMARY KEY CHECK (id = 1),
	name                   TEXT NOT NULL,
	about                  TEXT NOT NULL,
	address                TEXT NOT NULL,
	description            TEXT NOT NULL,
	email                  TEXT NOT NULL,
	websites               TEXT NOT NULL,
	vertical               TEXT NOT NULL,
	profile_picture_handle TEXT NOT NULL,
	profile_picture_url    TEXT NOT NULL,
	verified               INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL
);

-- Opening hours: the zone (one row), the weekly ranges and the special days
-- that replace a date's weekly hours. Minutes after midnight; a close not
-- after the open ends the next day.
CREATE TABLE business_hours (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	time_zone  TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE weekly_hours (
	weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6), -- 0 = Sunday
	opens   INTEGER NOT NULL CHECK (opens BETWEEN 0 AND 1439),
	closes  INTEGER NOT NULL CHECK (closes BETWEEN 0 AND 1440),
	PRIMARY KEY (weekday, opens)
) WITHOUT ROWID;

CREATE TABLE special_days (
	day    TEXT PRIMARY KEY, -- YYYY-MM-DD
	closed INTEGER NOT NULL,
	note   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE special_hours (
	day    TEXT NOT NULL REFERENCES special_days (day) ON DELETE CASCADE,
	opens  INTEGER NOT NULL CHECK (opens BETWEEN 0 AND 1439),
	closes INTEGER NOT NULL CHECK (closes BETWEEN 0 AND 1440),
	PRIMARY KEY (day, opens)
) WITHOUT ROWID;

CREATE TABLE faqs (
	id         INTEGER PRIMARY KEY AUTOINCREMENT, -- ids of deleted entries are not reused
	question   TEXT NOT NULL,
	answer     TEXT NOT NULL,
	language   TEXT NOT NULL,
	keywords   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE catalogs (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE products (
	id                        TEXT PRIMARY KEY,
	catalog_id                TEXT NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
	retailer_id               TEXT NOT NULL,
	name                      TEXT NOT NULL,
	description               TEXT NOT NULL,
	brand                     TEXT NOT NULL,
	url                       TEXT NOT NULL,
	image_url                 TEXT NOT NULL,
	additional_image_urls     TEXT NOT NULL,
	currency                  TEXT NOT NULL,
	price                     INTEGER NOT NULL CHECK (price >= 0),
	sale_price                INTEGER CHECK (sale_price >= 0),  -- NULL: no sale
	inventory                 INTEGER CHECK (inventory >= 0),   -- NULL: not tracked
	availability              TEXT NOT NULL,                    -- '': derived from stock
	condition                 TEXT NOT NULL,
	category                  TEXT NOT NULL,
	retailer_product_group_id TEXT NOT NULL,
	search_key                TEXT NOT NULL, -- commerce.SearchKey: folded name, brand, description, retailer_id
	created_at                INTEGER NOT NULL,
	updated_at                INTEGER NOT NULL,
	UNIQUE (catalog_id, retailer_id)
);

CREATE TABLE orders (
	id                     INTEGER PRIMARY KEY,
	reference_id           TEXT NOT NULL UNIQUE,
	catalog_id             TEXT NOT NULL, -- no foreign key: orders outlive catalogs
	customer               TEXT NOT NULL, -- wa_id
	source_message_id      TEXT NOT NULL, -- '' when not placed from a message
	note                   TEXT NOT NULL,
	status                 TEXT NOT NULL,
	payment                TEXT NOT NULL,
	stock                  TEXT NOT NULL,
	description            TEXT NOT NULL,
	cancel_reason          TEXT NOT NULL,
	payment_transaction_id TEXT NOT NULL,
	currency               TEXT NOT NULL,
	subtotal               INTEGER NOT NULL,
	tax                    INTEGER NOT NULL,
	tax_description        TEXT NOT NULL,
	shipping               INTEGER NOT NULL,
	shipping_description   TEXT NOT NULL,
	discount               INTEGER NOT NULL,
	discount_description   TEXT NOT NULL,
	discount_program       TEXT NOT NULL,
	total                  INTEGER NOT NULL,
	expires_at             INTEGER NOT NULL,
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL
);

CREATE UNIQUE INDEX orders_by_source_message ON orders (source_message_id) WHERE source_message_id <> '';
CREATE INDEX orders_by_customer ON orders (customer, id);
-- The expiry sweep looks only at pending orders that are not being paid.
CREATE INDEX orders_due ON orders (expires_at) WHERE status = 'pending' AND payment IN ('none', 'failed');

CREATE TABLE order_items (
	order_id    INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	product_id  TEXT REFERENCES products (id) ON DELETE SET NULL,
	retailer_id TEXT NOT NULL,
	name        TEXT NOT NULL,
	quantity    INTEGER NOT NULL CHECK (quantity > 0),
	price       INTEGER NOT NULL,
	sale_price  INTEGER,
	seen_price  INTEGER NOT NULL,
	reserved    INTEGER NOT NULL,
	PRIMARY KEY (order_id, position)
) WITHOUT ROWID;

-- Stock held by open orders: a product's free stock is its inventory minus
-- the sum of its rows here. Placing an order inserts them, in the same
-- transaction as the order; releasing deletes them; committing deletes them
-- and lowers the inventory.
CREATE TABLE reservations (
	order_id   INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
	quantity   INTEGER NOT NULL CHECK (quantity > 0),
	PRIMARY KEY (order_id, product_id)
) WITHOUT ROWID;

CREATE INDEX reservations_by_product ON reservations (product_id);
