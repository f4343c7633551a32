package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldTable maps the accented Latin letters of the four languages (and their
// neighbours) to plain ASCII, so "Você", "voce" and "VOCÊ" are one word.
var foldTable = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ĳ': "ij", 'þ': "th", 'ð': "d", 'ø': "o", 'ł': "l", 'đ': "d", 'ħ': "h", 'ŧ': "t", 'ı': "i"}
	for _, g := range []string{
		"aàáâãäåāăą", "cçćĉċč", "dď", "eèéêëēĕėęě", "gĝğġģ", "hĥ", "iìíîïĩīĭį",
		"jĵ", "kķ", "lĺļľŀ", "nñńņň", "oòóôõöōŏő", "rŕŗř", "sśŝşšș", "tţťț",
		"uùúûüũūŭůűų", "wŵ", "yýÿŷ", "zźżž",
	} {
		r := []rune(g)
		for _, c := range r[1:] {
			m[c] = string(r[0])
		}
	}
	return m
}()

// fold lowercases s, removes accents and turns everything that is not a
// letter or digit into single spaces, trimmed. fold(fold(s)) == fold(s).
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // at start: drop leading separators
	for _, r := range s {
		if r == utf8.RuneError || unicode.Is(unicode.Mn, r) {
			continue // combining accents of decomposed text, invalid bytes
		}
		r = unicode.ToLower(r)
		if f, ok := foldTable[r]; ok {
			b.WriteString(f)
			space = false
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r) // other scripts stay as they are
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// tokens is fold split into words.
func tokens(s string) []string { return strings.Fields(fold(s)) }

// stem reduces a folded word to a crude stem of its language, the same way
// for the question and the text searched, so "books"/"book",
// "entregas"/"entrega", "Bücher"/"Buch" and "pengiriman"/"kirim" meet. It
// never returns an empty string for a non-empty word.
func stem(l Lang, w string) string {
	if len(w) <= 3 || isDigits(w) {
		return w
	}
	var s string
	switch l {
	case Portuguese:
		s = stemPT(w)
	case German:
		s = stemDE(w)
	case Indonesian:
		s = stemID(w)
	default:
		s = stemEN(w)
	}
	if s == "" {
		return w
	}
	return s
}

func isDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}

// cut removes suffix from w if at least keep bytes stay.
func cut(w, suffix string, keep int) (string, bool) {
	if strings.HasSuffix(w, suffix) && len(w)-len(suffix) >= keep {
		return w[:len(w)-len(suffix)], true
	}
	return w, false
}

func stemEN(w string) string {
	if s, ok := cut(w, "ies", 3); ok {
		return s + "y"
	}
	for _, suf := range []string{"ing", "ed"} {
		if s, ok := cut(w, suf, 3); ok {
			return s
		}
	}
	if strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes") {
		return w[:len(w)-2]
	}
	if strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is") {
		w = w[:len(w)-1]
	}
	if s, ok := cut(w, "ery", 4); ok {
		return s + "er" // delivery → deliver
	}
	if s, ok := cut(w, "e", 3); ok {
		return s // store/stores, price/prices
	}
	return w
}

func stemPT(w string) string {
	switch {
	case strings.HasSuffix(w, "oes"), strings.HasSuffix(w, "aes"):
		w = w[:len(w)-3] + "ao"
	case strings.HasSuffix(w, "ais") && len(w) > 4:
		w = w[:len(w)-3] + "al"
	case strings.HasSuffix(w, "eis") && len(w) > 4:
		w = w[:len(w)-3] + "el"
	case strings.HasSuffix(w, "ns"):
		w = w[:len(w)-2] + "m"
	case strings.HasSuffix(w, "res") && len(w) > 5, strings.HasSuffix(w, "zes") && len(w) > 5:
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && len(w) > 3:
		w = w[:len(w)-1]
	}
	for _, suf := range []string{"mente", "cao", "ando", "endo", "indo", "ado", "ada", "ido", "ida", "am", "em", "ar", "er", "ir", "a", "e", "o"} {
		if s, ok := cut(w, suf, 3); ok {
			return s
		}
	}
	return w
}

func stemDE(w string) string {
	for _, suf := range []string{"ungen", "ung", "ern", "em", "en", "er", "es", "et", "st", "e", "s", "t"} {
		if s, ok := cut(w, suf, 3); ok {
			w = s
			break
		}
	}
	if s, ok := strings.CutPrefix(w, "ge"); ok && len(s) >= 4 {
		w = s
	}
	return w
}

func stemID(w string) string {
	for _, suf := range []string{"lah", "kah", "pun", "nya"} {
		if s, ok := cut(w, suf, 4); ok {
			w = s
			break
		}
	}
	for _, suf := range []string{"kan", "an", "i"} {
		if s, ok := cut(w, suf, 4); ok {
			w = s
			break
		}
	}
	for _, pre := range []string{"meng", "peng", "meny", "peny", "mem", "pem", "men", "pen", "ber", "ter", "per", "di", "ke", "me", "se"} {
		if s, ok := strings.CutPrefix(w, pre); ok && len(s) >= 4 {
			return s
		}
	}
	return w
}

