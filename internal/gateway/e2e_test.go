package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// forEachBackend runs fn against a fresh node on every store.
func forEachBackend(t *testing.T, fn func(t *testing.T, b testserver.Backend)) {
	for _, b := range testserver.Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func call(t *testing.T, c *transport.Conn, f *wirepb.ClientFrame) *wirepb.Response {
	t.Helper()
	res, err := c.Call(ctxT(t), f)
	if err != nil {
		t.Fatalf("%T: %v", f.Body, err)
	}
	return res
}

// callErr calls and expects the error code want.
func callErr(t *testing.T, c *transport.Conn, f *wirepb.ClientFrame, want wirepb.ErrorCode) *wirepb.Error {
	t.Helper()
	res, err := c.Call(ctxT(t), f)
	if got := transport.CodeOf(err); got != want {
		t.Fatalf("%T: got %v (%v), want %v", f.Body, got, err, want)
	}
	return res.Error
}

func sendFrame(to *testserver.Device, mid types.MessageID, devices []types.DeviceID, content string) *wirepb.ClientFrame {
	s := &wirepb.Send{MessageId: mid[:], Destination: to.Addr.Account[:], ClientTimeMs: time.Now().UnixMilli()}
	for _, d := range devices {
		s.Envelopes = append(s.Envelopes, &wirepb.OutgoingEnvelope{
			DeviceId: uint32(d), Type: wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT, Content: []byte(content)})
	}
	return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: s}}
}

// send sends content to the primary device of to and waits for acceptance.
func send(t *testing.T, c *transport.Conn, to *testserver.Device, content string) *wirepb.SendResult {
	t.Helper()
	return call(t, c, sendFrame(to, types.NewMessageID(), []types.DeviceID{types.PrimaryDevice}, content)).GetSend()
}

// next returns the next pushed frame, failing after a timeout.
func next(t *testing.T, c *transport.Conn) *wirepb.ServerFrame {
	t.Helper()
	select {
	case f, ok := <-c.Events():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame from the server")
	}
	return nil
}

// receive collects n envelopes, skipping other pushes (QueueEmpty first).
func receive(t *testing.T, c *transport.Conn, n int) []*wirepb.Envelope {
	t.Helper()
	var out []*wirepb.Envelope
	for len(out) < n {
		if d := next(t, c).GetDeliver(); d != nil {
			out = append(out, d.Envelopes...)
		}
	}
	if len(out) != n {
		t.Fatalf("got %d envelopes, want %d", len(out), n)
	}
	return out
}

// waitQueueEmpty reads pushes until QueueEmpty and returns envelopes before it.
func waitQueueEmpty(t *testing.T, c *transport.Conn) []*wirepb.Envelope {
	t.Helper()
	var out []*wirepb.Envelope
	for {
		f := next(t, c)
		if d := f.GetDeliver(); d != nil {
			out = append(out, d.Envelopes...)
		}
		if f.GetQueueEmpty() != nil {
			return out
		}
	}
}

func ack(t *testing.T, c *transport.Conn, envs []*wirepb.Envelope) {
	t.Helper()
	ids := make([]uint64, len(envs))
	for i, e := range envs {
		ids[i] = e.Id
	}
	call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}})
}

// quiet asserts the server pushes no envelope for a moment.
func quiet(t *testing.T, c *transport.Conn) {
	t.Helper()
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case f := <-c.Events():
			if f.GetDeliver() != nil {
				t.Fatalf("unexpected delivery: %v", f)
			}
		case <-deadline:
			return
		}
	}
}

func texts(envs []*wirepb.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = string(e.Content)
	}
	return out
}

