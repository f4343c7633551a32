package tui

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// The harness drives the real model the way tea.Program does (Update with
// keys and the client's events, commands run concurrently and their
// messages fed back), in the test's goroutine, and asserts on View(): the
// text the user sees, without colours.

func cheap() clientstore.KeyProtector {
	return &clientstore.PassphraseProtector{Passphrase: []byte("test passphrase"),
		Params: clientstore.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openClient(t testing.TB, dir string) *client.Client {
	t.Helper()
	c, err := openProfile(ctxT(t), dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// registered is a new profile registered with a fresh number.
func registered(t testing.TB, srv *testserver.Server) (*client.Client, string) {
	t.Helper()
	phone := testserver.NewPhone()
	c := openClient(t, t.TempDir())
	if err := c.RequestCode(ctxT(t), srv.URL, phone); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctxT(t), srv.URL, phone, testserver.Code); err != nil {
		t.Fatal(err)
	}
	return c, phone
}

type harness struct {
	t    testing.TB
	name string
	m    *model
	msgs chan tea.Msg
	quit bool
	// peers are other harnesses kept running while this one waits (their
	// timers, e.g. "stopped typing", must fire).
	peers []*harness
}

func plainStyles() styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return newStyles(r)
}

// startTUI is the model of Run for c (connected if registered), with its
// event stream feeding the harness.
func startTUI(t testing.TB, name string, c *client.Client, serverURL string) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, name: name, m: newModel(ctx, c, serverURL, plainStyles()), msgs: make(chan tea.Msg, 4096)}
	if h.m.screen != screenRegister {
		if err := c.Connect(); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for {
			select {
			case e, ok := <-c.Events():
				if !ok {
					return
				}
				select {
				case h.msgs <- eventMsg{e}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	h.update(tea.WindowSizeMsg{Width: 100, Height: 30})
	h.run(h.m.Init())
	return h
}

// run executes cmd like tea.Program: concurrently, its message fed back;
// batches and sequences are expanded at once, as the program's loop does.
func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() { h.dispatch(cmd()) }()
}

func (h *harness) dispatch(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
		return
	}
	// tea.Sequence's message type is unexported: a slice of commands,
	// run in order.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
		for i := range v.Len() {
			if c := v.Index(i).Interface().(tea.Cmd); c != nil {
				h.dispatch(c())
			}
		}
		return
	}
	h.msgs <- msg
}

func (h *harness) update(msg tea.Msg) {
	if _, ok := msg.(tea.QuitMsg); ok {
		h.quit = true
		return
	}
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

// drain applies what has arrived, without waiting.
func (h *harness) drain() {
	for {
		select {
		case msg := <-h.msgs:
			h.update(msg)
		default:
			return
		}
	}
}

// typeText types s key by key, as a user would.
func (h *harness) typeText(s string) {
	for _, r := range s {
		if r == ' ' {
			h.update(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
		} else {
			h.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
		h.drain()
	}
}

func (h *harness) press(k tea.KeyType) {
	h.drain()
	h.update(tea.KeyMsg{Type: k})
}

func (h *harness) view() string {
	h.drain()
	return h.m.View()
}

// waitFor processes messages until the screen satisfies cond, and
// returns it; it fails the test with the last screen after 20 s.
func (h *harness) waitFor(what string, cond func(screen string) bool) string {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, p := range h.peers {
			p.drain()
		}
		h.drain()
		s := h.m.View()
		if cond(s) {
			return s
		}
		select {
		case msg := <-h.msgs:
			h.update(msg)
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("%s: %s never showed; screen:\n%s", h.name, what, s)
		}
	}
}

// waitText waits until every one of texts is on the screen.
func (h *harness) waitText(texts ...string) string {
	h.t.Helper()
	return h.waitFor(strings.Join(texts, " + "), func(s string) bool {
		for _, t := range texts {
			if !strings.Contains(s, t) {
				return false
			}
		}
		return true
	})
}

// waitGone waits until text is no longer on the screen.
func (h *harness) waitGone(text string) string {
	h.t.Helper()
	return h.waitFor("absence of "+text, func(s string) bool { return !strings.Contains(s, text) })
}

// line returns the screen line containing text ("" if none).
func line(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}

// waitLine waits until a line contains all of parts.
func (h *harness) waitLine(parts ...string) string {
	h.t.Helper()
	var got string
	h.waitFor("a line with "+strings.Join(parts, " + "), func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				got = l
				return true
			}
		}
		return false
	})
	return got
}

func saveContact(t testing.TB, c *client.Client, a types.AccountID, phone, name string) {
	t.Helper()
	if err := c.SaveContact(ctxT(t), clientstore.Contact{Account: a, Phone: phone, Name: name}); err != nil {
		t.Fatal(err)
	}
}

func openProfile(ctx context.Context, dir string) (*client.Client, error) {
	return client.Open(ctx, dir, client.Options{Protector: cheap(), MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
}

// waitStatus waits until c's own message with text to peer has status.
func waitStatus(t testing.TB, c *client.Client, peer types.AccountID, text string, want clientstore.Status) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ms, err := c.Messages(ctxT(t), peer, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got clientstore.Status
		for _, m := range ms {
			if m.Outgoing && m.Text == text {
				got = m.Status()
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of %q: %d, want %d", text, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
