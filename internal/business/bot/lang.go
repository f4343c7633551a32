package bot

import (
	"math"
	"strings"
)

// Lang is a language the bot speaks, as an ISO 639-1 code.
type Lang string

// The languages of the embedded brain.
const (
	English    Lang = "en"
	Portuguese Lang = "pt"
	German     Lang = "de"
	Indonesian Lang = "id"
)

// Langs lists the languages the embedded brain speaks.
var Langs = []Lang{English, Portuguese, German, Indonesian}

func (l Lang) valid() bool {
	switch l {
	case English, Portuguese, German, Indonesian:
		return true
	}
	return false
}

// lexicon is, per language, words frequent in a shop conversation besides
// the stopwords: they tell languages apart in short messages.
var lexicon = map[Lang]map[string]bool{
	English: set(`open opening close closed closing hours today tomorrow now where address store shop
		book books copy copies buy order orders price cost stock available deliver delivery pickup
		pay payment cancel status human agent person talk speak someone thanks thank good morning
		evening afternoon hey yeah yep sure okay confirm checkout cart want sell stocked anything
		else location located find much many left`),
	Portuguese: set(`aberto aberta abre abrem abrimos fecha fecham fechado horario horarios hoje amanha
		agora endereco loja livro livros exemplar exemplares comprar pedido pedidos preco custa
		estoque disponivel entrega entregam entregar retirar retirada pagar pagamento cancelar
		atendente pessoa humano falar alguem valeu obrigado beleza quanto quantos confirmar
		finalizar carrinho quero queria tem tinha vende vendem fica ficam onde funcionamento
		voces vc ate domingo sabado`),
	German: set(`offen geoffnet offnet offnen oeffnungszeiten offnungszeiten geschlossen schliesst
		heute morgen jetzt adresse laden geschaft buch bucher exemplar exemplare kaufen bestellen
		bestellung preis kostet kosten lager vorratig verfugbar liefern lieferung abholen bezahlen
		zahlung stornieren mitarbeiter mensch sprechen jemand danke vielen moglich bestatigen
		warenkorb habt haben hast gibt mochte ich hatte gerne zwei stuck wieviel viel sonntag
		samstag`),
	Indonesian: set(`buka tutup jam hari ini besok sekarang alamat toko buku beli pesan pesanan harga
		berapa stok tersedia kirim pengiriman antar ambil bayar pembayaran batal batalkan admin
		orang manusia bicara ngobrol makasih thanks kak min oke konfirmasi keranjang mau pengen
		ada jual lokasi dimana masih tinggal minggu sabtu eksemplar`),
}

// langCorpus is sample text of each language the character trigram model
// learns from (written for this package).
var langCorpus = map[Lang]string{
	English: `Hello, are you open today? What time do you close this evening? I would like to buy two
		copies of this book. Do you have it in stock, and how much does it cost? Where is your store
		located? Can I pick up my order tomorrow morning? Please cancel my order, I changed my mind.
		Thank you very much for your help. I want to talk to a real person. What is the status of
		my order? Do you deliver to my neighbourhood? Which payment methods do you accept? The book
		arrived damaged and I am not happy with the service. Could you check whether the new novel
		is available? We are looking for something for a birthday present. Is there parking near
		the shop? How long does shipping usually take?`,
	Portuguese: `Olá, vocês estão abertos hoje? Que horas vocês fecham? Eu queria comprar dois
		exemplares deste livro. Vocês têm em estoque e quanto custa? Onde fica a loja? Posso
		retirar meu pedido amanhã de manhã? Por favor, cancele o meu pedido, mudei de ideia.
		Muito obrigado pela ajuda. Quero falar com uma pessoa de verdade. Qual é a situação do
		meu pedido? Vocês fazem entrega no meu bairro? Quais formas de pagamento vocês aceitam?
		O livro chegou danificado e não estou satisfeita com o atendimento. Vocês poderiam ver se
		o romance novo está disponível? Estamos procurando um presente de aniversário. Tem
		estacionamento perto da livraria? Quanto tempo demora a entrega?`,
	German: `Hallo, habt ihr heute geöffnet? Wann schließt ihr heute Abend? Ich möchte zwei
		Exemplare von diesem Buch kaufen. Habt ihr es vorrätig und was kostet es? Wo ist euer
		Laden? Kann ich meine Bestellung morgen früh abholen? Bitte stornieren Sie meine
		Bestellung, ich habe es mir anders überlegt. Vielen Dank für Ihre Hilfe. Ich möchte mit
		einem Menschen sprechen. Wie ist der Stand meiner Bestellung? Liefert ihr auch in meinen
		Stadtteil? Welche Zahlungsarten akzeptiert ihr? Das Buch kam beschädigt an und ich bin mit
		dem Service nicht zufrieden. Könnten Sie nachsehen, ob der neue Roman verfügbar ist? Wir
		suchen ein Geschenk zum Geburtstag. Gibt es Parkplätze in der Nähe der Buchhandlung? Wie
		lange dauert der Versand normalerweise?`,
	Indonesian: `Halo, apakah tokonya buka hari ini? Jam berapa tutupnya nanti malam? Saya mau beli
		dua eksemplar buku ini. Apakah stoknya masih ada dan berapa harganya? Di mana lokasi
		tokonya? Bisakah saya ambil pesanan saya besok pagi? Tolong batalkan pesanan saya, saya
		berubah pikiran. Terima kasih banyak atas bantuannya. Saya ingin bicara dengan orang
		sungguhan. Bagaimana status pesanan saya? Apakah bisa kirim ke daerah saya? Metode
		pembayaran apa saja yang diterima? Bukunya sampai dalam keadaan rusak dan saya tidak puas
		dengan pelayanannya. Bisakah dicek apakah novel barunya sudah tersedia? Kami sedang
		mencari hadiah ulang tahun. Apakah ada tempat parkir dekat toko buku? Berapa lama
		pengirimannya biasanya?`,
}

