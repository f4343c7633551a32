package clientstore

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// Sealed values are bound to their rows: someone who can write the file
// but does not have the key cannot move a session, message or identity to
// another row.
func TestSealedValuesAreBoundToTheirRows(t *testing.T) {
	st, path := newStore(t)
	register(t, st, 1)
	stores, _ := st.Stores(ctx)
	var addrs []session.Address
	for range 2 {
		bob := newMemoryBackend(t, "")
		pre := bob.newPreKey(t)
		b := session.NewBundle(bob.regID, 1, bob.identity.Public, &pre, bob.newSignedPreKey(t), bob.newKyberPreKey(t, false))
		if err := session.ProcessBundle(ctx, stores, bob.st.Local, b, t0, nil); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, bob.st.Local)
	}
	peer := types.NewAccountID()
	conv, _ := st.DirectConversation(ctx, peer)
	var refs []MessageRef
	for _, text := range []string{"first", "second", "third"} {
		m := Message{Conversation: conv.ID, ID: types.NewMessageID(), Sender: types.Address{Account: peer, Device: 1},
			Direction: Incoming, Content: []byte(text), SentAt: t0}
		if _, err := st.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, m.Ref())
	}
	st.Close()

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	swap := func(table, key string) {
		t.Helper()
		rows, err := raw.Query(`SELECT ` + key + `, sealed FROM ` + table + ` ORDER BY ` + key + ` LIMIT 2`)
		if err != nil {
			t.Fatal(err)
		}
		var keys []any
		var vals [][]byte
		for rows.Next() {
			var k any
			var v []byte
			rows.Scan(&k, &v)
			keys, vals = append(keys, k), append(vals, v)
		}
		rows.Close()
		for i := range 2 {
			if _, err := raw.Exec(`UPDATE `+table+` SET sealed = ? WHERE `+key+` = ?`, vals[1-i], keys[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	swap("sessions", "addr_hash")
	swap("messages", "seq")
	// The third message claims to be ours.
	if _, err := raw.Exec(`UPDATE messages SET direction = 2 WHERE seq = (SELECT MAX(seq) FROM messages)`); err != nil {
		t.Fatal(err)
	}

	st = openAt(t, path)
	for _, addr := range addrs {
		if _, err := st.LoadSession(ctx, addr); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("LoadSession of a swapped row = %v, want ErrCorrupt", err)
		}
	}
	for _, r := range refs {
		if _, err := st.Message(ctx, r); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Message of a swapped or altered row = %v, want ErrCorrupt", err)
		}
	}
}
