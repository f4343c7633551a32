// Package mailbox is store-and-forward for opaque envelopes, one queue per
// destination device. An envelope is durable before its sender hears
// "accepted": sends from every connection of a node are gathered into one
// transaction (group commit), so one fsync carries many messages. After the
// commit each envelope is published on the bus, where the node holding the
// device's connection pushes it; a device that is offline finds it queued.
// The device acks, and the envelope is deleted: the server keeps nothing
// that has been delivered, and nothing longer than the TTL.
package mailbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Errors the gateway turns into wire error codes.
var (
	ErrInvalid     = errors.New("mailbox: invalid message")
	ErrNoAccount   = errors.New("mailbox: no such account")
	ErrMailboxFull = errors.New("mailbox: a destination mailbox is full")
	ErrClosed      = errors.New("mailbox: shutting down")
	// ErrGroupChanged: the group's membership moved on between the check
	// of a group message and its commit.
	ErrGroupChanged = errors.New("mailbox: the group changed")
)

// MismatchedError says how the envelopes differ from the destination's
// devices, so the sender can fix its device list and send again.
type MismatchedError struct {
	Missing, Extra, Stale []types.DeviceID
}

func (e *MismatchedError) Error() string {
	return fmt.Sprintf("mailbox: mismatched devices (missing %v, extra %v, stale %v)", e.Missing, e.Extra, e.Stale)
}

// FullError lists the devices whose mailbox is full.
type FullError struct{ Devices []types.DeviceID }

func (e *FullError) Error() string { return fmt.Sprintf("mailbox: full for devices %v", e.Devices) }
func (e *FullError) Unwrap() error { return ErrMailboxFull }

// Limits on one Send.
const (
	MaxEnvelopesPerSend = 64
)

// Config tunes the service; zero values take the defaults noted.
type Config struct {
	MaxQueue    int           // per device; default 50 000
	TTL         time.Duration // default 30 days
	DedupWindow time.Duration // default 7 days
	// Writers is how many group-commit transactions may run at once: 1 for
	// SQLite (one writer anyway), a few for PostgreSQL. Default 1.
	Writers int
	// MaxBatch bounds the sends in one transaction. Default 512.
	MaxBatch int
	// SweepEvery is how often expired envelopes are removed. Default 1 minute.
	SweepEvery time.Duration
	Now        func() time.Time
}

