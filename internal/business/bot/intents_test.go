package bot

import (
	"strings"
	"testing"
)

// intentCase is one customer message and what its answer must contain.
type intentCase struct {
	text    string
	want    []string      // substrings of the answer
	handoff HandoffReason // a handoff of this reason, if set
	typ     string        // an interactive reply of this type, if set
}

// intentCases are at least ten messages per language, each in a fresh
// conversation on Monday 10:00 (open until 18:00).
var intentCases = map[Lang][]intentCase{
	English: {
		{text: "Hi!", want: []string{"Livraria Sabiá", "assistant"}},
		{text: "Are you open now?", want: []string{"open now, until 18:00"}},
		{text: "What are your opening hours?", want: []string{"Monday–Friday: 09:00–18:00", "Saturday: 10:00–14:00", "Sunday: closed"}},
		{text: "Are you open on Sunday?", want: []string{"closed on Sunday"}},
		{text: "Where is the store?", want: []string{"Rua Augusta 1500"}, typ: ""},
		{text: "Do you have Dom Casmurro?", want: []string{"Dom Casmurro", "R$ 39.90"}},
		{text: "How many copies of 1984 do you have in stock?", want: []string{"7 copies of 1984", "R$ 49.90"}},
		{text: "How much is The Hobbit?", want: []string{"The Hobbit", "R$ 59.90"}},
		{text: "Do you have Harry Potter?", want: []string{`don't have "Harry Potter"`}},
		{text: "Is A Hora da Estrela available?", want: []string{"A Hora da Estrela", "out of stock"}},
		{text: "Do you gift wrap?", want: []string{"gift wrapping is free"}},
		{text: "Which payment methods do you accept?", want: []string{"PIX, credit and debit"}},
		{text: "What's your website?", want: []string{"https://livrariasabia.com.br"}},
		{text: "I want to talk to a human", want: []string{"passing you to a person"}, handoff: HandoffRequested},
		{text: "This is unacceptable, terrible service!", handoff: HandoffComplaint},
		{text: "Thanks a lot", want: []string{"You're welcome"}},
		{text: "Do you have anything by Paulo Coelho?", want: []string{"O Alquimista", "R$ 34.90"}},
		{text: "do you have books by Machado de Assis?", want: []string{"Dom Casmurro", "Memórias Póstumas"}, typ: "list"},
		{text: "hello, I have a problem with my order", handoff: HandoffComplaint},
		{text: "Do you have O Tempo e o Vento?", want: []string{"O Continente", "O Retrato"}, typ: "list"},
		{text: "show me your catalog", want: []string{"Dom Casmurro", "Laskar Pelangi"}, typ: "list"},
	},
	Portuguese: {
		{text: "Oi, bom dia!", want: []string{"Olá! Sou o assistente da Livraria Sabiá"}},
		{text: "Vocês estão abertos agora?", want: []string{"abertos agora, até as 18:00"}},
		{text: "quando vocês abrem?", want: []string{"abertos agora"}},
		{text: "Qual o horário de funcionamento?", want: []string{"segunda-feira–sexta-feira: 09:00–18:00"}},
		{text: "Abrem no domingo?", want: []string{"Não abrimos domingo"}},
		{text: "Onde fica a loja?", want: []string{"Rua Augusta 1500"}},
		{text: "Tem Dom Casmurro?", want: []string{"Dom Casmurro", "R$ 39,90"}},
		{text: "Quantos exemplares de O Alquimista vocês têm em estoque?", want: []string{"12 exemplares de O Alquimista"}},
		{text: "Quanto custa Capitães da Areia?", want: []string{"Capitães da Areia", "R$ 36,90"}},
		{text: "Vocês têm Harry Potter?", want: []string{`não temos "Harry Potter"`}},
		{text: "Vocês fazem entrega?", want: []string{"Correios"}},
		{text: "Vocês dão desconto para estudante?", want: []string{"10% de desconto"}},
		{text: "Quero falar com um atendente", want: []string{"pessoa da nossa equipe"}, handoff: HandoffRequested},
		{text: "Muito obrigado!", want: []string{"Por nada"}},
		{text: "obrigado, era só isso", want: []string{"Por nada"}},
		{text: "Qual o site de vocês?", want: []string{"Site: https://livrariasabia.com.br"}},
		{text: "Posso pagar com pix?", want: []string{"Aceitamos PIX"}},
	},
	German: {
		{text: "Hallo!", want: []string{"Hallo! Ich bin der Assistent von Livraria Sabiá"}},
		{text: "habt ihr heute geöffnet?", want: []string{"jetzt geöffnet, bis 18:00 Uhr"}},
		{text: "Wie sind eure Öffnungszeiten?", want: []string{"Montag–Freitag: 09:00–18:00"}},
		{text: "Habt ihr am Sonntag offen?", want: []string{"Am Sonntag haben wir geschlossen"}},
		{text: "Wo ist euer Laden?", want: []string{"Rua Augusta 1500"}},
		{text: "Habt ihr Die Verwandlung?", want: []string{"Die Verwandlung", "R$ 27,90"}},
		{text: "Wie viele Exemplare von 1984 habt ihr auf Lager?", want: []string{"7 Exemplare"}},
		{text: "Was kostet The Hobbit?", want: []string{"The Hobbit", "R$ 59,90"}},
		{text: "Habt ihr Harry Potter?", want: []string{`"Harry Potter" nicht`}},
		{text: "Ist A Hora da Estrela vorrätig?", want: []string{"nicht vorrätig"}},
		{text: "Kann ich ein Buch umtauschen?", want: []string{"innerhalb von 7 Tagen"}},
		{text: "Gibt es Parkplätze in der Nähe?", want: []string{"Parkhaus"}},
		{text: "Ich möchte mit einem Mitarbeiter sprechen", want: []string{"mit einem Menschen"}, handoff: HandoffRequested},
		{text: "Danke schön", want: []string{"Gern geschehen"}},
		{text: "wann macht ihr zu?", want: []string{"bis 18:00 Uhr"}},
		{text: "Kann ich mit Karte bezahlen?", want: []string{"Wir akzeptieren PIX"}},
	},
	Indonesian: {
		{text: "Halo kak", want: []string{"Halo! Saya asisten Livraria Sabiá"}},
		{text: "jam buka?", want: []string{"sedang buka sekarang, sampai pukul 18.00"}},
		{text: "Hari Minggu buka tidak?", want: []string{"Hari Minggu kami tutup"}},
		{text: "Alamat tokonya di mana?", want: []string{"Rua Augusta 1500"}},
		{text: "Ada buku Laskar Pelangi?", want: []string{"Laskar Pelangi", "R$ 54,90"}},
		{text: "Berapa harga O Alquimista?", want: []string{"O Alquimista", "R$ 34,90"}},
		{text: "Stok 1984 masih ada berapa?", want: []string{"ada 7 eksemplar"}},
		{text: "Ada Harry Potter?", want: []string{`"Harry Potter" tidak ada`}},
		{text: "Bisa kirim ke luar kota?", want: []string{"seluruh Brasil"}},
		{text: "Ada diskon untuk pelajar?", want: []string{"diskon 10%"}},
		{text: "Saya mau bicara dengan admin", want: []string{"staf kami"}, handoff: HandoffRequested},
		{text: "Terima kasih ya", want: []string{"Sama-sama"}},
		{text: "halo, pesanan saya belum sampai", handoff: HandoffComplaint},
		{text: "Metode pembayaran apa saja?", want: []string{"Kami menerima PIX"}},
		{text: "Bisa bayar pakai kartu?", want: []string{"Kami menerima PIX"}},
	},
}

func TestIntents(t *testing.T) {
	for _, lang := range Langs {
		cases := intentCases[lang]
		if len(cases) < 10 {
			t.Fatalf("%s: only %d cases", lang, len(cases))
		}
		for _, tc := range cases {
			t.Run(string(lang)+"/"+tc.text, func(t *testing.T) {
				h := newHarness(t)
				rs := h.say(tc.text)
				got := plain(rs)
				for _, w := range tc.want {
					if !strings.Contains(got, w) {
						t.Errorf("answer lacks %q:\n%s", w, got)
					}
				}
				if tc.typ != "" && find(rs, tc.typ) == nil {
					t.Errorf("no %s reply:\n%s", tc.typ, got)
				}
				hs := h.b.handoffs
				switch {
				case tc.handoff != "" && (len(hs) != 1 || hs[0].Reason != tc.handoff):
					t.Errorf("handoffs %+v, want one %s", hs, tc.handoff)
				case tc.handoff == "" && len(hs) != 0:
					t.Errorf("unexpected handoff %+v", hs)
				}
				if c := h.conv(); c.Lang != lang {
					t.Errorf("conversation language %q, want %q", c.Lang, lang)
				}
			})
		}
	}
}
