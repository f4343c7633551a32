// Package bus connects Parley's nodes through NATS. With no URL it starts an
// in-process NATS server that listens on no port, so a single node runs the
// very code a cluster runs; with a URL it joins the operator's NATS cluster.
//
// Only ephemeral signals and delivery notices travel here: everything a
// device must not lose is in the store before it is published, and notices
// lost while NATS was away are made good from the store on reconnection.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ErrNoResponders is returned by Request when nobody listens on the subject.
var ErrNoResponders = errors.New("bus: no responders")

// Config says which NATS to use.
type Config struct {
	// URL of an external NATS cluster, comma-separated for several seeds.
	// Empty starts an in-process server.
	URL string
	// Name identifies this node's connection in NATS monitoring.
	Name string

	// confirmEvery replaces the package's confirmEvery (tests).
	confirmEvery time.Duration
}

// Bus is a connection to NATS, and the in-process server when it owns one.
type Bus struct {
	nc  *nats.Conn
	srv *natsserver.Server
	log *slog.Logger

	mu          sync.Mutex
	onReconnect []func()
	onLost      []func(subjects []string)

	// Device subjects published and not yet confirmed: sent since the
	// round trip in progress started, and inFlight before it (nil when
	// none is in progress). A round trip runs every confirmEvery; NATS
	// answers it after everything published before it (it keeps a
	// connection's order), so its answer confirms inFlight.
	umu      sync.Mutex
	sent     map[string]struct{}
	inFlight map[string]struct{}
	stop     chan struct{}
	stopped  chan struct{}
}

// confirmEvery is how often the bus makes a round trip to NATS to confirm
// what it published; it bounds how much a dying connection can take along.
const confirmEvery = time.Second

// isDeviceSubject reports whether a subject is a DeviceSubject: the bus
// keeps those until confirmed, as they carry delivery notices, whose loss
// would leave a message waiting in the store.
func isDeviceSubject(s string) bool {
	_, kind, _, ok := ParseAccountSubject(s)
	return ok && kind == KindDevice
}

// Open connects to cfg.URL, or starts an in-process server when it is empty.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	b := &Bus{log: log, sent: map[string]struct{}{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		// A server that dies without closing the connection (its host
		// lost) is noticed within about three pings.
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		// A node must ride out a NATS restart: keep reconnecting forever and
		// buffer publishes meanwhile (they are notices; the store has the data).
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(16 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bus reconnected", "url", nc.ConnectedUrlRedacted())
			// A round trip, so the server has our subscriptions before we
			// look for what was published without them.
			if err := nc.FlushTimeout(5 * time.Second); err != nil {
				log.Warn("bus flush after reconnect", "err", err)
			}
			b.mu.Lock()
			fns := append([]func(){}, b.onReconnect...)
			lostFns := append([]func([]string){}, b.onLost...)
			b.mu.Unlock()
			if lost := b.unconfirmed(); len(lost) > 0 {
				log.Info("bus notices perhaps lost with the connection", "devices", len(lost))
				for _, fn := range lostFns {
					fn(lost)
				}
			}
			for _, fn := range fns {
				fn()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("bus error", "subject", subj, "err", err)
		}),
	}
	if cfg.URL == "" {
		srv, err := natsserver.NewServer(&natsserver.Options{
			ServerName:      "parley-embedded",
			DontListen:      true,
			NoLog:           true,
			NoSigs:          true,
			MaxPayload:      8 << 20,
			MaxPending:      256 << 20,
			WriteDeadline:   10 * time.Second,
			NoSystemAccount: true,
		})
		if err != nil {
			return nil, fmt.Errorf("bus: embedded server: %w", err)
		}
		srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			srv.Shutdown()
			return nil, errors.New("bus: embedded server did not start")
		}
		b.srv = srv
		opts = append(opts, nats.InProcessServer(srv))
	} else {
		opts = append(opts, nats.RetryOnFailedConnect(false))
	}
	url := cfg.URL
	if url == "" {
		url = nats.DefaultURL // ignored: InProcessServer takes precedence
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		if b.srv != nil {
			b.srv.Shutdown()
		}
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	b.nc = nc
	every := confirmEvery
	if cfg.confirmEvery != 0 {
		every = cfg.confirmEvery
	}
	go b.confirm(every)
	return b, nil
}

// confirm makes a round trip to NATS every interval, so that what was
// published before it is known to have arrived.
func (b *Bus) confirm(every time.Duration) {
	defer close(b.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.confirmOnce()
	}
}

