package bizstore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/bizstore/bizstoretest"
	"github.com/parley-im/parley/internal/business/bot"
)

func conversation(customer string) *bot.Conversation {
	return &bot.Conversation{Customer: customer, Lang: bot.Portuguese,
		Cart:    []bot.CartLine{{RetailerID: "L1", Name: "Dom Casmurro", Quantity: 2, UnitPrice: 4990, Currency: "BRL"}},
		Pending: bot.PendingConfirm, Quote: &bot.Quote{Lines: []bot.CartLine{{RetailerID: "L1", Quantity: 2, UnitPrice: 4990, Currency: "BRL"}}, Currency: "BRL", Total: 9980},
		Handoff: &bot.HandoffState{Since: t0}, Shown: []string{"L1", "L2"},
		History: []bot.Turn{{From: "customer", Text: "quero dois ✓", At: t0}, {From: "bot", Text: "Confirma?", At: t0.Add(time.Second)}},
		Seen:    []string{"wamid.1"}, Updated: t0}
}

// stateStoreTests run on bot.MemoryStore and on the database's store.
func stateStoreTests(t *testing.T, open func(t *testing.T) bot.StateStore) {
	t.Run("a conversation reads back as saved", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		c, err := s.Load(ctx, "5511900000001")
		if err != nil || c.Customer != "5511900000001" || c.Version != 0 || c.Cart != nil {
			t.Fatalf("new customer: %+v %v", c, err)
		}
		want := conversation("5511900000001")
		if err := s.Save(ctx, want); err != nil || want.Version != 1 {
			t.Fatalf("Save: version %d, %v", want.Version, err)
		}
		got, err := s.Load(ctx, want.Customer)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Load = %+v %v\nwant %+v", got, err, want)
		}
		if other, _ := s.Load(ctx, "5511900000002"); other.Version != 0 || other.Cart != nil {
			t.Fatalf("another customer sees %+v", other)
		}
	})
	t.Run("a stale save is refused and changes nothing", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		a, _ := s.Load(ctx, "1")
		b, _ := s.Load(ctx, "1")
		a.Lang = bot.German
		b.Lang = bot.Indonesian
		if err := s.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, b); !errors.Is(err, bot.ErrConflict) || b.Version != 0 {
			t.Fatalf("second save of version 0: %v (version %d)", err, b.Version)
		}
		a.Address = "Rua A, 1"
		if err := s.Save(ctx, a); err != nil {
			t.Fatal(err)
		}
		stale := *a
		stale.Version = 1
		if err := s.Save(ctx, &stale); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("save of version 1 over 2: %v", err)
		}
		if c, _ := s.Load(ctx, "1"); c.Lang != bot.German || c.Address != "Rua A, 1" || c.Version != 2 {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("concurrent turns lose no update", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := s.Load(ctx, "shared")
					if err != nil {
						errs <- err
						return
					}
					c.Seen = append(c.Seen, fmt.Sprintf("wamid.%d", i))
					err = s.Save(ctx, c)
					if errors.Is(err, bot.ErrConflict) {
						continue // another turn won: reload and redo
					}
					if err != nil {
						errs <- err
					}
					return
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		c, _ := s.Load(ctx, "shared")
		slices.Sort(c.Seen)
		if len(c.Seen) != 8 || c.Version != 8 {
			t.Fatalf("after 8 turns: seen %v, version %d", c.Seen, c.Version)
		}
	})
}

func TestBotMemoryStore(t *testing.T) {
	stateStoreTests(t, func(*testing.T) bot.StateStore { return bot.NewMemoryStore() })
}

func TestBotStates(t *testing.T) {
	stateStoreTests(t, func(t *testing.T) bot.StateStore { return bizstoretest.Open(t).BotStates() })
}

func TestBotStatesSurviveARestartAndIdleOnesGo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "business.db")
	ctx := t.Context()
	st := openAt(t, path)
	want := conversation("5511900000001")
	must(t, st.BotStates().Save(ctx, want))
	must(t, st.BotStates().Save(ctx, conversation("5511900000002")))
	must(t, st.Close())
	st, err := bizstore.Open(ctx, path, nil)
	must(t, err)
	defer st.Close()
	got, err := st.BotStates().Load(ctx, want.Customer)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if n, err := st.BotStates().DeleteIdle(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("deleted %d fresh conversations (%v)", n, err)
	}
	if n, err := st.BotStates().DeleteIdle(ctx, time.Now().Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("deleted %d idle conversations, want 2 (%v)", n, err)
	}
	if c, _ := st.BotStates().Load(ctx, want.Customer); c.Version != 0 || c.History != nil {
		t.Fatalf("a deleted conversation: %+v", c)
	}
}