// TestMessageFlow is the life of a message: two accounts register, fetch
// each other's bundles, and exchange envelopes while the receiver is online
// and offline; the receiver reconnects, acks, and its mailbox is empty.
func TestMessageFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		ac, bc := srv.Dial(t), srv.Dial(t)
		alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
		if alice.Addr.Account == bob.Addr.Account {
			t.Fatal("two registrations got one account")
		}
		if got := waitQueueEmpty(t, bc); len(got) != 0 {
			t.Fatalf("fresh mailbox held %d envelopes", len(got))
		}
		waitQueueEmpty(t, ac)

		// Bob uploads one-time keys; Alice fetches his bundle and gets one of them.
		otk := &wirepb.SignedPreKey{KeyId: 77, PublicKey: testserver.ECKey()}
		kyb := bob.Sign(78, testserver.KyberKey())
		call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SetPrekeys{SetPrekeys: &wirepb.SetPreKeys{
			OneTimePrekeys: []*wirepb.SignedPreKey{otk}, OneTimeKyber: []*wirepb.SignedPreKey{kyb}}}})
		bundle := call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{
			AccountId: bob.Addr.Account[:]}}}).GetBundle()
		if len(bundle.Devices) != 1 {
			t.Fatalf("bundle has %d devices, want 1", len(bundle.Devices))
		}
		db := bundle.Devices[0]
		if !bytes.Equal(db.IdentityKey, bob.Keys.IdentityKey) || db.RegistrationId != bob.Keys.RegistrationId ||
			!bytes.Equal(db.SignedPrekey.PublicKey, bob.Keys.SignedPrekey.PublicKey) {
			t.Error("bundle does not carry Bob's registered keys")
		}
		if db.OneTimePrekey.GetKeyId() != 77 || !bytes.Equal(db.KyberPrekey.PublicKey, kyb.PublicKey) {
			t.Errorf("bundle one-time keys: ec %d kyber %d, want 77 and 78", db.OneTimePrekey.GetKeyId(), db.KyberPrekey.GetKeyId())
		}
		// The one-time keys are gone; the next bundle falls back to the last-resort Kyber key.
		again := call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{
			AccountId: bob.Addr.Account[:], DeviceId: 1}}}).GetBundle().Devices[0]
		if again.OneTimePrekey != nil || !bytes.Equal(again.KyberPrekey.PublicKey, bob.Keys.LastResortKyber.PublicKey) {
			t.Error("a one-time key was handed out twice, or the last-resort key was not used")
		}

		// Online: delivered at once, in order.
		for i := range 3 {
			send(t, ac, bob, fmt.Sprintf("online %d", i))
		}
		got := receive(t, bc, 3)
		if want := []string{"online 0", "online 1", "online 2"}; fmt.Sprint(texts(got)) != fmt.Sprint(want) {
			t.Fatalf("received %q, want %q", texts(got), want)
		}
		if !bytes.Equal(got[0].SenderAccount, alice.Addr.Account[:]) || got[0].SenderDevice != 1 {
			t.Error("envelope does not name its sender")
		}
		ack(t, bc, got)

		// Offline: queued, then drained in order on reconnect.
		bc.Close()
		for i := range 5 {
			send(t, ac, bob, fmt.Sprintf("offline %d", i))
		}
		bc = srv.Connect(t, bob)
		got = waitQueueEmpty(t, bc)
		if want := []string{"offline 0", "offline 1", "offline 2", "offline 3", "offline 4"}; fmt.Sprint(texts(got)) != fmt.Sprint(want) {
			t.Fatalf("drained %q, want %q", texts(got), want)
		}
		ack(t, bc, got)
		bc.Close()

		// Acked means gone: a new connection finds the mailbox empty.
		bc = srv.Connect(t, bob)
		if left := waitQueueEmpty(t, bc); len(left) != 0 {
			t.Fatalf("after acks the mailbox still held %q", texts(left))
		}

		// Bob answers; Alice, online, gets it.
		send(t, bc, alice, "reply")
		if r := receive(t, ac, 1); string(r[0].Content) != "reply" {
			t.Fatalf("alice got %q", r[0].Content)
		}
	})
}

// TestUnackedRedelivered: an envelope delivered but never acked comes back
// on the next connection.
func TestUnackedRedelivered(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, bc := srv.Dial(t), srv.Dial(t)
	alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
	_ = alice
	waitQueueEmpty(t, bc)
	send(t, ac, bob, "keep me")
	receive(t, bc, 1)
	bc.Close()
	bc = srv.Connect(t, bob)
	if got := waitQueueEmpty(t, bc); len(got) != 1 || string(got[0].Content) != "keep me" {
		t.Fatalf("after reconnect got %q, want the unacked envelope", texts(got))
	}
}

// TestDedup: a resend with the same message id is stored once.
func TestDedup(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, bc := srv.Dial(t), srv.Dial(t)
	testserver.Register(t, ac)
	bob := testserver.Register(t, bc)
	bc.Close()
	mid := types.NewMessageID()
	f := sendFrame(bob, mid, []types.DeviceID{1}, "once")
	if call(t, ac, f).GetSend().Duplicate {
		t.Fatal("first send marked duplicate")
	}
	if !call(t, ac, sendFrame(bob, mid, []types.DeviceID{1}, "once")).GetSend().Duplicate {
		t.Fatal("resend not marked duplicate")
	}
	bc = srv.Connect(t, bob)
	if got := waitQueueEmpty(t, bc); len(got) != 1 {
		t.Fatalf("resent message stored %d times", len(got))
	}
}
