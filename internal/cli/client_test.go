package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// cheapArgon2 keeps the many profile opens of the tests fast; the stored
// parameters are used for every later open, so a test profile stays cheap.
var cheapArgon2 = clientstore.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// fastClient shortens the reconnect back-off, so that tests that stop the
// server do not wait seconds.
func fastClient(o *client.Options) {
	o.MinBackoff, o.MaxBackoff = 20*time.Millisecond, 500*time.Millisecond
}

// fakeTerminal answers prompts from a script, as a person at a terminal.
type fakeTerminal struct {
	t       *testing.T
	answers []string
	prompts []string
}

func (f *fakeTerminal) next(prompt string) (string, error) {
	f.prompts = append(f.prompts, prompt)
	if len(f.answers) == 0 {
		f.t.Errorf("unexpected prompt %q", prompt)
		return "", os.ErrClosed
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}

func (f *fakeTerminal) ReadLine(prompt string) (string, error)     { return f.next(prompt) }
func (f *fakeTerminal) ReadPassword(prompt string) (string, error) { return f.next(prompt) }

// person is one profile driven through the commands.
type person struct {
	t       *testing.T
	dir     string
	env     map[string]string
	account string
}

func newPerson(t *testing.T) *person {
	dir := filepath.Join(t.TempDir(), "profile")
	return &person{t: t, dir: dir, env: map[string]string{envProfile: dir, envPassphrase: "correct horse " + filepath.Base(t.TempDir())}}
}

// run runs a parley command line as p.
func (p *person) run(args ...string) (int, string, string) {
	p.t.Helper()
	w := &fakeWorld{env: p.env}
	return w.run(p.t, args...)
}

// must runs a command that must succeed and returns its standard output.
func (p *person) must(args ...string) string {
	p.t.Helper()
	code, out, errOut := p.run(args...)
	if code != exitOK {
		p.t.Fatalf("parley %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

var registeredRE = regexp.MustCompile(`Registered (\+\d+) as account ([0-9a-f-]{36}), device (\d+)\.`)

// register registers p with phone (requesting the code in a first run, as
// a script does) and remembers its account id.
func (p *person) register(srv *testserver.Server, phone string) {
	p.t.Helper()
	out := p.must("register", "--server", srv.HTTP, "--phone", phone)
	if !strings.Contains(out, "A code was sent to "+phone) || !strings.Contains(out, "--code CODE") {
		p.t.Fatalf("register without a code printed %q", out)
	}
	out = p.must("register", "--server", srv.HTTP, "--phone", phone, "--code", testserver.Code)
	m := registeredRE.FindStringSubmatch(out)
	if m == nil || m[1] != phone || m[3] != "1" {
		p.t.Fatalf("register printed %q", out)
	}
	p.account = m[2]
}

// recvJSON runs recv --json and parses its lines.
func (p *person) recvJSON(args ...string) []recvJSON {
	p.t.Helper()
	out := p.must(append([]string{"recv", "--json", "--timeout", "300ms"}, args...)...)
	var msgs []recvJSON
	for line := range strings.Lines(out) {
		var m recvJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			p.t.Fatalf("recv --json printed a line that is not JSON: %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestClientCommandsEndToEnd(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := newPerson(t), newPerson(t)
	alicePhone, bobPhone := testserver.NewPhone(), testserver.NewPhone()
	alice.register(srv, alicePhone)
	bob.register(srv, bobPhone)

	before := time.Now().Add(-time.Second)
	alice.must("send", "--to", bob.account, "--text", "hello bob, it's alice")
	msgs := bob.recvJSON()
	if len(msgs) != 1 {
		t.Fatalf("bob received %d messages, want 1: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	if m.Text != "hello bob, it's alice" || m.Kind != "text" || m.Account != alice.account || m.Device != 1 || m.ID == "" {
		t.Errorf("bob received %+v", m)
	}
	// Bob never saved alice as a contact: her number comes from the profile
	// her message carries, checked against the server's directory.
	if m.From != alicePhone {
		t.Errorf("from = %q, want alice's phone %s", m.From, alicePhone)
	}
	for _, ts := range []string{m.Sent, m.Received} {
		at, err := time.Parse(time.RFC3339, ts)
		if err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("time %q: %v (want RFC 3339, now)", ts, err)
		}
	}
	// A phone number is looked up on the server.
	alice.must("send", "--to", bobPhone, "--text", "by number")
	if msgs := bob.recvJSON(); len(msgs) != 1 || msgs[0].Text != "by number" {
		t.Errorf("bob received %+v", msgs)
	}
	// Nothing is printed twice.
	if msgs := bob.recvJSON(); len(msgs) != 0 {
		t.Errorf("a second recv printed %+v", msgs)
	}

	// Bob answers. Alice's send connects and so receives Bob's answer
	// before her recv: recv still prints it, once.
	bob.must("send", "--to", alice.account, "--text", "hi alice")
	alice.must("send", "--to", bob.account, "--text", "how are you?")
	out := alice.must("recv", "--timeout", "300ms")
	if strings.Count(out, "hi alice") != 1 || strings.Count(out, "\n") != 1 {
		t.Errorf("alice's recv printed %q, want one line with Bob's answer", out)
	}
	if msgs := bob.recvJSON(); len(msgs) != 1 || msgs[0].Text != "how are you?" {
		t.Errorf("bob received %+v", msgs)
	}

	// The text comes from standard input with --text -.
	w := &fakeWorld{env: alice.env, stdin: "line one\nline two\n"}
	if code, _, errOut := w.run(t, "send", "--to", bob.account, "--text", "-"); code != exitOK {
		t.Fatalf("send --text -: exit %d: %s", code, errOut)
	}
	// With --all the delivery receipt of that message is printed too.
	if msgs := bob.recvJSON(); len(msgs) != 1 || msgs[0].Text != "line one\nline two\n" {
		t.Errorf("bob received %+v", msgs)
	}
	var kinds []string
	for _, m := range alice.recvJSON("--all") {
		kinds = append(kinds, m.Kind+":"+m.Status)
	}
	if !strings.Contains(strings.Join(kinds, " "), "receipt:delivered") {
		t.Errorf("alice's recv --all printed %v, want a delivery receipt", kinds)
	}
}

// TestRecvBacklogFollowsArrivalOrder: a send command that receives while
// it sends can store an incoming message (seq n) and then its own outgoing
// one (seq n+1) stamped a few milliseconds earlier, since Send takes its
// time before it waits for the receive's transaction. recv's cursor is a
// seq, so the backlog must go through a conversation in seq order, or the
// outgoing message moves the cursor past the incoming one, which is then
// never printed.
func TestRecvBacklogFollowsArrivalOrder(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := newPerson(t), newPerson(t)
	alice.register(srv, testserver.NewPhone())
	bob.register(srv, testserver.NewPhone())
	bobID, err := types.ParseAccountID(bob.account)
	if err != nil {
		t.Fatal(err)
	}
	aliceID, err := types.ParseAccountID(alice.account)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	c, err := client.Open(ctx, alice.dir, client.Options{Protector: &clientstore.PassphraseProtector{
		Passphrase: []byte(alice.env[envPassphrase]), Params: cheapArgon2}})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Store()
	conv, err := st.DirectConversation(ctx, bobID)
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().Add(-time.Second)
	add := func(from types.AccountID, dir clientstore.Direction, text string, received time.Time) {
		t.Helper()
		content := client.TextContent(text)
		id := types.NewMessageID()
		content.MessageId, content.SentMs = id[:], sent.UnixMilli()
		raw, err := proto.Marshal(content)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddMessage(ctx, clientstore.Message{Conversation: conv.ID, ID: id, Sender: types.Address{Account: from, Device: 1},
			Direction: dir, Kind: client.KindText, Content: raw, SentAt: sent, ReceivedAt: received}); err != nil {
			t.Fatal(err)
		}
	}
	add(bobID, clientstore.Incoming, "hi alice", sent.Add(4*time.Millisecond))
	add(aliceID, clientstore.Outgoing, "how are you?", sent)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	out := alice.must("recv", "--timeout", "300ms")
	if strings.Count(out, "hi alice") != 1 || strings.Count(out, "\n") != 1 {
		t.Errorf("recv printed %q, want one line with Bob's message", out)
	}
	if out := alice.must("recv", "--timeout", "300ms"); out != "" {
		t.Errorf("a second recv printed %q, want nothing", out)
	}
}

func TestClientCommandFailures(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice, bob := newPerson(t), newPerson(t)
	alice.register(srv, testserver.NewPhone())
	bob.register(srv, testserver.NewPhone())

	wrongPass := map[string]string{envProfile: alice.dir, envPassphrase: "not it"}
	noProfile := map[string]string{envProfile: filepath.Join(t.TempDir(), "none"), envPassphrase: "x"}
	noPass := map[string]string{envProfile: alice.dir}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"unknown number", alice.env, []string{"send", "--to", testserver.NewPhone(), "--text", "hi"}, exitFail, "nobody on this server has the number"},
		{"unknown account", alice.env, []string{"send", "--to", "0195f3b4-7e44-7c5e-9e7a-7b2b9ad9a111", "--text", "hi"}, exitFail, "the server refused the message"},
		{"to self", alice.env, []string{"send", "--to", alice.account, "--text", "hi"}, exitFail, "that is this account"},
		{"not a number", alice.env, []string{"send", "--to", "bob", "--text", "hi"}, exitFail, "neither a phone number"},
		{"no text", alice.env, []string{"send", "--to", bob.account}, exitUsage, "give --text"},
		{"wrong passphrase", wrongPass, []string{"recv"}, exitFail, "the passphrase does not unlock the profile"},
		{"no passphrase", noPass, []string{"recv"}, exitFail, "set PARLEY_PASSPHRASE"},
		{"no profile", noProfile, []string{"send", "--to", bob.account, "--text", "hi"}, exitFail, "run 'parley register'"},
		{"registered twice", alice.env, []string{"register", "--server", srv.HTTP, "--phone", "+15550000000", "--code", "1"}, exitFail, "already registered"},
		{"wrong code", newPerson(t).env, []string{"register", "--server", srv.HTTP, "--phone", testserver.NewPhone(), "--code", "000000"}, exitFail, "the code was not accepted"},
		{"bad phone", newPerson(t).env, []string{"register", "--server", srv.HTTP, "--phone", "12345"}, exitUsage, "not a phone number"},
		{"no server", newPerson(t).env, []string{"register", "--phone", "+15551234567"}, exitUsage, "give --server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWorld{env: tt.env}
			code, out, errOut := w.run(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q (stdout %q)", code, errOut, tt.code, tt.stderr, out)
			}
		})
	}

	// With the server down, send and recv say so and fail.
	srv.Stop()
	for _, args := range [][]string{
		{"send", "--to", bob.account, "--text", "anyone there?", "--timeout", "5s"},
		{"recv", "--timeout", "1s"},
	} {
		code, _, errOut := alice.run(args...)
		if code != exitFail || !strings.Contains(errOut, "cannot reach the server at "+srv.URL) {
			t.Errorf("%s with the server down: exit %d, stderr %q", args[0], code, errOut)
		}
	}
}

// A person at a terminal is asked for a new passphrase twice and for the
// code; nothing secret is echoed to standard output.
func TestRegisterOnTerminal(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	dir := filepath.Join(t.TempDir(), "p")
	phone := testserver.NewPhone()
	term := &fakeTerminal{t: t, answers: []string{"", "s3cret pass", "typo", "s3cret pass", "s3cret pass", testserver.Code}}
	w := &fakeWorld{env: map[string]string{}, term: term}
	code, out, errOut := w.run(t, "register", "--server", srv.HTTP, "--phone", phone, "--profile", dir)
	if code != exitOK || !strings.Contains(out, "Registered "+phone) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "empty passphrase is refused") || !strings.Contains(errOut, "differ") {
		t.Errorf("stderr %q: want the refusal of the empty passphrase and of the differing ones", errOut)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Errorf("the passphrase was printed")
	}
	if n := len(term.prompts); n != 6 || !strings.Contains(term.prompts[5], "Code") {
		t.Errorf("prompts %q", term.prompts)
	}
	// The same passphrase from the terminal opens the profile later.
	term = &fakeTerminal{t: t, answers: []string{"s3cret pass"}}
	w = &fakeWorld{env: map[string]string{}, term: term}
	if code, _, errOut := w.run(t, "recv", "--profile", dir, "--timeout", "100ms"); code != exitOK {
		t.Errorf("recv with the passphrase from the terminal: exit %d: %s", code, errOut)
	}
}

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":            "ws://127.0.0.1:8080/v1/ws",
		"http://127.0.0.1:8080":     "ws://127.0.0.1:8080/v1/ws",
		"https://chat.example.org/": "wss://chat.example.org/v1/ws",
		"wss://chat.example.org/x":  "wss://chat.example.org/x",
	} {
		if got, err := serverURL(in); err != nil || got != want {
			t.Errorf("serverURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ftp://host", "http://"} {
		if got, err := serverURL(in); err == nil {
			t.Errorf("serverURL(%q) = %q, want an error", in, got)
		}
	}
}

func TestProfileDir(t *testing.T) {
	tests := []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"/p", map[string]string{envProfile: "/env", "HOME": "/home/a"}, "/p"},
		{"", map[string]string{envProfile: "/env", "HOME": "/home/a"}, "/env"},
		{"", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/home/a"}, "/xdg/parley"},
		{"", map[string]string{"XDG_DATA_HOME": "relative", "HOME": "/home/a"}, "/home/a/.local/share/parley"},
		{"", map[string]string{"HOME": "/home/a"}, "/home/a/.local/share/parley"},
	}
	for _, tt := range tests {
		e := &env{lookupEnv: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}
		if got, err := e.profileDir(tt.flag); err != nil || got != filepath.FromSlash(tt.want) {
			t.Errorf("profileDir(%q) with %v = %q, %v; want %q", tt.flag, tt.env, got, err, tt.want)
		}
	}
}

// linkSDK links a new profile to p's account through the SDK (the way
// 'parley link' does it is tested with that command).
func (p *person) linkSDK(srv *testserver.Server) *person {
	p.t.Helper()
	ctx := context.Background()
	open := func(dir, pass string) *client.Client {
		c, err := client.Open(ctx, dir, client.Options{Protector: &clientstore.PassphraseProtector{Passphrase: []byte(pass), Params: cheapArgon2}})
		if err != nil {
			p.t.Fatal(err)
		}
		return c
	}
	primary := open(p.dir, p.env[envPassphrase])
	defer primary.Close()
	if err := primary.Connect(); err != nil {
		p.t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := primary.WaitIdle(wctx); err != nil {
		p.t.Fatal(err)
	}
	code, err := primary.CreateLinkCode(wctx)
	if err != nil {
		p.t.Fatal(err)
	}
	linked := newPerson(p.t)
	nc := open(linked.dir, linked.env[envPassphrase])
	defer nc.Close()
	if err := nc.Link(wctx, srv.URL, code); err != nil {
		p.t.Fatal(err)
	}
	linked.account = p.account
	return linked
}

func TestDevicesCommand(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := newPerson(t)
	alice.register(srv, testserver.NewPhone())
	out := alice.must("devices")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "1 ") ||
		!strings.Contains(lines[1], "primary, this device") {
		t.Errorf("devices printed %q, want a header and device 1 (primary, this device)", out)
	}
	laptop := alice.linkSDK(srv)

	var devs []deviceJSON
	for line := range strings.Lines(alice.must("devices", "--json")) {
		var d deviceJSON
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		devs = append(devs, d)
	}
	if len(devs) != 2 || devs[0].ID != 1 || !devs[0].Primary || !devs[0].Current || devs[1].ID != 2 || devs[1].Primary || devs[1].Current {
		t.Fatalf("devices --json: %+v", devs)
	}
	if out := laptop.must("devices"); !strings.Contains(out, "2 ") || !strings.Contains(out, "this device") {
		t.Errorf("the linked device lists %q", out)
	}

	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"devices", "--remove", "1"}, exitFail, "the primary device cannot be removed"},
		{[]string{"devices", "--remove", "x"}, exitUsage, "not a device id"},
	} {
		if code, _, errOut := alice.run(tt.args...); code != tt.code || !strings.Contains(errOut, tt.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.stderr)
		}
	}
	if out := alice.must("devices", "--remove", "2"); !strings.Contains(out, "Removed device 2.") {
		t.Errorf("devices --remove 2 printed %q", out)
	}
	if out := alice.must("devices"); strings.Contains(out, "\n2 ") {
		t.Errorf("device 2 is still listed: %q", out)
	}
	if code, _, errOut := laptop.run("recv", "--timeout", "1s"); code != exitFail || !strings.Contains(errOut, "removed") {
		t.Errorf("the removed device's recv: exit %d, stderr %q", code, errOut)
	}
}
