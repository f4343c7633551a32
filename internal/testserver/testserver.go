// Package testserver starts a whole Parley node in the test's process: the
// real gateway, services, store and bus on a loopback port, with the fixed
// registration code. Tests of every layer start one and talk to it over a
// real WebSocket, as a device would.
package testserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/media"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Code is the registration code every test server accepts.
const Code = "123456"

// Backend names a store a test server can run on.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres" // needs PARLEY_TEST_POSTGRES; fails under CI without it
)

// Backends are the stores every end-to-end suite runs on.
var Backends = []Backend{SQLite, Postgres}

// Options configure Start; the zero value is a SQLite node with an
// in-process bus.
type Options struct {
	Backend Backend
	// Store overrides the DSN (for instance to reopen a database).
	Store string
	// NATS is an external bus URL; empty runs one in-process.
	NATS string
	// Config adjusts the configuration after the test defaults.
	Config func(*config.Config)
	// Log receives the server's log; default discards it.
	Log *slog.Logger
}

// Server is a running test node.
type Server struct {
	URL    string // ws://127.0.0.1:port/v1/ws
	HTTP   string // http://127.0.0.1:port
	Config config.Config

	srv    *server.Server
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Publish puts raw bytes on the node's bus, as another node (or a broken
// one) would.
func (s *Server) Publish(subject string, data []byte) error {
	if err := s.srv.Bus().Publish(subject, data); err != nil {
		return err
	}
	return s.srv.Bus().Flush(context.Background())
}

// SweepMedia runs the media sweeper once as if it were now, and returns
// how many blobs it deleted.
func (s *Server) SweepMedia(t testing.TB, now time.Time) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.srv.Media().Sweep(ctx, now)
	if err != nil {
		t.Fatalf("media sweep: %v", err)
	}
	return n
}

// Media is the node's media service.
func (s *Server) Media() *media.Service { return s.srv.Media() }

// DSN returns a store DSN for backend b, fresh for this test.
func DSN(t testing.TB, b Backend) string {
	t.Helper()
	switch b {
	case Postgres:
		return storetest.PostgresDSN(t)
	default:
		return "sqlite:" + filepath.Join(t.TempDir(), "parley.db")
	}
}

// Start runs a node until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Store == "" {
		o.Store = DSN(t, o.Backend)
	}
	cfg := config.Config{
		Listen: "127.0.0.1:0", Store: o.Store, NATS: o.NATS, NodeName: "test",
		CodeSender: "fixed", FixedCode: Code,
		// Every test device registers from 127.0.0.1.
		IPRateLimit: -1,
		// Tests register one number several times within a minute.
		CodeInterval: time.Millisecond,
		// Media blobs of the files backend stay out of the source tree
		// (the default is beside the database, which PostgreSQL has not).
		MediaDir: filepath.Join(t.TempDir(), "media"),
		// `make test` runs the gateway's tests in each readiness mode.
		Readiness: os.Getenv("PARLEY_TEST_READINESS"),
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("testserver config: %v", err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("testserver: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		srv.Close()
		t.Fatalf("testserver listen: %v", err)
	}
	s := &Server{
		URL: "ws://" + ln.Addr().String() + "/v1/ws", HTTP: "http://" + ln.Addr().String(),
		Config: cfg, srv: srv, cancel: cancel, done: make(chan error, 1),
	}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the node down gracefully and waits for it.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			panic("testserver: shutdown hung")
		}
	})
}

// Dial connects to the node and says Hello.
func (s *Server) Dial(t testing.TB) *transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, s.URL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Device is a registered test device with its keys.
type Device struct {
	Addr     types.Address
	Phone    string
	AuthKey  ed25519.PrivateKey
	Identity curve.KeyPair
	Keys     *wirepb.DeviceKeys
}

// Sign makes a prekey signed by the device's identity key, as the server
// requires for signed EC and Kyber prekeys.
func (d *Device) Sign(id uint32, public []byte) *wirepb.SignedPreKey {
	return SignedKey(d.Identity.Private, id, public)
}

