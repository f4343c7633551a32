package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

var helpCmd = &command{
	name:    "help",
	args:    "[command]",
	summary: "show help for a command",
	help: "Help describes a command: what it does, its arguments and its flags. " +
		"'parley help serve' prints the same text as 'parley serve --help'.",
	run: runHelp,
}

func runHelp(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("help")
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	words := fs.Args()
	c := e.lookup(words)
	if c == nil {
		fmt.Fprintf(e.stderr, "%s help: unknown command %q\n\n", e.root.name, strings.Join(words, " "))
		e.printHelp(e.stderr, e.root, []string{e.root.name}, nil)
		return exitUsage
	}
	if len(c.subcommands) > 0 {
		e.printHelp(e.stdout, c, append([]string{e.root.name}, words...), nil)
		return exitOK
	}
	// A leaf prints its own help, flags included, when asked with --help.
	return c.run(ctx, e, []string{"--help"})
}

// helpWidth is the column at which help text is wrapped.
const helpWidth = 80

// printHelp writes the help of c, reached by the words in path. fs, when
// not nil, holds c's flags.
func (e *env) printHelp(w io.Writer, c *command, path []string, fs *flag.FlagSet) {
	name := strings.Join(path, " ")
	usage := name
	switch {
	case len(c.subcommands) > 0:
		usage += " <command> [arguments]"
	case c.args != "":
		usage += " " + c.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n", usage)
	fmt.Fprint(w, wrap(c.help, "", helpWidth))
	if len(c.subcommands) > 0 {
		fmt.Fprint(w, "\nCommands:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range c.subcommands {
			fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
		}
		tw.Flush()
		group := ""
		if len(path) > 1 {
			group = strings.Join(path[1:], " ") + " "
		}
		fmt.Fprintf(w, "\nRun '%s help %s<command>' for details about a command.\n", e.root.name, group)
		return
	}
	if fs == nil {
		return
	}
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	for _, f := range flags {
		placeholder, text := flag.UnquoteUsage(f)
		if placeholder == "value" {
			placeholder = "" // no backquoted name in the usage: a boolean-like flag
		}
		fmt.Fprintf(w, "  --%s", f.Name)
		if placeholder != "" {
			fmt.Fprintf(w, " %s", placeholder)
		}
		fmt.Fprintln(w)
		if of, ok := f.Value.(*optionFlag); ok {
			text += " (" + of.describe() + ")"
		} else if f.DefValue != "" && f.DefValue != "false" {
			text += " (default " + f.DefValue + ")"
		}
		fmt.Fprint(w, wrap(text, "      ", helpWidth))
	}
}

// wrap breaks text into lines of at most width columns, each starting with
// indent; blank lines in text separate paragraphs.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		line := indent
		for _, word := range strings.Fields(para) {
			if line != indent && len(line)+1+len(word) > width {
				b.WriteString(line + "\n")
				line = indent
			}
			if line != indent {
				line += " "
			}
			line += word
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
