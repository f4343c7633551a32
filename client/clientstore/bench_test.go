package clientstore

import (
	"testing"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// BenchmarkMessageRoundTrip: Alice encrypts, Bob decrypts and stores the
// message, both on Stores on disk (synchronous=FULL), one op per message
// each way. "separate" lets every store call commit on its own, "tx" puts
// each side's calls in one InTx, as a client should.
func BenchmarkMessageRoundTrip(b *testing.B) {
	for _, inTx := range []bool{false, true} {
		name := "separate"
		if inTx {
			name = "tx"
		}
		b.Run(name, func(b *testing.B) {
			alice, bob := benchDevice(b), benchDevice(b)
			bundle := publish(b, bob.st, bob.account, true)
			if err := session.ProcessBundle(ctx, alice.stores, bob.stores.Local, bundle, t0, nil); err != nil {
				b.Fatal(err)
			}
			conv, _ := bob.st.DirectConversation(ctx, alice.account.ID)
			msg := []byte("a typical short chat message, about sixty bytes long......")
			run := func(st *Store, fn func(ctx ctxT) error) error {
				if inTx {
					return st.InTx(ctx, fn)
				}
				return fn(ctx)
			}
			b.ResetTimer()
			for b.Loop() {
				var c session.Ciphertext
				if err := run(alice.st, func(ctx ctxT) error {
					var err error
					c, err = session.Encrypt(ctx, alice.stores, bob.stores.Local, msg, t0)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				if err := run(bob.st, func(ctx ctxT) error {
					pt, err := session.Decrypt(ctx, bob.stores, alice.stores.Local, c)
					if err != nil {
						return err
					}
					_, err = bob.st.AddMessage(ctx, Message{Conversation: conv.ID, ID: types.NewMessageID(),
						Sender: types.Address{Account: alice.account.ID, Device: 1}, Direction: Incoming, Content: pt, SentAt: t0})
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchDevice(b *testing.B) *device {
	d := &device{}
	st, path := newStore(b)
	d.st, d.path = st, path
	d.account = register(b, st, 1)
	var err error
	if d.stores, err = st.Stores(ctx); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkOpen is the cost of unlocking with the default Argon2id
// parameters (what a user waits for at start-up).
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	path := dir + "/client.db"
	st, err := Open(ctx, path, Passphrase(testPass), nil)
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	for b.Loop() {
		st, err := Open(ctx, path, Passphrase(testPass), nil)
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}
