package bot

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
)

// Rules is the embedded brain: keyword intents in four languages, catalog
// matching, and BM25 retrieval over the business's FAQ. It needs no model
// and never states a fact it did not read from a tool.
type Rules struct{}

var _ Brain = Rules{}

// phrases is a set of word sequences, matched against a message's folded
// words; a word ending in "*" matches by prefix.
type phrases [][]string

func compile(s string) phrases {
	var p phrases
	for _, ph := range strings.Split(s, "|") {
		if w := strings.Fields(ph); len(w) > 0 {
			p = append(p, w)
		}
	}
	return p
}

func (p phrases) in(toks []string) bool {
	for _, ph := range p {
		for i := 0; i+len(ph) <= len(toks); i++ {
			ok := true
			for j, w := range ph {
				if !wordIs(w, toks[i+j]) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}

func wordIs(pattern, w string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(w, p)
	}
	return pattern == w
}

// The intents, all four languages together: a customer may mix them, and
// detection can be unsure on two words.
var (
	intHuman = compile(`human | humans | real person | a person | someone | agent | representative | operator |
		staff | talk to * | speak to * | speak with * | customer service |
		atendente | humano | uma pessoa | alguem | falar com * | atendimento humano |
		mensch | menschen | mitarbeiter* | berater* | jemand* | sprechen |
		admin | cs | manusia | staf | orang asli | operator | bicara dengan | ngobrol dengan | sama orang`)
	intComplaintStrong = compile(`complaint | complain* | terrible | awful | horrible | worst | unacceptable |
		angry | furious | disappointed | scam | fraud | ridiculous |
		reclama* | pessim* | horrivel | absurdo | decepcionad* | golpe | vergonha | ridiculo |
		beschwer* | schrecklich | furchtbar | unverschamt | enttauscht | betrug | frechheit | katastrophe |
		komplain | keluhan | kecewa | parah | penipuan | tipu* | jelek banget | mengecewakan`)
	intComplaintWeak = compile(`damaged | broken | wrong book | never arrived | did not arrive | didn t arrive | refund | problem | issue |
		problema | problemas | masalah | kendala |
		danificad* | estragad* | livro errado | nao chegou | reembolso | devolu* |
		beschadigt | kaputt | falsches buch | nicht angekommen | nie angekommen | erstattung | zuruckerstatt* | problem |
		rusak | salah buku | belum sampai | tidak sampai | tidak datang | refund | uang kembali`)
	intCancel = compile(`cancel* | call off | cancela* | cancele* | desist* | storn* | abbestell* | widerruf* | batal* | cancel`)
	intStatus = compile(`status | track* | where is my order | where s my order | order status | has my order |
		situacao | rastre* | cade * pedido | cade o pedido | onde esta * pedido |
		sendungsverfolgung | wo bleibt | wo ist * bestellung | stand meiner bestellung | wie ist der stand |
		lacak | resi | status pesanan | sudah sampai | sudah dikirim | kapan sampai`)
	intMyOrder  = compile(`my order | meu pedido | minha encomenda | meine bestellung | pesanan saya | pesananku`)
	intCheckout = compile(`checkout | check out | that s all | thats all | that is all | place * order | place order |
		finaliz* | fechar * pedido | fechar pedido | so isso | e so isso | concluir * pedido |
		kasse | abschliess* | das war s | das wars | das ist alles | bestellung aufgeben |
		selesai | itu saja | itu aja | udah itu aja | sudah cukup | proses pesanan`)
	// intPayNow asks to pay the cart, unless it is a question about paying
	// ("can I pay with PIX?" is for the FAQ).
	intPayNow = compile(`pay now | pay | proceed | finish | done | pagar | bezahlen | fertig | bayar | lanjut bayar`)
	intRemove = compile(`remove | delete | take out | don t want | do not want | drop |
		tirar | tira | tire | remover | remova | excluir | exclui | nao quero mais |
		entfernen | entferne | streichen | streiche | raus | nicht mehr |
		hapus | buang | tidak jadi | gak jadi | nggak jadi | ga jadi`)
	intCart = compile(`cart | basket | carrinho | sacola | warenkorb | korb | keranjang`)
	intBuy  = compile(`want | wanna | buy | purchase | order | ll take | i take | add | get me | ll have | d like | reserve |
		quero | queria | gostaria | comprar | compro | levar | levo | pedir | encomend* | adicion* | reserv* | me ve | manda |
		mochte | mocht* | kaufen | kaufe | bestell* | nehme | hatte gern* | hatte * gern | hinzufug* | reservier* | hatte ich gern |
		mau | beli | ambil | tambah* | ingin | pengen | minta`)
	// intOrderWord is "order" as a verb or a noun: buying, unless it is
	// "my order".
	intOrderWord = compile(`order | pesan | encomendar`)
	intStock     = compile(`stock | in stock | available | availability | how many | left | still have |
		estoque | disponive* | quantos | quantas | ainda tem | tem ainda | sobrou |
		vorratig | lager | verfugbar | wie viele | noch da | auf lager | vorrat |
		stok | tersedia | ready | masih ada | sisa | berapa banyak | ada berapa`)
	intPrice = compile(`price | cost* | how much | prices |
		preco | precos | quanto custa | quanto e | quanto sai | valor | custa |
		preis | preise | kostet | kosten | wie viel | wieviel | was kostet |
		harga | berapa harga | harganya | berapaan | brp`)
	intSearch = compile(`do you have | have you got | got any | do you sell | do you carry | looking for | you have |
		tem | vende* | procur* | existe |
		habt ihr | haben sie | hast du | gibt es | gibts | verkauf* | suche | suchen | fuhrt ihr |
		ada | ada buku | jual | cari | punya | apakah ada`)
	intBrowse = compile(`catalog | catalogue | what books | which books | what do you have | show me | menu | list |
		catalogo | quais livros | que livros | lista | mostr* |
		katalog | sortiment | welche bucher | was habt ihr | zeig* |
		katalog | daftar | lihat | buku apa saja | ada buku apa`)
	intHours = compile(`open* | close* | closing | hours | what time | opening |
		abert* | abre | abrem | abrimos | fecha* | horario* | funcion* | que horas | expediente |
		offen | geoffnet | offn* | oeffn* | geschlossen | schliess* | offnungszeit* | wann habt | uhrzeit |
		macht ihr zu | macht ihr auf | machen sie zu | machen sie auf | zumachen | aufmachen | macht * zu | macht * auf |
		buka | tutup | jam buka | jam berapa | jam operasional | jam kerja`)
	intLocation = compile(`where are you | where is the store | where is your | where s the store | address | located | location |
		directions | find you | how do i get |
		onde fica* | onde voces | onde e a loja | onde esta a loja | endereco | localiza* | como chego | fica onde |
		wo seid ihr | wo ist der laden | wo ist euer | wo finde | adresse | standort | anfahrt | wo befind* |
		di mana | dimana | alamat | lokasi | letak | tokonya dimana`)
	intContact = compile(`website | web site | site | email | e mail | phone | phone number | contact | instagram |
		telefone | contato | whatsapp | telefon | kontakt | webseite | homepage | kontak | nomor telepon | situs`)
	intGreet = compile(`hi | hello | hey | good morning | good afternoon | good evening | hiya |
		oi | ola | bom dia | boa tarde | boa noite | e ai | opa |
		hallo | guten tag | guten morgen | guten abend | moin | servus | gruss gott | hi |
		halo | hai | selamat pagi | selamat siang | selamat sore | selamat malam | permisi | assalamualaikum | pagi`)
	intThanks = compile(`thanks | thank you | thx | cheers | ty |
		obrigad* | valeu | brigad* | agradeco |
		danke | vielen dank | dankeschon | besten dank |
		terima kasih | makasih | trims | thank`)
	intAck = compile(`ok | okay | k | alright | got it | cool | great | certo | beleza | blz | entendi | ta bom | ta |
		alles klar | gut | super | verstanden | oke | okey | baik | sip | siap | mantap`)
	intWeek = compile(`hours | opening hours | schedule | opening times | every day | week |
		horario* | funcionamento | semana | todos os dias |
		offnungszeit* | oeffnungszeit* | zeiten | woche | jeden tag |
		jam buka | jam operasional | jadwal | setiap hari | jam kerja`)
	intNow      = compile(`now | today | right now | tonight | agora | hoje | jetzt | heute | gerade | sekarang | hari ini | malam ini`)
	intTomorrow = compile(`tomorrow | amanha | besok`)
	questionW   = set(`what how when where which who why do does did can could is are will would
		que como quando onde qual quais quem porque pode podem voces tem esta estao sera
		was wie wann wo welche welcher welches wer warum kann konnt habt haben gibt ist sind
		apa bagaimana gimana kapan dimana mana siapa kenapa mengapa berapa bisa apakah ada`)
)

var intentWords = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range []phrases{intHuman, intCancel, intStatus, intMyOrder, intOrderWord, intCheckout, intPayNow, intAck, intRemove, intCart, intBuy, intStock, intPrice,
		intSearch, intBrowse, intHours, intLocation, intContact, intGreet, intThanks, intNow, intTomorrow} {
		for _, ph := range p {
			for _, w := range ph {
				m[w] = true
			}
		}
	}
	return m
}()

// intentWord: a word that says what the customer wants, not what about.
func intentWord(w string) bool {
	if intentWords[w] {
		return true
	}
	for p := range intentWords {
		if pre, ok := strings.CutSuffix(p, "*"); ok && len(pre) >= 3 && strings.HasPrefix(w, pre) {
			return true
		}
	}
	return false
}

// weekdayWords name the days (folded), Sunday first.
var weekdayWords = [7][]string{
	{"sunday", "domingo", "sonntag", "minggu"},
	{"monday", "segunda", "montag", "senin"},
	{"tuesday", "terca", "dienstag", "selasa"},
	{"wednesday", "quarta", "mittwoch", "rabu"},
	{"thursday", "quinta", "donnerstag", "kamis"},
	{"friday", "sexta", "freitag", "jumat"},
	{"saturday", "sabado", "samstag", "sonnabend", "sabtu"},
}

// refPattern finds candidate order references: 4 to 35 letters, digits,
// "-", "_" or "." with a digit among them ("BK-1042", "#1042", commerce's
// "K7Q2M9X4B1T8P3ZR"). Candidates are only looked up among the customer's
// own orders.
var refPattern = regexp.MustCompile(`(?:^|[^\pL\pN_.-])#?([\pL\pN][\pL\pN_.-]{2,33}[\pL\pN])`)

// orderRefs returns up to four candidate references in text.
func orderRefs(text string) [][]string {
	var out [][]string
	for _, m := range refPattern.FindAllStringSubmatch(text, -1) {
		if strings.ContainsAny(m[1], "0123456789") && len(out) < 4 {
			out = append(out, m)
		}
	}
	return out
}

// Respond implements Brain.
func (Rules) Respond(ctx context.Context, s *Session) error {
	text := s.In.Text
	toks := tokens(text)
	if len(toks) == 0 {
		return s.NotUnderstood(ctx, false)
	}
	has := func(p phrases) bool { return p.in(toks) }
	question := strings.Contains(text, "?") || questionW[toks[0]]

	switch {
	case has(intHuman):
		return s.Handoff(ctx, HandoffRequested, "")
	case has(intComplaintStrong), has(intComplaintWeak) && !question:
		return s.Handoff(ctx, HandoffComplaint, "")
	}
	refs := orderRefs(text)
	if has(intCancel) {
		return cancelIntent(ctx, s, refs)
	}
	buy := has(intBuy) || has(intOrderWord) && !has(intMyOrder)
	if has(intStatus) || has(intMyOrder) && !buy && !has(intCheckout) {
		return statusIntent(ctx, s, refs)
	}
	if len(refs) > 0 && len(toks) <= 4 {
		if o, ok := knownRef(ctx, s, refs); ok {
			s.ShowOrder(o)
			return nil
		}
	}
	if has(intCheckout) && (len(s.conv.Cart) > 0 || !has(intThanks)) || has(intPayNow) && !question && len(s.conv.Cart) > 0 {
		return s.Checkout(ctx)
	}
	if has(intRemove) && len(s.conv.Cart) > 0 {
		return removeIntent(ctx, s, text)
	}
	stock, price, search := has(intStock), has(intPrice), has(intSearch)
	hours, where, contact, browse := has(intHours), has(intLocation), has(intContact), has(intBrowse)
	if has(intCart) && !buy {
		return s.ShowCart()
	}
	productish := buy || stock || price || search
	var faq []FAQHit
	faqConf := 0.0
	loadFAQ := func() error {
		if faq != nil {
			return nil
		}
		var err error
		faq, err = s.FAQ(ctx, text, 3)
		if err != nil {
			return err
		}
		if len(faq) > 0 {
			faqConf = faq[0].Confidence
		} else {
			faq = []FAQHit{}
		}
		return nil
	}

	if productish || !(hours || where || contact) {
		f, err := s.FindProducts(ctx, text)
		if err != nil {
			return err
		}
		if len(f.Ambiguous) > 0 {
			return s.ListProducts(ctx, tr(s.Lang(), "several"), f.Ambiguous)
		}
		if len(f.Matches) > 0 {
			score := 0.0
			for _, m := range f.Matches {
				score = max(score, m.Coverage)
			}
			score = (score + f.QueryCoverage) / 2
			take := productish && score >= 0.5
			if !take && score >= 0.75 {
				if err := loadFAQ(); err != nil {
					return err
				}
				take = score > faqConf
			}
			if take {
				return productIntent(ctx, s, f, buy && !stock && !price && !(search && !hasQuantity(f)), stock)
			}
		}
		if buy && !search && !stock && !price && !question {
			// "I want two" after a product was shown.
			if sh := s.conv.Shown; len(sh) == 1 {
				q := findQuantity(s.Lang(), toks)
				if q == 0 {
					q = 1
				}
				return s.addAndSay(ctx, sh[0], q)
			}
		}
		if productish && len(f.Related) > 0 {
			if len(f.Related) == 1 {
				return s.DescribeProduct(ctx, f.Related[0], stock)
			}
			return s.ListProducts(ctx, tr(s.Lang(), "several"), f.Related)
		}
		if productish && !hours && !where && !contact {
			if f.Query != "" {
				if err := loadFAQ(); err != nil {
					return err
				}
				if faqConf >= FAQThreshold {
					s.Say(faq[0].Entry.Answer)
					return nil
				}
			}
			if f.Query == "" {
				if browse || search {
					return browseIntent(ctx, s)
				}
				if buy && len(s.conv.Shown) > 1 {
					ps, err := shownProducts(ctx, s)
					if err != nil {
						return err
					}
					return s.ListProducts(ctx, tr(s.Lang(), "which"), ps)
				}
				s.Say(tr(s.Lang(), "which"))
				return nil
			}
			s.Say(tr(s.Lang(), "not_found", titleCase(f.Query)))
			return nil
		}
	}
	switch {
	case hours:
		return hoursIntent(ctx, s, toks, has)
	case where:
		return locationIntent(ctx, s)
	case contact:
		return contactIntent(ctx, s)
	case browse:
		return browseIntent(ctx, s)
	}
	if has(intThanks) && len(toks) <= 5 {
		s.Say(tr(s.Lang(), "thanks"))
		return nil
	}
	if err := loadFAQ(); err != nil {
		return err
	}
	if faqConf >= FAQThreshold {
		s.Say(faq[0].Entry.Answer)
		return nil
	}
	switch {
	case has(intGreet):
		p, err := s.Profile(ctx)
		if err != nil {
			return err
		}
		s.Say(tr(s.Lang(), "greet", p.Name))
		return nil
	case has(intThanks):
		s.Say(tr(s.Lang(), "thanks"))
		return nil
	case has(intAck) && len(toks) <= 3:
		s.Say(tr(s.Lang(), "ack"))
		return nil
	}
	return s.NotUnderstood(ctx, question)
}

func hasQuantity(f Found) bool {
	for _, m := range f.Matches {
		if m.Quantity > 0 {
			return true
		}
	}
	return false
}

func shownProducts(ctx context.Context, s *Session) ([]Product, error) {
	var ps []Product
	for _, id := range s.conv.Shown {
		p, err := s.Product(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// productIntent adds the named products to the cart (buy) or describes
// them.
func productIntent(ctx context.Context, s *Session, f Found, buy, count bool) error {
	if !buy {
		for _, m := range f.Matches {
			if err := s.DescribeProduct(ctx, m.Product, count); err != nil {
				return err
			}
		}
		if len(f.Matches) > 1 {
			var ids []string
			for _, m := range f.Matches {
				ids = append(ids, m.Product.RetailerID)
			}
			s.SetShown(ids...)
		}
		return nil
	}
	var added []CartLine
	var qtys []int
	for _, m := range f.Matches {
		q := min(max(m.Quantity, 1), maxQuantity)
		line, ok, err := s.tryAdd(ctx, m.Product.RetailerID, q)
		if err != nil {
			return err
		}
		if ok {
			added = append(added, line)
			qtys = append(qtys, q)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return s.sayAdded(qtys, added)
}

// removeIntent takes the named products out of the cart (the only line,
// if the cart has one and none is named) and shows what is left.
func removeIntent(ctx context.Context, s *Session, text string) error {
	f, err := s.FindProducts(ctx, text)
	if err != nil {
		return err
	}
	removed := false
	for _, m := range f.Matches {
		removed = s.RemoveFromCart(m.Product.RetailerID) || removed
	}
	if len(f.Matches) == 0 && len(s.conv.Cart) == 1 {
		removed = s.RemoveFromCart(s.conv.Cart[0].RetailerID)
	}
	if !removed {
		return s.ShowCart()
	}
	if len(s.conv.Cart) == 0 {
		s.Say(tr(s.Lang(), "cart_cleared"))
		return nil
	}
	return s.ShowCart()
}

func browseIntent(ctx context.Context, s *Session) error {
	ps, err := s.e.o.Tools.Catalog.Search(ctx, "", 30)
	if err != nil {
		return err
	}
	return s.ListProducts(ctx, tr(s.Lang(), "catalog"), ps)
}

func knownRef(ctx context.Context, s *Session, refs [][]string) (Order, bool) {
	for _, r := range refs {
		for _, cand := range []string{r[1], strings.ToUpper(r[1])} {
			o, err := s.Order(ctx, cand)
			if err == nil {
				return o, true
			}
		}
	}
	return Order{}, false
}

func statusIntent(ctx context.Context, s *Session, refs [][]string) error {
	lang := s.Lang()
	if len(refs) > 0 {
		if o, ok := knownRef(ctx, s, refs); ok {
			s.ShowOrder(o)
			return nil
		}
		s.Say(tr(lang, "status_unknown_ref", refs[0][1]))
		return nil
	}
	o, err := s.LatestOrder(ctx)
	if errors.Is(err, ErrNotFound) {
		s.Say(tr(lang, "status_none"))
		return nil
	}
	if err != nil {
		return err
	}
	s.ShowOrder(o)
	return nil
}

func cancelIntent(ctx context.Context, s *Session, refs [][]string) error {
	if len(refs) > 0 {
		if o, ok := knownRef(ctx, s, refs); ok {
			return s.AskCancel(ctx, o.Reference)
		}
		s.Say(tr(s.Lang(), "status_unknown_ref", refs[0][1]))
		return nil
	}
	if len(s.conv.Cart) > 0 {
		s.ClearCart()
		s.Say(tr(s.Lang(), "cart_cleared"))
		return nil
	}
	o, err := s.LatestOrder(ctx)
	if errors.Is(err, ErrNotFound) {
		s.Say(tr(s.Lang(), "status_none"))
		return nil
	}
	if err != nil {
		return err
	}
	return s.AskCancel(ctx, o.Reference)
}

// hoursIntent answers from the business's live opening state: open now
// (until when), closed (why, and when it opens), a given day's hours, or
// the week.
func hoursIntent(ctx context.Context, s *Session, toks []string, has func(phrases) bool) error {
	lang := s.Lang()
	h, err := s.Hours(ctx)
	if err != nil {
		return err
	}
	loc := businessZone(h)
	today := s.now.In(loc).Weekday()
	day := -1
	for d, words := range weekdayWords {
		for _, w := range words {
			for _, t := range toks {
				if t == w {
					day = d
				}
			}
		}
	}
	if has(intTomorrow) || hasTomorrowMorgen(toks) {
		day = int((today + 1) % 7)
	}
	if day >= 0 && time.Weekday(day) != today && len(h.Week) > 0 {
		var ivs []string
		for _, d := range h.Week {
			if int(d.Day) == day {
				ivs = append(ivs, hhmm(lang, d.Opens)+"–"+hhmm(lang, d.Closes))
			}
		}
		name := weekdayNames[lang][day]
		if len(ivs) == 0 {
			s.Say(tr(lang, "day_closed", name))
		} else {
			s.Say(tr(lang, "day_open", name, strings.Join(ivs, ", ")))
		}
		return nil
	}
	var now string
	switch {
	case h.Open && !h.ClosesAt.IsZero():
		now = tr(lang, "open_until", clock(lang, h.ClosesAt.In(loc)))
	case h.Open:
		now = tr(lang, "open_now")
	case h.Holiday != "" && !h.NextOpen.IsZero():
		now = tr(lang, "closed_holiday", h.Holiday, when(lang, s.now, h.NextOpen))
	case !h.NextOpen.IsZero():
		now = tr(lang, "closed_next", when(lang, s.now, h.NextOpen))
	default:
		now = tr(lang, "closed")
	}
	if has(intWeek) && !has(intNow) && len(h.Week) > 0 {
		now += "\n\n" + tr(lang, "week", weekText(lang, h.Week))
	}
	s.Say(now)
	return nil
}

// businessZone is the business's time zone as its hours carry it.
func businessZone(h Hours) *time.Location {
	switch {
	case h.Zone != nil:
		return h.Zone
	case !h.ClosesAt.IsZero():
		return h.ClosesAt.Location()
	case !h.NextOpen.IsZero():
		return h.NextOpen.Location()
	}
	return time.Local
}

// hasTomorrowMorgen: German "morgen" is tomorrow, except in "guten Morgen".
func hasTomorrowMorgen(toks []string) bool {
	for i, t := range toks {
		if t == "morgen" && (i == 0 || toks[i-1] != "guten") {
			return true
		}
	}
	return false
}

func locationIntent(ctx context.Context, s *Session) error {
	p, err := s.Profile(ctx)
	if err != nil {
		return err
	}
	lang := s.Lang()
	if p.Address == "" {
		s.Send(buttonsReply(tr(lang, "no_address"), ButtonReply{ID: idHuman, Title: tr(lang, "btn_human")}))
		return nil
	}
	s.Say(tr(lang, "location", p.Address))
	if p.Latitude != 0 || p.Longitude != 0 {
		s.Send(Reply{Type: "location", Location: &Location{Latitude: p.Latitude, Longitude: p.Longitude, Name: p.Name, Address: p.Address}})
	}
	return nil
}

func contactIntent(ctx context.Context, s *Session) error {
	p, err := s.Profile(ctx)
	if err != nil {
		return err
	}
	lang := s.Lang()
	var lines []string
	for _, kv := range [][2]string{{"label_website", p.Website}, {"label_email", p.Email}, {"label_phone", p.Phone}, {"label_address", p.Address}} {
		if kv[1] != "" {
			lines = append(lines, tr(lang, kv[0])+": "+kv[1])
		}
	}
	if len(lines) == 0 {
		return s.NotUnderstood(ctx, true)
	}
	s.Say(tr(lang, "contact", p.Name, strings.Join(lines, "\n")))
	return nil
}

// titleCase capitalises each word's first letter, for quoting what the
// customer looked for.
func titleCase(s string) string {
	w := strings.Fields(s)
	for i, x := range w {
		r := []rune(x)
		if len(r) > 0 && r[0] >= 'a' && r[0] <= 'z' {
			r[0] -= 'a' - 'A'
		}
		w[i] = string(r)
	}
	return strings.Join(w, " ")
}
