package cloudapitest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

var conversationTests = []test{
	{"the last inbound message only moves forward", func(t *testing.T, s Stores) {
		ctx, c := t.Context(), s.Conversations
		if at, err := c.LastInbound(ctx, "6000000000000001", "5511900000001"); err != nil || !at.IsZero() {
			t.Fatalf("never wrote: %v %v, want the zero time", at, err)
		}
		steps := []struct{ at, want time.Time }{
			{t0, t0},
			{t0.Add(-time.Hour), t0}, // a late, older message does not shorten the window
			{t0.Add(3 * time.Hour), t0.Add(3 * time.Hour)},
		}
		for _, st := range steps {
			must(t, c.RecordInbound(ctx, "6000000000000001", "5511900000001", st.at))
			if at, err := c.LastInbound(ctx, "6000000000000001", "5511900000001"); err != nil || !at.Equal(st.want) {
				t.Fatalf("after recording %v: %v %v, want %v", st.at, at, err, st.want)
			}
		}
		// Windows are per number and customer.
		for _, k := range [][2]string{{"6000000000000002", "5511900000001"}, {"6000000000000001", "5511900000002"}} {
			if at, _ := c.LastInbound(ctx, k[0], k[1]); !at.IsZero() {
				t.Fatalf("%v has a window it never opened", k)
			}
		}
	}},
	{"consent reads back as set", func(t *testing.T, s Stores) {
		ctx, c := t.Context(), s.Conversations
		if got, err := c.Consent(ctx, "6000000000000101", "5511900000101"); (err != nil && !errors.Is(err, cloudapi.ErrNotFound)) || got != (cloudapi.Consent{}) {
			t.Fatalf("never set: %+v %v, want the zero consent", got, err)
		}
		for _, want := range []cloudapi.Consent{
			{OptedIn: true, Updated: t0},
			{OptedIn: true, MarketingOptOut: true, Updated: t0.Add(time.Minute)},
			{MarketingOptOut: true, Updated: t0.Add(2 * time.Minute)},
			{},
		} {
			must(t, c.SetConsent(ctx, "6000000000000101", "5511900000101", want))
			got, err := c.Consent(ctx, "6000000000000101", "5511900000101")
			if err != nil || got.OptedIn != want.OptedIn || got.MarketingOptOut != want.MarketingOptOut || !got.Updated.Equal(want.Updated) {
				t.Fatalf("consent %+v %v, want %+v", got, err, want)
			}
		}
		must(t, c.SetConsent(ctx, "6000000000000101", "5511900000102", cloudapi.Consent{OptedIn: true, Updated: t0}))
		if got, _ := c.Consent(ctx, "6000000000000102", "5511900000102"); got.OptedIn {
			t.Fatal("consent given to one number counts for another")
		}
	}},
	{"reached customers are counted once within the period", func(t *testing.T, s Stores) {
		ctx, c := t.Context(), s.Conversations
		const waba = "6000000000000201"
		if n, inc, err := c.Reached(ctx, waba, "5511900000201", t0.Add(-24*time.Hour)); err != nil || n != 0 || inc {
			t.Fatalf("nobody reached: %d %v %v", n, inc, err)
		}
		must(t, c.RecordReached(ctx, waba, "5511900000201", t0))
		must(t, c.RecordReached(ctx, waba, "5511900000202", t0.Add(time.Hour)))
		must(t, c.RecordReached(ctx, waba, "5511900000203", t0.Add(2*time.Hour)))
		must(t, c.RecordReached(ctx, waba, "5511900000202", t0.Add(time.Hour+time.Minute))) // again: still one customer
		must(t, c.RecordReached(ctx, "6000000000000202", "5511900000209", t0))              // another business
		check := func(since time.Time, wa string, wantN int, wantInc bool) {
			t.Helper()
			n, inc, err := c.Reached(ctx, waba, wa, since)
			if err != nil || n != wantN || inc != wantInc {
				t.Fatalf("Reached(since %v, %s) = %d %v %v, want %d %v", since.Sub(t0), wa, n, inc, err, wantN, wantInc)
			}
		}
		check(t0, "5511900000201", 3, true)
		check(t0, "5511900000209", 3, false)
		check(t0.Add(90*time.Minute), "5511900000201", 1, false)
		check(t0.Add(90*time.Minute), "5511900000203", 1, true)
		// Reaching a customer again renews it; an older record changes nothing.
		must(t, c.RecordReached(ctx, waba, "5511900000201", t0.Add(3*time.Hour)))
		must(t, c.RecordReached(ctx, waba, "5511900000203", t0))
		check(t0.Add(90*time.Minute), "5511900000201", 2, true)
		check(t0.Add(90*time.Minute), "5511900000203", 2, true)
		check(t0.Add(27*time.Hour), "5511900000201", 0, false)
	}},
	{"an order reference belongs to its first customer", func(t *testing.T, s Stores) {
		ctx, c := t.Context(), s.Conversations
		const waba = "6000000000000301"
		if _, err := c.Reference(ctx, waba, "pedido-1"); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Fatalf("unclaimed reference: %v, want ErrNotFound", err)
		}
		if owner, err := c.ClaimReference(ctx, waba, "pedido-1", "5511900000301"); err != nil || owner != "5511900000301" {
			t.Fatalf("first claim: %q %v", owner, err)
		}
		if owner, err := c.ClaimReference(ctx, waba, "pedido-1", "5511900000302"); err != nil || owner != "5511900000301" {
			t.Fatalf("second claim by another customer: %q %v, want the first customer", owner, err)
		}
		if owner, err := c.Reference(ctx, waba, "pedido-1"); err != nil || owner != "5511900000301" {
			t.Fatalf("Reference: %q %v", owner, err)
		}
		// References are per business.
		if owner, err := c.ClaimReference(ctx, "6000000000000302", "pedido-1", "5511900000302"); err != nil || owner != "5511900000302" {
			t.Fatalf("same reference, other business: %q %v", owner, err)
		}
	}},
	{"concurrent claims agree on one owner", func(t *testing.T, s Stores) {
		ctx, c := t.Context(), s.Conversations
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			owners = map[string]int{}
			errs   []error
		)
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner, err := c.ClaimReference(ctx, "6000000000000401", "corrida", fmt.Sprintf("55119000004%02d", i))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				owners[owner]++
			}()
		}
		wg.Wait()
		if len(errs) > 0 || len(owners) != 1 {
			t.Fatalf("owners %v, errors %v: want one owner for all", owners, errs)
		}
	}},
}
