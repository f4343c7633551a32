package tui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
)

// The tmux test runs the real program (Run, with tea.Program in a real
// pseudo-terminal) in this test binary started again as a child: the
// environment variables below make TestMain run the TUI instead of tests.
const (
	childDirEnv    = "PARLEY_TUI_TEST_CHILD_DIR"
	childServerEnv = "PARLEY_TUI_TEST_CHILD_SERVER"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(runChild(dir, os.Getenv(childServerEnv)))
	}
	os.Exit(m.Run())
}

// runChild is `parley chat` on the profile in dir. Errors go to
// dir/child.err: the pane's output disappears with it.
func runChild(dir, server string) int {
	fail := func(err error) int {
		os.WriteFile(filepath.Join(dir, "child.err"), []byte(err.Error()), 0o600)
		return 1
	}
	ctx := context.Background()
	c, err := openProfile(ctx, dir)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	if err := Run(ctx, c, Options{ServerURL: server}); err != nil {
		return fail(err)
	}
	return 0
}

// tmux is a private tmux server (its own socket) for one test.
type tmux struct {
	t    *testing.T
	sock string
}

func newTmux(t *testing.T) *tmux {
	if _, err := exec.LookPath("tmux"); err != nil {
		// make test installs it; only a bare go test may lack it.
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (required under CI=true; make test installs it)")
		}
		t.Skip("tmux not installed")
	}
	x := &tmux{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", x.sock, "kill-server").Run() })
	return x
}

func (x *tmux) cmd(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.sock}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// start runs the TUI on the profile in dir in a new 100x30 session.
func (x *tmux) start(session, dir, server string) {
	x.t.Helper()
	self, err := os.Executable()
	if err != nil {
		x.t.Fatal(err)
	}
	shell := fmt.Sprintf("env TERM=xterm-256color %s=%q %s=%q %q -test.run=^$", childDirEnv, dir, childServerEnv, server, self)
	x.cmd("new-session", "-d", "-s", session, "-x", "100", "-y", "30", shell)
}

func (x *tmux) keys(session string, keys ...string) {
	x.t.Helper()
	x.cmd(append([]string{"send-keys", "-t", session}, keys...)...)
}

// text types literally (send-keys -l: no key names).
func (x *tmux) text(session, s string) {
	x.t.Helper()
	x.cmd("send-keys", "-t", session, "-l", s)
}

func (x *tmux) alive(session string) bool {
	return exec.Command("tmux", "-S", x.sock, "has-session", "-t", session).Run() == nil
}

// waitText waits until the pane shows every one of texts.
func (x *tmux) waitText(session, dir string, texts ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		if !x.alive(session) {
			b, _ := os.ReadFile(filepath.Join(dir, "child.err"))
			x.t.Fatalf("the TUI exited while waiting for %q: %s; last screen:\n%s", texts, b, screen)
		}
		screen = x.cmd("capture-pane", "-p", "-t", session)
		ok := true
		for _, s := range texts {
			ok = ok && strings.Contains(screen, s)
		}
		if ok {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.t.Fatalf("%q never showed; screen:\n%s", texts, screen)
	return ""
}

func (x *tmux) waitExit(session string) {
	x.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for x.alive(session) {
		if time.Now().After(deadline) {
			x.t.Fatalf("the TUI did not exit; screen:\n%s", x.cmd("capture-pane", "-p", "-t", session))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInTmux: register through the screen in a real terminal, quit,
// start again, receive, reply, and see the reply delivered and read; make
// a group, write to it, send it a file, and open its info screen.
func TestInTmux(t *testing.T) {
	x := newTmux(t)
	srv := testserver.Start(t, testserver.Options{})
	dir := t.TempDir()
	phone := testserver.NewPhone()

	x.start("reg", dir, srv.URL)
	x.waitText("reg", dir, "register this device", srv.URL)
	x.text("reg", phone)
	x.keys("reg", "Enter")
	x.waitText("reg", dir, "A code was sent to "+phone)
	x.text("reg", testserver.Code)
	x.keys("reg", "Enter")
	x.waitText("reg", dir, "No chats yet", "● connected", "Ctrl+C quit")
	x.keys("reg", "C-c")
	x.waitExit("reg")

	// Bob, outside the TUI; the two save each other as contacts.
	bc, bphone := registered(t, srv)
	if err := bc.Connect(); err != nil {
		t.Fatal(err)
	}
	ac, err := openProfile(ctxT(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	alice := ac.Account()
	saveContact(t, ac, bc.Account().ID, bphone, "Bob")
	ac.Close()
	saveContact(t, bc, alice.ID, phone, "Alice")
	if alice.Phone != phone {
		t.Fatalf("registered phone %q, want %q", alice.Phone, phone)
	}

	x.start("chat", dir, srv.URL)
	x.waitText("chat", dir, "Parley · chats", "● connected")
	if _, err := bc.SendText(ctxT(t), alice.ID, "hello from bob"); err != nil {
		t.Fatal(err)
	}
	x.waitText("chat", dir, "Bob ("+bphone+")", "1 unread", "hello from bob")
	x.keys("chat", "Enter")
	x.waitText("chat", dir, "Bob: hello from bob")
	waitStatus(t, bc, alice.ID, "hello from bob", clientstore.StatusRead)

	x.text("chat", "hi bob")
	x.keys("chat", "Enter")
	x.waitText("chat", dir, "You: hi bob  ✓✓ delivered")
	if err := bc.MarkRead(ctxT(t), alice.ID); err != nil {
		t.Fatal(err)
	}
	x.waitText("chat", dir, "You: hi bob  ✓✓ read")

	// A group with Bob, from the chat list; a file sent to it (Ctrl+T);
	// its info screen (Ctrl+G). Control keys as a real terminal sends them.
	x.keys("chat", "Escape")
	x.waitText("chat", dir, "g new group")
	x.text("chat", "g")
	x.waitText("chat", dir, "New group")
	x.text("chat", "Lunch")
	x.keys("chat", "Tab")
	x.text("chat", bphone)
	x.keys("chat", "Enter")
	x.waitText("chat", dir, "Lunch · 2 members", `You created the group "Lunch"`)
	x.text("chat", "hi group")
	x.keys("chat", "Enter")
	x.waitText("chat", dir, "You: hi group  ✓✓ delivered to all")
	file := filepath.Join(t.TempDir(), "menu.txt")
	if err := os.WriteFile(file, []byte("soup\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x.keys("chat", "C-t")
	x.waitText("chat", dir, "File to send:")
	x.text("chat", file)
	x.keys("chat", "Enter")
	x.waitText("chat", dir, "Caption for menu.txt (5 B):")
	x.keys("chat", "Enter")
	x.waitText("chat", dir, "You: [document menu.txt, 5 B]  ✓✓ delivered to all")
	x.keys("chat", "C-g")
	x.waitText("chat", dir, "Lunch · group info", "You are an admin · 2 members")
	x.keys("chat", "C-c")
	x.waitExit("chat")
}
