package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/types"
)

var sendCmd = &command{
	name:    "send",
	args:    "(--to +E164|ACCOUNT | --group GROUP) (--text TEXT | --file PATH [--caption TEXT]) [flags]",
	summary: "send a text message or a file to a person or a group",
	help: "Send encrypts a text message to every device of the recipient (and to this " +
		"account's other devices) and exits 0 once the server has accepted it. The " +
		"recipient is a phone number, looked up on the server, or an account id. " +
		"--text - reads the text from standard input.\n\n" +
		"With --group the message goes to every member of the group (its id or its " +
		"name, see 'parley group'), encrypted once with this device's sender key, " +
		"which members that lack it get first, end-to-end encrypted; the text may " +
		"then also follow as the one argument.\n\n" +
		"--file sends a file instead: it is encrypted with a key of its own, uploaded " +
		"(with a progress bar on standard error when that is a terminal, else one line " +
		"at the end; a broken connection resumes where it stopped), and the message " +
		"carries the key, the digests, --caption, and for images a thumbnail. --kind " +
		"(image, video, audio, voice, document or sticker) is guessed from the file's " +
		"type unless given. The upload has no deadline; --timeout starts after it.\n\n" +
		"It exits 1 with the reason when " +
		"the number is unknown, the server cannot be reached or refuses the message, or " +
		"the recipient's safety number changed and was not verified since. A message " +
		"that was queued but not accepted within --timeout stays in the profile and " +
		"goes out with the next command that connects.\n\n" + profileHelp,
	run: runSend,
}

func runSend(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("send")
	to := fs.String("to", "", "the recipient: a `phone` number in E.164 form or an account id")
	group := fs.String("group", "", "send to the `group` with this id or name instead")
	text := fs.String("text", "", "the message `text`; - reads it from standard input")
	file := fs.String("file", "", "send the file at `path`")
	caption := fs.String("caption", "", "the file's caption `text` (with --file)")
	kind := fs.String("kind", "", "`kind` of file: image, video, audio, voice, document or sticker (with --file; default: from its type)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after `duration` without the server's acceptance")
	profile := profileFlag(fs)
	var pos []string
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if *group != "" && *text == "" && fs.NArg() == 1 {
		pos = fs.Args() // parley send --group G "text"
	} else if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if len(pos) == 1 {
		*text = pos[0]
	}
	switch {
	case *to == "" && *group == "":
		return e.usageError("send", "give --to or --group")
	case *to != "" && *group != "":
		return e.usageError("send", "give --to or --group, not both")
	}
	if *file != "" {
		if *text != "" {
			return e.usageError("send", "give --text or --file, not both (--caption is the file's text)")
		}
		if _, ok := mediaKinds[*kind]; *kind != "" && !ok {
			return e.usageError("send", "--kind %q is not image, video, audio, voice, document or sticker", *kind)
		}
		if *timeout <= 0 {
			return e.usageError("send", "--timeout must be positive")
		}
		return sendFile(ctx, e, *profile, *to, *group, *file, *caption, *kind, *timeout)
	}
	if *caption != "" || *kind != "" {
		return e.usageError("send", "--caption and --kind go with --file")
	}
	if *text == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, client.MaxTextSize+1))
		if err != nil {
			return e.fail("send", fmt.Errorf("read the text: %w", err))
		}
		*text = string(b)
	}
	if *text == "" {
		return e.usageError("send", "give --text or --file (an empty message is not sent)")
	}
	if len(*text) > client.MaxTextSize {
		return e.usageError("send", "the text is longer than %d bytes", client.MaxTextSize)
	}
	if *timeout <= 0 {
		return e.usageError("send", "--timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	c, _, err := e.openRegistered(ctx, *profile)
	if err != nil {
		return e.fail("send", err)
	}
	defer c.Close()
	if _, err := connect(ctx, c, 0); err != nil {
		return e.fail("send", connectTimeout(c, err, *timeout))
	}
	if *group != "" {
		return e.sendGroup(ctx, c, *group, *text, *timeout)
	}
	peer, phone, err := resolvePeer(ctx, c, *to)
	if err != nil {
		return e.fail("send", err)
	}
	if peer == c.Account().ID {
		return e.fail("send", errors.New("that is this account; send to another one"))
	}
	id, err := c.SendText(ctx, peer, *text)
	switch {
	case errors.Is(err, client.ErrIdentityChanged):
		return e.fail("send", identityChangedError(orID(phone, peer), "nothing was sent"))
	case err != nil:
		return e.fail("send", err)
	}
	err = waitAccepted(ctx, c, peer, id)
	switch {
	case errors.Is(err, client.ErrIdentityChanged):
		// Found out while sending: the client holds the message until then.
		return e.fail("send", identityChangedError(orID(phone, peer), "the message is held in the profile and goes out once the number is verified"))
	case err != nil:
		return e.fail("send", connectTimeout(c, err, *timeout))
	}
	return exitOK
}

// sendGroup sends text to a group once the group changes queued for this
// device are applied (a removal refuses the send).
func (e *env) sendGroup(ctx context.Context, c *client.Client, group, text string, timeout time.Duration) int {
	if err := c.WaitSynced(ctx); err != nil {
		return e.fail("send", connectTimeout(c, err, timeout))
	}
	g, err := resolveGroup(ctx, c, group)
	if err != nil {
		return e.fail("send", err)
	}
	id, err := c.SendGroupText(ctx, g.ID, text)
	if err != nil {
		return e.fail("send", groupError(err))
	}
	err = waitAccepted(ctx, c, types.AccountID{}, id)
	var ice *client.IdentityChangedError
	switch {
	case errors.As(err, &ice):
		return e.fail("send", identityChangedError(ice.Account.String(), "the message is held in the profile and goes out once the number is verified"))
	case err != nil:
		return e.fail("send", groupError(connectTimeout(c, err, timeout)))
	}
	return exitOK
}

// identityChangedError tells the user that sending to who waits for them
// to compare and verify the new safety number.
func identityChangedError(who, what string) error {
	return fmt.Errorf("the safety number with %s changed (a new phone or reinstall, or someone in between); "+
		"compare it with 'parley safety-number --with %s', then mark it verified with --verify to send again; %s", who, who, what)
}

// waitAccepted reads the client's events until the server accepted or
// refused message id, or the connection ended for good, or it found that
// a key of the recipient, to, changed (an error matching
// client.ErrIdentityChanged).
func waitAccepted(ctx context.Context, c *client.Client, to types.AccountID, id types.MessageID) error {
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return client.ErrClosed
			}
			switch ev := ev.(type) {
			case client.SentEvent:
				if ev.ID == id {
					return nil
				}
			case client.SendFailedEvent:
				if ev.ID == id {
					return fmt.Errorf("the server refused the message: %w", ev.Err)
				}
			case client.IdentityChangedEvent:
				if ev.Account == to && !to.IsZero() {
					return &client.IdentityChangedError{Account: to, Devices: []types.DeviceID{ev.Device}}
				}
			case client.ConnectionEvent:
				if errors.Is(ev.Err, client.ErrDeviceGone) || errors.Is(ev.Err, client.ErrReplaced) {
					return connectError(c, ev.Err)
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("%w; the message stays queued in the profile and goes out with the next command that connects", ctx.Err())
		}
	}
}

