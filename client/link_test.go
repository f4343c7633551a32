package client_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// startLink opens a fresh profile and starts linking it; Wait runs in the
// background and its result arrives on the channel.
func startLink(t *testing.T, srv *testserver.Server) (*device, *client.PendingLink, chan error) {
	t.Helper()
	d := openDevice(t, t.TempDir())
	p, err := d.StartLink(ctxT(t), srv.URL)
	if err != nil {
		t.Fatalf("start link: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return d, p, make(chan error, 1)
}

func wait(t *testing.T, p *client.PendingLink, errc chan error) {
	t.Helper()
	go func() { errc <- p.Wait(ctxT(t)) }()
}

func TestLinkByQRCode(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	phone := testserver.NewPhone()
	alice := register(t, srv, phone).connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "before the laptop")
	bob.waitHistory(alice.id(), "< before the laptop")
	ctx := ctxT(t)

	laptop, p, errc := startLink(t, srv)
	uri := p.URI()
	if !strings.HasPrefix(uri, "parley://link?") || len(uri) > 200 {
		t.Fatalf("link URI %q", uri)
	}
	wait(t, p, errc)
	// The user pastes it with the spaces and line break of a chat app.
	if err := alice.ApproveLink(ctx, "  "+uri+"\n"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("wait: %v", err)
	}
	a := laptop.Account()
	if a.ID != alice.id() || a.Device != 2 || a.Phone != phone {
		t.Fatalf("linked as %s with phone %q; want %s.2 with %s", a, a.Phone, alice.id(), phone)
	}
	// The primary vouched for the laptop's identity, and the laptop knows
	// the primary's key from the QR channel, verified.
	primary, sig, ok := laptop.LinkVouch()
	if !ok || primary != alice.Account().Identity.Public ||
		!client.VerifyDeviceVouch(a.ID, primary, a.Identity.Public, sig) {
		t.Fatalf("link vouch: %v %x %v", primary, sig, ok)
	}
	if client.VerifyDeviceVouch(a.ID, primary, bob.Account().Identity.Public, sig) {
		t.Fatal("the vouch verifies for another device's identity")
	}
	pi, err := laptop.Store().PeerIdentity(ctx, clientstoreAddr(alice.id(), 1))
	if err != nil || pi.Key != primary || pi.Trust != clientstore.TrustVerified {
		t.Fatalf("laptop's record of the primary: %+v, %v", pi, err)
	}
	if _, _, ok := alice.LinkVouch(); ok {
		t.Error("the primary claims a vouch")
	}

	// The laptop sends and receives, and has the history from now on.
	laptop.connect()
	bob.send(alice, "after the laptop")
	laptop.waitHistory(bob.id(), "< after the laptop")
	laptop.send(bob, "from the laptop")
	bob.waitHistory(alice.id(), "< before the laptop", "> after the laptop", "< from the laptop")
	alice.waitHistory(bob.id(), "> before the laptop", "< after the laptop", "> from the laptop")

	// The URI is used up: the laptop no longer waits there.
	if err := alice.ApproveLink(ctx, uri); !errors.Is(err, client.ErrLinkGone) {
		t.Fatalf("approving a used URI: %v, want ErrLinkGone", err)
	}
	// Linking a profile twice is refused.
	if _, err := laptop.StartLink(ctx, srv.URL); !errors.Is(err, client.ErrRegistered) {
		t.Fatalf("start link on a linked profile: %v", err)
	}
}

func clientstoreAddr(a types.AccountID, d types.DeviceID) session.Address {
	return session.Address{Name: a.String(), DeviceID: uint32(d)}
}

func TestLinkRejectsWrongURIs(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	alice.idle()
	ctx := ctxT(t)
	_, p, _ := startLink(t, srv)
	good := p.URI()
	key := base64.RawURLEncoding.EncodeToString(alice.Account().Identity.Public.Bytes())
	for _, uri := range []string{
		"",
		"hello",
		strings.Replace(good, "parley://", "https://", 1),
		strings.Replace(good, "://link?", "://join?", 1),
		strings.Replace(good, "addr=", "addr=%2F", 1),
		strings.Replace(good, "pub=", "pub=AAAA", 1),
		strings.Replace(good, "id=", "x=", 1),
		"parley://link?addr=abc&pub=" + key + "&id=" + strings.Replace(key, "B", "A", 1)[:20],
		"parley://link?addr=abc&pub=" + base64.RawURLEncoding.EncodeToString(append([]byte{0x08}, make([]byte, 32)...)) + "&id=" + key,
		good + strings.Repeat("&pad=x", 100),
	} {
		if err := alice.ApproveLink(ctx, uri); !errors.Is(err, client.ErrInvalidLinkURI) {
			t.Errorf("ApproveLink(%q) = %v, want ErrInvalidLinkURI", uri, err)
		}
	}
	// Well formed, but nobody waits at that address.
	other := strings.Replace(good, "addr="+client.ProvisioningAddress(good), "addr=AAAAAAAAAAAAAAAAAAAAAA", 1)
	if err := alice.ApproveLink(ctx, other); !errors.Is(err, client.ErrLinkGone) {
		t.Errorf("ApproveLink to an address nobody opened = %v, want ErrLinkGone", err)
	}
	// Only the primary approves.
	laptop := link(t, srv, alice).connect()
	if err := laptop.ApproveLink(ctx, good); !errors.Is(err, client.ErrNotPrimary) {
		t.Errorf("ApproveLink on a linked device = %v, want ErrNotPrimary", err)
	}
}

func TestLinkRejectsTamperedProvisioning(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	alice.idle()
	ctx := ctxT(t)
	newDev, p, errc := startLink(t, srv)
	uri := p.URI()

	// Mallory has an account too, so the server relays what she sends; she
	// learned the address (not necessarily the key).
	mc := srv.Dial(t)
	testserver.Register(t, mc)
	relay := func(body []byte) error {
		_, err := mc.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ProvisionSend{ProvisionSend: &wirepb.ProvisionSend{
			Address: client.ProvisioningAddress(uri), Body: body}}})
		return err
	}
	aliceKey := alice.Account().Identity
	genuine, err := client.SealProvisioning(uri, "ABCDEFGH", alice.id(), alice.Account().Phone, aliceKey.Public, aliceKey.Private)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), genuine...)
	flipped[len(flipped)-20] ^= 1
	malloryKey, _ := curve.GenerateKeyPair(nil)
	// Claims Alice's identity but is signed by another key.
	forged, err := client.SealProvisioning(uri, "ABCDEFGH", alice.id(), alice.Account().Phone, aliceKey.Public, malloryKey.Private)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"garbage":          []byte("not a provisioning message at all"),
		"one bit flipped":  flipped,
		"forged signature": forged,
		"other version":    append([]byte{2}, genuine[1:]...),
	} {
		if err := relay(body); err != nil {
			t.Fatalf("%s: relay: %v", name, err)
		}
		wait(t, p, errc)
		if err := <-errc; !errors.Is(err, client.ErrBadProvisioning) {
			t.Fatalf("%s: Wait = %v, want ErrBadProvisioning", name, err)
		}
		if a := newDev.Account(); !a.ID.IsZero() {
			t.Fatalf("%s: the device was linked to %s", name, a.ID)
		}
	}

	// The address stays open: the real primary's approval still works.
	wait(t, p, errc)
	if err := alice.ApproveLink(ctx, uri); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("wait after rejected messages: %v", err)
	}
	if newDev.Account().ID != alice.id() {
		t.Fatalf("linked to %s, want %s", newDev.Account().ID, alice.id())
	}
}
