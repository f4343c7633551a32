package payment

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		m       Money
		decimal string
	}{
		{Money{14990, BRL}, "149.90"},
		{Money{1, INR}, "0.01"},
		{Money{1000, INR}, "10.00"},
		{Money{-250, BRL}, "-2.50"},
	} {
		if got := tc.m.Decimal(); got != tc.decimal {
			t.Errorf("%+v.Decimal() = %q, want %q", tc.m, got, tc.decimal)
		}
		if tc.m.Offset() != 100 {
			t.Errorf("%+v.Offset() = %d", tc.m, tc.m.Offset())
		}
	}
	if err := (Money{100, "USD"}).Validate(); !errors.Is(err, ErrUnsupportedCurrency) {
		t.Errorf("USD: %v", err)
	}
	if err := (Money{0, BRL}).Validate(); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("zero: %v", err)
	}
	if got := (Money{5, BRL}).String(); got != "BRL 0.05" {
		t.Errorf("String() = %q", got)
	}
}

func TestValidReference(t *testing.T) {
	for ref, ok := range map[string]bool{
		"pedido-123": true, "SampleMSIL1102": true, "a.b_c-d": true, "877376394": true,
		"": false, "pedido 123": false, "pedido#1": false, "ação": false,
		"12345678901234567890123456789012345": true, "123456789012345678901234567890123456": false,
	} {
		if err := ValidReference(ref); (err == nil) != ok {
			t.Errorf("ValidReference(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore()
	at := time.Unix(1785125734, 0)
	c := Charge{ID: "c1", Reference: "order-1", Amount: Money{100, BRL}, Status: StatusPending}
	if err := s.InsertCharge(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertCharge(ctx, Charge{ID: "c2", Reference: "order-1", Status: StatusPending}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second live charge for a reference: %v", err)
	}
	if err := s.InsertCharge(ctx, Charge{ID: "c1", Reference: "order-2", Status: StatusPending}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := s.Charge(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing charge: %v", err)
	}
	if _, _, err := s.SettleCharge(ctx, "c1", StatusPending, "", at); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("settle to pending: %v", err)
	}
	got, changed, err := s.SettleCharge(ctx, "c1", StatusFailed, "expired", at)
	if err != nil || !changed || got.Status != StatusFailed || got.FailureReason != "expired" || !got.UpdatedAt.Equal(at) {
		t.Fatalf("fail: %+v %v %v", got, changed, err)
	}
	if _, changed, err := s.SettleCharge(ctx, "c1", StatusFailed, "again", at); err != nil || changed {
		t.Fatalf("fail again: changed=%v %v", changed, err)
	}
	if _, _, err := s.SettleCharge(ctx, "c1", StatusCaptured, "", at); !errors.Is(err, ErrConflict) {
		t.Fatalf("capture a failed charge: %v", err)
	}
	// A failed charge frees its reference.
	if _, err := s.LiveCharge(ctx, "order-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("live charge after failure: %v", err)
	}
	if err := s.InsertCharge(ctx, Charge{ID: "c3", Reference: "order-1", Status: StatusPending}); err != nil {
		t.Fatalf("new charge after failure: %v", err)
	}
	if live, err := s.LiveCharge(ctx, "order-1"); err != nil || live.ID != "c3" {
		t.Fatalf("live charge: %+v %v", live, err)
	}
}

func TestMemStoreSettleOnce(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore()
	if err := s.InsertCharge(ctx, Charge{ID: "c", Reference: "r", Status: StatusPending}); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changes int
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := StatusCaptured
			if i%2 == 1 {
				to = StatusFailed
			}
			_, changed, _ := s.SettleCharge(ctx, "c", to, "", time.Now())
			if changed {
				mu.Lock()
				changes++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if changes != 1 {
		t.Fatalf("%d settlements changed the charge, want exactly 1", changes)
	}
}
