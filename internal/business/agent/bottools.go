package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/business/bot"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment"
)

// The bot's tools over the agent's commerce and payments: every price,
// stock figure and opening time the bot states comes from here.

func botTools(a *Agent) bot.Tools {
	t := botTool{a}
	return bot.Tools{Business: t, Catalog: t, Orders: t, Payments: botPayments{a}, Staff: t}
}

type botTool struct{ a *Agent }

// catalog is the catalog the assistant sells from: the settings' one, or
// the first.
func (t botTool) catalog(ctx context.Context) (string, error) {
	s, err := t.a.state.Settings(ctx)
	if err != nil {
		return "", err
	}
	if s.CatalogID != "" {
		return s.CatalogID, nil
	}
	cats, err := t.a.Catalogs.Catalogs(ctx)
	if err != nil || len(cats) == 0 {
		return "", errors.Join(err, bot.ErrNotFound)
	}
	return cats[0].ID, nil
}

func (t botTool) Profile(ctx context.Context) (bot.Profile, error) {
	p, err := t.a.Business.Profile(ctx)
	if err != nil {
		return bot.Profile{}, err
	}
	s, err := t.a.state.Settings(ctx)
	if err != nil {
		return bot.Profile{}, err
	}
	out := bot.Profile{Name: p.Name, Description: p.Description, Address: p.Address, Email: p.Email,
		Phone: t.a.self.Phone, Country: s.Country, Currency: s.Currency, Lang: bot.Lang(primaryLang(s.Language)),
		Delivery: s.Delivery, Pickup: s.Pickup}
	if len(p.Websites) > 0 {
		out.Website = p.Websites[0]
	}
	if id, err := t.catalog(ctx); err == nil && !s.CatalogHidden {
		out.CatalogID = id
	}
	return out, nil
}

func primaryLang(tag string) string {
	p, _, _ := strings.Cut(strings.ToLower(tag), "-")
	return p
}

func (t botTool) Hours(ctx context.Context, now time.Time) (bot.Hours, error) {
	h, err := t.a.Business.Hours(ctx)
	if err != nil {
		return bot.Hours{}, fmt.Errorf("agent: the business has no opening hours: %w", err)
	}
	s, err := h.Schedule()
	if err != nil {
		return bot.Hours{}, err
	}
	out := bot.Hours{Open: s.IsOpen(now), Zone: s.Location()}
	if out.Open {
		out.ClosesAt, _ = s.ClosesAt(now)
	} else {
		out.NextOpen, _ = s.NextOpening(now)
		if sd, ok := s.Special(commerce.DateOf(now.In(s.Location()))); ok && sd.Closed {
			out.Holiday = sd.Note
			if out.Holiday == "" {
				out.Holiday = "holiday"
			}
		}
	}
	for _, w := range h.Weekly {
		out.Week = append(out.Week, bot.DayHours{Day: time.Weekday(w.Day), Opens: w.Open.String(), Closes: w.Close.String()})
	}
	return out, nil
}

func (t botTool) FAQ(ctx context.Context) ([]bot.FAQEntry, error) {
	fs, err := t.a.FAQs.List(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]bot.FAQEntry, len(fs))
	for i, f := range fs {
		out[i] = bot.FAQEntry{ID: strconv.FormatInt(f.ID, 10), Lang: bot.Lang(primaryLang(f.Language)), Question: f.Question,
			Answer: f.Answer, Keywords: f.Keywords}
	}
	return out, nil
}

func botProduct(p commerce.Product) bot.Product {
	return bot.Product{RetailerID: p.RetailerID, Name: p.Name, Description: strings.TrimSpace(p.Brand + " " + p.Description),
		Price: p.UnitPrice().Amount, Currency: string(p.Currency)}
}

func (t botTool) Search(ctx context.Context, query string, limit int) ([]bot.Product, error) {
	cat, err := t.catalog(ctx)
	if errors.Is(err, bot.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ps, err := t.a.Catalogs.Search(ctx, cat, query, limit)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Product, len(ps))
	for i, p := range ps {
		out[i] = botProduct(p)
	}
	return out, nil
}

func (t botTool) product(ctx context.Context, rid string) (commerce.Product, error) {
	cat, err := t.catalog(ctx)
	if err != nil {
		return commerce.Product{}, err
	}
	p, err := t.a.Catalogs.ProductByRetailerID(ctx, cat, rid)
	if errors.Is(err, commerce.ErrNotFound) {
		return p, bot.ErrNotFound
	}
	return p, err
}

func (t botTool) Product(ctx context.Context, rid string) (bot.Product, error) {
	p, err := t.product(ctx, rid)
	if err != nil {
		return bot.Product{}, err
	}
	return botProduct(p), nil
}

// untracked is the stock the bot is told for a product whose inventory
// is not counted: as many as anyone orders.
const untracked = 1_000_000

func (t botTool) Stock(ctx context.Context, rid string) (int, error) {
	p, err := t.product(ctx, rid)
	if err != nil {
		return 0, err
	}
	switch p.Availability() {
	case commerce.InStock, commerce.Preorder, commerce.AvailableForOrder:
	default:
		return 0, nil
	}
	n, tracked := p.Free()
	if !tracked || p.Availability() != commerce.InStock {
		return untracked, nil
	}
	return int(n), nil
}

// The fulfilment the customer chose is kept in the order's note, the one
// free-text field an order has.
const (
	notePickup   = "Pickup at the store"
	noteDelivery = "Delivery to: "
)

