package client

import (
	"context"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// SetCrashAfterAccept makes the client behave as if it died right after the
// server accepted a send, before recording it: the outbox item stays.
func SetCrashAfterAccept(c *Client, f func(types.MessageID) bool) { c.hook.afterAccept = f }

// SetCrashBeforeAck makes the client store received envelopes but not
// acknowledge them, as if it died in between.
func SetCrashBeforeAck(c *Client, f func() bool) { c.hook.beforeAck = f }

func messageOf(raw []byte) clientstore.Message {
	return clientstore.Message{Kind: KindText, Content: raw}
}

// ClaimPhone makes c send phone as its number from now on, the way a
// modified client could: for tests that the receivers do not believe it.
func ClaimPhone(c *Client, phone string) {
	c.mu.Lock()
	c.acct.Phone = phone
	c.mu.Unlock()
}

// KnownDevices is how many devices SendFile tells the server will fetch
// a blob sent to `to`.
func KnownDevices(c *Client, to types.AccountID) uint32 {
	return c.knownDevices(context.Background(), to)
}

// SetGroupSentHook lets a test see every SenderKeyMessage c sends to a
// group (to check who can decrypt it).
func SetGroupSentHook(c *Client, f func(types.GroupID, []byte)) { c.hook.groupSent = f }

// InjectEnvelope hands c an envelope as if its server had delivered it
// (a server that tampers), and reports whether c would acknowledge it.
func InjectEnvelope(ctx context.Context, c *Client, e *wirepb.Envelope) bool {
	return c.receiveOne(ctx, c.current(), e)
}

// SetAfterEncrypt runs f each time c has encrypted a message for the
// device addr names (account id in UUID form, device id), before it is
// sent; f may touch c's store as another goroutine of c would.
func SetAfterEncrypt(c *Client, f func(name string, device uint32)) {
	c.hook.afterEncrypt = func(a session.Address) { f(a.Name, a.DeviceID) }
}

// DeleteSession forgets c's session with one device of account, as the
// send path does when the server says the device is stale or gone, but
// straight in the store: an afterEncrypt hook, which holds the crypto
// lock, may call it.
func DeleteSession(ctx context.Context, c *Client, account types.AccountID, device types.DeviceID) error {
	return c.st.DeleteSession(ctx, sessionAddr(account, device))
}

// GroupHead is the head hash of c's verified state of group g.
func GroupHead(ctx context.Context, c *Client, g types.GroupID) ([32]byte, error) {
	gr, err := c.loadGroup(ctx, g)
	if err != nil || gr.state == nil {
		return [32]byte{}, err
	}
	return gr.state.Head, nil
}
