package agent_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/agent"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment/pix"
	"github.com/parley-im/parley/internal/testserver"
)

// TestBookstoreWithAssistant is issue 7's end-to-end test: a customer (a
// Parley client) asks the bookstore's assistant about opening hours and a
// book's stock, orders two copies, gets a Pix code, the sandbox confirms
// the payment and the order's new status reaches the customer; the
// business's webhook endpoint got every event, signed, in order.
func TestBookstoreWithAssistant(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{assistant: true})
	ana := newCustomer(t, srv, s, "Ana")

	var sent []clientstore.MessageRef
	say := func(text string, want ...string) []client.Message {
		t.Helper()
		sent = append(sent, ana.say(text))
		return ana.replies(want...)
	}
	say("Hi, are you open today?", "open now, until 18:00")
	say("Do you have Dom Casmurro in stock?", "5 copies of Dom Casmurro", "R$ 39.90")
	say("Great, I'd like two copies please", "Added 2 × Dom Casmurro (R$ 79.80)")
	if p := s.product("dom-casmurro"); p.Reserved != 0 {
		t.Fatalf("stock reserved before the order: %d", p.Reserved)
	}
	rs := say("That's all, thanks", "delivered, or will you pick it up")
	buttons, _ := find(rs, "button")
	if buttons.Business == nil {
		t.Fatalf("no buttons to choose pickup: %+v", rs)
	}
	sent = append(sent, ana.tap(buttons, "bot:pickup", "Pickup"))
	ana.replies("2 × Dom Casmurro — R$ 79.80", "Pickup at the store")
	rs = say("yes", "To pay with PIX")

	// The order is placed, its stock held, and its order_details carry a
	// Pix code for its total.
	od, v := find(rs, "order_details")
	if od.Business == nil {
		t.Fatalf("no order_details: %+v", rs)
	}
	ref := str(dig(v, "action", "parameters", "reference_id"))
	order, err := s.agent.Orders.Order(ctxT(t), ref)
	if err != nil {
		t.Fatalf("order %q: %v", ref, err)
	}
	if order.Customer != ana.waID() || order.Total != 7980 || order.Status != commerce.StatusPending || len(order.Items) != 1 || order.Items[0].Quantity != 2 {
		t.Fatalf("order %+v", order)
	}
	if p := s.product("dom-casmurro"); p.Reserved != 2 || *p.Inventory != 5 {
		t.Fatalf("stock: inventory %d reserved %d, want 5 and 2", *p.Inventory, p.Reserved)
	}
	code := str(dig(v, "action", "parameters", "payment_settings", 0, "pix_dynamic_code", "code"))
	pc, err := pix.Parse(code)
	if err != nil {
		t.Fatalf("Pix code %q: %v", code, err)
	}
	if pc.Amount != 7980 || pc.Key != pixKey || pc.Name != "LIVRARIA SABIA" || pc.City != "SAO PAULO" || pc.TxID == "" {
		t.Errorf("Pix code %+v", pc)
	}
	// For clients that do not draw order_details, the code comes as text
	// too, to copy.
	eventually(t, "the Pix code as text", func() (bool, string) {
		return slices.ContainsFunc(ana.incoming(), func(m client.Message) bool { return m.Kind == client.KindText && m.Text == code }), ""
	})
	say("What's the status of my order?", "Order "+ref+" is waiting for payment")

	// The business looks at the chat through the API: marks Ana's last
	// message read, with the typing indicator.
	last := sent[len(sent)-1]
	if code, out := s.post("/v23.0/"+s.agent.Settings().PhoneNumberID+"/messages", map[string]any{"messaging_product": "whatsapp",
		"status": "read", "message_id": agent.WAMID(last), "typing_indicator": map[string]string{"type": "text"}}); code != 200 || out["success"] != true {
		t.Fatalf("mark read: %d %v", code, out)
	}
	eventually(t, "Ana sees her message read", func() (bool, string) {
		m, err := ana.c.Message(ctxT(t), last)
		return err == nil && m.Status() == clientstore.StatusRead, fmt.Sprint(m.Status())
	})

	// The sandbox confirms the payment: the order moves on, its stock
	// leaves the inventory, and Ana hears of it.
	code2, out := s.post("/parley/v1/payments/"+ref+"/confirm", nil)
	if code2 != 200 || out["status"] != "captured" {
		t.Fatalf("confirm: %d %v", code2, out)
	}
	rs = ana.replies(ref)
	st, sv := find(rs, "order_status")
	if st.Business == nil || str(dig(sv, "action", "parameters", "order", "status")) != "processing" ||
		str(dig(sv, "action", "parameters", "payment", "status")) != "captured" {
		t.Fatalf("order status to the customer: %+v", rs)
	}
	if p := s.product("dom-casmurro"); p.Reserved != 0 || *p.Inventory != 3 {
		t.Fatalf("after payment: inventory %d reserved %d, want 3 and 0", *p.Inventory, p.Reserved)
	}

	// The webhook: every message Ana sent, every reply's sent, delivered
	// and read, the payment; each signed, in the order the agent queued
	// them.
	shopMsgs := ana.incoming()
	stWAMID := agent.WAMID(st.Ref)
	evs := s.waitHooks("every event on the webhook", func(evs []hookEvent) bool {
		for _, m := range shopMsgs {
			if statusIndex(evs, agent.WAMID(m.Ref), "read") < 0 {
				return false
			}
		}
		return true
	})
	for _, ref := range sent {
		i := messageIndex(evs, agent.WAMID(ref))
		if i < 0 {
			t.Errorf("no message event for %s", agent.WAMID(ref))
			continue
		}
		if e := evs[i]; str(e.message["from"]) != ana.waID() || str(dig(e.contact, "profile", "name")) != "Ana" || str(dig(e.contact, "wa_id")) != ana.waID() {
			t.Errorf("message event %s", e.raw)
		}
	}
	if i := messageIndex(evs, agent.WAMID(sent[4])); i < 0 || str(dig(evs[i].message, "interactive", "button_reply", "id")) != "bot:pickup" ||
		str(dig(evs[i].message, "context", "id")) != agent.WAMID(buttons.Ref) {
		t.Errorf("the button tap's event: %v", evs)
	}
	for _, m := range shopMsgs {
		w := agent.WAMID(m.Ref)
		s, d, r := statusIndex(evs, w, "sent"), statusIndex(evs, w, "delivered"), statusIndex(evs, w, "read")
		if s < 0 || d < s || r < d {
			t.Errorf("statuses of %q: sent %d, delivered %d, read %d", m.Text, s, d, r)
		}
		if s >= 0 {
			if e := evs[s]; str(e.status["recipient_id"]) != ana.waID() || str(dig(e.status, "pricing", "category")) != "service" {
				t.Errorf("status %s", e.raw)
			}
		}
	}
	pay := -1
	for i, e := range evs {
		if str(e.status["type"]) == "payment" {
			pay = i
			if str(e.status["status"]) != "captured" || str(dig(e.status, "payment", "reference_id")) != ref ||
				dig(e.status, "payment", "amount", "value") != float64(7980) || str(dig(e.status, "payment", "transaction", "method", "type")) != "pix" ||
				str(e.status["id"]) != agent.WAMID(od.Ref) || str(e.status["recipient_id"]) != ana.waID() {
				t.Errorf("payment status %s", e.raw)
			}
		}
	}
	if pay < 0 || pay > statusIndex(evs, stWAMID, "sent") || pay < messageIndex(evs, agent.WAMID(sent[5])) {
		t.Errorf("payment status at %d: not between the yes and the order status", pay)
	}
}

