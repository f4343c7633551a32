package gateway_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// FuzzBusEvent publishes arbitrary bytes on the subjects a connected device
// listens on, as a broken or hostile node could. The node must keep serving
// the device.
func FuzzBusEvent(f *testing.F) {
	for _, ev := range []*buspb.Event{
		{Body: &buspb.Event_Deliver{Deliver: &wirepb.Envelope{Id: 99, Content: []byte("x")}}},
		{Body: &buspb.Event_Kick{Kick: &buspb.Kick{KeepConn: "other", Reason: 7}}},
		{Body: &buspb.Event_Presence{Presence: &wirepb.PresenceEvent{Account: []byte{1}}}},
		{Body: &buspb.Event_Typing{Typing: &wirepb.TypingEvent{From: []byte{1, 2}}}},
		{Body: &buspb.Event_PrivacyChanged{PrivacyChanged: &buspb.PrivacyChanged{Account: make([]byte, 16)}}},
		{Body: &buspb.Event_PrekeysLow{PrekeysLow: &wirepb.PreKeysLow{Ec: 1}}},
	} {
		b, _ := proto.Marshal(ev)
		f.Add(b, byte(0))
	}
	f.Add([]byte{0xff, 0x01}, byte(1))
	srv := testserver.Start(f, testserver.Options{})
	c := srv.Dial(f)
	dev := testserver.Register(f, c)
	go func() {
		for range c.Events() {
		}
	}()
	subjects := []string{bus.DeviceSubject(dev.Addr), bus.AccountSubject(dev.Addr.Account), bus.PresenceSubject(dev.Addr.Account)}
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		ev := new(buspb.Event)
		if proto.Unmarshal(data, ev) == nil && ev.GetKick() != nil {
			return // a well-formed kick closes the connection, as it should
		}
		if err := srv.Publish(subjects[int(which)%len(subjects)], data); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}}); err != nil {
			t.Fatalf("connection broken by bus event %x: %v", data, err)
		}
	})
}

// TestPreKeysLow: a device whose one-time keys run out while others fetch
// its bundle is told to upload more.
func TestPreKeysLow(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, bc := srv.Dial(t), srv.Dial(t)
	testserver.Register(t, ac)
	bob := testserver.Register(t, bc)
	if auth, err := srv.Dial(t).Authenticate(ctxT(t), bob.Addr, bob.AuthKey); err != nil || auth.PrekeysEc != 0 {
		t.Fatalf("auth result %v %v: a fresh device has no one-time keys", auth, err)
	}
	bc = srv.Connect(t, bob) // the connection above replaced bc; take over again
	var keys []*wirepb.SignedPreKey
	for i := range 11 {
		keys = append(keys, &wirepb.SignedPreKey{KeyId: uint32(100 + i), PublicKey: testserver.ECKey()})
	}
	var kyber []*wirepb.SignedPreKey
	for i := range 11 {
		kyber = append(kyber, bob.Sign(uint32(200+i), testserver.KyberKey()))
	}
	call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SetPrekeys{SetPrekeys: &wirepb.SetPreKeys{OneTimePrekeys: keys, OneTimeKyber: kyber}}})
	count := call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetPrekeyCount{GetPrekeyCount: &wirepb.GetPreKeyCount{}}}).GetPrekeyCount()
	if count.Ec != 11 || count.Kyber != 11 {
		t.Fatalf("counts %v, want 11 and 11", count)
	}
	seen := map[uint32]bool{}
	for i := range 2 {
		b := call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: bob.Addr.Account[:]}}}).GetBundle()
		id := b.Devices[0].OneTimePrekey.GetKeyId()
		if seen[id] {
			t.Fatalf("one-time key %d handed out twice", id)
		}
		seen[id] = true
		_ = i
	}
	// 9 left, below the threshold of 10: Bob hears about it.
	for {
		if low := next(t, bc).GetPrekeysLow(); low != nil {
			if low.Ec != 9 || low.Kyber != 9 {
				t.Fatalf("prekeys low %v, want 9 and 9", low)
			}
			break
		}
	}
}

// TestMailboxFull: a device's mailbox holds at most MailboxMaxQueue
// envelopes; past that the sender gets a clear error and nothing is stored.
func TestMailboxFull(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) { c.MailboxMaxQueue = 3 }})
	ac, bc := srv.Dial(t), srv.Dial(t)
	testserver.Register(t, ac)
	bob := testserver.Register(t, bc)
	bc.Close()
	for i := range 3 {
		send(t, ac, bob, string(rune('a'+i)))
	}
	e := callErr(t, ac, sendFrame(bob, types.NewMessageID(), []types.DeviceID{1}, "d"), wirepb.ErrorCode_ERROR_CODE_MAILBOX_FULL)
	if len(e.FullDevices) != 1 || e.FullDevices[0] != 1 {
		t.Errorf("full devices %v", e.FullDevices)
	}
	bc = srv.Connect(t, bob)
	got := waitQueueEmpty(t, bc)
	if len(got) != 3 {
		t.Fatalf("mailbox held %d, want 3", len(got))
	}
	ack(t, bc, got)
	send(t, ac, bob, "room again") // acks make room
}
