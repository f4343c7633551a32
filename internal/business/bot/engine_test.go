package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func wantIn(t *testing.T, rs []Reply, subs ...string) {
	t.Helper()
	got := plain(rs)
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Fatalf("answer lacks %q:\n%s", s, got)
		}
	}
}

func TestHandoffAndResume(t *testing.T) {
	h := newHarness(t)
	h.say("Do you have Dom Casmurro?")
	wantIn(t, h.say("I'd like to speak to a real person please"), "passing you to a person")
	if len(h.b.handoffs) != 1 {
		t.Fatalf("handoffs %d", len(h.b.handoffs))
	}
	req := h.b.handoffs[0]
	if req.Reason != HandoffRequested || req.Customer != h.customer || req.Lang != English || req.Closed {
		t.Fatalf("handoff request %+v", req)
	}
	// The person sees what was said before.
	if len(req.Transcript) < 3 || !strings.Contains(req.Transcript[0].Text, "Dom Casmurro") {
		t.Fatalf("transcript %+v", req.Transcript)
	}
	// While the person answers, the bot is silent, even to questions it
	// could answer.
	for _, m := range []string{"hello?", "Are you open now?"} {
		if rs := h.say(m); len(rs) != 0 {
			t.Fatalf("bot answered %q during handoff: %s", m, plain(rs))
		}
	}
	if on, _ := h.e.Active(context.Background(), h.customer); on {
		t.Fatal("Active during handoff")
	}
	rs, err := h.e.EndHandoff(context.Background(), h.customer)
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, rs, "back with the assistant")
	wantIn(t, h.say("Are you open now?"), "open now, until 18:00")
	// Ending twice says nothing.
	if rs, _ := h.e.EndHandoff(context.Background(), h.customer); len(rs) != 0 {
		t.Fatalf("second EndHandoff: %v", rs)
	}
}

func TestHandoffAfterTwoMisses(t *testing.T) {
	h := newHarness(t)
	rs := h.say("I need the flux capacitor calibrated")
	wantIn(t, rs, "didn't understand")
	if ids := buttonIDs(rs); len(ids) != 1 || ids[0] != idHuman {
		t.Fatalf("buttons %v", ids)
	}
	// An understood message in between resets the count.
	h.say("Are you open now?")
	h.say("wibble wobble")
	if len(h.b.handoffs) != 0 {
		t.Fatal("handoff after one miss")
	}
	wantIn(t, h.say("grmbl?"), "passing you to a person")
	if len(h.b.handoffs) != 1 || h.b.handoffs[0].Reason != HandoffLowConfidence {
		t.Fatalf("handoffs %+v", h.b.handoffs)
	}
	// The human button does the same.
	h2 := newHarness(t)
	h2.say("I need the flux capacitor calibrated")
	wantIn(t, h2.tap(idHuman), "passing you to a person")
}

func TestHandoffTimeout(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.HandoffTimeout = time.Hour })
	h.say("talk to a human")
	h.now = h.now.Add(30 * time.Minute)
	if rs := h.say("hello?"); len(rs) != 0 {
		t.Fatal("bot answered during handoff")
	}
	h.now = h.now.Add(2 * time.Hour)
	wantIn(t, h.say("Are you open now?"), "open now")
}

func TestTakeOver(t *testing.T) {
	h := newHarness(t)
	if err := h.e.TakeOver(context.Background(), h.customer); err != nil {
		t.Fatal(err)
	}
	if rs := h.say("hi"); len(rs) != 0 {
		t.Fatal("bot answered after a person took over")
	}
}

