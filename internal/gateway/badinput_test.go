package gateway_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// errorPush waits for an error response with id 0 (an answer to a frame
// the server could not read an id from).
func errorPush(t *testing.T, c *transport.Conn) *wirepb.Error {
	t.Helper()
	for {
		f := next(t, c)
		if r := f.GetResponse(); r != nil && r.Error != nil {
			return r.Error
		}
	}
}

// stillServes proves the server answers: on c if it is open, and on a new
// connection in any case.
func stillServes(t *testing.T, srv *testserver.Server, c *transport.Conn) {
	t.Helper()
	if c != nil {
		call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
	}
	n := srv.Dial(t)
	call(t, n, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
	n.Close()
}

func TestBadInput(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: nil})
	ctx := ctxT(t)

	t.Run("malformed frame", func(t *testing.T) {
		c := srv.Dial(t)
		if err := c.WriteRaw(ctx, []byte{0xff, 0xff, 0xff, 0x0f, 0x01}); err != nil {
			t.Fatal(err)
		}
		if e := errorPush(t, c); e.Code != wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST {
			t.Fatalf("got %v", e)
		}
		stillServes(t, srv, c)
	})

	t.Run("text frame", func(t *testing.T) {
		ws, _, err := websocket.Dial(ctx, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		if err := ws.Write(ctx, websocket.MessageText, []byte(`{"hello":{}}`)); err != nil {
			t.Fatal(err)
		}
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f wirepb.ServerFrame
		if err := proto.Unmarshal(data, &f); err != nil || f.GetResponse().GetError().GetCode() != wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST {
			t.Fatalf("text frame answered %v %v", &f, err)
		}
	})

	t.Run("oversized frame", func(t *testing.T) {
		c := srv.Dial(t)
		big := make([]byte, srv.Config.MaxFrameBytes+1)
		_ = c.WriteRaw(ctx, big)
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("oversized frame did not end the connection")
		}
		if got := c.CloseStatus(); got != websocket.StatusMessageTooBig {
			t.Fatalf("close status %v (%v), want 1009", got, c.Err())
		}
		stillServes(t, srv, nil)
	})

	t.Run("unknown request kind", func(t *testing.T) {
		c := srv.Dial(t)
		// A ClientFrame from a newer protocol: id 9 and a body in field 999.
		raw := protowire.AppendTag(nil, 1, protowire.VarintType)
		raw = protowire.AppendVarint(raw, 9)
		raw = protowire.AppendTag(raw, 999, protowire.BytesType)
		raw = protowire.AppendBytes(raw, []byte{0x08, 0x01})
		if err := c.WriteRaw(ctx, raw); err != nil {
			t.Fatal(err)
		}
		for {
			r := next(t, c).GetResponse()
			if r == nil {
				continue
			}
			if r.Id != 9 || r.Error.GetCode() != wirepb.ErrorCode_ERROR_CODE_UNKNOWN_REQUEST {
				t.Fatalf("got %v", r)
			}
			break
		}
		stillServes(t, srv, c)
	})

	t.Run("wrong protocol version", func(t *testing.T) {
		ws, _, err := websocket.Dial(ctx, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		data, _ := proto.Marshal(&wirepb.ClientFrame{Id: 1, Body: &wirepb.ClientFrame_Hello{Hello: &wirepb.Hello{MinVersion: 7, MaxVersion: 9}}})
		if err := ws.Write(ctx, websocket.MessageBinary, data); err != nil {
			t.Fatal(err)
		}
		_, data, err = ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f wirepb.ServerFrame
		_ = proto.Unmarshal(data, &f)
		if f.GetResponse().GetError().GetCode() != wirepb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION {
			t.Fatalf("got %v", &f)
		}
		if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusProtocolError {
			t.Fatalf("connection not closed with 1002: %v", err)
		}
		stillServes(t, srv, nil)
	})

	t.Run("no hello first", func(t *testing.T) {
		ws, _, err := websocket.Dial(ctx, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		data, _ := proto.Marshal(&wirepb.ClientFrame{Id: 1, Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
		_ = ws.Write(ctx, websocket.MessageBinary, data)
		_, data, _ = ws.Read(ctx)
		var f wirepb.ServerFrame
		_ = proto.Unmarshal(data, &f)
		if f.GetResponse().GetError().GetCode() != wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST {
			t.Fatalf("got %v", &f)
		}
	})

	t.Run("not authenticated", func(t *testing.T) {
		c := srv.Dial(t)
		callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ListDevices{ListDevices: &wirepb.ListDevices{}}},
			wirepb.ErrorCode_ERROR_CODE_NOT_AUTHENTICATED)
		callErr(t, c, sendFrame(&testserver.Device{}, types.NewMessageID(), []types.DeviceID{1}, "x"),
			wirepb.ErrorCode_ERROR_CODE_NOT_AUTHENTICATED)
	})

	t.Run("bad auth", func(t *testing.T) {
		c := srv.Dial(t)
		dev := testserver.Register(t, c)
		_, wrong, _ := ed25519.GenerateKey(nil)
		n := srv.Dial(t)
		for i := range 3 {
			_, err := n.Authenticate(ctx, dev.Addr, wrong)
			if transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED && i < 2 {
				t.Fatalf("attempt %d with a wrong key: %v", i, err)
			}
		}
		// Three failures end the connection.
		select {
		case <-n.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection survived three failed authentications")
		}
		// An account that does not exist fails the same way.
		m := srv.Dial(t)
		if _, err := m.Authenticate(ctx, types.Address{Account: types.NewAccountID(), Device: 1}, dev.AuthKey); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED {
			t.Fatalf("unknown account: %v", err)
		}
		stillServes(t, srv, c)
	})

	t.Run("replayed auth", func(t *testing.T) {
		c := srv.Dial(t)
		dev := testserver.Register(t, c)
		// A proof made for one connection's challenge, captured and replayed on another.
		sig := ed25519.Sign(dev.AuthKey, wirepb.AuthMessage(c.Hello().Challenge, dev.Addr.Account, uint32(dev.Addr.Device)))
		n := srv.Dial(t)
		callErr(t, n, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Authenticate{Authenticate: &wirepb.Authenticate{
			AccountId: dev.Addr.Account[:], DeviceId: 1, Signature: sig}}}, wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED)
	})

	t.Run("ack for another device's message", func(t *testing.T) {
		ac, bc, cc := srv.Dial(t), srv.Dial(t), srv.Dial(t)
		testserver.Register(t, ac)
		bob := testserver.Register(t, bc)
		testserver.Register(t, cc)
		waitQueueEmpty(t, bc)
		waitQueueEmpty(t, cc)
		send(t, ac, bob, "for bob only")
		env := receive(t, bc, 1)[0]
		// Carol acks Bob's envelope: refused, and Bob still gets it again.
		callErr(t, cc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: []uint64{env.Id}}}},
			wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		bc.Close()
		bc = srv.Connect(t, bob)
		if got := waitQueueEmpty(t, bc); len(got) != 1 || got[0].Id != env.Id {
			t.Fatalf("bob's envelope after a foreign ack: %q", texts(got))
		}
	})

	t.Run("bundle for a missing account", func(t *testing.T) {
		c := srv.Dial(t)
		testserver.Register(t, c)
		missing := types.NewAccountID()
		callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: missing[:]}}},
			wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: []byte{1, 2}}}},
			wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
		stillServes(t, srv, c)
	})

	t.Run("send to a missing account", func(t *testing.T) {
		c := srv.Dial(t)
		testserver.Register(t, c)
		ghost := &testserver.Device{Addr: types.Address{Account: types.NewAccountID(), Device: 1}}
		callErr(t, c, sendFrame(ghost, types.NewMessageID(), []types.DeviceID{1}, "x"), wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
	})

	t.Run("bad keys at registration", func(t *testing.T) {
		c := srv.Dial(t)
		phone := testserver.NewPhone()
		call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: phone}}})
		keys, _ := testserver.NewDeviceKeys()
		keys.IdentityKey = keys.IdentityKey[:20]
		e := callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{
			Phone: phone, Code: testserver.Code, Device: keys}}}, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
		if !strings.Contains(e.Message, "identity key") {
			t.Errorf("message %q does not say what is wrong", e.Message)
		}
		callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: "12345"}}},
			wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
	})
}

