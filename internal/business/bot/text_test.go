package bot

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Você está ABERTO?":        "voce esta aberto",
		"Öffnungszeiten, bitte!":   "offnungszeiten bitte",
		"Straße":                   "strasse",
		"  Hari-ini  buka??":       "hari ini buka",
		"e\u0301 ca\u0300":         "e ca", // decomposed accents
		"Capitães da Areia":        "capitaes da areia",
		"don't":                    "don t",
		"R$ 39,90":                 "r 39 90",
		"日本語 text":                 "日本語 text",
		"\xff\xfe broken":          "broken",
		"ÆSIR œuvre İstanbul":      "aesir oeuvre istanbul",
		"":                         "",
		"!!!":                      "",
		"ÇA VA, JOÃO? ÜBER ÑANDÚ.": "ca va joao uber nandu",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStem(t *testing.T) {
	for _, tc := range []struct {
		l    Lang
		a, b string // stem the same
	}{
		{English, "books", "book"}, {English, "copies", "copy"}, {English, "delivery", "deliver"},
		{English, "opening", "open"}, {English, "prices", "price"},
		{Portuguese, "entregas", "entrega"}, {Portuguese, "livros", "livro"}, {Portuguese, "entregam", "entregar"},
		{Portuguese, "promocoes", "promocao"},
		{German, "bucher", "buch"}, {German, "gutscheine", "gutschein"}, {German, "lieferung", "lieferungen"},
		{Indonesian, "pengiriman", "pengirim"}, {Indonesian, "dikirim", "kirim"}, {Indonesian, "bukunya", "buku"},
	} {
		if sa, sb := stem(tc.l, tc.a), stem(tc.l, tc.b); sa != sb {
			t.Errorf("%s: stem(%q)=%q, stem(%q)=%q", tc.l, tc.a, sa, tc.b, sb)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		l    Lang
		in   string
		want int
	}{
		{English, "2", 2}, {English, "2x", 2}, {English, "x3", 3}, {English, "two", 2}, {English, "twenty one", 21},
		{English, "a dozen", 12}, {English, "one hundred and five", 105}, {English, "three hundred", 300},
		{Portuguese, "dois", 2}, {Portuguese, "duas", 2}, {Portuguese, "três", 3}, {Portuguese, "vinte e um", 21},
		{Portuguese, "cento e vinte e cinco", 125}, {Portuguese, "uma dúzia", 12}, {Portuguese, "quinze", 15},
		{German, "zwei", 2}, {German, "einundzwanzig", 21}, {German, "zwölf", 12}, {German, "hundert", 100},
		{German, "zweihundertdreiundvierzig", 243}, {German, "ein", 1}, {German, "dreißig", 30},
		{Indonesian, "dua", 2}, {Indonesian, "sebelas", 11}, {Indonesian, "dua belas", 12},
		{Indonesian, "tiga puluh dua", 32}, {Indonesian, "seratus", 100}, {Indonesian, "dua ratus lima", 205},
		{Indonesian, "selusin", 12},
	} {
		toks := tokens(tc.in)
		got := findQuantity(tc.l, toks)
		if got != tc.want {
			t.Errorf("%s %q = %d, want %d", tc.l, tc.in, got, tc.want)
		}
	}
	// Number words count only in their language: German "um" is "at".
	if q := findQuantity(German, tokens("um neun")); q != 9 {
		t.Errorf("um neun = %d", q)
	}
	if q := findQuantity(German, tokens("um")); q != 0 {
		t.Errorf("German um = %d", q)
	}
}

func TestDetectLang(t *testing.T) {
	cases := map[Lang][]string{
		English: {"are you open now?", "do you have this book in stock", "I want two copies please",
			"where is your shop", "thanks a lot", "what time do you close today", "can I talk to someone",
			"how much is it", "cancel my order", "hello there"},
		Portuguese: {"quando vocês abrem?", "vocês têm esse livro em estoque", "quero dois exemplares",
			"onde fica a loja", "muito obrigado", "que horas vocês fecham hoje", "quero falar com uma pessoa",
			"quanto custa", "cancela meu pedido", "oi, tudo bem?"},
		German: {"habt ihr heute geöffnet?", "habt ihr das Buch auf Lager", "ich möchte zwei Exemplare",
			"wo ist euer Laden", "vielen Dank", "wann schließt ihr heute", "ich möchte mit jemandem sprechen",
			"was kostet das", "bitte stornieren Sie meine Bestellung", "guten Tag"},
		Indonesian: {"jam buka?", "apakah buku ini masih ada stoknya", "saya mau beli dua",
			"alamat tokonya di mana", "terima kasih banyak", "jam berapa tutup hari ini", "saya mau bicara dengan admin",
			"berapa harganya", "tolong batalkan pesanan saya", "halo kak"},
	}
	total, right := 0, 0
	for want, msgs := range cases {
		for _, m := range msgs {
			total++
			got, margin := detectLang(m)
			if got == want {
				right++
			} else {
				t.Errorf("%q: %s (%.2f), want %s", m, got, margin, want)
			}
		}
	}
	t.Logf("language detection: %d/%d", right, total)
}

// TestTemplates: every sentence exists in every language with the same
// verbs, and buttons fit the Cloud API's 20 characters.
func TestTemplates(t *testing.T) {
	verbs := regexp.MustCompile(`%(\[\d\])?[sd]`)
	for key, byLang := range templates {
		en := verbs.FindAllString(byLang[English], -1)
		for _, l := range Langs {
			s, ok := byLang[l]
			if !ok || s == "" {
				t.Errorf("%s: no %s", key, l)
				continue
			}
			got := verbs.FindAllString(s, -1)
			if len(got) != len(en) {
				t.Errorf("%s/%s: verbs %v, English %v", key, l, got, en)
			}
			if strings.HasPrefix(key, "btn_") && utf8.RuneCountInString(s) > 20 {
				t.Errorf("%s/%s: button title %q over 20", key, l, s)
			}
			if strings.HasPrefix(key, "catalog_header") && utf8.RuneCountInString(s) > 24 {
				t.Errorf("%s/%s: section title over 24", key, l)
			}
			if len(got) == 0 && strings.Contains(s, "%") {
				t.Errorf("%s/%s: stray %%", key, l)
			}
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		l    Lang
		cur  string
		v    int64
		want string
	}{
		{Portuguese, "BRL", 7980, "R$ 79,80"},
		{English, "BRL", 123456, "R$ 1,234.56"},
		{German, "EUR", 1999, "19,99 €"},
		{English, "EUR", 1999, "€19.99"},
		{English, "INR", 9980, "₹99.80"},
		{Indonesian, "IDR", 15000000, "Rp 150.000"},
		{Indonesian, "IDR", 15000050, "Rp 150.000,50"},
		{English, "JPY", 1200, "¥ 1,200"},
		{English, "KWD", 1500, "1.500 KWD"},
		{English, "BRL", 5, "R$ 0.05"},
		{English, "BRL", -250, "R$ -2.50"},
	} {
		if got := formatMoney(tc.l, tc.cur, tc.v); got != tc.want {
			t.Errorf("formatMoney(%s, %s, %d) = %q, want %q", tc.l, tc.cur, tc.v, got, tc.want)
		}
	}
	if a := cloudAmount(7980, "BRL"); *a != (Amount{7980, 100}) {
		t.Errorf("cloudAmount %+v", a)
	}
	if a := cloudAmount(1200, "JPY"); *a != (Amount{1200, 1}) {
		t.Errorf("cloudAmount JPY %+v", a)
	}
}

func TestParseBusinessMessage(t *testing.T) {
	for _, tc := range []struct {
		typ, body string
		ok        bool
		want      Inbound
	}{
		{"text", `{"body":"oi"}`, true, Inbound{Text: "oi"}},
		{"interactive", `{"type":"button_reply","button_reply":{"id":"bot:yes","title":"Confirm"}}`, true, Inbound{ReplyID: "bot:yes", Text: "Confirm"}},
		{"interactive", `{"type":"list_reply","list_reply":{"id":"bot:product:1984","title":"1984","description":"x"}}`, true, Inbound{ReplyID: "bot:product:1984", Text: "1984"}},
		{"button", `{"payload":"bot:human","text":"Talk"}`, true, Inbound{ReplyID: "bot:human", Text: "Talk"}},
		{"order", `{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":2,"item_price":10.5,"currency":"BRL"}]}`, true,
			Inbound{Cart: []CartItem{{"a", 2}}}},
		{"order", `{"catalog_id":"1","product_items":[]}`, false, Inbound{}},
		{"order", `{"product_items":[{"product_retailer_id":"a","quantity":0}]}`, false, Inbound{}},
		{"order", `{"product_items":[{"product_retailer_id":"a","quantity":1.5}]}`, false, Inbound{}},
		{"order", `{"product_items":[{"product_retailer_id":"","quantity":1}]}`, false, Inbound{}},
		{"interactive", `{"type":"nfm_reply"}`, false, Inbound{}},
		{"interactive", `{"type":"button_reply"}`, false, Inbound{}},
		{"location", `{"latitude":91,"longitude":0}`, false, Inbound{}},
		{"contacts", `[]`, false, Inbound{}},
		{"text", `{"body":"a"} {"body":"b"}`, false, Inbound{}},
		{"text", `{"body":"\xff"}`, false, Inbound{}},
		{"text", `[1]`, false, Inbound{}},
	} {
		got, err := ParseBusinessMessage("c", "", tc.typ, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: err %v", tc.typ, tc.body, err)
			continue
		}
		if tc.ok {
			tc.want.Customer = "c"
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s %s: %+v, want %+v", tc.typ, tc.body, got, tc.want)
			}
		}
	}
}

// FuzzNormalize: folding is idempotent and yields clean words, stemming
// never empties a word, number parsing never panics and stays bounded, and
// language detection always answers one of the four.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Você está ABERTO?", "zweihundertdreiundvierzig", "dua ratus lima puluh",
		"one hundred and and", "e\u0301", "\xff", "x999999x", "vinte e e um", "hundert und", "seratus belas"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		folded := fold(s)
		if fold(folded) != folded {
			t.Fatalf("fold not idempotent: %q → %q → %q", s, folded, fold(folded))
		}
		toks := tokens(s)
		for _, w := range toks {
			if w == "" || strings.ContainsAny(w, " \t\n") {
				t.Fatalf("bad token %q", w)
			}
			for _, l := range Langs {
				if stem(l, w) == "" {
					t.Fatalf("stem(%s, %q) empty", l, w)
				}
			}
		}
		for _, l := range Langs {
			for i := range toks {
				n, used, ok := parseNumber(l, toks, i)
				if ok && (n < 0 || n >= 1_000_000 || used < 1 || i+used > len(toks)) {
					t.Fatalf("parseNumber(%s, %q, %d) = %d, %d", l, toks, i, n, used)
				}
			}
		}
		if l, _ := detectLang(s); !l.valid() {
			t.Fatalf("detectLang(%q) = %q", s, l)
		}
	})
}

// FuzzParseBusinessMessage: any bytes are either rejected or give a
// message within the limits.
func FuzzParseBusinessMessage(f *testing.F) {
	f.Add("order", []byte(`{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":2,"item_price":10.5}]}`))
	f.Add("interactive", []byte(`{"type":"button_reply","button_reply":{"id":"x","title":"y"}}`))
	f.Add("text", []byte(`{"body":"hello"}`))
	f.Add("button", []byte(`{"payload":"p","text":"t"}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		in, err := ParseBusinessMessage("c", "", typ, body)
		if err != nil {
			return
		}
		if !utf8.ValidString(in.Text) || utf8.RuneCountInString(in.Text) > maxTextRunes || len(in.Cart) > maxCartItems {
			t.Fatalf("accepted %+v", in)
		}
		for _, it := range in.Cart {
			if it.Quantity < 1 || it.Quantity > maxQuantity || it.RetailerID == "" {
				t.Fatalf("cart item %+v", it)
			}
		}
	})
}
