package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// bookstore is an in-memory business implementing every tool interface:
// a Brazilian bookshop (BRL, PIX) with hours in America/Sao_Paulo, a
// catalog with stock that orders reserve, a FAQ in four languages, and a
// staff queue that records handoffs.
type bookstore struct {
	mu          sync.Mutex
	profile     Profile
	loc         *time.Location
	week        []DayHours
	holidays    map[string]string // "2006-01-02" → name
	products    map[string]Product
	stock       map[string]int
	faq         []FAQEntry
	orders      map[string]*Order
	seq         int
	deliveryFee int64
	payments    []Payment
	handoffs    []HandoffRequest
	orderCalls  int
	failPayment bool
}

var (
	_ Business = (*bookstore)(nil)
	_ Catalog  = (*bookstore)(nil)
	_ Orders   = (*bookstore)(nil)
	_ Payments = bookstorePayments{}
	_ Staff    = (*bookstore)(nil)
)

func newBookstore() *bookstore {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	b := &bookstore{
		profile: Profile{
			Name: "Livraria Sabiá", Description: "Independent bookshop",
			Address: "Rua Augusta 1500, São Paulo - SP", Email: "contato@livrariasabia.com.br",
			Website: "https://livrariasabia.com.br", Phone: "+55 11 3000-0000",
			Latitude: -23.5559, Longitude: -46.6623, Country: "BR", Currency: "BRL", Lang: Portuguese,
			Delivery: true, Pickup: true,
		},
		loc: loc,
		week: []DayHours{
			{time.Monday, "09:00", "18:00"}, {time.Tuesday, "09:00", "18:00"}, {time.Wednesday, "09:00", "18:00"},
			{time.Thursday, "09:00", "18:00"}, {time.Friday, "09:00", "18:00"}, {time.Saturday, "10:00", "14:00"},
		},
		holidays:    map[string]string{"2026-12-25": "Natal"},
		products:    map[string]Product{},
		stock:       map[string]int{},
		orders:      map[string]*Order{},
		seq:         1000,
		deliveryFee: 1000,
		faq:         bookstoreFAQ,
	}
	for _, p := range []struct {
		id, name, desc string
		price          int64
		stock          int
	}{
		{"dom-casmurro", "Dom Casmurro", "Machado de Assis", 3990, 5},
		{"memorias-postumas", "Memórias Póstumas de Brás Cubas", "Machado de Assis", 4490, 2},
		{"o-alquimista", "O Alquimista", "Paulo Coelho", 3490, 12},
		{"hora-da-estrela", "A Hora da Estrela", "Clarice Lispector", 2990, 0},
		{"1984", "1984", "George Orwell", 4990, 7},
		{"hobbit", "The Hobbit", "J. R. R. Tolkien", 5990, 4},
		{"laskar-pelangi", "Laskar Pelangi", "Andrea Hirata", 5490, 3},
		{"verwandlung", "Die Verwandlung", "Franz Kafka", 2790, 6},
		{"grande-sertao", "Grande Sertão: Veredas", "João Guimarães Rosa", 7990, 1},
		{"capitaes-areia", "Capitães da Areia", "Jorge Amado", 3690, 8},
		{"tempo-vento-1", "O Tempo e o Vento: O Continente", "Erico Verissimo", 6990, 3},
		{"tempo-vento-2", "O Tempo e o Vento: O Retrato", "Erico Verissimo", 6990, 3},
	} {
		b.products[p.id] = Product{RetailerID: p.id, Name: p.name, Description: p.desc, Price: p.price, Currency: "BRL"}
		b.stock[p.id] = p.stock
	}
	return b
}

func (b *bookstore) tools() Tools {
	return Tools{Business: b, Catalog: b, Orders: b, Payments: bookstorePayments{b}, Staff: b}
}

func (b *bookstore) Profile(ctx context.Context) (Profile, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.profile, nil
}

// Hours computes open/closed from the weekly schedule and holidays.
func (b *bookstore) Hours(ctx context.Context, now time.Time) (Hours, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now = now.In(b.loc)
	h := Hours{Week: append([]DayHours(nil), b.week...), Zone: b.loc}
	at := func(day time.Time, hm string) time.Time {
		var hh, mm int
		fmt.Sscanf(hm, "%d:%d", &hh, &mm)
		return time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, b.loc)
	}
	for d := 0; d < 14; d++ {
		day := now.AddDate(0, 0, d)
		if name, ok := b.holidays[day.Format("2006-01-02")]; ok {
			if d == 0 {
				h.Holiday = name
			}
			continue
		}
		for _, iv := range b.week {
			if iv.Day != day.Weekday() {
				continue
			}
			open, close := at(day, iv.Opens), at(day, iv.Closes)
			if d == 0 && !now.Before(open) && now.Before(close) {
				h.Open, h.ClosesAt = true, close
				return h, nil
			}
			if open.After(now) && h.NextOpen.IsZero() {
				h.NextOpen = open
			}
		}
		if !h.NextOpen.IsZero() {
			return h, nil
		}
	}
	return h, nil
}

