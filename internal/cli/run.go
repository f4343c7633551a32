package cli

import (
	"context"
	"io"
	"os"
	"strings"
)

// Run runs a parley command line in this process, as the binary would,
// with only the environment variables in environ and no terminal: for
// examples and tests that drive the command line as a person does, without
// building the binary. It returns the exit status. Commands that run until
// interrupted (serve, business serve) stop when ctx ends.
func Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, environ map[string]string, args ...string) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	e := &env{
		stdout: stdout,
		stderr: stderr,
		lookupEnv: func(k string) (string, bool) {
			v, ok := environ[k]
			return v, ok
		},
		readFile:  os.ReadFile,
		runServer: runServer,
		root:      root,
		stdin:     stdin,
	}
	return e.main(ctx, args)
}
