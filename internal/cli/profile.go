package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// A profile is one device's directory: its encrypted store (parley.db)
// and the recv cursor. Every client command opens it through openProfile.

// Environment variables of the client commands.
const (
	envProfile        = "PARLEY_PROFILE"
	envPassphrase     = "PARLEY_PASSPHRASE"
	envPassphraseFile = "PARLEY_PASSPHRASE_FILE"
	envServer         = "PARLEY_SERVER"
)

// profileHelp is the paragraph every client command's help ends with.
const profileHelp = "The profile is the directory given by --profile, else " + envProfile +
	", else $XDG_DATA_HOME/parley (~/.local/share/parley). Its store is encrypted " +
	"with a passphrase read from " + envPassphrase + " or the file named by " +
	envPassphraseFile + ", or asked for on the terminal; an empty passphrase is " +
	"refused. It is never a flag, as a flag's value is visible to every local user."

// terminal is the interactive side of standard input; env.term is nil when
// standard input is not a terminal, and then nothing is asked.
type terminal interface {
	// ReadLine shows prompt and reads one line, without its newline.
	ReadLine(prompt string) (string, error)
	// ReadPassword shows prompt and reads one line without echoing it.
	ReadPassword(prompt string) (string, error)
}

// stdTerminal is the process's terminal: prompts go to standard error, so
// that standard output stays clean for scripts.
type stdTerminal struct {
	in  *os.File
	out io.Writer
	r   *bufio.Reader
}

// newStdTerminal returns the terminal of standard input, or nil.
func newStdTerminal() terminal {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return &stdTerminal{in: os.Stdin, out: os.Stderr, r: bufio.NewReader(os.Stdin)}
}

func (t *stdTerminal) ReadLine(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	line, err := t.r.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (t *stdTerminal) ReadPassword(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	return string(b), err
}

// errReported: the command already told the user what went wrong.
var errReported = errors.New("reported")

// profileFlag adds --profile to fs.
func profileFlag(fs *flag.FlagSet) *string {
	return fs.String("profile", "", "the profile `directory` (env "+envProfile+
		"; default: $XDG_DATA_HOME/parley, else ~/.local/share/parley)")
}

// profileDir resolves the profile directory: the flag, the environment,
// the user's data directory.
func (e *env) profileDir(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	if v, _ := e.lookupEnv(envProfile); v != "" {
		return filepath.Abs(v)
	}
	if v, _ := e.lookupEnv("XDG_DATA_HOME"); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "parley"), nil
	}
	if runtime.GOOS == "windows" {
		if v, _ := e.lookupEnv("LocalAppData"); v != "" {
			return filepath.Join(v, "parley"), nil
		}
	}
	if v, _ := e.lookupEnv("HOME"); v != "" {
		return filepath.Join(v, ".local", "share", "parley"), nil
	}
	return "", fmt.Errorf("no profile directory: give --profile or set %s", envProfile)
}

// passphrase reads the profile's passphrase: the environment, a file, or
// the terminal (twice, when the profile is new).
func (e *env) passphrase(dir string, create bool) (string, error) {
	pass, _ := e.lookupEnv(envPassphrase)
	file, _ := e.lookupEnv(envPassphraseFile)
	switch {
	case pass != "" && file != "":
		return "", fmt.Errorf("%s and %s: set one, not both", envPassphrase, envPassphraseFile)
	case pass != "":
		return pass, nil
	case file != "":
		s, err := readSecret(e, file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", envPassphraseFile, err)
		}
		return s, nil
	case e.term == nil:
		return "", fmt.Errorf("the profile needs a passphrase: set %s (or %s), or run on a terminal", envPassphrase, envPassphraseFile)
	}
	if !create {
		p, err := e.term.ReadPassword("Passphrase of " + dir + ": ")
		if err == nil && p == "" {
			err = errors.New("empty passphrase")
		}
		return p, err
	}
	for {
		p, err := e.term.ReadPassword("New passphrase for " + dir + ": ")
		if err != nil {
			return "", err
		}
		if p == "" {
			fmt.Fprintln(e.stderr, "An empty passphrase is refused: the store would be readable by anyone who copies it.")
			continue
		}
		again, err := e.term.ReadPassword("The same passphrase again: ")
		if err != nil {
			return "", err
		}
		if again == p {
			return p, nil
		}
		fmt.Fprintln(e.stderr, "The two passphrases differ; try again.")
	}
}

