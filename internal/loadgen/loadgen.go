// Package loadgen is the load generator behind `parley bench`: it registers
// N devices on a Parley server over real WebSockets, holds them connected
// and drives a mix of traffic through them (1:1 chat, idle connections, or
// devices going offline and online), then reports throughput, latency
// percentiles, delivery counts, errors, memory and CPU.
//
// It talks only to loopback: the target must be 127.0.0.0/8, ::1 or
// localhost, so that a mistyped URL cannot load someone else's server. To
// get past the 28 000 ephemeral ports of one source address it dials from
// many (127.0.0.2, 127.0.0.3, ...), and it raises its own open-file limit.
//
// Given several nodes of one cluster it spreads the devices over them
// round-robin, so that most messages cross from one node to another.
//
// Message payloads are opaque to the server, so they are not encrypted:
// each carries the send time and a sequence number, from which the
// receiving side measures sender-to-recipient latency and checks that every
// accepted message arrives exactly once.
package loadgen

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Mix is the kind of load.
type Mix string

const (
	// MixChat sends 1:1 messages between random pairs of online devices
	// at the target rate; every delivered message is acked.
	MixChat Mix = "chat"
	// MixIdle connects and authenticates the devices and holds them. On
	// ws:// nodes a device is held on a connection of the minimal client
	// in rawws.go, parked in a poller, so that this process's memory per
	// connection (about 1 KiB) stays far below the server's.
	MixIdle Mix = "idle"
	// MixChurn is chat while devices go offline and come back, draining
	// what was queued for them meanwhile.
	MixChurn Mix = "churn"
)

// Mixes are the valid mixes, for help and validation.
var Mixes = []Mix{MixChat, MixIdle, MixChurn}

// Errors of a configuration Run refuses.
var (
	ErrNotLoopback = errors.New("loadgen: the target is not a loopback address")
	ErrConfig      = errors.New("loadgen: bad configuration")
)

// ParseTargets splits a comma-separated list of server URLs and checks each
// with CheckTarget. A URL given twice is refused: it would put two shares of
// the devices on one node while the report counts them as two nodes.
func ParseTargets(list string) ([]string, error) {
	var urls []string
	seen := map[string]bool{}
	for _, u := range strings.Split(list, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			return nil, fmt.Errorf("%w: %q: an empty server URL in the list", ErrConfig, list)
		}
		if _, err := CheckTarget(u); err != nil {
			return nil, err
		}
		if seen[u] {
			return nil, fmt.Errorf("%w: %q is given twice", ErrConfig, u)
		}
		seen[u] = true
		urls = append(urls, u)
	}
	return urls, nil
}

// nodeOf is the node device i (in the order of registration jobs) uses:
// round-robin, so the nodes get equal shares and two random devices are on
// different nodes with probability (nodes-1)/nodes.
func nodeOf(i, nodes int) int { return i % nodes }

// Config is one bench run.
type Config struct {
	// URLs are the nodes to load, each ws://HOST:PORT/v1/ws on loopback.
	// Device i registers and connects to URLs[i % len(URLs)], so with
	// several nodes of one cluster a message goes to a device on another
	// node (len-1) times in len.
	URLs []string
	Code string // the servers' fixed registration code

	Mix      Mix
	Devices  int
	Rate     float64       // messages per second, all senders together (chat, churn)
	Duration time.Duration // of the traffic (or, idle, of the hold)
	// Ramp is how many devices register and connect per second during
	// set-up; 0 is as fast as Workers manage.
	Ramp    float64
	Workers int // concurrent registrations; default 32
	Payload int // bytes per message, at least 16; default 160
	// Sources is how many source addresses to dial from (127.0.0.2 and
	// up); default one per 20 000 devices, at least 1. Only for an IPv4
	// target.
	Sources int
	// MaxInFlight bounds the sends awaiting their answer; when it is
	// reached the generator waits and the achieved rate falls below the
	// target. Default 8192.
	MaxInFlight int

	ChurnRate float64       // devices going offline per second (churn); default Devices/10
	Offline   time.Duration // how long such a device stays offline; default 1s

	// DrainTimeout bounds the wait, after the last send, for every
	// accepted message to be delivered and acked. Default 15s.
	DrainTimeout time.Duration

	// Progress, when set, is called every ProgressEvery (default 1s).
	Progress      func(Progress)
	ProgressEvery time.Duration

	// Embedded says the server runs in this process, so that process
	// memory includes both ends of every connection.
	Embedded bool
}