type trigramModel struct {
	counts map[string]float64
	total  float64
}

var (
	trigrams     map[Lang]*trigramModel
	trigramVocab float64
)

func init() {
	// Number words are good evidence ("dois", "zwei", "dua").
	for _, l := range Langs {
		for _, t := range []map[string]int{numUnits[l], numTens[l], numHundreds[l]} {
			for w := range t {
				lexicon[l][w] = true
			}
		}
	}
	trigrams = map[Lang]*trigramModel{}
	vocab := map[string]bool{}
	for _, l := range Langs {
		m := &trigramModel{counts: map[string]float64{}}
		text := langCorpus[l]
		for _, t := range templates {
			text += " " + t[l]
		}
		for _, w := range tokens(text) {
			for _, g := range wordTrigrams(w) {
				m.counts[g]++
				m.total++
				vocab[g] = true
			}
		}
		trigrams[l] = m
	}
	trigramVocab = float64(len(vocab))
}

// wordTrigrams are the character trigrams of " w ".
func wordTrigrams(w string) []string {
	r := []rune(" " + w + " ")
	var out []string
	for i := 0; i+3 <= len(r); i++ {
		out = append(out, string(r[i:i+3]))
	}
	return out
}

// detectLang scores text against the four languages: function and shop
// words (shared words count split), letters only one language uses, and a
// character trigram model. It returns the best language and its lead over
// the second, 0 when there is no evidence at all. Without a single known
// word or letter the lead is at most 0.9: character statistics of two
// words are not enough to switch a conversation's language.
func detectLang(text string) (Lang, float64) {
	scores := map[Lang]float64{}
	toks := tokens(text)
	for _, w := range toks {
		var in []Lang
		for _, l := range Langs {
			if stopwords[l][w] || lexicon[l][w] {
				in = append(in, l)
			}
		}
		for _, l := range in {
			scores[l] += 1 / float64(len(in))
		}
	}
	low := strings.ToLower(text)
	for _, r := range low {
		switch r {
		case 'ã', 'õ', 'ç', 'ê', 'á', 'ó', 'í', 'ú', 'â', 'à', 'é':
			scores[Portuguese] += 0.75
		case 'ä', 'ö', 'ü', 'ß':
			scores[German] += 1.5
		}
	}
	words := 0.0
	for _, v := range scores {
		words += v
	}
	// The trigram model's log likelihood, as a handicap against the best.
	lp := map[Lang]float64{}
	best := math.Inf(-1)
	n := 0
	for _, w := range toks {
		if isDigits(w) {
			continue
		}
		for _, g := range wordTrigrams(w) {
			n++
			for _, l := range Langs {
				m := trigrams[l]
				lp[l] += math.Log((m.counts[g] + 0.5) / (m.total + 0.5*trigramVocab))
			}
		}
	}
	if n > 0 {
		for _, l := range Langs {
			best = math.Max(best, lp[l])
		}
		for _, l := range Langs {
			scores[l] += (lp[l] - best) / 6
		}
	}
	first, second := Lang(""), Lang("")
	for _, l := range Langs {
		switch {
		case first == "" || scores[l] > scores[first]:
			first, second = l, first
		case second == "" || scores[l] > scores[second]:
			second = l
		}
	}
	if n == 0 && scores[first] == 0 {
		return first, 0
	}
	margin := scores[first] - scores[second]
	if words == 0 {
		margin = min(margin, 0.9)
	}
	return first, margin
}
