package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Session is one customer message being answered. A Brain reads the tools
// through it and acts through it; the effects a brain may cause are only
// the ones Session offers. Session is not safe for concurrent use.
type Session struct {
	e    *Engine
	conv *Conversation
	// In is the customer's message.
	In      Inbound
	now     time.Time
	replies []Reply
	missed  bool
	profile *Profile
	// prevLang is the conversation's language before this message.
	prevLang Lang
}

// Lang is the language to answer in.
func (s *Session) Lang() Lang { return langOr(s.conv.Lang) }

// Now is the time of the message.
func (s *Session) Now() time.Time { return s.now }

// Conversation returns a copy of the conversation state.
func (s *Session) Conversation() Conversation {
	c := *s.conv
	c.Cart = append([]CartLine(nil), c.Cart...)
	c.History = append([]Turn(nil), c.History...)
	c.Shown = append([]string(nil), c.Shown...)
	return c
}

// Say sends a text reply.
func (s *Session) Say(text string) { s.Send(textReply(text)) }

// Send sends a reply.
func (s *Session) Send(r Reply) { s.replies = append(s.replies, r) }

func (s *Session) record(from, text string) {
	if text == "" {
		return
	}
	s.conv.History = appendTurn(s.conv.History, Turn{From: from, Text: clip(text, 1000), At: s.now}, s.e.o.HistoryTurns)
}

// setLang detects the message's language. A clear signal switches the
// conversation's language; a weak one only decides the first message;
// otherwise the business's language stays.
func (s *Session) setLang(ctx context.Context) {
	s.prevLang = s.conv.Lang
	// An address is no evidence of the customer's language.
	if s.In.Text != "" && s.In.ReplyID == "" && s.conv.Pending != PendingAddress {
		s.applyLang(detectLang(s.In.Text))
	}
	if s.conv.Lang == "" {
		if p, err := s.Profile(ctx); err == nil && p.Lang.valid() {
			s.conv.Lang = p.Lang
		}
	}
}

func (s *Session) applyLang(l Lang, margin float64) {
	switch {
	case margin >= 1:
		s.conv.Lang = l
	case s.prevLang == "" && margin > 0.25:
		s.conv.Lang = l
	}
}

// relang detects the language again without the words at positions skip
// (a product's name is no evidence of the customer's language: "Is A
// Hora da Estrela available?" is English).
func (s *Session) relang(ctx context.Context, toks []string, skip map[int]bool) {
	if s.In.ReplyID != "" {
		return
	}
	var rest []string
	for i, w := range toks {
		if !skip[i] {
			rest = append(rest, w)
		}
	}
	s.conv.Lang = s.prevLang
	s.applyLang(detectLang(strings.Join(rest, " ")))
	if s.conv.Lang == "" {
		if p, err := s.Profile(ctx); err == nil && p.Lang.valid() {
			s.conv.Lang = p.Lang
		}
	}
}

// Profile is the business profile (read once per message).
func (s *Session) Profile(ctx context.Context) (Profile, error) {
	if s.profile != nil {
		return *s.profile, nil
	}
	p, err := s.e.o.Tools.Business.Profile(ctx)
	if err != nil {
		return Profile{}, err
	}
	s.profile = &p
	return p, nil
}

// Hours is the opening state now.
func (s *Session) Hours(ctx context.Context) (Hours, error) {
	return s.e.o.Tools.Business.Hours(ctx, s.now)
}

// FAQ searches the business's FAQ for question, answers translated to the
// customer's language where the business has a translation.
func (s *Session) FAQ(ctx context.Context, question string, limit int) ([]FAQHit, error) {
	ix, err := s.e.faqIndex(ctx)
	if err != nil {
		return nil, err
	}
	hits := ix.search(s.Lang(), question, limit)
	for i := range hits {
		hits[i].Entry = ix.translate(hits[i].Entry, s.Lang())
	}
	return hits, nil
}

// Product reads a product from the catalog.
func (s *Session) Product(ctx context.Context, retailerID string) (Product, error) {
	return s.e.o.Tools.Catalog.Product(ctx, retailerID)
}

// Stock is how many units of a product can be ordered now.
func (s *Session) Stock(ctx context.Context, retailerID string) (int, error) {
	return s.e.o.Tools.Catalog.Stock(ctx, retailerID)
}

// Order returns one of this customer's orders.
func (s *Session) Order(ctx context.Context, reference string) (Order, error) {
	return s.e.o.Tools.Orders.Get(ctx, s.In.Customer, reference)
}

