-- v4 (compatible with v1+): which node holds each connected device
--
-- A row while a device is connected: the node (one run of `parley serve`)
-- and the connection that hold it, and since when (unix nanoseconds; the
-- later connection of a device wins). When a node dies, another deletes its
-- rows and tells the devices' watchers they went offline.
CREATE TABLE device_holders (
	account_id {{BLOB}} NOT NULL,
	device_id  BIGINT NOT NULL,
	node       TEXT NOT NULL,
	conn       TEXT NOT NULL,
	since      BIGINT NOT NULL,
	PRIMARY KEY (account_id, device_id),
	FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);
CREATE INDEX device_holders_node_idx ON device_holders (node);
