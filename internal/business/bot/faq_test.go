package bot

import (
	"fmt"
	"testing"
)

// faqLabelled are customer questions worded differently from the FAQ, with
// the entry that answers them ("" when none does: the bot must say it does
// not know).
var faqLabelled = map[Lang][]struct{ q, id string }{
	English: {
		{"Can you send the books to my house?", "delivery"},
		{"do u ship to Rio de Janeiro", "delivery"},
		{"What's the shipping fee?", "shipping_cost"},
		{"is shipping free for big orders", "shipping_cost"},
		{"Can I pay by credit card?", "payment"},
		{"do you take cash", "payment"},
		{"I'd like to exchange a book I got as a present", "returns"},
		{"what is your refund policy", "returns"},
		{"Could you wrap it as a present?", "gift_wrap"},
		{"Do you buy second hand books?", "used_books"},
		{"Can you order a book for me that you don't stock?", "special_order"},
		{"Where can I park my car?", "parking"},
		{"When does the book club meet?", "book_club"},
		{"Do you have vouchers I can give as a gift?", "gift_card"},
		{"Is there a discount for teachers?", "student_discount"},
		{"Can I get a coffee there?", "cafe"},
		{"Do you repair laptops?", ""},
		{"What is the meaning of life?", ""},
		{"Can I bring my dog inside?", ""},
	},
	Portuguese: {
		{"Vocês entregam no Rio de Janeiro?", "delivery"},
		{"Dá pra mandar pelo correio?", "delivery"},
		{"Qual é o valor do frete?", "shipping_cost"},
		{"O frete é grátis?", "shipping_cost"},
		{"Aceitam cartão de crédito?", "payment"},
		{"Posso pagar com pix?", "payment"},
		{"Quero trocar um livro que ganhei", "returns"},
		{"Como funciona a devolução?", "returns"},
		{"Dá pra embrulhar pra presente?", "gift_wrap"},
		{"Vocês compram livros usados?", "used_books"},
		{"Vocês conseguem encomendar um livro?", "special_order"},
		{"Onde posso estacionar o carro?", "parking"},
		{"Quando é o clube do livro?", "book_club"},
		{"Tem vale presente?", "gift_card"},
		{"Professor tem desconto?", "student_discount"},
		{"Dá pra tomar um café aí?", "cafe"},
		{"Vocês consertam celular?", ""},
		{"Qual a capital da França?", ""},
		{"Posso levar meu cachorro?", ""},
	},
	German: {
		{"Schickt ihr Bücher auch nach Rio?", "delivery"},
		{"Versendet ihr mit der Post?", "delivery"},
		{"Wie hoch sind die Versandkosten?", "shipping_cost"},
		{"Ist der Versand kostenlos?", "shipping_cost"},
		{"Kann ich mit Kreditkarte zahlen?", "payment"},
		{"Nehmt ihr Bargeld?", "payment"},
		{"Ich möchte ein Buch zurückgeben", "returns"},
		{"Wie funktioniert der Umtausch?", "returns"},
		{"Könnt ihr das als Geschenk einpacken?", "gift_wrap"},
		{"Kauft ihr gebrauchte Bücher an?", "used_books"},
		{"Könnt ihr mir ein Buch bestellen, das nicht vorrätig ist?", "special_order"},
		{"Wo kann ich mein Auto parken?", "parking"},
		{"Wann trifft sich der Lesekreis?", "book_club"},
		{"Gibt es Geschenkgutscheine?", "gift_card"},
		{"Bekommen Studenten Rabatt?", "student_discount"},
		{"Kann man bei euch Kaffee trinken?", "cafe"},
		{"Repariert ihr Fahrräder?", ""},
		{"Wie wird das Wetter morgen?", ""},
		{"Darf ich meinen Hund mitbringen?", ""},
	},
	Indonesian: {
		{"Bisa kirim ke Rio de Janeiro?", "delivery"},
		{"Pengiriman pakai kurir bisa?", "delivery"},
		{"Ongkirnya berapa?", "shipping_cost"},
		{"Ada gratis ongkir?", "shipping_cost"},
		{"Bisa bayar pakai kartu kredit?", "payment"},
		{"Bisa bayar tunai?", "payment"},
		{"Saya mau tukar buku", "returns"},
		{"Bagaimana cara retur buku?", "returns"},
		{"Bisa minta dibungkus kado?", "gift_wrap"},
		{"Apakah menerima buku bekas?", "used_books"},
		{"Bisa inden buku yang tidak ada?", "special_order"},
		{"Parkir mobil di mana?", "parking"},
		{"Kapan klub buku bertemu?", "book_club"},
		{"Ada voucher untuk hadiah?", "gift_card"},
		{"Guru dapat potongan harga?", "student_discount"},
		{"Ada kopi di sana?", "cafe"},
		{"Bisa servis laptop?", ""},
		{"Siapa presiden pertama?", ""},
		{"Boleh bawa anjing?", ""},
	},
}

