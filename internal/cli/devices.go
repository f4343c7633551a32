package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/types"
)

var devicesCmd = &command{
	name:    "devices",
	args:    "[--remove ID] [--json] [flags]",
	summary: "list this account's devices, or remove one",
	help: "Devices lists the devices of this profile's account, as the server knows " +
		"them: the primary (device 1, the phone that registered) and the devices " +
		"linked to it with 'parley link'. --remove ID unlinks a device: the server " +
		"deletes its keys and queued messages and disconnects it, and nothing more " +
		"is encrypted to it. The primary can remove any linked device, a linked " +
		"device only itself; the primary cannot be removed.\n\n" + profileHelp,
	run: runDevices,
}

func runDevices(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("devices")
	remove := fs.String("remove", "", "remove the device with this `id`")
	asJSON := fs.Bool("json", false, "print one JSON object per device")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	var removeID types.DeviceID
	if *remove != "" {
		n, err := strconv.ParseUint(*remove, 10, 32)
		if err != nil || n == 0 {
			return e.usageError("devices", "--remove %q is not a device id (a number from the list)", *remove)
		}
		removeID = types.DeviceID(n)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, _, err := e.openRegistered(ctx, *profile)
	if err != nil {
		return e.fail("devices", err)
	}
	defer c.Close()

	if removeID != 0 {
		err := c.RemoveDevice(ctx, removeID)
		switch {
		case errors.Is(err, client.ErrPrimaryDevice):
			return e.fail("devices", errors.New("the primary device cannot be removed"))
		case err != nil:
			return e.fail("devices", fmt.Errorf("remove device %d: %w", removeID, err))
		case removeID == c.Account().Device:
			fmt.Fprintf(e.stdout, "Removed this device (%d) from the account; its profile cannot be used any more.\n", removeID)
		default:
			fmt.Fprintf(e.stdout, "Removed device %d.\n", removeID)
		}
		return exitOK
	}

	devs, err := c.Devices(ctx)
	if err != nil {
		return e.fail("devices", err)
	}
	if *asJSON {
		for _, d := range devs {
			b, _ := json.Marshal(deviceJSON{ID: uint32(d.ID), Name: d.Name, Created: timeRFC3339(d.Created),
				LastSeen: timeRFC3339(d.LastSeen), Current: d.Current, Primary: d.Primary})
			e.stdout.Write(append(b, '\n'))
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tLINKED\tLAST SEEN\t")
	for _, d := range devs {
		var notes string
		if d.Primary {
			notes = "primary"
		}
		if d.Current {
			if notes != "" {
				notes += ", "
			}
			notes += "this device"
		}
		name := d.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", d.ID, name, localDay(d.Created), localDay(d.LastSeen), notes)
	}
	tw.Flush()
	return exitOK
}

// deviceJSON is one line of devices --json.
type deviceJSON struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name,omitempty"`
	Created  string `json:"created,omitempty"`
	LastSeen string `json:"last_seen,omitempty"`
	Current  bool   `json:"current"`
	Primary  bool   `json:"primary"`
}

// localDay shows a date the server knows to the day (last seen is kept
// coarse, for privacy).
func localDay(t time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return "-"
	}
	return t.Local().Format(time.DateOnly)
}