// Progress is a snapshot while the run goes on.
type Progress struct {
	Phase       string // "connecting", "running", "draining"
	Elapsed     time.Duration
	Connected   int64
	Devices     int
	Sent        int64
	Delivered   int64
	SendRate    float64 // per second, since the previous snapshot
	DeliverRate float64
	P50, P99    time.Duration // latency so far
}

// CheckTarget accepts ws:// and wss:// URLs whose host is a loopback IP
// address or localhost, and returns the IP to dial. Host names other than
// localhost are refused rather than resolved.
func CheckTarget(raw string) (net.IP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("%w: %q: the server URL must be ws:// or wss://", ErrConfig, raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return net.IPv4(127, 0, 0, 1), nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q; bench only loads a server on this machine (127.0.0.0/8, [::1] or localhost)", ErrNotLoopback, host)
	}
	return ip, nil
}

func (c *Config) defaults() error {
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.Payload == 0 {
		c.Payload = 160
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 8192
	}
	if c.Sources <= 0 {
		c.Sources = max(1, (c.Devices+19_999)/20_000)
	}
	if c.ChurnRate == 0 {
		c.ChurnRate = max(1, float64(c.Devices)/10)
	}
	if c.Offline == 0 {
		c.Offline = time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	switch c.Mix {
	case MixChat, MixIdle, MixChurn:
	default:
		bad("mix %q is not chat, idle or churn", c.Mix)
	}
	if c.Devices < 2 {
		bad("at least 2 devices are needed")
	}
	if c.Mix != MixIdle && (c.Rate <= 0 || math.IsInf(c.Rate, 0) || math.IsNaN(c.Rate)) {
		bad("the rate must be a positive number of messages per second")
	}
	if c.Duration <= 0 {
		bad("the duration must be positive")
	}
	if c.Payload < 16 || c.Payload > 64<<10 {
		bad("the payload must be 16 bytes to 64 KiB")
	}
	if c.Ramp < 0 || c.ChurnRate < 0 || c.Offline < 0 {
		bad("ramp, churn rate and offline time must not be negative")
	}
	if len(c.URLs) == 0 {
		bad("at least one server URL is needed")
	}
	if len(c.Code) != 6 {
		bad("the registration code must be 6 digits")
	}
	return errors.Join(errs...)
}

// Run does one bench run and returns its report. It stops by itself after
// set-up, Duration and the drain; ctx ends it early, with the report so
// far.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	// Source addresses on 127.0.0.0/8 only reach IPv4 nodes; if any node
	// is IPv6, every dial goes from the default address.
	target := net.IPv4(127, 0, 0, 1)
	for _, u := range cfg.URLs {
		ip, err := CheckTarget(u)
		if err != nil {
			return nil, err
		}
		if ip.To4() == nil {
			target = ip
		}
	}
	var err error
	r := &run{cfg: cfg, errs: map[string]int64{}, start: time.Now()}
	r.phase.Store("connecting")
	r.report.FileLimit, err = raiseFileLimit(uint64(cfg.Devices)*fdsPerDevice(cfg) + 1024)
	if err != nil {
		r.report.FileLimitError = err.Error()
	}
	r.clients, r.dialers, r.report.Sources = httpClients(target, cfg.Sources)
	if cfg.Mix == MixIdle {
		r.hold = newHolder(r)
	}
	for _, u := range cfg.URLs {
		r.metricsURLs = append(r.metricsURLs, metricsURL(u))
		r.report.Nodes = append(r.report.Nodes, NodeReport{URL: u})
	}
	r.report.Targets, r.report.Mix, r.report.Embedded = cfg.URLs, string(cfg.Mix), cfg.Embedded
	r.report.Devices, r.report.TargetRate, r.report.Payload = cfg.Devices, cfg.Rate, cfg.Payload
	r.cpu0 = cpuTime()

	stopProgress := r.progress(ctx)
	defer stopProgress()

	base := sampleMemory(ctx, r.metricsURLs)
	if err := r.setup(ctx); err != nil {
		r.closeAll()
		return nil, err
	}
	held := sampleMemory(ctx, r.metricsURLs)
	r.report.memory(base, held, r.connected.Load())

	r.phase.Store("running")
	r.runStart = time.Now()
	cpuRun := cpuTime()
	srvRun := held.servers
	switch cfg.Mix {
	case MixIdle:
		select {
		case <-ctx.Done():
		case <-time.After(cfg.Duration):
		}
		r.sendEnd = time.Now()
	case MixChat, MixChurn:
		r.traffic(ctx)
	}
	r.phase.Store("draining")
	r.drain(ctx)
	r.report.RunSeconds = time.Since(r.runStart).Seconds()
	r.report.CPU.RunSeconds = (cpuTime() - cpuRun).Seconds()
	if held.serverSet {
		r.report.serverCPU(ctx, r.metricsURLs, srvRun)
	}
	stopProgress()
	r.closeAll()
	r.finish()
	return &r.report, ctx.Err()
}