// TestKeepAlive: a peer that stops answering pings is disconnected, while
// one that answers them stays.
func TestKeepAlive(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) { c.KeepAlive = time.Second }})
	ctx := ctxT(t)
	alive := srv.Dial(t) // its reader answers pings
	ws, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := proto.Marshal(&wirepb.ClientFrame{Id: 1, Body: &wirepb.ClientFrame_Hello{Hello: &wirepb.Hello{MinVersion: 1, MaxVersion: 1}}})
	if err := ws.Write(ctx, websocket.MessageBinary, hello); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// Not reading means not answering pings.
	time.Sleep(3500 * time.Millisecond)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, _, err = ws.Read(rctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a peer that ignored pings is still connected (%v)", err)
	}
	call(t, alive, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
}

// TestPreKeySignatures: signed prekeys must be signed by the device's own
// identity key, at registration and on upload.
func TestPreKeySignatures(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := srv.Dial(t)
	dev := testserver.Register(t, c)
	other, _ := testserver.NewDeviceKeys()
	stranger := testserver.SignedKey(mustKeyPair(t).Private, 5, testserver.ECKey())
	for name, set := range map[string]*wirepb.SetPreKeys{
		"signed by another key":      {SignedPrekey: stranger},
		"signature of another key":   {SignedPrekey: &wirepb.SignedPreKey{KeyId: 6, PublicKey: testserver.ECKey(), Signature: dev.Keys.SignedPrekey.Signature}},
		"kyber signed by a stranger": {OneTimeKyber: []*wirepb.SignedPreKey{testserver.SignedKey(mustKeyPair(t).Private, 7, testserver.KyberKey())}},
	} {
		e := callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SetPrekeys{SetPrekeys: set}}, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
		if !strings.Contains(e.Message, "signature") {
			t.Errorf("%s: %q does not say the signature is wrong", name, e.Message)
		}
	}
	call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SetPrekeys{SetPrekeys: &wirepb.SetPreKeys{SignedPrekey: dev.Sign(9, testserver.ECKey())}}})

	// Registration with prekeys signed by a key other than the identity key.
	phone := testserver.NewPhone()
	call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: phone}}})
	keys, _ := testserver.NewDeviceKeys()
	keys.SignedPrekey = other.SignedPrekey
	callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: phone, Code: testserver.Code, Device: keys}}},
		wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
}

func mustKeyPair(t *testing.T) curve.KeyPair {
	kp, err := curve.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}
