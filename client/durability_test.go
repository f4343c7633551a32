package client_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// TestCanaryNeverInPlaintext: the text of messages, edits, replies and
// reactions is in no file of the server (database, WAL) and in none of its
// debug log, nor in the clients' encrypted stores.
func TestCanaryNeverInPlaintext(t *testing.T) {
	var logs syncBuffer
	srv := testserver.Start(t, testserver.Options{Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	ctx := ctxT(t)

	const canary = "CANARY-7f3a9c-plaintext"
	id := alice.send(bob, canary+" text")
	bob.waitHistory(alice.id(), "< "+canary+" text")
	ref := clientstore.MessageRef{Sender: alice.id(), ID: id}
	if _, err := alice.Send(ctx, bob.id(), client.EditContent(ref, canary+" edit")); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, alice.id(), client.ReplyContent(canary+" reply", ref, canary+" excerpt")); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, alice.id(), client.ReactionContent(ref, canary+"-emoji")); err != nil {
		t.Fatal(err)
	}
	// Bob stays offline for one message, so it sits in the server's mailbox.
	bob.idle()
	bob.Disconnect()
	queued := alice.send(bob, canary+" queued")
	if err := alice.WaitSent(ctx, queued); err != nil {
		t.Fatal(err)
	}
	alice.waitHistory(bob.id(), "> "+canary+" edit", "< "+canary+" reply", "> "+canary+" queued")

	dbDir := strings.TrimPrefix(srv.Config.Store, "sqlite:")
	dbDir = dbDir[:strings.LastIndex(dbDir, "/")]
	checked := 0
	for name, b := range files(t, dbDir) {
		checked += len(b)
		if bytes.Contains(b, []byte("CANARY")) {
			t.Errorf("server file %s contains the canary", name)
		}
	}
	if checked == 0 {
		t.Fatal("no server database files found")
	}
	if l := logs.Bytes(); len(l) == 0 || bytes.Contains(l, []byte("CANARY")) {
		t.Errorf("server log (%d bytes) is empty or contains the canary", len(l))
	}
	for _, d := range []*device{alice, bob} {
		for name, b := range files(t, d.dir) {
			if bytes.Contains(b, []byte("CANARY")) {
				t.Errorf("client file %s contains the canary", name)
			}
		}
	}
	// The test can fail: the canary is really there once decrypted.
	if err := bob.Connect(); err != nil {
		t.Fatal(err)
	}
	bob.waitHistory(alice.id(), "< "+canary+" edit", "> "+canary+" reply", "< "+canary+" queued")
}

// TestCloseBeforeSendingLosesNothing: messages queued while offline and a
// client closed at once are sent after the profile is reopened.
func TestCloseBeforeSendingLosesNothing(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "")
	bob := register(t, srv, "").connect()
	for i := range 3 {
		alice.send(bob, fmt.Sprintf("queued %d", i))
	}
	if n := alice.Pending(); n != 3 {
		t.Fatalf("pending %d, want 3", n)
	}
	alice.Close()

	alice = openDevice(t, alice.dir).connect()
	bob.waitHistory(alice.id(), "< queued 0", "< queued 1", "< queued 2")
	alice.idle()
	alice.waitHistory(bob.id(), "> queued 0", "> queued 1", "> queued 2")
}

// TestCrashAfterServerAcceptedShowsOnce: the client dies after the server
// accepted a message and before it recorded that; the resend after the
// restart is a duplicate the server and Bob recognise.
func TestCrashAfterServerAcceptedShowsOnce(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "")
	bob := register(t, srv, "").connect()
	crashed := make(chan types.MessageID, 1)
	client.SetCrashAfterAccept(alice.Client, func(id types.MessageID) bool {
		select {
		case crashed <- id:
		default:
		}
		return true
	})
	alice.connect()
	id := alice.send(bob, "exactly once")
	<-crashed
	bob.waitHistory(alice.id(), "< exactly once")
	alice.Close()

	alice = openDevice(t, alice.dir)
	if alice.Pending() != 1 {
		t.Fatalf("the unrecorded send is not pending after the restart: %d", alice.Pending())
	}
	alice.connect()
	if err := alice.WaitSent(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	alice.idle()
	time.Sleep(100 * time.Millisecond)
	bob.waitHistory(alice.id(), "< exactly once")
	alice.waitHistory(bob.id(), "> exactly once")
}

// TestCrashBeforeAckShowsOnce: Bob stores a message but dies before the
// ack; the server delivers it again and Bob shows it once.
func TestCrashBeforeAckShowsOnce(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "")
	client.SetCrashBeforeAck(bob.Client, func() bool { return true })
	bob.connect()
	alice.send(bob, "stored, not acked")
	bob.waitHistory(alice.id(), "< stored, not acked")
	bob.Close()

	bob = openDevice(t, bob.dir).connect()
	bob.idle()
	bob.waitHistory(alice.id(), "< stored, not acked")
	alice.send(bob, "next")
	bob.waitHistory(alice.id(), "< stored, not acked", "< next")
}

// TestServerRestartLosesNothing: the server stops with messages in its
// mailbox and while a client is sending; after it starts again on the same
// database and address, everything arrives once.
func TestServerRestartLosesNothing(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	addr := strings.TrimPrefix(srv.HTTP, "http://")
	alice := register(t, srv, "").connect()
	bob := register(t, srv, "").connect()
	alice.send(bob, "first")
	bob.waitHistory(alice.id(), "< first")

	bob.Disconnect()
	id := alice.send(bob, "in the mailbox")
	if err := alice.WaitSent(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	alice.send(bob, "while the server is down")

	testserver.Start(t, testserver.Options{Store: srv.Config.Store, Config: func(c *config.Config) { c.Listen = addr }})
	if err := bob.Connect(); err != nil {
		t.Fatal(err)
	}
	bob.waitHistory(alice.id(), "< first", "< in the mailbox", "< while the server is down")
	alice.idle()
}

// flakyProxy forwards TCP to a server and can cut every connection.
type flakyProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *flakyProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestNetworkLossMidSendShowsEachOnce: the connection is cut again and
// again while Alice sends a burst; every message arrives, once, in order.
func TestNetworkLossMidSendShowsEachOnce(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	proxy := newFlakyProxy(t, strings.TrimPrefix(srv.HTTP, "http://"))
	alice := openDevice(t, t.TempDir())
	phone := testserver.NewPhone()
	url := "ws://" + proxy.ln.Addr().String() + "/v1/ws"
	if err := alice.RequestCode(ctxT(t), url, phone); err != nil {
		t.Fatal(err)
	}
	if err := alice.Register(ctxT(t), url, phone, testserver.Code); err != nil {
		t.Fatal(err)
	}
	alice.connect()
	bob := register(t, srv, "").connect()

	const n = 30
	var want []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 6 {
			time.Sleep(15 * time.Millisecond)
			proxy.cut()
		}
	}()
	for i := range n {
		want = append(want, fmt.Sprintf("< burst %02d", i))
		alice.send(bob, fmt.Sprintf("burst %02d", i))
		time.Sleep(2 * time.Millisecond)
	}
	<-done
	bob.waitHistory(alice.id(), want...)
	alice.idle()
}
