package client

import (
	"context"

	"github.com/parley-im/parley/client/clientstore"
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
