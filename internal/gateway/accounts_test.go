package gateway_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// link adds a new device to primary's account through the provisioning
// flow a QR code drives, and authenticates it on its own connection.
func link(t *testing.T, srv *testserver.Server, primary *transport.Conn) (*testserver.Device, *transport.Conn) {
	t.Helper()
	nc := srv.Dial(t)
	addr := call(t, nc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ProvisionOpen{ProvisionOpen: &wirepb.ProvisionOpen{}}}).
		GetProvisionOpen().Address
	code := call(t, primary, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateLinkCode{CreateLinkCode: &wirepb.CreateLinkCode{}}}).
		GetLinkCode().Code
	// The primary "scans the QR" and sends the (client-encrypted) provisioning message.
	call(t, primary, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ProvisionSend{ProvisionSend: &wirepb.ProvisionSend{
		Address: addr, Body: []byte("sealed:" + code)}}})
	var body []byte
	for body == nil {
		if p := next(t, nc).GetProvision(); p != nil {
			body = p.Body
		}
	}
	if string(body) != "sealed:"+code {
		t.Fatalf("provisioning message arrived as %q", body)
	}
	keys, priv := testserver.NewDeviceKeys()
	res := call(t, nc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LinkDevice{LinkDevice: &wirepb.LinkDevice{
		Code: code, Device: keys}}}).GetRegister()
	d := &testserver.Device{AuthKey: priv, Keys: keys,
		Addr: types.Address{Account: types.AccountID(res.AccountId), Device: types.DeviceID(res.DeviceId)}}
	if _, err := nc.Authenticate(ctxT(t), d.Addr, priv); err != nil {
		t.Fatal(err)
	}
	return d, nc
}

func TestLinkedDevices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		ac, bc := srv.Dial(t), srv.Dial(t)
		alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
		waitQueueEmpty(t, ac)
		bob2, b2c := link(t, srv, bc)
		if bob2.Addr.Account != bob.Addr.Account || bob2.Addr.Device != 2 {
			t.Fatalf("linked device is %v, want %v.2", bob2.Addr, bob.Addr.Account)
		}
		waitQueueEmpty(t, b2c)
		waitQueueEmpty(t, bc)

		// A send that leaves out Bob's new device is refused with the device list.
		e := callErr(t, ac, sendFrame(bob, types.NewMessageID(), []types.DeviceID{1}, "x"), wirepb.ErrorCode_ERROR_CODE_MISMATCHED_DEVICES)
		if len(e.Mismatched.GetMissing()) != 1 || e.Mismatched.Missing[0] != 2 {
			t.Fatalf("mismatch %v, want missing [2]", e.Mismatched)
		}
		e = callErr(t, ac, sendFrame(bob, types.NewMessageID(), []types.DeviceID{1, 2, 3}, "x"), wirepb.ErrorCode_ERROR_CODE_MISMATCHED_DEVICES)
		if len(e.Mismatched.GetExtra()) != 1 || e.Mismatched.Extra[0] != 3 {
			t.Fatalf("mismatch %v, want extra [3]", e.Mismatched)
		}
		stale := sendFrame(bob, types.NewMessageID(), []types.DeviceID{1, 2}, "x")
		stale.GetSend().Envelopes[1].RegistrationId = bob2.Keys.RegistrationId%16380 + 1
		if e = callErr(t, ac, stale, wirepb.ErrorCode_ERROR_CODE_MISMATCHED_DEVICES); len(e.Mismatched.GetStale()) != 1 {
			t.Fatalf("mismatch %v, want stale [2]", e.Mismatched)
		}

		// To both of Bob's devices; each gets its own envelope.
		call(t, ac, sendFrame(bob, types.NewMessageID(), []types.DeviceID{1, 2}, "to both"))
		for _, c := range []*transport.Conn{bc, b2c} {
			if got := receive(t, c, 1); string(got[0].Content) != "to both" {
				t.Fatalf("got %q", got[0].Content)
			}
		}
		// Bob's primary syncs to his own second device: the sender's device is left out.
		call(t, bc, sendFrame(bob, types.NewMessageID(), []types.DeviceID{2}, "sync"))
		if got := receive(t, b2c, 1); string(got[0].Content) != "sync" || got[0].SenderDevice != 1 {
			t.Fatalf("sync got %q from device %d", got[0].Content, got[0].SenderDevice)
		}

		// Bundles for every device, each with its own identity key.
		bundle := call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: bob.Addr.Account[:]}}}).GetBundle()
		if len(bundle.Devices) != 2 || bytes.Equal(bundle.Devices[0].IdentityKey, bundle.Devices[1].IdentityKey) {
			t.Fatalf("bundle: %d devices", len(bundle.Devices))
		}
		devs := call(t, b2c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ListDevices{ListDevices: &wirepb.ListDevices{}}}).GetDevices().Devices
		if len(devs) != 2 {
			t.Fatalf("device list has %d", len(devs))
		}

		// A linked device may not link others, nor remove the primary.
		callErr(t, b2c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateLinkCode{CreateLinkCode: &wirepb.CreateLinkCode{}}}, wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)
		callErr(t, b2c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RemoveDevice{RemoveDevice: &wirepb.RemoveDevice{DeviceId: 1}}}, wirepb.ErrorCode_ERROR_CODE_FORBIDDEN)

		// The primary removes it: its connection is closed, it cannot come back.
		call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RemoveDevice{RemoveDevice: &wirepb.RemoveDevice{DeviceId: 2}}})
		select {
		case <-b2c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("removed device stayed connected")
		}
		if got := b2c.CloseStatus(); got != 4002 {
			t.Errorf("close status %v, want 4002", got)
		}
		n := srv.Dial(t)
		if _, err := n.Authenticate(ctxT(t), bob2.Addr, bob2.AuthKey); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED {
			t.Fatalf("removed device authenticated: %v", err)
		}
		send(t, ac, bob, "after removal") // one device again
		_ = alice
	})
}

