package gateway_test

import (
	"testing"
	"time"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// nextPresence returns the next presence push, skipping other frames.
func nextPresence(t *testing.T, c *transport.Conn) *wirepb.PresenceEvent {
	t.Helper()
	for {
		if p := next(t, c).GetPresence(); p != nil {
			return p
		}
	}
}

func subscribe(t *testing.T, c *transport.Conn, d *testserver.Device) *wirepb.PresenceEvent {
	t.Helper()
	return call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SubscribePresence{SubscribePresence: &wirepb.SubscribePresence{
		Accounts: [][]byte{d.Addr.Account[:]}}}}).GetPresence().States[0]
}

func setPrivacy(t *testing.T, c *transport.Conn, v wirepb.Visibility, contacts ...*testserver.Device) {
	t.Helper()
	p := &wirepb.SetPrivacy{LastSeen: v, SetContacts: true}
	for _, d := range contacts {
		p.Contacts = append(p.Contacts, d.Addr.Account[:])
	}
	call(t, c, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SetPrivacy{SetPrivacy: p}})
}

func TestPresence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		srv := testserver.Start(t, testserver.Options{Backend: b})
		ac, bc, cc := srv.Dial(t), srv.Dial(t), srv.Dial(t)
		alice, bob, carol := testserver.Register(t, ac), testserver.Register(t, bc), testserver.Register(t, cc)

		// Everyone may see Bob by default: online now.
		if st := subscribe(t, ac, bob); !st.Online || st.Hidden || st.LastSeenMs == 0 {
			t.Fatalf("bob online: %v", st)
		}
		// Bob goes offline: Alice is told, with a last-seen time.
		before := time.Now().Add(-time.Second).UnixMilli()
		bc.Close()
		if st := nextPresence(t, ac); st.Online || st.LastSeenMs < before {
			t.Fatalf("after disconnect: %v", st)
		}
		bc = srv.Connect(t, bob)
		if st := nextPresence(t, ac); !st.Online {
			t.Fatalf("after reconnect: %v", st)
		}

		// Bob shares his presence with contacts only, and Alice is one.
		setPrivacy(t, bc, wirepb.Visibility_VISIBILITY_CONTACTS, alice)
		got := call(t, bc, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetPrivacy{GetPrivacy: &wirepb.GetPrivacy{}}}).GetPrivacy()
		if got.LastSeen != wirepb.Visibility_VISIBILITY_CONTACTS || len(got.Contacts) != 1 {
			t.Fatalf("privacy read back as %v", got)
		}
		if st := subscribe(t, cc, bob); !st.Hidden || st.Online || st.LastSeenMs != 0 {
			t.Fatalf("carol, not a contact, sees %v", st)
		}
		if st := subscribe(t, ac, bob); st.Hidden || !st.Online {
			t.Fatalf("alice, a contact, sees %v", st)
		}
		// Nobody: Alice's subscription learns it is hidden now.
		setPrivacy(t, bc, wirepb.Visibility_VISIBILITY_NOBODY)
		for {
			st := nextPresence(t, ac)
			if st.Hidden {
				break
			}
		}
		bc.Close()
		// Hidden accounts' changes are not pushed to Alice or Carol.
		select {
		case f := <-ac.Events():
			if p := f.GetPresence(); p != nil && !p.Hidden {
				t.Fatalf("presence leaked despite 'nobody': %v", p)
			}
		case <-time.After(300 * time.Millisecond):
		}
		// An account that does not exist looks hidden, not missing.
		ghost := &testserver.Device{}
		if st := subscribe(t, cc, ghost); !st.Hidden {
			t.Fatalf("nonexistent account: %v", st)
		}
		_ = carol
	})
}

func TestTyping(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ac, bc := srv.Dial(t), srv.Dial(t)
	alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
	bob2, b2c := link(t, srv, bc)
	call(t, ac, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Typing{Typing: &wirepb.Typing{To: bob.Addr.Account[:], Started: true}}})
	for _, c := range []*transport.Conn{bc, b2c} {
		for {
			if ty := next(t, c).GetTyping(); ty != nil {
				if string(ty.From) != string(alice.Addr.Account[:]) || !ty.Started {
					t.Fatalf("typing event %v", ty)
				}
				break
			}
		}
	}
	// Ephemeral sends reach online devices and are never stored.
	eph := sendFrame(bob, types.NewMessageID(), []types.DeviceID{1, 2}, "typing-like")
	eph.GetSend().Ephemeral = true
	call(t, ac, eph)
	if e := receive(t, b2c, 1)[0]; !e.Ephemeral || e.Id != 0 {
		t.Fatalf("ephemeral envelope %v", e)
	}
	b2c.Close()
	eph = sendFrame(bob, types.NewMessageID(), []types.DeviceID{1, 2}, "gone")
	eph.GetSend().Ephemeral = true
	call(t, ac, eph)
	b2c = srv.Connect(t, bob2)
	if got := waitQueueEmpty(t, b2c); len(got) != 0 {
		t.Fatalf("an ephemeral envelope was stored for an offline device: %q", texts(got))
	}
}
