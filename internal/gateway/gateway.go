// Package gateway is Parley's WebSocket endpoint (/v1/ws): the handshake and
// version negotiation, device authentication, decoding of client frames and
// dispatch to the domain services, pushing of envelopes and signals to
// devices, keep-alive, and back-pressure for slow readers. docs/protocol.md
// describes what a client sees.
//
// A node must hold very many idle connections, so an idle one costs as
// little as we could make it: no read buffer (package ws borrows one from a
// pool only while a frame is in flight), no goroutine in epoll mode (package
// poll watches the socket) or one that only waits, with the smallest stack,
// in goroutine mode; no writer goroutine (one runs only while there is
// something to push, its queues empty and nil when idle); no timer (one
// keep-alive wheel visits every connection of the node); no delivery maps;
// and one bus subscription per account, shared by its devices' connections
// on the node (hub). Responses are written by whichever goroutine handled
// the request; package ws serialises writes.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/parley-im/parley/internal/account"
	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/gateway/poll"
	"github.com/parley-im/parley/internal/gateway/ws"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/media"
	"github.com/parley-im/parley/internal/metrics"
	"github.com/parley-im/parley/internal/prekey"
	"github.com/parley-im/parley/internal/presence"
	"github.com/parley-im/parley/internal/store"
)

// Protocol versions this server speaks.
const (
	MinVersion = 1
	MaxVersion = 1
)

// Config tunes the gateway; zero values take the defaults noted.
type Config struct {
	MaxFrameBytes int           // default 256 KiB
	KeepAlive     time.Duration // default 30s
	// Window is how many envelopes a device may have unacknowledged before
	// the server waits for acks. Default 1000.
	Window int
	// HelloTimeout bounds the wait for the first frame. Default 10s.
	HelloTimeout time.Duration
	// WriteTimeout bounds one frame write; a reader slower than that is
	// disconnected (its envelopes stay queued). Default 10s.
	WriteTimeout time.Duration
	// MaxConcurrent bounds the requests one connection has in progress. Default 32.
	MaxConcurrent int
	// Readiness is how idle connections wait for bytes: ReadinessGoroutine
	// (the default; a goroutine per connection that only waits) or
	// ReadinessEpoll (Linux: no goroutine while idle; connections over TLS
	// still wait in a goroutine).
	Readiness string
}

// Readiness modes.
const (
	ReadinessGoroutine = "goroutine"
	ReadinessEpoll     = "epoll"
)

func (c *Config) defaults() {
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = 256 << 10
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.Window == 0 {
		c.Window = 1000
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 32
	}
	if c.Readiness == "" {
		c.Readiness = ReadinessGoroutine
	}
}

// Deps are the services the gateway dispatches to.
type Deps struct {
	Store    store.Store
	Bus      *bus.Bus
	Accounts *account.Service
	PreKeys  *prekey.Directory
	Mailbox  *mailbox.Service
	Groups   *group.Service
	Presence *presence.Service
	Media    *media.Service
	Metrics  *metrics.Metrics
	Log      *slog.Logger
}

// Server is the gateway of one node.
type Server struct {
	Deps
	cfg    Config
	hub    *hub
	wheel  *wheel
	poller *poll.Poller // nil in goroutine mode

	mu       sync.Mutex
	conns    map[*conn]struct{}
	closing  bool
	handlers sync.WaitGroup // connections' goroutines
}

// New returns a gateway; Close stops it.
func New(cfg Config, d Deps) *Server {
	cfg.defaults()
	s := &Server{Deps: d, cfg: cfg, conns: make(map[*conn]struct{})}
	s.hub = newHub(d.Bus, d.Log, d.Metrics)
	s.wheel = newWheel(cfg.KeepAlive, (*conn).keepalive)
	if cfg.Readiness == ReadinessEpoll {
		p, err := poll.New()
		if err != nil {
			d.Log.Warn("epoll readiness unavailable: idle connections wait in goroutines", "err", err)
		} else {
			s.poller = p
		}
	}
	d.Bus.OnReconnect(s.rescanAll)
	return s
}

// rescanAll makes every connection look in the store for envelopes whose
// bus notices it may have missed while the bus was down: they were stored
// before being published, so a rescan after resubscribing finds them all.
func (s *Server) rescanAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.overflow.Store(true)
		c.nudge()
	}
}

// ServeHTTP upgrades the request to a WebSocket and serves it. The
// handler returns at once: net/http's request and response are not kept
// for the connection's life.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wsc, err := ws.Upgrade(w, r, ws.Options{
		MaxMessageBytes: s.cfg.MaxFrameBytes,
		WriteTimeout:    s.cfg.WriteTimeout,
	})
	if err != nil {
		return // Upgrade has answered the client
	}
	c := newConn(s, wsc, remoteIP(r))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = wsc.Close(ws.StatusGoingAway, "server shutting down")
		go func() {
			// The peer's answer, or the close timeout, ends it.
			for wsc.Wait() == nil {
				if _, _, err := wsc.ReadMessage(); err != nil {
					break
				}
			}
			wsc.Release()
			_ = wsc.CloseNow()
		}()
		return
	}
	s.conns[c] = struct{}{}
	s.handlers.Add(1)
	s.mu.Unlock()
	s.Metrics.Connections.Inc()
	c.start()
}

// forget is a connection's end.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.Metrics.Connections.Dec()
	s.handlers.Done()
}

// Shutdown stops reading from every connection, lets requests in progress
// finish (so every send acked is durable), then closes the connections with
// "going away" so clients reconnect elsewhere.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.Log.Warn("gateway shutdown timed out", "connections", len(conns))
	}
	s.hub.close()
	s.wheel.close()
	if s.poller != nil {
		_ = s.poller.Close()
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
