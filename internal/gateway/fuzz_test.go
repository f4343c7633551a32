package gateway_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// FuzzClientFrame throws arbitrary bytes at a live server as frames of an
// authenticated connection. Whatever arrives, the server must answer the
// next Ping: it may refuse a frame or close a connection, never stop serving.
func FuzzClientFrame(f *testing.F) {
	peer := types.NewAccountID()
	mid := types.NewMessageID()
	keys, _ := testserver.NewDeviceKeys()
	for _, fr := range []*wirepb.ClientFrame{
		{Id: 1, Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}},
		{Id: 2, Body: &wirepb.ClientFrame_Hello{Hello: &wirepb.Hello{MinVersion: 1, MaxVersion: 3}}},
		{Id: 3, Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{MessageId: mid[:], Destination: peer[:],
			Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: 1, Content: []byte("x")}}}}},
		{Id: 4, Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: []uint64{1, 2, 3}}}},
		{Id: 5, Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: peer[:]}}},
		{Id: 6, Body: &wirepb.ClientFrame_SetPrekeys{SetPrekeys: &wirepb.SetPreKeys{OneTimePrekeys: []*wirepb.SignedPreKey{{KeyId: 1, PublicKey: testserver.ECKey()}}}}},
		{Id: 7, Body: &wirepb.ClientFrame_SubscribePresence{SubscribePresence: &wirepb.SubscribePresence{Accounts: [][]byte{peer[:]}}}},
		{Id: 8, Body: &wirepb.ClientFrame_SetPrivacy{SetPrivacy: &wirepb.SetPrivacy{LastSeen: 9, Contacts: [][]byte{{1}}}}},
		{Id: 9, Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: "+15550000000", Code: "1", Device: keys}}},
		{Id: 10, Body: &wirepb.ClientFrame_RemoveDevice{RemoveDevice: &wirepb.RemoveDevice{DeviceId: 1}}},
		{Id: 11, Body: &wirepb.ClientFrame_ProvisionSend{ProvisionSend: &wirepb.ProvisionSend{Address: "x", Body: []byte{1}}}},
		{Id: 12, Body: &wirepb.ClientFrame_Typing{Typing: &wirepb.Typing{To: peer[:], Started: true}}},
		{Id: 13, Body: &wirepb.ClientFrame_Authenticate{Authenticate: &wirepb.Authenticate{AccountId: peer[:], DeviceId: 1, Signature: make([]byte, 64)}}},
		{Id: 14, Body: &wirepb.ClientFrame_SendGroup{SendGroup: &wirepb.SendGroup{GroupId: peer[:], MessageId: mid[:], Content: []byte("x"), DevicesHash: make([]byte, 32)}}},
		{Id: 15, Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{Event: &wirepb.GroupEvent{Body: []byte{0x0a, 0x10}, Signature: make([]byte, 64)}, InviteToken: []byte("t")}}},
		{Id: 16, Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{GroupId: peer[:], AfterSeq: 3, InviteToken: []byte("t")}}},
		{Id: 17, Body: &wirepb.ClientFrame_GetGroupDevices{GetGroupDevices: &wirepb.GetGroupDevices{GroupId: peer[:]}}},
		{Id: 18, Body: &wirepb.ClientFrame_ListGroups{ListGroups: &wirepb.ListGroups{}}},
	} {
		b, _ := proto.Marshal(fr)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})

	srv := testserver.Start(f, testserver.Options{})
	var c *transport.Conn
	// The connection outlives single inputs, so it is made without the
	// per-input t (whose cleanup would close it).
	connect := func(t *testing.T) {
		if c != nil {
			c.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if c, err = transport.Dial(ctx, srv.URL, nil); err != nil {
			t.Fatal(err)
		}
		go func(c *transport.Conn) { // keep pushes from stalling the connection
			for range c.Events() {
			}
		}(c)
		keys, priv := testserver.NewDeviceKeys()
		phone := testserver.NewPhone()
		if _, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: phone}}}); err != nil {
			t.Fatal(err)
		}
		res, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: phone, Code: testserver.Code, Device: keys}}})
		if err != nil {
			t.Fatal(err)
		}
		a := types.Address{Account: types.AccountID(res.GetRegister().AccountId), Device: 1}
		if _, err := c.Authenticate(ctx, a, priv); err != nil {
			t.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if c == nil {
			connect(t)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.WriteRaw(ctx, data)
		_, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
		if err == nil {
			return
		}
		// The frame may legitimately end the connection (deleting the
		// account, failing authentication): a new one must work.
		connect(t)
		if _, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}}); err != nil {
			t.Fatalf("server stopped serving after frame %x: %v", data, err)
		}
	})
}
