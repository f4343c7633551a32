// Package liveness lets the nodes of a cluster notice that one of them is
// gone without a word (SIGKILL, a crash, the OOM killer, a host lost), so
// that whoever watches the presence of its devices learns they went
// offline, and when.
//
// Every node publishes a heartbeat on the bus every Timeout/5 and listens
// to everyone's. A node unheard for Timeout is taken for dead: the nodes
// that noticed release it in the store (store.Holders: the presence
// service records which node holds each connected device), and the one
// that got its devices announces offline those that have no device
// connected anywhere now (the others reconnected elsewhere meanwhile),
// with the dead node's last heartbeat as their last seen time.
//
// Taking a node for dead is a guess: it may have been cut off from the bus
// or stalled, with its connections still open. So after a release the
// releasing node publishes a notice naming the released node, and again
// when it hears that node's heartbeat anew; a node named in one records
// and announces its connections again (Config.Reannounce). A node that
// finds itself cut off from the bus, or stalled, for long enough that the
// others may have released it does the same. Meanwhile a node that cannot
// hear the bus takes nobody for dead.
//
// A node taken for dead may still record devices after its release: in the
// moment between its coming back and its heartbeat being heard, or while
// it is cut off from the bus but not from the store. So a released node is
// released again once, Timeout later, and every node sweeps the store now
// and then (at start, once it has listened for Timeout, and every minute
// or so): it releases every node that holds devices and that it does not
// hear, which also catches those that died while no other node ran.
package liveness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/types"
)

// DefaultTimeout is how long a node may be silent before the others take
// it for dead.
const DefaultTimeout = 5 * time.Second

// forgetAfter is how long a node remembers that it released another, to
// tell it so should it be heard again.
const forgetAfter = time.Hour

// sweepEvery is how often a node looks in the store for nodes that hold
// devices and that it does not hear; at least this, and 12 timeouts.
const sweepEvery = time.Minute

// Store is what liveness needs of the store.
type Store interface {
	ReleaseNode(ctx context.Context, node string, t time.Time) ([]types.Address, error)
	HolderNodes(ctx context.Context) ([]string, error)
}

// Presence announces the released devices' accounts offline.
type Presence interface {
	Gone(ctx context.Context, devs []types.Address, lastSeen time.Time) int
}

// Bus is what liveness needs of the bus.
type Bus interface {
	Publish(subject string, data []byte) error
	Handle(subject string, fn func(*nats.Msg)) (*nats.Subscription, error)
	Flush(ctx context.Context) error
	Ping() error
}

// Config configures a Monitor.
type Config struct {
	// Node is this run's id (NodeID), under which the presence service
	// records the devices this node holds.
	Node string
	// Name is the node's name, for logs.
	Name string
	// Timeout is how long a node may be silent before it is taken for
	// dead. Default DefaultTimeout. Heartbeats go every Timeout/5.
	Timeout time.Duration
	// Reannounce records and announces again every connection this node
	// holds, after another node took it for dead.
	Reannounce func(ctx context.Context) int
}

// NodeID returns a node id for a run of the node called name: the name
// and a random part, new at every start.
func NodeID(name string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return name + "/" + hex.EncodeToString(b)
}

// Monitor is one node's heartbeat and its watch on the others.
type Monitor struct {
	cfg      Config
	interval time.Duration
	st       Store
	pres     Presence
	bus      Bus
	log      *slog.Logger

	ctx    context.Context // ends at Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	subs   []*nats.Subscription
	again  chan struct{} // a reannounce is due

	mu        sync.Mutex
	peers     map[string]*peer
	dead      map[string]*deadNode
	lastTick  time.Time
	downSince time.Time // the bus is down since; zero while up
	listening time.Time // since when this node has heard the bus without a break
	nextSweep time.Time
}

// peer is a node heard lately.
type peer struct {
	name  string
	heard time.Time // by this node's clock
	sent  time.Time // the heartbeat's time, by the peer's clock
}

// deadNode is a node taken for dead, being released or released.
type deadNode struct {
	name      string
	lastSeen  time.Time
	releasing bool
	failed    bool      // the release failed: try again at the next tick
	released  time.Time // when its last release ended; zero before
	confirmed bool      // released again, Timeout after the first time
	took      int       // devices its releases took from it
	heard     bool      // heard again while a release ran
}

