package cloudapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	. "github.com/parley-im/parley/internal/business/cloudapi"
	"strings"
	"testing"
	"time"
)

func msg(typ, obj string) string {
	return fmt.Sprintf(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+55 11 98765-4321","type":%q,%q:%s}`, typ, typ, obj)
}

func ix(obj string) string { return msg("interactive", obj) }

func (e *env) addProduct(rid string, price int64) Product {
	e.t.Helper()
	p, err := e.catalog.CreateProduct(context.Background(), testCatalog, Product{RetailerID: rid, Name: "Livro " + rid, Price: price, Currency: "BRL"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func orderDetails(params string) string {
	return ix(`{"type":"order_details","body":{"text":"Pague"},"action":{"name":"review_and_pay","parameters":` + params + `}}`)
}

const pix = `"payment_settings":[{"type":"pix_dynamic_code","pix_dynamic_code":{"code":"000201...","merchant_name":"Livraria","key":"a@b.c","key_type":"EMAIL"}}]`

func TestSendValidation(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		e.open(testCustomer)
		e.addProduct("SKU1", 1500)
		e.addProduct("SKU2", 2000)
		long := func(n int) string { return strings.Repeat("á", n) }
		exp := e.clock.now().Add(10 * time.Minute).Unix()
		expSoon := e.clock.now().Add(100 * time.Second).Unix()
		okOrder := fmt.Sprintf(`{"reference_id":"ord-1","type":"physical-goods","payment_type":"br",%s,"currency":"BRL",
		"total_amount":{"value":5600,"offset":100},"order":{"status":"pending","catalog_id":%q,"expiration":{"timestamp":"%d","description":"Pix expira"},
		"items":[{"retailer_id":"SKU1","name":"A","amount":{"value":1500,"offset":100},"quantity":2},{"retailer_id":"SKU2","name":"B","amount":{"value":2000,"offset":100},"sale_amount":{"value":1800,"offset":100},"quantity":1}],
		"subtotal":{"value":4800,"offset":100},"tax":{"value":0,"offset":100},"shipping":{"value":1000,"offset":100,"description":"Correios"},"discount":{"value":200,"offset":100}}}`, pix, testCatalog, exp)

		tests := []struct {
			name string
			body string
			code int // 0: accepted
		}{
			{"text", msg("text", `{"body":"Olá, tudo bem? 📚","preview_url":false}`), 0},
			{"text default type", `{"messaging_product":"whatsapp","to":"5511987654321","text":{"body":"oi"}}`, 0},
			{"text 4096 chars", msg("text", `{"body":"`+long(4096)+`"}`), 0},
			{"text 4097 chars", msg("text", `{"body":"`+long(4097)+`"}`), 131009},
			{"text empty", msg("text", `{"body":""}`), 131008},
			{"text missing object", `{"messaging_product":"whatsapp","to":"5511987654321","type":"text"}`, 131008},
			{"no messaging_product", `{"to":"5511987654321","type":"text","text":{"body":"x"}}`, 100},
			{"malformed json", `{"messaging_product":"whatsapp",`, 100},
			{"bad recipient", `{"messaging_product":"whatsapp","to":"abc","text":{"body":"x"}}`, 100},
			{"recipient is sender", `{"messaging_product":"whatsapp","to":"` + testOwnWaID + `","text":{"body":"x"}}`, 131021},
			{"unknown type", msg("hologram", `{"x":1}`), 131051},
			{"group", `{"messaging_product":"whatsapp","recipient_type":"group","to":"123","type":"text","text":{"body":"x"}}`, 131051},
			{"biz opaque 512", `{"messaging_product":"whatsapp","to":"5511987654321","text":{"body":"x"},"biz_opaque_callback_data":"` + strings.Repeat("a", 512) + `"}`, 0},
			{"biz opaque 513", `{"messaging_product":"whatsapp","to":"5511987654321","text":{"body":"x"},"biz_opaque_callback_data":"` + strings.Repeat("a", 513) + `"}`, 131009},
			{"context without id", `{"messaging_product":"whatsapp","to":"5511987654321","context":{},"text":{"body":"x"}}`, 131008},
			{"image by link", msg("image", `{"link":"https://example.com/a.jpg","caption":"capa"}`), 0},
			{"image id and link", msg("image", `{"id":"123","link":"https://example.com/a.jpg"}`), 131009},
			{"image neither", msg("image", `{"caption":"x"}`), 131008},
			{"image unknown id", msg("image", `{"id":"999"}`), 131009},
			{"image bad link", msg("image", `{"link":"ftp://x/y"}`), 131009},
			{"image caption 1025", msg("image", `{"link":"https://e.com/a.jpg","caption":"`+long(1025)+`"}`), 131009},
			{"audio caption", msg("audio", `{"link":"https://e.com/a.ogg","caption":"no"}`), 131009},
			{"document filename", msg("document", `{"link":"https://e.com/a.pdf","filename":"a.pdf","caption":"nota"}`), 0},
			{"video filename", msg("video", `{"link":"https://e.com/a.mp4","filename":"a.mp4"}`), 131009},
			{"sticker", msg("sticker", `{"link":"https://e.com/a.webp"}`), 0},
			{"location", msg("location", `{"latitude":-23.55,"longitude":-46.63,"name":"Loja","address":"Rua X"}`), 0},
			{"location strings", msg("location", `{"latitude":"-23.55","longitude":"-46.63"}`), 0},
			{"location out of range", msg("location", `{"latitude":91,"longitude":0}`), 131009},
			{"location missing", msg("location", `{"name":"x"}`), 131008},
			{"contacts", msg("contacts", `[{"name":{"formatted_name":"Ana Souza"},"phones":[{"phone":"+55 11 9999","type":"WORK"}],"birthday":"1990-01-02"}]`), 0},
			{"contacts six", msg("contacts", `[`+strings.Repeat(`{"name":{"formatted_name":"A"}},`, 5)+`{"name":{"formatted_name":"A"}}]`), 131009},
			{"contacts no name", msg("contacts", `[{"phones":[{"phone":"1"}]}]`), 131008},
			{"contacts bad birthday", msg("contacts", `[{"name":{"formatted_name":"A"},"birthday":"02/01/1990"}]`), 131009},
			{"reaction", msg("reaction", `{"message_id":"wamid.x","emoji":"👍🏽"}`), 0},
			{"reaction removal", msg("reaction", `{"message_id":"wamid.x","emoji":""}`), 0},
			{"reaction text", msg("reaction", `{"message_id":"wamid.x","emoji":"ok"}`), 131009},
			{"reaction no id", msg("reaction", `{"emoji":"👍"}`), 131008},
			{"buttons", ix(`{"type":"button","header":{"type":"text","text":"Olá"},"body":{"text":"Escolha"},"footer":{"text":"rodapé"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"Sim"}},{"type":"reply","reply":{"id":"b","title":"Não"}}]}}`), 0},
			{"buttons four", ix(`{"type":"button","body":{"text":"x"},"action":{"buttons":[` + strings.Repeat(`{"type":"reply","reply":{"id":"a","title":"t"}},`, 3) + `{"type":"reply","reply":{"id":"d","title":"t"}}]}}`), 131009},
			{"button title 21", ix(`{"type":"button","body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"` + long(21) + `"}}]}}`), 131009},
			{"button duplicate id", ix(`{"type":"button","body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"1"}},{"type":"reply","reply":{"id":"a","title":"2"}}]}}`), 131009},
			{"button no body", ix(`{"type":"button","action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"1"}}]}}`), 131008},
			{"body 1025", ix(`{"type":"button","body":{"text":"` + long(1025) + `"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"1"}}]}}`), 131009},
			{"header 61", ix(`{"type":"button","header":{"type":"text","text":"` + long(61) + `"},"body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"1"}}]}}`), 131009},
			{"footer 61", ix(`{"type":"button","footer":{"text":"` + long(61) + `"},"body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"1"}}]}}`), 131009},
			{"list", ix(`{"type":"list","header":{"type":"text","text":"Menu"},"body":{"text":"Veja"},"action":{"button":"Opções","sections":[{"title":"A","rows":[{"id":"1","title":"Um","description":"d"}]},{"title":"B","rows":[{"id":"2","title":"Dois"}]}]}}`), 0},
			{"list eleven rows", ix(`{"type":"list","body":{"text":"Veja"},"action":{"button":"Opções","sections":[{"title":"A","rows":[` + strings.TrimSuffix(strings.Repeat(`{"id":"x","title":"t"},`, 11), ",") + `]}]}}`), 131009},
			{"list section untitled of two", ix(`{"type":"list","body":{"text":"Veja"},"action":{"button":"Opções","sections":[{"rows":[{"id":"1","title":"Um"}]},{"title":"B","rows":[{"id":"2","title":"Dois"}]}]}}`), 131008},
			{"list image header", ix(`{"type":"list","header":{"type":"image","image":{"link":"https://e.com/a.jpg"}},"body":{"text":"Veja"},"action":{"button":"Opções","sections":[{"rows":[{"id":"1","title":"Um"}]}]}}`), 131009},
			{"list row desc 73", ix(`{"type":"list","body":{"text":"Veja"},"action":{"button":"Opções","sections":[{"rows":[{"id":"1","title":"Um","description":"` + long(73) + `"}]}]}}`), 131009},
			{"product", ix(`{"type":"product","body":{"text":"Veja"},"action":{"catalog_id":"` + testCatalog + `","product_retailer_id":"SKU1"}}`), 0},
			{"product no body", ix(`{"type":"product","action":{"catalog_id":"` + testCatalog + `","product_retailer_id":"SKU1"}}`), 0},
			{"product header", ix(`{"type":"product","header":{"type":"text","text":"x"},"action":{"catalog_id":"` + testCatalog + `","product_retailer_id":"SKU1"}}`), 131009},
			{"product unknown sku", ix(`{"type":"product","action":{"catalog_id":"` + testCatalog + `","product_retailer_id":"NOPE"}}`), 131009},
			{"product other catalog", ix(`{"type":"product","action":{"catalog_id":"42","product_retailer_id":"SKU1"}}`), 131009},
			{"product_list", ix(`{"type":"product_list","header":{"type":"text","text":"Livros"},"body":{"text":"Veja"},"action":{"catalog_id":"` + testCatalog + `","sections":[{"title":"Todos","product_items":[{"product_retailer_id":"SKU1"},{"product_retailer_id":"SKU2"}]}]}}`), 0},
			{"product_list no header", ix(`{"type":"product_list","body":{"text":"Veja"},"action":{"catalog_id":"` + testCatalog + `","sections":[{"title":"T","product_items":[{"product_retailer_id":"SKU1"}]}]}}`), 131008},
			{"product_list 31 items", ix(`{"type":"product_list","header":{"type":"text","text":"L"},"body":{"text":"Veja"},"action":{"catalog_id":"` + testCatalog + `","sections":[{"title":"A","product_items":[` + strings.TrimSuffix(strings.Repeat(`{"product_retailer_id":"SKU1"},`, 20), ",") + `]},{"title":"B","product_items":[` + strings.TrimSuffix(strings.Repeat(`{"product_retailer_id":"SKU2"},`, 11), ",") + `]}]}}`), 131009},
			{"catalog_message", ix(`{"type":"catalog_message","body":{"text":"Catálogo"},"action":{"name":"catalog_message","parameters":{"thumbnail_product_retailer_id":"SKU1"}}}`), 0},
			{"catalog_message no thumbnail", ix(`{"type":"catalog_message","body":{"text":"Catálogo"},"action":{"name":"catalog_message"}}`), 0},
			{"catalog_message bad name", ix(`{"type":"catalog_message","body":{"text":"Catálogo"},"action":{"name":"x"}}`), 131009},
			{"cta_url", ix(`{"type":"cta_url","body":{"text":"Veja"},"action":{"name":"cta_url","parameters":{"display_text":"Abrir","url":"https://parley.example/loja"}}}`), 0},
			{"cta_url bad url", ix(`{"type":"cta_url","body":{"text":"Veja"},"action":{"name":"cta_url","parameters":{"display_text":"Abrir","url":"javascript:alert(1)"}}}`), 131009},
			{"flow unsupported", ix(`{"type":"flow","body":{"text":"x"},"action":{"name":"flow","parameters":{}}}`), 131051},
			{"location request", ix(`{"type":"location_request_message","body":{"text":"Onde?"},"action":{"name":"send_location"}}`), 0},
			{"order_details", orderDetails(okOrder), 0},
			{"order_details simplified", orderDetails(`{"reference_id":"ord-2","type":"digital-goods","payment_type":"br",` + pix + `,"currency":"BRL","total_amount":{"value":100,"offset":100}}`), 0},
			{"order_details upi", orderDetails(`{"reference_id":"ord-3","type":"digital-goods","payment_type":"upi","payment_configuration":"cfg","currency":"INR","total_amount":{"value":100,"offset":100}}`), 0},
			{"order_details wrong subtotal", orderDetails(strings.Replace(okOrder, `"subtotal":{"value":4800`, `"subtotal":{"value":4900`, 1)), 131009},
			{"order_details wrong total", orderDetails(strings.Replace(okOrder, `"total_amount":{"value":5600`, `"total_amount":{"value":5700`, 1)), 131009},
			{"order_details mixed offsets", orderDetails(strings.Replace(okOrder, `"tax":{"value":0,"offset":100}`, `"tax":{"value":0,"offset":1000}`, 1)), 131009},
			{"order_details sale above price", orderDetails(strings.Replace(okOrder, `"sale_amount":{"value":1800`, `"sale_amount":{"value":2500`, 1)), 131009},
			{"order_details expiry too soon", orderDetails(strings.Replace(okOrder, fmt.Sprint(exp), fmt.Sprint(expSoon), 1)), 131009},
			{"order_details bad reference", orderDetails(strings.Replace(okOrder, `"ord-1"`, `"ord 1/x"`, 1)), 131009},
			{"order_details reference 36", orderDetails(strings.Replace(okOrder, `"ord-1"`, `"`+strings.Repeat("r", 36)+`"`, 1)), 131009},
			{"order_details no payment", orderDetails(`{"reference_id":"ord-4","type":"digital-goods","payment_type":"br","currency":"BRL","total_amount":{"value":100,"offset":100}}`), 131008},
			{"order_details pix missing key", orderDetails(`{"reference_id":"ord-5","type":"digital-goods","payment_type":"br","payment_settings":[{"type":"pix_dynamic_code","pix_dynamic_code":{"code":"0002","merchant_name":"L","key_type":"EVP"}}],"currency":"BRL","total_amount":{"value":100,"offset":100}}`), 131008},
			{"order_details unknown item", orderDetails(strings.Replace(okOrder, `"retailer_id":"SKU1"`, `"retailer_id":"NOPE"`, 1)), 131009},
			{"order_details negative", orderDetails(`{"reference_id":"ord-6","type":"digital-goods","payment_type":"br",` + pix + `,"currency":"BRL","total_amount":{"value":-1,"offset":100}}`), 131009},
			{"order_status", ix(`{"type":"order_status","body":{"text":"Pago"},"action":{"name":"review_order","parameters":{"reference_id":"ord-1","order":{"status":"processing","description":"Separando"},"payment":{"status":"captured","timestamp":1785125734}}}}`), 0},
			{"order_status unknown reference", ix(`{"type":"order_status","body":{"text":"Pago"},"action":{"name":"review_order","parameters":{"reference_id":"never-sent","order":{"status":"processing"}}}}`), 131009},
			{"order_status bad status", ix(`{"type":"order_status","body":{"text":"Pago"},"action":{"name":"review_order","parameters":{"reference_id":"ord-1","order":{"status":"lost"}}}}`), 131009},
			{"order_status nothing", ix(`{"type":"order_status","body":{"text":"Pago"},"action":{"name":"review_order","parameters":{"reference_id":"ord-1"}}}`), 131008},
			{"interactive no type", ix(`{"body":{"text":"x"},"action":{}}`), 131008},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := e.msgr.count()
				r := e.send(tc.body)
				if tc.code == 0 {
					if r.status != 200 {
						t.Fatalf("status %d: %s", r.status, r.raw)
					}
					id, _ := dig(r.body, "messages", 0, "id").(string)
					if !strings.HasPrefix(id, "wamid.") || dig(r.body, "contacts", 0, "wa_id") != testCustomer || dig(r.body, "messaging_product") != "whatsapp" {
						t.Fatalf("send response %s", r.raw)
					}
					if e.msgr.count() != before+1 {
						t.Fatalf("the Messenger got %d messages, want 1", e.msgr.count()-before)
					}
					if !json.Valid(e.msgr.last().Object) {
						t.Fatalf("outbound object is not JSON")
					}
					return
				}
				if r.code() != tc.code || r.status < 400 {
					t.Fatalf("got %d code %d, want code %d: %s", r.status, r.code(), tc.code, r.raw)
				}
				if e.msgr.count() != before {
					t.Fatalf("a refused message reached the Messenger")
				}
				if dig(r.body, "error", "fbtrace_id") == "" || dig(r.body, "error", "type") == nil {
					t.Fatalf("envelope incomplete: %s", r.raw)
				}
			})
		}
	})
}