// LatestOrder is the customer's newest order, or ErrNotFound.
func (s *Session) LatestOrder(ctx context.Context) (Order, error) {
	if ref := s.conv.LastOrder; ref != "" {
		o, err := s.Order(ctx, ref)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return o, err
		}
	}
	os, err := s.e.o.Tools.Orders.Recent(ctx, s.In.Customer, 1)
	if err != nil {
		return Order{}, err
	}
	if len(os) == 0 {
		return Order{}, ErrNotFound
	}
	return os[0], nil
}

// SetShown remembers the products just shown, for "two of those".
func (s *Session) SetShown(ids ...string) {
	s.conv.Shown = append([]string(nil), ids...)
	if len(s.conv.Shown) > 30 {
		s.conv.Shown = s.conv.Shown[:30]
	}
}

// ErrCart is a cart change the bot refuses (quantity out of range, a second
// currency, too many lines).
var ErrCart = errors.New("bot: cart change refused")

// AddToCart adds qty of a product, priced and stock-checked by the
// catalog. It returns the cart line after the addition, an
// *OutOfStockError when the stock does not cover the cart, ErrNotFound, or
// ErrCart.
func (s *Session) AddToCart(ctx context.Context, retailerID string, qty int) (CartLine, error) {
	if qty < 1 || qty > maxQuantity {
		return CartLine{}, fmt.Errorf("%w: quantity %d out of range", ErrCart, qty)
	}
	p, err := s.Product(ctx, retailerID)
	if err != nil {
		return CartLine{}, err
	}
	c := s.conv
	have := 0
	for _, l := range c.Cart {
		if l.RetailerID == retailerID {
			have = l.Quantity
		}
	}
	st, err := s.Stock(ctx, retailerID)
	if err != nil {
		return CartLine{}, err
	}
	if have+qty > st {
		return CartLine{}, &OutOfStockError{RetailerID: retailerID, Available: st}
	}
	if len(c.Cart) > 0 && c.Cart[0].Currency != p.Currency {
		return CartLine{}, fmt.Errorf("%w: cart in %s, product in %s", ErrCart, c.Cart[0].Currency, p.Currency)
	}
	if have == 0 && len(c.Cart) >= maxCartItems {
		return CartLine{}, fmt.Errorf("%w: cart full", ErrCart)
	}
	line := CartLine{RetailerID: retailerID, Name: p.Name, Quantity: have + qty, UnitPrice: p.Price, Currency: p.Currency}
	replaced := false
	for i := range c.Cart {
		if c.Cart[i].RetailerID == retailerID {
			c.Cart[i], replaced = line, true
		}
	}
	if !replaced {
		c.Cart = append(c.Cart, line)
	}
	c.Pending, c.Quote = PendingNone, nil
	s.SetShown(retailerID)
	return line, nil
}

// RemoveFromCart removes a product from the cart.
func (s *Session) RemoveFromCart(retailerID string) bool {
	c := s.conv
	for i, l := range c.Cart {
		if l.RetailerID == retailerID {
			c.Cart = append(c.Cart[:i], c.Cart[i+1:]...)
			c.Pending, c.Quote = PendingNone, nil
			return true
		}
	}
	return false
}

// ClearCart empties the cart.
func (s *Session) ClearCart() {
	s.conv.Cart, s.conv.Pending, s.conv.Quote = nil, PendingNone, nil
}

// cartTotal is the sum of the lines, or an error when it does not fit.
func cartTotal(lines []CartLine) (int64, error) {
	var t int64
	for _, l := range lines {
		if l.UnitPrice < 0 || l.Quantity < 0 || (l.Quantity > 0 && l.UnitPrice > (math.MaxInt64-t)/int64(l.Quantity)) {
			return 0, errors.New("bot: cart total out of range")
		}
		t += l.UnitPrice * int64(l.Quantity)
	}
	return t, nil
}

func (s *Session) cartLines(lines []CartLine) string {
	var b []string
	for _, l := range lines {
		b = append(b, fmt.Sprintf("%d × %s — %s", l.Quantity, l.Name, formatMoney(s.Lang(), l.Currency, l.UnitPrice*int64(l.Quantity))))
	}
	return strings.Join(b, "\n")
}

// ShowCart sends the cart with a checkout button.
func (s *Session) ShowCart() error {
	c := s.conv
	if len(c.Cart) == 0 {
		s.Say(tr(s.Lang(), "cart_empty"))
		return nil
	}
	t, err := cartTotal(c.Cart)
	if err != nil {
		return err
	}
	lang := s.Lang()
	s.Send(buttonsReply(tr(lang, "cart", s.cartLines(c.Cart), formatMoney(lang, c.Cart[0].Currency, t)),
		ButtonReply{ID: idCheckout, Title: tr(lang, "btn_checkout")}, ButtonReply{ID: idMore, Title: tr(lang, "btn_more")}))
	return nil
}

