package clustertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Device is a registered device speaking the wire protocol to one node at
// a time. It acks every envelope it gets, as a client stores and acks, and
// keeps a record of what arrived so a test can tell lost from duplicated:
// an envelope that comes again after the server confirmed its ack, or a
// message stored under two envelope ids, is a violation.
type Device struct {
	*testserver.Device

	t testing.TB

	mu        sync.Mutex
	conn      *transport.Conn
	node      *Node
	got       map[string]int             // content -> deliveries
	ids       map[types.MessageID]uint64 // message id -> the envelope id it came as
	confirmed map[uint64]bool            // envelope ids whose ack the server confirmed
	violation []string                   // what must never happen
	changed   chan struct{}              // closed and replaced on every delivery
	signals   chan *wirepb.ServerFrame   // presence, typing, queue-empty
	queueDone map[*transport.Conn]chan struct{}
}

// Register registers a new account on node and keeps its primary device
// connected there.
func Register(t testing.TB, node *Node) *Device {
	t.Helper()
	c := dial(t, node)
	d := &Device{
		Device: testserver.Register(t, c), t: t,
		got: map[string]int{}, ids: map[types.MessageID]uint64{}, confirmed: map[uint64]bool{},
		changed: make(chan struct{}), signals: make(chan *wirepb.ServerFrame, 1024),
		queueDone: map[*transport.Conn]chan struct{}{},
	}
	d.attach(c, node)
	return d
}

func dial(t testing.TB, node *Node) *transport.Conn {
	t.Helper()
	c, err := tryDial(node)
	if err != nil {
		t.Fatalf("dial %s: %v", node.Name, err)
	}
	return c
}

func tryDial(node *Node) (*transport.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return transport.Dial(ctx, node.URL, nil)
}

// Connect moves the device to node: a new connection, authenticated, that
// drains the mailbox. It fails the test if node does not take it.
func (d *Device) Connect(node *Node) {
	d.t.Helper()
	if err := d.TryConnect(node); err != nil {
		d.t.Fatalf("connect %s to %s: %v", d.Addr, node.Name, err)
	}
}

// TryConnect is Connect returning the error.
func (d *Device) TryConnect(node *Node) error {
	c, err := tryDial(node)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Authenticate(ctx, d.Addr, d.AuthKey); err != nil {
		c.Close()
		return err
	}
	d.mu.Lock()
	old := d.conn
	d.mu.Unlock()
	if old != nil {
		old.Close()
	}
	d.attach(c, node)
	return nil
}

// Reconnect connects to the first of nodes that takes the device, trying
// again until within has passed, as a client with a list of servers does.
func (d *Device) Reconnect(within time.Duration, nodes ...*Node) *Node {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, n := range nodes {
			if err := d.TryConnect(n); err == nil {
				return n
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("device %s could not reconnect within %v", d.Addr, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *Device) attach(c *transport.Conn, node *Node) {
	qe := make(chan struct{})
	d.mu.Lock()
	d.conn, d.node = c, node
	d.queueDone[c] = qe
	d.mu.Unlock()
	go d.receive(c, qe)
}

// Conn is the device's current connection.
func (d *Device) Conn() *transport.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn
}

// Node is the node the device is connected to.
func (d *Device) Node() *Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.node
}

// receive records the deliveries of one connection and acks them.
func (d *Device) receive(c *transport.Conn, queueEmpty chan struct{}) {
	onConn := map[uint64]bool{}
	for f := range c.Events() {
		if qe := f.GetQueueEmpty(); qe != nil {
			select {
			case <-queueEmpty:
			default:
				close(queueEmpty)
			}
		}
		envs := f.GetDeliver().GetEnvelopes()
		if len(envs) == 0 {
			select {
			case d.signals <- f:
			default:
			}
			continue
		}
		ids := make([]uint64, 0, len(envs))
		d.mu.Lock()
		for _, e := range envs {
			mid, _ := types.MessageIDFromBytes(e.MessageId)
			switch {
			case d.confirmed[e.Id]:
				d.violation = append(d.violation, fmt.Sprintf("envelope %d (%q) delivered again after its ack was confirmed", e.Id, e.Content))
			case onConn[e.Id]:
				d.violation = append(d.violation, fmt.Sprintf("envelope %d (%q) pushed twice on one connection", e.Id, e.Content))
			}
			if prev, ok := d.ids[mid]; ok && prev != e.Id && !e.Ephemeral {
				d.violation = append(d.violation, fmt.Sprintf("message %q stored twice, as envelopes %d and %d", e.Content, prev, e.Id))
			}
			if e.Id != 0 {
				onConn[e.Id] = true
				d.ids[mid] = e.Id
				ids = append(ids, e.Id)
			}
			d.got[string(e.Content)]++
		}
		close(d.changed)
		d.changed = make(chan struct{})
		d.mu.Unlock()
		if len(ids) > 0 {
			go d.ack(c, ids)
		}
	}
}

func (d *Device) ack(c *transport.Conn, ids []uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ids}}}); err != nil {
		return // not confirmed: the server may deliver them again, and may
	}
	d.mu.Lock()
	for _, id := range ids {
		d.confirmed[id] = true
	}
	d.mu.Unlock()
}

