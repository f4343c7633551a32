package cli

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/config"
)

// An option is one config.Config field as the command line sees it: a flag
// --NAME and an environment variable PARLEY_NAME (upper snake case). A flag
// wins over its variable; with neither the field keeps its zero value,
// which config.Defaults turns into the default.
type option struct {
	flag  string // flag name, without dashes
	usage string // with the value's name in `backquotes` for the help
	// field returns a pointer into c: *string, *int or *time.Duration.
	field func(c *config.Config) any
	// size marks an int counted in bytes, which also takes KiB and MiB.
	size bool
	// secret marks a value that is never shown and may come from a file:
	// --NAME-file or PARLEY_NAME_FILE.
	secret bool
	// unset says what an empty value means ("none", "in process").
	unset string
}

// options covers every field of config.Config; a test checks that.
var options = []*option{
	{flag: "listen", usage: "listen on `address` (host:port) for HTTP and WebSocket",
		field: func(c *config.Config) any { return &c.Listen }},
	{flag: "tls-cert", usage: "PEM certificate `file`; with --tls-key the listener speaks TLS",
		field: func(c *config.Config) any { return &c.TLSCert }, unset: "none: plain HTTP"},
	{flag: "tls-key", usage: "PEM private key `file` for --tls-cert",
		field: func(c *config.Config) any { return &c.TLSKey }, unset: "none"},
	{flag: "store", usage: "the `database`: a SQLite file (sqlite:PATH or a bare path) or a postgres:// URL",
		field: func(c *config.Config) any { return &c.Store }},
	{flag: "nats", usage: "comma-separated `URLs` of an external NATS cluster; empty runs NATS in process",
		field: func(c *config.Config) any { return &c.NATS }, unset: "in process"},
	{flag: "node-name", usage: "`name` of this node in logs and NATS",
		field: func(c *config.Config) any { return &c.NodeName }, unset: "the host name"},
	{flag: "node-timeout", usage: "take a node of the cluster for dead after `duration` of silence on the bus, " +
		"and tell the watchers of its devices they went offline; every node must have the same",
		field: func(c *config.Config) any { return &c.NodeTimeout }},
	{flag: "code-sender", usage: "`kind` of sender for one-time codes: log (to the server log, for development), " +
		"webhook (POST to --code-webhook-url) or fixed (always --fixed-code; loopback listeners only, for tests)",
		field: func(c *config.Config) any { return &c.CodeSender }},
	{flag: "code-webhook-url", usage: "http(s) `URL` the webhook code sender POSTs {phone, code, transport, locale} to",
		field: func(c *config.Config) any { return &c.CodeWebhookURL }, unset: "none"},
	{flag: "code-webhook-secret", usage: "`secret` that signs webhook bodies (X-Parley-Signature: sha256=HMAC); " +
		"prefer --code-webhook-secret-file, as a flag's value is visible to every local user",
		field: func(c *config.Config) any { return &c.CodeWebhookSecret }, secret: true, unset: "none"},
	{flag: "code-secret", usage: "`secret` that keys the hashes under which one-time codes are stored; " +
		"every node of a cluster must share it",
		field: func(c *config.Config) any { return &c.CodeSecret }, secret: true, unset: "a built-in key"},
	{flag: "fixed-code", usage: "the six-digit `code` the fixed code sender accepts",
		field: func(c *config.Config) any { return &c.FixedCode }},
	{flag: "code-interval", usage: "send one number at most one code per `interval` (and at most 5 an hour)",
		field: func(c *config.Config) any { return &c.CodeInterval }},
	{flag: "ip-rate-limit", usage: "allow one IP address `n` code requests, registrations and device links an hour, each; " +
		"negative turns the per-address limit off (load tests on loopback)",
		field: func(c *config.Config) any { return &c.IPRateLimit }},
	{flag: "lookup-rate-limit", usage: "allow one account to look up `n` phone numbers an hour in the directory",
		field: func(c *config.Config) any { return &c.LookupRateLimit }},
	{flag: "max-frame-bytes", usage: "largest WebSocket frame, in `bytes` (KiB and MiB suffixes allowed)",
		field: func(c *config.Config) any { return &c.MaxFrameBytes }, size: true},
	{flag: "keepalive", usage: "ping each connection every `interval`",
		field: func(c *config.Config) any { return &c.KeepAlive }},
	{flag: "readiness", usage: "`mode` in which idle connections wait for bytes: goroutine (any system) or epoll " +
		"(Linux: no goroutine per idle connection, less memory)",
		field: func(c *config.Config) any { return &c.Readiness }},
	{flag: "max-devices", usage: "at most `n` devices per account, the primary included",
		field: func(c *config.Config) any { return &c.MaxDevices }},
	{flag: "mailbox-max-queue", usage: "at most `n` envelopes queued per device",
		field: func(c *config.Config) any { return &c.MailboxMaxQueue }},
	{flag: "max-group-members", usage: "at most `n` members per group",
		field: func(c *config.Config) any { return &c.MaxGroupMembers }},
	{flag: "mailbox-ttl", usage: "keep an undelivered envelope for `duration` at most",
		field: func(c *config.Config) any { return &c.MailboxTTL }},
	{flag: "dedup-window", usage: "remember message ids for `duration`, so that a resend is stored once",
		field: func(c *config.Config) any { return &c.DedupWindow }},
	{flag: "prekey-low-threshold", usage: "tell a device to upload one-time prekeys when it has fewer than `n`",
		field: func(c *config.Config) any { return &c.PreKeyLowThreshold }},
	{flag: "shutdown-timeout", usage: "let a graceful shutdown take `duration` at most",
		field: func(c *config.Config) any { return &c.ShutdownTimeout }},
	{flag: "media-backend", usage: "keep media blobs in `kind` files (under --media-dir) or nats " +
		"(a JetStream object store on the external NATS; for clusters)",
		field: func(c *config.Config) any { return &c.MediaBackend }, unset: "nats with --nats, else files"},
	{flag: "media-dir", usage: "`directory` of the files media backend; in a cluster, one that every node shares",
		field: func(c *config.Config) any { return &c.MediaDir }, unset: "media beside the SQLite database"},
	{flag: "max-media-bytes", usage: "largest media blob, in `bytes` (KiB, MiB and GiB suffixes allowed)",
		field: func(c *config.Config) any { return &c.MaxMediaBytes }, size: true},
	{flag: "media-chunk-bytes", usage: "upload media in chunks of `bytes` (KiB and MiB suffixes allowed)",
		field: func(c *config.Config) any { return &c.MediaChunkBytes }, size: true},
	{flag: "media-ttl", usage: "keep a media blob for `duration` at most, whether every recipient fetched it or not",
		field: func(c *config.Config) any { return &c.MediaTTL }},
	{flag: "media-quota", usage: "allow one account to upload `bytes` of media a day; negative turns the quota off",
		field: func(c *config.Config) any { return &c.MediaQuota }, size: true},
	{flag: "media-secret", usage: "`secret` that keys media upload and download tokens; every node of a cluster must share it",
		field: func(c *config.Config) any { return &c.MediaSecret }, secret: true, unset: "a random key kept in the database"},
	{flag: "log-level", usage: "log at `level` and above: debug, info, warn or error",
		field: func(c *config.Config) any { return &c.LogLevel }},
	{flag: "log-format", usage: "log `format`: text or json",
		field: func(c *config.Config) any { return &c.LogFormat }},
}