// SignedKey is a prekey with an XEdDSA signature by identity.
func SignedKey(identity curve.PrivateKey, id uint32, public []byte) *wirepb.SignedPreKey {
	sig, err := identity.Sign(rand.Reader, public)
	if err != nil {
		panic(err)
	}
	return &wirepb.SignedPreKey{KeyId: id, PublicKey: public, Signature: sig[:]}
}

// NewDeviceKeys makes the keys a new device registers with: a real identity
// key pair, whose signatures the server checks, and prekeys that are well
// formed. The server never uses the prekeys' private halves, so the
// prekeys are random points of the right shape.
func NewDeviceKeys() (*wirepb.DeviceKeys, ed25519.PrivateKey) {
	keys, priv, _ := newDeviceKeys()
	return keys, priv
}

func newDeviceKeys() (*wirepb.DeviceKeys, ed25519.PrivateKey, curve.KeyPair) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ident, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		panic(err)
	}
	var reg [2]byte
	_, _ = rand.Read(reg[:])
	return &wirepb.DeviceKeys{
		AuthKey:         pub,
		IdentityKey:     ident.Public.Bytes(),
		RegistrationId:  1 + (uint32(reg[0])<<8|uint32(reg[1]))%16380,
		SignedPrekey:    SignedKey(ident.Private, 1, ECKey()),
		LastResortKyber: SignedKey(ident.Private, 1, KyberKey()),
	}, priv, ident
}

// Random returns n random bytes.
func Random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ECKey is a well-formed serialised EC public key.
func ECKey() []byte { return append([]byte{0x05}, Random(32)...) }

// KyberKey is a well-formed serialised Kyber1024 public key.
func KyberKey() []byte { return append([]byte{0x08}, Random(1568)...) }

var phoneSeq struct {
	sync.Mutex
	n int
}

// NewPhone returns an E.164 number no other test of this process uses.
func NewPhone() string {
	phoneSeq.Lock()
	defer phoneSeq.Unlock()
	phoneSeq.n++
	return fmt.Sprintf("+1555%07d", phoneSeq.n)
}

// Register creates an account with a fresh number on c and authenticates c
// as its primary device.
func Register(t testing.TB, c *transport.Conn) *Device {
	t.Helper()
	return RegisterPhone(t, c, NewPhone())
}

// RegisterPhone registers phone on c and authenticates c as the new primary.
func RegisterPhone(t testing.TB, c *transport.Conn, phone string) *Device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: phone}}}); err != nil {
		t.Fatalf("request code: %v", err)
	}
	keys, priv, ident := newDeviceKeys()
	res, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: phone, Code: Code, Device: keys}}})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	d := &Device{Phone: phone, AuthKey: priv, Keys: keys, Identity: ident}
	d.Addr = types.Address{Account: types.AccountID(res.GetRegister().AccountId), Device: types.DeviceID(res.GetRegister().DeviceId)}
	if _, err := c.Authenticate(ctx, d.Addr, priv); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return d
}

// Connect dials and authenticates as d.
func (s *Server) Connect(t testing.TB, d *Device) *transport.Conn {
	t.Helper()
	c := s.Dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Authenticate(ctx, d.Addr, d.AuthKey); err != nil {
		t.Fatalf("authenticate %s: %v", d.Addr, err)
	}
	return c
}

// IsPostgres reports whether dsn names PostgreSQL.
func IsPostgres(dsn string) bool { return strings.HasPrefix(dsn, "postgres") }

// ExternalNATS returns the NATS URL tests share (PARLEY_TEST_NATS). Without
// it the test is skipped, or fails under CI, where a missing service is a
// broken pipeline.
func ExternalNATS(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_NATS")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PARLEY_TEST_NATS is not set; CI must provide NATS")
		}
		t.Skip("PARLEY_TEST_NATS is not set; skipping external NATS")
	}
	return u
}
