// Package server is Parley's one composition root: it builds the store, the
// bus, the domain services and the gateway from a config.Config, serves them,
// and shuts them down without losing anything. Only internal/cli and
// internal/testserver import it.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-im/parley/internal/account"
	"github.com/parley-im/parley/internal/blob"
	"github.com/parley-im/parley/internal/blob/natsblob"
	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/gateway"
	"github.com/parley-im/parley/internal/group"
	"github.com/parley-im/parley/internal/liveness"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/media"
	"github.com/parley-im/parley/internal/metrics"
	"github.com/parley-im/parley/internal/prekey"
	"github.com/parley-im/parley/internal/presence"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
	"google.golang.org/protobuf/proto"
)

// Server is one running Parley node.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	store   store.Store
	bus     *bus.Bus
	metrics *metrics.Metrics
	mailbox *mailbox.Service
	media   *media.Service
	gateway *gateway.Server
	monitor *liveness.Monitor
	handler http.Handler

	closeOnce sync.Once
}

// New opens the store and the bus and wires every service. cfg must have
// been through Defaults and Validate.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	st, err := sqlstore.Open(ctx, cfg.Store, log.With("component", "store"))
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	name := cfg.NodeName
	if name == "" {
		name, _ = os.Hostname()
	}
	b, err := bus.Open(ctx, bus.Config{URL: cfg.NATS, Name: "parley-" + name}, log.With("component", "bus"))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("opening bus: %w", err)
	}
	m := metrics.New()
	s := &Server{cfg: cfg, log: log, store: st, bus: b, metrics: m}
	b.OnLost(rescanLost(b, log))
	// This run's id: the devices this node holds are recorded under it, so
	// that if it dies the other nodes can release them (internal/liveness).
	nodeID := liveness.NodeID(name)
	pres := presence.New(st, b, nodeID, log.With("component", "presence"))

	var sender account.CodeSender
	fixed := ""
	switch cfg.CodeSender {
	case "webhook":
		sender = account.WebhookSender{URL: cfg.CodeWebhookURL, Secret: []byte(cfg.CodeWebhookSecret)}
	case "fixed":
		sender, fixed = account.NopSender{}, cfg.FixedCode
		log.Warn("code sender is fixed: every registration code is the configured one (tests only)")
	default:
		sender = account.LogSender{Log: log.With("component", "codes")}
	}
	accounts := account.New(st, account.Config{
		MaxDevices: cfg.MaxDevices, IPLimit: cfg.IPRateLimit, LookupLimit: cfg.LookupRateLimit, CodeInterval: cfg.CodeInterval, Sender: sender, FixedCode: fixed, CodeSecret: []byte(cfg.CodeSecret),
	}, log.With("component", "account"))
	s.mailbox = mailbox.New(st, b, mailbox.Config{
		MaxQueue: cfg.MailboxMaxQueue, TTL: cfg.MailboxTTL, DedupWindow: cfg.DedupWindow,
	}, mailbox.Metrics{
		Appended:  func(n int) { m.Appended.Add(float64(n)) },
		Batch:     func(n int) { m.Batch.Observe(float64(n)) },
		CommitDur: func(d time.Duration) { metrics.Seconds(m.CommitDur, d) },
		Deleted:   func(n int) { m.Deleted.Add(float64(n)) },
		Expired:   func(n int) { m.Expired.Add(float64(n)) },
	}, log.With("component", "mailbox"))
	blobs, err := openBlobs(ctx, cfg, b)
	if err != nil {
		s.mailbox.Close()
		b.Close()
		st.Close()
		return nil, err
	}
	s.media, err = media.New(ctx, st, blobs, media.Config{
		MaxBytes: int64(cfg.MaxMediaBytes), ChunkBytes: int64(cfg.MediaChunkBytes), TTL: cfg.MediaTTL,
		Quota: int64(cfg.MediaQuota), Secret: []byte(cfg.MediaSecret),
	}, media.Metrics{
		Uploaded:   func(n int64) { m.MediaUploaded.Add(float64(n)) },
		Downloaded: func(n int64) { m.MediaDownloaded.Add(float64(n)) },
		Deleted:    func(n int) { m.MediaDeleted.Add(float64(n)) },
	}, log.With("component", "media"))
	if err != nil {
		s.mailbox.Close()
		b.Close()
		st.Close()
		return nil, err
	}
	s.media.Start()
	s.gateway = gateway.New(gateway.Config{
		MaxFrameBytes: cfg.MaxFrameBytes, KeepAlive: cfg.KeepAlive, Readiness: cfg.Readiness,
	}, gateway.Deps{
		Store: st, Bus: b, Accounts: accounts, Mailbox: s.mailbox, Metrics: m,
		Groups: group.New(st, s.mailbox, group.Config{
			MaxMembers: cfg.MaxGroupMembers,
			// A GetGroup answer leaves room in its frame for the rest.
			MaxEventsBytes: cfg.MaxFrameBytes * 3 / 4,
		}, log.With("component", "group")),
		PreKeys:  prekey.New(st, lowNotifier{b, log}, cfg.PreKeyLowThreshold, log.With("component", "prekey")),
		Presence: pres,
		Media:    s.media,
		Log:      log.With("component", "gateway"),
	})

	s.monitor, err = liveness.Start(liveness.Config{
		Node: nodeID, Name: name, Timeout: cfg.NodeTimeout, Reannounce: s.gateway.Reannounce,
	}, st, pres, b, log.With("component", "liveness"))
	if err != nil {
		s.media.Close()
		s.mailbox.Close()
		b.Close()
		st.Close()
		return nil, fmt.Errorf("starting node liveness: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /v1/ws", s.gateway)
	mux.HandleFunc("GET /healthz", s.healthz)
	s.media.Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	s.handler = mux
	return s, nil
}