func TestSendResponseShapeAndPassThrough(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		e.open(testCustomer)
		r := e.send(`{"messaging_product":"whatsapp","to":"+5511987654321","type":"text","text":{"body":"Olá 👋","preview_url":true},"context":{"message_id":"wamid.abc"},"biz_opaque_callback_data":"tracking-1"}`)
		if r.status != 200 || r.header.Get("Content-Type") != "application/json; charset=UTF-8" {
			t.Fatalf("%d %s", r.status, r.header)
		}
		var shape struct {
			MessagingProduct string `json:"messaging_product"`
			Contacts         []struct {
				Input string `json:"input"`
				WaID  string `json:"wa_id"`
			} `json:"contacts"`
			Messages []struct {
				ID            string `json:"id"`
				MessageStatus string `json:"message_status"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(r.raw, &shape); err != nil {
			t.Fatal(err)
		}
		if shape.Contacts[0].Input != "+5511987654321" || shape.Contacts[0].WaID != testCustomer || shape.Messages[0].MessageStatus != "accepted" {
			t.Fatalf("%s", r.raw)
		}
		o := e.msgr.last()
		if o.To != testCustomer || o.ReplyTo != "wamid.abc" || o.BizOpaqueCallbackData != "tracking-1" || string(o.Object) != `{"body":"Olá 👋","preview_url":true}` {
			t.Fatalf("outbound %+v %s", o, o.Object)
		}
		if o.Pricing.Category != "service" || o.Pricing.PricingModel != "PMP" {
			t.Fatalf("pricing %+v", o.Pricing)
		}
	})
}

func TestMarkReadAndTyping(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		e.msgr.known["wamid.in1"] = true
		r := e.send(`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.in1","typing_indicator":{"type":"text"}}`)
		if r.status != 200 || r.body["success"] != true {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if len(e.msgr.read) != 1 || !e.msgr.typing[0] {
			t.Fatalf("mark read not passed on: %v %v", e.msgr.read, e.msgr.typing)
		}
		if r := e.send(`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.unknown"}`); r.code() != 131009 {
			t.Fatalf("unknown message: %s", r.raw)
		}
		if r := e.send(`{"messaging_product":"whatsapp","status":"delivered","message_id":"wamid.in1"}`); r.code() != 131009 {
			t.Fatalf("bad status: %s", r.raw)
		}
	})
}

// TestHandlerSend: the agent's own sends (Handler.Send) take the API's
// path: the same validation, policy and Messenger, the same errors.
func TestHandlerSend(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SyncPolicyErrors = true })
	ctx := context.Background()
	if _, err := e.h.Send(ctx, testPhone, []byte(msg("text", `{"body":"hi"}`))); !errors.Is(err, ErrReengagement) {
		t.Fatalf("send outside the window: %v, want 131047", err)
	}
	e.open(testCustomer)
	wamid, err := e.h.Send(ctx, testPhone, []byte(msg("text", `{"body":"hi"}`)))
	if err != nil || !strings.HasPrefix(wamid, "wamid.") {
		t.Fatalf("send: %q, %v", wamid, err)
	}
	if o := e.msgr.last(); o.To != testCustomer || o.Type != "text" || string(o.Object) != `{"body":"hi"}` {
		t.Errorf("messenger got %+v", o)
	}
	var ae *Error
	if _, err := e.h.Send(ctx, testPhone, []byte(msg("text", `{"body":""}`))); !errors.As(err, &ae) || ae.Spec.Code != 131008 {
		t.Errorf("empty text: %v, want 131008", err)
	}
	if _, err := e.h.Send(ctx, "999", []byte(msg("text", `{"body":"x"}`))); !errors.Is(err, ErrUnknownObject) {
		t.Errorf("unknown number: %v", err)
	}
	if e.msgr.count() != 1 {
		t.Errorf("the messenger got %d messages, want 1", e.msgr.count())
	}
}

