package bot

import (
	"fmt"
	"strings"
	"time"
)

// templates are the bot's sentences in its four languages, fmt verbs in the
// same order in each. Button titles stay within the Cloud API's 20
// characters (a test checks).
var templates = map[string]map[Lang]string{
	"greet": {
		English:    "Hello! I'm the assistant of %s. I can tell you our opening hours, check books, prices and stock, take your order and its payment, or pass you to a person.",
		Portuguese: "Olá! Sou o assistente da %s. Posso informar nosso horário, consultar livros, preços e estoque, fazer seu pedido e o pagamento, ou chamar uma pessoa da equipe.",
		German:     "Hallo! Ich bin der Assistent von %s. Ich kann Ihnen unsere Öffnungszeiten nennen, Bücher, Preise und Bestand prüfen, Ihre Bestellung mit Bezahlung aufnehmen oder Sie mit einem Menschen verbinden.",
		Indonesian: "Halo! Saya asisten %s. Saya bisa memberi tahu jam buka, mengecek buku, harga dan stok, menerima pesanan dan pembayarannya, atau menghubungkan Anda dengan staf kami.",
	},
	"ack": {
		English:    "OK! Anything else I can help with?",
		Portuguese: "Certo! Posso ajudar em mais alguma coisa?",
		German:     "Alles klar! Kann ich sonst noch helfen?",
		Indonesian: "Oke! Ada lagi yang bisa saya bantu?",
	},
	"thanks": {
		English:    "You're welcome! Anything else I can do for you?",
		Portuguese: "Por nada! Posso ajudar em mais alguma coisa?",
		German:     "Gern geschehen! Kann ich sonst noch etwas für Sie tun?",
		Indonesian: "Sama-sama! Ada lagi yang bisa saya bantu?",
	},
	"open_until": {
		English:    "We're open now, until %s.",
		Portuguese: "Estamos abertos agora, até as %s.",
		German:     "Wir haben jetzt geöffnet, bis %s Uhr.",
		Indonesian: "Kami sedang buka sekarang, sampai pukul %s.",
	},
	"open_now": {
		English:    "We're open now.",
		Portuguese: "Estamos abertos agora.",
		German:     "Wir haben jetzt geöffnet.",
		Indonesian: "Kami sedang buka sekarang.",
	},
	"closed_next": {
		English:    "We're closed right now. We open %s.",
		Portuguese: "Estamos fechados agora. Abrimos %s.",
		German:     "Wir haben gerade geschlossen. Wir öffnen %s.",
		Indonesian: "Kami sedang tutup. Kami buka %s.",
	},
	"closed_holiday": {
		English:    "We're closed today (%s). We open %s.",
		Portuguese: "Estamos fechados hoje (%s). Abrimos %s.",
		German:     "Heute haben wir geschlossen (%s). Wir öffnen %s.",
		Indonesian: "Hari ini kami tutup (%s). Kami buka %s.",
	},
	"closed": {
		English:    "We're closed right now.",
		Portuguese: "Estamos fechados agora.",
		German:     "Wir haben gerade geschlossen.",
		Indonesian: "Kami sedang tutup.",
	},
	"when_today": {
		English:    "today at %s",
		Portuguese: "hoje às %s",
		German:     "heute um %s Uhr",
		Indonesian: "hari ini pukul %s",
	},
	"when_tomorrow": {
		English:    "tomorrow at %s",
		Portuguese: "amanhã às %s",
		German:     "morgen um %s Uhr",
		Indonesian: "besok pukul %s",
	},
	"when_day": {
		English:    "on %s at %s",
		Portuguese: "%s às %s",
		German:     "am %s um %s Uhr",
		Indonesian: "hari %s pukul %s",
	},
	"week": {
		English:    "Our opening hours:\n%s",
		Portuguese: "Nosso horário de funcionamento:\n%s",
		German:     "Unsere Öffnungszeiten:\n%s",
		Indonesian: "Jam buka kami:\n%s",
	},
	"day_open": {
		English:    "On %s we're open %s.",
		Portuguese: "Horário de %s: %s.",
		German:     "Am %s haben wir %s geöffnet.",
		Indonesian: "Hari %s kami buka %s.",
	},
	"day_closed": {
		English:    "We're closed on %s.",
		Portuguese: "Não abrimos %s.",
		German:     "Am %s haben wir geschlossen.",
		Indonesian: "Hari %s kami tutup.",
	},
	"closed_word": {
		English:    "closed",
		Portuguese: "fechado",
		German:     "geschlossen",
		Indonesian: "tutup",
	},
	"location": {
		English:    "You'll find us at %s.",
		Portuguese: "Estamos em %s.",
		German:     "Sie finden uns hier: %s.",
		Indonesian: "Alamat kami: %s.",
	},
	"no_address": {
		English:    "Sorry, I don't have our address at hand. A person from our team can help.",
		Portuguese: "Desculpe, não tenho nosso endereço aqui. Uma pessoa da equipe pode ajudar.",
		German:     "Entschuldigung, unsere Adresse habe ich gerade nicht. Ein Mitarbeiter kann helfen.",
		Indonesian: "Maaf, saya tidak punya alamat kami saat ini. Staf kami bisa membantu.",
	},
	"contact": {
		English:    "How to reach %s:\n%s",
		Portuguese: "Como falar com a %s:\n%s",
		German:     "So erreichen Sie %s:\n%s",
		Indonesian: "Cara menghubungi %s:\n%s",
	},
	"label_website": {English: "Website", Portuguese: "Site", German: "Website", Indonesian: "Situs web"},
	"label_email":   {English: "E-mail", Portuguese: "E-mail", German: "E-Mail", Indonesian: "Email"},
	"label_phone":   {English: "Phone", Portuguese: "Telefone", German: "Telefon", Indonesian: "Telepon"},
	"label_address": {English: "Address", Portuguese: "Endereço", German: "Adresse", Indonesian: "Alamat"},
	"product_in_stock": {
		English:    "Yes, we have %s in stock: %s.",
		Portuguese: "Sim, temos %s em estoque: %s.",
		German:     "Ja, %s haben wir vorrätig: %s.",
		Indonesian: "Ya, %s tersedia: %s.",
	},
	"product_few": {
		English:    "Yes, we have %s: %s. Only %d left.",
		Portuguese: "Sim, temos %s: %s. Restam só %d.",
		German:     "Ja, %s haben wir: %s. Nur noch %d Stück.",
		Indonesian: "Ya, %s ada: %s. Tinggal %d lagi.",
	},
	"product_count": {
		English:    "We have %[2]d copies of %[1]s in stock, at %[3]s each.",
		Portuguese: "Temos %[2]d exemplares de %[1]s em estoque, a %[3]s cada.",
		German:     "Von %[1]s haben wir %[2]d Exemplare vorrätig, je %[3]s.",
		Indonesian: "Stok %[1]s ada %[2]d eksemplar, harga %[3]s per buku.",
	},
	"product_out": {
		English:    "Sorry, %s (%s) is out of stock right now.",
		Portuguese: "Desculpe, %s (%s) está esgotado no momento.",
		German:     "Leider ist %s (%s) gerade nicht vorrätig.",
		Indonesian: "Maaf, stok %s (%s) sedang habis.",
	},
	"not_found": {
		English:    "Sorry, we don't have \"%s\" in our catalog.",
		Portuguese: "Desculpe, não temos \"%s\" no nosso catálogo.",
		German:     "Leider haben wir \"%s\" nicht in unserem Sortiment.",
		Indonesian: "Maaf, \"%s\" tidak ada di katalog kami.",
	},
	"not_found_any": {
		English:    "Sorry, I couldn't find that in our catalog.",
		Portuguese: "Desculpe, não encontrei isso no nosso catálogo.",
		German:     "Leider habe ich das in unserem Sortiment nicht gefunden.",
		Indonesian: "Maaf, saya tidak menemukannya di katalog kami.",
	},
	"several": {
		English:    "I found these books. Which one do you mean?",
		Portuguese: "Encontrei estes livros. Qual deles você procura?",
		German:     "Ich habe diese Bücher gefunden. Welches meinen Sie?",
		Indonesian: "Saya menemukan buku-buku ini. Yang mana yang Anda maksud?",
	},
	"which": {
		English:    "Which book would you like?",
		Portuguese: "Qual livro você gostaria?",
		German:     "Welches Buch möchten Sie?",
		Indonesian: "Buku yang mana yang Anda mau?",
	},
	"catalog": {
		English:    "Here is our catalog.",
		Portuguese: "Aqui está o nosso catálogo.",
		German:     "Hier ist unser Sortiment.",
		Indonesian: "Ini katalog kami.",
	},
	"catalog_header": {English: "Our books", Portuguese: "Nossos livros", German: "Unsere Bücher", Indonesian: "Buku kami"},
	"added": {
		English:    "Added %d × %s (%s).",
		Portuguese: "Adicionei %d × %s (%s).",
		German:     "%d × %s hinzugefügt (%s).",
		Indonesian: "Sudah ditambahkan %d × %s (%s).",
	},
	"cart_total": {
		English:    "Cart total: %s.",
		Portuguese: "Total do carrinho: %s.",
		German:     "Warenkorb gesamt: %s.",
		Indonesian: "Total keranjang: %s.",
	},
	"only_available": {
		English:    "Sorry, we only have %d of %s available.",
		Portuguese: "Desculpe, só temos %d de %s disponíveis.",
		German:     "Leider haben wir von %[2]s nur %[1]d verfügbar.",
		Indonesian: "Maaf, %[2]s hanya tersedia %[1]d.",
	},
	"cart_empty": {
		English:    "Your cart is empty. Which book would you like?",
		Portuguese: "Seu carrinho está vazio. Qual livro você gostaria?",
		German:     "Ihr Warenkorb ist leer. Welches Buch möchten Sie?",
		Indonesian: "Keranjang Anda kosong. Buku apa yang Anda mau?",
	},
	"cart": {
		English:    "Your cart:\n%s\nTotal: %s",
		Portuguese: "Seu carrinho:\n%s\nTotal: %s",
		German:     "Ihr Warenkorb:\n%s\nGesamt: %s",
		Indonesian: "Keranjang Anda:\n%s\nTotal: %s",
	},
	"cart_cleared": {
		English:    "I emptied your cart.",
		Portuguese: "Esvaziei seu carrinho.",
		German:     "Ich habe Ihren Warenkorb geleert.",
		Indonesian: "Keranjang Anda sudah saya kosongkan.",
	},
	"more": {
		English:    "What else are you looking for?",
		Portuguese: "O que mais você procura?",
		German:     "Was suchen Sie noch?",
		Indonesian: "Apa lagi yang Anda cari?",
	},
	"ask_fulfilment": {
		English:    "Would you like it delivered, or will you pick it up at the store?",
		Portuguese: "Você prefere entrega ou retirar na loja?",
		German:     "Möchten Sie eine Lieferung, oder holen Sie es im Laden ab?",
		Indonesian: "Mau dikirim, atau diambil di toko?",
	},
	"ask_address": {
		English:    "What is the delivery address?",
		Portuguese: "Qual é o endereço de entrega?",
		German:     "Wie lautet die Lieferadresse?",
		Indonesian: "Ke alamat mana pesanan dikirim?",
	},
	"confirm": {
		English:    "Please confirm your order:\n%s\nTotal: %s\n%s",
		Portuguese: "Confirme seu pedido, por favor:\n%s\nTotal: %s\n%s",
		German:     "Bitte bestätigen Sie Ihre Bestellung:\n%s\nGesamt: %s\n%s",
		Indonesian: "Mohon konfirmasi pesanan Anda:\n%s\nTotal: %s\n%s",
	},
	"shipping": {
		English:    "Shipping: %s",
		Portuguese: "Frete: %s",
		German:     "Versand: %s",
		Indonesian: "Ongkos kirim: %s",
	},
	"by_pickup": {
		English:    "Pickup at the store.",
		Portuguese: "Retirada na loja.",
		German:     "Abholung im Laden.",
		Indonesian: "Diambil di toko.",
	},
	"by_delivery": {
		English:    "Delivery to: %s",
		Portuguese: "Entrega em: %s",
		German:     "Lieferung an: %s",
		Indonesian: "Dikirim ke: %s",
	},
	"requote": {
		English:    "The total of your order changed to %s (prices or shipping were updated).",
		Portuguese: "O total do seu pedido mudou para %s (preços ou frete foram atualizados).",
		German:     "Die Summe Ihrer Bestellung hat sich auf %s geändert (Preise oder Versand wurden aktualisiert).",
		Indonesian: "Total pesanan Anda berubah menjadi %s (harga atau ongkos kirim diperbarui).",
	},
	"not_placed": {
		English:    "OK, I haven't placed the order. Your cart is still here if you change your mind.",
		Portuguese: "Tudo bem, não fiz o pedido. Seu carrinho continua aqui se mudar de ideia.",
		German:     "In Ordnung, ich habe nichts bestellt. Ihr Warenkorb bleibt erhalten, falls Sie es sich anders überlegen.",
		Indonesian: "Baik, pesanan tidak saya buat. Keranjang Anda tetap tersimpan kalau berubah pikiran.",
	},
	"placed": {
		English:    "Order %s placed. Total: %s.",
		Portuguese: "Pedido %s feito. Total: %s.",
		German:     "Bestellung %s aufgegeben. Gesamt: %s.",
		Indonesian: "Pesanan %s sudah dibuat. Total: %s.",
	},
	"pay_body": {
		English:    "Order %s: review and pay %s.",
		Portuguese: "Pedido %s: revise e pague %s.",
		German:     "Bestellung %s: prüfen und %s bezahlen.",
		Indonesian: "Pesanan %s: periksa dan bayar %s.",
	},
	"pay_pix": {
		English:    "To pay with PIX, copy this code into your bank app:",
		Portuguese: "Para pagar com PIX, copie este código no app do seu banco:",
		German:     "Zum Bezahlen mit PIX kopieren Sie diesen Code in Ihre Bank-App:",
		Indonesian: "Untuk membayar dengan PIX, salin kode ini ke aplikasi bank Anda:",
	},
	"pay_upi": {
		English:    "To pay with UPI, open this link: %s",
		Portuguese: "Para pagar com UPI, abra este link: %s",
		German:     "Zum Bezahlen mit UPI öffnen Sie diesen Link: %s",
		Indonesian: "Untuk membayar dengan UPI, buka tautan ini: %s",
	},
	"pay_expiry": {
		English:    "Expires in %d minutes",
		Portuguese: "Expira em %d minutos",
		German:     "Läuft in %d Minuten ab",
		Indonesian: "Berlaku %d menit",
	},
	"pay_none": {
		English:    "Your order %s is placed. We'll contact you here about the payment.",
		Portuguese: "Seu pedido %s foi feito. Vamos falar com você aqui sobre o pagamento.",
		German:     "Ihre Bestellung %s ist aufgegeben. Wegen der Bezahlung melden wir uns hier.",
		Indonesian: "Pesanan %s sudah dibuat. Kami akan menghubungi Anda di sini soal pembayaran.",
	},
	"order_failed": {
		English:    "Sorry, I couldn't place the order.",
		Portuguese: "Desculpe, não consegui fazer o pedido.",
		German:     "Leider konnte ich die Bestellung nicht aufgeben.",
		Indonesian: "Maaf, pesanan tidak berhasil dibuat.",
	},
	"status_pending": {
		English:    "Order %s is waiting for payment.",
		Portuguese: "O pedido %s está aguardando pagamento.",
		German:     "Bestellung %s wartet auf die Bezahlung.",
		Indonesian: "Pesanan %s menunggu pembayaran.",
	},
	"status_processing": {
		English:    "Order %s is paid and being prepared.",
		Portuguese: "O pedido %s está pago e sendo preparado.",
		German:     "Bestellung %s ist bezahlt und wird vorbereitet.",
		Indonesian: "Pesanan %s sudah dibayar dan sedang disiapkan.",
	},
	"status_shipped": {
		English:    "Order %s has been shipped.",
		Portuguese: "O pedido %s foi enviado.",
		German:     "Bestellung %s wurde verschickt.",
		Indonesian: "Pesanan %s sudah dikirim.",
	},
	"status_completed": {
		English:    "Order %s is completed.",
		Portuguese: "O pedido %s foi concluído.",
		German:     "Bestellung %s ist abgeschlossen.",
		Indonesian: "Pesanan %s sudah selesai.",
	},
	"status_canceled": {
		English:    "Order %s is canceled.",
		Portuguese: "O pedido %s está cancelado.",
		German:     "Bestellung %s ist storniert.",
		Indonesian: "Pesanan %s dibatalkan.",
	},
	"status_payment_failed": {
		English:    "The payment of order %s failed.",
		Portuguese: "O pagamento do pedido %s falhou.",
		German:     "Die Bezahlung von Bestellung %s ist fehlgeschlagen.",
		Indonesian: "Pembayaran pesanan %s gagal.",
	},
	"status_none": {
		English:    "I couldn't find an order of yours. What is the order number?",
		Portuguese: "Não encontrei nenhum pedido seu. Qual é o número do pedido?",
		German:     "Ich habe keine Bestellung von Ihnen gefunden. Wie lautet die Bestellnummer?",
		Indonesian: "Saya tidak menemukan pesanan Anda. Berapa nomor pesanannya?",
	},
	"status_unknown_ref": {
		English:    "I couldn't find order %s.",
		Portuguese: "Não encontrei o pedido %s.",
		German:     "Die Bestellung %s habe ich nicht gefunden.",
		Indonesian: "Pesanan %s tidak ditemukan.",
	},
	"ask_cancel": {
		English:    "Cancel order %s?",
		Portuguese: "Cancelar o pedido %s?",
		German:     "Bestellung %s stornieren?",
		Indonesian: "Batalkan pesanan %s?",
	},
	"not_cancelable": {
		English:    "Order %s can't be canceled anymore. A person from our team can help.",
		Portuguese: "O pedido %s não pode mais ser cancelado. Uma pessoa da equipe pode ajudar.",
		German:     "Bestellung %s kann nicht mehr storniert werden. Ein Mitarbeiter kann helfen.",
		Indonesian: "Pesanan %s sudah tidak bisa dibatalkan. Staf kami bisa membantu.",
	},
	"cancel_kept": {
		English:    "OK, order %s stays as it is.",
		Portuguese: "Tudo bem, o pedido %s continua como está.",
		German:     "In Ordnung, Bestellung %s bleibt bestehen.",
		Indonesian: "Baik, pesanan %s tidak dibatalkan.",
	},
	"handoff_open": {
		English:    "I'm passing you to a person from our team. They'll answer you here shortly.",
		Portuguese: "Vou passar você para uma pessoa da nossa equipe. Ela vai responder aqui em breve.",
		German:     "Ich verbinde Sie mit einem Menschen aus unserem Team. Sie bekommen hier gleich eine Antwort.",
		Indonesian: "Saya hubungkan Anda dengan staf kami. Mereka akan segera membalas di sini.",
	},
	"handoff_closed": {
		English:    "Our team isn't in right now. We'll reply when we open %s.",
		Portuguese: "Nossa equipe não está disponível agora. Respondemos quando abrirmos, %s.",
		German:     "Unser Team ist gerade nicht da. Wir antworten, sobald wir öffnen, %s.",
		Indonesian: "Staf kami sedang tidak bertugas. Kami akan membalas saat buka, %s.",
	},
	"handoff_closed_unknown": {
		English:    "Our team isn't in right now. We'll reply as soon as we can.",
		Portuguese: "Nossa equipe não está disponível agora. Respondemos assim que possível.",
		German:     "Unser Team ist gerade nicht da. Wir antworten so bald wie möglich.",
		Indonesian: "Staf kami sedang tidak bertugas. Kami akan membalas secepatnya.",
	},
	"handoff_back": {
		English:    "You're back with the assistant. How can I help?",
		Portuguese: "Você voltou a falar com o assistente. Como posso ajudar?",
		German:     "Sie sind wieder beim Assistenten. Wie kann ich helfen?",
		Indonesian: "Anda kembali terhubung dengan asisten. Ada yang bisa saya bantu?",
	},
	"no_staff": {
		English:    "Sorry, nobody from our team can take over this chat.",
		Portuguese: "Desculpe, ninguém da equipe pode assumir esta conversa.",
		German:     "Leider kann niemand aus unserem Team dieses Gespräch übernehmen.",
		Indonesian: "Maaf, tidak ada staf yang bisa melanjutkan percakapan ini.",
	},
	"miss": {
		English:    "Sorry, I didn't understand. I can help with opening hours, books and stock, orders and payment, or pass you to a person.",
		Portuguese: "Desculpe, não entendi. Posso ajudar com horários, livros e estoque, pedidos e pagamento, ou chamar uma pessoa.",
		German:     "Entschuldigung, das habe ich nicht verstanden. Ich helfe bei Öffnungszeiten, Büchern und Bestand, Bestellungen und Bezahlung, oder verbinde Sie mit einem Menschen.",
		Indonesian: "Maaf, saya tidak mengerti. Saya bisa bantu soal jam buka, buku dan stok, pesanan dan pembayaran, atau menghubungkan Anda dengan staf.",
	},
	"dont_know": {
		English:    "I'm sorry, I don't know the answer to that. Would you like to talk to a person?",
		Portuguese: "Desculpe, não sei a resposta. Quer falar com uma pessoa?",
		German:     "Das weiß ich leider nicht. Möchten Sie mit einem Menschen sprechen?",
		Indonesian: "Maaf, saya tidak tahu jawabannya. Mau bicara dengan staf kami?",
	},
	"error": {
		English:    "Sorry, something went wrong on our side. Please try again in a moment.",
		Portuguese: "Desculpe, algo deu errado do nosso lado. Tente de novo daqui a pouco.",
		German:     "Entschuldigung, bei uns ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch einmal.",
		Indonesian: "Maaf, ada kendala di sistem kami. Silakan coba lagi sebentar lagi.",
	},
	"btn_confirm":  {English: "Confirm", Portuguese: "Confirmar", German: "Bestätigen", Indonesian: "Konfirmasi"},
	"btn_cancel":   {English: "Cancel", Portuguese: "Cancelar", German: "Abbrechen", Indonesian: "Batal"},
	"btn_yes":      {English: "Yes, cancel it", Portuguese: "Sim, cancelar", German: "Ja, stornieren", Indonesian: "Ya, batalkan"},
	"btn_no":       {English: "No, keep it", Portuguese: "Não, manter", German: "Nein, behalten", Indonesian: "Tidak"},
	"btn_delivery": {English: "Delivery", Portuguese: "Entrega", German: "Lieferung", Indonesian: "Dikirim"},
	"btn_pickup":   {English: "Pickup", Portuguese: "Retirar na loja", German: "Abholung", Indonesian: "Ambil di toko"},
	"btn_human":    {English: "Talk to a person", Portuguese: "Falar com alguém", German: "Mit Mensch sprechen", Indonesian: "Bicara dengan staf"},
	"btn_checkout": {English: "Checkout", Portuguese: "Finalizar pedido", German: "Zur Kasse", Indonesian: "Checkout"},
	"btn_more":     {English: "Keep shopping", Portuguese: "Continuar", German: "Weiter einkaufen", Indonesian: "Belanja lagi"},
	"btn_add":      {English: "Add to cart", Portuguese: "Adicionar", German: "In den Warenkorb", Indonesian: "Tambah ke keranjang"},
	"btn_choose":   {English: "Choose", Portuguese: "Escolher", German: "Auswählen", Indonesian: "Pilih"},
}

