package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndMetrics(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	if code, body := get(t, srv.HTTP+"/healthz"); code != 200 || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	ac, bc := srv.Dial(t), srv.Dial(t)
	testserver.Register(t, ac)
	bob := testserver.Register(t, bc)
	mid := types.NewMessageID()
	if _, err := ac.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
		MessageId: mid[:], Destination: bob.Addr.Account[:],
		Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: 1, Content: []byte("secret canary 7f3a")}}}}}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, srv.HTTP+"/metrics")
	for _, want := range []string{"parley_mailbox_appended_envelopes_total 1", "parley_gateway_connections 2", "parley_gateway_requests_total{kind=\"send\"} 1", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestLogsHoldNoSecrets runs a conversation with the server logging at
// debug level and greps the log for what must never be in it.
func TestLogsHoldNoSecrets(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := testserver.Start(t, testserver.Options{Log: log})
	ac, bc := srv.Dial(t), srv.Dial(t)
	alice := testserver.Register(t, ac)
	bob := testserver.Register(t, bc)
	const canary = "canary-content-91c2"
	mid := types.NewMessageID()
	if _, err := ac.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
		MessageId: mid[:], Destination: bob.Addr.Account[:],
		Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: 1, Content: []byte(canary)}}}}}); err != nil {
		t.Fatal(err)
	}
	// A failing request, which logs.
	_, _ = ac.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: alice.Phone, Code: "999999"}}})
	srv.Stop()
	logText := buf.String()
	if !strings.Contains(logText, "account registered") {
		t.Fatal("the log is empty; the test would prove nothing")
	}
	for name, secret := range map[string]string{
		"message content": canary, "phone number": alice.Phone, "registration code": testserver.Code,
		"identity key": fmt.Sprintf("%x", alice.Keys.IdentityKey[1:9]),
	} {
		if strings.Contains(logText, secret) {
			t.Errorf("the log contains a %s", name)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// TestGracefulShutdownLosesNothing stops the server while a sender pipelines
// messages; everything acknowledged is there after a restart.
func TestGracefulShutdownLosesNothing(t *testing.T) {
	dsn := testserver.DSN(t, testserver.SQLite)
	srv := testserver.Start(t, testserver.Options{Store: dsn})
	ac, bc := srv.Dial(t), srv.Dial(t)
	testserver.Register(t, ac)
	bob := testserver.Register(t, bc)
	bc.Close()
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				text := fmt.Sprintf("g-%d-%d", s, i)
				mid := types.NewMessageID()
				_, err := ac.Call(context.Background(), &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
					MessageId: mid[:], Destination: bob.Addr.Account[:],
					Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: 1, Type: 1, Content: []byte(text)}}}}})
				if err != nil {
					return
				}
				mu.Lock()
				acked[text] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	srv.Stop()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was sent before the shutdown")
	}
	if st := ac.CloseStatus(); st != 1001 {
		t.Errorf("clients saw close status %v, want 1001 going away", st)
	}
	srv = testserver.Start(t, testserver.Options{Store: dsn})
	bc = srv.Connect(t, bob)
	seen := map[string]bool{}
	for {
		f := <-bc.Events()
		for _, e := range f.GetDeliver().GetEnvelopes() {
			seen[string(e.Content)] = true
		}
		if f.GetQueueEmpty() != nil {
			break
		}
	}
	for text := range acked {
		if !seen[text] {
			t.Errorf("acknowledged %s lost in a graceful shutdown", text)
		}
	}
	t.Logf("%d acknowledged, %d delivered after restart", len(acked), len(seen))
}

// TestTLS serves wss:// when a certificate is configured.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)
	cfg := config.Config{Listen: "127.0.0.1:0", Store: "sqlite:" + filepath.Join(dir, "p.db"), TLSCert: certFile, TLSKey: keyFile,
		CodeSender: "fixed"}.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := transport.Dial(ctx, "wss://"+ln.Addr().String()+"/v1/ws", &transport.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if c.Hello().Version != 1 {
		t.Errorf("version %d", c.Hello().Version)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func writeCert(t *testing.T, certFile, keyFile string) *x509.CertPool {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