// TestMessengerFillsPayment: an order_details without payment_settings is
// refused unless the Messenger fills them in, and then passed on as it is.
func TestMessengerFillsPayment(t *testing.T) {
	noSettings := orderDetails(`{"reference_id":"ord-9","type":"physical-goods","payment_type":"br","currency":"BRL","total_amount":{"value":100,"offset":100}}`)
	e := newEnv(t, nil)
	e.open(testCustomer)
	if r := e.send(noSettings); r.code() != 131008 || e.msgr.count() != 0 {
		t.Fatalf("without a filling messenger: %d %s", r.status, r.raw)
	}
	e = newEnv(t, func(c *Config) { c.MessengerFillsPayment = true })
	e.open(testCustomer)
	if r := e.send(noSettings); r.status != 200 || e.msgr.count() != 1 {
		t.Fatalf("with a filling messenger: %d %s", r.status, r.raw)
	}
	if o := e.msgr.last(); !strings.Contains(string(o.Object), `"payment_type":"br"`) || strings.Contains(string(o.Object), "payment_settings") {
		t.Errorf("messenger got %s", o.Object)
	}
	// A bad payment_type is still refused.
	bad := orderDetails(`{"reference_id":"ord-10","type":"physical-goods","payment_type":"xx","currency":"BRL","total_amount":{"value":100,"offset":100}}`)
	if r := e.send(bad); r.code() != 131009 && r.code() != 100 {
		t.Errorf("bad payment_type: %d %s", r.status, r.raw)
	}
}