// sayAdded confirms additions to the cart (qtys[i] of lines[i] added) in
// one message and offers checkout.
func (s *Session) sayAdded(qtys []int, lines []CartLine) error {
	lang := s.Lang()
	t, err := cartTotal(s.conv.Cart)
	if err != nil {
		return err
	}
	var b []string
	for i, l := range lines {
		b = append(b, tr(lang, "added", qtys[i], l.Name, formatMoney(lang, l.Currency, l.UnitPrice*int64(qtys[i]))))
	}
	b = append(b, tr(lang, "cart_total", formatMoney(lang, s.conv.Cart[0].Currency, t)))
	s.Send(buttonsReply(strings.Join(b, "\n"), ButtonReply{ID: idCheckout, Title: tr(lang, "btn_checkout")}, ButtonReply{ID: idMore, Title: tr(lang, "btn_more")}))
	return nil
}

// tryAdd adds to the cart, telling the customer when it cannot (out of
// stock, no such product); ok reports whether it added.
func (s *Session) tryAdd(ctx context.Context, retailerID string, qty int) (CartLine, bool, error) {
	line, err := s.AddToCart(ctx, retailerID, qty)
	var oe *OutOfStockError
	switch {
	case errors.As(err, &oe):
		p, perr := s.Product(ctx, retailerID)
		if perr != nil {
			return line, false, perr
		}
		if oe.Available <= 0 {
			s.Say(tr(s.Lang(), "product_out", p.Name, formatMoney(s.Lang(), p.Currency, p.Price)))
		} else {
			s.Say(tr(s.Lang(), "only_available", oe.Available, p.Name))
		}
		return line, false, nil
	case errors.Is(err, ErrNotFound):
		s.Say(tr(s.Lang(), "not_found_any"))
		return line, false, nil
	case errors.Is(err, ErrCart):
		s.Say(tr(s.Lang(), "order_failed"))
		return line, false, nil
	case err != nil:
		return line, false, err
	}
	return line, true, nil
}

// addAndSay adds to the cart and tells the customer what happened.
func (s *Session) addAndSay(ctx context.Context, retailerID string, qty int) error {
	line, ok, err := s.tryAdd(ctx, retailerID, qty)
	if err != nil || !ok {
		return err
	}
	return s.sayAdded([]int{qty}, []CartLine{line})
}

// DescribeProduct states a product's price and stock, both read from the
// catalog now, and offers to add it to the cart. count says the stock
// figure itself ("we have 5 copies").
func (s *Session) DescribeProduct(ctx context.Context, p Product, count bool) error {
	st, err := s.Stock(ctx, p.RetailerID)
	if err != nil {
		return err
	}
	lang := s.Lang()
	price := formatMoney(lang, p.Currency, p.Price)
	s.SetShown(p.RetailerID)
	var text string
	switch {
	case st <= 0:
		s.Say(tr(lang, "product_out", p.Name, price))
		return nil
	case count:
		text = tr(lang, "product_count", p.Name, st, price)
	case st <= 3:
		text = tr(lang, "product_few", p.Name, price, st)
	default:
		text = tr(lang, "product_in_stock", p.Name, price)
	}
	if id := idAdd + p.RetailerID; len(id) <= 256 {
		s.Send(buttonsReply(text, ButtonReply{ID: id, Title: tr(lang, "btn_add")}))
	} else {
		s.Say(text)
	}
	return nil
}

// ListProducts shows several products to choose from: a product_list the
// customer can build a cart from when the business has a catalog id, else
// a list whose rows open a product. The body names them with their prices
// for clients that show only text.
func (s *Session) ListProducts(ctx context.Context, intro string, ps []Product) error {
	if len(ps) == 0 {
		s.Say(tr(s.Lang(), "not_found_any"))
		return nil
	}
	prof, err := s.Profile(ctx)
	if err != nil {
		return err
	}
	lang := s.Lang()
	max := 10
	if prof.CatalogID != "" {
		max = 30
	}
	if len(ps) > max {
		ps = ps[:max]
	}
	lines := []string{intro}
	var ids []string
	for i, p := range ps {
		lines = append(lines, fmt.Sprintf("%d. %s — %s", i+1, p.Name, formatMoney(lang, p.Currency, p.Price)))
		ids = append(ids, p.RetailerID)
	}
	s.SetShown(ids...)
	in := &Interactive{Body: &Text{Text: clip(strings.Join(lines, "\n"), 1024)}}
	if prof.CatalogID != "" {
		in.Type = "product_list"
		in.Header = &Header{Type: "text", Text: clip(tr(lang, "catalog_header"), 60)}
		sec := Section{Title: clip(tr(lang, "catalog_header"), 24)}
		for _, p := range ps {
			sec.ProductItems = append(sec.ProductItems, ProductItem{ProductRetailerID: p.RetailerID})
		}
		in.Action = Action{CatalogID: prof.CatalogID, Sections: []Section{sec}}
	} else {
		in.Type = "list"
		sec := Section{Title: clip(tr(lang, "catalog_header"), 24)}
		for _, p := range ps {
			id := idProduct + p.RetailerID
			if len(id) > 200 {
				continue
			}
			sec.Rows = append(sec.Rows, Row{ID: id, Title: clip(p.Name, 24), Description: clip(formatMoney(lang, p.Currency, p.Price), 72)})
		}
		in.Action = Action{Button: tr(lang, "btn_choose"), Sections: []Section{sec}}
	}
	s.Send(Reply{Type: "interactive", Interactive: in})
	return nil
}

