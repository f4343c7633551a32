package cli

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/parley-im/parley/client/clientstore"
)

// RunEnv is the world a command line run in process sees.
type RunEnv struct {
	Stdin          io.Reader // nil: empty
	Stdout, Stderr io.Writer
	// Environ holds the environment variables the command sees; nothing
	// of the process's own environment is visible.
	Environ map[string]string
	// Argon2 are the passphrase costs of profiles the command creates;
	// zero is the default. Tests lower them.
	Argon2 clientstore.Argon2Params
}

// Run runs a parley command line in this process, as the binary would but
// without a terminal: for examples and tests that drive the command line
// as a person does, without building the binary. It returns the exit
// status. Commands that run until interrupted (serve, business serve) stop
// when ctx ends.
func Run(ctx context.Context, re RunEnv, args ...string) int {
	if re.Stdin == nil {
		re.Stdin = strings.NewReader("")
	}
	e := &env{
		stdout: re.Stdout,
		stderr: re.Stderr,
		lookupEnv: func(k string) (string, bool) {
			v, ok := re.Environ[k]
			return v, ok
		},
		readFile:  os.ReadFile,
		runServer: runServer,
		root:      root,
		stdin:     re.Stdin,
		argon2:    re.Argon2,
	}
	return e.main(ctx, args)
}
