package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

var linkCmd = &command{
	name:    "link",
	args:    "--server URL | --approve URI|- [flags]",
	summary: "link this profile to an account as a new device, or approve one",
	help: "Link adds a device to an account, as WhatsApp does. On the new device, " +
		"'parley link --server URL' creates a new profile and shows a QR code and the " +
		"same link as text, then waits until the account's primary device approves it " +
		"(up to --timeout) and says which account and device this profile became. On " +
		"the primary, 'parley link --approve URI' approves the link that was scanned " +
		"or pasted; --approve - reads it from standard input (or asks for it on a " +
		"terminal).\n\n" +
		"Approving signs the new device's identity key with the primary's and lets it " +
		"into the account: it receives every message sent to the account from then on, " +
		"and sends as the account. Approve only a link shown on a device you hold: " +
		"anyone who gets you to approve their link reads your messages. On a terminal " +
		"the primary asks for a confirmation first.\n\n" + profileHelp,
	run: runLink,
}

// maxLinkURI bounds what --approve - reads: a link URI is about 150 bytes.
const maxLinkURI = 4096

func runLink(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("link")
	server := fs.String("server", "", "on the new device: the server's `URL` (env "+envServer+")")
	approve := fs.String("approve", "", "on the primary: approve the link `URI` the new device shows; - reads it from standard input")
	timeout := fs.Duration("timeout", 10*time.Minute, "on the new device: wait `duration` at most for the approval")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if *approve != "" {
		if *server != "" {
			return e.usageError("link", "--approve runs on the primary, which knows its server: leave out --server")
		}
		return e.approveLink(ctx, *approve, *profile)
	}
	if *server == "" {
		*server, _ = e.lookupEnv(envServer)
	}
	url, err := serverURL(*server)
	if err != nil {
		return e.usageError("link", "%v (on the primary, give --approve URI)", err)
	}
	if *timeout <= 0 {
		return e.usageError("link", "--timeout must be positive")
	}
	dir, err := e.profileDir(*profile)
	if err != nil {
		return e.fail("link", err)
	}
	c, err := e.openProfile(ctx, dir, true)
	if err != nil {
		return e.fail("link", err)
	}
	defer c.Close()
	if a := c.Account(); !a.ID.IsZero() {
		return e.fail("link", fmt.Errorf("the profile in %s is already a device of an account (%s); give another --profile", dir, orID(a.Phone, a.ID)))
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pending, err := c.StartLink(ctx, url)
	if errors.Is(err, client.ErrRegistered) {
		return e.fail("link", fmt.Errorf("the profile in %s is already a device of an account; give another --profile", dir))
	}
	if err != nil {
		return e.fail("link", registerError(url, err))
	}
	defer pending.Close()
	uri := pending.URI()
	pic, err := qrHalfBlocks([]byte(uri))
	if err != nil {
		return e.fail("link", err)
	}
	fmt.Fprintf(e.stdout, "Scan this code with the account's primary device, or run there:\n  parley link --approve '%s'\n\n%s\nLink: %s\nWaiting for the approval (up to %v)...\n",
		uri, pic, uri, *timeout)
	for {
		err = pending.Wait(ctx)
		// A message that does not verify changed nothing and the address
		// stays open: someone else sent to it, or it was damaged. The
		// genuine approval may still come.
		if errors.Is(err, client.ErrBadProvisioning) && c.Account().ID.IsZero() {
			fmt.Fprintf(e.stderr, "parley link: ignored a link message that does not verify (%v); still waiting\n", err)
			continue
		}
		break
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return e.fail("link", fmt.Errorf("not approved within %v; run 'parley link' again for a new code", *timeout))
	case errors.Is(err, client.ErrLinkGone):
		return e.fail("link", fmt.Errorf("the server ended the wait (%v); run 'parley link' again for a new code", err))
	case err != nil:
		return e.fail("link", fmt.Errorf("not linked: %w", err))
	}
	a := c.Account()
	fmt.Fprintf(e.stdout, "Linked: this profile is device %d of account %s (%s).\nProfile: %s\n", a.Device, a.ID, a.Phone, dir)
	return exitOK
}

var errNotPrimary = errors.New("only the account's primary device (the one that registered) can approve a link")

// approveLink approves, on the primary, the link uri ("-": read it).
func (e *env) approveLink(ctx context.Context, uri, profile string) int {
	if uri == "-" {
		var err error
		if uri, err = e.readLinkURI(); err != nil {
			return e.fail("link", fmt.Errorf("read the link: %w", err))
		}
	}
	uri = strings.TrimSpace(uri)
	if uri == "" {
		return e.usageError("link", "no link to approve: give the parley://link?... text the new device shows")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, _, err := e.openRegistered(ctx, profile)
	if err != nil {
		return e.fail("link", err)
	}
	defer c.Close()
	a := c.Account()
	if a.Device != types.PrimaryDevice {
		return e.fail("link", errNotPrimary)
	}
	if e.term != nil {
		answer, err := e.term.ReadLine(fmt.Sprintf("Link a new device to %s? It will read every message sent to this account from now on. [y/N] ",
			orID(a.Phone, a.ID)))
		if err != nil {
			return e.fail("link", err)
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return e.fail("link", errors.New("not approved"))
		}
	}
	err = c.ApproveLink(ctx, uri)
	switch {
	case errors.Is(err, client.ErrNotPrimary):
		return e.fail("link", errNotPrimary)
	case errors.Is(err, client.ErrInvalidLinkURI):
		return e.fail("link", fmt.Errorf("that is not a whole Parley link (parley://link?addr=...&pub=...&id=...): %w", err))
	case errors.Is(err, client.ErrLinkGone):
		return e.fail("link", errors.New("the new device is no longer waiting on this server (it gave up, or uses another server): run 'parley link' there again"))
	case errors.Is(err, client.ErrDeviceGone), transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED:
		return e.fail("link", connectError(c, err))
	case err != nil:
		return e.fail("link", fmt.Errorf("approve the link: %w", err))
	}
	fmt.Fprintf(e.stdout, "Approved: the new device is joining %s; it says which device it became.\n", orID(a.Phone, a.ID))
	return exitOK
}

// readLinkURI reads the link for --approve -: asked for on a terminal,
// else the first line of standard input.
func (e *env) readLinkURI() (string, error) {
	if e.term != nil {
		return e.term.ReadLine("Link: ")
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, maxLinkURI)).ReadString('\n')
	if err == io.EOF {
		err = nil
	}
	return line, err
}