// fulfilments are the options the business offers.
func fulfilments(p Profile) []Fulfilment {
	switch {
	case p.Delivery && !p.Pickup:
		return []Fulfilment{Delivery}
	case p.Pickup && !p.Delivery:
		return []Fulfilment{Pickup}
	}
	return []Fulfilment{Delivery, Pickup}
}

// Checkout starts (or continues) the order: it reprices the cart from the
// catalog, asks for what is missing (delivery or pickup, the address) and
// then asks the customer to confirm items and total. Only the customer's
// yes to that question creates the order.
func (s *Session) Checkout(ctx context.Context) error {
	c := s.conv
	c.Pending, c.Quote, c.CancelRef = PendingNone, nil, ""
	lang := s.Lang()
	if len(c.Cart) == 0 {
		s.Say(tr(lang, "cart_empty"))
		return nil
	}
	var kept []CartLine
	for _, l := range c.Cart {
		p, err := s.Product(ctx, l.RetailerID)
		if errors.Is(err, ErrNotFound) {
			s.Say(tr(lang, "not_found", l.Name))
			continue
		}
		if err != nil {
			return err
		}
		st, err := s.Stock(ctx, l.RetailerID)
		if err != nil {
			return err
		}
		if st <= 0 {
			s.Say(tr(lang, "product_out", p.Name, formatMoney(lang, p.Currency, p.Price)))
			continue
		}
		if st < l.Quantity {
			s.Say(tr(lang, "only_available", st, p.Name))
			l.Quantity = st
		}
		l.Name, l.UnitPrice, l.Currency = p.Name, p.Price, p.Currency
		kept = append(kept, l)
	}
	c.Cart = kept
	if len(kept) == 0 {
		return nil
	}
	prof, err := s.Profile(ctx)
	if err != nil {
		return err
	}
	opts := fulfilments(prof)
	if c.Fulfilment != Delivery && c.Fulfilment != Pickup || (len(opts) == 1 && c.Fulfilment != opts[0]) {
		c.Fulfilment = ""
		if len(opts) == 1 {
			c.Fulfilment = opts[0]
		} else {
			c.Pending = PendingFulfilment
			s.Send(buttonsReply(tr(lang, "ask_fulfilment"),
				ButtonReply{ID: idDelivery, Title: tr(lang, "btn_delivery")},
				ButtonReply{ID: idPickup, Title: tr(lang, "btn_pickup")}))
			return nil
		}
	}
	if c.Fulfilment == Delivery && c.Address == "" {
		c.Pending = PendingAddress
		s.Say(tr(lang, "ask_address"))
		return nil
	}
	return s.askConfirm(kept, 0)
}

// askConfirm puts a quote to the customer.
func (s *Session) askConfirm(lines []CartLine, shipping int64) error {
	c := s.conv
	lang := s.Lang()
	sub, err := cartTotal(lines)
	if err != nil {
		return err
	}
	q := &Quote{Lines: append([]CartLine(nil), lines...), Currency: lines[0].Currency, Total: sub + shipping, Fulfilment: c.Fulfilment}
	if c.Fulfilment == Delivery {
		q.Address = c.Address
	}
	items := s.cartLines(lines)
	if shipping > 0 {
		items += "\n" + tr(lang, "shipping", formatMoney(lang, q.Currency, shipping))
	}
	how := tr(lang, "by_pickup")
	if q.Fulfilment == Delivery {
		how = tr(lang, "by_delivery", q.Address)
	}
	c.Quote, c.Pending = q, PendingConfirm
	s.Send(buttonsReply(tr(lang, "confirm", items, formatMoney(lang, q.Currency, q.Total), how),
		ButtonReply{ID: idYes, Title: tr(lang, "btn_confirm")},
		ButtonReply{ID: idNo, Title: tr(lang, "btn_cancel")}))
	return nil
}