// fdsPerDevice is the descriptors a device costs this process: its socket,
// and the server's when the server is embedded.
func fdsPerDevice(cfg Config) uint64 {
	if cfg.Embedded {
		return 2
	}
	return 1
}

// httpClients makes one HTTP client per source address, so that dials
// cycle through 127.0.0.2, 127.0.0.3, ... and each address has its own
// ephemeral ports; the dialers are the same, for the idle mix's raw
// connections. An IPv6 target gets one client on the default address.
func httpClients(target net.IP, n int) ([]*http.Client, []*net.Dialer, []string) {
	if target.To4() == nil {
		return []*http.Client{{Transport: &http.Transport{}}}, []*net.Dialer{{Timeout: 10 * time.Second}}, []string{"default"}
	}
	n = min(n, 250)
	var clients []*http.Client
	var dialers []*net.Dialer
	var names []string
	for i := range n {
		src := net.IPv4(127, 0, 0, byte(2+i))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
		clients = append(clients, &http.Client{Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil}})
		dialers = append(dialers, d)
		names = append(names, src.String())
	}
	return clients, dialers, names
}

// metricsURL is the server's /metrics beside its WebSocket path.
func metricsURL(ws string) string {
	u, err := url.Parse(ws)
	if err != nil {
		return ""
	}
	u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
	u.Path, u.RawQuery = "/metrics", ""
	return u.String()
}

// device is one simulated device.
type device struct {
	idx   int
	node  int // index in Config.URLs
	phone string
	addr  types.Address
	key   ed25519.PrivateKey

	mu   sync.Mutex
	sess *session // nil while offline
	// raw is the idle mix's connection, held by the holder instead of a
	// session.
	raw *rawConn
}

// session is one connection of a device.
type session struct {
	c *transport.Conn
	// inflight counts sends and acks awaiting their answer, so that a
	// device going offline leaves nothing half done.
	inflight atomic.Int64

	// mu orders the start of an ack against the churn closing the
	// session: an ack written just as the connection closes could be
	// applied by the server with its answer lost, and the message would
	// then be neither acked here nor delivered again.
	mu      sync.Mutex
	closing bool
}

// beginAck counts an ack in flight, unless the session is being closed:
// then the message stays unacked and the server delivers it again on the
// device's next connection, where it is acked.
func (s *session) beginAck() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.inflight.Add(1)
	return true
}

