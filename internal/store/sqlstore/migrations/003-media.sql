-- v3 (compatible with v1+): media uploads, who fetched them, the media token key
--
-- A media blob's bytes are in the blob store (local files or NATS); these
-- rows say how far its upload got and which devices fetched it.

CREATE TABLE media_uploads (
	id              {{BLOB}} PRIMARY KEY,
	owner_account   {{BLOB}} NOT NULL,
	owner_device    BIGINT NOT NULL,
	blob_size       BIGINT NOT NULL,
	sha256          {{BLOB}} NOT NULL,
	chunk_size      BIGINT NOT NULL,
	committed_bytes BIGINT NOT NULL DEFAULT 0,
	downloads       BIGINT NOT NULL,
	fetched         BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL,
	done_at         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX media_uploads_expires_idx ON media_uploads (expires_at);
CREATE INDEX media_uploads_done_idx ON media_uploads (done_at) WHERE done_at > 0;

-- One row per device that fetched a blob to the end.
CREATE TABLE media_downloads (
	media_id   {{BLOB}} NOT NULL REFERENCES media_uploads (id) ON DELETE CASCADE,
	account_id {{BLOB}} NOT NULL,
	device_id  BIGINT NOT NULL,
	PRIMARY KEY (media_id, account_id, device_id)
);

-- Keys the nodes share; name 'token' signs media tokens.
CREATE TABLE media_keys (
	name   TEXT PRIMARY KEY,
	secret {{BLOB}} NOT NULL
);
