package cli

import (
	"context"
	"errors"
	"os/signal"
	"syscall"

	"github.com/parley-im/parley/internal/tui"
)

var chatCmd = &command{
	name:    "chat",
	args:    "[--server URL] [flags]",
	summary: "chat in the terminal: chats, groups, files, receipts, typing",
	help: "Chat opens the terminal chat on this profile: the chat list with unread " +
		"counts, a conversation with sent, delivered and read marks, typing " +
		"indicators and a composer; groups (made from the chat list, or joined with " +
		"an invite link, with an info screen for members, admins and settings); " +
		"files sent with Ctrl+T and saved from the selection mode, with a progress " +
		"bar. A profile that is not registered yet starts " +
		"on a registration screen (--server prefills its server address). The keys " +
		"are listed at the bottom of every screen; Ctrl+C quits. Messages that " +
		"arrive while the chat is closed wait on the server and show when it opens " +
		"again.\n\nIt needs a terminal: scripts use send and recv.\n\n" + profileHelp,
	run: runChat,
}

func runChat(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("chat")
	server := fs.String("server", "", "server `URL` to prefill on the registration screen")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	var url string
	if *server != "" {
		u, err := serverURL(*server)
		if err != nil {
			return e.usageError("chat", "--server: %v", err)
		}
		url = u
	}
	if e.term == nil {
		return e.fail("chat", errors.New("the chat needs a terminal; from scripts use 'parley send' and 'parley recv'"))
	}
	dir, err := e.profileDir(*profile)
	if err != nil {
		return e.fail("chat", err)
	}
	// The registration screen is part of the chat, so a new profile is made
	// here rather than refused.
	c, err := e.openProfile(ctx, dir, true)
	if err != nil {
		return e.fail("chat", err)
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := tui.Run(ctx, c, tui.Options{In: e.stdin, Out: e.stdout, ServerURL: url}); err != nil && ctx.Err() == nil {
		return e.fail("chat", err)
	}
	return exitOK
}
