package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// step is one customer action in a scripted dialogue and what the answer
// must contain.
type step struct {
	say  string // a text message
	tap  string // or a button id
	want []string
}

// dialogues: hours → a book's stock → two copies → checkout → pickup →
// confirm → PIX code → status, in each language.
var dialogues = map[Lang][]step{
	English: {
		{say: "Hi, are you open today?", want: []string{"open now, until 18:00"}},
		{say: "Do you have Dom Casmurro in stock?", want: []string{"5 copies of Dom Casmurro", "R$ 39.90"}},
		{say: "Great, I'd like two copies please", want: []string{"Added 2 × Dom Casmurro (R$ 79.80)", "Cart total: R$ 79.80"}},
		{say: "That's all, thanks", want: []string{"delivered, or will you pick it up"}},
		{tap: idPickup, want: []string{"2 × Dom Casmurro — R$ 79.80", "Total: R$ 79.80", "Pickup at the store"}},
		{say: "yes", want: []string{"Order BK-1001: review and pay R$ 79.80", "To pay with PIX", "000201"}},
		{say: "What's the status of my order?", want: []string{"Order BK-1001 is waiting for payment"}},
	},
	Portuguese: {
		{say: "Olá, vocês estão abertos hoje?", want: []string{"abertos agora, até as 18:00"}},
		{say: "Tem Dom Casmurro em estoque?", want: []string{"5 exemplares de Dom Casmurro", "R$ 39,90"}},
		{say: "Quero dois exemplares de Dom Casmurro", want: []string{"Adicionei 2 × Dom Casmurro (R$ 79,80)", "Total do carrinho: R$ 79,80"}},
		{say: "Pode finalizar o pedido", want: []string{"entrega ou retirar na loja"}},
		{say: "Vou retirar na loja", want: []string{"2 × Dom Casmurro — R$ 79,80", "Total: R$ 79,80", "Retirada na loja"}},
		{say: "Sim, pode confirmar", want: []string{"Pedido BK-1001: revise e pague R$ 79,80", "Para pagar com PIX", "000201"}},
		{say: "Qual a situação do meu pedido?", want: []string{"O pedido BK-1001 está aguardando pagamento"}},
	},
	German: {
		{say: "Hallo, habt ihr heute geöffnet?", want: []string{"jetzt geöffnet, bis 18:00 Uhr"}},
		{say: "Habt ihr Dom Casmurro vorrätig?", want: []string{"Von Dom Casmurro haben wir 5 Exemplare vorrätig", "R$ 39,90"}},
		{say: "Ich möchte zwei Exemplare davon", want: []string{"2 × Dom Casmurro hinzugefügt (R$ 79,80)", "Warenkorb gesamt: R$ 79,80"}},
		{tap: idCheckout, want: []string{"Lieferung, oder holen Sie es im Laden ab"}},
		{say: "Ich hole es ab", want: []string{"2 × Dom Casmurro — R$ 79,80", "Gesamt: R$ 79,80", "Abholung im Laden"}},
		{say: "Ja, bitte", want: []string{"Bestellung BK-1001: prüfen und R$ 79,80 bezahlen", "Zum Bezahlen mit PIX", "000201"}},
		{say: "Wie ist der Stand meiner Bestellung?", want: []string{"Bestellung BK-1001 wartet auf die Bezahlung"}},
	},
	Indonesian: {
		{say: "Halo, hari ini buka?", want: []string{"sedang buka sekarang, sampai pukul 18.00"}},
		{say: "Stok Dom Casmurro masih ada?", want: []string{"Stok Dom Casmurro ada 5 eksemplar", "R$ 39,90"}},
		{say: "Saya mau beli dua", want: []string{"Sudah ditambahkan 2 × Dom Casmurro (R$ 79,80)", "Total keranjang: R$ 79,80"}},
		{say: "Itu saja, checkout", want: []string{"Mau dikirim, atau diambil di toko?"}},
		{say: "ambil di toko", want: []string{"2 × Dom Casmurro — R$ 79,80", "Total: R$ 79,80", "Diambil di toko"}},
		{say: "iya", want: []string{"Pesanan BK-1001: periksa dan bayar R$ 79,80", "Untuk membayar dengan PIX", "000201"}},
		{say: "Status pesanan saya gimana?", want: []string{"Pesanan BK-1001 menunggu pembayaran"}},
	},
}