func (t botTool) Create(ctx context.Context, req bot.OrderRequest) (bot.Order, error) {
	cat, err := t.catalog(ctx)
	if err != nil {
		return bot.Order{}, err
	}
	cart := commerce.Cart{CatalogID: cat}
	for _, it := range req.Items {
		p, err := t.product(ctx, it.RetailerID)
		if err != nil {
			return bot.Order{}, err
		}
		cart.Items = append(cart.Items, commerce.CartItem{RetailerID: it.RetailerID, Quantity: int64(it.Quantity), Price: p.UnitPrice()})
	}
	var charges commerce.Charges
	switch req.Fulfilment {
	case bot.Delivery:
		cart.Text = noteDelivery + req.Address
		s, err := t.a.state.Settings(ctx)
		if err != nil {
			return bot.Order{}, err
		}
		if s.DeliveryFee > 0 {
			charges.Shipping = commerce.Charge{Amount: s.DeliveryFee, Description: "Delivery"}
		}
	case bot.Pickup:
		cart.Text = notePickup
	}
	if len([]rune(cart.Text)) > 1000 {
		cart.Text = string([]rune(cart.Text)[:1000])
	}
	o, err := t.a.Orders.Place(ctx, commerce.PlaceRequest{Customer: req.Customer, Cart: cart, Charges: charges})
	var cerr *commerce.CartError
	if errors.As(err, &cerr) && len(cerr.Items) > 0 {
		it := cerr.Items[0]
		if errors.Is(it.Err, commerce.ErrUnknownProduct) {
			return bot.Order{}, bot.ErrNotFound
		}
		return bot.Order{}, &bot.OutOfStockError{RetailerID: it.RetailerID, Available: int(it.Available)}
	}
	if err != nil {
		return bot.Order{}, err
	}
	return botOrder(o), nil
}

func botOrder(o commerce.Order) bot.Order {
	out := bot.Order{Reference: o.ReferenceID, Customer: o.Customer, Status: bot.OrderStatus(o.Status), Currency: string(o.Currency),
		Subtotal: o.Subtotal, Shipping: o.Charges.Shipping.Amount, Total: o.Total, CreatedAt: o.CreatedAt}
	if o.Payment != commerce.PaymentNone {
		out.Payment = bot.PaymentStatus(o.Payment)
	}
	if o.Status == commerce.StatusPending && o.Payment != commerce.PaymentCaptured {
		out.ExpiresAt = o.ExpiresAt
	}
	switch {
	case o.Note == notePickup:
		out.Fulfilment = bot.Pickup
	case strings.HasPrefix(o.Note, noteDelivery):
		out.Fulfilment = bot.Delivery
	}
	for _, it := range o.Items {
		out.Items = append(out.Items, bot.OrderLine{RetailerID: it.RetailerID, Name: it.Name, Quantity: int(it.Quantity), UnitPrice: it.UnitPrice()})
	}
	return out
}

func (t botTool) Get(ctx context.Context, customer, ref string) (bot.Order, error) {
	o, err := t.a.Orders.Order(ctx, ref)
	if errors.Is(err, commerce.ErrNotFound) || err == nil && o.Customer != customer {
		return bot.Order{}, bot.ErrNotFound
	}
	if err != nil {
		return bot.Order{}, err
	}
	return botOrder(o), nil
}

func (t botTool) Recent(ctx context.Context, customer string, limit int) ([]bot.Order, error) {
	os, err := t.a.Orders.CustomerOrders(ctx, customer, limit)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Order, len(os))
	for i, o := range os {
		out[i] = botOrder(o)
	}
	return out, nil
}

func (t botTool) Cancel(ctx context.Context, customer, ref string) (bot.Order, error) {
	if _, err := t.Get(ctx, customer, ref); err != nil {
		return bot.Order{}, err
	}
	o, err := t.a.Orders.Cancel(ctx, ref, commerce.ReasonCustomer, "")
	if errors.Is(err, commerce.ErrInvalidTransition) {
		return bot.Order{}, bot.ErrNotCancelable
	}
	if err != nil {
		return bot.Order{}, err
	}
	return botOrder(o), nil
}

// Handoff tells the business a customer wants a person. The person answers
// through the API (they see the conversation on the webhook) and gives the
// conversation back with POST /parley/v1/handoffs/{wa_id}/end.
func (t botTool) Handoff(ctx context.Context, req bot.HandoffRequest) error {
	t.a.log.Info("a customer's conversation was handed to a person", "reason", string(req.Reason))
	return nil
}

type botPayments struct{ a *Agent }

func (p botPayments) Create(ctx context.Context, o bot.Order, m bot.PaymentMethod) (bot.Payment, error) {
	ch, err := p.a.Charge(ctx, o.Reference, o.Total, o.Currency)
	if err != nil {
		return bot.Payment{}, errors.Join(bot.ErrNoPayment, err)
	}
	out := bot.Payment{ExpiresAt: o.ExpiresAt}
	switch {
	case ch.Method == payment.MethodPix && m == bot.PIX:
		out.Method, out.Code, out.MerchantName, out.Key, out.KeyType = bot.PIX, ch.Pix.Code, ch.Pix.MerchantName, ch.Pix.Key, ch.Pix.KeyType
	case ch.Method == payment.MethodUPI && m == bot.UPI:
		out.Method, out.Link = bot.UPI, ch.UPI.Link
	default:
		return bot.Payment{}, bot.ErrNoPayment
	}
	return out, nil
}