// confirmOnce makes one round trip and forgets what it confirmed.
func (b *Bus) confirmOnce() {
	if !b.nc.IsConnected() {
		return
	}
	b.umu.Lock()
	if b.inFlight == nil {
		b.inFlight, b.sent = b.sent, map[string]struct{}{}
	} else {
		// The last round trip failed: what it was to confirm waits for
		// this one.
		for s := range b.sent {
			b.inFlight[s] = struct{}{}
		}
		clear(b.sent)
	}
	b.umu.Unlock()
	if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
		return
	}
	b.umu.Lock()
	b.inFlight = nil
	b.umu.Unlock()
}

// unconfirmed returns and forgets the device subjects published and not
// confirmed.
func (b *Bus) unconfirmed() []string {
	b.umu.Lock()
	defer b.umu.Unlock()
	out := make([]string, 0, len(b.sent)+len(b.inFlight))
	for s := range b.inFlight {
		out = append(out, s)
	}
	for s := range b.sent {
		if _, ok := b.inFlight[s]; !ok {
			out = append(out, s)
		}
	}
	b.inFlight = nil
	clear(b.sent)
	return out
}

// OnReconnect registers fn to run each time the connection is back after
// NATS went away, once this node's subscriptions are restored. Whatever was
// published while the connection was down, by this node or by others
// before theirs were back, may be lost: fn is where a node looks in the
// store for what it missed.
func (b *Bus) OnReconnect(fn func()) {
	b.mu.Lock()
	b.onReconnect = append(b.onReconnect, fn)
	b.mu.Unlock()
}

// OnLost registers fn to run after a reconnection with the device subjects
// (DeviceSubject) this node published to since NATS last confirmed what it
// had received: those messages may have died with the connection, or with
// the NATS server it was on (in a NATS cluster the others carry on and
// their subscribers never know). fn is where a node tells those devices to
// look in the store. It runs before the OnReconnect functions.
func (b *Bus) OnLost(fn func(subjects []string)) {
	b.mu.Lock()
	b.onLost = append(b.onLost, fn)
	b.mu.Unlock()
}

// Conn is the NATS connection, for the media blob store's JetStream.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Embedded reports whether the bus runs its own in-process server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Publish sends data to every subscriber of subject. It returns once NATS
// has the message in its outbound buffer.
func (b *Bus) Publish(subject string, data []byte) error {
	if isDeviceSubject(subject) {
		b.umu.Lock()
		b.sent[subject] = struct{}{}
		b.umu.Unlock()
	}
	if err := b.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("bus: publish: %w", err)
	}
	return nil
}

// Subscribe delivers subject's messages into ch. Many subscriptions may share
// one channel, so a node serves any number of devices with one dispatcher
// goroutine instead of one per subscription.
func (b *Bus) Subscribe(subject string, ch chan *nats.Msg) (*nats.Subscription, error) {
	sub, err := b.nc.ChanSubscribe(subject, ch)
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	// Slow consumers must not stall the node's NATS connection: the
	// dispatcher drops what does not fit, and the store still has it.
	_ = sub.SetPendingLimits(1<<16, 64<<20)
	return sub, nil
}

// Handle calls fn for each message on subject, in a goroutine of its own.
// For the few node-level subjects (provisioning, presence probes).
func (b *Bus) Handle(subject string, fn func(*nats.Msg)) (*nats.Subscription, error) {
	sub, err := b.nc.Subscribe(subject, fn)
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	return sub, nil
}

// Request sends data and waits for the first reply.
func (b *Bus) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	msg, err := b.nc.RequestWithContext(ctx, subject, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoResponders
	}
	if err != nil {
		return nil, fmt.Errorf("bus: request %s: %w", subject, err)
	}
	return msg.Data, nil
}

// Flush waits until NATS has processed everything published so far.
func (b *Bus) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return b.nc.FlushWithContext(ctx)
}

// Ping reports whether the bus connection is up; /healthz uses it.
func (b *Bus) Ping() error {
	if !b.nc.IsConnected() {
		return errors.New("bus: not connected")
	}
	return nil
}

// Close drains the connection and stops the in-process server.
func (b *Bus) Close() {
	close(b.stop)
	<-b.stopped
	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
	}
	for b.nc.IsDraining() {
		time.Sleep(5 * time.Millisecond)
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}