func TestDialogue(t *testing.T) {
	for _, lang := range Langs {
		t.Run(string(lang), func(t *testing.T) {
			h := newHarness(t)
			for i, st := range dialogues[lang] {
				var rs []Reply
				if st.tap != "" {
					rs = h.tap(st.tap)
				} else {
					rs = h.say(st.say)
				}
				got := plain(rs)
				for _, w := range st.want {
					if !strings.Contains(got, w) {
						t.Fatalf("step %d (%q%s): answer lacks %q:\n%s", i, st.say, st.tap, w, got)
					}
				}
				// Nothing is ordered before the customer's yes.
				if i < 5 && h.b.orderCalls != 0 {
					t.Fatalf("step %d: order created before confirmation", i)
				}
				switch i {
				case 4:
					if ids := buttonIDs(rs); len(ids) != 2 || ids[0] != idYes || ids[1] != idNo {
						t.Fatalf("confirmation buttons %v", ids)
					}
				case 5:
					checkOrderDetails(t, rs)
				case 6:
					if st := find(rs, "order_status"); st == nil || st.Action.Parameters.Order.Status != "pending" {
						t.Fatalf("no pending order_status: %+v", rs)
					}
				}
				if c := h.conv(); c.Lang != lang {
					t.Fatalf("step %d: conversation in %q", i, c.Lang)
				}
			}
			if h.b.orderCalls != 1 || h.b.stock["dom-casmurro"] != 3 || len(h.b.payments) != 1 {
				t.Fatalf("orders %d, stock %d, payments %d", h.b.orderCalls, h.b.stock["dom-casmurro"], len(h.b.payments))
			}
			// The sandbox confirms the payment: the agent sends the update
			// the engine words in the customer's language.
			o := h.b.capture("BK-1001")
			r, err := h.e.OrderStatusReply(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if got := detectLangOf(r.Plain()); got != lang {
				t.Errorf("status update %q in %s", r.Plain(), got)
			}
			if p := r.Interactive.Action.Parameters; p.Order.Status != "processing" || p.Payment.Status != "captured" {
				t.Errorf("status update %+v", p)
			}
		})
	}
}

func detectLangOf(s string) Lang { l, _ := detectLang(s); return l }

// checkOrderDetails checks the order_details message against the Cloud
// API's arithmetic and the PIX payment setting.
func checkOrderDetails(t *testing.T, rs []Reply) {
	t.Helper()
	od := find(rs, "order_details")
	if od == nil {
		t.Fatalf("no order_details in %s", plain(rs))
	}
	_, body, err := Reply{Type: "interactive", Interactive: od}.Body()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Type   string `json:"type"`
		Action struct {
			Name       string `json:"name"`
			Parameters struct {
				ReferenceID     string `json:"reference_id"`
				Type            string `json:"type"`
				PaymentType     string `json:"payment_type"`
				Currency        string `json:"currency"`
				TotalAmount     Amount `json:"total_amount"`
				PaymentSettings []struct {
					Type           string `json:"type"`
					PixDynamicCode struct {
						Code, MerchantName, Key, KeyType string
					} `json:"pix_dynamic_code"`
				} `json:"payment_settings"`
				Order struct {
					Status string `json:"status"`
					Items  []struct {
						RetailerID string `json:"retailer_id"`
						Name       string `json:"name"`
						Amount     Amount `json:"amount"`
						Quantity   int    `json:"quantity"`
					} `json:"items"`
					Subtotal Amount `json:"subtotal"`
				} `json:"order"`
			} `json:"parameters"`
		} `json:"action"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	p := v.Action.Parameters
	if v.Action.Name != "review_and_pay" || p.ReferenceID != "BK-1001" || p.PaymentType != "br" || p.Currency != "BRL" ||
		p.Type != "physical-goods" || p.TotalAmount != (Amount{7980, 100}) || p.Order.Status != "pending" {
		t.Fatalf("order_details %s", body)
	}
	var sum int64
	for _, it := range p.Order.Items {
		sum += it.Amount.Value * int64(it.Quantity)
	}
	if sum != p.Order.Subtotal.Value || sum != p.TotalAmount.Value || len(p.Order.Items) != 1 || p.Order.Items[0].Quantity != 2 {
		t.Fatalf("items do not add up: %s", body)
	}
	if len(p.PaymentSettings) != 1 || p.PaymentSettings[0].Type != "pix_dynamic_code" ||
		!strings.HasPrefix(p.PaymentSettings[0].PixDynamicCode.Code, "000201") {
		t.Fatalf("payment settings %s", body)
	}
}
