package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

var registerCmd = &command{
	name:    "register",
	args:    "--server URL --phone +E164 [--code CODE] [flags]",
	summary: "register a phone number and create a profile for it",
	help: "Register creates a profile for the phone number on the server and makes " +
		"this profile the account's primary device. Without --code it asks the server " +
		"to send a six-digit code to the number (by SMS, or to the server's log with " +
		"the development code sender); on a terminal it then asks for the code, " +
		"otherwise it stops and the code is given with a second 'parley register " +
		"--code CODE'. With --code it registers at once. Registering a number that " +
		"already has an account moves the account to this profile and removes its " +
		"other devices.\n\n" + profileHelp,
	run: runRegister,
}

func runRegister(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("register")
	server := fs.String("server", "", "the server's `URL`: http://host:port, https://host or a ws(s):// URL (env "+envServer+")")
	phone := fs.String("phone", "", "the phone `number` in E.164 form, e.g. +15551234567")
	code := fs.String("code", "", "the six-digit `code` the server sent; without it a code is requested")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if *server == "" {
		*server, _ = e.lookupEnv(envServer)
	}
	url, err := serverURL(*server)
	if err != nil {
		return e.usageError("register", "%v", err)
	}
	if *phone == "" {
		return e.usageError("register", "give --phone")
	}
	number, err := types.ParsePhone(*phone)
	if err != nil {
		return e.usageError("register", "--phone %q is not a phone number in E.164 form such as +15551234567", *phone)
	}
	*code = strings.TrimSpace(*code)
	dir, err := e.profileDir(*profile)
	if err != nil {
		return e.fail("register", err)
	}
	c, err := e.openProfile(ctx, dir, true)
	if err != nil {
		return e.fail("register", err)
	}
	defer c.Close()
	if a := c.Account(); !a.ID.IsZero() {
		return e.fail("register", fmt.Errorf("the profile in %s is already registered (%s on %s); give another --profile", dir, a.Phone, a.ServerURL))
	}

	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if *code == "" {
		if err := c.RequestCode(ctx, url, number); err != nil {
			return e.fail("register", registerError(url, err))
		}
		if e.term == nil {
			fmt.Fprintf(e.stdout, "A code was sent to %s. Register with it:\n  parley register --server %s --phone %s --code CODE\n",
				number, *server, number)
			return exitOK
		}
		for *code == "" {
			line, err := e.term.ReadLine("A code was sent to " + number + ". Code: ")
			if err != nil {
				return e.fail("register", err)
			}
			*code = strings.TrimSpace(line)
		}
	}
	if err := c.Register(ctx, url, number, *code); err != nil {
		return e.fail("register", registerError(url, err))
	}
	a := c.Account()
	fmt.Fprintf(e.stdout, "Registered %s as account %s, device %d.\nProfile: %s\n", number, a.ID, a.Device, dir)
	return exitOK
}

// registerError says what a failed code request or registration means.
func registerError(url string, err error) error {
	switch transport.CodeOf(err) {
	case wirepb.ErrorCode_ERROR_CODE_UNSPECIFIED:
	case wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return errors.New("the server refuses for now: too many attempts; wait and try again")
	case wirepb.ErrorCode_ERROR_CODE_INVALID_CODE:
		return errors.New("the code was not accepted: it is wrong, expired, or was not requested for this number")
	default:
		return fmt.Errorf("the server refused: %w", err)
	}
	if errors.Is(err, client.ErrInvalid) {
		return err
	}
	return fmt.Errorf("cannot reach the server at %s: %w", url, err)
}
