package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeWorld is the outside world a test command sees: environment variables,
// files, and a server that only records its configuration.
type fakeWorld struct {
	env   map[string]string
	files map[string]string

	// stdin is standard input; term, when set, is the terminal.
	stdin string
	term  terminal

	mu        sync.Mutex
	served    []config.Config
	serveErr  error
	serveHook func(ctx context.Context)
}

// run runs the parley command line on args and returns its exit status,
// standard output and standard error.
func (w *fakeWorld) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		stdout: &stdout,
		stderr: &stderr,
		lookupEnv: func(k string) (string, bool) {
			v, ok := w.env[k]
			return v, ok
		},
		readFile: func(name string) ([]byte, error) {
			if s, ok := w.files[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
		runServer: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			w.mu.Lock()
			w.served = append(w.served, cfg)
			w.mu.Unlock()
			if w.serveHook != nil {
				w.serveHook(ctx)
			}
			return w.serveErr
		},
		root:         root,
		stdin:        strings.NewReader(w.stdin),
		term:         w.term,
		argon2:       cheapArgon2,
		adjustClient: fastClient,
	}
	code := e.main(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

// TestGolden runs whole command lines and compares what they print with
// testdata/NAME.golden. Run `go test ./internal/cli -update` to rewrite them.
func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		files map[string]string
	}{
		{name: "usage"},
		{name: "usage-help-flag", args: []string{"--help"}},
		{name: "unknown-command", args: []string{"launch"}},
		{name: "unknown-root-flag", args: []string{"--listen", ":1"}},
		{name: "help-serve", args: []string{"help", "serve"}},
		{name: "help-config", args: []string{"help", "config"}},
		{name: "help-config-check", args: []string{"help", "config", "check"}},
		{name: "help-config-print-default", args: []string{"help", "config", "print-default"}},
		{name: "help-version", args: []string{"help", "version"}},
		{name: "help-register", args: []string{"help", "register"}},
		{name: "help-send", args: []string{"send", "--help"}},
		{name: "help-recv", args: []string{"help", "recv"}},
		{name: "help-devices", args: []string{"help", "devices"}},
		{name: "help-link", args: []string{"help", "link"}},
		{name: "help-safety-number", args: []string{"safety-number", "--help"}},
		{name: "help-chat", args: []string{"help", "chat"}},
		{name: "help-group", args: []string{"help", "group"}},
		{name: "help-group-create", args: []string{"group", "create", "--help"}},
		{name: "help-group-invite", args: []string{"help", "group", "invite"}},
		{name: "group-create-usage", args: []string{"group", "create", "--member", "+15551234567"}},
		{name: "group-join-usage", args: []string{"group", "join", "https://example.org/not-a-link"}},
		{name: "send-group-usage", args: []string{"send", "--to", "+15551234567", "--group", "Family", "--text", "hi"}},
		{name: "help-business", args: []string{"help", "business"}},
		{name: "help-business-serve", args: []string{"business", "serve", "--help"}},
		{name: "help-business-profile", args: []string{"help", "business", "profile"}},
		{name: "help-bench", args: []string{"help", "bench"}},
		{name: "bench-not-loopback", args: []string{"bench", "--server", "ws://192.0.2.1:8080/v1/ws"}},
		{name: "bench-usage", args: []string{"bench", "--mix", "group", "--devices", "1", "--embedded"}},
		{name: "chat-no-terminal", args: []string{"chat"}},
		{name: "link-usage", args: []string{"link"}},
		{name: "safety-number-usage", args: []string{"safety-number", "--with", "+15551234567", "--compare", "not base64!"}},
		{name: "register-usage", args: []string{"register", "--server", "ftp://x", "--phone", "+15551234567"}},
		{name: "send-usage", args: []string{"send", "--text", "hi"}},
		{name: "recv-extra-argument", args: []string{"recv", "now"}},
		{name: "help-help", args: []string{"help", "help"}},
		{name: "help-unknown", args: []string{"help", "nope"}},
		{name: "config-unknown", args: []string{"config", "show"}},
		{name: "print-default", args: []string{"config", "print-default"}},
		{name: "check-defaults", args: []string{"config", "check"}},
		{
			name: "check-cluster",
			args: []string{"config", "check", "--listen", "0.0.0.0:443", "--tls-cert", "/etc/parley/cert.pem",
				"--tls-key=/etc/parley/key.pem", "--nats", "nats://a:4222,nats://user:pw@b:4222"},
			env: map[string]string{
				"PARLEY_STORE":                    "postgres://parley:hunter2@db.internal/parley?sslmode=require",
				"PARLEY_LISTEN":                   "127.0.0.1:9999", // the flag wins
				"PARLEY_CODE_SENDER":              "webhook",
				"PARLEY_CODE_WEBHOOK_URL":         "https://sms.internal/send",
				"PARLEY_CODE_WEBHOOK_SECRET_FILE": "/run/secrets/webhook",
				"PARLEY_MAILBOX_TTL":              "14d",
				"PARLEY_MAX_FRAME_BYTES":          "1MiB",
				"PARLEY_LOG_FORMAT":               "json",
			},
			files: map[string]string{"/run/secrets/webhook": "s3cret\n"},
		},
		{
			name: "check-problems",
			args: []string{"config", "check", "--listen", "0.0.0.0:8080", "--code-sender", "fixed",
				"--keepalive", "soon", "--tls-cert", "cert.pem"},
			env: map[string]string{
				"PARLEY_MAX_DEVICES":              "many",
				"PARLEY_MAX_FRAME_BYTES":          "1GiB",
				"PARLEY_CODE_WEBHOOK_SECRET":      "x",
				"PARLEY_CODE_WEBHOOK_SECRET_FILE": "/run/secrets/webhook",
				"PARLEY_LOG_LEVEL":                "loud",
			},
		},
		{name: "check-missing-secret-file", args: []string{"config", "check", "--code-webhook-secret-file", "/nope"}},
		{name: "check-extra-argument", args: []string{"config", "check", "now"}},
		{name: "serve-unknown-flag", args: []string{"serve", "--port", "80"}},
		{name: "serve-problems", args: []string{"serve", "--nats", "not a url", "--mailbox-ttl", "30s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWorld{env: tt.env, files: tt.files}
			code, stdout, stderr := w.run(t, tt.args...)
			got := "$ parley " + shellJoin(tt.args) + "\nexit " + strconv.Itoa(code) +
				"\n-- stdout --\n" + stdout + "-- stderr --\n" + stderr
			checkGolden(t, filepath.Join("testdata", tt.name+".golden"), got)
			if len(w.served) > 0 {
				t.Errorf("the server ran, with %+v", w.served)
			}
		})
	}
}

