package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/parley-im/parley/internal/loadgen"
)

var benchCmd = &command{
	name:    "bench",
	args:    "(--embedded | --server URL[,URL...]) [--mix chat|idle|churn] [flags]",
	summary: "load a server on this machine and measure it",
	help: "Bench simulates many registered devices over real WebSockets against a Parley " +
		"server on this machine, drives a mix of traffic through them, and prints " +
		"throughput, latency percentiles, delivery counts, errors, memory and CPU. It " +
		"stops by itself: after registering and connecting the devices (at --ramp per " +
		"second), it runs the mix for --duration, then waits up to --drain for every " +
		"accepted message to be delivered and acked.\n\n" +
		"Mixes: chat sends 1:1 messages between random pairs at --rate per second, all " +
		"devices together; each carries its send time, so the receiving device measures " +
		"the sender-to-recipient latency, and every delivered message is acked. idle " +
		"connects and authenticates the devices and holds them, to measure memory per " +
		"connection. churn is chat while --churn-rate devices a second go offline for " +
		"--offline and come back, draining what was queued for them.\n\n" +
		"--embedded starts a server in this process (on a temporary SQLite database, or " +
		"on --store), so one command measures everything; its memory figures then cover " +
		"both ends of each connection. --server loads a server started separately, which " +
		"must accept a fixed registration code and no per-address rate limit, as in:\n\n" +
		"parley serve --code-sender fixed --ip-rate-limit -1 --code-interval 1ms\n\n" +
		"Then memory per connection is also read from the server's /metrics. --server " +
		"takes several URLs separated by commas, the nodes of one cluster (same database, " +
		"NATS and --code-secret): the devices are spread over them round-robin, so a " +
		"message goes to a device on another node (n-1) times in n, and the report gives " +
		"each node's devices and CPU time. Bench talks " +
		"only to loopback (127.0.0.0/8, [::1], localhost) and refuses any other host. It " +
		"dials from many source addresses (127.0.0.2 and up) to pass the ephemeral port " +
		"limit of one, and raises its open-file limit as far as it may.\n\n" +
		"Progress goes to standard error, one updating line on a terminal; the report " +
		"to standard output, as JSON with --json. The exit status is 1 if an accepted " +
		"message was lost or delivered again after its ack.",
	run: runBench,
}

func runBench(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("bench")
	server := fs.String("server", "", "load the server at `URL` (ws://127.0.0.1:8080/v1/ws), or the cluster nodes at several, comma-separated")
	embedded := fs.Bool("embedded", false, "start a server in this process and load it")
	store := fs.String("store", "", "the embedded server's `database`: a postgres:// URL or sqlite:PATH (default: SQLite in a temporary directory)")
	code := fs.String("code", loadgen.EmbeddedCode, "the server's fixed registration `code`")
	mix := fs.String("mix", string(loadgen.MixChat), "the `mix`: chat, idle or churn")
	devices := fs.Int("devices", 1000, "simulate `n` devices")
	rate := fs.Float64("rate", 1000, "send `n` messages per second, all devices together (chat, churn)")
	duration := fs.Duration("duration", 10*time.Second, "run the mix for `duration` after set-up")
	ramp := fs.Float64("ramp", 0, "register and connect `n` devices per second; 0 is as fast as the server takes them")
	payload := fs.Int("payload", 160, "message size in `bytes`")
	sources := fs.Int("sources", 0, "dial from `n` source addresses, 127.0.0.2 and up; 0 is one per 20000 devices")
	churnRate := fs.Float64("churn-rate", 0, "take `n` devices offline per second (churn); 0 is a tenth of the devices")
	offline := fs.Duration("offline", time.Second, "keep a churning device offline for `duration`")
	drain := fs.Duration("drain", 15*time.Second, "wait at most `duration` after the last send for every message to be acked")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	switch {
	case *embedded == (*server != ""):
		return e.usageError("bench", "give --embedded or --server URL, one of them")
	case *store != "" && !*embedded:
		return e.usageError("bench", "--store is for --embedded; a separate server has its own")
	}
	var urls []string
	if *server != "" {
		var err error
		if urls, err = loadgen.ParseTargets(*server); err != nil {
			return e.usageError("bench", "%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "loadgen: "), "bad configuration: "))
		}
	}
	cfg := loadgen.Config{
		URLs: urls, Code: *code, Mix: loadgen.Mix(*mix), Devices: *devices, Rate: *rate, Duration: *duration,
		Ramp: *ramp, Payload: *payload, Sources: *sources, ChurnRate: *churnRate, Offline: *offline,
		DrainTimeout: *drain, Embedded: *embedded,
	}
	if *offline <= 0 || *drain <= 0 {
		return e.usageError("bench", "--offline and --drain must be positive")
	}
	if *embedded {
		cfg.URLs = []string{"ws://127.0.0.1:0/v1/ws"} // checked now, replaced once the server runs
	}
	if err := cfg.Check(); err != nil {
		var msgs []string
		for _, p := range splitErrors(err) {
			msgs = append(msgs, strings.TrimPrefix(p.Error(), "loadgen: bad configuration: "))
		}
		return e.usageError("bench", "%s", strings.Join(msgs, "; "))
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	storeName := ""
	if *embedded {
		srv, err := loadgen.StartEmbedded(ctx, *store, nil)
		if err != nil {
			return e.fail("bench", err)
		}
		defer srv.Stop()
		cfg.URLs, storeName = []string{srv.URL}, srv.Store
	}
	pr := newProgressPrinter(e)
	cfg.Progress = pr.print
	rep, err := loadgen.Run(ctx, cfg)
	pr.end()
	if rep == nil {
		return e.fail("bench", err)
	}
	rep.Store = storeName
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return e.fail("bench", err)
		}
	} else if err := rep.WriteText(e.stdout); err != nil {
		return e.fail("bench", err)
	}
	switch m := rep.Messages; {
	case errors.Is(err, context.Canceled):
		return e.fail("bench", errors.New("interrupted; the report covers the run so far"))
	case err != nil:
		return e.fail("bench", err)
	case m.Missing > 0 || m.Duplicates > 0:
		return e.fail("bench", fmt.Errorf("%d accepted messages were never delivered and %d were delivered again after their ack", m.Missing, m.Duplicates))
	}
	return exitOK
}

// progressPrinter shows Progress on standard error: one line rewritten in
// place on a terminal, a line each otherwise.
type progressPrinter struct {
	e        *env
	terminal bool
	printed  bool
}

func newProgressPrinter(e *env) *progressPrinter {
	f, ok := e.stderr.(*os.File)
	return &progressPrinter{e: e, terminal: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progressPrinter) print(pg loadgen.Progress) {
	line := fmt.Sprintf("%5.0fs %-10s %d/%d connected  sent %d (%.0f/s)  delivered %d (%.0f/s)  p50 %s p99 %s",
		pg.Elapsed.Seconds(), pg.Phase, pg.Connected, pg.Devices, pg.Sent, pg.SendRate, pg.Delivered, pg.DeliverRate,
		shortDuration(pg.P50), shortDuration(pg.P99))
	if p.terminal {
		fmt.Fprint(p.e.stderr, "\r\033[K"+line)
		p.printed = true
		return
	}
	fmt.Fprintln(p.e.stderr, line)
}

func (p *progressPrinter) end() {
	if p.printed {
		fmt.Fprintln(p.e.stderr)
	}
}

func shortDuration(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}
