package mailbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/store/sqlstore"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// groupFixture is a mailbox on a real store with a group of three
// accounts, the second with two devices.
type groupFixture struct {
	st    *sqlstore.Store
	m     *Service
	pub   *publishLog
	group types.GroupID
	accts []types.AccountID
	devs  []types.Address // every device, sender first
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &groupFixture{st: st, pub: &publishLog{}, group: types.NewGroupID()}
	f.m = New(st, f.pub, Config{}, Metrics{}, slog.New(slog.DiscardHandler))
	t.Cleanup(f.m.Close)
	g := store.Group{ID: f.group, Seq: 1, Head: make([]byte, 32)}
	for i := range 3 {
		a := types.NewAccountID()
		if err := st.CreateAccount(ctx, store.Account{ID: a, Phone: "+1555" + a.String()[:7], CreatedAt: time.Now()},
			store.Device{AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33), RegistrationID: 1}, store.PreKeySet{}); err != nil {
			t.Fatal(err)
		}
		f.accts = append(f.accts, a)
		f.devs = append(f.devs, types.Address{Account: a, Device: 1})
		if i == 1 {
			id, err := st.AddDevice(ctx, store.Device{Account: a, AuthKey: make([]byte, 32), IdentityKey: make([]byte, 33)}, store.PreKeySet{}, 5)
			if err != nil {
				t.Fatal(err)
			}
			f.devs = append(f.devs, types.Address{Account: a, Device: id})
		}
		g.Members = append(g.Members, store.GroupMember{Account: a, Since: 1})
	}
	slices.SortFunc(g.Members, func(a, b store.GroupMember) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	if err := st.AppendGroupEvent(ctx, &store.GroupChange{Next: g, Event: []byte("create")}, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *groupFixture) message(content string) GroupOutgoing {
	return GroupOutgoing{Group: f.group, Seq: 1, MessageID: types.NewMessageID(), Members: f.accts,
		Devices: f.devs[1:], Content: []byte(content), ClientTime: time.UnixMilli(1_700_000_000_000)}
}

// TestGroupFanoutPublishes: each member device but the sender's is told
// of its own delivery, and what it is told is what it would fetch.
func TestGroupFanoutPublishes(t *testing.T) {
	ctx := context.Background()
	f := newGroupFixture(t)
	sender := f.devs[0]
	wait, err := f.m.SubmitGroup(ctx, sender, f.message("hi all"))
	if err != nil {
		t.Fatal(err)
	}
	if dup, err := wait(); err != nil || dup {
		t.Fatalf("SubmitGroup: duplicate %v, err %v", dup, err)
	}
	f.pub.mu.Lock()
	defer f.pub.mu.Unlock()
	if len(f.pub.evs) != len(f.devs)-1 {
		t.Fatalf("published %d notices, want %d", len(f.pub.evs), len(f.devs)-1)
	}
	for i, to := range f.devs[1:] {
		if f.pub.subj[i] != bus.DeviceSubject(to) {
			t.Errorf("notice %d went to %s, want %s", i, f.pub.subj[i], bus.DeviceSubject(to))
		}
		got := f.pub.evs[i].GetDeliver()
		stored, err := f.m.Fetch(ctx, to, 0, 10)
		if err != nil || len(stored) != 1 {
			t.Fatalf("%s holds %d envelopes, %v", to, len(stored), err)
		}
		if want := WireEnvelope(&stored[0]); !proto.Equal(got, want) {
			t.Errorf("%s was pushed\n%v\nbut would fetch\n%v", to, got, want)
		}
		if got.Id == 0 || !bytes.Equal(got.GroupId, f.group[:]) || !bytes.Equal(got.SenderAccount, sender.Account[:]) ||
			got.Type != wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY || string(got.Content) != "hi all" {
			t.Errorf("%s was pushed %v", to, got)
		}
	}
}

// TestGroupFanoutOutcomes: a resend rescans the devices, an ephemeral
// message is pushed and not stored, and a message checked against an old
// head is refused.
func TestGroupFanoutOutcomes(t *testing.T) {
	ctx := context.Background()
	f := newGroupFixture(t)
	sender := f.devs[0]
	send := func(m GroupOutgoing) (bool, error) {
		t.Helper()
		wait, err := f.m.SubmitGroup(ctx, sender, m)
		if err != nil {
			t.Fatal(err)
		}
		return wait()
	}
	m := f.message("once")
	if _, err := send(m); err != nil {
		t.Fatal(err)
	}
	f.pub.mu.Lock()
	f.pub.subj, f.pub.evs = nil, nil
	f.pub.mu.Unlock()
	if dup, err := send(m); !dup || err != nil {
		t.Fatalf("resend: duplicate %v, err %v", dup, err)
	}
	f.pub.mu.Lock()
	for _, ev := range f.pub.evs {
		if ev.GetRescan() == nil {
			t.Errorf("a resend published %v, want rescans only", ev)
		}
	}
	if len(f.pub.evs) != len(f.devs)-1 {
		t.Errorf("a resend published %d rescans, want %d", len(f.pub.evs), len(f.devs)-1)
	}
	f.pub.subj, f.pub.evs = nil, nil
	f.pub.mu.Unlock()

	eph := f.message("typing")
	eph.Ephemeral = true
	if _, err := send(eph); err != nil {
		t.Fatal(err)
	}
	f.pub.mu.Lock()
	if len(f.pub.evs) != len(f.devs)-1 || !f.pub.evs[0].GetDeliver().GetEphemeral() || f.pub.evs[0].GetDeliver().GetId() != 0 {
		t.Errorf("ephemeral: published %v", f.pub.evs)
	}
	f.pub.mu.Unlock()
	for _, to := range f.devs[1:] {
		if es, _ := f.m.Fetch(ctx, to, 0, 10); len(es) != 1 {
			t.Errorf("%s holds %d envelopes, want only the stored message", to, len(es))
		}
	}

	old := f.message("too late")
	old.Seq = 7
	if _, err := send(old); !errors.Is(err, ErrGroupChanged) {
		t.Errorf("message at an old head: %v, want ErrGroupChanged", err)
	}
	if _, err := f.m.SubmitGroup(ctx, sender, GroupOutgoing{Group: f.group}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty message: %v, want ErrInvalid", err)
	}
}

// TestDeliverEncoder: the event made for an id decodes as the envelope
// with that id, however large the id.
func TestDeliverEncoder(t *testing.T) {
	w := &wirepb.Envelope{MessageId: make([]byte, 16), Type: 7, Content: bytes.Repeat([]byte{1}, 300), GroupId: make([]byte, 16), ServerTimeMs: 5}
	enc := deliverEncoder(proto.Clone(w).(*wirepb.Envelope))
	for _, id := range []uint64{0, 1, 127, 128, 1 << 40, ^uint64(0)} {
		got := decodeDeliver(t, enc(id))
		want := proto.Clone(w).(*wirepb.Envelope)
		want.Id = id
		if !proto.Equal(got, want) {
			t.Errorf("id %d: decoded %v", id, got)
		}
	}
}

func decodeDeliver(t *testing.T, data []byte) *wirepb.Envelope {
	t.Helper()
	ev := new(buspb.Event)
	if err := proto.Unmarshal(data, ev); err != nil {
		t.Fatal(err)
	}
	return ev.GetDeliver()
}