// answerPending handles the answer to the engine's open question. It
// reports false when the message is not an answer: the question lapses and
// the brain gets the message.
func (s *Session) answerPending(ctx context.Context) (bool, error) {
	c := s.conv
	text := strings.TrimSpace(s.In.Text)
	id := s.In.ReplyID
	switch c.Pending {
	case PendingConfirm, PendingCancel:
		yes := id == idYes || id == "" && isYes(text)
		no := id == idNo || id == "" && isNo(text)
		switch {
		case yes && c.Pending == PendingConfirm:
			return true, s.placeOrder(ctx)
		case yes:
			return true, s.cancelOrder(ctx)
		case no && c.Pending == PendingConfirm:
			c.Pending, c.Quote = PendingNone, nil
			s.Say(tr(s.Lang(), "not_placed"))
			return true, nil
		case no:
			s.Say(tr(s.Lang(), "cancel_kept", c.CancelRef))
			c.Pending, c.CancelRef = PendingNone, ""
			return true, nil
		}
	case PendingFulfilment:
		f := Fulfilment("")
		switch {
		case id == idDelivery:
			f = Delivery
		case id == idPickup:
			f = Pickup
		case id == "":
			f = fulfilmentWord(text)
		}
		if f != "" {
			c.Fulfilment, c.Pending = f, PendingNone
			return true, s.Checkout(ctx)
		}
	case PendingAddress:
		if l := s.In.Location; l != nil {
			addr := strings.TrimSpace(strings.Join([]string{l.Name, l.Address}, " "))
			if addr == "" {
				addr = fmt.Sprintf("%.6f, %.6f", l.Latitude, l.Longitude)
			}
			c.Address, c.Pending = clip(addr, 300), PendingNone
			return true, s.Checkout(ctx)
		}
		if id == "" && len([]rune(text)) >= 5 && !strings.HasSuffix(text, "?") && !isNo(text) {
			c.Address, c.Pending = clip(text, 300), PendingNone
			return true, s.Checkout(ctx)
		}
	}
	c.Pending, c.Quote, c.CancelRef = PendingNone, nil, ""
	return false, nil
}

