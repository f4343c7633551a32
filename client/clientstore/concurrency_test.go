package clientstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// TestConcurrentUse runs writers and readers side by side, on one Store and
// on a second Store of the same file (a second process), and checks that
// nothing is lost and no prekey id is handed out twice.
func TestConcurrentUse(t *testing.T) {
	st, path := newStore(t)
	register(t, st, 1)
	other := openAt(t, path)
	peer := types.NewAccountID()
	conv, err := st.DirectConversation(ctx, peer)
	if err != nil {
		t.Fatal(err)
	}
	// A session record to store under many addresses.
	bob := newMemoryBackend(t, "")
	pre := bob.newPreKey(t)
	stores, _ := st.Stores(ctx)
	b := session.NewBundle(bob.regID, 1, bob.identity.Public, &pre, bob.newSignedPreKey(t), bob.newKyberPreKey(t, false))
	if err := session.ProcessBundle(ctx, stores, bob.st.Local, b, t0, nil); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.LoadSession(ctx, bob.st.Local)

	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	prekeyIDs := make(chan uint32, workers*each)
	for w := range workers {
		s := st
		if w%2 == 1 {
			s = other
		}
		wg.Go(func() {
			for i := range each {
				addr := session.Address{Name: fmt.Sprintf("peer-%d", w), DeviceID: uint32(i%100 + 1)}
				if err := s.StoreSession(ctx, addr, rec); err != nil {
					errs <- err
				}
				if r, err := s.LoadSession(ctx, addr); err != nil || !r.HasSession() {
					errs <- fmt.Errorf("LoadSession: %v", err)
				}
				if _, err := s.SaveIdentity(ctx, addr, bob.identity.Public); err != nil {
					errs <- err
				}
				if _, err := s.AddMessage(ctx, Message{Conversation: conv.ID, ID: types.NewMessageID(),
					Sender: types.Address{Account: peer, Device: 1}, Direction: Incoming, Content: []byte("x"), SentAt: t0}); err != nil {
					errs <- err
				}
				pks, err := s.GeneratePreKeys(ctx, 1, t0)
				if err != nil {
					errs <- err
					continue
				}
				prekeyIDs <- pks[0].ID
				if _, err := s.Conversations(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(prekeyIDs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[uint32]bool{}
	for id := range prekeyIDs {
		if seen[id] {
			t.Fatalf("prekey id %d handed out twice", id)
		}
		seen[id] = true
	}
	c, err := st.Conversation(ctx, conv.ID)
	if err != nil || c.Unread != workers*each {
		t.Fatalf("messages stored = %d, %v; want %d", c.Unread, err, workers*each)
	}
	for w := range workers {
		if devs, _ := st.SessionDevices(ctx, fmt.Sprintf("peer-%d", w)); len(devs) != each {
			t.Fatalf("peer-%d has %d sessions, want %d", w, len(devs), each)
		}
	}
}