var weekdayNames = map[Lang][7]string{
	English:    {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	Portuguese: {"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"},
	German:     {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
	Indonesian: {"Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"},
}

// tr renders template key in lang (English if lang lacks it).
func tr(lang Lang, key string, args ...any) string {
	t, ok := templates[key]
	if !ok {
		return key
	}
	s, ok := t[lang]
	if !ok {
		s = t[English]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// clock writes a time of day as lang does: "09:00", Indonesian "09.00".
func clock(lang Lang, t time.Time) string {
	if lang == Indonesian {
		return t.Format("15.04")
	}
	return t.Format("15:04")
}

// hhmm rewrites a schedule's "HH:MM" for lang.
func hhmm(lang Lang, s string) string {
	if lang == Indonesian {
		return strings.Replace(s, ":", ".", 1)
	}
	return s
}

// when says when t is from now's point of view: "today at 09:00",
// "tomorrow at 09:00", "on Monday at 09:00", in t's time zone.
func when(lang Lang, now, t time.Time) string {
	now = now.In(t.Location())
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	today := time.Date(y1, m1, d1, 0, 0, 0, 0, t.Location())
	day := time.Date(y2, m2, d2, 0, 0, 0, 0, t.Location())
	switch int(day.Sub(today).Hours()+12) / 24 {
	case 0:
		return tr(lang, "when_today", clock(lang, t))
	case 1:
		return tr(lang, "when_tomorrow", clock(lang, t))
	}
	return tr(lang, "when_day", weekdayNames[lang][t.Weekday()], clock(lang, t))
}

// weekText lays out a weekly schedule Monday first, joining consecutive
// days with the same hours: "Monday–Friday: 09:00–18:00".
func weekText(lang Lang, week []DayHours) string {
	byDay := make([]string, 7)
	for _, d := range week {
		if d.Day < 0 || d.Day > 6 {
			continue
		}
		iv := hhmm(lang, d.Opens) + "–" + hhmm(lang, d.Closes)
		if byDay[d.Day] != "" {
			byDay[d.Day] += ", "
		}
		byDay[d.Day] += iv
	}
	for i := range byDay {
		if byDay[i] == "" {
			byDay[i] = tr(lang, "closed_word")
		}
	}
	order := []time.Weekday{1, 2, 3, 4, 5, 6, 0}
	var lines []string
	for i := 0; i < len(order); {
		j := i
		for j+1 < len(order) && byDay[order[j+1]] == byDay[order[i]] {
			j++
		}
		name := weekdayNames[lang][order[i]]
		if j > i {
			name += "–" + weekdayNames[lang][order[j]]
		}
		lines = append(lines, name+": "+byDay[order[i]])
		i = j + 1
	}
	return strings.Join(lines, "\n")
}
