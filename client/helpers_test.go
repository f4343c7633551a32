package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// cheap is a passphrase protector with minimal Argon2 costs: tests open
// many profiles.
func cheap() clientstore.KeyProtector {
	return &clientstore.PassphraseProtector{Passphrase: []byte("test passphrase"),
		Params: clientstore.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("PARLEY_TEST_CLIENT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return nil
}

// device is one client profile under test.
type device struct {
	t   testing.TB
	dir string
	*client.Client
}

func options(t testing.TB) client.Options {
	return client.Options{Protector: cheap(), Logger: testLogger(t), MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

// openDevice opens (or reopens) the profile in dir.
func openDevice(t testing.TB, dir string, adjust ...func(*client.Options)) *device {
	t.Helper()
	o := options(t)
	for _, f := range adjust {
		f(&o)
	}
	c, err := client.Open(ctxT(t), dir, o)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { c.Close() })
	return &device{t: t, dir: dir, Client: c}
}

// register makes a new profile registered with phone (fresh if empty).
func register(t testing.TB, srv *testserver.Server, phone string, adjust ...func(*client.Options)) *device {
	t.Helper()
	if phone == "" {
		phone = testserver.NewPhone()
	}
	d := openDevice(t, t.TempDir(), adjust...)
	ctx := ctxT(t)
	if err := d.RequestCode(ctx, srv.URL, phone); err != nil {
		t.Fatalf("request code: %v", err)
	}
	if err := d.Register(ctx, srv.URL, phone, testserver.Code); err != nil {
		t.Fatalf("register: %v", err)
	}
	return d
}

// link adds a linked device to primary's account.
func link(t testing.TB, srv *testserver.Server, primary *device, adjust ...func(*client.Options)) *device {
	t.Helper()
	ctx := ctxT(t)
	code, err := primary.CreateLinkCode(ctx)
	if err != nil {
		t.Fatalf("link code: %v", err)
	}
	d := openDevice(t, t.TempDir(), adjust...)
	if err := d.Link(ctx, srv.URL, code); err != nil {
		t.Fatalf("link: %v", err)
	}
	return d
}

func (d *device) connect() *device {
	d.t.Helper()
	if err := d.Connect(); err != nil {
		d.t.Fatalf("connect: %v", err)
	}
	return d
}

func (d *device) id() types.AccountID { return d.Account().ID }

func (d *device) idle() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.WaitIdle(ctx); err != nil {
		d.t.Fatalf("wait idle: %v", err)
	}
}

func (d *device) send(to *device, text string) types.MessageID {
	d.t.Helper()
	id, err := d.SendText(ctxT(d.t), to.id(), text)
	if err != nil {
		d.t.Fatalf("send: %v", err)
	}
	return id
}

// history is the conversation with peer, oldest first.
func (d *device) history(peer types.AccountID) []client.Message {
	d.t.Helper()
	ms, err := d.Messages(ctxT(d.t), peer, 0, 1000)
	if err != nil {
		d.t.Fatalf("messages: %v", err)
	}
	return ms
}

// texts renders the history as "<direction> text" lines.
func texts(ms []client.Message) []string {
	var out []string
	for _, m := range ms {
		dir := "<"
		if m.Outgoing {
			dir = ">"
		}
		s := dir + " " + m.Text
		if m.Deleted {
			s = dir + " (deleted)"
		}
		out = append(out, s)
	}
	return out
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin polls cond until it holds or d passes.
func eventuallyWithin(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; last state: %s", what, last)
}

// waitHistory waits until d's conversation with peer renders as want.
func (d *device) waitHistory(peer types.AccountID, want ...string) []client.Message {
	d.t.Helper()
	var ms []client.Message
	eventually(d.t, "history "+fmt.Sprint(want), func() (bool, string) {
		ms = d.history(peer)
		got := texts(ms)
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("%q", got)
	})
	return ms
}

// files returns the bytes of every file under dir.
func files(t testing.TB, dir string) map[string][]byte {
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if b, err := os.ReadFile(p); err == nil {
				out[p] = b
			}
		}
		return nil
	})
	return out
}
