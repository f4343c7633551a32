package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
)

// TestBusinessMessages: a business's interactive message and a customer's
// cart cross as BusinessMessage, are stored as KindBusiness on both sides,
// keep their JSON byte for byte and show a plain rendering.
func TestBusinessMessages(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	shop := register(t, srv, "").connect()
	customer := register(t, srv, "").connect()
	ctx := ctxT(t)

	buttons := `{"type":"button","body":{"text":"Deliver or pick up?"},"action":{"buttons":[` +
		`{"type":"reply","reply":{"id":"d","title":"Delivery"}},{"type":"reply","reply":{"id":"p","title":"Pickup"}}]}}`
	if _, err := shop.Send(ctx, customer.id(), client.BusinessContent("interactive", []byte(buttons))); err != nil {
		t.Fatal(err)
	}
	cart := `{"catalog_id":"123456789012345","text":"for my mother","product_items":[` +
		`{"product_retailer_id":"dom-casmurro","quantity":2,"item_price":39.9,"currency":"BRL"}]}`
	customer.waitHistory(shop.id(), "< Deliver or pick up?\n[Delivery] [Pickup]")
	if _, err := customer.Send(ctx, shop.id(), client.BusinessContent("order", []byte(cart))); err != nil {
		t.Fatal(err)
	}
	ms := shop.waitHistory(customer.id(), "> Deliver or pick up?\n[Delivery] [Pickup]", "< Cart of 1 products\nfor my mother")
	for i, want := range []struct{ typ, json string }{{"interactive", buttons}, {"order", cart}} {
		m := ms[i]
		if m.Kind != client.KindBusiness || m.Business == nil || m.Business.Type != want.typ || string(m.Business.Json) != want.json {
			t.Errorf("message %d: kind %d, business %+v; want %s %s", i, m.Kind, m.Business, want.typ, want.json)
		}
	}
	// The customer's own copy is a business message too.
	if m := customer.history(shop.id()); len(m) != 2 || m[1].Kind != client.KindBusiness || !m[1].Outgoing {
		t.Errorf("customer's history: %+v", m)
	}

	// What a client must not send.
	for name, b := range map[string]*contentpb.BusinessMessage{
		"no type":        {Json: []byte(`{}`)},
		"upper type":     {Type: "Order", Json: []byte(`{}`)},
		"long type":      {Type: strings.Repeat("x", client.MaxBusinessType+1), Json: []byte(`{}`)},
		"not JSON":       {Type: "order", Json: []byte(`{"a":`)},
		"a string":       {Type: "text", Json: []byte(`"hi"`)},
		"not UTF-8":      {Type: "text", Json: []byte("{\"body\":\"\xff\"}")},
		"too large":      {Type: "text", Json: []byte(`{"body":"` + strings.Repeat("a", client.MaxBusinessJSON) + `"}`)},
		"empty":          {Type: "text"},
		"trailing bytes": {Type: "text", Json: []byte(`{} {}`)},
	} {
		_, err := shop.Send(ctx, customer.id(), &contentpb.Content{Body: &contentpb.Content_Business{Business: b}})
		if !errors.Is(err, client.ErrInvalid) {
			t.Errorf("%s: Send = %v, want ErrInvalid", name, err)
		}
	}
}

func TestBusinessText(t *testing.T) {
	for _, c := range []struct{ typ, json, want string }{
		{"text", `{"body":"hello"}`, "hello"},
		{"interactive", `{"type":"list","header":{"type":"text","text":"Books"},"body":{"text":"Pick one"},"action":{"button":"See","sections":[{"title":"A","rows":[{"id":"1","title":"Dom Casmurro"},{"id":"2","title":"Iracema"}]}]}}`,
			"Books\nPick one\n- Dom Casmurro\n- Iracema"},
		{"interactive", `{"type":"button_reply","button_reply":{"id":"bot:yes","title":"Confirm"}}`, "Confirm"},
		{"interactive", `{"type":"order_details","body":{"text":"Your order"},"action":{"name":"review_and_pay","parameters":{"reference_id":"R1","currency":"BRL","total_amount":{"value":7980,"offset":100},"payment_settings":[{"type":"pix_dynamic_code","pix_dynamic_code":{"code":"000201PIX"}}]}}}`,
			"Your order\nOrder R1, total 79.80 BRL\n000201PIX"},
		{"interactive", `{"type":"order_status","body":{"text":"Paid"},"action":{"name":"review_order","parameters":{"reference_id":"R1","order":{"status":"processing"},"payment":{"status":"captured"}}}}`,
			"Paid\nOrder R1: processing, payment captured"},
		{"location", `{"latitude":-23.5,"longitude":-46.6,"name":"Livraria","address":"Rua A, 1"}`, "Livraria\nRua A, 1"},
		{"contacts", `[{"name":{"formatted_name":"Ana"}},{"name":{"formatted_name":"Ben"}}]`, "Ana\nBen"},
		{"button", `{"payload":"STOP","text":"Stop promotions"}`, "Stop promotions"},
		{"template", `{"name":"x","language":"en","category":"UTILITY","body":"Your order shipped"}`, "Your order shipped"},
		{"flow", `{"x":1}`, "fallback"},
		{"text", `not json`, "fallback"},
	} {
		got := client.BusinessText(&contentpb.BusinessMessage{Type: c.typ, Json: []byte(c.json)}, "fallback")
		if got != c.want {
			t.Errorf("BusinessText(%s %s) = %q, want %q", c.typ, c.json, got, c.want)
		}
	}
}
