package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// sessionDevices lists the devices of peer that d has sessions with.
func (d *device) sessionDevices(peer types.AccountID) []uint32 {
	d.t.Helper()
	ds, err := d.Store().SessionDevices(ctxT(d.t), peer.String())
	if err != nil {
		d.t.Fatal(err)
	}
	return ds
}

// waitGone waits until d's connection ended because the server removed it.
func (d *device) waitGone() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		err := d.WaitIdle(ctx)
		if errors.Is(err, client.ErrDeviceGone) {
			return
		}
		if ctx.Err() != nil {
			d.t.Fatalf("device %s was not closed as removed: %v", d.Account(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deviceIDs(ds []client.Device) string {
	var s []string
	for _, d := range ds {
		x := d.ID.String()
		if d.Primary {
			x += "p"
		}
		if d.Current {
			x += "*"
		}
		s = append(s, x)
	}
	return fmt.Sprint(s)
}

func TestDevicesListAndRemove(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	alice.idle()
	laptop := link(t, srv, alice).connect()
	tablet := link(t, srv, alice).connect()
	bob := register(t, srv, "").connect()
	ctx := ctxT(t)

	ds, err := alice.Devices(ctx)
	if err != nil || deviceIDs(ds) != "[1p* 2 3]" {
		t.Fatalf("primary's devices: %s, %v; want [1p* 2 3]", deviceIDs(ds), err)
	}
	if ds[1].Created.IsZero() || time.Since(ds[1].Created) > time.Minute || ds[1].LastSeen.Before(ds[1].Created) {
		t.Errorf("linked device created %v, last seen %v", ds[1].Created, ds[1].LastSeen)
	}
	if ds, err := laptop.Devices(ctx); err != nil || deviceIDs(ds) != "[1p 2* 3]" {
		t.Fatalf("laptop's devices: %s, %v", deviceIDs(ds), err)
	}

	// Sessions everywhere: Bob with all three, Alice's devices with each other.
	alice.send(bob, "one")
	bob.waitHistory(alice.id(), "< one")
	bob.send(alice, "two")
	for _, d := range []*device{alice, laptop, tablet} {
		d.waitHistory(bob.id(), "> one", "< two")
	}
	if got := bob.sessionDevices(alice.id()); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("bob's sessions with alice: %v", got)
	}

	// The primary cannot go; a linked device may not remove another one.
	if err := alice.RemoveDevice(ctx, types.PrimaryDevice); !errors.Is(err, client.ErrPrimaryDevice) {
		t.Fatalf("removing the primary: %v", err)
	}
	if err := tablet.RemoveDevice(ctx, 2); err == nil {
		t.Fatal("a linked device removed another linked device")
	}

	// The primary removes the laptop: its connection is closed for good,
	// and the phone stops encrypting to it at once.
	if err := alice.RemoveDevice(ctx, 2); err != nil {
		t.Fatalf("remove laptop: %v", err)
	}
	laptop.waitGone()
	if got := alice.sessionDevices(alice.id()); slices.Contains(got, 2) {
		t.Errorf("the phone kept its session with the removed laptop: %v", got)
	}
	if ds, err := alice.Devices(ctx); err != nil || deviceIDs(ds) != "[1p* 3]" {
		t.Fatalf("devices after removal: %s, %v", deviceIDs(ds), err)
	}

	// Bob's next message reaches the phone and the tablet only; the server
	// told his client the laptop is gone, and it dropped the session.
	id := bob.send(alice, "three")
	if err := bob.WaitSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	alice.waitHistory(bob.id(), "> one", "< two", "< three")
	tablet.waitHistory(bob.id(), "> one", "< two", "< three")
	if got := bob.sessionDevices(alice.id()); !slices.Equal(got, []uint32{1, 3}) {
		t.Errorf("bob's sessions with alice after the removal: %v, want [1 3]", got)
	}
	// The tablet's own sync messages stop going to the laptop too.
	id = tablet.send(bob, "four")
	if err := tablet.WaitSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	alice.waitHistory(bob.id(), "> one", "< two", "< three", "> four")
	if got := tablet.sessionDevices(alice.id()); slices.Contains(got, 2) {
		t.Errorf("the tablet kept its session with the removed laptop: %v", got)
	}
	// Nothing reached the laptop after its removal, and it cannot return.
	if got := texts(laptop.history(bob.id())); !slices.Equal(got, []string{"> one", "< two"}) {
		t.Errorf("removed laptop's history: %q", got)
	}
	if err := laptop.Connect(); !errors.Is(err, client.ErrDeviceGone) {
		t.Errorf("reconnecting a removed device: %v, want ErrDeviceGone", err)
	}

	// A linked device may remove itself.
	if err := tablet.RemoveDevice(ctx, tablet.Account().Device); err != nil {
		t.Fatalf("tablet removing itself: %v", err)
	}
	tablet.waitGone()
	if ds, err := alice.Devices(ctx); err != nil || deviceIDs(ds) != "[1p*]" {
		t.Fatalf("devices at the end: %s, %v", deviceIDs(ds), err)
	}
}
