package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Device is one device of this account, as the server lists it.
type Device struct {
	ID types.DeviceID
	// Name is the device's name; empty when it has none this device can
	// read (the server keeps names only as opaque, client-encrypted bytes,
	// and this version sets none).
	Name     string
	Created  time.Time
	LastSeen time.Time
	// Current is this device; Primary the account's primary device (1),
	// the one that links and removes the others.
	Current bool
	Primary bool
}

// Devices lists the account's devices, by id.
func (c *Client) Devices(ctx context.Context) ([]Device, error) {
	acct, err := c.account()
	if err != nil {
		return nil, err
	}
	res, err := c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ListDevices{ListDevices: &wirepb.ListDevices{}}})
	if err != nil {
		return nil, err
	}
	var out []Device
	for _, d := range res.GetDevices().GetDevices() {
		id := types.DeviceID(d.DeviceId)
		out = append(out, Device{
			ID: id, Created: time.UnixMilli(d.CreatedMs), LastSeen: time.UnixMilli(d.LastSeenMs),
			Current: id == acct.Device, Primary: id == types.PrimaryDevice,
		})
	}
	slices.SortFunc(out, func(a, b Device) int { return int(a.ID) - int(b.ID) })
	return out, nil
}

// ErrPrimaryDevice: the primary device cannot be removed (it goes only
// with the account, or when the number registers on a new phone).
var ErrPrimaryDevice = errors.New("client: the primary device cannot be removed")

// RemoveDevice unlinks device id from the account: the primary removes any
// linked device, a linked device only itself. The server deletes its keys
// and queued messages and closes its connection (it then fails with
// ErrDeviceGone); this device drops its sessions with it at once, so
// nothing more is encrypted to it. Other senders learn it from the server
// on their next send (Sesame: the device is "extra") and drop theirs.
func (c *Client) RemoveDevice(ctx context.Context, id types.DeviceID) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	if id == types.PrimaryDevice {
		return ErrPrimaryDevice
	}
	if id == 0 {
		return fmt.Errorf("%w: device id 0", ErrInvalid)
	}
	_, err = c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RemoveDevice{RemoveDevice: &wirepb.RemoveDevice{DeviceId: uint32(id)}}})
	if id == acct.Device {
		// The server closes our connection, possibly before its answer
		// arrives: a connection ended for that reason is the success, and
		// so is a reconnection the server refuses because the device is
		// gone.
		if errors.Is(err, ErrDeviceGone) || errors.Is(err, transport.ErrClosed) ||
			transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	c.crypto.Lock()
	defer c.crypto.Unlock()
	return c.st.DeleteSession(ctx, sessionAddr(acct.ID, id))
}
