-- v4 (compatible with v1+): payment charges of the payment providers
--
-- Amounts are minor units beside the ISO 4217 code. A reference (an order's
-- reference_id) has at most one live charge, pending or captured: the
-- partial unique index enforces it, so two concurrent requests cannot both
-- create one.
CREATE TABLE payment_charges (
	id                TEXT PRIMARY KEY,
	reference         TEXT NOT NULL,
	amount            INTEGER NOT NULL,
	currency          TEXT NOT NULL,
	status            TEXT NOT NULL CHECK (status IN ('pending', 'captured', 'failed')),
	method            TEXT NOT NULL,
	pix_code          TEXT NOT NULL,
	pix_merchant_name TEXT NOT NULL,
	pix_key           TEXT NOT NULL,
	pix_key_type      TEXT NOT NULL,
	upi_link          TEXT NOT NULL,
	failure_reason    TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE UNIQUE INDEX payment_charges_live ON payment_charges (reference) WHERE status <> 'failed';