// closeIdle closes the session once nothing is in flight on it, or at
// deadline.
func (s *session) closeIdle(deadline time.Time) {
	for {
		s.mu.Lock()
		if s.inflight.Load() == 0 || !time.Now().Before(deadline) {
			s.closing = true
			s.mu.Unlock()
			s.c.Close()
			return
		}
		s.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

type run struct {
	cfg         Config
	clients     []*http.Client
	dialers     []*net.Dialer // the clients' dialers, in the same order
	dials       atomic.Uint64
	hold        *holder  // the idle mix's connections; nil for the others
	metricsURLs []string // one per node
	start       time.Time
	runStart    time.Time
	sendEnd     time.Time
	cpu0        time.Duration
	phase       atomic.Value // string

	devs      []*device
	connected atomic.Int64
	closing   atomic.Bool

	live, queued, drainLat Histogram
	ledger                 ledger
	sent                   atomic.Int64
	crossNode              atomic.Int64 // sends to a device on another node
	reconnects             atomic.Int64
	// syncing counts returned devices whose mailbox drain (QueueEmpty) has
	// not come yet; the report waits for them as for acks.
	syncing atomic.Int64
	lastAck atomic.Int64 // unix nanoseconds

	errMu sync.Mutex
	errs  map[string]int64

	report Report
}

// fail counts an error under a short, stable name.
func (r *run) fail(err error) {
	key := errorKey(err)
	r.errMu.Lock()
	r.errs[key]++
	r.errMu.Unlock()
}

func errorKey(err error) string {
	if code := transport.CodeOf(err); code != wirepb.ErrorCode_ERROR_CODE_UNSPECIFIED {
		return strings.TrimPrefix(code.String(), "ERROR_CODE_")
	}
	var errno syscall.Errno
	var closed *closedError
	switch {
	case errors.As(err, &closed):
		return "disconnected by the server"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &errno):
		return "dial: " + errno.Error()
	case errors.Is(err, transport.ErrClosed):
		return "connection closed"
	case strings.Contains(err.Error(), "dial"):
		return "dial"
	}
	return "other"
}

// dial connects to node n.
func (r *run) dial(ctx context.Context, n int) (*transport.Conn, error) {
	hc := r.clients[int(r.dials.Add(1)-1)%len(r.clients)]
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// A small event buffer: an idle device receives nearly nothing, and
	// this process may hold many thousands of them.
	return transport.Dial(ctx, r.cfg.URLs[n], &transport.Options{UserAgent: "parley-bench", HTTPClient: hc, Events: 64})
}

// setup registers and connects every device, at the ramp rate.
func (r *run) setup(ctx context.Context) error {
	base := mrand.Uint64N(9_000_000_000)
	jobs := make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() {
			for i := range jobs {
				d := &device{idx: i, node: nodeOf(i, len(r.cfg.URLs)), phone: fmt.Sprintf("+1%010d", (base+uint64(i))%10_000_000_000)}
				if err := r.register(ctx, d); err != nil {
					if ctx.Err() == nil {
						r.fail(err)
					}
					continue
				}
				mu.Lock()
				d.idx = len(r.devs)
				r.devs = append(r.devs, d)
				mu.Unlock()
			}
		})
	}
	var tick *time.Ticker
	if r.cfg.Ramp > 0 {
		tick = time.NewTicker(max(time.Duration(float64(time.Second)/r.cfg.Ramp), time.Microsecond))
		defer tick.Stop()
	}
feed:
	for i := range r.cfg.Devices {
		if tick != nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	r.report.SetupSeconds = time.Since(r.start).Seconds()
	r.report.Registered = len(r.devs)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(r.devs) < 2 {
		return fmt.Errorf("loadgen: only %d of %d devices registered; errors: %v", len(r.devs), r.cfg.Devices, r.errorsCopy())
	}
	return nil
}

// register creates an account for d with its phone number and keeps the
// connection, authenticated as d, open.
func (r *run) register(ctx context.Context, d *device) error {
	c, err := r.dial(ctx, d.node)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.Call(cctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: d.phone}}}); err != nil {
		c.Close()
		return err
	}
	keys, priv, err := newDeviceKeys()
	if err != nil {
		c.Close()
		return err
	}
	res, err := c.Call(cctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: d.phone, Code: r.cfg.Code, Device: keys}}})
	if err != nil {
		c.Close()
		return err
	}
	reg := res.GetRegister()
	if reg == nil || len(reg.AccountId) != 16 {
		c.Close()
		return errors.New("loadgen: register answered without an account")
	}
	d.addr = types.Address{Account: types.AccountID(reg.AccountId), Device: types.DeviceID(reg.DeviceId)}
	d.key = priv
	if r.hold != nil && rawTarget(r.cfg.URLs[d.node]) {
		// The idle mix holds the device on a connection of its own that
		// costs this process next to nothing; this one has done its part.
		c.Close()
		rc, err := r.hold.connect(cctx, d.node, d.addr, priv)
		if err != nil {
			return err
		}
		d.raw = rc
		return nil
	}
	if _, err := c.Authenticate(cctx, d.addr, priv); err != nil {
		c.Close()
		return err
	}
	r.attach(d, c, time.Time{})
	return nil
}

// newDeviceKeys makes a device's auth key and the public keys it registers:
// a real identity key, whose signatures the server checks, and prekeys of
// the right shape that nobody will use.
func newDeviceKeys() (*wirepb.DeviceKeys, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ident, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	signed := func(prefix byte, n int) (*wirepb.SignedPreKey, error) {
		k := make([]byte, 1+n)
		k[0] = prefix
		_, _ = rand.Read(k[1:])
		sig, err := ident.Private.Sign(rand.Reader, k)
		if err != nil {
			return nil, err
		}
		return &wirepb.SignedPreKey{KeyId: 1, PublicKey: k, Signature: sig[:]}, nil
	}
	ec, err := signed(0x05, 32)
	if err != nil {
		return nil, nil, err
	}
	kyber, err := signed(0x08, 1568)
	if err != nil {
		return nil, nil, err
	}
	return &wirepb.DeviceKeys{AuthKey: pub, IdentityKey: ident.Public.Bytes(),
		RegistrationId: 1 + mrand.Uint32N(16380), SignedPrekey: ec, LastResortKyber: kyber}, priv, nil
}

