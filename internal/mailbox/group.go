package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// GroupOutgoing is one SendGroup as the group service checked it: the
// sender is a member, may send, and knows the group's devices as of Seq.
type GroupOutgoing struct {
	Group     types.GroupID
	Seq       uint64 // the head at which Members and Devices were read
	MessageID types.MessageID
	Members   []types.AccountID
	// Devices are the member devices but the sender's: an ephemeral
	// message goes to those online, and a resend found to be a duplicate
	// makes them look in their mailboxes.
	Devices    []types.Address
	Content    []byte
	ClientTime time.Time
	Ephemeral  bool
}

// MaxGroupContent bounds one group message; the frame limit bounds it too.
const MaxGroupContent = 128 << 10

// SubmitGroup queues a group message for the next group commit, stored
// once for every member device but the sender's, and returns a function
// that waits for the outcome. Like Submit, a connection's submissions are
// committed in the order it made them, group and pairwise alike.
func (s *Service) SubmitGroup(ctx context.Context, from types.Address, m GroupOutgoing) (wait func() (duplicate bool, err error), err error) {
	if len(m.Content) == 0 || len(m.Content) > MaxGroupContent {
		return nil, fmt.Errorf("%w: a group message carries 1 to %d bytes", ErrInvalid, MaxGroupContent)
	}
	now := s.cfg.Now()
	e := store.Envelope{
		MessageID: m.MessageID, Sender: from, Type: uint32(wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY),
		Content: m.Content, ClientTime: m.ClientTime, ServerTime: now, ExpiresAt: now.Add(s.cfg.TTL), Group: m.Group,
	}
	if m.Ephemeral {
		w := WireEnvelope(&e)
		w.Ephemeral = true
		frame := deliverEncoder(w)
		for _, to := range m.Devices {
			s.publishRaw(to, frame(0))
		}
		return func() (bool, error) { return false, nil }, nil
	}
	a := &store.Append{Sender: from, MessageID: m.MessageID, Fanout: &store.Fanout{
		Group: m.Group, Seq: m.Seq, Accounts: m.Members, Except: from, Envelope: e,
	}}
	done, err := s.appends.submitErr(ctx, a)
	if err != nil {
		return nil, err
	}
	return func() (bool, error) {
		<-done
		switch {
		case a.Err == nil && a.Duplicate:
			// As in commit: the first attempt may have been stored and
			// reported as failed, unpublished.
			for _, to := range m.Devices {
				s.publishEvent(to, &buspb.Event{Body: &buspb.Event_Rescan{Rescan: &buspb.Rescan{}}})
			}
			return true, nil
		case a.Err == nil:
			if n := len(a.Fanout.Full); n > 0 {
				s.log.Warn("group message left out full mailboxes", "group", m.Group, "devices", n)
			}
			return false, nil
		case errors.Is(a.Err, store.ErrConflict), errors.Is(a.Err, store.ErrNotFound):
			return false, ErrGroupChanged
		default:
			return false, a.Err
		}
	}, nil
}

// GroupChange appends a group event with the state it leads to, and
// delivers the event to every device of notify (the members before and
// after it) as an ENVELOPE_TYPE_GROUP_EVENT envelope from the server,
// stored once and in the same transaction as the event. msg is the
// envelope's message id. It returns store.ErrConflict if the head moved.
func (s *Service) GroupChange(ctx context.Context, ch *store.GroupChange, msg types.MessageID, notify []types.AccountID) error {
	now := s.cfg.Now()
	ch.Notify = &store.Append{MessageID: msg, Fanout: &store.Fanout{
		Group: ch.Next.ID, Accounts: notify,
		Envelope: store.Envelope{
			MessageID: msg, Type: uint32(wirepb.EnvelopeType_ENVELOPE_TYPE_GROUP_EVENT), Content: ch.Event,
			ServerTime: now, ExpiresAt: now.Add(s.cfg.TTL), Group: ch.Next.ID,
		},
	}}
	start := time.Now()
	err := s.st.AppendGroupEvent(ctx, ch, s.cfg.MaxQueue, now)
	if s.m.CommitDur != nil {
		s.m.CommitDur(time.Since(start))
	}
	if err != nil {
		return err
	}
	n := s.publishFanout(ch.Notify.Fanout)
	if s.m.Appended != nil {
		s.m.Appended(n)
	}
	return nil
}

// publishFanout tells the nodes holding the devices about their deliveries
// and returns how many there were. The envelope is encoded once: each
// device's notice is that encoding behind its own id.
func (s *Service) publishFanout(f *store.Fanout) int {
	if len(f.Deliveries) == 0 {
		return 0
	}
	e := f.Envelope
	frame := deliverEncoder(WireEnvelope(&e))
	for _, d := range f.Deliveries {
		s.publishRaw(d.To, frame(d.ID))
	}
	return len(f.Deliveries)
}

func (s *Service) publishRaw(to types.Address, data []byte) {
	if err := s.pub.Publish(bus.DeviceSubject(to), data); err != nil {
		s.log.Warn("mailbox publish failed", "account_id", to.Account, "device_id", to.Device, "err", err)
	}
}

// deliverEncoder encodes a buspb.Event delivering w once, and returns a
// function that makes the event for one envelope id from it. Protobuf
// decoders take fields in any order, so the id may precede the rest.
func deliverEncoder(w *wirepb.Envelope) func(id uint64) []byte {
	w.Id = 0
	rest, err := proto.Marshal(w)
	if err != nil {
		// A wirepb.Envelope of bytes and numbers always encodes.
		panic(fmt.Sprintf("mailbox: encoding an envelope: %v", err))
	}
	const deliverField, idField = 1, 1 // buspb.Event.deliver, wirepb.Envelope.id
	return func(id uint64) []byte {
		n := len(rest)
		if id != 0 {
			n += protowire.SizeTag(idField) + protowire.SizeVarint(id)
		}
		b := make([]byte, 0, n+protowire.SizeTag(deliverField)+protowire.SizeVarint(uint64(n)))
		b = protowire.AppendTag(b, deliverField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		if id != 0 {
			b = protowire.AppendTag(b, idField, protowire.VarintType)
			b = protowire.AppendVarint(b, id)
		}
		return append(b, rest...)
	}
}
