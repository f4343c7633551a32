package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// EmbeddedCode is the registration code of an embedded server.
const EmbeddedCode = "123456"

// Embedded is a Parley node running in this process, for one bench run.
type Embedded struct {
	URL   string // ws://127.0.0.1:PORT/v1/ws
	Store string // the DSN it runs on, as given or the temporary SQLite file

	cancel context.CancelFunc
	done   chan error
	tmp    string
}

// StartEmbedded starts a node on a free loopback port with the fixed
// registration code and no per-address rate limit, as `parley serve
// --code-sender fixed --ip-rate-limit -1` would. An empty store is a SQLite
// database in a temporary directory that Stop removes.
func StartEmbedded(ctx context.Context, store string, log *slog.Logger) (*Embedded, error) {
	e := &Embedded{Store: store, done: make(chan error, 1)}
	if store == "" {
		dir, err := os.MkdirTemp("", "parley-bench-")
		if err != nil {
			return nil, err
		}
		e.tmp = dir
		e.Store = "sqlite:" + filepath.Join(dir, "parley.db")
	}
	cfg := config.Config{
		Listen: "127.0.0.1:0", Store: e.Store, NodeName: "bench",
		CodeSender: "fixed", FixedCode: EmbeddedCode, IPRateLimit: -1,
		CodeInterval: time.Millisecond, LogLevel: "warn",
	}.Defaults()
	if err := cfg.Validate(); err != nil {
		e.removeTemp()
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv, err := server.New(sctx, cfg, log)
	if err != nil {
		cancel()
		e.removeTemp()
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		srv.Close()
		e.removeTemp()
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	e.URL = "ws://" + ln.Addr().String() + "/v1/ws"
	e.cancel = cancel
	go func() { e.done <- srv.Serve(sctx, ln) }()
	return e, nil
}

// Stop shuts the node down and removes its temporary store.
func (e *Embedded) Stop() error {
	e.cancel()
	err := <-e.done
	e.removeTemp()
	return err
}

func (e *Embedded) removeTemp() {
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
	}
}
