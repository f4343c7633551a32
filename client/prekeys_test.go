package client_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
)

// TestPreKeysReplenished: others claim Alice's one-time prekeys; when the
// server says they run low, Alice uploads more, so every claim keeps
// getting one, and sessions started from the new ones decrypt.
func TestPreKeysReplenished(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "", func(o *client.Options) { o.PreKeyBatch = 12 }).connect()
	alice.idle()
	raw := srv.Dial(t)
	testserver.Register(t, raw)

	claims := 0
	for range 3 * 12 {
		eventually(t, fmt.Sprintf("a one-time prekey after %d claims", claims), func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			id := alice.id()
			res, err := raw.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: id[:], DeviceId: 1}}})
			if err != nil {
				return false, err.Error()
			}
			b := res.GetBundle().GetDevices()[0]
			return b.OneTimePrekey != nil, "bundle without a one-time prekey"
		})
		claims++
	}
	bob := register(t, srv, "").connect()
	bob.send(alice, "on a replenished prekey")
	alice.waitHistory(bob.id(), "< on a replenished prekey")
}