// WaitQueueEmpty waits for the current connection's QueueEmpty.
func (d *Device) WaitQueueEmpty(within time.Duration) {
	d.t.Helper()
	d.mu.Lock()
	qe := d.queueDone[d.conn]
	d.mu.Unlock()
	select {
	case <-qe:
	case <-time.After(within):
		d.t.Fatalf("device %s: no QueueEmpty within %v", d.Addr, within)
	}
}

// Count is how many times content was delivered.
func (d *Device) Count(content string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got[content]
}

// WaitFor waits until every one of contents has arrived, and fails the
// test naming those missing after within.
func (d *Device) WaitFor(within time.Duration, contents ...string) {
	d.t.Helper()
	if missing := d.waitFor(within, contents); len(missing) > 0 {
		d.t.Fatalf("device %s: %d of %d messages did not arrive within %v, first %q", d.Addr, len(missing), len(contents), within, missing[0])
	}
}

func (d *Device) waitFor(within time.Duration, contents []string) (missing []string) {
	deadline := time.After(within)
	for {
		d.mu.Lock()
		missing = missing[:0]
		for _, c := range contents {
			if d.got[c] == 0 {
				missing = append(missing, c)
			}
		}
		ch := d.changed
		d.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return missing
		}
	}
}

// Violations returns what the device saw that must never happen.
func (d *Device) Violations() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.violation...)
}

// Signal waits for a pushed frame that match accepts.
func (d *Device) Signal(within time.Duration, match func(*wirepb.ServerFrame) bool) *wirepb.ServerFrame {
	d.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f := <-d.signals:
			if match(f) {
				return f
			}
		case <-deadline:
			d.t.Fatalf("device %s: the expected signal did not arrive within %v", d.Addr, within)
			return nil
		}
	}
}

// SendFrame is a one-envelope Send of content to device 1 of to, the only
// device the test accounts have.
func SendFrame(to *Device, mid types.MessageID, content string) *wirepb.ClientFrame {
	return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: &wirepb.Send{
		MessageId: mid[:], Destination: to.Addr.Account[:],
		Envelopes: []*wirepb.OutgoingEnvelope{{DeviceId: uint32(to.Addr.Device), Type: wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT, Content: []byte(content)}},
	}}}
}

// Send sends content to to over the device's current connection and
// returns once the server accepted it (SendResult) or refused it.
func (d *Device) Send(ctx context.Context, to *Device, mid types.MessageID, content string) error {
	_, err := d.Conn().Call(ctx, SendFrame(to, mid, content))
	return err
}

// MustSend sends and fails the test unless the server accepts.
func (d *Device) MustSend(to *Device, content string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Send(ctx, to, types.NewMessageID(), content); err != nil {
		d.t.Fatalf("send %q: %v", content, err)
	}
}

// Call sends a request on the current connection.
func (d *Device) Call(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.Conn().Call(ctx, f)
}

// Close ends the device's connection.
func (d *Device) Close() {
	if c := d.Conn(); c != nil {
		c.Close()
	}
}