// openProfile opens the profile in dir (the resolved --profile). With
// create it makes a new one if there is none; without, a missing profile is
// an error that says to register first.
func (e *env) openProfile(ctx context.Context, dir string, create bool) (*client.Client, error) {
	db := filepath.Join(dir, client.DatabaseFile)
	_, err := os.Stat(db)
	exists := err == nil
	if !exists && !create {
		return nil, fmt.Errorf("no profile in %s: run 'parley register' (or 'parley link') first, or give --profile", dir)
	}
	if !exists {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	pass, err := e.passphrase(dir, !exists)
	if err != nil {
		return nil, err
	}
	if pass == "" {
		return nil, errors.New("an empty passphrase is refused")
	}
	o := client.Options{
		Protector: &clientstore.PassphraseProtector{Passphrase: []byte(pass), Params: e.argon2},
		UserAgent: "parley-cli/" + versionString(),
	}
	if e.adjustClient != nil {
		e.adjustClient(&o)
	}
	c, err := client.Open(ctx, dir, o)
	if errors.Is(err, clientstore.ErrWrongKey) {
		return nil, fmt.Errorf("the passphrase does not unlock the profile in %s", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open the profile in %s: %w", dir, err)
	}
	return c, nil
}

// openRegistered opens an existing, registered profile.
func (e *env) openRegistered(ctx context.Context, flagValue string) (*client.Client, string, error) {
	dir, err := e.profileDir(flagValue)
	if err != nil {
		return nil, "", err
	}
	c, err := e.openProfile(ctx, dir, false)
	if err != nil {
		return nil, dir, err
	}
	if c.Account().ID.IsZero() {
		c.Close()
		return nil, dir, fmt.Errorf("the profile in %s is not registered: run 'parley register' first", dir)
	}
	return c, dir, nil
}

// serverURL turns what a user types into the WebSocket URL of the client
// protocol: "127.0.0.1:8080", "http://host:8080" and "wss://host/v1/ws"
// all work.
func serverURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("no server: give --server or set %s", envServer)
	}
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("--server %q is not a server address such as http://127.0.0.1:8080", s)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("--server %q: the scheme must be http, https, ws or wss", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/ws"
	}
	return u.String(), nil
}

// connect starts the client's connection and waits until it is up. It
// fails when the first attempt fails (the server is down or refuses the
// device) rather than retrying for ever: a command that a script runs
// should say so at once.
// connect starts c's connection and waits until it is up. It returns the
// other events that came meanwhile (messages a fast server already pushed),
// for a caller that prints them; the rest are dropped.
func connect(ctx context.Context, c *client.Client, timeout time.Duration) ([]client.Event, error) {
	if err := c.Connect(); err != nil {
		return nil, err
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	var early []client.Event
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return early, client.ErrClosed
			}
			ce, ok := ev.(client.ConnectionEvent)
			switch {
			case !ok:
				early = append(early, ev)
			case ce.State == client.Connected:
				return append(early, ev), nil
			case ce.State == client.Disconnected && ce.Err != nil:
				return early, connectError(c, ce.Err)
			}
		case <-deadline:
			return early, fmt.Errorf("cannot reach the server at %s within %v", c.Account().ServerURL, timeout)
		case <-ctx.Done():
			return early, ctx.Err()
		}
	}
}

// connectError says why a connection failed, in the user's terms.
func connectError(c *client.Client, err error) error {
	switch {
	case errors.Is(err, client.ErrDeviceGone), transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED:
		return errors.New("the server removed this device (unlinked, or the number was registered elsewhere): the profile cannot be used any more")
	case errors.Is(err, client.ErrReplaced):
		return errors.New("another parley process is using this profile; run one at a time")
	}
	return fmt.Errorf("cannot reach the server at %s: %w", c.Account().ServerURL, err)
}

// fail prints err as the command's error and returns exitFail.
func (e *env) fail(cmd string, err error) int {
	if !errors.Is(err, errReported) {
		fmt.Fprintf(e.stderr, "%s %s: %v\n", e.root.name, cmd, err)
	}
	return exitFail
}

// usageError prints a command-line problem and returns exitUsage.
func (e *env) usageError(cmd, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s %s: %s\nRun '%s help %s' for usage.\n", e.root.name, cmd, fmt.Sprintf(format, args...), e.root.name, cmd)
	return exitUsage
}

// resolvePeer turns --to or --with (a phone number or an account id) into
// an account.
func resolvePeer(ctx context.Context, c *client.Client, s string) (types.AccountID, string, error) {
	if id, err := types.ParseAccountID(s); err == nil {
		phone := ""
		if ct, err := c.Store().Contact(ctx, id); err == nil {
			phone = ct.Phone
		}
		return id, phone, nil
	}
	phone, err := types.ParsePhone(s)
	if err != nil {
		return types.AccountID{}, "", fmt.Errorf("%q is neither a phone number in E.164 form (+15551234567) nor an account id", s)
	}
	id, err := c.LookupPhone(ctx, phone)
	switch {
	case errors.Is(err, client.ErrUnknownContact):
		return types.AccountID{}, phone, fmt.Errorf("nobody on this server has the number %s", phone)
	case err != nil:
		return types.AccountID{}, phone, fmt.Errorf("look up %s: %w", phone, err)
	}
	return id, phone, nil
}