// connectTimeout words a command's deadline for the user.
func connectTimeout(c *client.Client, err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from the server at %s within %v: %w", c.Account().ServerURL, timeout, err)
	}
	return err
}

// sendFile is send --file: connect, upload (no deadline but an interrupt),
// send, wait for the acceptance within timeout.
func sendFile(ctx context.Context, e *env, profile, to, group, path, caption, kind string, timeout time.Duration) int {
	st, err := os.Stat(path)
	if err != nil {
		return e.fail("send", err)
	}
	if !st.Mode().IsRegular() {
		return e.fail("send", fmt.Errorf("%s is not a regular file", path))
	}
	if len(caption) > client.MaxTextSize {
		return e.usageError("send", "the caption is longer than %d bytes", client.MaxTextSize)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	c, _, err := e.openRegistered(cctx, profile)
	if err != nil {
		cancel()
		return e.fail("send", err)
	}
	defer c.Close()
	if _, err := connect(cctx, c, 0); err != nil {
		cancel()
		return e.fail("send", connectTimeout(c, err, timeout))
	}
	o := client.MediaOptions{Caption: caption, Kind: mediaKinds[kind], VoiceNote: kind == "voice"}
	if group != "" {
		defer cancel()
		if err := c.WaitSynced(cctx); err != nil {
			return e.fail("send", connectTimeout(c, err, timeout))
		}
		g, err := resolveGroup(cctx, c, group)
		if err != nil {
			return e.fail("send", err)
		}
		bar := newTransferBar(e, "upload", filepath.Base(path))
		o.Progress = bar.progress
		id, err := c.SendGroupFile(ctx, g.ID, path, o)
		bar.finish(err)
		switch {
		case errors.Is(err, client.ErrMediaTooLarge):
			return e.fail("send", fmt.Errorf("the server takes no file this large (%s): %w", byteSize(st.Size()), err))
		case err != nil:
			return e.fail("send", groupError(err))
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := waitAccepted(wctx, c, types.AccountID{}, id); err != nil {
			return e.fail("send", groupError(connectTimeout(c, err, timeout)))
		}
		return exitOK
	}
	peer, phone, err := resolvePeer(cctx, c, to)
	cancel()
	if err != nil {
		return e.fail("send", err)
	}
	if peer == c.Account().ID {
		return e.fail("send", errors.New("that is this account; send to another one"))
	}
	bar := newTransferBar(e, "upload", filepath.Base(path))
	o.Progress = bar.progress
	id, err := c.SendFile(ctx, peer, path, o)
	bar.finish(err)
	switch {
	case errors.Is(err, client.ErrIdentityChanged):
		return e.fail("send", identityChangedError(orID(phone, peer), "nothing was sent"))
	case errors.Is(err, client.ErrMediaTooLarge):
		return e.fail("send", fmt.Errorf("the server takes no file this large (%s): %w", byteSize(st.Size()), err))
	case err != nil:
		return e.fail("send", err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = waitAccepted(wctx, c, peer, id)
	switch {
	case errors.Is(err, client.ErrIdentityChanged):
		return e.fail("send", identityChangedError(orID(phone, peer), "the message is held in the profile and goes out once the number is verified"))
	case err != nil:
		return e.fail("send", connectTimeout(c, err, timeout))
	}
	return exitOK
}
