-- v2 (compatible with v1+): groups, group conversations and who holds our sender keys
--
-- A group conversation is a row of conversations like a direct one: its
-- peer_hash is hash("group", group id) instead of hash("direct", account),
-- and its sealed value carries the group id. Nothing here changes a v1
-- table, so a v1 client still opens the file (it does not show groups).

-- Groups this device is or was in. The verified membership (the state the
-- group's signed event log leads to, in the client's encoding), the group
-- secret, the opened attributes, our current sender-key distribution id,
-- whether we left, and our invite token are sealed; seq mirrors the
-- verified head so it can be compared without opening every row.
CREATE TABLE groups (
	group_hash BLOB PRIMARY KEY,     -- hash(group id)
	seq        INTEGER NOT NULL,     -- verified head (0: known, not fetched yet)
	sealed     BLOB NOT NULL
) WITHOUT ROWID;

-- Member devices that hold our current sender key of a group: those need
-- no distribution message before the next group message. A new
-- distribution id (rotation) empties the group's rows. device_hash covers
-- the registration id, so a reinstalled device counts as new.
CREATE TABLE sender_key_holders (
	group_hash  BLOB NOT NULL,
	device_hash BLOB NOT NULL,       -- hash(account, device, registration id)
	PRIMARY KEY (group_hash, device_hash)
) WITHOUT ROWID;