// attach makes c d's current connection and reads it until it ends.
// reconnected is when a returning device started to connect, zero for the
// first connection.
func (r *run) attach(d *device, c *transport.Conn, reconnected time.Time) {
	s := &session{c: c}
	d.mu.Lock()
	d.sess = s
	d.mu.Unlock()
	r.connected.Add(1)
	if !reconnected.IsZero() {
		r.syncing.Add(1)
	}
	go r.read(d, s, reconnected)
}

func (r *run) read(d *device, s *session, reconnected time.Time) {
	synced := reconnected.IsZero()
	for f := range s.c.Events() {
		switch {
		case f.GetDeliver() != nil:
			now := time.Now()
			envs := f.GetDeliver().GetEnvelopes()
			ids := make([]uint64, 0, len(envs))
			seqs := make([]uint64, 0, len(envs))
			for _, e := range envs {
				ids = append(ids, e.Id)
				if len(e.Content) < 16 {
					r.fail(errors.New("foreign envelope"))
					continue
				}
				sentAt := int64(binary.BigEndian.Uint64(e.Content))
				seq := binary.BigEndian.Uint64(e.Content[8:])
				first, unacked := r.ledger.delivered(seq)
				if unacked {
					seqs = append(seqs, seq)
				}
				if !first {
					continue
				}
				if synced {
					r.live.Record(time.Duration(now.UnixNano() - sentAt))
				} else {
					r.queued.Record(time.Duration(now.UnixNano() - sentAt))
				}
			}
			r.ack(s, ids, seqs)
		case f.GetQueueEmpty() != nil:
			if !synced {
				synced = true
				r.drainLat.Record(time.Since(reconnected))
				r.syncing.Add(-1)
			}
		case f.GetResponse().GetError() != nil:
			r.fail(&transport.ServerError{E: f.GetResponse().GetError()})
		}
	}
	if !synced {
		r.syncing.Add(-1)
	}
	// The connection ended. If nobody took the device offline on purpose,
	// the server dropped it.
	d.mu.Lock()
	mine := d.sess == s
	if mine {
		d.sess = nil
	}
	d.mu.Unlock()
	if mine {
		r.connected.Add(-1)
		if !r.closing.Load() {
			r.fail(fmt.Errorf("disconnected by the server (%d)", s.c.CloseStatus()))
		}
	}
}

// ack acknowledges one Deliver frame; seqs are the messages in it not
// acked before.
func (r *run) ack(s *session, ids, seqs []uint64) {
	if !s.beginAck() {
		return
	}
	go func() {
		defer s.inflight.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}}); err != nil {
			if !r.closing.Load() {
				r.fail(err)
			}
			return
		}
		r.ledger.acked(seqs)
		r.lastAck.Store(time.Now().UnixNano())
	}()
}

// traffic sends messages at the target rate for the duration, and in the
// churn mix takes devices offline and back meanwhile.
func (r *run) traffic(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	var churn sync.WaitGroup
	if r.cfg.Mix == MixChurn {
		churn.Go(func() { r.churn(ctx) })
	}
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var sends sync.WaitGroup
	payload := make([]byte, r.cfg.Payload)
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	total := int64(r.cfg.Rate * r.cfg.Duration.Seconds())
loop:
	for ctx.Err() == nil {
		// Never more than rate × duration, however late the last tick.
		due := min(int64(r.cfg.Rate*time.Since(start).Seconds()), total)
		for r.sent.Load() < due {
			from, to, s := r.pick(rng)
			if s == nil {
				break // every pick was offline; try at the next tick
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				s.inflight.Add(-1)
				break loop
			}
			r.sent.Add(1)
			if from.node != to.node {
				r.crossNode.Add(1)
			}
			seq := r.ledger.add()
			content := append([]byte(nil), payload...)
			binary.BigEndian.PutUint64(content[8:], seq)
			sends.Go(func() {
				defer func() { <-sem; s.inflight.Add(-1) }()
				r.send(s, from, to, seq, content)
			})
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			break loop
		}
	}
	r.sendEnd = time.Now()
	sends.Wait()
	churn.Wait()
}