func TestDeviceLimitAndLinkCodes(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) { c.MaxDevices = 2 }})
	pc := srv.Dial(t)
	testserver.Register(t, pc)
	link(t, srv, pc)
	// A third device is over the limit of 2.
	code := call(t, pc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateLinkCode{CreateLinkCode: &wirepb.CreateLinkCode{}}}).GetLinkCode().Code
	keys, _ := testserver.NewDeviceKeys()
	nc := srv.Dial(t)
	callErr(t, nc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LinkDevice{LinkDevice: &wirepb.LinkDevice{Code: code, Device: keys}}},
		wirepb.ErrorCode_ERROR_CODE_DEVICE_LIMIT)
	// Codes are one use, and made-up ones fail.
	callErr(t, nc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LinkDevice{LinkDevice: &wirepb.LinkDevice{Code: code, Device: keys}}},
		wirepb.ErrorCode_ERROR_CODE_INVALID_CODE)
	callErr(t, nc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LinkDevice{LinkDevice: &wirepb.LinkDevice{Code: "ABCDEFGH", Device: keys}}},
		wirepb.ErrorCode_ERROR_CODE_INVALID_CODE)
	// Provisioning to an address nobody holds is reported.
	callErr(t, pc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ProvisionSend{ProvisionSend: &wirepb.ProvisionSend{
		Address: "AAAAAAAAAAAAAAAAAAAAAA", Body: []byte("x")}}}, wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
}

func TestRegistrationCodes(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) { c.CodeInterval = time.Minute }})
	c := srv.Dial(t)
	phone := testserver.NewPhone()
	rc := &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: phone}}}
	res := call(t, c, rc).GetRequestCode()
	if res.ExpiresInSeconds != 600 {
		t.Errorf("code expires in %ds, want 600", res.ExpiresInSeconds)
	}
	// A second code for the same number within a minute is refused.
	e := callErr(t, c, rc, wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	if e.RetryAfterSeconds == 0 || e.RetryAfterSeconds > 60 {
		t.Errorf("retry after %ds", e.RetryAfterSeconds)
	}
	// Wrong codes count; after five attempts even the right code fails.
	keys, _ := testserver.NewDeviceKeys()
	reg := func(code string) *wirepb.ClientFrame {
		return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: phone, Code: code, Device: keys}}}
	}
	for range 5 {
		callErr(t, c, reg("000000"), wirepb.ErrorCode_ERROR_CODE_INVALID_CODE)
	}
	callErr(t, c, reg(testserver.Code), wirepb.ErrorCode_ERROR_CODE_INVALID_CODE)
	// A number never sent a code cannot register.
	callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{
		Phone: testserver.NewPhone(), Code: testserver.Code, Device: keys}}}, wirepb.ErrorCode_ERROR_CODE_INVALID_CODE)
}