// TestFAQRetrieval measures top-1 accuracy with the confidence threshold
// over the labelled set: a question counts as right when the best entry
// above the threshold is the labelled one, or, for questions the FAQ does
// not answer, when nothing clears the threshold.
func TestFAQRetrieval(t *testing.T) {
	ix := newFAQIndex(append([]FAQEntry(nil), bookstoreFAQ...))
	total, right := 0, 0
	for _, lang := range Langs {
		n, ok := 0, 0
		for _, c := range faqLabelled[lang] {
			hits := ix.search(lang, c.q, 3)
			got := ""
			conf := 0.0
			if len(hits) > 0 {
				conf = hits[0].Confidence
				if conf >= FAQThreshold {
					got = hits[0].Entry.ID
				}
			}
			n++
			if got == c.id {
				ok++
			} else {
				best := ""
				if len(hits) > 0 {
					best = hits[0].Entry.ID
				}
				t.Logf("%s %q: got %q (best %q %.2f), want %q", lang, c.q, got, best, conf, c.id)
			}
		}
		t.Logf("%s: %d/%d = %.0f%%", lang, ok, n, 100*float64(ok)/float64(n))
		total += n
		right += ok
	}
	acc := float64(right) / float64(total)
	t.Logf("FAQ top-1 accuracy with threshold %.2f: %d/%d = %.1f%%", FAQThreshold, right, total, 100*acc)
	if acc < 0.85 {
		t.Errorf("accuracy %.2f below 0.85", acc)
	}
}

