package client_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/e2ee/fingerprint"
	"github.com/parley-im/parley/internal/testserver"
)

func (d *device) safety(peer *device) client.SafetyNumber {
	d.t.Helper()
	sn, err := d.SafetyNumber(ctxT(d.t), peer.id())
	if err != nil {
		d.t.Fatalf("safety number: %v", err)
	}
	return sn
}

func (d *device) compare(peer *device, scanned []byte) bool {
	d.t.Helper()
	ok, err := d.CompareSafetyNumber(ctxT(d.t), peer.id(), scanned)
	if err != nil {
		d.t.Fatalf("compare: %v", err)
	}
	return ok
}

func TestSafetyNumbers(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	carol := register(t, srv, "").connect()
	alice.send(bob, "hi")
	bob.waitHistory(alice.id(), "< hi")
	ctx := ctxT(t)

	// Both sides show the same 60 digits.
	sa, sb := alice.safety(bob), bob.safety(alice)
	if sa.Digits != sb.Digits || len(sa.Digits) != 60 || strings.Trim(sa.Digits, "0123456789") != "" {
		t.Fatalf("alice sees %q, bob %q", sa.Digits, sb.Digits)
	}
	if len(sa.Groups()) != 12 || strings.Join(sa.Groups(), "") != sa.Digits {
		t.Errorf("groups %v", sa.Groups())
	}
	if sa.Verified {
		t.Error("verified before anyone compared")
	}
	// Scanning the other's code matches; a third party's, or one's own
	// code scanned back, does not.
	if !alice.compare(bob, sb.Scannable) || !bob.compare(alice, sa.Scannable) {
		t.Fatal("scanning each other's code does not match")
	}
	if sc := carol.safety(bob); alice.compare(bob, sc.Scannable) {
		t.Fatal("carol's code with bob matches alice's with bob")
	}
	if alice.compare(bob, sa.Scannable) {
		t.Fatal("alice's own code, scanned back, matches")
	}
	if _, err := alice.CompareSafetyNumber(ctx, bob.id(), []byte("not a code")); !errors.Is(err, client.ErrInvalid) || !errors.Is(err, fingerprint.ErrMalformed) {
		t.Fatalf("comparing garbage: %v", err)
	}
	// Carol and Alice never talked: the key comes from the server.
	if ca, ac := carol.safety(alice), alice.safety(carol); ca.Digits != ac.Digits || ca.Digits == sa.Digits {
		t.Fatalf("carol/alice numbers %q and %q (alice/bob %q)", ca.Digits, ac.Digits, sa.Digits)
	}

	// A linked device shows its account's number, whether the primary
	// vouched for it (QR code) or it learned the primary's key itself.
	laptop, p, errc := startLink(t, srv)
	wait(t, p, errc)
	if err := alice.ApproveLink(ctx, p.URI()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	laptop.connect()
	tablet := link(t, srv, alice).connect()
	for name, d := range map[string]*device{"laptop": laptop, "tablet": tablet} {
		if got := d.safety(bob).Digits; got != sa.Digits {
			t.Errorf("%s's number with bob %q, the primary's %q", name, got, sa.Digits)
		}
	}

	// Alice verifies; then Bob reinstalls with new keys: the number
	// changes, the mark is gone, and sending waits for Alice.
	if err := alice.VerifyIdentity(ctx, bob.id()); err != nil {
		t.Fatal(err)
	}
	if !alice.safety(bob).Verified {
		t.Fatal("not verified after VerifyIdentity")
	}
	bob.Close()
	bob2 := register(t, srv, bob.Account().Phone).connect()
	held := alice.send(bob2, "after reinstall")
	eventually(t, "identity change noticed", func() (bool, string) {
		ch, _ := alice.ChangedIdentities(ctx)
		return len(ch) == 1, fmt.Sprint(ch)
	})
	s2 := alice.safety(bob2)
	if s2.Digits == sa.Digits || s2.Verified {
		t.Fatalf("after bob's new key: %q verified=%v (before: %q)", s2.Digits, s2.Verified, sa.Digits)
	}
	if _, err := alice.SendText(ctx, bob2.id(), "blocked"); !errors.Is(err, client.ErrIdentityChanged) {
		t.Fatalf("send after the change: %v", err)
	}
	if alice.compare(bob2, sb.Scannable) {
		t.Fatal("bob's old code matches his new key")
	}
	// They meet and compare again; verifying releases what was held.
	if s := bob2.safety(alice); s.Digits != s2.Digits || !alice.compare(bob2, s.Scannable) {
		t.Fatalf("bob's new number %q, alice's %q", s.Digits, s2.Digits)
	}
	if err := alice.VerifyIdentity(ctx, bob2.id()); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitSent(ctx, held); err != nil {
		t.Fatal(err)
	}
	bob2.waitHistory(alice.id(), "< after reinstall")
	if !alice.safety(bob2).Verified {
		t.Error("not verified after verifying the new key")
	}
	if _, err := alice.SafetyNumber(ctx, alice.id()); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("safety number with oneself: %v", err)
	}
}
