package commerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/commerce"
)

func TestPlaceOrder(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	a, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, commerce.Product{
		RetailerID: "a", Name: "Dom Casmurro", Currency: "BRL", Price: 2500, SalePrice: ptr[int64](1990), Inventory: ptr[int64](5),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := sh.add(t, "b", 4990, nil) // untracked
	c, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, commerce.Product{
		RetailerID: "c", Name: "Novo livro", Currency: "BRL", Price: 5900, Inventory: ptr[int64](0), SetAvailability: commerce.Preorder,
	})
	if err != nil {
		t.Fatal(err)
	}
	charges := commerce.Charges{
		Tax:      commerce.Charge{Amount: 100, Description: "ICMS"},
		Shipping: commerce.Charge{Amount: 1500, Description: "Correios"},
		Discount: commerce.Charge{Amount: 500, Description: "Cupom"}, DiscountProgram: "BEMVINDO",
	}
	o, err := sh.orders.Place(ctx, commerce.PlaceRequest{
		Customer: "5511999999999", SourceMessageID: "wamid.cart1", Charges: charges,
		Cart: commerce.Cart{CatalogID: sh.catalog.ID, Text: "para presente", Items: []commerce.CartItem{
			{RetailerID: "a", Quantity: 2, Price: commerce.Money{Amount: 1990, Currency: "BRL"}},
			{RetailerID: "b", Quantity: 1, Price: commerce.Money{Amount: 4500, Currency: "BRL"}}, // price went up since
			{RetailerID: "c", Quantity: 3, Price: commerce.Money{Amount: 5900, Currency: "BRL"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{16}$`).MatchString(o.ReferenceID) {
		t.Errorf("reference %q", o.ReferenceID)
	}
	wantSubtotal := int64(1990*2 + 4990 + 5900*3)
	if o.Subtotal != wantSubtotal || o.Total != wantSubtotal+100+1500-500 || o.Currency != "BRL" {
		t.Errorf("subtotal %d total %d %s; want %d, %d BRL", o.Subtotal, o.Total, o.Currency, wantSubtotal, wantSubtotal+1100)
	}
	if o.Status != commerce.StatusPending || o.Payment != commerce.PaymentNone || o.Stock != commerce.StockHeld {
		t.Errorf("new order is %s/%s/%s", o.Status, o.Payment, o.Stock)
	}
	if want := sh.clock.Now().Add(commerce.DefaultReservationTTL); !o.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", o.ExpiresAt, want)
	}
	if pc := o.PriceChanged(); len(pc) != 1 || pc[0].RetailerID != "b" || pc[0].SeenPrice != 4500 || pc[0].UnitPrice() != 4990 {
		t.Errorf("PriceChanged = %+v", pc)
	}
	wantItems := []commerce.OrderItem{
		{ProductID: a.ID, RetailerID: "a", Name: "Dom Casmurro", Quantity: 2, Price: 2500, SalePrice: ptr[int64](1990), SeenPrice: 1990, Reserved: 2},
		{ProductID: b.ID, RetailerID: "b", Name: "Livro b", Quantity: 1, Price: 4990, SeenPrice: 4500},
		{ProductID: c.ID, RetailerID: "c", Name: "Novo livro", Quantity: 3, Price: 5900, SeenPrice: 5900},
	}
	if !reflect.DeepEqual(o.Items, wantItems) {
		t.Errorf("items\n%+v\nwant\n%+v", o.Items, wantItems)
	}
	// Only the tracked, in-stock product is reserved.
	if inv, res := sh.stock(t, a.ID); inv != 5 || res != 2 {
		t.Errorf("a: inventory %d reserved %d", inv, res)
	}
	if _, res := sh.stock(t, c.ID); res != 0 {
		t.Errorf("preorder product reserved %d", res)
	}
	if free, _ := sh.product(t, a.ID).Free(); free != 3 {
		t.Errorf("a free %d", free)
	}
	stored, err := sh.orders.Order(ctx, o.ReferenceID)
	if err != nil || !reflect.DeepEqual(stored, o) {
		t.Errorf("stored order\n%+v, %v\nwant\n%+v", stored, err, o)
	}
	if evs := sh.events.events(); len(evs) != 1 || evs[0].Prev != nil || evs[0].Order.ReferenceID != o.ReferenceID || !evs[0].StatusChanged() {
		t.Errorf("events %+v", evs)
	}
	list, err := sh.orders.CustomerOrders(ctx, "5511999999999", 10)
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], o) {
		t.Errorf("CustomerOrders = %+v, %v", list, err)
	}
}

func TestPlaceOrderWithChosenReference(t *testing.T) {
	sh := newShop(t)
	sh.add(t, "a", 1000, ptr[int64](3))
	ctx := t.Context()
	o, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: sh.cart("a", 1, 1000), ReferenceID: "pedido-123"})
	if err != nil || o.ReferenceID != "pedido-123" {
		t.Fatalf("%+v, %v", o, err)
	}
	if _, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: sh.cart("a", 1, 1000), ReferenceID: "pedido-123"}); !errors.Is(err, commerce.ErrExists) {
		t.Fatalf("second order with the same reference: %v", err)
	}
	for _, ref := range []string{"pedido 123", "x/y", "0123456789012345678901234567890123456"} {
		if _, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: sh.cart("a", 1, 1000), ReferenceID: ref}); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("reference %q: %v", ref, err)
		}
	}
	if _, res := sh.stock(t, sh.product(t, o.Items[0].ProductID).ID); res != 1 {
		t.Errorf("reserved %d after refused orders, want 1", res)
	}
}

// A cart with any bad item places nothing, reserves nothing, and says what
// is wrong with every item.
func TestPlaceRefusesWholeCart(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	a := sh.add(t, "a", 1000, ptr[int64](5))
	b := sh.add(t, "b", 1000, ptr[int64](1))
	if _, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, commerce.Product{
		RetailerID: "d", Name: "Esgotado", Currency: "BRL", Price: 100, SetAvailability: commerce.Discontinued,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, commerce.Product{
		RetailerID: "e", Name: "Imported", Currency: "USD", Price: 100,
	}); err != nil {
		t.Fatal(err)
	}
	sh.add(t, "f", 1000, ptr[int64](0)) // derived: out of stock
	_, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: sh.cart(
		"a", 2, 1000, "b", 2, 1000, "x", 1, 1000, "d", 1, 100, "e", 1, 100, "f", 1, 1000)})
	var cerr *commerce.CartError
	if !errors.As(err, &cerr) {
		t.Fatalf("Place = %v, want a *CartError", err)
	}
	want := []commerce.ItemError{
		{RetailerID: "b", Err: commerce.ErrInsufficientStock, Available: 1},
		{RetailerID: "x", Err: commerce.ErrUnknownProduct},
		{RetailerID: "d", Err: commerce.ErrUnavailable},
		{RetailerID: "e", Err: commerce.ErrCurrencyMismatch},
		{RetailerID: "f", Err: commerce.ErrUnavailable},
	}
	if !reflect.DeepEqual(cerr.Items, want) {
		t.Errorf("item errors\n%+v\nwant\n%+v", cerr.Items, want)
	}
	for _, e := range []error{commerce.ErrInsufficientStock, commerce.ErrUnknownProduct, commerce.ErrUnavailable, commerce.ErrCurrencyMismatch} {
		if !errors.Is(err, e) {
			t.Errorf("error does not match %v", e)
		}
	}
	for _, p := range []commerce.Product{a, b} {
		if _, res := sh.stock(t, p.ID); res != 0 {
			t.Errorf("%s reserved %d after a refused cart", p.RetailerID, res)
		}
	}
	if list, _ := sh.orders.CustomerOrders(ctx, "1", 10); len(list) != 0 || len(sh.events.events()) != 0 {
		t.Errorf("a refused cart left %d orders and %d events", len(list), len(sh.events.events()))
	}

	// The customer saw USD for a BRL product.
	usd := sh.cart("a", 1, 1000)
	usd.Items[0].Price.Currency = "USD"
	if _, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: usd}); !errors.Is(err, commerce.ErrCurrencyMismatch) {
		t.Errorf("cart in the wrong currency: %v", err)
	}
	// A catalog the business does not have.
	other := sh.cart("a", 1, 1000)
	other.CatalogID = "999999999999999"
	if _, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: other}); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("unknown catalog: %v", err)
	}
	// Malformed requests.
	for name, req := range map[string]commerce.PlaceRequest{
		"no customer":   {Cart: sh.cart("a", 1, 1000)},
		"empty cart":    {Customer: "1", Cart: commerce.Cart{CatalogID: sh.catalog.ID}},
		"zero quantity": {Customer: "1", Cart: sh.cart("a", 0, 1000)},
		"repeated item": {Customer: "1", Cart: sh.cart("a", 1, 1000, "a", 1, 1000)},
		"negative tax":  {Customer: "1", Cart: sh.cart("a", 1, 1000), Charges: commerce.Charges{Tax: commerce.Charge{Amount: -1}}},
		"discount above total": {Customer: "1", Cart: sh.cart("a", 1, 1000),
			Charges: commerce.Charges{Shipping: commerce.Charge{Amount: 100}, Discount: commerce.Charge{Amount: 1101}}},
	} {
		if _, err := sh.orders.Place(ctx, req); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, res := sh.stock(t, a.ID); res != 0 {
		t.Errorf("a reserved %d after refused requests", res)
	}
}

// Of concurrent orders for the last items, exactly one gets them, and an
// order for two products gets both or neither.
func TestConcurrentOrdersForTheLastItem(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	last := sh.add(t, "last", 3990, ptr[int64](1))
	x := sh.add(t, "x", 100, ptr[int64](1))
	y := sh.add(t, "y", 100, ptr[int64](1))

	const n = 8
	type result struct {
		o   commerce.Order
		err error
	}
	race := func(carts func(i int) commerce.Cart) []result {
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				o, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: fmt.Sprint(5511900000000 + i), Cart: carts(i)})
				results[i] = result{o, err}
			})
		}
		close(start)
		wg.Wait()
		return results
	}
	check := func(name string, results []result) {
		t.Helper()
		won := 0
		for _, r := range results {
			switch {
			case r.err == nil:
				won++
			case errors.Is(r.err, commerce.ErrInsufficientStock) || errors.Is(r.err, commerce.ErrUnavailable):
			default:
				t.Errorf("%s: unexpected error %v", name, r.err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d orders got the last item, want exactly 1", name, won)
		}
	}

	check("last item", race(func(int) commerce.Cart { return sh.cart("last", 1, 3990) }))
	if inv, res := sh.stock(t, last.ID); inv != 1 || res != 1 {
		t.Errorf("last: inventory %d reserved %d", inv, res)
	}

	// Three left, every order wants two: one order gets them and one item
	// stays free (so the product still shows in stock to the losers).
	three := sh.add(t, "three", 100, ptr[int64](3))
	check("two of three", race(func(int) commerce.Cart { return sh.cart("three", 2, 100) }))
	if inv, res := sh.stock(t, three.ID); inv != 3 || res != 2 {
		t.Errorf("three: inventory %d reserved %d", inv, res)
	}

	// Half the orders want x then y, half y then x.
	results := race(func(i int) commerce.Cart {
		if i%2 == 0 {
			return sh.cart("x", 1, 100, "y", 1, 100)
		}
		return sh.cart("y", 1, 100, "x", 1, 100)
	})
	check("two products", results)
	for _, p := range []commerce.Product{x, y} {
		if _, res := sh.stock(t, p.ID); res != 1 {
			t.Errorf("%s reserved %d, want 1", p.RetailerID, res)
		}
	}
	for _, r := range results {
		if r.err == nil && len(r.o.Items) != 2 {
			t.Errorf("winning order has %d items", len(r.o.Items))
		}
	}
}

// The store's Reserve alone also never oversells, even outside a
// transaction.
func TestReserveNeverOversells(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 100, ptr[int64](3))
	u := sh.add(t, "u", 100, nil)
	var refs []string
	for range 6 {
		o := sh.place(t, sh.cart("u", 1, 100))
		refs = append(refs, o.ReferenceID)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got int
	)
	for _, ref := range refs {
		wg.Go(func() {
			err := sh.st.Reserve(ctx, ref, p.ID, 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				got++
			case !errors.Is(err, commerce.ErrInsufficientStock):
				t.Errorf("Reserve: %v", err)
			}
		})
	}
	wg.Wait()
	if _, res := sh.stock(t, p.ID); got != 3 || res != 3 {
		t.Errorf("%d reservations succeeded, %d reserved; want 3", got, res)
	}
	if err := sh.st.Reserve(ctx, "NOPE", p.ID, 1); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("reserve for a missing order: %v", err)
	}
	if err := sh.st.Reserve(ctx, refs[0], "1", 1); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("reserve of a missing product: %v", err)
	}
	_ = u
}

func TestCancelReleasesStock(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](2))
	o := sh.place(t, sh.cart("p", 2, 1000))
	if free, _ := sh.product(t, p.ID).Free(); free != 0 || sh.product(t, p.ID).Availability() != commerce.OutOfStock {
		t.Fatalf("free %d with everything reserved", free)
	}
	c, err := sh.orders.Cancel(ctx, o.ReferenceID, commerce.ReasonCustomer, "Cancelado a pedido")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != commerce.StatusCanceled || c.Stock != commerce.StockReleased || c.CancelReason != commerce.ReasonCustomer {
		t.Errorf("canceled order %s/%s/%q", c.Status, c.Stock, c.CancelReason)
	}
	if inv, res := sh.stock(t, p.ID); inv != 2 || res != 0 {
		t.Errorf("after cancel: inventory %d reserved %d", inv, res)
	}
	if _, err := sh.orders.Cancel(ctx, o.ReferenceID, "", ""); !errors.Is(err, commerce.ErrInvalidTransition) {
		t.Errorf("canceling twice: %v", err)
	}
	// The stock is there for the next customer.
	sh.place(t, sh.cart("p", 2, 1000))
}

func TestCancelRefusedOncePaymentStarted(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](5))
	for _, pay := range []commerce.PaymentStatus{commerce.PaymentPending, commerce.PaymentCaptured} {
		o := sh.place(t, sh.cart("p", 1, 1000))
		if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, pay, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := sh.orders.Cancel(ctx, o.ReferenceID, commerce.ReasonCustomer, ""); !errors.Is(err, commerce.ErrInvalidTransition) {
			t.Errorf("cancel with payment %s: %v", pay, err)
		}
		if _, err := sh.orders.SetStatus(ctx, o.ReferenceID, commerce.StatusCanceled, ""); !errors.Is(err, commerce.ErrInvalidTransition) {
			t.Errorf("SetStatus canceled with payment %s: %v", pay, err)
		}
	}
	// A failed payment does not stop a cancel.
	o := sh.place(t, sh.cart("p", 1, 1000))
	if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentFailed, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.orders.Cancel(ctx, o.ReferenceID, commerce.ReasonCustomer, ""); err != nil {
		t.Errorf("cancel after a failed payment: %v", err)
	}
	_ = p
}

func TestPaymentLifecycle(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](3))

	// Failure releases the stock; a retry takes it again; capture commits.
	o := sh.place(t, sh.cart("p", 2, 1000))
	o, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentFailed, "tx-1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Stock != commerce.StockReleased || o.Status != commerce.StatusPending || o.PaymentTransactionID != "tx-1" {
		t.Errorf("after failure: %s/%s/%q", o.Stock, o.Status, o.PaymentTransactionID)
	}
	if _, res := sh.stock(t, p.ID); res != 0 {
		t.Errorf("reserved %d after payment failure", res)
	}
	if o, err = sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentPending, "tx-2"); err != nil {
		t.Fatal(err)
	}
	if _, res := sh.stock(t, p.ID); res != 2 || o.Stock != commerce.StockHeld {
		t.Errorf("retry: reserved %d, stock %s", res, o.Stock)
	}
	if o, err = sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentCaptured, "tx-2"); err != nil {
		t.Fatal(err)
	}
	if o.Status != commerce.StatusProcessing || o.Payment != commerce.PaymentCaptured || o.Stock != commerce.StockCommitted {
		t.Errorf("after capture: %s/%s/%s", o.Status, o.Payment, o.Stock)
	}
	if inv, res := sh.stock(t, p.ID); inv != 1 || res != 0 {
		t.Errorf("after capture: inventory %d reserved %d, want 1 and 0", inv, res)
	}
	evs := sh.events.events()
	last := evs[len(evs)-1]
	if !last.PaymentChanged() || !last.StatusChanged() || last.Prev.Payment != commerce.PaymentPending {
		t.Errorf("capture event %+v", last)
	}
	if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentFailed, ""); !errors.Is(err, commerce.ErrInvalidTransition) {
		t.Errorf("failing a captured payment: %v", err)
	}
	// Shipping and completing do not take the stock twice.
	for _, s := range []commerce.OrderStatus{commerce.StatusShipped, commerce.StatusCompleted} {
		if _, err := sh.orders.SetStatus(ctx, o.ReferenceID, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	if inv, _ := sh.stock(t, p.ID); inv != 1 {
		t.Errorf("inventory %d after shipping, want 1", inv)
	}
}

// A retry after the stock went to someone else records the payment but
// holds nothing; the capture then takes what is left, stopping at zero.
func TestPaymentAfterStockWasTaken(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](1))
	o := sh.place(t, sh.cart("p", 1, 1000))
	if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentFailed, ""); err != nil {
		t.Fatal(err)
	}
	other := sh.place(t, sh.cart("p", 1, 1000))
	o, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentPending, "")
	if err != nil || o.Stock != commerce.StockReleased || o.Payment != commerce.PaymentPending {
		t.Fatalf("retry without stock: %+v, %v", o, err)
	}
	if _, res := sh.stock(t, p.ID); res != 1 {
		t.Errorf("reserved %d, want the other order's 1", res)
	}
	if o, err = sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentCaptured, ""); err != nil || o.Stock != commerce.StockCommitted {
		t.Fatalf("capture: %+v, %v", o, err)
	}
	if inv, res := sh.stock(t, p.ID); inv != 0 || res != 1 {
		t.Errorf("inventory %d reserved %d, want 0 and 1", inv, res)
	}
	// The other order's capture cannot take below zero either.
	if _, err := sh.orders.SetPayment(ctx, other.ReferenceID, commerce.PaymentCaptured, ""); err != nil {
		t.Fatal(err)
	}
	if inv, res := sh.stock(t, p.ID); inv != 0 || res != 0 {
		t.Errorf("inventory %d reserved %d, want 0 and 0", inv, res)
	}
}

func TestCaptureAfterCancelNeedsRefund(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](2))
	o := sh.place(t, sh.cart("p", 1, 1000))
	sh.clock.Advance(31 * time.Minute)
	if n, err := sh.orders.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireDue = %d, %v", n, err)
	}
	o, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentCaptured, "late-pix")
	if err != nil {
		t.Fatal(err)
	}
	if !o.NeedsRefund() || o.Status != commerce.StatusCanceled || o.Stock != commerce.StockReleased {
		t.Errorf("late capture: %s/%s/%s NeedsRefund=%v", o.Status, o.Payment, o.Stock, o.NeedsRefund())
	}
	if inv, res := sh.stock(t, p.ID); inv != 2 || res != 0 {
		t.Errorf("late capture touched stock: inventory %d reserved %d", inv, res)
	}
}

// Orders paid on delivery commit their stock when they ship.
func TestShippingCommitsUnpaidOrder(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](5))
	o := sh.place(t, sh.cart("p", 2, 1000))
	if _, err := sh.orders.SetStatus(ctx, o.ReferenceID, commerce.StatusProcessing, "Separando"); err != nil {
		t.Fatal(err)
	}
	if inv, res := sh.stock(t, p.ID); inv != 5 || res != 2 {
		t.Errorf("processing: inventory %d reserved %d", inv, res)
	}
	o, err := sh.orders.SetStatus(ctx, o.ReferenceID, commerce.StatusPartiallyShipped, "1 de 2 enviado")
	if err != nil || o.Stock != commerce.StockCommitted || o.Description != "1 de 2 enviado" {
		t.Fatalf("partially shipped: %+v, %v", o, err)
	}
	if inv, res := sh.stock(t, p.ID); inv != 3 || res != 0 {
		t.Errorf("shipped: inventory %d reserved %d, want 3 and 0", inv, res)
	}
	if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentCaptured, ""); err != nil {
		t.Fatal(err)
	}
	if inv, _ := sh.stock(t, p.ID); inv != 3 {
		t.Errorf("capture after shipping took stock again: inventory %d", inv)
	}
	if _, err := sh.orders.SetStatus(ctx, o.ReferenceID, commerce.StatusShipped, "Enviado"); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.orders.SetStatus(ctx, o.ReferenceID, commerce.StatusCompleted, strings.Repeat("é", 121)); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("description of 121 characters: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](10))
	unpaid := sh.place(t, sh.cart("p", 1, 1000))
	paying := sh.place(t, sh.cart("p", 1, 1000))
	failed := sh.place(t, sh.cart("p", 1, 1000))
	processing := sh.place(t, sh.cart("p", 1, 1000))
	for ref, pay := range map[string]commerce.PaymentStatus{paying.ReferenceID: commerce.PaymentPending, failed.ReferenceID: commerce.PaymentFailed} {
		if _, err := sh.orders.SetPayment(ctx, ref, pay, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sh.orders.SetStatus(ctx, processing.ReferenceID, commerce.StatusProcessing, ""); err != nil {
		t.Fatal(err)
	}
	sh.clock.Advance(29 * time.Minute)
	if n, err := sh.orders.ExpireDue(ctx); err != nil || n != 0 {
		t.Fatalf("ExpireDue before the deadline = %d, %v", n, err)
	}
	sh.clock.Advance(time.Minute) // exactly at ExpiresAt
	before := len(sh.events.events())
	if n, err := sh.orders.ExpireDue(ctx); err != nil || n != 2 {
		t.Fatalf("ExpireDue = %d, %v; want 2", n, err)
	}
	want := map[string]commerce.OrderStatus{
		unpaid.ReferenceID: commerce.StatusCanceled, failed.ReferenceID: commerce.StatusCanceled,
		paying.ReferenceID: commerce.StatusPending, processing.ReferenceID: commerce.StatusProcessing,
	}
	for ref, st := range want {
		o, _ := sh.orders.Order(ctx, ref)
		if o.Status != st {
			t.Errorf("order %s is %s, want %s", ref, o.Status, st)
		}
		if st == commerce.StatusCanceled && (o.CancelReason != commerce.ReasonExpired || o.Stock != commerce.StockReleased) {
			t.Errorf("expired order: reason %q stock %s", o.CancelReason, o.Stock)
		}
	}
	// paying and processing still hold theirs.
	if _, res := sh.stock(t, p.ID); res != 2 {
		t.Errorf("reserved %d after expiry, want 2", res)
	}
	if got := len(sh.events.events()) - before; got != 2 {
		t.Errorf("%d events for 2 expiries", got)
	}
	if n, err := sh.orders.ExpireDue(ctx); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v", n, err)
	}
}

func TestExpiryTTLOption(t *testing.T) {
	st := newStore(t)
	c := newClock()
	cat := commerce.NewCatalogs(st, &commerce.CatalogOptions{Now: c.Now})
	orders := commerce.NewOrders(st, &commerce.OrderOptions{Now: c.Now, ReservationTTL: 5 * time.Minute})
	ctx := t.Context()
	catalog, _ := cat.CreateCatalog(ctx, "x")
	if _, err := cat.CreateProduct(ctx, catalog.ID, commerce.Product{RetailerID: "p", Name: "p", Currency: "INR", Price: 100, Inventory: ptr[int64](1)}); err != nil {
		t.Fatal(err)
	}
	o, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "91", Cart: commerce.Cart{CatalogID: catalog.ID,
		Items: []commerce.CartItem{{RetailerID: "p", Quantity: 1, Price: commerce.Money{Amount: 100, Currency: "INR"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !o.ExpiresAt.Equal(c.Now().Add(5 * time.Minute)) {
		t.Errorf("expires at %v", o.ExpiresAt)
	}
	c.Advance(5 * time.Minute)
	if n, err := orders.ExpireDue(ctx); err != nil || n != 1 {
		t.Errorf("ExpireDue = %d, %v", n, err)
	}
}

// Run sweeps on its own; the test waits for the expiry event, not a sleep.
func TestRunExpiresOrders(t *testing.T) {
	st := newStore(t)
	c := newClock()
	expired := make(chan string, 1)
	orders := commerce.NewOrders(st, &commerce.OrderOptions{Now: c.Now, SweepInterval: 5 * time.Millisecond,
		Subscribers: []commerce.Subscriber{commerce.SubscriberFunc(func(_ context.Context, ev commerce.OrderEvent) error {
			if ev.Order.CancelReason == commerce.ReasonExpired {
				expired <- ev.Order.ReferenceID
			}
			return nil
		})}})
	cat := commerce.NewCatalogs(st, nil)
	ctx := t.Context()
	catalog, _ := cat.CreateCatalog(ctx, "x")
	if _, err := cat.CreateProduct(ctx, catalog.ID, commerce.Product{RetailerID: "p", Name: "p", Currency: "EUR", Price: 100, Inventory: ptr[int64](1)}); err != nil {
		t.Fatal(err)
	}
	o, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "49", Cart: commerce.Cart{CatalogID: catalog.ID,
		Items: []commerce.CartItem{{RetailerID: "p", Quantity: 1, Price: commerce.Money{Amount: 100, Currency: "EUR"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- orders.Run(runCtx) }()
	c.Advance(time.Hour)
	select {
	case ref := <-expired:
		if ref != o.ReferenceID {
			t.Errorf("expired %s, want %s", ref, o.ReferenceID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not expire the order")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// A subscriber's error undoes the change: the order and its reservations
// are not kept.
func TestSubscriberErrorRollsBack(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](1))
	fail := true
	sh.orders.Subscribe(commerce.SubscriberFunc(func(ctx context.Context, ev commerce.OrderEvent) error {
		if fail {
			return errors.New("webhook queue full")
		}
		return nil
	}))
	if _, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: sh.cart("p", 1, 1000)}); err == nil {
		t.Fatal("Place succeeded although a subscriber failed")
	}
	if _, res := sh.stock(t, p.ID); res != 0 {
		t.Errorf("reserved %d after a rolled-back order", res)
	}
	if list, _ := sh.orders.CustomerOrders(ctx, "1", 10); len(list) != 0 {
		t.Errorf("rolled-back order is stored")
	}
	fail = false
	o := sh.place(t, sh.cart("p", 1, 1000))
	fail = true
	if _, err := sh.orders.Cancel(ctx, o.ReferenceID, commerce.ReasonCustomer, ""); err == nil {
		t.Fatal("Cancel succeeded although a subscriber failed")
	}
	if got, _ := sh.orders.Order(ctx, o.ReferenceID); got.Status != commerce.StatusPending {
		t.Errorf("order is %s after a rolled-back cancel", got.Status)
	}
	if _, res := sh.stock(t, p.ID); res != 1 {
		t.Errorf("reserved %d after a rolled-back cancel, want 1", res)
	}
}

// A subscriber writing with the event's ctx commits with the change (the
// outbox the webhook side relies on).
func TestSubscriberWritesInTheSameTransaction(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	sh.add(t, "p", 1000, ptr[int64](1))
	sh.orders.Subscribe(commerce.SubscriberFunc(func(ctx context.Context, ev commerce.OrderEvent) error {
		// Sees the order it is told about, within the transaction.
		if _, err := sh.st.Order(ctx, ev.Order.ReferenceID); err != nil {
			return err
		}
		_, err := sh.st.NewObjectID(ctx, "webhook-test")
		return err
	}))
	done := make(chan error, 1)
	go func() {
		_, err := sh.orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Cart: sh.cart("p", 1, 1000)})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a subscriber writing with the event's ctx deadlocked")
	}
}

func TestDuplicateCartMessage(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](5))
	req := commerce.PlaceRequest{Customer: "1", Cart: sh.cart("p", 2, 1000), SourceMessageID: "wamid.same"}
	first, err := sh.orders.Place(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sh.orders.Place(ctx, req)
	if !errors.Is(err, commerce.ErrDuplicate) || again.ReferenceID != first.ReferenceID {
		t.Fatalf("second placement: %s, %v", again.ReferenceID, err)
	}
	if _, res := sh.stock(t, p.ID); res != 2 {
		t.Errorf("reserved %d after a retried webhook, want 2", res)
	}
}

func TestUpdateCharges(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	sh.add(t, "p", 1000, nil)
	o := sh.place(t, sh.cart("p", 3, 1000))
	o, err := sh.orders.UpdateCharges(ctx, o.ReferenceID, commerce.Charges{Shipping: commerce.Charge{Amount: 1590, Description: "Sedex"}})
	if err != nil || o.Subtotal != 3000 || o.Total != 4590 {
		t.Fatalf("UpdateCharges: %+v, %v", o, err)
	}
	if _, err := sh.orders.UpdateCharges(ctx, o.ReferenceID, commerce.Charges{Discount: commerce.Charge{Amount: 3001}}); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("discount above the subtotal: %v", err)
	}
	if got, _ := sh.orders.Order(ctx, o.ReferenceID); got.Total != 4590 {
		t.Errorf("refused update changed the total to %d", got.Total)
	}
	if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentPending, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.orders.UpdateCharges(ctx, o.ReferenceID, commerce.Charges{}); !errors.Is(err, commerce.ErrInvalidTransition) {
		t.Errorf("charges while paying: %v", err)
	}
}

// Exact totals: large amounts and JPY, which has no minor unit.
func TestOrderTotals(t *testing.T) {
	st := newStore(t)
	cat := commerce.NewCatalogs(st, nil)
	orders := commerce.NewOrders(st, nil)
	ctx := t.Context()
	catalog, _ := cat.CreateCatalog(ctx, "x")
	for _, p := range []commerce.Product{
		{RetailerID: "yen", Name: "Manga", Currency: "JPY", Price: 980},
		{RetailerID: "big", Name: "Carro", Currency: "BRL", Price: 99_999_999_999_999},
		{RetailerID: "cent", Name: "Bala", Currency: "BRL", Price: 1},
	} {
		if _, err := cat.CreateProduct(ctx, catalog.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		items    []commerce.CartItem
		charges  commerce.Charges
		subtotal int64
		total    int64
		err      error
	}{
		{"yen", []commerce.CartItem{{RetailerID: "yen", Quantity: 3, Price: commerce.Money{Amount: 980, Currency: "JPY"}}},
			commerce.Charges{Tax: commerce.Charge{Amount: 294}}, 2940, 3234, nil},
		{"centavos", []commerce.CartItem{{RetailerID: "cent", Quantity: 10000, Price: commerce.Money{Amount: 1, Currency: "BRL"}}},
			commerce.Charges{Discount: commerce.Charge{Amount: 10000}}, 10000, 0, nil},
		{"at the limit", []commerce.CartItem{{RetailerID: "big", Quantity: 10, Price: commerce.Money{Amount: 99_999_999_999_999, Currency: "BRL"}}},
			commerce.Charges{Tax: commerce.Charge{Amount: 9}}, 999_999_999_999_990, 999_999_999_999_999, nil},
		{"beyond the limit", []commerce.CartItem{{RetailerID: "big", Quantity: 10, Price: commerce.Money{Amount: 99_999_999_999_999, Currency: "BRL"}}},
			commerce.Charges{Tax: commerce.Charge{Amount: 10}}, 0, 0, commerce.ErrInvalidAmount},
		{"mixed currencies", []commerce.CartItem{
			{RetailerID: "cent", Quantity: 1, Price: commerce.Money{Amount: 1, Currency: "BRL"}},
			{RetailerID: "yen", Quantity: 1, Price: commerce.Money{Amount: 980, Currency: "JPY"}}},
			commerce.Charges{}, 0, 0, commerce.ErrCurrencyMismatch},
	} {
		o, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "1", Charges: tc.charges,
			Cart: commerce.Cart{CatalogID: catalog.ID, Items: tc.items}})
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || o.Subtotal != tc.subtotal || o.Total != tc.total {
			t.Errorf("%s: subtotal %d total %d, %v; want %d, %d", tc.name, o.Subtotal, o.Total, err, tc.subtotal, tc.total)
		}
	}
}

// Deleting a product keeps the orders that hold it readable and
// cancelable.
func TestDeletedProductInOrder(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.add(t, "p", 1000, ptr[int64](2))
	o := sh.place(t, sh.cart("p", 1, 1000))
	if err := sh.cat.DeleteProduct(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	got, err := sh.orders.Order(ctx, o.ReferenceID)
	if err != nil || got.Items[0].ProductID != "" || got.Items[0].Name != "Livro p" {
		t.Fatalf("order after product deletion: %+v, %v", got, err)
	}
	if _, err := sh.orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentCaptured, ""); err != nil {
		t.Fatalf("capture after product deletion: %v", err)
	}
}

// OrderDetails of an order like the one in Meta's "Send Order Details
// Message" example (OpenAPI v23.0) gives that example's parameters
// (testdata/order-details-openapi.json, copied from it).
func TestOrderDetailsMatchesMetaExample(t *testing.T) {
	st := newStore(t)
	cat := commerce.NewCatalogs(st, nil)
	orders := commerce.NewOrders(st, nil)
	ctx := t.Context()
	catalog, _ := cat.CreateCatalog(ctx, "padaria")
	if _, err := cat.CreateProduct(ctx, catalog.ID, commerce.Product{RetailerID: "1234567", Name: "bread", Currency: "INR",
		Price: 1500, SalePrice: ptr[int64](1000)}); err != nil {
		t.Fatal(err)
	}
	o, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "91", ReferenceID: "unique-reference-id",
		Cart: commerce.Cart{CatalogID: catalog.ID, Items: []commerce.CartItem{{RetailerID: "1234567", Quantity: 1,
			Price: commerce.Money{Amount: 1000, Currency: "INR"}}}},
		Charges: commerce.Charges{Tax: commerce.Charge{Amount: 100, Description: "optional_text"},
			Shipping: commerce.Charge{Amount: 100, Description: "optional_text"},
			Discount: commerce.Charge{Amount: 100, Description: "optional_text"}, DiscountProgram: "optional_text"}})
	if err != nil {
		t.Fatal(err)
	}
	d := commerce.OrderDetails(o, commerce.DigitalGoods)
	if d.Order.CatalogID != catalog.ID || d.Order.Expiration == nil || d.Order.Expiration.Timestamp != fmt.Sprint(o.ExpiresAt.Unix()) {
		t.Errorf("catalog %q expiration %+v", d.Order.CatalogID, d.Order.Expiration)
	}
	// Meta's example has neither.
	d.Order.CatalogID, d.Order.Expiration = "", nil
	d.PaymentType, d.PaymentConfiguration = "upi", "my-payment-config-name"
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/order-details-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("order_details parameters\n%s\nwant\n%s", got, want)
	}

	// order_status: no payment block until a payment starts.
	s := commerce.OrderStatusParameters(o)
	if b, _ := json.Marshal(s); string(b) != `{"reference_id":"unique-reference-id","order":{"status":"pending"}}` {
		t.Errorf("order_status %s", b)
	}
	o, err = orders.SetPayment(ctx, o.ReferenceID, commerce.PaymentCaptured, "")
	if err != nil {
		t.Fatal(err)
	}
	s = commerce.OrderStatusParameters(o)
	if s.Order.Status != commerce.StatusProcessing || s.Payment == nil || s.Payment.Status != commerce.PaymentCaptured || s.Payment.Timestamp != o.UpdatedAt.Unix() {
		t.Errorf("order_status after capture %+v", s)
	}
}
