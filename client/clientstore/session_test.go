package clientstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// device is one party whose state lives in a Store on disk and can be
// closed and reopened (a client restart).
type device struct {
	path    string
	st      *Store
	account Account
	stores  session.Stores
}

func newDevice(t *testing.T) *device {
	t.Helper()
	d := &device{path: filepath.Join(t.TempDir(), "client.db")}
	d.st = openAt(t, d.path)
	d.account = register(t, d.st, 1)
	d.refresh(t)
	return d
}

func (d *device) refresh(t *testing.T) {
	t.Helper()
	var err error
	if d.stores, err = d.st.Stores(ctx); err != nil {
		t.Fatal(err)
	}
}

// restart closes the store and opens the file again.
func (d *device) restart(t *testing.T) {
	t.Helper()
	if err := d.st.Close(); err != nil {
		t.Fatal(err)
	}
	d.st = openAt(t, d.path)
	d.refresh(t)
}

func (d *device) send(t *testing.T, to *device, text string) session.Ciphertext {
	t.Helper()
	c, err := session.Encrypt(ctx, d.stores, to.stores.Local, []byte(text), t0)
	if err != nil {
		t.Fatalf("Encrypt %q: %v", text, err)
	}
	return c
}

// receive decrypts c and stores the message in one transaction, as a client
// does before acknowledging the envelope.
func (d *device) receive(t *testing.T, from *device, c session.Ciphertext, want string) {
	t.Helper()
	err := d.st.InTx(ctx, func(ctx2 ctxT) error {
		pt, err := session.Decrypt(ctx2, d.stores, from.stores.Local, c)
		if err != nil {
			return err
		}
		conv, err := d.st.DirectConversation(ctx2, from.account.ID)
		if err != nil {
			return err
		}
		_, err = d.st.AddMessage(ctx2, Message{
			Conversation: conv.ID, ID: types.NewMessageID(),
			Sender:    types.Address{Account: from.account.ID, Device: from.account.Device},
			Direction: Incoming, Content: pt, SentAt: t0, ReceivedAt: t0,
		})
		if string(pt) != want {
			return fmt.Errorf("decrypted %q, want %q", pt, want)
		}
		return err
	})
	if err != nil {
		t.Fatalf("receive %q: %v", want, err)
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	bundle := publish(t, bob.st, bob.account, true)
	if err := session.ProcessBundle(ctx, alice.stores, bob.stores.Local, bundle, t0, nil); err != nil {
		t.Fatal(err)
	}
	first := alice.send(t, bob, "hello bob")
	alice.restart(t) // between starting the session and Bob's answer
	early := alice.send(t, bob, "still there?")

	bob.restart(t)
	bob.receive(t, alice, first, "hello bob")
	if _, err := bob.st.LoadPreKey(ctx, bundle.PreKeyID); !errors.Is(err, session.ErrNoPreKey) {
		t.Fatalf("used one-time prekey not removed: %v", err)
	}
	if _, err := bob.st.LoadKyberPreKey(ctx, bundle.KyberPreKeyID); !errors.Is(err, session.ErrNoPreKey) {
		t.Fatalf("used one-time Kyber prekey not removed: %v", err)
	}
	reply := bob.send(t, alice, "hi alice")
	bob.restart(t)
	alice.receive(t, bob, reply, "hi alice")
	bob.receive(t, alice, early, "still there?")

	// Out of order across restarts: the skipped message keys are stored.
	m1, m2, m3 := alice.send(t, bob, "one"), alice.send(t, bob, "two"), alice.send(t, bob, "three")
	alice.restart(t)
	bob.receive(t, alice, m3, "three")
	bob.restart(t)
	bob.receive(t, alice, m1, "one")
	bob.restart(t)
	bob.receive(t, alice, m2, "two")
	if _, err := session.Decrypt(ctx, bob.stores, alice.stores.Local, m2); !errors.Is(err, session.ErrDuplicate) {
		t.Fatalf("replay after restart = %v, want ErrDuplicate", err)
	}
	for i := range 5 {
		text := fmt.Sprintf("ping %d", i)
		bob.receive(t, alice, alice.send(t, bob, text), text)
		alice.restart(t)
		text = fmt.Sprintf("pong %d", i)
		alice.receive(t, bob, bob.send(t, alice, text), text)
		bob.restart(t)
	}

	conv, err := bob.st.DirectConversation(ctx, alice.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := bob.st.Messages(ctx, conv.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, string(m.Content))
	}
	want := "[hello bob still there? three one two ping 0 ping 1 ping 2 ping 3 ping 4]"
	if fmt.Sprint(got) != want {
		t.Fatalf("Bob's history = %v, want %s", got, want)
	}
}

// A failed decryption inside InTx leaves nothing behind: not the message,
// not a half-updated session.
func TestReceiveIsAtomic(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	bundle := publish(t, bob.st, bob.account, true)
	if err := session.ProcessBundle(ctx, alice.stores, bob.stores.Local, bundle, t0, nil); err != nil {
		t.Fatal(err)
	}
	c := alice.send(t, bob, "hello")
	before, _ := bob.st.SessionDevices(ctx, alice.stores.Local.Name)
	errStop := errors.New("crash before commit")
	err := bob.st.InTx(ctx, func(ctx2 ctxT) error {
		if _, err := session.Decrypt(ctx2, bob.stores, alice.stores.Local, c); err != nil {
			return err
		}
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	after, _ := bob.st.SessionDevices(ctx, alice.stores.Local.Name)
	if len(before) != 0 || len(after) != 0 {
		t.Fatalf("sessions with alice before %v, after a rolled-back decrypt %v", before, after)
	}
	if _, err := bob.st.LoadPreKey(ctx, bundle.PreKeyID); err != nil {
		t.Fatalf("rolled-back decrypt removed the one-time prekey: %v", err)
	}
	bob.receive(t, alice, c, "hello") // the redelivered envelope still works
}

func TestSenderKeysSurviveRestart(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	var dist [16]byte
	copy(dist[:], "family group ---")
	skdm, err := senderkey.CreateDistribution(ctx, alice.st, alice.stores.Local, dist, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := senderkey.ProcessDistribution(ctx, bob.st, alice.stores.Local, skdm); err != nil {
		t.Fatal(err)
	}
	var cts [][]byte
	for i := range 4 {
		ct, err := senderkey.Encrypt(ctx, alice.st, alice.stores.Local, dist, fmt.Appendf(nil, "group %d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		cts = append(cts, ct)
		alice.restart(t)
	}
	bob.restart(t)
	for _, i := range []int{3, 0, 2, 1} {
		pt, err := senderkey.Decrypt(ctx, bob.st, alice.stores.Local, cts[i])
		if err != nil || string(pt) != fmt.Sprintf("group %d", i) {
			t.Fatalf("Decrypt %d = %q, %v", i, pt, err)
		}
		bob.restart(t)
	}
}

func TestIdentityChangeBlocksSendingUntilAcknowledged(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	if err := session.ProcessBundle(ctx, alice.stores, bob.stores.Local, publish(t, bob.st, bob.account, true), t0, nil); err != nil {
		t.Fatal(err)
	}
	bob.receive(t, alice, alice.send(t, bob, "hello"), "hello")

	// Bob reinstalls: same account, new identity key.
	bob2 := newDevice(t)
	bob2.account.ID = bob.account.ID
	if err := bob2.st.SaveAccount(ctx, bob2.account); err != nil {
		t.Fatal(err)
	}
	bob2.refresh(t)
	bundle := publish(t, bob2.st, bob2.account, true)
	err := session.ProcessBundle(ctx, alice.stores, bob2.stores.Local, bundle, t0, nil)
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("ProcessBundle with a new identity = %v, want ErrUntrustedIdentity", err)
	}
	// The client records the new key and tells the user.
	changed, err := alice.st.SaveIdentity(ctx, bob2.stores.Local, bundle.IdentityKey)
	if err != nil || !changed {
		t.Fatalf("SaveIdentity = %v, %v; want a change", changed, err)
	}
	pending, err := alice.st.ChangedIdentities(ctx)
	if err != nil || len(pending) != 1 || pending[0].Address != bob2.stores.Local || pending[0].Key != bundle.IdentityKey {
		t.Fatalf("ChangedIdentities = %+v, %v", pending, err)
	}
	alice.restart(t) // the block survives a restart
	if err := session.ProcessBundle(ctx, alice.stores, bob2.stores.Local, bundle, t0, nil); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("sending before acknowledgement = %v, want ErrUntrustedIdentity", err)
	}
	if err := alice.st.AcknowledgeIdentity(ctx, bob2.stores.Local, bob.account.Identity.Public); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("acknowledging the old key = %v, want ErrKeyMismatch", err)
	}
	if err := alice.st.AcknowledgeIdentity(ctx, bob2.stores.Local, bundle.IdentityKey); err != nil {
		t.Fatal(err)
	}
	if err := session.ProcessBundle(ctx, alice.stores, bob2.stores.Local, bundle, t0, nil); err != nil {
		t.Fatalf("sending after acknowledgement: %v", err)
	}
	bob2.receive(t, alice, alice.send(t, bob2, "welcome back"), "welcome back")
	if pending, _ := alice.st.ChangedIdentities(ctx); len(pending) != 0 {
		t.Fatalf("still pending after acknowledgement: %+v", pending)
	}
}