// shellJoin writes args as a shell would need them.
func shellJoin(args []string) string {
	var quoted []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted = append(quoted, a)
	}
	return strings.Join(quoted, " ")
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test ./internal/cli -update if the change is right)\n--- got ---\n%s--- want ---\n%s",
			path, got, want)
	}
}

// Every leaf command prints the same help for `parley help CMD` and
// `parley CMD --help`, on standard output, with status 0.
func TestHelpFlagMatchesHelpCommand(t *testing.T) {
	var walk func(c *command, words []string)
	walk = func(c *command, words []string) {
		for _, s := range c.subcommands {
			walk(s, append(words[:len(words):len(words)], s.name))
		}
		if len(c.subcommands) > 0 || len(words) == 0 {
			return
		}
		t.Run(strings.Join(words, "-"), func(t *testing.T) {
			w := &fakeWorld{}
			code1, out1, err1 := w.run(t, append([]string{"help"}, words...)...)
			for _, flagName := range []string{"--help", "-h"} {
				code2, out2, err2 := w.run(t, append(words[:len(words):len(words)], flagName)...)
				if code1 != 0 || code2 != 0 || err1 != "" || err2 != "" {
					t.Errorf("status %d and %d, stderr %q and %q", code1, code2, err1, err2)
				}
				if out1 != out2 || !strings.HasPrefix(out1, "Usage: parley "+strings.Join(words, " ")) {
					t.Errorf("help %s:\n%s\n%s %s:\n%s", words, out1, words, flagName, out2)
				}
			}
		})
	}
	walk(root, nil)
}

// Every field of config.Config has exactly one option.
func TestOptionsCoverConfig(t *testing.T) {
	var c config.Config
	v := reflect.ValueOf(&c).Elem()
	owners := map[uintptr][]string{}
	seenFlag, seenEnv := map[string]bool{}, map[string]bool{}
	for _, o := range options {
		p := reflect.ValueOf(o.field(&c))
		owners[p.Pointer()] = append(owners[p.Pointer()], o.flag)
		if seenFlag[o.flag] || seenEnv[o.envVar()] {
			t.Errorf("option %s is defined twice", o.flag)
		}
		seenFlag[o.flag], seenEnv[o.envVar()] = true, true
		if !strings.Contains(o.usage, "`") {
			t.Errorf("option %s: usage %q names no value in `backquotes`", o.flag, o.usage)
		}
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		switch got := owners[v.Field(i).Addr().Pointer()]; len(got) {
		case 0:
			t.Errorf("config.Config.%s has no flag: add it to options in options.go", f.Name)
		case 1:
		default:
			t.Errorf("config.Config.%s has flags %v", f.Name, got)
		}
	}
}