// envVar is the environment variable of the option.
func (o *option) envVar() string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(o.flag, "-", "_"))
}

// set parses s into o's field of c.
func (o *option) set(c *config.Config, s string) error {
	switch p := o.field(c).(type) {
	case *string:
		*p = s
	case *int:
		if s == "" {
			*p = 0
			return nil
		}
		var n int
		var err error
		if o.size {
			n, err = parseSize(s)
		} else {
			n, err = strconv.Atoi(s)
		}
		if err != nil {
			if o.size {
				return fmt.Errorf("%q is not a size such as 262144, 256KiB or 1MiB", s)
			}
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *time.Duration:
		if s == "" {
			*p = 0
			return nil
		}
		d, err := parseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 90s, 15m, 12h or 30d", s)
		}
		*p = d
	default:
		panic(fmt.Sprintf("cli: option %s has a field of unsupported type %T", o.flag, p))
	}
	return nil
}

// format shows o's field of c; secrets show only whether they are set.
func (o *option) format(c *config.Config) string {
	var s string
	switch p := o.field(c).(type) {
	case *string:
		s = *p
	case *int:
		if *p != 0 {
			s = strconv.Itoa(*p)
			if o.size {
				s = formatSize(*p)
			}
		}
	case *time.Duration:
		if *p != 0 {
			s = formatDuration(*p)
		}
	}
	switch {
	case s == "" && o.unset != "":
		return "(" + o.unset + ")"
	case s == "":
		return ""
	case o.secret:
		return "(set)"
	}
	return redactURL(s)
}

// optionFlag is the flag.Value of an option: it only records the text, so
// that resolve can report a bad value together with every other problem.
type optionFlag struct {
	opt   *option
	file  bool // the --NAME-file flag of a secret
	text  string
	isSet bool
}

func (f *optionFlag) String() string { return "" }

func (f *optionFlag) Set(s string) error {
	f.text, f.isSet = s, true
	return nil
}

// describe is the help's note on where else the value comes from.
func (f *optionFlag) describe() string {
	if f.file {
		return "env " + f.opt.envVar() + "_FILE"
	}
	def := config.Config{}.Defaults()
	d := "env " + f.opt.envVar() + "; default: "
	if s := f.opt.format(&def); !strings.HasPrefix(s, "(") {
		return d + s
	}
	return d + f.opt.unset
}

