package client_test

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
)

func TestLookupPhone(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Config: func(c *config.Config) { c.LookupRateLimit = 3 }})
	bobPhone, carolPhone := testserver.NewPhone(), testserver.NewPhone()
	alice := register(t, srv, "") // not connected: the lookup makes its own connection
	bob := register(t, srv, bobPhone).connect()
	carol := register(t, srv, carolPhone).connect()
	ctx := ctxT(t)

	// The user types the number the way people write it.
	got, err := alice.LookupPhone(ctx, bobPhone[:5]+" "+bobPhone[5:])
	if err != nil || got != bob.id() {
		t.Fatalf("lookup of bob = %v, %v; want %v", got, err, bob.id())
	}
	ct, err := alice.Store().ContactByPhone(ctx, bobPhone)
	if err != nil || ct.Account != bob.id() {
		t.Fatalf("bob not saved as a contact: %+v, %v", ct, err)
	}

	// A named contact keeps its name when the server supplies the number.
	if err := alice.SaveContact(ctx, clientstore.Contact{Account: carol.id(), Name: "Carol"}); err != nil {
		t.Fatal(err)
	}
	alice.connect()
	if got, err := alice.LookupPhone(ctx, carolPhone); err != nil || got != carol.id() {
		t.Fatalf("lookup of carol = %v, %v", got, err)
	}
	if ct, err := alice.Store().Contact(ctx, carol.id()); err != nil || ct.Name != "Carol" || ct.Phone != carolPhone {
		t.Fatalf("carol's contact after lookup: %+v, %v", ct, err)
	}

	// Nobody has this number; a malformed number never reaches the server.
	if _, err := alice.LookupPhone(ctx, testserver.NewPhone()); !errors.Is(err, client.ErrUnknownPhone) {
		t.Fatalf("lookup of an unregistered number: %v, want ErrUnknownPhone", err)
	}
	if _, err := alice.LookupPhone(ctx, "call me"); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("lookup of a malformed number: %v, want ErrInvalid", err)
	}

	// Known contacts cost nothing; the fourth new number is over the limit.
	for range 3 {
		if _, err := alice.LookupPhone(ctx, bobPhone); err != nil {
			t.Fatalf("lookup of a known contact: %v", err)
		}
	}
	if _, err := alice.LookupPhone(ctx, testserver.NewPhone()); transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("lookup over the limit: %v, want RATE_LIMITED", err)
	}

	// What the lookup found is what messages go to.
	alice.send(bob, "found you")
	bob.waitHistory(alice.id(), "< found you")
}
