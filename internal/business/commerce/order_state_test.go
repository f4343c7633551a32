package commerce_test

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/internal/business/commerce"
)

// allowedMoves are the order status changes allowed (before the payment
// rule for canceling), written out rather than derived from the code.
var allowedMoves = map[[2]commerce.OrderStatus]bool{
	{commerce.StatusPending, commerce.StatusProcessing}:                true,
	{commerce.StatusPending, commerce.StatusCanceled}:                  true,
	{commerce.StatusProcessing, commerce.StatusPartiallyShipped}:       true,
	{commerce.StatusProcessing, commerce.StatusShipped}:                true,
	{commerce.StatusProcessing, commerce.StatusCompleted}:              true,
	{commerce.StatusProcessing, commerce.StatusCanceled}:               true,
	{commerce.StatusPartiallyShipped, commerce.StatusPartiallyShipped}: true,
	{commerce.StatusPartiallyShipped, commerce.StatusShipped}:          true,
	{commerce.StatusPartiallyShipped, commerce.StatusCompleted}:        true,
	{commerce.StatusShipped, commerce.StatusCompleted}:                 true,
}

// TestCheckTransition covers every (from, to, payment) triple.
func TestCheckTransition(t *testing.T) {
	n := 0
	for _, from := range commerce.OrderStatuses {
		for _, to := range commerce.OrderStatuses {
			for _, pay := range commerce.PaymentStatuses {
				want := allowedMoves[[2]commerce.OrderStatus{from, to}] &&
					!(to == commerce.StatusCanceled && (pay == commerce.PaymentPending || pay == commerce.PaymentCaptured))
				err := commerce.CheckTransition(from, to, pay)
				if want && err != nil {
					t.Errorf("%s → %s with payment %s refused: %v", from, to, pay, err)
				}
				if !want && !errors.Is(err, commerce.ErrInvalidTransition) {
					t.Errorf("%s → %s with payment %s: %v, want ErrInvalidTransition", from, to, pay, err)
				}
				n++
			}
		}
	}
	if n != 6*6*4 {
		t.Fatalf("covered %d triples", n)
	}
	if err := commerce.CheckTransition(commerce.StatusPending, "lost", commerce.PaymentNone); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("unknown status: %v", err)
	}
}

func TestCheckPayment(t *testing.T) {
	allowed := map[[2]commerce.PaymentStatus]bool{
		{commerce.PaymentNone, commerce.PaymentPending}:     true,
		{commerce.PaymentNone, commerce.PaymentCaptured}:    true,
		{commerce.PaymentNone, commerce.PaymentFailed}:      true,
		{commerce.PaymentPending, commerce.PaymentCaptured}: true,
		{commerce.PaymentPending, commerce.PaymentFailed}:   true,
		{commerce.PaymentFailed, commerce.PaymentPending}:   true,
		{commerce.PaymentFailed, commerce.PaymentCaptured}:  true,
	}
	for _, from := range commerce.PaymentStatuses {
		for _, to := range commerce.PaymentStatuses {
			err := commerce.CheckPayment(from, to)
			if allowed[[2]commerce.PaymentStatus{from, to}] != (err == nil) {
				t.Errorf("payment %s → %s: %v", from, to, err)
			}
			if err != nil && !errors.Is(err, commerce.ErrInvalidTransition) {
				t.Errorf("payment %s → %s: %v is not ErrInvalidTransition", from, to, err)
			}
		}
	}
}

func TestParseOrderStatus(t *testing.T) {
	for in, want := range map[string]commerce.OrderStatus{
		"pending": commerce.StatusPending, "partially_shipped": commerce.StatusPartiallyShipped,
		"partially-shipped": commerce.StatusPartiallyShipped, "canceled": commerce.StatusCanceled,
	} {
		if got, err := commerce.ParseOrderStatus(in); err != nil || got != want {
			t.Errorf("ParseOrderStatus(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "cancelled", "PENDING", "delivered"} {
		if _, err := commerce.ParseOrderStatus(in); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("ParseOrderStatus(%q): %v", in, err)
		}
	}
}

// TestSetStatusEveryPair drives real orders into every status and tries
// every move: allowed ones are stored and reported, refused ones change
// nothing and report nothing.
func TestSetStatusEveryPair(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	a := sh.add(t, "a", 1000, nil)
	_ = a
	reach := func(s commerce.OrderStatus) commerce.Order {
		t.Helper()
		o := sh.place(t, sh.cart("a", 1, 1000))
		var path []commerce.OrderStatus
		switch s {
		case commerce.StatusProcessing:
			path = []commerce.OrderStatus{commerce.StatusProcessing}
		case commerce.StatusPartiallyShipped, commerce.StatusShipped, commerce.StatusCompleted:
			path = []commerce.OrderStatus{commerce.StatusProcessing, s}
		case commerce.StatusCanceled:
			path = []commerce.OrderStatus{commerce.StatusCanceled}
		}
		for _, step := range path {
			var err error
			if o, err = sh.orders.SetStatus(ctx, o.ReferenceID, step, ""); err != nil {
				t.Fatalf("reaching %s: %v", s, err)
			}
		}
		return o
	}
	for _, from := range commerce.OrderStatuses {
		for _, to := range commerce.OrderStatuses {
			o := reach(from)
			before := len(sh.events.events())
			got, err := sh.orders.SetStatus(ctx, o.ReferenceID, to, "update")
			stored, _ := sh.orders.Order(ctx, o.ReferenceID)
			after := len(sh.events.events())
			if allowedMoves[[2]commerce.OrderStatus{from, to}] {
				if err != nil || got.Status != to || stored.Status != to || after != before+1 {
					t.Errorf("%s → %s: %v, returned %s, stored %s, %d events", from, to, err, got.Status, stored.Status, after-before)
				}
			} else if !errors.Is(err, commerce.ErrInvalidTransition) || stored.Status != from || after != before {
				t.Errorf("%s → %s: %v, stored %s, %d events; want refused", from, to, err, stored.Status, after-before)
			}
		}
	}
}