// Start subscribes to the heartbeats and starts beating.
func Start(cfg Config, st Store, pres Presence, b Bus, log *slog.Logger) (*Monitor, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	now := time.Now()
	m := &Monitor{
		cfg: cfg, interval: cfg.Timeout / 5, st: st, pres: pres, bus: b, log: log,
		again: make(chan struct{}, 1),
		peers: make(map[string]*peer), dead: make(map[string]*deadNode),
		lastTick: now, listening: now, nextSweep: now.Add(cfg.Timeout),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for subj, fn := range map[string]func(*nats.Msg){
		bus.NodeHeartbeatSubject: m.onHeartbeat,
		bus.NodeReleasedSubject:  m.onReleased,
	} {
		sub, err := b.Handle(subj, fn)
		if err != nil {
			m.unsubscribe()
			return nil, err
		}
		m.subs = append(m.subs, sub)
	}
	// Subscribed before the first heartbeat goes out, so that what others
	// answer to it is not missed.
	if err := b.Flush(m.ctx); err != nil {
		log.Warn("liveness: bus flush at start", "err", err)
	}
	m.beat(false)
	m.wg.Go(m.loop)
	m.wg.Go(m.reannouncer)
	return m, nil
}

// Stop tells the others this node leaves, so they need not wait for its
// silence, and stops. Call it after the gateway closed its connections.
func (m *Monitor) Stop() {
	m.unsubscribe()
	m.cancel()
	m.wg.Wait()
	m.beat(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.bus.Flush(ctx)
}

func (m *Monitor) unsubscribe() {
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
}

// beat publishes a heartbeat, unless the bus is down: NATS would buffer it
// and deliver it late, saying this node was alive at a time long past.
func (m *Monitor) beat(stopping bool) {
	if m.bus.Ping() != nil {
		return
	}
	data, err := proto.Marshal(&buspb.NodeHeartbeat{Node: m.cfg.Node, Name: m.cfg.Name, SentMs: time.Now().UnixMilli(), Stopping: stopping})
	if err == nil {
		err = m.bus.Publish(bus.NodeHeartbeatSubject, data)
	}
	if err != nil {
		m.log.Warn("liveness: heartbeat not sent", "err", err)
	}
}

func (m *Monitor) loop() {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.beat(false)
		m.tick(time.Now(), m.bus.Ping() == nil)
	}
}

// tick takes the nodes silent for Timeout for dead and starts what is due.
func (m *Monitor) tick(now time.Time, connected bool) {
	var release []string
	sweep := false
	m.mu.Lock()
	defer func() {
		m.mu.Unlock()
		for _, id := range release {
			m.wg.Go(func() { m.release(id) })
		}
		if sweep {
			m.wg.Go(m.sweep)
		}
	}()
	gap := now.Sub(m.lastTick)
	m.lastTick = now
	if !connected {
		if m.downSince.IsZero() {
			m.downSince = now
		}
		return
	}
	away := gap
	if !m.downSince.IsZero() {
		away = max(away, now.Sub(m.downSince))
		m.downSince = time.Time{}
		m.listening = now
	}
	if away > m.cfg.Timeout/2 {
		// This node heard nothing for a while (the bus was down, or the
		// process stalled): the others' silence meanwhile means nothing,
		// nodes that started meanwhile are not known yet, and the others
		// may have taken this node for dead.
		for _, p := range m.peers {
			p.heard = now
		}
		m.nextSweep = later(m.nextSweep, now.Add(m.cfg.Timeout))
		m.log.Warn("liveness: cut off from the bus or stalled; announcing this node's connections again", "for", away.Round(time.Millisecond))
		m.reannounceLater()
	}
	for id, p := range m.peers {
		if now.Sub(p.heard) <= m.cfg.Timeout || m.dead[id] != nil {
			continue
		}
		delete(m.peers, id)
		m.dead[id] = &deadNode{name: p.name, lastSeen: p.sent, releasing: true}
		release = append(release, id)
	}
	for id, d := range m.dead {
		switch {
		case d.releasing:
		case d.failed:
			d.failed, d.releasing = false, true
			release = append(release, id)
		case !d.confirmed && now.Sub(d.released) > m.cfg.Timeout:
			// Whatever it recorded between its release and now, had
			// it lived, its heartbeat would have been heard.
			d.confirmed, d.releasing = true, true
			release = append(release, id)
		case now.Sub(d.released) > forgetAfter:
			delete(m.dead, id)
		}
	}
	if !now.Before(m.nextSweep) {
		m.nextSweep = now.Add(max(sweepEvery, 12*m.cfg.Timeout))
		sweep = true
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sweep releases the nodes that hold devices in the store and that this
// node does not hear: released ones that recorded devices since, and those
// that died while no node watched. The last heartbeat of those is
// unknown; since this node listens, they were not heard, so that time is
// their last seen.
func (m *Monitor) sweep() {
	ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
	defer cancel()
	nodes, err := m.st.HolderNodes(ctx)
	if err != nil {
		m.log.Warn("liveness: listing the nodes that hold devices failed", "err", err)
		m.mu.Lock()
		m.nextSweep = time.Time{} // again at the next tick
		m.mu.Unlock()
		return
	}
	var release []string
	m.mu.Lock()
	for _, id := range nodes {
		if id == m.cfg.Node || m.peers[id] != nil {
			continue
		}
		switch d := m.dead[id]; {
		case d == nil:
			m.dead[id] = &deadNode{lastSeen: m.listening, releasing: true}
		case d.releasing:
			continue
		default:
			d.releasing, d.failed = true, false
		}
		release = append(release, id)
	}
	m.mu.Unlock()
	for _, id := range release {
		m.release(id)
	}
}

// release takes id's devices from it in the store and announces offline
// those not connected anywhere now. Every node that took id for dead gets
// here; the store hands each device to one of them.
func (m *Monitor) release(id string) {
	m.mu.Lock()
	dn := m.dead[id]
	if dn == nil {
		m.mu.Unlock()
		return
	}
	d := *dn
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
	defer cancel()
	devs, err := m.st.ReleaseNode(ctx, id, d.lastSeen)
	if err != nil {
		m.log.Warn("liveness: releasing a silent node failed; trying again", "node", id, "err", err)
		m.mu.Lock()
		if dn := m.dead[id]; dn != nil {
			dn.releasing, dn.failed = false, true
			if dn.heard {
				// It lives: nothing to release.
				delete(m.dead, id)
			}
		}
		m.mu.Unlock()
		return
	}
	offline := 0
	if len(devs) > 0 {
		offline = m.pres.Gone(ctx, devs, d.lastSeen)
	}
	if d.released.IsZero() || len(devs) > 0 {
		m.log.Info("liveness: node gone", "node", id, "name", d.name, "last_heartbeat", d.lastSeen,
			"devices_released", len(devs), "accounts_offline", offline)
	}
	m.mu.Lock()
	heard, took := false, 0
	if dn := m.dead[id]; dn != nil {
		dn.releasing, dn.released = false, time.Now()
		dn.took += len(devs)
		took = dn.took
		if heard = dn.heard; heard {
			delete(m.dead, id)
		}
	}
	m.mu.Unlock()
	if heard && took > 0 {
		m.log.Warn("liveness: a node taken for dead is heard again", "node", id, "name", d.name)
	}
	if len(devs) > 0 || heard && took > 0 {
		// If id only stalled, the notice waits in its connection and
		// reaches it when it runs again; if it was cut off, it is sent
		// again when its heartbeat is heard anew.
		m.notify(id)
	}
}

// notify tells node id that its devices were released.
func (m *Monitor) notify(id string) {
	data, err := proto.Marshal(&buspb.NodeReleased{Node: id})
	if err == nil {
		err = m.bus.Publish(bus.NodeReleasedSubject, data)
	}
	if err != nil {
		m.log.Warn("liveness: release notice not sent", "node", id, "err", err)
	}
}

func (m *Monitor) onHeartbeat(msg *nats.Msg) {
	var hb buspb.NodeHeartbeat
	if err := proto.Unmarshal(msg.Data, &hb); err != nil || hb.Node == "" {
		m.log.Warn("liveness: undecodable heartbeat", "err", err)
		return
	}
	if hb.Node == m.cfg.Node {
		return
	}
	now := time.Now()
	sent := time.UnixMilli(hb.SentMs)
	m.mu.Lock()
	if hb.Stopping {
		// A graceful stop closed its connections; whatever it could not
		// record offline is released now rather than after the timeout.
		delete(m.peers, hb.Node)
		release := m.dead[hb.Node] == nil
		if release {
			m.dead[hb.Node] = &deadNode{name: hb.Name, lastSeen: sent, releasing: true}
		}
		m.mu.Unlock()
		if release {
			m.wg.Go(func() { m.release(hb.Node) })
		}
		return
	}
	notify := false
	if d := m.dead[hb.Node]; d != nil {
		switch {
		case d.releasing:
			d.heard = true // release tells it once done
		case d.failed:
			delete(m.dead, hb.Node) // it lives: nothing to release
		default:
			delete(m.dead, hb.Node)
			notify = d.took > 0
		}
	}
	p := m.peers[hb.Node]
	if p == nil {
		p = &peer{name: hb.Name}
		m.peers[hb.Node] = p
		m.log.Info("liveness: node heard", "node", hb.Node, "name", hb.Name)
	}
	p.heard = now
	if sent.After(p.sent) {
		p.sent = sent
	}
	m.mu.Unlock()
	if notify {
		m.log.Warn("liveness: a node taken for dead is heard again", "node", hb.Node, "name", hb.Name)
		m.notify(hb.Node)
	}
}

func (m *Monitor) onReleased(msg *nats.Msg) {
	var n buspb.NodeReleased
	if err := proto.Unmarshal(msg.Data, &n); err != nil || n.Node != m.cfg.Node {
		return
	}
	m.log.Warn("liveness: another node took this one for dead; announcing its connections again")
	m.reannounceLater()
}

// reannounceLater asks the reannouncer for a round; rounds asked for while
// one is due make one.
func (m *Monitor) reannounceLater() {
	select {
	case m.again <- struct{}{}:
	default:
	}
}

func (m *Monitor) reannouncer() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.again:
		}
		if m.cfg.Reannounce == nil {
			continue
		}
		start := time.Now()
		n := m.cfg.Reannounce(m.ctx)
		m.log.Info("liveness: connections announced again", "connections", n, "took", time.Since(start).Round(time.Millisecond))
	}
}