// TestBookstoreThroughTheAPI: without an assistant, the business answers
// through the API and its webhook, as an app written for WhatsApp does. A
// cart becomes an order (its reference on the order event), the business
// sends order_details without payment settings and the agent fills in the
// Pix code; the sandbox's confirmation reaches the customer and the
// webhook.
func TestBookstoreThroughTheAPI(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{})
	ana := newCustomer(t, srv, s, "Ana")
	phone := s.agent.Settings().PhoneNumberID
	send := func(body map[string]any) map[string]any {
		t.Helper()
		body["messaging_product"], body["to"] = "whatsapp", ana.waID()
		code, out := s.post("/v23.0/"+phone+"/messages", body)
		if code != 200 {
			t.Fatalf("send: %d %v", code, out)
		}
		return out
	}

	// Outside the customer service window nothing free-form goes out.
	code, out := s.post("/v23.0/"+phone+"/messages", map[string]any{"messaging_product": "whatsapp", "to": ana.waID(), "text": map[string]any{"body": "hi"}})
	if code != 400 || dig(out, "error", "code") != float64(131047) {
		t.Fatalf("send outside the window: %d %v", code, out)
	}

	hello := ana.say("Olá! Vocês têm Dom Casmurro?")
	evs := s.waitHooks("the question", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(hello)) >= 0 })
	q := evs[messageIndex(evs, agent.WAMID(hello))]
	if str(dig(q.message, "text", "body")) != "Olá! Vocês têm Dom Casmurro?" || str(q.message["type"]) != "text" {
		t.Fatalf("question event %s", q.raw)
	}
	send(map[string]any{"type": "text", "text": map[string]any{"body": "Temos sim, 5 exemplares. 📚"}, "context": map[string]string{"message_id": agent.WAMID(hello)}})
	rs := ana.replies("Temos sim, 5 exemplares. 📚")
	if q := rs[0].Quote; q == nil || q.Excerpt != "Olá! Vocês têm Dom Casmurro?" {
		t.Errorf("reply's quote %+v", rs[0].Quote)
	}

	cart := fmt.Sprintf(`{"catalog_id":%q,"text":"para presente","product_items":[{"product_retailer_id":"dom-casmurro","quantity":2,"item_price":39.9,"currency":"BRL"}]}`, s.catalog)
	cartRef := ana.send("order", cart, nil)
	evs = s.waitHooks("the order", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(cartRef)) >= 0 })
	o := evs[messageIndex(evs, agent.WAMID(cartRef))].message
	ref := str(dig(o, "order", "parley_order", "reference_id"))
	if str(o["type"]) != "order" || dig(o, "order", "product_items", 0, "item_price") != 39.9 || ref == "" ||
		dig(o, "order", "parley_order", "total_amount", "value") != float64(7980) {
		t.Fatalf("order event %v", o)
	}
	if p := s.product("dom-casmurro"); p.Reserved != 2 {
		t.Fatalf("reserved %d, want 2", p.Reserved)
	}
	// The same cart again (a client retrying) places nothing more.
	if _, err := s.agent.Orders.Place(ctxT(t), commerce.PlaceRequest{Customer: ana.waID(), SourceMessageID: agent.WAMID(cartRef),
		Cart: commerce.Cart{CatalogID: s.catalog, Items: []commerce.CartItem{{RetailerID: "dom-casmurro", Quantity: 2, Price: commerce.Money{Amount: 3990, Currency: "BRL"}}}}}); err == nil {
		t.Fatal("placing from the same message twice was accepted")
	}

	// order_details without payment settings: the agent fills in a Pix code.
	details := map[string]any{"type": "order_details", "body": map[string]string{"text": "Seu pedido"},
		"action": map[string]any{"name": "review_and_pay", "parameters": map[string]any{"reference_id": ref, "type": "physical-goods",
			"payment_type": "br", "currency": "BRL", "total_amount": map[string]int{"value": 7980, "offset": 100},
			"order": map[string]any{"status": "pending", "items": []map[string]any{{"retailer_id": "dom-casmurro", "name": "Dom Casmurro",
				"amount": map[string]int{"value": 3990, "offset": 100}, "quantity": 2}},
				"subtotal": map[string]int{"value": 7980, "offset": 100}}}}}
	sentOD := send(map[string]any{"type": "interactive", "interactive": details})
	rs = ana.replies("Order " + ref + ", total 79.80 BRL")
	_, v := find(rs, "order_details")
	pc, err := pix.Parse(str(dig(v, "action", "parameters", "payment_settings", 0, "pix_dynamic_code", "code")))
	if err != nil || pc.Amount != 7980 || pc.Key != pixKey {
		t.Fatalf("Pix code %+v: %v (%v)", pc, err, v)
	}
	// A wrong total for a known order is refused, with nothing sent.
	details["action"].(map[string]any)["parameters"].(map[string]any)["total_amount"] = map[string]int{"value": 100, "offset": 100}
	details["action"].(map[string]any)["parameters"].(map[string]any)["order"] = nil
	if code, out := s.post("/v23.0/"+phone+"/messages", map[string]any{"messaging_product": "whatsapp", "to": ana.waID(), "type": "interactive", "interactive": details}); code != 400 || dig(out, "error", "code") != float64(131009) {
		t.Fatalf("wrong total: %d %v", code, out)
	}

	// The payment fails first, then a retry is captured.
	if code, out := s.post("/parley/v1/payments/"+ref+"/fail", map[string]string{"reason": "insufficient funds"}); code != 200 || out["status"] != "failed" {
		t.Fatalf("fail: %d %v", code, out)
	}
	ana.replies("did not go through")
	if o, _ := s.agent.Orders.Order(ctxT(t), ref); o.Payment != commerce.PaymentFailed || s.product("dom-casmurro").Reserved != 0 {
		t.Fatalf("after the failure: %+v, reserved %d", o, s.product("dom-casmurro").Reserved)
	}
	details["action"].(map[string]any)["parameters"].(map[string]any)["total_amount"] = map[string]int{"value": 7980, "offset": 100}
	send(map[string]any{"type": "interactive", "interactive": details})
	ana.replies("Order " + ref + ", total 79.80 BRL")
	if code, out := s.post("/parley/v1/payments/"+ref+"/confirm", nil); code != 200 || out["status"] != "captured" {
		t.Fatalf("confirm: %d %v", code, out)
	}
	rs = ana.replies("Payment received for order " + ref)
	if _, sv := find(rs, "order_status"); str(dig(sv, "action", "parameters", "payment", "status")) != "captured" {
		t.Fatalf("order status %v", rs)
	}
	if o, _ := s.agent.Orders.Order(ctxT(t), ref); o.Payment != commerce.PaymentCaptured || o.Status != commerce.StatusProcessing {
		t.Fatalf("order after capture %+v", o)
	}
	if p := s.product("dom-casmurro"); p.Reserved != 0 || *p.Inventory != 3 {
		t.Fatalf("after payment: inventory %d reserved %d", *p.Inventory, p.Reserved)
	}
	odID := str(dig(sentOD, "messages", 0, "id"))
	evs = s.waitHooks("the payment statuses", func(evs []hookEvent) bool {
		n := 0
		for _, e := range evs {
			if str(e.status["type"]) == "payment" {
				n++
			}
		}
		return n == 2 && statusIndex(evs, odID, "delivered") >= 0
	})
	var payments []string
	for _, e := range evs {
		if str(e.status["type"]) == "payment" {
			payments = append(payments, str(e.status["status"])+"/"+str(dig(e.status, "payment", "transaction", "status")))
			if id := str(e.status["id"]); !strings.HasPrefix(id, "wamid.") || str(dig(e.status, "payment", "reference_id")) != ref {
				t.Errorf("payment status %s", e.raw)
			}
		}
	}
	if !slices.Equal(payments, []string{"failed/failed", "captured/success"}) {
		t.Errorf("payment statuses %v", payments)
	}
	if statusIndex(evs, odID, "sent") < 0 || statusIndex(evs, odID, "delivered") < 0 {
		t.Errorf("no statuses of the first order_details %s", odID)
	}
}