// TestResolve covers flags, environment variables, secret files and their
// precedence.
func TestResolve(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		files    map[string]string
		check    func(c config.Config) bool
		wantErrs []string // substrings, one per problem, in order
	}{
		{
			name:  "nothing set keeps zero values",
			check: func(c config.Config) bool { return c == config.Config{} },
		},
		{
			name: "env",
			env:  map[string]string{"PARLEY_STORE": "postgres://x", "PARLEY_NATS": "nats://n:4222", "PARLEY_MAX_DEVICES": "3"},
			check: func(c config.Config) bool {
				return c.Store == "postgres://x" && c.NATS == "nats://n:4222" && c.MaxDevices == 3
			},
		},
		{
			name:  "flag beats env",
			args:  []string{"--store", "sqlite:/tmp/a.db", "--max-devices=7"},
			env:   map[string]string{"PARLEY_STORE": "postgres://x", "PARLEY_MAX_DEVICES": "3"},
			check: func(c config.Config) bool { return c.Store == "sqlite:/tmp/a.db" && c.MaxDevices == 7 },
		},
		{
			name:  "an empty flag beats env",
			args:  []string{"--nats="},
			env:   map[string]string{"PARLEY_NATS": "nats://n:4222"},
			check: func(c config.Config) bool { return c.NATS == "" },
		},
		{
			name:  "an empty variable counts as unset",
			env:   map[string]string{"PARLEY_MAILBOX_TTL": "", "PARLEY_LOG_LEVEL": ""},
			check: func(c config.Config) bool { return c.MailboxTTL == 0 && c.LogLevel == "" },
		},
		{
			name: "durations and sizes",
			args: []string{"--mailbox-ttl", "2d", "--keepalive", "45s", "--max-frame-bytes", "64KiB"},
			env:  map[string]string{"PARLEY_DEDUP_WINDOW": "36h", "PARLEY_SHUTDOWN_TIMEOUT": "1m30s"},
			check: func(c config.Config) bool {
				return c.MailboxTTL == 48*time.Hour && c.KeepAlive == 45*time.Second && c.MaxFrameBytes == 64<<10 &&
					c.DedupWindow == 36*time.Hour && c.ShutdownTimeout == 90*time.Second
			},
		},
		{
			name:  "secret from env",
			env:   map[string]string{"PARLEY_CODE_WEBHOOK_SECRET": "abc"},
			check: func(c config.Config) bool { return c.CodeWebhookSecret == "abc" },
		},
		{
			name:  "secret from env file drops one newline",
			env:   map[string]string{"PARLEY_CODE_WEBHOOK_SECRET_FILE": "/s"},
			files: map[string]string{"/s": "abc \r\n"},
			check: func(c config.Config) bool { return c.CodeWebhookSecret == "abc " },
		},
		{
			name:  "secret file flag beats env",
			args:  []string{"--code-webhook-secret-file", "/f"},
			env:   map[string]string{"PARLEY_CODE_WEBHOOK_SECRET": "from-env"},
			files: map[string]string{"/f": "from-file\n"},
			check: func(c config.Config) bool { return c.CodeWebhookSecret == "from-file" },
		},
		{
			name:     "secret given twice in env",
			env:      map[string]string{"PARLEY_CODE_WEBHOOK_SECRET": "a", "PARLEY_CODE_WEBHOOK_SECRET_FILE": "/s"},
			files:    map[string]string{"/s": "b"},
			wantErrs: []string{"PARLEY_CODE_WEBHOOK_SECRET and PARLEY_CODE_WEBHOOK_SECRET_FILE: set one, not both"},
		},
		{
			name:     "empty secret file",
			args:     []string{"--code-webhook-secret-file", "/s"},
			files:    map[string]string{"/s": "\n"},
			wantErrs: []string{"--code-webhook-secret-file: /s is empty"},
		},
		{
			name: "every bad value is reported, naming its source",
			args: []string{"--max-devices", "five", "--mailbox-ttl", "1w"},
			env:  map[string]string{"PARLEY_KEEPALIVE": "30", "PARLEY_MAX_FRAME_BYTES": "2KB", "PARLEY_MAILBOX_TTL": "bad but overridden"},
			wantErrs: []string{
				`PARLEY_MAX_FRAME_BYTES: "2KB" is not a size`,
				`PARLEY_KEEPALIVE: "30" is not a duration`,
				`--max-devices: "five" is not a whole number`,
				`--mailbox-ttl: "1w" is not a duration`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWorld{env: tt.env, files: tt.files}
			e := &env{lookupEnv: func(k string) (string, bool) { v, ok := w.env[k]; return v, ok },
				readFile: func(name string) ([]byte, error) {
					if s, ok := w.files[name]; ok {
						return []byte(s), nil
					}
					return nil, fs.ErrNotExist
				}}
			fset := newFlagSet("test")
			flags := bindOptions(fset)
			if err := fset.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, _, errs := flags.resolve(e)
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("got problems %q, want %d", errs, len(tt.wantErrs))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.wantErrs[i]) {
					t.Errorf("problem %d is %q, want it to contain %q", i, err, tt.wantErrs[i])
				}
			}
			if tt.check != nil && !tt.check(cfg) {
				t.Errorf("wrong configuration: %+v", cfg)
			}
		})
	}
}

func TestDurationAndSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		text string
	}{
		{"30d", 30 * 24 * time.Hour, "30d"},
		{"0d", 0, "0s"},
		{"36h", 36 * time.Hour, "36h"},
		{"90s", 90 * time.Second, "1m30s"},
		{"15m", 15 * time.Minute, "15m"},
		{"1h0m30s", time.Hour + 30*time.Second, "1h0m30s"},
		{"250ms", 250 * time.Millisecond, "250ms"},
	} {
		d, err := parseDuration(tt.in)
		if err != nil || d != tt.want || formatDuration(d) != tt.text {
			t.Errorf("parseDuration(%q) = %v, %v, shown %q; want %v shown %q", tt.in, d, err, formatDuration(d), tt.want, tt.text)
		}
	}
	for _, bad := range []string{"d", "-1d", "1.5d", "1w", "30", ""} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) succeeded", bad)
		}
	}
	for _, tt := range []struct {
		in   string
		want int
		text string
	}{
		{"262144", 256 << 10, "256KiB"},
		{"256KiB", 256 << 10, "256KiB"},
		{"1MiB", 1 << 20, "1MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"1000", 1000, "1000"},
		{"1536KiB", 1536 << 10, "1536KiB"},
	} {
		n, err := parseSize(tt.in)
		if err != nil || n != tt.want || formatSize(n) != tt.text {
			t.Errorf("parseSize(%q) = %d, %v, shown %q; want %d shown %q", tt.in, n, err, formatSize(n), tt.want, tt.text)
		}
	}
	for _, bad := range []string{"2GiB", "1KB", "1.5MiB", "MiB", "", "4294967296"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:./parley-data/parley.db":         "sqlite:./parley-data/parley.db",
		"postgres://db/parley":                   "postgres://db/parley",
		"postgres://u@db/parley":                 "postgres://u@db/parley",
		"postgres://u:pw@db/parley?sslmode=x":    "postgres://u:xxxxx@db/parley?sslmode=x",
		"postgres://u:p@ss@db:bad/x":             "postgres://u:xxxxx@db:bad/x",
		"nats://a:1,nats://u:pw@b:2,tls://c:p@d": "nats://a:1,nats://u:xxxxx@b:2,tls://c:xxxxx@d",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServe(t *testing.T) {
	w := &fakeWorld{env: map[string]string{"PARLEY_STORE": "postgres://p@db/parley", "PARLEY_LOG_FORMAT": "json"}}
	code, stdout, stderr := w.run(t, "serve", "--listen", "127.0.0.1:0", "--max-devices", "3")
	if code != 0 || stdout != "" {
		t.Fatalf("status %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	want := config.Config{Listen: "127.0.0.1:0", Store: "postgres://p@db/parley", MaxDevices: 3, LogFormat: "json"}.Defaults()
	if len(w.served) != 1 || w.served[0] != want {
		t.Errorf("served %+v, want %+v", w.served, want)
	}
	if !strings.Contains(stderr, `"msg":"starting parley"`) {
		t.Errorf("no JSON start line in the log:\n%s", stderr)
	}

	w = &fakeWorld{serveErr: errors.New("address already in use")}
	code, _, stderr = w.run(t, "serve", "--log-level", "error")
	if code != exitFail || !strings.Contains(stderr, "address already in use") || strings.Contains(stderr, "starting") {
		t.Errorf("a failing server: status %d, stderr:\n%s", code, stderr)
	}
}

// A SIGTERM cancels the server's context and is logged; the process lives on.
func TestServeStopsOnSignal(t *testing.T) {
	w := &fakeWorld{serveHook: func(ctx context.Context) {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Error(err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Error("SIGTERM did not cancel the server's context")
		}
	}}
	code, _, stderr := w.run(t, "serve")
	if code != 0 || !strings.Contains(stderr, "shutting down") || !strings.Contains(stderr, "terminated") {
		t.Errorf("status %d, log:\n%s", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := (&fakeWorld{}).run(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "parley ") || !strings.Contains(stdout, runtime.Version()) || stderr != "" {
		t.Errorf("status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