func TestOutOfHours(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(*bookstore) time.Time
		lang Lang
		ask  string
		want string
		hand string
	}{
		{"sunday", func(b *bookstore) time.Time { return time.Date(2026, 11, 22, 15, 0, 0, 0, b.loc) }, English,
			"Are you open now?", "We're closed right now. We open tomorrow at 09:00.",
			"We'll reply when we open tomorrow at 09:00."},
		{"early", func(b *bookstore) time.Time { return time.Date(2026, 11, 23, 7, 30, 0, 0, b.loc) }, Portuguese,
			"vocês estão abertos?", "Estamos fechados agora. Abrimos hoje às 09:00.",
			"Respondemos quando abrirmos, hoje às 09:00."},
		{"saturday evening", func(b *bookstore) time.Time { return time.Date(2026, 11, 28, 19, 0, 0, 0, b.loc) }, German,
			"Habt ihr jetzt offen?", "Wir haben gerade geschlossen. Wir öffnen am Montag um 09:00 Uhr.",
			"Wir antworten, sobald wir öffnen, am Montag um 09:00 Uhr."},
		{"christmas", func(b *bookstore) time.Time { return time.Date(2026, 12, 25, 11, 0, 0, 0, b.loc) }, Indonesian,
			"Hari ini buka?", "Hari ini kami tutup (Natal). Kami buka besok pukul 10.00.",
			"Kami akan membalas saat buka, besok pukul 10.00."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.now = tc.at(h.b)
			wantIn(t, h.say(tc.ask), tc.want)
			human := map[Lang]string{English: "I want to talk to a person", Portuguese: "quero falar com um atendente",
				German: "Ich möchte mit einem Mitarbeiter sprechen", Indonesian: "mau bicara dengan admin"}[tc.lang]
			wantIn(t, h.say(human), tc.hand)
			if hs := h.b.handoffs; len(hs) != 1 || !hs[0].Closed || hs[0].NextOpen.IsZero() {
				t.Fatalf("handoff %+v", hs)
			}
			// The bot keeps serving the catalog outside hours; only people
			// are away. (A fresh customer, the first one is with staff.)
			h.customer = "5511999990002"
			wantIn(t, h.say("Do you have The Hobbit?"), "The Hobbit", "59.90")
		})
	}
}

// TestRefusesToInvent: what is not in the catalog gets no price, stock or
// cart line.
func TestRefusesToInvent(t *testing.T) {
	h := newHarness(t)
	for _, m := range []string{
		"Do you have Harry Potter and the Philosopher's Stone?",
		"How much is War and Peace?",
		"I want 2 copies of Cien años de soledad",
	} {
		rs := h.say(m)
		got := plain(rs)
		if strings.Contains(got, "R$") || strings.ContainsAny(got, "0123456789") {
			t.Errorf("%q: answer states a figure: %s", m, got)
		}
		if !strings.Contains(got, "don't have") && !strings.Contains(got, "couldn't find") {
			t.Errorf("%q: answer does not say it is not in the catalog: %s", m, got)
		}
	}
	if c := h.conv(); len(c.Cart) != 0 {
		t.Fatalf("cart %+v", c.Cart)
	}
	// An out-of-stock book is not added.
	wantIn(t, h.say("I want A Hora da Estrela"), "out of stock")
	wantIn(t, h.say("I want 3 copies of Grande Sertão: Veredas"), "only have 1 of Grande Sertão: Veredas")
	if c := h.conv(); len(c.Cart) != 0 {
		t.Fatalf("cart %+v", c.Cart)
	}
}

