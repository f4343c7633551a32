package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// A test binary started with these variables is a Parley server, so the
// crash test can kill -9 a real process without building one.
const (
	childAddrFile = "PARLEY_TEST_CHILD_ADDR_FILE"
	childStore    = "PARLEY_TEST_CHILD_STORE"
)

func TestMain(m *testing.M) {
	if f := os.Getenv(childAddrFile); f != "" {
		runChild(f, os.Getenv(childStore))
		return
	}
	os.Exit(m.Run())
}

func runChild(addrFile, dsn string) {
	// Media blobs beside the address file, in the parent test's temporary
	// directory, not in the source tree.
	cfg := config.Config{Listen: "127.0.0.1:0", Store: dsn, CodeSender: "fixed", IPRateLimit: -1, CodeInterval: time.Millisecond,
		MediaDir: filepath.Join(filepath.Dir(addrFile), "media")}.Defaults()
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(addrFile+".tmp", []byte(ln.Addr().String()), 0o600); err == nil {
		_ = os.Rename(addrFile+".tmp", addrFile)
	}
	_ = srv.Serve(ctx, ln)
}

// child is a server in its own process.
type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, dsn string) *child {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childAddrFile+"="+addrFile, childStore+"="+dsn)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil && len(b) > 0 {
			return &child{cmd: cmd, url: "ws://" + strings.TrimSpace(string(b)) + "/v1/ws"}
		}
		if time.Now().After(deadline) {
			t.Fatal("child server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) dial(t *testing.T) *transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, c.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestKill9LosesNothing kills the server process with SIGKILL while a sender
// pipelines messages to an offline receiver. Every message the server
// acknowledged must reach the receiver after a restart, exactly once.
func TestKill9LosesNothing(t *testing.T) {
	for _, b := range testserver.Backends {
		t.Run(string(b), func(t *testing.T) {
			dsn := testserver.DSN(t, b)
			srv := startChild(t, dsn)
			ac, bc := srv.dial(t), srv.dial(t)
			testserver.Register(t, ac)
			bob := testserver.Register(t, bc)
			bc.Close()

			var (
				mu    sync.Mutex
				acked = map[string]bool{}
				wg    sync.WaitGroup
			)
			const senders, perSender, killAfter = 8, 200, 300
			killed := make(chan struct{})
			var once sync.Once
			for s := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perSender {
						text := fmt.Sprintf("m-%d-%d", s, i)
						mid := types.NewMessageID()
						_, err := ac.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
							MessageId: mid[:], Destination: bob.Addr.Account[:],
							Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT, Content: []byte(text)}}}}})
						if err != nil {
							return // the server is gone
						}
						mu.Lock()
						acked[text] = true
						n := len(acked)
						mu.Unlock()
						if n >= killAfter {
							once.Do(func() {
								_ = srv.cmd.Process.Signal(syscall.SIGKILL)
								close(killed)
							})
						}
					}
				}()
			}
			select {
			case <-killed:
			case <-time.After(60 * time.Second):
				t.Fatal("never reached the kill point")
			}
			wg.Wait()
			_ = srv.cmd.Wait()
			t.Logf("killed with %d acknowledged messages", len(acked))

			srv = startChild(t, dsn)
			bc = srv.dial(t)
			if _, err := bc.Authenticate(context.Background(), bob.Addr, bob.AuthKey); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			timeout := time.After(30 * time.Second)
		drain:
			for {
				select {
				case f, ok := <-bc.Events():
					if !ok {
						t.Fatalf("connection ended: %v", bc.Err())
					}
					for _, e := range f.GetDeliver().GetEnvelopes() {
						seen[string(e.Content)]++
					}
					if f.GetQueueEmpty() != nil {
						break drain
					}
				case <-timeout:
					t.Fatal("drain did not finish")
				}
			}
			for text := range acked {
				if seen[text] == 0 {
					t.Errorf("acknowledged message %s was lost", text)
				}
			}
			for text, n := range seen {
				if n > 1 {
					t.Errorf("message %s delivered %d times", text, n)
				}
			}
			if t.Failed() {
				return
			}
			t.Logf("all %d acknowledged messages survived (%d stored in all)", len(acked), len(seen))
		})
	}
}
