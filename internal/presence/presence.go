// Package presence answers "is this person online, and when were they last
// seen?" and relays typing, as the account's privacy settings allow.
// Online state and typing are never stored: online means some node holds a
// connection of the account right now, which that node answers on the bus.
// Only the last-seen time is kept, as WhatsApp keeps it.
package presence

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// MaxContacts bounds one contact list upload.
const MaxContacts = 10_000

// ErrTooMany is returned for a contact list over MaxContacts.
var ErrTooMany = errors.New("presence: too many contacts")

// Bus is what presence needs of the bus.
type Bus interface {
	Publish(subject string, data []byte) error
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
}

// Service is presence for one node.
type Service struct {
	st  store.Store
	bus Bus
	log *slog.Logger
	now func() time.Time
}

// New returns a presence service.
func New(st store.Store, b Bus, log *slog.Logger) *Service {
	return &Service{st: st, bus: b, log: log, now: time.Now}
}

func (s *Service) publish(subject string, ev *buspb.Event) {
	data, err := proto.Marshal(ev)
	if err == nil {
		err = s.bus.Publish(subject, data)
	}
	if err != nil {
		s.log.Warn("presence publish failed", "err", err)
	}
}

// Online records that a device connected and tells subscribers.
func (s *Service) Online(ctx context.Context, a types.Address) {
	now := s.now()
	if err := s.st.SetLastSeen(ctx, a.Account, a.Device, now); err != nil {
		s.log.Warn("last seen update failed", "account_id", a.Account, "err", err)
	}
	s.publish(bus.PresenceSubject(a.Account), &buspb.Event{Body: &buspb.Event_Presence{Presence: &wirepb.PresenceEvent{
		Account: a.Account[:], Online: true, LastSeenMs: now.UnixMilli(),
	}}})
}

// Offline records that a device disconnected. If no other device of the
// account is connected anywhere, subscribers learn the account went offline.
// The caller must have stopped answering probes for this connection.
func (s *Service) Offline(ctx context.Context, a types.Address) {
	now := s.now()
	if err := s.st.SetLastSeen(ctx, a.Account, a.Device, now); err != nil {
		s.log.Warn("last seen update failed", "account_id", a.Account, "err", err)
	}
	if s.online(ctx, a.Account) {
		return
	}
	s.publish(bus.PresenceSubject(a.Account), &buspb.Event{Body: &buspb.Event_Presence{Presence: &wirepb.PresenceEvent{
		Account: a.Account[:], Online: false, LastSeenMs: now.UnixMilli(),
	}}})
}

// online asks the nodes whether any holds a connection of acct. No node
// answering at all is the common "offline" and takes no time.
func (s *Service) online(ctx context.Context, acct types.AccountID) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err := s.bus.Request(ctx, bus.ProbeSubject(acct), nil)
	return err == nil
}

// Visible reports whether viewer may see target's presence.
func (s *Service) Visible(ctx context.Context, viewer, target types.AccountID) (bool, error) {
	if viewer == target {
		return true, nil
	}
	p, err := s.st.PrivacySettings(ctx, target)
	if err != nil {
		return false, err
	}
	switch p.LastSeen {
	case store.VisibleEveryone:
		return true, nil
	case store.VisibleContacts:
		return s.st.IsContact(ctx, target, viewer)
	default:
		return false, nil
	}
}

// State is target's presence as viewer may see it. An account that does not
// exist looks exactly like one that hides its presence, so presence cannot
// be used to probe which accounts exist.
func (s *Service) State(ctx context.Context, viewer, target types.AccountID) (*wirepb.PresenceEvent, error) {
	ev := &wirepb.PresenceEvent{Account: target[:]}
	ok, err := s.Visible(ctx, viewer, target)
	if err != nil {
		return nil, err
	}
	if !ok {
		ev.Hidden = true
		return ev, nil
	}
	acc, err := s.st.Account(ctx, target)
	if errors.Is(err, store.ErrNotFound) {
		ev.Hidden = true
		return ev, nil
	}
	if err != nil {
		return nil, err
	}
	ev.Online = s.online(ctx, target)
	if !acc.LastSeen.IsZero() {
		ev.LastSeenMs = acc.LastSeen.UnixMilli()
	}
	return ev, nil
}

// Typing relays a typing signal to every device of to.
func (s *Service) Typing(from types.Address, to types.AccountID, started bool) {
	s.publish(bus.AccountSubject(to), &buspb.Event{Body: &buspb.Event_Typing{Typing: &wirepb.TypingEvent{
		From: from.Account[:], FromDevice: uint32(from.Device), Started: started,
	}}})
}

// SetPrivacy changes who sees acct's presence and tells current subscribers
// to ask again.
func (s *Service) SetPrivacy(ctx context.Context, acct types.AccountID, v store.Visibility, contacts []types.AccountID, setContacts bool) error {
	if setContacts && len(contacts) > MaxContacts {
		return ErrTooMany
	}
	if err := s.st.SetVisibility(ctx, acct, v); err != nil {
		return err
	}
	if setContacts {
		if err := s.st.SetContacts(ctx, acct, contacts); err != nil {
			return err
		}
	}
	s.publish(bus.PresenceSubject(acct), &buspb.Event{Body: &buspb.Event_PrivacyChanged{PrivacyChanged: &buspb.PrivacyChanged{Account: acct[:]}}})
	return nil
}

// Privacy returns acct's settings.
func (s *Service) Privacy(ctx context.Context, acct types.AccountID) (store.PrivacySettings, error) {
	return s.st.PrivacySettings(ctx, acct)
}