// TestCartRefused: a cart the shop cannot fill (more than in stock, a
// sold-out book, an unknown one) is refused to the customer with the
// reasons, reaches the webhook marked refused, and reserves nothing.
func TestCartRefused(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{})
	ana := newCustomer(t, srv, s, "Ana")
	cart := fmt.Sprintf(`{"catalog_id":%q,"product_items":[`+
		`{"product_retailer_id":"grande-sertao","quantity":3,"item_price":79.9,"currency":"BRL"},`+
		`{"product_retailer_id":"o-alquimista","quantity":1,"item_price":34.9,"currency":"BRL"},`+
		`{"product_retailer_id":"hora-da-estrela","quantity":1,"item_price":29.9,"currency":"BRL"},`+
		`{"product_retailer_id":"no-such-book","quantity":1,"item_price":10,"currency":"BRL"}]}`, s.catalog)
	ref := ana.send("order", cart, nil)
	rs := ana.replies("Grande Sertão: Veredas: only 1 left", "A Hora da Estrela: not available", "no-such-book: not in our catalog", "Nothing was reserved")
	if len(rs) != 1 || rs[0].Kind != client.KindText {
		t.Errorf("refusal %+v", rs)
	}
	for _, rid := range []string{"grande-sertao", "o-alquimista", "hora-da-estrela"} {
		if p := s.product(rid); p.Reserved != 0 {
			t.Errorf("%s: %d reserved", rid, p.Reserved)
		}
	}
	if os, err := s.agent.Orders.CustomerOrders(ctxT(t), ana.waID(), 10); err != nil || len(os) != 0 {
		t.Errorf("orders %+v %v", os, err)
	}
	evs := s.waitHooks("the refused order", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(ref)) >= 0 })
	o := evs[messageIndex(evs, agent.WAMID(ref))].message
	po, _ := json.Marshal(dig(o, "order", "parley_order"))
	want := `{"errors":[{"available":1,"product_retailer_id":"grande-sertao","reason":"insufficient_stock"},` +
		`{"product_retailer_id":"hora-da-estrela","reason":"unavailable"},{"product_retailer_id":"no-such-book","reason":"unknown_product"}],"status":"refused"}`
	if string(po) != want {
		t.Errorf("parley_order %s\nwant %s", po, want)
	}

	// Malformed carts are refused as well, and a cart for what is there
	// goes through afterwards.
	bad := ana.send("order", `{"catalog_id":"`+s.catalog+`","product_items":[{"product_retailer_id":"dom-casmurro","quantity":0,"item_price":39.9,"currency":"BRL"}]}`, nil)
	ana.replies("cannot read this order")
	good := ana.send("order", fmt.Sprintf(`{"catalog_id":%q,"product_items":[{"product_retailer_id":"grande-sertao","quantity":1,"item_price":79.9,"currency":"BRL"}]}`, s.catalog), nil)
	evs = s.waitHooks("the good order", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(good)) >= 0 })
	if str(dig(evs[messageIndex(evs, agent.WAMID(bad))].message, "order", "parley_order", "status")) != "refused" ||
		str(dig(evs[messageIndex(evs, agent.WAMID(good))].message, "order", "parley_order", "status")) != "pending" {
		t.Errorf("events %v", evs)
	}
	if p := s.product("grande-sertao"); p.Reserved != 1 {
		t.Errorf("grande-sertao reserved %d, want 1", p.Reserved)
	}
}

func texts(ms []client.Message) string {
	var b []string
	for _, m := range ms {
		b = append(b, m.Text)
	}
	return strings.Join(b, "\n")
}

// incoming is every message the shop sent the customer.
func (cu *customer) incoming() []client.Message {
	cu.t.Helper()
	ms, err := cu.c.Messages(ctxT(cu.t), cu.shop, 0, 1000)
	if err != nil {
		cu.t.Fatal(err)
	}
	var out []client.Message
	for _, m := range ms {
		if !m.Outgoing {
			out = append(out, m)
		}
	}
	return out
}

func messageIndex(evs []hookEvent, wamid string) int {
	for i, e := range evs {
		if e.message != nil && str(e.message["id"]) == wamid {
			return i
		}
	}
	return -1
}

func statusIndex(evs []hookEvent, wamid, status string) int {
	for i, e := range evs {
		if e.status != nil && str(e.status["id"]) == wamid && str(e.status["status"]) == status && str(e.status["type"]) != "payment" {
			return i
		}
	}
	return -1
}