// openBlobs opens the configured media blob store.
func openBlobs(ctx context.Context, cfg config.Config, b *bus.Bus) (blob.Store, error) {
	if cfg.MediaBackend == "nats" {
		bs, err := natsblob.Open(ctx, b.Conn(), natsblob.DefaultBucket)
		if err != nil {
			return nil, fmt.Errorf("opening media blob store: %w", err)
		}
		return bs, nil
	}
	bs, err := blob.NewFiles(cfg.MediaDir)
	if err != nil {
		return nil, fmt.Errorf("opening media blob store: %w", err)
	}
	return bs, nil
}

// Media is the node's media service, for tests that sweep at a time of
// their choosing.
func (s *Server) Media() *media.Service { return s.media }

// Bus is the node's bus, for tests that speak to other nodes' subjects.
func (s *Server) Bus() *bus.Bus { return s.bus }

// Handler serves the server's HTTP endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// lowNotifier tells a device over the bus that its prekeys run low.
type lowNotifier struct {
	b   *bus.Bus
	log *slog.Logger
}

func (n lowNotifier) PreKeysLow(a types.Address, ec, kyber int) {
	data, err := proto.Marshal(&buspb.Event{Body: &buspb.Event_PrekeysLow{PrekeysLow: &wirepb.PreKeysLow{Ec: uint32(ec), Kyber: uint32(kyber)}}})
	if err == nil {
		err = n.b.Publish(bus.DeviceSubject(a), data)
	}
	if err != nil {
		n.log.Warn("prekeys-low notice failed", "err", err)
	}
}

// rescanLost tells the devices whose delivery notices may have died with
// the bus connection (or its NATS server) to look in their mailboxes: the
// envelopes are stored, and a device connected to another node would not
// otherwise look until it reconnects.
func rescanLost(b *bus.Bus, log *slog.Logger) func([]string) {
	data, _ := proto.Marshal(&buspb.Event{Body: &buspb.Event_Rescan{Rescan: &buspb.Rescan{}}})
	return func(subjects []string) {
		for _, subj := range subjects {
			if err := b.Publish(subj, data); err != nil {
				log.Warn("rescan notice failed", "err", err)
				return
			}
		}
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{"store": "ok", "bus": "ok"}
	code := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		status["store"], code = "down", http.StatusServiceUnavailable
	}
	if err := s.bus.Ping(); err != nil {
		status["bus"], code = "down", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status)
}

// Run listens on the configured address and serves until ctx is done, then
// shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.Close()
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then shuts down gracefully: no new
// connections, requests in progress answered (every acked send durable),
// connections closed with "going away", the store closed last.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	tlsOn := s.cfg.TLSCert != ""
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			s.Close()
			return fmt.Errorf("loading TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	s.log.Info("parley serving", "addr", ln.Addr().String(), "tls", tlsOn,
		"store", storeKind(s.cfg.Store), "bus_embedded", s.bus.Embedded(), "media", s.cfg.MediaBackend)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("parley shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = hs.Shutdown(sctx) }()
	go func() { defer wg.Done(); s.gateway.Shutdown(sctx) }()
	wg.Wait()
	s.Close()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	s.log.Info("parley stopped")
	return serveErr
}

// Close releases everything New opened. Serve calls it; call it yourself only
// if you never serve.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		// After the gateway closed the connections: the other nodes
		// release at once whatever this one could not record offline.
		s.monitor.Stop()
		s.media.Close()
		s.mailbox.Close()
		s.bus.Close()
		if err := s.store.Close(); err != nil {
			s.log.Error("closing store", "err", err)
		}
	})
}

func storeKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "postgres"
	}
	return "sqlite"
}
