package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

var serveCmd = &command{
	name:    "serve",
	args:    "[flags]",
	summary: "run a Parley server",
	help: "Serve runs a Parley node: the WebSocket protocol at /v1/ws, with /healthz " +
		"and /metrics, on one listener. With no configuration it keeps its data in " +
		"SQLite under ./parley-data, runs NATS in process and listens on " +
		"127.0.0.1:8080. Give --store a postgres:// URL and --nats the URLs of a NATS " +
		"cluster to run several nodes side by side. Every flag can also be set by the " +
		"environment variable named beside it; a flag wins over its variable. " +
		"Problems with the configuration are reported all at once, with exit status 2. " +
		"SIGINT or SIGTERM starts a graceful shutdown, bounded by --shutdown-timeout; " +
		"a second signal ends the process at once.",
	run: runServe,
}

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("serve")
	flags := bindOptions(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	cfg, _, errs := flags.resolve(e)
	cfg = cfg.Defaults()
	errs = append(errs, splitErrors(cfg.Validate())...)
	if len(errs) > 0 {
		return e.problems("parley serve: the configuration has", exitUsage, errs)
	}
	log := newLogger(e.stderr, cfg)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		// Checked after the select: when a signal stops the server at once,
		// both cases are ready and the select may pick either.
		if ctx.Err() != nil {
			// From now on a signal has its default effect: a second
			// Ctrl-C ends a shutdown that hangs.
			stop()
			log.Info("shutting down", "cause", context.Cause(ctx).Error(), "timeout", cfg.ShutdownTimeout)
		}
	})
	log.Info("starting parley", "version", versionString(), "listen", cfg.Listen,
		"store", redactURL(cfg.Store), "nats", natsDescription(cfg.NATS))
	err := e.runServer(ctx, cfg, log)
	close(done)
	wg.Wait()
	if err != nil {
		log.Error("server stopped", "err", err)
		return exitFail
	}
	return exitOK
}

func natsDescription(urls string) string {
	if urls == "" {
		return "in process"
	}
	return redactURL(urls)
}

// runServer is env.runServer outside tests.
func runServer(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
