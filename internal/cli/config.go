package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/parley-im/parley/internal/config"
)

var configCmd = &command{
	name:    "config",
	summary: "print the default configuration or check one",
	help: "Config shows the settings of 'parley serve': each one is a flag, an " +
		"environment variable and a default.",
	subcommands: []*command{
		configPrintDefaultCmd,
		configCheckCmd,
	},
}

var configPrintDefaultCmd = &command{
	name:    "print-default",
	summary: "print every setting with its flag, environment variable and default",
	help: "Print-default prints a table of every setting of 'parley serve': its flag, " +
		"its environment variable and its default. A flag wins over its variable; a " +
		"setting given by neither takes the default. Secrets can also be read from the " +
		"file named by the variable with _FILE appended. 'parley help serve' says what " +
		"each setting means.",
	run: runConfigPrintDefault,
}

var configCheckCmd = &command{
	name:    "check",
	args:    "[flags]",
	summary: "check the configuration given by flags and environment",
	help: "Check reads the configuration exactly as 'parley serve' would, from the same " +
		"flags and environment variables, and validates it without starting anything. " +
		"It prints every setting with where it came from and exits 0 when the " +
		"configuration is valid; otherwise it lists every problem on standard error " +
		"and exits 1.",
	run: runConfigCheck,
}

func runConfigPrintDefault(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("config", "print-default")
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	def := config.Config{}.Defaults()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENVIRONMENT\tDEFAULT")
	for _, o := range options {
		fmt.Fprintf(tw, "--%s\t%s\t%s\n", o.flag, o.envVar(), o.format(&def))
		if o.secret {
			fmt.Fprintf(tw, "--%s-file\t%s_FILE\t%s\n", o.flag, o.envVar(), "(none)")
		}
	}
	tw.Flush()
	return exitOK
}

func runConfigCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("config", "check")
	flags := bindOptions(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	cfg, settings, errs := flags.resolve(e)
	cfg = cfg.Defaults()
	errs = append(errs, splitErrors(cfg.Validate())...)
	if len(errs) > 0 {
		return e.problems("parley config check: the configuration has", exitFail, errs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tVALUE\tFROM")
	for _, s := range settings {
		from := s.source
		if s.from != "" {
			from += " " + s.from
		}
		fmt.Fprintf(tw, "--%s\t%s\t%s\n", s.opt.flag, s.opt.format(&cfg), from)
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "The configuration is valid.")
	return exitOK
}
