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
	"sync"
	"sync/atomic"
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
	st   store.Store
	bus  Bus
	node string
	log  *slog.Logger
	now  func() time.Time
}

// New returns the presence service of node, the id under which this run of
// the server records the devices it holds (see internal/liveness).
func New(st store.Store, b Bus, node string, log *slog.Logger) *Service {
	return &Service{st: st, bus: b, node: node, log: log, now: time.Now}
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

func (s *Service) publishPresence(acct types.AccountID, online bool, lastSeen time.Time) {
	s.publish(bus.PresenceSubject(acct), &buspb.Event{Body: &buspb.Event_Presence{Presence: &wirepb.PresenceEvent{
		Account: acct[:], Online: online, LastSeenMs: lastSeen.UnixMilli(),
	}}})
}

// Online records that connection conn of this node, authenticated at
// since, holds a, and tells subscribers. The gateway calls it again for
// every connection when another node took this one for dead.
func (s *Service) Online(ctx context.Context, a types.Address, conn string, since time.Time) {
	now := s.now()
	if err := s.st.DeviceOnline(ctx, a, store.Holder{Node: s.node, Conn: conn, Since: since}, now); err != nil {
		s.log.Warn("recording a device online failed", "account_id", a.Account, "err", err)
	}
	s.publishPresence(a.Account, true, now)
}

// Offline records that connection conn let a go. If no other device of the
// account is connected anywhere, subscribers learn the account went
// offline. The caller must have stopped answering probes for conn.
func (s *Service) Offline(ctx context.Context, a types.Address, conn string) {
	now := s.now()
	if err := s.st.DeviceOffline(ctx, a, conn, now); err != nil {
		s.log.Warn("recording a device offline failed", "account_id", a.Account, "err", err)
	}
	if s.online(ctx, a.Account) {
		return
	}
	s.announceOffline(ctx, a.Account, now)
}

// announceOffline tells acct's subscribers it went offline at, then asks
// the nodes again: a device that connected in between may have announced
// itself online before this notice went out, and its subscribers would be
// left believing it offline. Asked after the notice, a node that holds it
// answers, and it is announced online again; one that took it after the
// question publishes its own online notice after this one. It reports
// whether acct stayed offline.
func (s *Service) announceOffline(ctx context.Context, acct types.AccountID, at time.Time) bool {
	s.publishPresence(acct, false, at)
	if s.online(ctx, acct) {
		s.publishPresence(acct, true, s.now())
		return false
	}
	return true
}

// Gone tells the subscribers of the accounts of devs, which a node that
// died held, that they went offline at lastSeen (or their account's last
// seen, if later), except those with a device connected anywhere now (it reconnected to another node, or
// another device of the account is online). It returns how many accounts
// it announced offline.
func (s *Service) Gone(ctx context.Context, devs []types.Address, lastSeen time.Time) int {
	seen := make(map[types.AccountID]bool, len(devs))
	var accts []types.AccountID
	for _, d := range devs {
		if !seen[d.Account] {
			seen[d.Account] = true
			accts = append(accts, d.Account)
		}
	}
	// Which of them another node holds, from the store: asking the nodes
	// would wait out the silent node's own subscriptions, still there in
	// NATS if it only stalled (half a second an account).
	held, err := s.st.HeldAccounts(ctx, accts)
	if err != nil {
		s.log.Warn("presence: asking the store which accounts are held failed; asking the nodes", "err", err)
		return s.goneByProbes(ctx, accts, lastSeen)
	}
	var gone []types.AccountID
	for _, acct := range accts {
		if !held[acct] {
			gone = append(gone, acct)
		}
	}
	s.run(gone, func(acct types.AccountID) {
		s.publishPresence(acct, false, s.lastSeenAt(ctx, acct, lastSeen))
	})
	// Asked again after the notices: a device that connected meanwhile may
	// have announced itself before them (see announceOffline); one that
	// connects after this question announces itself after them.
	again, err := s.st.HeldAccounts(ctx, gone)
	if err != nil {
		s.log.Warn("presence: asking the store which accounts are held failed", "err", err)
	}
	offline := len(gone)
	now := s.now()
	for _, acct := range gone {
		if again[acct] {
			s.publishPresence(acct, true, now)
			offline--
		}
	}
	return offline
}

// goneByProbes is Gone asking the nodes, for when the store cannot answer.
func (s *Service) goneByProbes(ctx context.Context, accts []types.AccountID, lastSeen time.Time) int {
	var offline atomic.Int64
	s.run(accts, func(acct types.AccountID) {
		on, known := s.probe(ctx, acct)
		if !known || on {
			return
		}
		if s.announceOffline(ctx, acct, s.lastSeenAt(ctx, acct, lastSeen)) {
			offline.Add(1)
		}
	})
	return int(offline.Load())
}

// lastSeenAt is the account's last seen as State reports it: later than
// lastSeen if a device connected after the node's last heartbeat, or
// another device left later.
func (s *Service) lastSeenAt(ctx context.Context, acct types.AccountID, lastSeen time.Time) time.Time {
	if acc, err := s.st.Account(ctx, acct); err == nil && acc.LastSeen.After(lastSeen) {
		return acc.LastSeen
	}
	return lastSeen
}

// run calls fn for every account, goneProbes at a time: probes of accounts
// that only a stalled node seems to hold wait for their timeout.
func (s *Service) run(accts []types.AccountID, fn func(types.AccountID)) {
	work := make(chan types.AccountID)
	var wg sync.WaitGroup
	for range goneProbes {
		wg.Go(func() {
			for acct := range work {
				fn(acct)
			}
		})
	}
	for _, acct := range accts {
		work <- acct
	}
	close(work)
	wg.Wait()
}

// goneProbes is how many probes Gone runs at a time.
const goneProbes = 16

// probeTimeout bounds a probe. A node that holds the account answers in
// far less; silence means only a dead node's subscription answered.
const probeTimeout = 500 * time.Millisecond

// online asks the nodes whether any holds a connection of acct. No node
// answering at all is the common "offline" and takes no time.
func (s *Service) online(ctx context.Context, acct types.AccountID) bool {
	on, _ := s.probe(ctx, acct)
	return on
}

// probe is online that tells "nobody holds it" (no responder, or only
// silence) from "the bus could not ask" (known false), after which Gone
// says nothing rather than something wrong.
func (s *Service) probe(ctx context.Context, acct types.AccountID) (online, known bool) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := s.bus.Request(pctx, bus.ProbeSubject(acct), nil)
	switch {
	case err == nil:
		return true, true
	case errors.Is(err, bus.ErrNoResponders), errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return false, true
	}
	return false, false
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