func (b *bookstore) FAQ(ctx context.Context) ([]FAQEntry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]FAQEntry(nil), b.faq...), nil
}

// Search is a plain case- and accent-insensitive substring search, like a
// SQL LIKE over name and description.
func (b *bookstore) Search(ctx context.Context, query string, limit int) ([]Product, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := fold(query)
	var out []Product
	for _, p := range b.products {
		if strings.Contains(fold(p.Name+" "+p.Description), q) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (b *bookstore) Product(ctx context.Context, id string) (Product, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.products[id]
	if !ok {
		return Product{}, ErrNotFound
	}
	return p, nil
}

func (b *bookstore) Stock(ctx context.Context, id string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.products[id]; !ok {
		return 0, ErrNotFound
	}
	return b.stock[id], nil
}

// Create reserves the stock (all or nothing) and prices from the catalog,
// adding the delivery fee for deliveries.
func (b *bookstore) Create(ctx context.Context, req OrderRequest) (Order, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.orderCalls++
	o := Order{Customer: req.Customer, Status: OrderPending, Payment: PaymentPending, Currency: b.profile.Currency, Fulfilment: req.Fulfilment}
	for _, it := range req.Items {
		p, ok := b.products[it.RetailerID]
		if !ok {
			return Order{}, ErrNotFound
		}
		if b.stock[it.RetailerID] < it.Quantity {
			return Order{}, &OutOfStockError{RetailerID: it.RetailerID, Available: b.stock[it.RetailerID]}
		}
		o.Items = append(o.Items, OrderLine{RetailerID: p.RetailerID, Name: p.Name, Quantity: it.Quantity, UnitPrice: p.Price})
		o.Subtotal += p.Price * int64(it.Quantity)
	}
	for _, it := range req.Items {
		b.stock[it.RetailerID] -= it.Quantity
	}
	if req.Fulfilment == Delivery {
		o.Shipping = b.deliveryFee
	}
	o.Total = o.Subtotal + o.Shipping
	b.seq++
	o.Reference = fmt.Sprintf("BK-%d", b.seq)
	b.orders[o.Reference] = &o
	return o, nil
}

func (b *bookstore) Get(ctx context.Context, customer, ref string) (Order, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[ref]
	if !ok || o.Customer != customer {
		return Order{}, ErrNotFound
	}
	return *o, nil
}

func (b *bookstore) Recent(ctx context.Context, customer string, limit int) ([]Order, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Order
	for _, o := range b.orders {
		if o.Customer == customer {
			out = append(out, *o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reference > out[j].Reference })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (b *bookstore) Cancel(ctx context.Context, customer, ref string) (Order, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[ref]
	if !ok || o.Customer != customer {
		return Order{}, ErrNotFound
	}
	if o.Status != OrderPending || o.Payment == PaymentCaptured {
		return Order{}, ErrNotCancelable
	}
	o.Status = OrderCanceled
	for _, it := range o.Items {
		b.stock[it.RetailerID] += it.Quantity
	}
	return *o, nil
}

// capture is the sandbox PSP confirming an order's payment.
func (b *bookstore) capture(ref string) Order {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.orders[ref]
	o.Payment, o.Status = PaymentCaptured, OrderProcessing
	return *o
}

// Create (Payments) returns a PIX code shaped like a BR Code or a UPI link;
// their correctness is the payment package's business, not the bot's.
func (b *bookstore) createPayment(o Order, m PaymentMethod) (Payment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failPayment {
		return Payment{}, fmt.Errorf("psp down")
	}
	var p Payment
	switch m {
	case PIX:
		p = Payment{Method: PIX, MerchantName: "Livraria Sabia", Key: "pix@livrariasabia.com.br", KeyType: "EMAIL",
			Code: fmt.Sprintf("00020101021226580014br.gov.bcb.pix0124pix@livrariasabia.com.br5204000053039865406%d.%02d5802BR5914LIVRARIA SABIA6009SAO PAULO62110507%s6304ABCD", o.Total/100, o.Total%100, strings.ReplaceAll(o.Reference, "-", ""))}
	case UPI:
		p = Payment{Method: UPI, Link: fmt.Sprintf("upi://pay?pa=shop@upi&pn=Shop&am=%d.%02d&cu=INR&tr=%s", o.Total/100, o.Total%100, o.Reference)}
	default:
		return Payment{}, ErrNoPayment
	}
	b.payments = append(b.payments, p)
	return p, nil
}

func (b *bookstore) Handoff(ctx context.Context, req HandoffRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handoffs = append(b.handoffs, req)
	return nil
}

// payments adapts createPayment to the Payments interface (the method name
// Create is taken by Orders on the same type).
type bookstorePayments struct{ b *bookstore }

func (p bookstorePayments) Create(ctx context.Context, o Order, m PaymentMethod) (Payment, error) {
	return p.b.createPayment(o, m)
}

// bookstoreFAQ is the shop's FAQ, each entry in the four languages.
var bookstoreFAQ = func() []FAQEntry {
	type tr4 struct{ q, a string }
	entries := []struct {
		id       string
		keywords map[Lang][]string
		t        map[Lang]tr4
	}{
		{"delivery", map[Lang][]string{English: {"ship", "shipping", "send", "courier", "post"}, Portuguese: {"enviar", "envio", "correios", "motoboy"}, German: {"versand", "verschicken", "schicken", "post"}, Indonesian: {"kirim", "pengiriman", "antar", "ongkir"}}, map[Lang]tr4{
			English:    {"Do you deliver? Where do you deliver to?", "We deliver anywhere in Brazil by post, and within São Paulo by courier in 1 to 2 working days."},
			Portuguese: {"Vocês fazem entrega? Para onde entregam?", "Entregamos em todo o Brasil pelos Correios e, na cidade de São Paulo, por motoboy em 1 a 2 dias úteis."},
			German:     {"Liefert ihr? Wohin liefert ihr?", "Wir liefern per Post in ganz Brasilien und innerhalb von São Paulo per Kurier in 1 bis 2 Werktagen."},
			Indonesian: {"Apakah bisa kirim? Pengiriman ke mana saja?", "Kami kirim ke seluruh Brasil lewat pos, dan di kota São Paulo lewat kurir dalam 1 sampai 2 hari kerja."},
		}},
		{"shipping_cost", map[Lang][]string{English: {"fee", "charge", "free shipping"}, Portuguese: {"frete", "taxa", "frete gratis"}, German: {"versandkosten", "gebuhr", "kostenlos"}, Indonesian: {"ongkir", "ongkos kirim", "biaya", "gratis ongkir"}}, map[Lang]tr4{
			English:    {"How much does delivery cost?", "Delivery in São Paulo costs R$ 10,00; elsewhere it is calculated by the post office. Orders over R$ 150,00 ship free."},
			Portuguese: {"Quanto custa a entrega? Qual o valor do frete?", "A entrega em São Paulo custa R$ 10,00; para outros lugares o frete é calculado pelos Correios. Pedidos acima de R$ 150,00 têm frete grátis."},
			German:     {"Was kostet die Lieferung?", "Die Lieferung in São Paulo kostet R$ 10,00; sonst berechnet die Post die Versandkosten. Ab R$ 150,00 ist der Versand kostenlos."},
			Indonesian: {"Berapa biaya pengirimannya?", "Ongkos kirim di São Paulo R$ 10,00; ke tempat lain dihitung oleh kantor pos. Pesanan di atas R$ 150,00 gratis ongkir."},
		}},
		{"payment", map[Lang][]string{English: {"pix", "card", "credit", "cash", "pay"}, Portuguese: {"pix", "cartao", "credito", "debito", "dinheiro", "pagar"}, German: {"pix", "karte", "kreditkarte", "bar", "bargeld", "zahlen", "bezahlen"}, Indonesian: {"pix", "kartu", "kredit", "tunai", "bayar"}}, map[Lang]tr4{
			English:    {"Which payment methods do you accept?", "We accept PIX, credit and debit cards in the shop, and cash."},
			Portuguese: {"Quais formas de pagamento vocês aceitam?", "Aceitamos PIX, cartões de crédito e débito na loja, e dinheiro."},
			German:     {"Welche Zahlungsarten akzeptiert ihr?", "Wir akzeptieren PIX, Kredit- und Debitkarten im Laden und Bargeld."},
			Indonesian: {"Metode pembayaran apa saja yang diterima?", "Kami menerima PIX, kartu kredit dan debit di toko, dan uang tunai."},
		}},
		{"returns", map[Lang][]string{English: {"return", "exchange", "refund", "swap"}, Portuguese: {"troca", "trocar", "devolucao", "devolver"}, German: {"umtausch", "umtauschen", "ruckgabe", "zuruckgeben"}, Indonesian: {"tukar", "retur", "kembalikan", "pengembalian"}}, map[Lang]tr4{
			English:    {"Can I return or exchange a book?", "Yes: within 7 days, with the receipt, if the book is in perfect condition."},
			Portuguese: {"Posso trocar ou devolver um livro?", "Sim: em até 7 dias, com a nota fiscal, se o livro estiver em perfeito estado."},
			German:     {"Kann ich ein Buch umtauschen oder zurückgeben?", "Ja: innerhalb von 7 Tagen mit Kassenbon, wenn das Buch einwandfrei ist."},
			Indonesian: {"Apakah buku bisa ditukar atau dikembalikan?", "Bisa: dalam 7 hari, dengan struk, kalau bukunya masih dalam kondisi sempurna."},
		}},
		{"gift_wrap", map[Lang][]string{English: {"wrap", "wrapping", "gift", "present"}, Portuguese: {"embrulho", "embrulhar", "presente", "papel"}, German: {"einpacken", "geschenkverpackung", "geschenk", "verpacken"}, Indonesian: {"bungkus", "kado", "hadiah"}}, map[Lang]tr4{
			English:    {"Do you gift wrap books?", "Yes, gift wrapping is free: just ask when you order."},
			Portuguese: {"Vocês embrulham para presente?", "Sim, o embrulho para presente é grátis: é só pedir no pedido."},
			German:     {"Packt ihr Bücher als Geschenk ein?", "Ja, die Geschenkverpackung ist kostenlos: sagen Sie es einfach bei der Bestellung."},
			Indonesian: {"Apakah bisa dibungkus kado?", "Bisa, bungkus kado gratis: cukup minta saat memesan."},
		}},
		{"used_books", map[Lang][]string{English: {"used", "second hand", "secondhand", "sell my books"}, Portuguese: {"usado", "usados", "sebo", "vender meus livros"}, German: {"gebraucht", "gebrauchte", "antiquariat", "verkaufen"}, Indonesian: {"bekas", "second", "jual buku"}}, map[Lang]tr4{
			English:    {"Do you buy or sell used books?", "We sell used books in our second-hand corner and buy them on Saturdays."},
			Portuguese: {"Vocês compram ou vendem livros usados?", "Vendemos livros usados no nosso sebo e compramos aos sábados."},
			German:     {"Kauft oder verkauft ihr gebrauchte Bücher?", "Gebrauchte Bücher verkaufen wir in unserer Antiquariatsecke und kaufen sie samstags an."},
			Indonesian: {"Apakah menjual atau membeli buku bekas?", "Kami menjual buku bekas di pojok buku bekas dan membelinya setiap hari Sabtu."},
		}},
		{"special_order", map[Lang][]string{English: {"special order", "order in", "request", "don't have", "out of print"}, Portuguese: {"encomenda", "encomendar", "pedir", "nao tem"}, German: {"bestellen", "besorgen", "nicht vorratig"}, Indonesian: {"pesan khusus", "inden", "pre order", "preorder"}}, map[Lang]tr4{
			English:    {"Can you get a book you don't have in stock?", "Yes, we can special-order any book in print; it takes 1 to 3 weeks."},
			Portuguese: {"Vocês encomendam um livro que não têm?", "Sim, encomendamos qualquer livro em catálogo; leva de 1 a 3 semanas."},
			German:     {"Könnt ihr ein Buch besorgen, das ihr nicht habt?", "Ja, wir besorgen jedes lieferbare Buch; das dauert 1 bis 3 Wochen."},
			Indonesian: {"Bisakah memesankan buku yang tidak ada di toko?", "Bisa, kami bisa pesankan buku apa pun yang masih terbit; butuh 1 sampai 3 minggu."},
		}},
		{"parking", map[Lang][]string{English: {"park", "car", "bike", "bicycle"}, Portuguese: {"estacionar", "carro", "bicicleta", "vaga"}, German: {"parken", "parkplatz", "auto", "fahrrad"}, Indonesian: {"parkir", "mobil", "motor", "sepeda"}}, map[Lang]tr4{
			English:    {"Is there parking near the shop?", "There is a paid car park next door and bike racks at the entrance."},
			Portuguese: {"Tem estacionamento perto da loja?", "Há um estacionamento pago ao lado e bicicletário na entrada."},
			German:     {"Gibt es Parkplätze in der Nähe?", "Nebenan gibt es ein kostenpflichtiges Parkhaus und am Eingang Fahrradständer."},
			Indonesian: {"Apakah ada tempat parkir dekat toko?", "Ada parkir berbayar di sebelah dan parkir sepeda di pintu masuk."},
		}},
		{"book_club", map[Lang][]string{English: {"event", "events", "club", "reading", "meetup"}, Portuguese: {"evento", "eventos", "clube", "leitura", "encontro"}, German: {"veranstaltung", "lesung", "lesekreis", "buchclub", "club"}, Indonesian: {"acara", "klub", "komunitas", "baca"}}, map[Lang]tr4{
			English:    {"Do you have events or a book club?", "Our book club meets on the first Thursday of each month at 19:00, and we host author readings."},
			Portuguese: {"Vocês têm eventos ou clube do livro?", "Nosso clube do livro se reúne na primeira quinta-feira de cada mês às 19:00, e fazemos encontros com autores."},
			German:     {"Habt ihr Veranstaltungen oder einen Lesekreis?", "Unser Lesekreis trifft sich am ersten Donnerstag im Monat um 19:00 Uhr, und wir veranstalten Lesungen."},
			Indonesian: {"Apakah ada acara atau klub buku?", "Klub buku kami bertemu setiap Kamis pertama tiap bulan pukul 19.00, dan kami juga mengadakan acara bersama penulis."},
		}},
		{"gift_card", map[Lang][]string{English: {"gift card", "voucher", "gift certificate"}, Portuguese: {"vale presente", "cartao presente", "vale"}, German: {"gutschein", "geschenkgutschein", "geschenkkarte"}, Indonesian: {"voucher", "kartu hadiah", "gift card"}}, map[Lang]tr4{
			English:    {"Do you sell gift cards?", "Yes, we sell gift cards from R$ 50,00, valid for a year."},
			Portuguese: {"Vocês vendem vale-presente?", "Sim, vendemos vale-presente a partir de R$ 50,00, válido por um ano."},
			German:     {"Verkauft ihr Gutscheine?", "Ja, Gutscheine gibt es ab R$ 50,00, ein Jahr gültig."},
			Indonesian: {"Apakah ada voucher hadiah?", "Ada, kami menjual voucher hadiah mulai R$ 50,00, berlaku satu tahun."},
		}},
		{"student_discount", map[Lang][]string{English: {"discount", "student", "teacher", "cheaper"}, Portuguese: {"desconto", "estudante", "professor", "carteirinha"}, German: {"rabatt", "student", "studenten", "schuler", "ermassigung"}, Indonesian: {"diskon", "pelajar", "mahasiswa", "guru", "potongan"}}, map[Lang]tr4{
			English:    {"Do you have a student discount?", "Students and teachers get 10% off with a valid ID."},
			Portuguese: {"Vocês dão desconto para estudante?", "Estudantes e professores têm 10% de desconto com carteirinha válida."},
			German:     {"Gibt es einen Rabatt für Studenten?", "Studierende und Lehrkräfte bekommen 10 % Rabatt mit gültigem Ausweis."},
			Indonesian: {"Apakah ada diskon untuk pelajar?", "Pelajar dan guru dapat diskon 10% dengan kartu yang masih berlaku."},
		}},
		{"cafe", map[Lang][]string{English: {"coffee", "cafe", "wifi", "wi fi", "drink"}, Portuguese: {"cafe", "cafeteria", "wifi", "wi fi"}, German: {"kaffee", "cafe", "wlan", "wifi"}, Indonesian: {"kopi", "kafe", "wifi", "minum"}}, map[Lang]tr4{
			English:    {"Is there a café in the bookshop?", "Yes, we have a small café with free Wi-Fi."},
			Portuguese: {"Tem café na livraria?", "Sim, temos um pequeno café com Wi-Fi grátis."},
			German:     {"Gibt es ein Café in der Buchhandlung?", "Ja, wir haben ein kleines Café mit kostenlosem WLAN."},
			Indonesian: {"Apakah ada kafe di toko buku?", "Ada, kami punya kafe kecil dengan Wi-Fi gratis."},
		}},
	}
	var out []FAQEntry
	for _, e := range entries {
		for _, l := range Langs {
			out = append(out, FAQEntry{ID: e.id, Lang: l, Question: e.t[l].q, Answer: e.t[l].a, Keywords: e.keywords[l]})
		}
	}
	return out
}()
