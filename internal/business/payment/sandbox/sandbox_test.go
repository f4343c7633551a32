package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/payment/pix"
	"github.com/parley-im/parley/internal/business/payment/sandbox"
	"github.com/parley-im/parley/internal/business/payment/upi"
)

// recorder is a subscriber that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []payment.Event
}

func (r *recorder) notify(_ context.Context, ev payment.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) all() []payment.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payment.Event(nil), r.events...)
}

var clock = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newSandbox(t *testing.T) (*sandbox.Provider, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := sandbox.New(sandbox.Config{
		Pix:    &sandbox.PixAccount{Key: "+55 (11) 99999-9999", MerchantName: "Livraria São Jorge", MerchantCity: "São Paulo"},
		UPI:    &sandbox.UPIAccount{VPA: "bookstore@okicici", PayeeName: "Bookstore", MCC: "5942", Mode: "00", Purpose: "00"},
		Notify: rec.notify,
		Now:    func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, rec
}

func TestPixCharge(t *testing.T) {
	ctx := context.Background()
	p, _ := newSandbox(t)
	c, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "pedido-123", Amount: payment.Money{Minor: 14990, Currency: payment.BRL}, Description: "2 livros: Dom Casmurro e Vidas Secas"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != payment.StatusPending || c.Method != payment.MethodPix || !c.CreatedAt.Equal(clock) {
		t.Fatalf("charge %+v", c)
	}
	if len(c.ID) != 25 {
		t.Fatalf("charge id %q is not 25 characters", c.ID)
	}
	code, err := pix.Parse(c.Pix.Code)
	if err != nil {
		t.Fatalf("the customer's code does not parse: %v\n%s", err, c.Pix.Code)
	}
	want := pix.Code{Key: "+5511999999999", Name: "LIVRARIA SAO JORGE", City: "SAO PAULO", MCC: "0000", Amount: 14990, TxID: string(c.ID), Info: "2 livros: Dom Casmurro e Vidas Secas"}
	if code != want {
		t.Fatalf("code carries\n%+v\nwant\n%+v", code, want)
	}
	if c.Pix.MerchantName != "LIVRARIA SAO JORGE" || c.Pix.Key != "+5511999999999" || c.Pix.KeyType != "PHONE" {
		t.Fatalf("Pix payment %+v", c.Pix)
	}
}

func TestUPICharge(t *testing.T) {
	ctx := context.Background()
	p, _ := newSandbox(t)
	c, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "SampleMSIL1102", Amount: payment.Money{Minor: 45000, Currency: payment.INR}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != payment.MethodUPI {
		t.Fatalf("method %s", c.Method)
	}
	const want = "upi://pay?pa=bookstore@okicici&pn=Bookstore&tr=SampleMSIL1102&am=450.00&cu=INR&mode=00&purpose=00&mc=5942&tn=SampleMSIL1102"
	if c.UPI.Link != want {
		t.Fatalf("link\n got %s\nwant %s", c.UPI.Link, want)
	}
	if _, err := upi.Parse(c.UPI.Link); err != nil {
		t.Fatal(err)
	}
}

func TestLongDescriptions(t *testing.T) {
	ctx := context.Background()
	p, err := sandbox.New(sandbox.Config{
		// The longest e-mail key leaves field 26 no room for a message.
		Pix: &sandbox.PixAccount{Key: strings.Repeat("a", 65) + "@example.com", MerchantName: "X", MerchantCity: "Y"},
		UPI: &sandbox.UPIAccount{VPA: "x@ybl", PayeeName: "X"},
	})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Descrição longa ", 20)
	c, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "r1", Amount: payment.Money{Minor: 100, Currency: payment.BRL}, Description: long})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := pix.Parse(c.Pix.Code); err != nil || code.Info != "" {
		t.Fatalf("code %+v, %v", code, err)
	}
	c, err = p.CreateCharge(ctx, payment.ChargeRequest{Reference: "r2", Amount: payment.Money{Minor: 100, Currency: payment.INR}, Description: long + "\x00\xff"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := upi.Parse(c.UPI.Link)
	if err != nil || l.Note != string([]rune(long)[:upi.MaxNote]) {
		t.Fatalf("link %+v, %v", l, err)
	}
	c, err = p.CreateCharge(ctx, payment.ChargeRequest{Reference: "r3", Amount: payment.Money{Minor: 100, Currency: payment.INR}, Description: "a\nb\xff"})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := upi.Parse(c.UPI.Link); err != nil || l.Note != "a b " {
		t.Fatalf("control characters in a note: %+v, %v", l, err)
	}
}

func TestCreateChargeIdempotent(t *testing.T) {
	ctx := context.Background()
	p, _ := newSandbox(t)
	req := payment.ChargeRequest{Reference: "order-7", Amount: payment.Money{Minor: 5000, Currency: payment.BRL}}
	first, err := p.CreateCharge(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.CreateCharge(ctx, req)
	if err != nil || again.ID != first.ID || again.Pix.Code != first.Pix.Code {
		t.Fatalf("retried request: %+v, %v; want charge %s again", again, err, first.ID)
	}
	other := req
	other.Amount.Minor = 6000
	if _, err := p.CreateCharge(ctx, other); !errors.Is(err, payment.ErrConflict) {
		t.Fatalf("another amount for a live order: %v", err)
	}

	// Concurrent first requests for one order all get the same charge.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[payment.ChargeID]int{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "order-8", Amount: payment.Money{Minor: 100, Currency: payment.INR}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[c.ID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("concurrent requests made %d charges: %v", len(ids), ids)
	}
}

func TestCreateChargeRefuses(t *testing.T) {
	ctx := context.Background()
	p, _ := newSandbox(t)
	pixOnly, err := sandbox.New(sandbox.Config{Pix: &sandbox.PixAccount{Key: "12345678909", MerchantName: "X", MerchantCity: "Y"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    *sandbox.Provider
		req  payment.ChargeRequest
		want error
	}{
		{"dollars", p, payment.ChargeRequest{Reference: "r", Amount: payment.Money{Minor: 100, Currency: "USD"}}, payment.ErrUnsupportedCurrency},
		{"no upi account", pixOnly, payment.ChargeRequest{Reference: "r", Amount: payment.Money{Minor: 100, Currency: payment.INR}}, payment.ErrUnsupportedCurrency},
		{"zero", p, payment.ChargeRequest{Reference: "r", Amount: payment.Money{Currency: payment.BRL}}, payment.ErrInvalidRequest},
		{"negative", p, payment.ChargeRequest{Reference: "r", Amount: payment.Money{Minor: -1, Currency: payment.BRL}}, payment.ErrInvalidRequest},
		{"no reference", p, payment.ChargeRequest{Amount: payment.Money{Minor: 100, Currency: payment.BRL}}, payment.ErrInvalidRequest},
		{"reference with space", p, payment.ChargeRequest{Reference: "order 1", Amount: payment.Money{Minor: 100, Currency: payment.BRL}}, payment.ErrInvalidRequest},
		{"beyond a BR Code", p, payment.ChargeRequest{Reference: "r", Amount: payment.Money{Minor: pix.MaxAmount + 1, Currency: payment.BRL}}, payment.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := tc.p.CreateCharge(ctx, tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("CreateCharge = %+v, %v; want %v", c, err, tc.want)
			}
		})
	}
}

func TestNewRefusesBadAccounts(t *testing.T) {
	for name, cfg := range map[string]sandbox.Config{
		"bad key":    {Pix: &sandbox.PixAccount{Key: "12345678900", MerchantName: "X", MerchantCity: "Y"}},
		"long name":  {Pix: &sandbox.PixAccount{Key: "12345678909", MerchantName: "Livraria e Papelaria São Jorge Ltda", MerchantCity: "Y"}},
		"no city":    {Pix: &sandbox.PixAccount{Key: "12345678909", MerchantName: "X"}},
		"bad vpa":    {UPI: &sandbox.UPIAccount{VPA: "bookstore", PayeeName: "X"}},
		"no payee":   {UPI: &sandbox.UPIAccount{VPA: "bookstore@ybl"}},
		"bad mcc":    {UPI: &sandbox.UPIAccount{VPA: "bookstore@ybl", PayeeName: "X", MCC: "59"}},
		"pix mcc 5x": {Pix: &sandbox.PixAccount{Key: "12345678909", MerchantName: "X", MerchantCity: "Y", MCC: "59420"}},
	} {
		if _, err := sandbox.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestConfirmNotifiesOnce(t *testing.T) {
	ctx := context.Background()
	p, rec := newSandbox(t)
	c, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "pedido-1", Amount: payment.Money{Minor: 100, Currency: payment.BRL}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Charge(ctx, c.ID); got.Status != payment.StatusPending {
		t.Fatalf("status before payment: %s", got.Status)
	}
	if len(rec.all()) != 0 {
		t.Fatal("notified before any change")
	}
	for range 3 {
		got, err := p.Confirm(ctx, c.ID)
		if err != nil || got.Status != payment.StatusCaptured {
			t.Fatalf("Confirm: %+v, %v", got, err)
		}
	}
	evs := rec.all()
	if len(evs) != 1 {
		t.Fatalf("%d events for one capture, want 1: %+v", len(evs), evs)
	}
	if ev := evs[0]; ev.From != payment.StatusPending || ev.Charge.Status != payment.StatusCaptured || ev.Charge.ID != c.ID || ev.Charge.Reference != "pedido-1" {
		t.Fatalf("event %+v", ev)
	}
	if got, err := p.Charge(ctx, c.ID); err != nil || got.Status != payment.StatusCaptured {
		t.Fatalf("status after payment: %+v, %v", got, err)
	}
	if _, err := p.Fail(ctx, c.ID, "late"); !errors.Is(err, payment.ErrConflict) {
		t.Fatalf("failing a captured charge: %v", err)
	}
	// A captured order keeps its charge: asking again returns it.
	if again, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "pedido-1", Amount: payment.Money{Minor: 100, Currency: payment.BRL}}); err != nil || again.ID != c.ID || again.Status != payment.StatusCaptured {
		t.Fatalf("charge for a paid order: %+v, %v", again, err)
	}
	if len(rec.all()) != 1 {
		t.Fatalf("extra events: %+v", rec.all())
	}
	if _, err := p.Confirm(ctx, "sbxnope"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("unknown charge: %v", err)
	}
}

func TestFailFreesTheOrder(t *testing.T) {
	ctx := context.Background()
	p, rec := newSandbox(t)
	req := payment.ChargeRequest{Reference: "order-9", Amount: payment.Money{Minor: 100, Currency: payment.INR}}
	c, err := p.CreateCharge(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := p.Fail(ctx, c.ID, "declined by bank")
	if err != nil || failed.Status != payment.StatusFailed || failed.FailureReason != "declined by bank" {
		t.Fatalf("Fail: %+v, %v", failed, err)
	}
	if _, err := p.Fail(ctx, c.ID, "again"); err != nil {
		t.Fatalf("failing twice: %v", err)
	}
	if _, err := p.Confirm(ctx, c.ID); !errors.Is(err, payment.ErrConflict) {
		t.Fatalf("confirming a failed charge: %v", err)
	}
	retry, err := p.CreateCharge(ctx, req)
	if err != nil || retry.ID == c.ID || retry.Status != payment.StatusPending {
		t.Fatalf("new charge after a failure: %+v, %v", retry, err)
	}
	evs := rec.all()
	if len(evs) != 1 || evs[0].Charge.Status != payment.StatusFailed || evs[0].Charge.FailureReason != "declined by bank" {
		t.Fatalf("events %+v", evs)
	}
}

func TestConcurrentSettlementsNotifyOnce(t *testing.T) {
	ctx := context.Background()
	p, rec := newSandbox(t)
	const charges = 20
	ids := make([]payment.ChargeID, charges)
	for i := range ids {
		c, err := p.CreateCharge(ctx, payment.ChargeRequest{Reference: "o" + string(rune('a'+i)), Amount: payment.Money{Minor: 100, Currency: payment.BRL}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	// Operators and webhooks racing: each charge gets four confirmations
	// and four failures at once.
	var wg sync.WaitGroup
	for _, id := range ids {
		for j := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if j%2 == 0 {
					_, err = p.Confirm(ctx, id)
				} else {
					_, err = p.Fail(ctx, id, "race")
				}
				if err != nil && !errors.Is(err, payment.ErrConflict) {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	per := map[payment.ChargeID]int{}
	for _, ev := range rec.all() {
		per[ev.Charge.ID]++
		final, err := p.Charge(ctx, ev.Charge.ID)
		if err != nil || final.Status != ev.Charge.Status {
			t.Fatalf("event says %s, charge is %+v (%v)", ev.Charge.Status, final, err)
		}
	}
	for _, id := range ids {
		if per[id] != 1 {
			t.Errorf("charge %s: %d events, want exactly 1", id, per[id])
		}
	}
}