func (c *Config) defaults() {
	if c.MaxQueue == 0 {
		c.MaxQueue = 50_000
	}
	if c.TTL == 0 {
		c.TTL = 30 * 24 * time.Hour
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = 7 * 24 * time.Hour
	}
	if c.Writers == 0 {
		c.Writers = 1
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 512
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Publisher is the part of the bus the mailbox needs.
type Publisher interface {
	Publish(subject string, data []byte) error
}

// Metrics observes the mailbox; nil fields are skipped.
type Metrics struct {
	Appended  func(n int)           // envelopes stored
	Batch     func(sends int)       // sends per transaction
	CommitDur func(d time.Duration) // one group commit
	Deleted   func(n int)
	Expired   func(n int)
}

// Service is the mailbox of one node.
type Service struct {
	st  store.Store
	pub Publisher
	cfg Config
	m   Metrics
	log *slog.Logger

	appends *committer[*store.Append]
	deletes *committer[store.Deletion]
	stop    chan struct{}
	sweeper sync.WaitGroup
}

// New starts the service's writers and expiry sweeper.
func New(st store.Store, pub Publisher, cfg Config, m Metrics, log *slog.Logger) *Service {
	cfg.defaults()
	s := &Service{st: st, pub: pub, cfg: cfg, m: m, log: log, stop: make(chan struct{})}
	s.appends = newCommitter(cfg.Writers, cfg.MaxBatch, s.commit)
	s.deletes = newCommitter(cfg.Writers, cfg.MaxBatch, s.commitDeletes)
	s.sweeper.Add(1)
	go s.sweep()
	return s
}

// Outgoing is one Send as the gateway decoded it.
type Outgoing struct {
	MessageID   types.MessageID
	Destination types.AccountID
	Envelopes   []OutEnvelope
	ClientTime  time.Time
	Ephemeral   bool
}

// OutEnvelope is the envelope for one destination device.
type OutEnvelope struct {
	Device         types.DeviceID
	RegistrationID uint32 // 0: the sender does not claim one
	Type           uint32
	Content        []byte
}

// Send checks msg against the destination's devices and stores it; it
// returns once the envelopes are durable (or, for ephemeral messages,
// published). duplicate is true when the same message was accepted before.
func (s *Service) Send(ctx context.Context, from types.Address, msg Outgoing) (duplicate bool, err error) {
	wait, err := s.Submit(ctx, from, msg)
	if err != nil {
		return false, err
	}
	return wait()
}

// Submit checks msg and queues it for the next group commit, returning a
// function that waits for the outcome. Sends submitted one after another
// are committed in that order, so a connection can pipeline its sends and
// still have them delivered in the order it made them.
func (s *Service) Submit(ctx context.Context, from types.Address, msg Outgoing) (wait func() (duplicate bool, err error), err error) {
	if len(msg.Envelopes) == 0 || len(msg.Envelopes) > MaxEnvelopesPerSend {
		return nil, fmt.Errorf("%w: a send carries 1 to %d envelopes", ErrInvalid, MaxEnvelopesPerSend)
	}
	for _, e := range msg.Envelopes {
		if len(e.Content) == 0 {
			return nil, fmt.Errorf("%w: empty envelope for device %d", ErrInvalid, e.Device)
		}
		switch wirepb.EnvelopeType(e.Type) {
		case wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT, wirepb.EnvelopeType_ENVELOPE_TYPE_PREKEY_MESSAGE,
			wirepb.EnvelopeType_ENVELOPE_TYPE_SEALED_SENDER, wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY,
			wirepb.EnvelopeType_ENVELOPE_TYPE_PLAINTEXT:
		default:
			return nil, fmt.Errorf("%w: unknown envelope type %d", ErrInvalid, e.Type)
		}
	}
	devs, err := s.st.Devices(ctx, msg.Destination)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoAccount
	}
	if err != nil {
		return nil, err
	}
	if err := matchDevices(from, msg, devs); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	if msg.Ephemeral {
		for _, e := range msg.Envelopes {
			s.publish(types.Address{Account: msg.Destination, Device: e.Device}, &wirepb.Envelope{
				MessageId: msg.MessageID[:], SenderAccount: from.Account[:], SenderDevice: uint32(from.Device),
				Type: wirepb.EnvelopeType(e.Type), Content: e.Content, ClientTimeMs: msg.ClientTime.UnixMilli(),
				ServerTimeMs: now.UnixMilli(), Ephemeral: true,
			})
		}
		return func() (bool, error) { return false, nil }, nil
	}
	a := &store.Append{Sender: from, MessageID: msg.MessageID, Destination: msg.Destination}
	for _, e := range msg.Envelopes {
		a.Envelopes = append(a.Envelopes, store.Envelope{
			Account: msg.Destination, Device: e.Device, MessageID: msg.MessageID, Sender: from,
			Type: e.Type, Content: e.Content, ClientTime: msg.ClientTime, ServerTime: now,
			ExpiresAt: now.Add(s.cfg.TTL),
		})
	}
	done, err := s.appends.submitErr(ctx, a)
	if err != nil {
		return nil, err
	}
	// Once queued, the request is committed or failed by the writer even if
	// ctx ends: the wait has no context, so "accepted" is never a guess.
	return func() (bool, error) {
		<-done
		switch {
		case a.Err == nil:
			return a.Duplicate, nil
		case errors.Is(a.Err, store.ErrMailboxFull):
			return false, &FullError{Devices: a.FullDevices}
		case errors.Is(a.Err, store.ErrNotFound):
			// A destination device went away between the check and the commit.
			return false, &MismatchedError{Extra: deviceIDs(msg.Envelopes)}
		default:
			return false, a.Err
		}
	}, nil
}

func deviceIDs(es []OutEnvelope) []types.DeviceID {
	out := make([]types.DeviceID, 0, len(es))
	for _, e := range es {
		out = append(out, e.Device)
	}
	return out
}

// matchDevices checks that msg has exactly one envelope for every device of
// the destination, leaving out the sending device itself.
func matchDevices(from types.Address, msg Outgoing, devs []store.Device) error {
	want := make(map[types.DeviceID]uint32, len(devs))
	for _, d := range devs {
		if msg.Destination == from.Account && d.ID == from.Device {
			continue
		}
		want[d.ID] = d.RegistrationID
	}
	var mm MismatchedError
	seen := make(map[types.DeviceID]bool, len(msg.Envelopes))
	for _, e := range msg.Envelopes {
		if seen[e.Device] {
			return fmt.Errorf("%w: two envelopes for device %d", ErrInvalid, e.Device)
		}
		seen[e.Device] = true
		reg, ok := want[e.Device]
		switch {
		case !ok:
			mm.Extra = append(mm.Extra, e.Device)
		case e.RegistrationID != 0 && e.RegistrationID != reg:
			mm.Stale = append(mm.Stale, e.Device)
		}
	}
	for id := range want {
		if !seen[id] {
			mm.Missing = append(mm.Missing, id)
		}
	}
	if len(mm.Missing)+len(mm.Extra)+len(mm.Stale) == 0 {
		return nil
	}
	slices.Sort(mm.Missing)
	slices.Sort(mm.Extra)
	slices.Sort(mm.Stale)
	return &mm
}

// commit stores one group of sends and publishes what it stored. Each
// Append carries its own outcome; a failed batch sets every one's Err.
func (s *Service) commit(batch []*store.Append) error {
	start := time.Now()
	// The batch must not die with one caller's context: others wait on it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.st.Append(ctx, batch, s.cfg.MaxQueue, s.cfg.DedupWindow, s.cfg.Now())
	if s.m.CommitDur != nil {
		s.m.CommitDur(time.Since(start))
	}
	if s.m.Batch != nil {
		s.m.Batch(len(batch))
	}
	if err != nil {
		s.log.Error("mailbox commit failed", "sends", len(batch), "err", err)
		for _, a := range batch {
			a.Err = err
		}
		return nil
	}
	n := 0
	for _, a := range batch {
		if a.Fanout != nil {
			if a.Err == nil && !a.Duplicate {
				n += s.publishFanout(a.Fanout)
			}
			// A duplicate's devices are told to rescan by the waiter, which
			// knows them.
			continue
		}
		if a.Duplicate {
			// A resend of a message stored before. The first attempt may
			// have been committed and still reported as failed (the
			// database died between its commit and its answer), in which
			// case nothing was published: the destination devices look in
			// their mailboxes rather than wait for their next connection.
			for i := range a.Envelopes {
				e := &a.Envelopes[i]
				s.publishEvent(types.Address{Account: e.Account, Device: e.Device}, &buspb.Event{Body: &buspb.Event_Rescan{Rescan: &buspb.Rescan{}}})
			}
			continue
		}
		if a.Err != nil {
			continue
		}
		for i := range a.Envelopes {
			e := &a.Envelopes[i]
			n++
			s.publish(types.Address{Account: e.Account, Device: e.Device}, WireEnvelope(e))
		}
	}
	if s.m.Appended != nil {
		s.m.Appended(n)
	}
	return nil
}

// publish tells the node holding the device about the envelope. A lost
// notice delays nothing for long: the device drains its mailbox whenever it
// connects, and stored envelopes wait there.
func (s *Service) publish(to types.Address, e *wirepb.Envelope) {
	s.publishEvent(to, &buspb.Event{Body: &buspb.Event_Deliver{Deliver: e}})
}

func (s *Service) publishEvent(to types.Address, ev *buspb.Event) {
	data, err := proto.Marshal(ev)
	if err == nil {
		err = s.pub.Publish(bus.DeviceSubject(to), data)
	}
	if err != nil {
		s.log.Warn("mailbox publish failed", "account_id", to.Account, "device_id", to.Device, "err", err)
	}
}

// WireEnvelope is the wire form of a stored envelope. An envelope from the
// server itself (a group event) has empty sender fields.
func WireEnvelope(e *store.Envelope) *wirepb.Envelope {
	w := &wirepb.Envelope{
		Id: e.ID, MessageId: e.MessageID[:], SenderAccount: e.Sender.Account[:], SenderDevice: uint32(e.Sender.Device),
		Type: wirepb.EnvelopeType(e.Type), Content: e.Content, ClientTimeMs: e.ClientTime.UnixMilli(),
		ServerTimeMs: e.ServerTime.UnixMilli(),
	}
	if e.Sender.Account.IsZero() {
		w.SenderAccount = nil
	}
	if e.ClientTime.IsZero() {
		w.ClientTimeMs = 0
	}
	if !e.Group.IsZero() {
		w.GroupId = e.Group[:]
	}
	return w
}

// Fetch returns queued envelopes of a device with ids above after, in order.
func (s *Service) Fetch(ctx context.Context, a types.Address, after uint64, limit int) ([]store.Envelope, error) {
	return s.st.Fetch(ctx, a.Account, a.Device, after, limit)
}

// Ack deletes envelopes the device has stored, together with the acks of
// other devices in one transaction. The gateway has checked that they were
// delivered to this device.
func (s *Service) Ack(ctx context.Context, a types.Address, ids []uint64) error {
	done, err := s.deletes.submitErr(ctx, store.Deletion{Account: a.Account, Device: a.Device, IDs: ids})
	if err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) commitDeletes(batch []store.Deletion) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.st.DeleteBatch(ctx, batch)
	if err != nil {
		s.log.Error("mailbox delete failed", "acks", len(batch), "err", err)
		return err
	}
	if s.m.Deleted != nil {
		s.m.Deleted(n)
	}
	return nil
}

// QueueLength is how many envelopes wait for the device.
func (s *Service) QueueLength(ctx context.Context, a types.Address) (int, error) {
	return s.st.QueueLength(ctx, a.Account, a.Device)
}

func (s *Service) sweep() {
	defer s.sweeper.Done()
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep(context.Background())
		}
	}
}

// Sweep removes expired envelopes now.
func (s *Service) Sweep(ctx context.Context) {
	const limit = 10_000
	for {
		n, err := s.st.Expire(ctx, s.cfg.Now(), limit)
		if err != nil {
			s.log.Warn("mailbox expiry failed", "err", err)
			return
		}
		if n > 0 {
			s.log.Info("expired undelivered envelopes", "count", n)
			if s.m.Expired != nil {
				s.m.Expired(n)
			}
		}
		if n < limit {
			return
		}
	}
}

// Close stops taking sends and acks, commits every one already taken, and stops.
func (s *Service) Close() {
	if !s.appends.close() {
		return
	}
	s.deletes.close()
	close(s.stop)
	s.sweeper.Wait()
}
