package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parley-im/parley/internal/business/agent"
)

var businessServeCmd = &command{
	name:    "serve",
	args:    "[--listen 127.0.0.1:8088] [flags]",
	summary: "run the business's agent: the Cloud API, webhooks, orders, the assistant",
	help: "Serve runs the business's agent until interrupted: it connects the business's " +
		"device (so it asks for the profile's passphrase), serves the WhatsApp Cloud API " +
		"compatible REST API on --listen (POST /v23.0/{phone_number_id}/messages and the " +
		"rest; 'parley business settings' shows the ids and 'parley business token " +
		"create' makes the bearer tokens), sends webhooks to the URL 'parley business " +
		"webhook' set, places customers' carts as orders, fills Pix codes and UPI links " +
		"into order_details and, when the settings turn it on, lets the embedded " +
		"assistant answer customers. Keep --listen on loopback or behind TLS: the API " +
		"carries the chats in the clear.\n\n" + businessHelp,
	run: runBusinessServe,
}

func runBusinessServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "serve")
	listen := fs.String("listen", "127.0.0.1:8088", "serve the API on `address` (host:port)")
	logLevel := fs.String("log-level", "info", "log at `level` and above: debug, info, warn or error")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return e.usageError("business serve", "--log-level %q is not debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, dir, err := e.openRegistered(ctx, *profile)
	if err != nil {
		return e.fail("business serve", err)
	}
	defer c.Close()
	st, state, err := agent.OpenDatabase(ctx, dir, nil)
	if err != nil {
		return e.fail("business serve", err)
	}
	defer st.Close()
	a, err := agent.New(ctx, agent.Config{Client: c, Store: st, State: state, AcceptIdentityChanges: true, Log: log})
	if err != nil {
		return e.fail("business serve", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return e.fail("business serve", err)
	}
	addr := ln.Addr().String()
	if err := state.UpdateSettings(ctx, func(s *agent.Settings) error { s.Listen = addr; return nil }); err != nil {
		ln.Close()
		return e.fail("business serve", err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s := a.Settings()
	fmt.Fprintf(e.stdout, "Serving the Cloud API for %s at http://%s (waba_id %s, phone_number_id %s).\n",
		c.Account().Phone, addr, s.WABAID, s.PhoneNumberID)
	if s.Webhook == nil {
		fmt.Fprintln(e.stdout, "No webhook is set: events are kept until one is ('parley business webhook').")
	}
	if s.Assistant {
		fmt.Fprintln(e.stdout, "The assistant answers customers.")
	}

	runErr := a.Run(ctx)
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("API server stopped", "err", err)
	}
	if runErr != nil {
		return e.fail("business serve", runErr)
	}
	return exitOK
}