func TestFAQTranslation(t *testing.T) {
	h := newHarness(t)
	// An English question, answered from the English entry though the
	// business's language is Portuguese.
	got := plain(h.say("Do you sell gift cards?"))
	if want := "gift cards from R$ 50,00"; !contains(got, want) {
		t.Fatalf("%q lacks %q", got, want)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s == sub || fmt.Sprint(s) != "" && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// faqHeldOut was written after the tuning on faqLabelled and never tuned
// on: its accuracy is the honest estimate.
var faqHeldOut = map[Lang][]struct{ q, id string }{
	English: {
		{"How long until my parcel reaches Curitiba?", "delivery"},
		{"Is delivery free if I buy a lot?", "shipping_cost"},
		{"Do you accept debit cards?", "payment"},
		{"The book I bought has a missing page, can I swap it?", "returns"},
		{"Can the books be packed as a gift?", "gift_wrap"},
		{"I have old books to sell, are you interested?", "used_books"},
		{"Is there somewhere to leave my bicycle?", "parking"},
		{"Any author readings coming up?", "book_club"},
		{"Do you deliver pizza?", ""},
		{"How old is the owner?", ""},
	},
	Portuguese: {
		{"Em quantos dias chega em Curitiba?", "delivery"},
		{"Comprando muito o frete sai de graça?", "shipping_cost"},
		{"Aceitam cartão de débito?", "payment"},
		{"O livro veio sem uma página, posso trocar?", "returns"},
		{"Vocês fazem pacote de presente?", "gift_wrap"},
		{"Tenho livros velhos pra vender, vocês compram?", "used_books"},
		{"Onde deixo minha bicicleta?", "parking"},
		{"Vai ter algum evento com autor?", "book_club"},
		{"Vocês entregam pizza?", ""},
		{"Quantos anos tem o dono?", ""},
	},
	German: {
		{"Wie lange dauert die Lieferung nach Curitiba?", "delivery"},
		{"Ist der Versand bei großen Bestellungen gratis?", "shipping_cost"},
		{"Kann ich mit Debitkarte bezahlen?", "payment"},
		{"In meinem Buch fehlt eine Seite, kann ich es umtauschen?", "returns"},
		{"Könnt ihr das Buch hübsch verpacken?", "gift_wrap"},
		{"Ich habe alte Bücher, kauft ihr die?", "used_books"},
		{"Wo kann ich mein Fahrrad abstellen?", "parking"},
		{"Gibt es bald eine Lesung?", "book_club"},
		{"Liefert ihr Pizza?", ""},
		{"Wie alt ist der Besitzer?", ""},
	},
	Indonesian: {
		{"Berapa hari pengiriman ke Curitiba?", "delivery"},
		{"Kalau beli banyak gratis ongkir?", "shipping_cost"},
		{"Bisa bayar pakai kartu debit?", "payment"},
		{"Bukunya ada halaman yang hilang, bisa ditukar?", "returns"},
		{"Bisa dibungkus untuk hadiah?", "gift_wrap"},
		{"Saya punya buku lama, mau beli?", "used_books"},
		{"Sepeda bisa diparkir di mana?", "parking"},
		{"Ada acara dengan penulis?", "book_club"},
		{"Jual pizza?", ""},
		{"Umur pemiliknya berapa?", ""},
	},
}

// faqHeldOut2 was written after the thesaurus was added (which the
// misses of faqHeldOut prompted), and run once.
var faqHeldOut2 = map[Lang][]struct{ q, id string }{
	English: {
		{"can I get my order sent by mail?", "delivery"},
		{"what does postage cost to Recife", "shipping_cost"},
		{"Is paying by PIX possible?", "payment"},
		{"I got the same book twice as a gift, can I exchange one?", "returns"},
		{"Are there discounts for university students?", "student_discount"},
		{"Do you have a place to sit and drink coffee?", "cafe"},
		{"Do you sell concert tickets?", ""},
		{"Can I rent a bike from you?", ""},
	},
	Portuguese: {
		{"Vocês mandam pelos correios pra Bahia?", "delivery"},
		{"Quanto fica o frete pra Recife?", "shipping_cost"},
		{"Dá pra pagar no débito?", "payment"},
		{"Ganhei um livro repetido, posso trocar?", "returns"},
		{"Universitário tem desconto?", "student_discount"},
		{"Tem lugar pra sentar e tomar um café?", "cafe"},
		{"Vocês vendem ingresso de show?", ""},
		{"Vocês alugam bicicleta?", ""},
	},
	German: {
		{"Könnt ihr mir das Buch per Post schicken?", "delivery"},
		{"Was kostet der Versand nach Recife?", "shipping_cost"},
		{"Geht auch Bezahlung mit PIX?", "payment"},
		{"Ich habe ein Buch doppelt geschenkt bekommen, kann ich eins umtauschen?", "returns"},
		{"Gibt es Ermäßigung für Studierende?", "student_discount"},
		{"Kann man bei euch sitzen und Kaffee trinken?", "cafe"},
		{"Verkauft ihr Konzertkarten?", ""},
		{"Kann man bei euch Fahrräder mieten?", ""},
	},
	Indonesian: {
		{"Bisa dikirim lewat pos ke Bahia?", "delivery"},
		{"Ongkos kirim ke Recife berapa?", "shipping_cost"},
		{"Bisa bayar pakai PIX?", "payment"},
		{"Saya dapat buku yang sama dua kali, bisa tukar satu?", "returns"},
		{"Mahasiswa dapat diskon?", "student_discount"},
		{"Ada tempat duduk untuk minum kopi?", "cafe"},
		{"Jual tiket konser?", ""},
		{"Bisa sewa sepeda?", ""},
	},
}

func TestFAQHeldOut(t *testing.T) {
	faqAccuracy(t, "held-out 1 (contaminated)", faqHeldOut, 0.7)
	faqAccuracy(t, "held-out 2", faqHeldOut2, 0.6)
}

func faqAccuracy(t *testing.T, name string, set map[Lang][]struct{ q, id string }, min float64) {
	ix := newFAQIndex(append([]FAQEntry(nil), bookstoreFAQ...))
	total, right, wrong := 0, 0, 0
	for _, lang := range Langs {
		for _, c := range set[lang] {
			hits := ix.search(lang, c.q, 1)
			got, best, conf := "", "", 0.0
			if len(hits) > 0 {
				best, conf = hits[0].Entry.ID, hits[0].Confidence
				if conf >= FAQThreshold {
					got = best
				}
			}
			total++
			if got == c.id {
				right++
			} else {
				if got != "" {
					wrong++ // a wrong answer, worse than "I don't know"
				}
				t.Logf("%s %q: got %q (best %q %.2f), want %q", lang, c.q, got, best, conf, c.id)
			}
		}
	}
	acc := float64(right) / float64(total)
	t.Logf("%s FAQ accuracy: %d/%d = %.1f%%, wrong answers %d", name, right, total, 100*acc, wrong)
	if acc < min {
		t.Errorf("%s accuracy %.2f below %.2f", name, acc, min)
	}
}