func TestPerAddressLimit(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) { c.IPRateLimit = 3 }})
	c := srv.Dial(t)
	for range 3 {
		call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: testserver.NewPhone()}}})
	}
	callErr(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: testserver.NewPhone()}}},
		wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED)
}

func TestReregistrationAndNumberChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		ac, bc := srv.Dial(t), srv.Dial(t)
		alice := testserver.Register(t, ac)
		bob := testserver.Register(t, bc)
		waitQueueEmpty(t, ac)
		bc.Close()
		send(t, ac, bob, "queued for the old phone")

		// Bob's number moves to a new phone: same account, old device gone with its mail.
		nc := srv.Dial(t)
		newBob := testserver.RegisterPhone(t, nc, bob.Phone)
		if newBob.Addr != bob.Addr {
			t.Fatalf("re-registration made %v, want the same account %v", newBob.Addr, bob.Addr)
		}
		if got := waitQueueEmpty(t, nc); len(got) != 0 {
			t.Fatalf("new phone received the old phone's mail: %q", texts(got))
		}
		old := srv.Dial(t)
		if _, err := old.Authenticate(ctxT(t), bob.Addr, bob.AuthKey); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED {
			t.Fatalf("old phone still authenticates: %v", err)
		}

		// Alice moves to a new number; her account, and Bob's sessions with it, stay.
		newNumber := testserver.NewPhone()
		call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: newNumber}}})
		call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ChangeNumber{ChangeNumber: &wirepb.ChangeNumber{Phone: newNumber, Code: testserver.Code}}})
		// Bob's number is taken.
		call(t, nc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: testserver.NewPhone()}}})
		call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: bob.Phone}}})
		callErr(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ChangeNumber{ChangeNumber: &wirepb.ChangeNumber{Phone: bob.Phone, Code: testserver.Code}}},
			wirepb.ErrorCode_ERROR_CODE_NUMBER_TAKEN)
		// Registering the old number now makes a new account.
		fresh := testserver.RegisterPhone(t, srv.Dial(t), alice.Phone)
		if fresh.Addr.Account == alice.Addr.Account {
			t.Fatal("old number still led to the moved account")
		}
		send(t, nc, alice, "still reachable")
	})
}

func TestDeleteAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		ac, bc := srv.Dial(t), srv.Dial(t)
		alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
		_, b2c := link(t, srv, bc)
		waitQueueEmpty(t, b2c)
		b2c.Close()
		call(t, ac, sendFrame(bob, types.NewMessageID(), []types.DeviceID{1, 2}, "unread"))

		call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_DeleteAccount{DeleteAccount: &wirepb.DeleteAccount{}}})
		select {
		case <-bc.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("deleted account's connection stayed open")
		}
		if got := bc.CloseStatus(); got != 4003 {
			t.Errorf("close status %v, want 4003", got)
		}
		// Nothing is left: no bundle, no sends, no login, and the number is free.
		callErr(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: bob.Addr.Account[:]}}},
			wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		callErr(t, ac, sendFrame(bob, types.NewMessageID(), []types.DeviceID{1}, "x"), wirepb.ErrorCode_ERROR_CODE_NOT_FOUND)
		n := srv.Dial(t)
		if _, err := n.Authenticate(ctxT(t), bob.Addr, bob.AuthKey); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED {
			t.Fatalf("deleted account authenticated: %v", err)
		}
		again := testserver.RegisterPhone(t, srv.Dial(t), bob.Phone)
		if again.Addr.Account == bob.Addr.Account {
			t.Fatal("the deleted account came back")
		}
		_ = alice
	})
}

func TestReplacedConnection(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c1 := srv.Dial(t)
	d := testserver.Register(t, c1)
	c2 := srv.Connect(t, d)
	select {
	case <-c1.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("older connection of the same device stayed open")
	}
	if got := c1.CloseStatus(); got != 4001 {
		t.Errorf("close status %v, want 4001", got)
	}
	call(t, c2, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
	_ = websocket.StatusNormalClosure
}