// pick chooses a random online sender and a random other recipient, and
// counts a send in flight on the sender's session.
func (r *run) pick(rng *mrand.Rand) (from, to *device, s *session) {
	n := len(r.devs)
	for range 16 {
		from = r.devs[rng.IntN(n)]
		from.mu.Lock()
		s = from.sess
		if s != nil {
			s.inflight.Add(1)
		}
		from.mu.Unlock()
		if s == nil {
			continue
		}
		to = r.devs[rng.IntN(n-1)]
		if to == from {
			to = r.devs[n-1]
		}
		return from, to, s
	}
	return nil, nil, nil
}

func (r *run) send(s *session, from, to *device, seq uint64, content []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mid := types.NewMessageID()
	// The send time goes in last, as close to the write as it can be.
	binary.BigEndian.PutUint64(content, uint64(time.Now().UnixNano()))
	_, err := s.c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
		MessageId: mid[:], Destination: to.addr.Account[:],
		Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: uint32(to.addr.Device), Type: 1, Content: content}}}}})
	if err != nil {
		r.ledger.failed(seq)
		r.fail(err)
		return
	}
	r.ledger.accepted(seq)
}

// churn takes a random online device offline ChurnRate times a second; each
// comes back after Offline and drains what was queued for it.
func (r *run) churn(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(max(time.Duration(float64(time.Second)/r.cfg.ChurnRate), time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		d := r.devs[mrand.IntN(len(r.devs))]
		d.mu.Lock()
		s := d.sess
		d.sess = nil
		d.mu.Unlock()
		if s == nil {
			continue // already offline
		}
		wg.Go(func() { r.cycle(d, s) })
	}
}

// cycle takes d offline (once its sends and acks are answered), waits, and
// brings it back. It finishes even after the traffic stopped, so that the
// drain finds every device online.
func (r *run) cycle(d *device, s *session) {
	s.closeIdle(time.Now().Add(10 * time.Second))
	r.connected.Add(-1)
	time.Sleep(r.cfg.Offline)
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		at := time.Now()
		c, err := r.dial(ctx, d.node)
		if err == nil {
			_, err = c.Authenticate(ctx, d.addr, d.key)
			if err != nil {
				c.Close()
			}
		}
		cancel()
		if err == nil {
			r.reconnects.Add(1)
			r.attach(d, c, at)
			return
		}
		r.fail(err)
		time.Sleep(100 * time.Millisecond)
	}
}

// drain waits until every accepted message is acked, or DrainTimeout: also
// those delivered again after a connection dropped before their ack, whose
// second delivery may still be on its way. It waits too for every returned
// device's drain to end, so the report counts each reconnection's drain.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.ledger.settled() && r.syncing.Load() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *run) closeAll() {
	r.closing.Store(true)
	if r.hold != nil {
		// Raw connections close without waiting for the server's answer.
		for _, d := range r.devs {
			if d.raw != nil {
				r.hold.close(d.raw)
			}
		}
		defer r.hold.shutdown()
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, d := range r.devs {
		d.mu.Lock()
		s := d.sess
		d.mu.Unlock()
		if s == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.c.Close()
		})
	}
	wg.Wait()
}

func (r *run) errorsCopy() map[string]int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	m := make(map[string]int64, len(r.errs))
	for k, v := range r.errs {
		m[k] = v
	}
	return m
}

// progress calls cfg.Progress every ProgressEvery until the returned
// function is called.
func (r *run) progress(ctx context.Context) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		var lastSent, lastDelivered int64
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				sent, delivered := r.sent.Load(), r.ledger.deliveredCount()
				secs := now.Sub(last).Seconds()
				r.cfg.Progress(Progress{
					Phase: r.phase.Load().(string), Elapsed: now.Sub(r.start),
					Connected: r.connected.Load(), Devices: r.cfg.Devices,
					Sent: sent, Delivered: delivered,
					SendRate: float64(sent-lastSent) / secs, DeliverRate: float64(delivered-lastDelivered) / secs,
					P50: r.live.Quantile(0.5), P99: r.live.Quantile(0.99),
				})
				lastSent, lastDelivered, last = sent, delivered, now
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// Check reports every problem with the configuration, as Run would, without
// running anything. The URL is checked by CheckTarget.
func (c Config) Check() error { return c.defaults() }