// optionFlags holds the flags of every option, bound to one flag set.
type optionFlags struct {
	value map[*option]*optionFlag
	file  map[*option]*optionFlag
}

// bindOptions defines a flag on fs for every option.
func bindOptions(fs *flag.FlagSet) *optionFlags {
	b := &optionFlags{value: map[*option]*optionFlag{}, file: map[*option]*optionFlag{}}
	for _, o := range options {
		b.value[o] = &optionFlag{opt: o}
		fs.Var(b.value[o], o.flag, o.usage)
		if o.secret {
			b.file[o] = &optionFlag{opt: o, file: true}
			fs.Var(b.file[o], o.flag+"-file", "`file` holding the value of --"+o.flag+
				" (one trailing newline is dropped)")
		}
	}
	return b
}

// A setting is where one option's value came from, for `config check`.
type setting struct {
	opt    *option
	source string // "default", "flag", "env", "file"
	from   string // the flag or variable that gave it
}

// resolve builds the configuration from the parsed flags and the
// environment, before defaults. It reports every bad value, not just the
// first.
func (b *optionFlags) resolve(e *env) (config.Config, []setting, []error) {
	var (
		cfg      config.Config
		settings []setting
		errs     []error
	)
	for _, o := range options {
		st, text, err := b.pick(e, o)
		if err == nil && st.source != "default" {
			if perr := o.set(&cfg, text); perr != nil {
				err = fmt.Errorf("%s: %w", st.from, perr)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
		settings = append(settings, st)
	}
	return cfg, settings, errs
}

// pick chooses the text of option o: a flag first, then the environment.
func (b *optionFlags) pick(e *env, o *option) (setting, string, error) {
	st := setting{opt: o, source: "default"}
	flagVal, flagFile := b.value[o], b.file[o]
	switch {
	case flagVal.isSet && flagFile != nil && flagFile.isSet:
		return st, "", fmt.Errorf("--%s and --%s-file: give one, not both", o.flag, o.flag)
	case flagVal.isSet:
		st.source, st.from = "flag", "--"+o.flag
		return st, flagVal.text, nil
	case flagFile != nil && flagFile.isSet:
		st.source, st.from = "file", "--"+o.flag+"-file"
		text, err := readSecret(e, flagFile.text)
		if err != nil {
			err = fmt.Errorf("--%s-file: %w", o.flag, err)
		}
		return st, text, err
	}
	envText, _ := e.lookupEnv(o.envVar())
	var envFile string
	if o.secret {
		envFile, _ = e.lookupEnv(o.envVar() + "_FILE")
	}
	switch {
	case envText != "" && envFile != "":
		return st, "", fmt.Errorf("%s and %s_FILE: set one, not both", o.envVar(), o.envVar())
	case envText != "":
		st.source, st.from = "env", o.envVar()
		return st, envText, nil
	case envFile != "":
		st.source, st.from = "file", o.envVar()+"_FILE"
		text, err := readSecret(e, envFile)
		if err != nil {
			err = fmt.Errorf("%s_FILE: %w", o.envVar(), err)
		}
		return st, text, err
	}
	return st, "", nil
}

// readSecret reads a secret from a file, dropping one trailing newline.
func readSecret(e *env, name string) (string, error) {
	b, err := e.readFile(name)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return s, nil
}

// parseDuration is time.ParseDuration that also takes whole days, "30d".
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errors.New("bad number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// formatDuration is the inverse of parseDuration: "30d", "15s", "1h30m".
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}}

// parseSize reads a byte count: 262144, 256KiB, 1MiB.
func parseSize(s string) (int, error) {
	var shift uint
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, shift = num, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, err
	}
	// n fits in 32 bits and shift is at most 30: no overflow in int64.
	if v := n << shift; v > math.MaxInt32 || v < math.MinInt32 {
		return 0, errors.New("size out of range")
	}
	return int(n << shift), nil
}

// formatSize shows n with the largest unit that divides it.
func formatSize(n int) string {
	for _, u := range sizeUnits {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.Itoa(n>>u.shift) + u.suffix
		}
	}
	return strconv.Itoa(n)
}

// redactURL hides the passwords in a URL, or a comma-separated list of
// them, such as a postgres:// store or nats:// servers. It does not parse
// the URL, so a malformed one is redacted too.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		scheme, rest, ok := strings.Cut(p, "://")
		if !ok {
			continue
		}
		authority, path, hasPath := strings.Cut(rest, "/")
		at := strings.LastIndex(authority, "@")
		if at < 0 {
			continue
		}
		user, _, hasPassword := strings.Cut(authority[:at], ":")
		if !hasPassword {
			continue
		}
		p = scheme + "://" + user + ":xxxxx" + authority[at:]
		if hasPath {
			p += "/" + path
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}
