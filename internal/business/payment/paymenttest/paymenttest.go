// Package paymenttest is the conformance suite for payment.Store: the
// memory store and the business database's (internal/business/bizstore)
// must both pass Run. What it guards is what a customer would notice: two
// live charges for one order, a charge settled both ways, a payment
// notification sent twice.
package paymenttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/payment"
)

// t0 is the suite's "now": whole milliseconds, the precision a store must
// keep.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

type test struct {
	name string
	run  func(t *testing.T, s payment.Store)
}

// Run runs the suite. open must return a new, empty store for each call
// and release it when t ends.
func Run(t *testing.T, open func(t *testing.T) payment.Store) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func pending(id, ref string) payment.Charge {
	return payment.Charge{ID: payment.ChargeID(id), Reference: ref, Amount: payment.Money{Minor: 10980, Currency: payment.BRL},
		Status: payment.StatusPending, Method: payment.MethodPix, CreatedAt: t0, UpdatedAt: t0,
		Pix: payment.PixPayment{Code: "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865406109.805802BR5913LIVRARIA TESTE6009SAO PAULO62070503***6304ABCD",
			MerchantName: "LIVRARIA TESTE", Key: "123e4567-e12b-12d1-a456-426655440000", KeyType: "EVP"}}
}

func same(a, b payment.Charge) bool {
	return a.ID == b.ID && a.Reference == b.Reference && a.Amount == b.Amount && a.Status == b.Status && a.Method == b.Method &&
		a.Pix == b.Pix && a.UPI == b.UPI && a.FailureReason == b.FailureReason &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

var tests = []test{
	{"a charge reads back as inserted", func(t *testing.T, s payment.Store) {
		ctx := t.Context()
		pix := pending("c-pix", "pedido-1")
		upi := payment.Charge{ID: "c-upi", Reference: "order-2", Amount: payment.Money{Minor: 49900, Currency: payment.INR},
			Status: payment.StatusPending, Method: payment.MethodUPI, CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
			UPI: payment.UPIPayment{Link: "upi://pay?pa=shop@upi&pn=Shop&tr=order-2&am=499.00&cu=INR"}}
		for _, c := range []payment.Charge{pix, upi} {
			if err := s.InsertCharge(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := s.Charge(ctx, c.ID)
			if err != nil || !same(got, c) {
				t.Fatalf("Charge = %+v %v, want %+v", got, err, c)
			}
			live, err := s.LiveCharge(ctx, c.Reference)
			if err != nil || !same(live, c) {
				t.Fatalf("LiveCharge = %+v %v, want %+v", live, err, c)
			}
		}
		if _, err := s.Charge(ctx, "nope"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("missing charge: %v", err)
		}
		if _, err := s.LiveCharge(ctx, "nope"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("missing live charge: %v", err)
		}
	}},
	{"one live charge per reference", func(t *testing.T, s payment.Store) {
		ctx := t.Context()
		if err := s.InsertCharge(ctx, pending("c1", "order-1")); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertCharge(ctx, pending("c2", "order-1")); !errors.Is(err, payment.ErrConflict) {
			t.Fatalf("second live charge for a reference: %v", err)
		}
		if err := s.InsertCharge(ctx, pending("c1", "order-2")); !errors.Is(err, payment.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		if _, err := s.LiveCharge(ctx, "order-2"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("a refused charge was stored: %v", err)
		}
		if _, _, err := s.SettleCharge(ctx, "c1", payment.StatusPending, "", t0); !errors.Is(err, payment.ErrInvalidRequest) {
			t.Fatalf("settle to pending: %v", err)
		}
		got, changed, err := s.SettleCharge(ctx, "c1", payment.StatusFailed, "expired", t0.Add(time.Minute))
		if err != nil || !changed || got.Status != payment.StatusFailed || got.FailureReason != "expired" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("fail: %+v %v %v", got, changed, err)
		}
		if stored, _ := s.Charge(ctx, "c1"); !same(stored, got) {
			t.Fatalf("stored %+v, returned %+v", stored, got)
		}
		if _, changed, err := s.SettleCharge(ctx, "c1", payment.StatusFailed, "again", t0); err != nil || changed {
			t.Fatalf("fail again: changed=%v %v", changed, err)
		}
		if _, _, err := s.SettleCharge(ctx, "c1", payment.StatusCaptured, "", t0); !errors.Is(err, payment.ErrConflict) {
			t.Fatalf("capture a failed charge: %v", err)
		}
		if _, _, err := s.SettleCharge(ctx, "nope", payment.StatusCaptured, "", t0); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("settle a missing charge: %v", err)
		}
		// A failed charge frees its reference.
		if _, err := s.LiveCharge(ctx, "order-1"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("live charge after failure: %v", err)
		}
		if err := s.InsertCharge(ctx, pending("c3", "order-1")); err != nil {
			t.Fatalf("new charge after failure: %v", err)
		}
		if live, err := s.LiveCharge(ctx, "order-1"); err != nil || live.ID != "c3" {
			t.Fatalf("live charge: %+v %v", live, err)
		}
		// A captured charge stays live.
		if _, changed, err := s.SettleCharge(ctx, "c3", payment.StatusCaptured, "", t0); err != nil || !changed {
			t.Fatalf("capture: %v %v", changed, err)
		}
		if live, err := s.LiveCharge(ctx, "order-1"); err != nil || live.ID != "c3" || live.Status != payment.StatusCaptured {
			t.Fatalf("live charge after capture: %+v %v", live, err)
		}
		if err := s.InsertCharge(ctx, pending("c4", "order-1")); !errors.Is(err, payment.ErrConflict) {
			t.Fatalf("a charge beside a captured one: %v", err)
		}
		if _, _, err := s.SettleCharge(ctx, "c3", payment.StatusFailed, "", t0); !errors.Is(err, payment.ErrConflict) {
			t.Fatalf("fail a captured charge: %v", err)
		}
	}},
	{"of concurrent settlements exactly one changes the charge", func(t *testing.T, s payment.Store) {
		ctx := t.Context()
		if err := s.InsertCharge(ctx, pending("c", "r")); err != nil {
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
				to := payment.StatusCaptured
				if i%2 == 1 {
					to = payment.StatusFailed
				}
				_, changed, _ := s.SettleCharge(ctx, "c", to, "", t0)
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
	}},
	{"of concurrent charges for one order exactly one is stored", func(t *testing.T, s payment.Store) {
		ctx := t.Context()
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			oks int
		)
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InsertCharge(ctx, pending(fmt.Sprintf("race-%d", i), "pedido-corrida"))
				if err != nil && !errors.Is(err, payment.ErrConflict) {
					t.Errorf("insert: %v", err)
				}
				if err == nil {
					mu.Lock()
					oks++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if oks != 1 {
			t.Fatalf("%d charges stored for one order, want 1", oks)
		}
	}},
}
