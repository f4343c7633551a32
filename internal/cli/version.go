package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set for release builds with
// -ldflags "-X github.com/parley-im/parley/internal/cli.version=v1.2.3";
// otherwise the module version and VCS stamp of the build are shown.
var version string

var versionCmd = &command{
	name:    "version",
	summary: "print the version",
	help: "Version prints the version of this parley binary, the commit it was built " +
		"from when the build recorded one, and the Go toolchain and platform it was built for.",
	run: runVersion,
}

func runVersion(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("version")
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "parley %s\n%s %s/%s\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// versionString is "v1.2.3", or "(devel) commit 0123456789ab, modified".
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " commit " + rev
		if modified == "true" {
			v += ", modified"
		}
	}
	return v
}