func TestTwoBooksAndNumbers(t *testing.T) {
	for _, tc := range []struct {
		lang Lang
		text string
		want map[string]int
	}{
		{English, "I want one Dom Casmurro and two copies of 1984", map[string]int{"dom-casmurro": 1, "1984": 2}},
		{Portuguese, "quero 2 O Alquimista e três Capitães da Areia", map[string]int{"o-alquimista": 2, "capitaes-areia": 3}},
		{German, "Ich möchte ein Exemplar von Die Verwandlung und zwei von The Hobbit", map[string]int{"verwandlung": 1, "hobbit": 2}},
		{Indonesian, "Saya mau beli dua Laskar Pelangi dan satu 1984", map[string]int{"laskar-pelangi": 2, "1984": 1}},
		{English, "add 2x Dom Casmurro", map[string]int{"dom-casmurro": 2}},
		{English, "I'd like the hobbit, 3 copies", map[string]int{"hobbit": 3}},
		{Portuguese, "quero o alquimista", map[string]int{"o-alquimista": 1}},
		{English, "I want Dom Casmuro", map[string]int{"dom-casmurro": 1}}, // a typo
		{Portuguese, "me vê dois dom casmurro", map[string]int{"dom-casmurro": 2}},
		{English, "order 1984", map[string]int{"1984": 1}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			h := newHarness(t)
			rs := h.say(tc.text)
			if n := len(buttonIDs(rs)); n != 2 {
				t.Errorf("%d buttons: one checkout prompt expected:\n%s", n, plain(rs))
			}
			got := map[string]int{}
			for _, l := range h.conv().Cart {
				got[l.RetailerID] = l.Quantity
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("cart %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRemoveFromCart(t *testing.T) {
	h := newHarness(t)
	h.say("I want one Dom Casmurro and two copies of 1984")
	wantIn(t, h.say("please remove 1984"), "Your cart:", "1 × Dom Casmurro", "Total: R$ 39.90")
	if c := h.conv(); len(c.Cart) != 1 {
		t.Fatalf("cart %+v", c.Cart)
	}
	wantIn(t, h.say("tirar esse"), "Esvaziei seu carrinho")
}

func TestCancelOrder(t *testing.T) {
	h := newHarness(t)
	h.say("I want 2 copies of The Hobbit")
	h.tap(idCheckout)
	h.tap(idPickup)
	h.tap(idYes)
	if h.b.stock["hobbit"] != 2 {
		t.Fatalf("stock %d", h.b.stock["hobbit"])
	}
	rs := h.say("Please cancel my order")
	wantIn(t, rs, "Cancel order BK-1001?")
	if ids := buttonIDs(rs); len(ids) != 2 || ids[0] != idYes {
		t.Fatalf("buttons %v", ids)
	}
	if h.b.orders["BK-1001"].Status != OrderPending {
		t.Fatal("canceled before the yes")
	}
	rs = h.tap(idYes)
	wantIn(t, rs, "Order BK-1001 is canceled")
	if st := find(rs, "order_status"); st == nil || st.Action.Parameters.Order.Status != "canceled" {
		t.Fatalf("order_status %+v", rs)
	}
	if h.b.stock["hobbit"] != 4 {
		t.Fatalf("stock not released: %d", h.b.stock["hobbit"])
	}
	// A paid order cannot be canceled by the bot.
	h.say("I want 1984")
	h.tap(idCheckout)
	h.tap(idPickup)
	h.tap(idYes)
	h.b.capture("BK-1002")
	wantIn(t, h.say("cancel order BK-1002"), "can't be canceled anymore")
	// "No" keeps it; a reference of someone else's order is unknown.
	h.customer = "5511999990009"
	wantIn(t, h.say("cancel BK-1001"), "couldn't find order BK-1001")
}

func TestConfirmationNoAndStaleButtons(t *testing.T) {
	h := newHarness(t)
	h.say("I want Dom Casmurro")
	h.tap(idCheckout)
	wantIn(t, h.tap(idPickup), "Please confirm")
	wantIn(t, h.say("no"), "haven't placed the order")
	if h.b.orderCalls != 0 || len(h.conv().Cart) != 1 {
		t.Fatalf("orders %d cart %v", h.b.orderCalls, h.conv().Cart)
	}
	// A confirm button from an old prompt never orders: it asks again.
	wantIn(t, h.tap(idYes), "Please confirm", "Total: R$ 39.90")
	if h.b.orderCalls != 0 {
		t.Fatal("stale button placed an order")
	}
	// Talking about something else lets the question lapse: a later
	// "yes" does not order.
	h.say("Are you open now?")
	h.say("yes")
	if h.b.orderCalls != 0 {
		t.Fatal("a lapsed confirmation placed an order")
	}
}

func TestPriceChangeBeforeYes(t *testing.T) {
	h := newHarness(t)
	h.say("I want Dom Casmurro")
	h.tap(idCheckout)
	wantIn(t, h.tap(idPickup), "Total: R$ 39.90")
	h.b.mu.Lock()
	p := h.b.products["dom-casmurro"]
	p.Price = 4290
	h.b.products["dom-casmurro"] = p
	h.b.mu.Unlock()
	rs := h.say("yes")
	wantIn(t, rs, "Please confirm", "Total: R$ 42.90")
	if h.b.orderCalls != 0 {
		t.Fatal("ordered at the old price")
	}
	checkOrderTotal := func(want int64) {
		t.Helper()
		od := find(h.say("yes"), "order_details")
		if od == nil || od.Action.Parameters.TotalAmount.Value != want {
			t.Fatalf("order_details %+v", od)
		}
	}
	checkOrderTotal(4290)
}

// TestDeliveryRequote: the store adds shipping the quote did not show; the
// order does not stand until the customer confirms the new total.
func TestDeliveryRequote(t *testing.T) {
	h := newHarness(t)
	h.say("I want 1984")
	h.tap(idCheckout)
	wantIn(t, h.tap(idDelivery), "delivery address")
	wantIn(t, h.say("Rua das Flores 12, Pinheiros, São Paulo"), "Total: R$ 49.90", "Delivery to: Rua das Flores 12")
	rs := h.say("yes")
	wantIn(t, rs, "changed to R$ 59.90", "Shipping: R$ 10.00", "Total: R$ 59.90")
	if o := h.b.orders["BK-1001"]; o.Status != OrderCanceled || h.b.stock["1984"] != 7 {
		t.Fatalf("first order %+v stock %d", o, h.b.stock["1984"])
	}
	rs = h.say("yes")
	od := find(rs, "order_details")
	if od == nil {
		t.Fatalf("no order_details: %s", plain(rs))
	}
	p := od.Action.Parameters
	if p.ReferenceID != "BK-1002" || p.TotalAmount.Value != 5990 || p.Order.Shipping == nil || p.Order.Shipping.Value != 1000 ||
		p.Order.Subtotal.Value != 4990 {
		b, _ := json.Marshal(p)
		t.Fatalf("order_details %s", b)
	}
}

func TestDeliveryToSharedLocation(t *testing.T) {
	h := newHarness(t)
	h.say("I want 1984")
	h.tap(idCheckout)
	h.tap(idDelivery)
	in, err := ParseBusinessMessage(h.customer, "", "location", []byte(`{"latitude":-23.56,"longitude":-46.66,"name":"Casa","address":"Rua Oscar Freire 10"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, h.send(in), "Delivery to: Casa Rua Oscar Freire 10")
}

// TestProductList: with a catalog id the bot shows products as a
// product_list the customer can build a cart from.
func TestProductList(t *testing.T) {
	h := newHarness(t)
	h.b.profile.CatalogID = "146265584024623"
	rs := h.say("Do you have O Tempo e o Vento?")
	pl := find(rs, "product_list")
	if pl == nil || pl.Header == nil || pl.Header.Type != "text" || pl.Header.Text == "" || pl.Action.CatalogID != "146265584024623" {
		t.Fatalf("product_list %+v", pl)
	}
	var ids []string
	for _, s := range pl.Action.Sections {
		for _, it := range s.ProductItems {
			ids = append(ids, it.ProductRetailerID)
		}
	}
	if fmt.Sprint(ids) != "[tempo-vento-1 tempo-vento-2]" {
		t.Fatalf("items %v", ids)
	}
	// Two of "those" is ambiguous: the bot asks which.
	wantIn(t, h.say("I want two"), "Which book would you like?")
	wantIn(t, h.say("show me the catalog"), "Dom Casmurro")
	if find(h.say("catalog"), "product_list") == nil {
		t.Fatal("catalog not a product_list")
	}
}

func TestCartMessage(t *testing.T) {
	h := newHarness(t)
	// The customer's app claims a price of 1.00: the bot prices from the
	// catalog.
	body := []byte(`{"catalog_id":"1234","text":"","product_items":[
		{"product_retailer_id":"dom-casmurro","quantity":2,"item_price":1.00,"currency":"BRL"},
		{"product_retailer_id":"hobbit","quantity":"1","item_price":59.9,"currency":"BRL"}]}`)
	h.say("Hello")
	in, err := ParseBusinessMessage(h.customer, "wamid.cart", "order", body)
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, h.send(in), "delivered, or will you pick it up")
	wantIn(t, h.tap(idPickup), "2 × Dom Casmurro — R$ 79.80", "1 × The Hobbit — R$ 59.90", "Total: R$ 139.70")
}

func TestUPIStore(t *testing.T) {
	h := newHarness(t)
	h.b.mu.Lock()
	h.b.profile.Country, h.b.profile.Currency, h.b.profile.Lang = "IN", "INR", English
	h.b.profile.Delivery, h.b.profile.Pickup = false, true
	for id, p := range h.b.products {
		p.Currency = "INR"
		h.b.products[id] = p
	}
	h.b.mu.Unlock()
	h.say("I want 2 copies of 1984")
	wantIn(t, h.tap(idCheckout), "Please confirm", "2 × 1984 — ₹99.80", "Pickup at the store")
	rs := h.tap(idYes)
	od := find(rs, "order_details")
	if od == nil {
		t.Fatalf("no order_details: %s", plain(rs))
	}
	p := od.Action.Parameters
	if len(p.PaymentSettings) != 1 || p.PaymentSettings[0].Type != "upi_intent_link" ||
		!strings.HasPrefix(p.PaymentSettings[0].UPIIntentLink.Link, "upi://pay?") || p.Currency != "INR" || p.PaymentType != "upi" {
		b, _ := json.Marshal(p)
		t.Fatalf("order_details %s", b)
	}
	wantIn(t, rs, "To pay with UPI, open this link: upi://pay?")
}

func TestPaymentFailure(t *testing.T) {
	h := newHarness(t)
	h.b.failPayment = true
	h.say("I want Dom Casmurro")
	h.tap(idCheckout)
	h.tap(idPickup)
	rs := h.tap(idYes)
	wantIn(t, rs, "Your order BK-1001 is placed. We'll contact you here about the payment.")
	if find(rs, "order_details") != nil {
		t.Fatal("order_details without a payment")
	}
}

func TestDuplicateMessage(t *testing.T) {
	h := newHarness(t)
	in := Inbound{Customer: h.customer, ID: "wamid.same", Text: "Are you open now?"}
	if rs, _ := h.e.Handle(context.Background(), in); len(rs) == 0 {
		t.Fatal("no answer")
	}
	if rs, _ := h.e.Handle(context.Background(), in); len(rs) != 0 {
		t.Fatal("answered a redelivered message again")
	}
}

func TestSessionExpiry(t *testing.T) {
	h := newHarness(t)
	h.say("I want Dom Casmurro")
	h.now = h.now.Add(25 * time.Hour)
	wantIn(t, h.tap(idCheckout), "Your cart is empty")
}

func TestStatusByReference(t *testing.T) {
	h := newHarness(t)
	h.say("quero Dom Casmurro")
	h.tap(idCheckout)
	h.tap(idPickup)
	h.tap(idYes)
	h.b.capture("BK-1001")
	h.customer = "5511999990001"
	wantIn(t, h.say("BK-1001"), "O pedido BK-1001 está pago e sendo preparado")
	wantIn(t, h.say("status do pedido bk-1001?"), "BK-1001 está pago")
	wantIn(t, h.say("status do pedido BK-9999"), "Não encontrei o pedido BK-9999")
	// commerce's references are 16 random letters and digits.
	h.b.mu.Lock()
	o := *h.b.orders["BK-1001"]
	o.Reference = "K7Q2M9X4B1T8P3ZR"
	h.b.orders[o.Reference] = &o
	h.b.mu.Unlock()
	wantIn(t, h.say("e o pedido #K7Q2M9X4B1T8P3ZR?"), "O pedido K7Q2M9X4B1T8P3ZR está pago")
	wantIn(t, h.say("k7q2m9x4b1t8p3zr"), "O pedido K7Q2M9X4B1T8P3ZR está pago")
	h.customer = "5511999990077"
	wantIn(t, h.say("where is my order?"), "couldn't find an order")
}

// TestConcurrentCustomers runs many customers at once and one customer
// from several goroutines: messages of one customer are serialised, so
// none is lost.
func TestConcurrentCustomers(t *testing.T) {
	b := newBookstore()
	b.stock["o-alquimista"] = 1000
	now := monday10(b)
	e, err := New(Options{Tools: b.tools(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cust := fmt.Sprintf("55119000000%02d", c)
			for i, m := range []string{"I want 2 copies of O Alquimista", "checkout", "pickup", "yes"} {
				if _, err := e.Handle(ctx, TextMessage(cust, fmt.Sprint(i), m)); err != nil {
					errs <- err
				}
			}
		}(c)
	}
	shared := "5511900000099"
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := e.Handle(ctx, TextMessage(shared, fmt.Sprintf("%d-%d", g, i), "add O Alquimista")); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if b.orderCalls != 8 || b.stock["o-alquimista"] != 1000-16 {
		t.Fatalf("orders %d stock %d", b.orderCalls, b.stock["o-alquimista"])
	}
	c, _ := e.store.Load(ctx, shared)
	if len(c.Cart) != 1 || c.Cart[0].Quantity != 20 {
		t.Fatalf("shared cart %+v", c.Cart)
	}
}

func TestMemoryStoreConflict(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	a, _ := m.Load(ctx, "1")
	b, _ := m.Load(ctx, "1")
	if err := m.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(ctx, b); !errors.Is(err, ErrConflict) {
		t.Fatalf("second save of version 0: %v", err)
	}
	a.Lang = German
	if err := m.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	c, _ := m.Load(ctx, "1")
	if c.Lang != German || c.Version != 2 {
		t.Fatalf("%+v", c)
	}
}

func TestNewRequiresTools(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without tools")
	}
}