// placeOrder creates the order the customer just confirmed, exactly as
// quoted, then its payment.
func (s *Session) placeOrder(ctx context.Context) error {
	c := s.conv
	q := c.Quote
	c.Pending, c.Quote = PendingNone, nil
	lang := s.Lang()
	if q == nil || len(q.Lines) == 0 {
		s.Say(tr(lang, "cart_empty"))
		return nil
	}
	// Prices can change between the question and the yes: then the
	// customer confirms the new total first.
	for _, l := range q.Lines {
		p, err := s.Product(ctx, l.RetailerID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err != nil || p.Price != l.UnitPrice || p.Currency != l.Currency {
			return s.Checkout(ctx)
		}
	}
	req := OrderRequest{Customer: s.In.Customer, Fulfilment: q.Fulfilment, Address: q.Address, Currency: q.Currency, Total: q.Total}
	for _, l := range q.Lines {
		req.Items = append(req.Items, OrderItem{RetailerID: l.RetailerID, Quantity: l.Quantity})
	}
	o, err := s.e.o.Tools.Orders.Create(ctx, req)
	var oe *OutOfStockError
	switch {
	case errors.As(err, &oe):
		for i := range c.Cart {
			if c.Cart[i].RetailerID == oe.RetailerID {
				c.Cart[i].Quantity = oe.Available
			}
		}
		var kept []CartLine
		for _, l := range c.Cart {
			if l.Quantity > 0 {
				kept = append(kept, l)
			}
		}
		c.Cart = kept
		return s.Checkout(ctx)
	case errors.Is(err, ErrOutOfStock):
		return s.Checkout(ctx)
	case err != nil:
		s.e.log.Warn("bot: create order failed", "err", err)
		s.Send(buttonsReply(tr(lang, "order_failed"), ButtonReply{ID: idHuman, Title: tr(lang, "btn_human")}))
		return nil
	}
	if o.Total != q.Total || o.Currency != q.Currency {
		// The store priced it differently (shipping, a price change): the
		// customer did not agree to this total, so it does not stand.
		if _, err := s.e.o.Tools.Orders.Cancel(ctx, s.In.Customer, o.Reference); err != nil {
			s.e.log.Warn("bot: cancel of requoted order failed", "err", err)
		}
		var lines []CartLine
		for _, it := range o.Items {
			lines = append(lines, CartLine{RetailerID: it.RetailerID, Name: it.Name, Quantity: it.Quantity, UnitPrice: it.UnitPrice, Currency: o.Currency})
		}
		if len(lines) == 0 {
			s.Say(tr(lang, "order_failed"))
			return nil
		}
		c.Cart = lines
		s.Say(tr(lang, "requote", formatMoney(lang, o.Currency, o.Total)))
		sub, err := cartTotal(lines)
		if err != nil {
			return err
		}
		if o.Total-sub < 0 {
			s.Say(tr(lang, "order_failed"))
			return nil
		}
		return s.askConfirm(lines, o.Total-sub)
	}
	c.LastOrder = o.Reference
	c.Cart, c.Fulfilment, c.Shown = nil, "", nil
	return s.pay(ctx, o)
}

// paymentMethod chooses PIX for Brazil and UPI for India.
func paymentMethod(p Profile, currency string) PaymentMethod {
	switch strings.ToUpper(currency) {
	case "BRL":
		return PIX
	case "INR":
		return UPI
	case "":
		switch strings.ToUpper(p.Country) {
		case "BR":
			return PIX
		case "IN":
			return UPI
		}
	}
	return ""
}

// pay creates the order's payment and sends order_details with it.
func (s *Session) pay(ctx context.Context, o Order) error {
	lang := s.Lang()
	prof, err := s.Profile(ctx)
	if err != nil {
		return err
	}
	method := paymentMethod(prof, o.Currency)
	if method == "" || s.e.o.Tools.Payments == nil {
		s.Say(tr(lang, "pay_none", o.Reference))
		return nil
	}
	p, err := s.e.o.Tools.Payments.Create(ctx, o, method)
	if err != nil {
		if !errors.Is(err, ErrNoPayment) {
			s.e.log.Warn("bot: create payment failed", "err", err)
		}
		s.Say(tr(lang, "pay_none", o.Reference))
		return nil
	}
	s.Send(orderDetailsReply(lang, prof, o, p, s.now, s.e.o.DigitalGoods))
	if !s.e.o.NoPaymentText {
		switch p.Method {
		case PIX:
			s.Say(tr(lang, "pay_pix"))
			s.Say(p.Code)
		case UPI:
			s.Say(tr(lang, "pay_upi", p.Link))
		}
	}
	return nil
}

// orderDetailsReply is the order_details (review_and_pay) message.
func orderDetailsReply(lang Lang, prof Profile, o Order, p Payment, now time.Time, digital bool) Reply {
	params := &Parameters{
		ReferenceID: o.Reference,
		Type:        "physical-goods",
		Currency:    o.Currency,
		TotalAmount: cloudAmount(o.Total, o.Currency),
	}
	if digital {
		params.Type = "digital-goods"
	}
	ord := &OrderObject{Status: string(OrderPending), CatalogID: prof.CatalogID}
	var sub int64
	for _, it := range o.Items {
		ord.Items = append(ord.Items, ItemJSON{RetailerID: it.RetailerID, Name: it.Name, Amount: *cloudAmount(it.UnitPrice, o.Currency), Quantity: it.Quantity})
		sub += it.UnitPrice * int64(it.Quantity)
	}
	ord.Subtotal = cloudAmount(sub, o.Currency)
	if ship := o.Total - sub; ship > 0 {
		ord.Shipping = cloudAmount(ship, o.Currency)
	}
	if !o.ExpiresAt.IsZero() && o.ExpiresAt.Sub(now) >= 300*time.Second {
		ord.Expiration = &Expiration{
			Timestamp:   strconv.FormatInt(o.ExpiresAt.Unix(), 10),
			Description: clip(tr(lang, "pay_expiry", int(o.ExpiresAt.Sub(now).Minutes())), 120),
		}
	}
	params.Order = ord
	switch p.Method {
	case PIX:
		params.PaymentType = "br"
		params.PaymentSettings = []PaymentSetting{{Type: "pix_dynamic_code", PixDynamicCode: &PixDynamicCode{
			Code: p.Code, MerchantName: p.MerchantName, Key: p.Key, KeyType: p.KeyType}}}
	case UPI:
		params.PaymentType = "upi" // the Cloud API requires it beside the settings
		params.PaymentSettings = []PaymentSetting{{Type: "upi_intent_link", UPIIntentLink: &UPIIntentLink{Link: p.Link}}}
	}
	return Reply{Type: "interactive", Interactive: &Interactive{
		Type:   "order_details",
		Body:   &Text{Text: clip(tr(lang, "pay_body", o.Reference, formatMoney(lang, o.Currency, o.Total)), 1024)},
		Action: Action{Name: "review_and_pay", Parameters: params},
	}}
}

// orderStatusReply is the order_status (review_order) message.
func orderStatusReply(lang Lang, o Order) Reply {
	key := "status_pending"
	switch o.Status {
	case OrderProcessing:
		key = "status_processing"
	case OrderShipped, OrderPartiallyShipped:
		key = "status_shipped"
	case OrderCompleted:
		key = "status_completed"
	case OrderCanceled:
		key = "status_canceled"
	}
	if o.Payment == PaymentFailed && o.Status != OrderCanceled {
		key = "status_payment_failed"
	}
	status := o.Status
	if status == "" {
		status = OrderPending
	}
	params := &Parameters{ReferenceID: o.Reference, Order: &OrderObject{Status: string(status)}}
	if o.Payment != "" {
		params.Payment = &PaymentObject{Status: string(o.Payment)}
	}
	return Reply{Type: "interactive", Interactive: &Interactive{
		Type:   "order_status",
		Body:   &Text{Text: tr(lang, key, o.Reference)},
		Action: Action{Name: "review_order", Parameters: params},
	}}
}

// ShowOrder sends an order's status.
func (s *Session) ShowOrder(o Order) {
	s.conv.LastOrder = o.Reference
	s.Send(orderStatusReply(s.Lang(), o))
}

// AskCancel asks the customer to confirm canceling one of their orders.
func (s *Session) AskCancel(ctx context.Context, reference string) error {
	lang := s.Lang()
	o, err := s.Order(ctx, reference)
	if errors.Is(err, ErrNotFound) {
		s.Say(tr(lang, "status_unknown_ref", reference))
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case o.Status == OrderCanceled:
		s.ShowOrder(o)
		return nil
	case o.Status != OrderPending || o.Payment == PaymentCaptured:
		// Paid or on its way: a person decides (a refund is involved).
		s.Send(buttonsReply(tr(lang, "not_cancelable", o.Reference), ButtonReply{ID: idHuman, Title: tr(lang, "btn_human")}))
		return nil
	}
	s.conv.Pending, s.conv.CancelRef, s.conv.Quote = PendingCancel, o.Reference, nil
	s.Send(buttonsReply(tr(lang, "ask_cancel", o.Reference),
		ButtonReply{ID: idYes, Title: tr(lang, "btn_yes")},
		ButtonReply{ID: idNo, Title: tr(lang, "btn_no")}))
	return nil
}

func (s *Session) cancelOrder(ctx context.Context) error {
	c := s.conv
	ref := c.CancelRef
	c.Pending, c.CancelRef = PendingNone, ""
	lang := s.Lang()
	o, err := s.e.o.Tools.Orders.Cancel(ctx, s.In.Customer, ref)
	switch {
	case errors.Is(err, ErrNotCancelable):
		s.Send(buttonsReply(tr(lang, "not_cancelable", ref), ButtonReply{ID: idHuman, Title: tr(lang, "btn_human")}))
		return nil
	case errors.Is(err, ErrNotFound):
		s.Say(tr(lang, "status_unknown_ref", ref))
		return nil
	case err != nil:
		return err
	}
	s.ShowOrder(o)
	return nil
}

// Handoff passes the conversation to a person: the staff get the reason,
// a summary and the transcript, the bot goes silent, and the customer
// hears when to expect an answer (when the business opens, if closed).
func (s *Session) Handoff(ctx context.Context, reason HandoffReason, summary string) error {
	c := s.conv
	lang := s.Lang()
	staff := s.e.o.Tools.Staff
	if staff == nil {
		s.Say(tr(lang, "no_staff"))
		return nil
	}
	h, err := s.Hours(ctx)
	if err != nil {
		s.e.log.Warn("bot: hours for handoff", "err", err)
		h = Hours{Open: true}
	}
	if summary == "" {
		summary = clip(s.In.Text, 300)
	}
	req := HandoffRequest{Customer: s.In.Customer, Reason: reason, Summary: summary, Lang: lang,
		Transcript: append([]Turn(nil), c.History...), Closed: !h.Open, NextOpen: h.NextOpen}
	if err := staff.Handoff(ctx, req); err != nil {
		return err
	}
	c.Handoff = &HandoffState{Since: s.now, Reason: reason}
	c.Pending, c.Quote, c.CancelRef = PendingNone, nil, ""
	switch {
	case h.Open:
		s.Say(tr(lang, "handoff_open"))
	case !h.NextOpen.IsZero():
		s.Say(tr(lang, "handoff_closed", when(lang, s.now, h.NextOpen)))
	default:
		s.Say(tr(lang, "handoff_closed_unknown"))
	}
	return nil
}

// NotUnderstood tells the customer the bot did not understand (or, with
// dontKnow, does not know the answer) and offers a person; the second time
// in a row it hands the conversation to one.
func (s *Session) NotUnderstood(ctx context.Context, dontKnow bool) error {
	s.missed = true
	s.conv.Misses++
	if s.conv.Misses >= 2 {
		return s.Handoff(ctx, HandoffLowConfidence, "")
	}
	key := "miss"
	if dontKnow {
		key = "dont_know"
	}
	lang := s.Lang()
	s.Send(buttonsReply(tr(lang, key), ButtonReply{ID: idHuman, Title: tr(lang, "btn_human")}))
	return nil
}

// button handles taps on the engine's buttons outside an open question.
func (s *Session) button(ctx context.Context) (bool, error) {
	id := s.In.ReplyID
	switch {
	case id == "" || !strings.HasPrefix(id, "bot:"):
		return false, nil
	case id == idHuman:
		return true, s.Handoff(ctx, HandoffRequested, "")
	case id == idCheckout, id == idYes:
		// A stale confirm button never places an order: it quotes anew.
		return true, s.Checkout(ctx)
	case id == idDelivery, id == idPickup:
		s.conv.Fulfilment = Pickup
		if id == idDelivery {
			s.conv.Fulfilment = Delivery
		}
		return true, s.Checkout(ctx)
	case id == idMore, id == idNo:
		s.Say(tr(s.Lang(), "more"))
		return true, nil
	case strings.HasPrefix(id, idAdd):
		return true, s.addAndSay(ctx, strings.TrimPrefix(id, idAdd), 1)
	case strings.HasPrefix(id, idProduct):
		p, err := s.Product(ctx, strings.TrimPrefix(id, idProduct))
		if errors.Is(err, ErrNotFound) {
			s.Say(tr(s.Lang(), "not_found_any"))
			return true, nil
		}
		if err != nil {
			return true, err
		}
		return true, s.DescribeProduct(ctx, p, false)
	}
	return false, nil
}

// cartMessage takes a cart sent from the catalog: the lines are priced
// from the catalog (not from the customer's message) and go to checkout.
func (s *Session) cartMessage(ctx context.Context) error {
	s.ClearCart()
	lang := s.Lang()
	for _, it := range s.In.Cart {
		p, err := s.Product(ctx, it.RetailerID)
		if errors.Is(err, ErrNotFound) {
			s.Say(tr(lang, "not_found", it.RetailerID))
			continue
		}
		if err != nil {
			return err
		}
		merged := false
		for i := range s.conv.Cart {
			if s.conv.Cart[i].RetailerID == p.RetailerID {
				s.conv.Cart[i].Quantity = min(s.conv.Cart[i].Quantity+it.Quantity, maxQuantity)
				merged = true
			}
		}
		if !merged {
			if len(s.conv.Cart) > 0 && s.conv.Cart[0].Currency != p.Currency {
				continue
			}
			s.conv.Cart = append(s.conv.Cart, CartLine{RetailerID: p.RetailerID, Name: p.Name, Quantity: it.Quantity, UnitPrice: p.Price, Currency: p.Currency})
		}
	}
	return s.Checkout(ctx)
}

// yes and no words of the four languages (folded).
var (
	yesWords = set(`yes yeah yep yup sure ok okay confirm confirmed correct right go ahead please
		sim claro pode confirmo confirmar isso certo beleza fechado bora quero
		ja jawohl genau gerne bestatigen bestatige klar passt richtig
		ya iya yoi betul benar setuju boleh lanjut oke konfirmasi sip`)
	noWords = set(`no nope nah cancel stop dont not
		nao cancela cancelar cancele nem
		nein nicht abbrechen stornieren lieber kein
		tidak nggak gak enggak ga batal jangan batalkan`)
)

// isYes reports whether a short message says yes (and not no).
func isYes(text string) bool {
	t := tokens(text)
	if len(t) == 0 || len(t) > 6 {
		return false
	}
	yes := false
	for i, w := range t {
		if noWords[w] {
			return false
		}
		if yesWords[w] && i < 3 {
			yes = true
		}
	}
	return yes
}

// isNo reports whether a short message says no.
func isNo(text string) bool {
	t := tokens(text)
	if len(t) == 0 || len(t) > 6 {
		return false
	}
	for _, w := range t {
		if noWords[w] {
			return true
		}
	}
	return false
}

var (
	deliveryWords = set(`deliver delivery delivered ship shipping send entrega entregar entregue envio enviar
		mandar liefern lieferung liefert zustellung versand schicken kirim dikirim antar diantar pengiriman`)
	pickupWords = set(`pickup pick collect retirar retiro retirada buscar busco pegar abholen abholung
		hole abhole ambil diambil jemput`)
)

// fulfilmentWord reads "delivery" or "pickup" from a short answer.
func fulfilmentWord(text string) Fulfilment {
	var d, p bool
	for _, w := range tokens(text) {
		d = d || deliveryWords[w]
		p = p || pickupWords[w]
	}
	switch {
	case d && !p:
		return Delivery
	case p && !d:
		return Pickup
	}
	return ""
}
