// Package cli is the parley command line. Each subcommand lives in its own
// file as a *command value and is listed once in the commands table below;
// Main dispatches to it. Commands write only to the streams of their env,
// never to os.Stdout directly, so tests run them in process.
//
// Exit status: 0 on success, 1 when a command ran and failed, 2 for a
// command line or configuration the command cannot use.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/config"
)

// commands lists the subcommands in the order usage shows them. Adding a
// command is one file that defines it and one line here.
var commands = []*command{
	registerCmd,
	linkCmd,
	sendCmd,
	recvCmd,
	groupCmd,
	devicesCmd,
	safetyNumberCmd,
	chatCmd,
	businessCmd,
	serveCmd,
	benchCmd,
	configCmd,
	versionCmd,
	helpCmd,
}

// root is the parley command itself: a group whose subcommands are commands.
var root = &command{
	name: "parley",
	help: "Parley is an end-to-end encrypted messenger. This one binary is both the " +
		"client, whose commands register a phone number or link a device to it, send " +
		"and receive messages and compare safety numbers, from a profile (an " +
		"encrypted local store), and the server, which relays " +
		"ciphertext it cannot read between the devices of its accounts, keeps each " +
		"envelope only until every destination device has acknowledged it, and runs on " +
		"an embedded store or as a cluster on PostgreSQL and NATS.",
	subcommands: commands,
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // bad command line or configuration
)

// A command is one subcommand, or a group of them when subcommands is set
// (then run is unused).
type command struct {
	name    string
	args    string // synopsis after the command's words, e.g. "[flags]"
	summary string // one line for the list of commands
	help    string // one paragraph for `parley help NAME`
	run     func(ctx context.Context, e *env, args []string) int

	subcommands []*command
}

// env is what a command may touch of the outside world.
type env struct {
	stdout, stderr io.Writer
	lookupEnv      func(key string) (string, bool)
	readFile       func(name string) ([]byte, error)
	// runServer serves cfg until ctx is done; tests replace it.
	runServer func(ctx context.Context, cfg config.Config, log *slog.Logger) error
	root      *command

	// Client commands.
	stdin io.Reader
	term  terminal // nil when standard input is not a terminal
	// argon2 are the profile's passphrase costs (zero: the default);
	// tests lower them.
	argon2 clientstore.Argon2Params
	// adjustClient, when set, changes the client's options (tests).
	adjustClient func(*client.Options)
}

// Main runs the parley command line on args (without the program name) and
// returns the exit status.
func Main(args []string) int {
	e := &env{
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		lookupEnv: os.LookupEnv,
		readFile:  os.ReadFile,
		runServer: runServer,
		root:      root,
		stdin:     os.Stdin,
		term:      newStdTerminal(),
	}
	return e.main(context.Background(), args)
}

func (e *env) main(ctx context.Context, args []string) int {
	return e.dispatch(ctx, e.root, []string{e.root.name}, args)
}

// dispatch runs c, the command reached by the words in path, on args.
func (e *env) dispatch(ctx context.Context, c *command, path, args []string) int {
	if len(c.subcommands) == 0 {
		return c.run(ctx, e, args)
	}
	if len(args) == 0 || isHelpFlag(args[0]) {
		e.printHelp(e.stdout, c, path, nil)
		return exitOK
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(e.stderr, "%s: unknown flag %s\n\n", strings.Join(path, " "), args[0])
		e.printHelp(e.stderr, c, path, nil)
		return exitUsage
	}
	sub := findCommand(c.subcommands, args[0])
	if sub == nil {
		fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", strings.Join(path, " "), args[0])
		e.printHelp(e.stderr, c, path, nil)
		return exitUsage
	}
	return e.dispatch(ctx, sub, append(slices.Clip(path), sub.name), args[1:])
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// lookup finds the command named by words below the root, or nil.
func (e *env) lookup(words []string) *command {
	c := e.root
	for _, w := range words {
		if c = findCommand(c.subcommands, w); c == nil {
			return nil
		}
	}
	return c
}

// newFlagSet returns a flag set for the command named by words (below the
// root) that prints nothing itself: parseFlags reports its errors.
func newFlagSet(words ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(strings.Join(words, " "), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. When it returns false the command must
// return the status it gives: help was asked for and printed (0), or the
// command line is wrong (2).
func (e *env) parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	words := strings.Fields(fs.Name())
	path := append([]string{e.root.name}, words...)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		e.printHelp(e.stdout, e.lookup(words), path, fs)
		return exitOK, false
	case err != nil:
		fmt.Fprintf(e.stderr, "%s: %v\nRun '%s help %s' for usage.\n",
			strings.Join(path, " "), err, e.root.name, fs.Name())
		return exitUsage, false
	}
	return exitOK, true
}

// noArgs reports, and returns false, when a command that takes no
// arguments got some after its flags.
func (e *env) noArgs(fs *flag.FlagSet) (int, bool) {
	if fs.NArg() == 0 {
		return exitOK, true
	}
	fmt.Fprintf(e.stderr, "%s %s: unexpected argument %q\nRun '%s help %s' for usage.\n",
		e.root.name, fs.Name(), fs.Arg(0), e.root.name, fs.Name())
	return exitUsage, false
}

// problems prints every problem in errs under a heading and returns status.
func (e *env) problems(heading string, status int, errs []error) int {
	n := "1 problem"
	if len(errs) != 1 {
		n = fmt.Sprintf("%d problems", len(errs))
	}
	fmt.Fprintf(e.stderr, "%s %s:\n", heading, n)
	for _, err := range errs {
		fmt.Fprintf(e.stderr, "  %v\n", err)
	}
	return status
}

// splitErrors undoes errors.Join.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
