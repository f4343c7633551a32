package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/testserver"
)

// syncBuffer is standard output or error of a command that runs while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a command running in the background.
type started struct {
	stdout, stderr *syncBuffer
	done           chan int // its exit status
}

// start runs a parley command line as p in the background, as a second
// terminal would.
func (p *person) start(args ...string) *started {
	s := &started{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	e := &env{
		stdout:       s.stdout,
		stderr:       s.stderr,
		lookupEnv:    func(k string) (string, bool) { v, ok := p.env[k]; return v, ok },
		root:         root,
		stdin:        strings.NewReader(""),
		argon2:       cheapArgon2,
		adjustClient: fastClient,
	}
	go func() { s.done <- e.main(context.Background(), args) }()
	return s
}

// waitOutput waits until the command printed a match of re, and returns
// the match's groups.
func (s *started) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			return m
		}
		select {
		case code := <-s.done:
			t.Fatalf("exited %d before printing %v\nstdout: %s\nstderr: %s", code, re, s.stdout, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %v within 20s\nstdout: %s\nstderr: %s", re, s.stdout, s.stderr)
	return nil
}

// wait waits for the command's exit status.
func (s *started) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("still running after 30s\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
		return -1
	}
}

var linkURIRE = regexp.MustCompile(`(?m)^Link: (parley://link\?\S+)$`)

// link links a new profile to p's account with the commands: 'parley
// link' on the new one, 'parley link --approve -' on p with the link
// pasted into standard input.
func (p *person) link(srv *testserver.Server) (*person, string) {
	p.t.Helper()
	linked := newPerson(p.t)
	run := linked.start("link", "--server", srv.HTTP, "--timeout", "30s")
	uri := run.waitOutput(p.t, linkURIRE)[1]
	w := &fakeWorld{env: p.env, stdin: uri + "\n"}
	code, out, errOut := w.run(p.t, "link", "--approve", "-")
	if code != exitOK || !strings.Contains(out, "Approved") {
		p.t.Fatalf("link --approve: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if code := run.wait(p.t); code != exitOK {
		p.t.Fatalf("link: exit %d\nstdout: %s\nstderr: %s", code, run.stdout, run.stderr)
	}
	linked.account = p.account
	return linked, run.stdout.String()
}

func TestLinkCommand(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := newPerson(t), newPerson(t)
	alicePhone := testserver.NewPhone()
	alice.register(srv, alicePhone)
	bob.register(srv, testserver.NewPhone())

	laptop, out := alice.link(srv)
	// The new device showed the QR code, the link to paste and the command
	// for the primary, then what it became.
	uri := linkURIRE.FindStringSubmatch(out)[1]
	for _, want := range []string{"parley link --approve '" + uri + "'", "█▀", "Linked: this profile is device 2 of account " + alice.account + " (" + alicePhone + ")"} {
		if !strings.Contains(out, want) {
			t.Errorf("link printed %q, want %q in it", out, want)
		}
	}
	if pic, _ := qrHalfBlocks([]byte(uri)); !strings.Contains(out, pic) {
		t.Errorf("link did not print the QR code of its link %s", uri)
	}
	if out := alice.must("devices"); !strings.Contains(out, "\n2 ") {
		t.Errorf("alice's devices after linking: %q", out)
	}

	// Bob's message reaches both of Alice's devices.
	bob.must("send", "--to", alicePhone, "--text", "hello, both of you")
	for name, p := range map[string]*person{"laptop": laptop, "phone": alice} {
		if msgs := p.recvJSON(); len(msgs) != 1 || msgs[0].Text != "hello, both of you" || msgs[0].Account != bob.account {
			t.Errorf("%s received %+v", name, msgs)
		}
	}
	// The linked device shows the same safety number with Bob as the
	// primary: it learned the primary's key from the link.
	if a, l := alice.safetyJSON(bob.account), laptop.safetyJSON(bob.account); a.Digits != l.Digits || len(a.Digits) != 60 {
		t.Errorf("safety number with bob: primary %q, linked device %q", a.Digits, l.Digits)
	}

	for _, tt := range []struct {
		name   string
		p      *person
		term   *fakeTerminal
		args   []string
		code   int
		stderr string
	}{
		{"linked device approves", laptop, nil, []string{"link", "--approve", uri}, exitFail, "only the account's primary device"},
		{"not a link", alice, nil, []string{"link", "--approve", "parley://link?addr=x"}, exitFail, "not a whole Parley link"},
		{"nobody waits", alice, nil, []string{"link", "--approve", uri}, exitFail, "no longer waiting"},
		{"declined on the terminal", alice, &fakeTerminal{t: t, answers: []string{"n"}}, []string{"link", "--approve", uri}, exitFail, "not approved"},
		{"already linked", laptop, nil, []string{"link", "--server", srv.HTTP}, exitFail, "already a device of an account"},
		{"both sides", alice, nil, []string{"link", "--server", srv.HTTP, "--approve", uri}, exitUsage, "leave out --server"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWorld{env: tt.p.env}
			if tt.term != nil {
				w.term = tt.term
			}
			if code, out, errOut := w.run(t, tt.args...); code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q (stdout %q)", code, errOut, tt.code, tt.stderr, out)
			}
		})
	}

	// A link nobody approves gives up after --timeout, and says so.
	code, out, errOut := newPerson(t).run("link", "--server", srv.HTTP, "--timeout", "300ms")
	if code != exitFail || !strings.Contains(errOut, "not approved within 300ms") || !linkURIRE.MatchString(out) {
		t.Errorf("unapproved link: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}
