// Package clientstore is the Parley client's local database: its account
// and keys, the Signal-protocol state (sessions, prekeys, sender keys, peer
// identities), contacts, conversations with their message history, and the
// outbox of sends the server has not accepted yet. It is one SQLite file
// (pure Go, WAL, embedded numbered migrations), encrypted at rest.
//
// # Use
//
//	st, err := clientstore.Open(ctx, dir+"/parley.db", clientstore.Passphrase(pass), nil)
//	stores, err := st.Stores(ctx) // session.Stores for e2ee/session; st is a senderkey.Store too
//
// Everything takes a context first. InTx makes several calls one
// transaction (decrypt, store the message, then ack the envelope).
//
// # Encryption at rest
//
// A random 256-bit data key is made when the file is created and stored
// only wrapped by a KeyProtector (PassphraseProtector: Argon2id, parameters
// and salt stored with it; an OS keyring protector fits the same interface).
// A wrong passphrase gives ErrWrongKey and changes nothing; ChangeProtector
// rewraps the data key and touches nothing else.
//
// From the data key, HKDF derives a sealing key and an index key. Private
// keys, session and sender-key records, identity keys and trust decisions,
// message ids, senders, kinds and content, contact names and numbers,
// reactions and outbox payloads are sealed with AES-256-GCM, the row's
// identity (a label and its key columns) being the additional data, so a
// sealed value moved to another row does not open (ErrCorrupt). Columns
// that look rows up by an address, account, phone number or message id hold
// HMAC-SHA256 values under the index key, so the file does not say whom the
// user talks to.
//
// What the file still shows without the key (README.md has the details):
// how many rows each table has (contacts, devices with sessions or keys,
// conversations, messages per conversation, reactions and receipts per
// message, queued sends); device ids (small numbers); the times kept plain
// for ordering and expiry (message sent, received, edited and expiry times,
// a conversation's last activity, prekey creation, publication and
// retirement, outbox times and attempts); message direction and the
// deleted-for-everyone flag; receipt statuses; prekey ids; unread marks; the
// sizes of sealed values; and the Argon2 parameters. Plain columns are not
// authenticated: someone who can write the file can change them, delete
// rows or put back older sealed rows, but cannot read or forge a sealed
// value.
package clientstore