// stopwords are each language's function words, folded. They weigh in
// language detection and are left out of searches.
var stopwords = map[Lang]map[string]bool{
	English: set(`a an the and or but if of to in on at by for from with about as into than then so
		i me my we our us you your he she it its they them their this that these those there here
		is are was were be been being am do does did done have has had having can could will would
		shall should may might must not no yes what which who whom whose when where why how all any
		some just also very too more most much many please thanks thank hi hello s t d ll m re ve
		im dont want would like get got need tell me let u ur there s
		anything something everything`),
	Portuguese: set(`o a os as um uma uns umas e ou mas se de do da dos das no na nos nas em por
		pelo pela pelos pelas para pra pro com sem sobre que qual quais quem quando onde como porque
		por eu me mim meu minha meus minhas voce voces vc vcs ele ela eles elas nos nosso nossa seu
		sua seus suas isso isto esse essa este esta aquele aquela ai aqui la ha tem ter tenho temos
		sao sou esta estao estou estamos foi era ser estar vai vou quero queria gostaria pode podem
		posso nao sim ja ainda tambem muito muita mais menos obrigado obrigada oi ola bom boa dia
		tarde noite favor algo algum alguma alguns algumas era so entao ne tipo`),
	German: set(`der die das den dem des ein eine einen einem einer und oder aber wenn weil dass
		ob zu zum zur im in an am auf aus bei mit nach von vor fur uber unter um bis durch ohne
		ich mich mir mein meine wir uns unser ihr euch euer sie er es ihm ihn ihnen sein seine
		du dich dir dein ist sind war waren bin bist seid sein haben habe hast hat habt hatte
		werden wird kann konnen konnt mochte mochten will wollen soll nicht kein keine ja nein
		was wer wie wo wann warum welche welcher welches auch noch schon sehr mehr bitte danke
		hallo guten tag heute gibt man mal doch denn dann etwas euer eure euch`),
	Indonesian: set(`yang dan atau tapi tetapi jika kalau karena di ke dari pada untuk dengan tanpa
		tentang dalam oleh sebagai saya aku kami kita anda kamu kalian dia mereka ini itu sini
		situ sana ada adalah apa siapa kapan mana dimana bagaimana kenapa mengapa berapa bisa
		dapat boleh mau ingin akan sudah belum sedang masih juga saja hanya sangat lebih tidak
		bukan ya iya tolong terima kasih halo hai selamat pagi siang sore malam nya dong kah lah
		punya gak nggak buat`),
}

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// contentWords returns the stems of the words of s that are not stopwords
// of l, each followed by its concept when it has one, for searching.
func contentWords(l Lang, s string) []string {
	var out []string
	for _, w := range tokens(s) {
		if stopwords[l][w] {
			continue
		}
		st := stem(l, w)
		out = append(out, st)
		if c, ok := concepts[w]; ok {
			out = append(out, c)
		} else if c, ok := concepts[st]; ok {
			out = append(out, c)
		}
	}
	return out
}

// concepts group the words customers of a shop use for the same thing,
// across the four languages (folded), so a FAQ entry about "shipping"
// answers "when does my parcel arrive" and "o frete é grátis". Matching
// adds the concept as an extra word; the words themselves still count.
var concepts = func() map[string]string {
	m := map[string]string{}
	for concept, words := range map[string]string{
		"ship": `ship shipping shipped deliver delivery delivers parcel package arrive arrives courier post postage
			entrega entregar entregam entregas envio enviar envia chega chegar correio correios encomenda motoboy
			liefern lieferung liefert versand versenden versendet paket kommt ankommen zustellung kurier post
			kirim pengiriman dikirim antar diantar paket sampai kurir pos`,
		"free": `free gratis gratuito gratuita graca kostenlos umsonst gratis cuma`,
		"fee":  `fee fees cost costs charge price frete taxa valor custa kosten kostet gebuhr preis ongkir ongkos biaya tarif`,
		"pay": `pay paying payment payments card cards debit credit cash pix
			pagar pago pagamento cartao cartoes debito credito dinheiro especie
			zahlen bezahlen zahlung karte karten debitkarte kreditkarte bargeld bar ec
			bayar pembayaran kartu debit kredit tunai cash`,
		"return": `return returns exchange swap refund replace
			troca trocar devolver devolucao devolucoes reembolso
			umtausch umtauschen zuruckgeben ruckgabe erstattung
			tukar ditukar retur kembalikan dikembalikan pengembalian`,
		"gift": `gift gifts present wrap wrapped wrapping pack packed
			presente presentes embrulho embrulhar embrulha pacote
			geschenk geschenke einpacken verpacken verpackt geschenkverpackung
			kado hadiah bungkus dibungkus`,
		"used": `used secondhand second hand old preowned
			usado usados usada sebo velho velhos seminovo
			gebraucht gebrauchte antiquariat alte
			bekas second`,
		"park": `park parking car bike bicycle estacionar estacionamento carro bicicleta vaga bicicletario
			parken parkplatz parkhaus auto fahrrad fahrradstander abstellen parkir mobil motor sepeda`,
		"event": `event events reading readings author authors club meetup signing
			evento eventos autor autores clube leitura lancamento sessao
			veranstaltung veranstaltungen lesung lesungen autor lesekreis buchclub
			acara penulis klub komunitas bedah`,
		"discount": `discount discounts student students teacher teachers cheaper
			desconto descontos estudante estudantes professor professores
			rabatt student studenten studierende schuler lehrer ermassigung
			diskon potongan pelajar mahasiswa guru`,
		"coffee":   `coffee cafe espresso wifi drink cafeteria kaffee trinken kopi kafe minum`,
		"voucher":  `voucher vouchers giftcard vale gutschein gutscheine geschenkgutschein geschenkkarte`,
		"order_in": `special request unavailable encomendar encomendam inden preorder besorgen`,
	} {
		for _, w := range strings.Fields(words) {
			m[w] = "@" + concept
		}
	}
	return m
}()
