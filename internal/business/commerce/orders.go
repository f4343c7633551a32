package commerce

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
)

// OrderStore is what Orders keeps orders and stock reservations in. Lookups
// of a missing row return an error matching ErrNotFound; inserting an order
// whose reference or source message id is taken, one matching ErrExists.
type OrderStore interface {
	Tx
	Catalog(ctx context.Context, id string) (Catalog, error)
	ProductByRetailerID(ctx context.Context, catalogID, retailerID string) (Product, error)
	Product(ctx context.Context, id string) (Product, error)

	// InsertOrder stores a new order with its items.
	InsertOrder(ctx context.Context, o Order) error
	Order(ctx context.Context, referenceID string) (Order, error)
	OrderBySourceMessage(ctx context.Context, messageID string) (Order, error)
	// CustomerOrders lists a customer's orders, newest first, at most limit.
	CustomerOrders(ctx context.Context, customer string, limit int) ([]Order, error)
	// UpdateOrder stores every field of an existing order but its
	// reference, customer, source message, items and creation time.
	UpdateOrder(ctx context.Context, o Order) error
	// DueOrders lists the references of pending orders whose payment is
	// none or failed and that expire at or before now, soonest first, at
	// most limit.
	DueOrders(ctx context.Context, now time.Time, limit int) ([]string, error)

	// Reserve holds qty of a product for an order, if inventory minus all
	// reservations leaves at least qty (or inventory is not tracked); else
	// it returns an error matching ErrInsufficientStock and holds nothing.
	Reserve(ctx context.Context, referenceID, productID string, qty int64) error
	// ReleaseReservations drops an order's reservations.
	ReleaseReservations(ctx context.Context, referenceID string) error
	// CommitReservations drops an order's reservations and takes their
	// quantities out of the (tracked) inventories.
	CommitReservations(ctx context.Context, referenceID string) error
	// TakeStock takes qty out of a tracked inventory, stopping at zero.
	TakeStock(ctx context.Context, productID string, qty int64) error
}

// OrderEvent reports a change to an order: its placement (Prev nil), a
// status change, a payment change, or new charges.
type OrderEvent struct {
	Order Order
	Prev  *Order
}

// StatusChanged reports whether the order status differs from Prev's (true
// for a new order).
func (e OrderEvent) StatusChanged() bool { return e.Prev == nil || e.Prev.Status != e.Order.Status }

// PaymentChanged reports whether the payment status differs from Prev's.
func (e OrderEvent) PaymentChanged() bool { return e.Prev != nil && e.Prev.Payment != e.Order.Payment }

// Subscriber hears of every order change. OrderChanged runs inside the
// transaction that makes the change, with its ctx: a subscriber that writes
// to the same store with ctx (say, queues an order_status webhook) commits
// or rolls back with the change, and an error it returns undoes the change.
// It must not do network I/O or wait for anything: the store has one writer.
type Subscriber interface {
	OrderChanged(ctx context.Context, ev OrderEvent) error
}

// SubscriberFunc is a function that is a Subscriber.
type SubscriberFunc func(ctx context.Context, ev OrderEvent) error

// OrderChanged calls f.
func (f SubscriberFunc) OrderChanged(ctx context.Context, ev OrderEvent) error { return f(ctx, ev) }

// DefaultReservationTTL is how long an unpaid order holds its stock.
const DefaultReservationTTL = 30 * time.Minute

// OrderOptions tune Orders. The zero value (or nil) is ready to use.
type OrderOptions struct {
	// ReservationTTL is how long a pending, unpaid order keeps its stock
	// before it is canceled; zero means DefaultReservationTTL.
	ReservationTTL time.Duration
	// SweepInterval is how often Run looks for expired orders; zero means
	// a minute.
	SweepInterval time.Duration
	// Subscribers hear of every change (Subscribe adds more).
	Subscribers []Subscriber
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives counts and errors, never customer data; nil discards.
	Logger *slog.Logger
}

// Orders places orders from carts and moves them through their life.
type Orders struct {
	st    OrderStore
	ttl   time.Duration
	sweep time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu   sync.Mutex
	subs []Subscriber
}

// NewOrders returns the order service over st.
func NewOrders(st OrderStore, o *OrderOptions) *Orders {
	if o == nil {
		o = &OrderOptions{}
	}
	s := &Orders{st: st, ttl: o.ReservationTTL, sweep: o.SweepInterval, now: o.Now, log: o.Logger,
		subs: append([]Subscriber(nil), o.Subscribers...)}
	if s.ttl <= 0 {
		s.ttl = DefaultReservationTTL
	}
	if s.sweep <= 0 {
		s.sweep = time.Minute
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Subscribe adds a subscriber for the changes that follow.
func (s *Orders) Subscribe(sub Subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, sub)
}

func (s *Orders) emit(ctx context.Context, ev OrderEvent) error {
	s.mu.Lock()
	subs := s.subs
	s.mu.Unlock()
	for _, sub := range subs {
		if err := sub.OrderChanged(ctx, ev); err != nil {
			return fmt.Errorf("commerce: order subscriber: %w", err)
		}
	}
	return nil
}

// PlaceRequest asks to turn a cart into an order.
type PlaceRequest struct {
	// Customer is the customer's wa_id.
	Customer string
	Cart     Cart
	// SourceMessageID is the id of the cart's message, if any. Placing
	// twice from one message (a retried webhook) returns the first order
	// with ErrDuplicate.
	SourceMessageID string
	// ReferenceID is the order's reference, if the business chooses it
	// (1-35 of A-Z a-z 0-9 . _ -); empty makes a random one of 16
	// upper-case letters and digits, which also fits a Pix txid.
	ReferenceID string
	// Charges are added to the subtotal (tax, shipping) or taken from it
	// (discount); the total may not go below zero.
	Charges Charges
}

// ItemError is what is wrong with one cart item.
type ItemError struct {
	RetailerID string
	// Err is ErrUnknownProduct, ErrUnavailable, ErrInsufficientStock or
	// ErrCurrencyMismatch.
	Err error
	// Available is the free stock, for ErrInsufficientStock.
	Available int64
}

// CartError lists every item of a cart that cannot be ordered. errors.Is
// matches each item's error.
type CartError struct {
	Items []ItemError
}

func (e *CartError) Error() string {
	var b strings.Builder
	b.WriteString("commerce: cart cannot be ordered:")
	for i, it := range e.Items {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %q: %v", clip(it.RetailerID), it.Err)
		if errors.Is(it.Err, ErrInsufficientStock) {
			fmt.Fprintf(&b, " (%d available)", it.Available)
		}
	}
	return b.String()
}

// Unwrap returns the items' errors.
func (e *CartError) Unwrap() []error {
	out := make([]error, len(e.Items))
	for i, it := range e.Items {
		out[i] = it.Err
	}
	return out
}

var referencePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,35}$`)

const maxStatusDescription = 120

// Place turns a cart into a pending order: it checks every item (the
// product exists in the cart's catalog, can be ordered, has enough free
// stock, is priced in the cart's currency), and then stores the order and
// reserves the stock of all its items in one transaction: either the whole
// order is placed or nothing is (a *CartError lists every item that failed).
// Of concurrent orders for the last items, exactly one gets them.
//
// The order charges the business's current prices, whatever the cart
// showed; Order.PriceChanged lists the differences.
func (s *Orders) Place(ctx context.Context, req PlaceRequest) (Order, error) {
	if err := validatePlace(req); err != nil {
		return Order{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	var out Order
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		if req.SourceMessageID != "" {
			prev, err := s.st.OrderBySourceMessage(ctx, req.SourceMessageID)
			if err == nil {
				out = prev
				return fmt.Errorf("%w: order %s", ErrDuplicate, prev.ReferenceID)
			}
			if !isNotFound(err) {
				return err
			}
		}
		if _, err := s.st.Catalog(ctx, req.Cart.CatalogID); err != nil {
			return err
		}
		ord := Order{
			CatalogID: req.Cart.CatalogID, Customer: req.Customer, SourceMessageID: req.SourceMessageID,
			Note: req.Cart.Text, Status: StatusPending, Payment: PaymentNone, Stock: StockHeld,
			Charges: req.Charges, ExpiresAt: now.Add(s.ttl), CreatedAt: now, UpdatedAt: now,
		}
		var cerr CartError
		for _, ci := range req.Cart.Items {
			fail := func(err error, avail int64) {
				cerr.Items = append(cerr.Items, ItemError{RetailerID: ci.RetailerID, Err: err, Available: avail})
			}
			p, err := s.st.ProductByRetailerID(ctx, req.Cart.CatalogID, ci.RetailerID)
			if isNotFound(err) {
				fail(ErrUnknownProduct, 0)
				continue
			}
			if err != nil {
				return err
			}
			if ci.Price.Currency != p.Currency || (ord.Currency != "" && p.Currency != ord.Currency) {
				fail(ErrCurrencyMismatch, 0)
				continue
			}
			ord.Currency = p.Currency
			av := p.Availability()
			if !av.orderable() {
				fail(ErrUnavailable, 0)
				continue
			}
			it := OrderItem{ProductID: p.ID, RetailerID: p.RetailerID, Name: p.Name, Quantity: ci.Quantity,
				Price: p.Price, SalePrice: p.SalePrice, SeenPrice: ci.Price.Amount}
			if free, tracked := p.Free(); tracked && !av.madeToOrder() {
				if free < ci.Quantity {
					fail(ErrInsufficientStock, free)
					continue
				}
				it.Reserved = ci.Quantity
			}
			ord.Items = append(ord.Items, it)
		}
		if len(cerr.Items) > 0 {
			return &cerr
		}
		if err := ord.computeTotals(); err != nil {
			return err
		}
		if err := s.insert(ctx, &ord, req.ReferenceID); err != nil {
			return err
		}
		for _, it := range ord.Items {
			if it.Reserved > 0 {
				if err := s.st.Reserve(ctx, ord.ReferenceID, it.ProductID, it.Reserved); err != nil {
					return err
				}
			}
		}
		if err := s.emit(ctx, OrderEvent{Order: ord}); err != nil {
			return err
		}
		out = ord
		return nil
	})
	if errors.Is(err, ErrDuplicate) {
		return out, err
	}
	if err != nil {
		return Order{}, err
	}
	s.log.Debug("order placed", "items", len(out.Items))
	return out, nil
}

// insert stores a new order under the chosen reference or a fresh random
// one.
func (s *Orders) insert(ctx context.Context, ord *Order, ref string) error {
	if ref != "" {
		ord.ReferenceID = ref
		return s.st.InsertOrder(ctx, *ord)
	}
	for attempt := 0; ; attempt++ {
		ord.ReferenceID = newReference()
		err := s.st.InsertOrder(ctx, *ord)
		if err == nil || !errors.Is(err, ErrExists) || attempt == 4 {
			return err
		}
	}
}

// newReference makes a random order reference: 80 bits as 16 characters of
// A-Z and 2-7.
func newReference() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base32.StdEncoding.EncodeToString(b[:])
}

func validatePlace(req PlaceRequest) error {
	if err := checkText(req.Customer, 1, 64, false); err != nil {
		return fmt.Errorf("%w: customer %v", ErrInvalid, err)
	}
	if req.ReferenceID != "" && !referencePattern.MatchString(req.ReferenceID) {
		return fmt.Errorf("%w: reference_id %q is not 1-35 of A-Z a-z 0-9 . _ -", ErrInvalid, clip(req.ReferenceID))
	}
	if err := checkText(req.SourceMessageID, 0, 256, false); err != nil {
		return fmt.Errorf("%w: source message id %v", ErrInvalid, err)
	}
	c := req.Cart
	if c.CatalogID == "" {
		return fmt.Errorf("%w: cart has no catalog", ErrInvalid)
	}
	if err := checkText(c.Text, 0, maxCartText, true); err != nil {
		return fmt.Errorf("%w: cart text %v", ErrInvalid, err)
	}
	if len(c.Items) == 0 || len(c.Items) > MaxCartItems {
		return fmt.Errorf("%w: cart has %d items, want 1 to %d", ErrInvalid, len(c.Items), MaxCartItems)
	}
	seen := make(map[string]bool, len(c.Items))
	for _, it := range c.Items {
		if it.RetailerID == "" || seen[it.RetailerID] {
			return fmt.Errorf("%w: cart item %q is empty or repeated", ErrInvalid, clip(it.RetailerID))
		}
		seen[it.RetailerID] = true
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return fmt.Errorf("%w: cart item %q quantity %d is not 1 to %d", ErrInvalid, clip(it.RetailerID), it.Quantity, MaxQuantity)
		}
		if it.Price.Amount < 0 || it.Price.Amount > MaxAmount {
			return fmt.Errorf("%w: cart item %q price %d", ErrInvalidAmount, clip(it.RetailerID), it.Price.Amount)
		}
	}
	return validateCharges(req.Charges)
}

func validateCharges(c Charges) error {
	for _, ch := range [...]struct {
		name string
		c    Charge
	}{{"tax", c.Tax}, {"shipping", c.Shipping}, {"discount", c.Discount}} {
		if ch.c.Amount < 0 || ch.c.Amount > MaxAmount {
			return fmt.Errorf("%w: %s %d is out of range", ErrInvalidAmount, ch.name, ch.c.Amount)
		}
		if err := checkText(ch.c.Description, 0, 60, false); err != nil {
			return fmt.Errorf("%w: %s description %v", ErrInvalid, ch.name, err)
		}
	}
	if err := checkText(c.DiscountProgram, 0, 60, false); err != nil {
		return fmt.Errorf("%w: discount program %v", ErrInvalid, err)
	}
	return nil
}

// computeTotals sets Subtotal = Σ unit price × quantity and Total =
// Subtotal + tax + shipping − discount, refusing overflow and a negative
// total.
func (o *Order) computeTotals() error {
	sub := Money{Currency: o.Currency}
	for _, it := range o.Items {
		line, err := Money{Amount: it.UnitPrice(), Currency: o.Currency}.Mul(it.Quantity)
		if err != nil {
			return err
		}
		if sub, err = sub.Add(line); err != nil {
			return err
		}
	}
	total := sub
	var err error
	for _, step := range [...]struct {
		amount int64
		sign   int64
	}{{o.Charges.Tax.Amount, 1}, {o.Charges.Shipping.Amount, 1}, {o.Charges.Discount.Amount, -1}} {
		total, err = total.Add(Money{Amount: step.sign * step.amount, Currency: o.Currency})
		if err != nil {
			return err
		}
	}
	if total.Amount < 0 {
		return fmt.Errorf("%w: the discount exceeds the order's amount", ErrInvalidAmount)
	}
	o.Subtotal, o.Total = sub.Amount, total.Amount
	return nil
}

// Order returns an order by its reference.
func (s *Orders) Order(ctx context.Context, referenceID string) (Order, error) {
	return s.st.Order(ctx, referenceID)
}

// CustomerOrders lists a customer's orders, newest first.
func (s *Orders) CustomerOrders(ctx context.Context, customer string, limit int) ([]Order, error) {
	return s.st.CustomerOrders(ctx, customer, clampLimit(limit))
}

// errUnchanged tells change that fn decided to change nothing.
var errUnchanged = errors.New("unchanged")

// change applies fn to the stored order in one transaction, stores it and
// tells the subscribers. fn may call the store with its ctx.
func (s *Orders) change(ctx context.Context, ref string, fn func(ctx context.Context, o *Order) error) (Order, error) {
	var out Order
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		prev, err := s.st.Order(ctx, ref)
		if err != nil {
			return err
		}
		o := prev
		o.Items = append([]OrderItem(nil), prev.Items...)
		if err := fn(ctx, &o); err != nil {
			if errors.Is(err, errUnchanged) {
				out = prev
			}
			return err
		}
		o.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		if err := s.st.UpdateOrder(ctx, o); err != nil {
			return err
		}
		if err := s.emit(ctx, OrderEvent{Order: o, Prev: &prev}); err != nil {
			return err
		}
		out = o
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return out, nil
	}
	if err != nil {
		return Order{}, err
	}
	return out, nil
}

// SetStatus moves an order to another status (CheckTransition says which
// moves are allowed), with an optional description for the customer (≤120
// characters). Canceling releases the order's stock; shipping or
// completing an order whose payment was not captured (paid on delivery)
// commits it.
func (s *Orders) SetStatus(ctx context.Context, referenceID string, to OrderStatus, description string) (Order, error) {
	if to == StatusCanceled {
		return s.Cancel(ctx, referenceID, ReasonBusiness, description)
	}
	if err := checkText(description, 0, maxStatusDescription, false); err != nil {
		return Order{}, fmt.Errorf("%w: description %v", ErrInvalid, err)
	}
	return s.change(ctx, referenceID, func(ctx context.Context, o *Order) error {
		if err := CheckTransition(o.Status, to, o.Payment); err != nil {
			return err
		}
		o.Status, o.Description = to, description
		if to == StatusProcessing {
			if o.Stock == StockReleased {
				return s.rereserve(ctx, o)
			}
			return nil
		}
		return s.commit(ctx, o)
	})
}

// Cancel cancels an order (allowed from pending or processing while no
// payment is pending or captured) and releases its stock. reason is kept
// in CancelReason (ReasonCustomer, ReasonBusiness, ...).
func (s *Orders) Cancel(ctx context.Context, referenceID, reason, description string) (Order, error) {
	if err := checkText(description, 0, maxStatusDescription, false); err != nil {
		return Order{}, fmt.Errorf("%w: description %v", ErrInvalid, err)
	}
	if err := checkText(reason, 0, 64, false); err != nil {
		return Order{}, fmt.Errorf("%w: cancel reason %v", ErrInvalid, err)
	}
	return s.change(ctx, referenceID, func(ctx context.Context, o *Order) error {
		if err := CheckTransition(o.Status, StatusCanceled, o.Payment); err != nil {
			return err
		}
		o.Status, o.Description, o.CancelReason = StatusCanceled, description, reason
		return s.release(ctx, o)
	})
}

// SetPayment records what the payment provider reports (CheckPayment says
// which changes are allowed); txID, if not empty, is the provider's
// transaction id.
//
//   - failed: a pending order's stock is released (a retry may take it
//     again); the order stays pending until it expires or is canceled.
//   - pending: an open order whose stock was released takes it again if
//     all of it is still free (otherwise the payment is recorded anyway).
//   - captured: the stock is committed (taken again first if it had been
//     released, stopping at zero) and a pending order moves to processing.
//     A capture of a canceled order changes nothing else: NeedsRefund.
func (s *Orders) SetPayment(ctx context.Context, referenceID string, to PaymentStatus, txID string) (Order, error) {
	if err := checkText(txID, 0, 256, false); err != nil {
		return Order{}, fmt.Errorf("%w: transaction id %v", ErrInvalid, err)
	}
	return s.change(ctx, referenceID, func(ctx context.Context, o *Order) error {
		if err := CheckPayment(o.Payment, to); err != nil {
			return err
		}
		o.Payment = to
		if txID != "" {
			o.PaymentTransactionID = txID
		}
		if o.Status == StatusCanceled {
			return nil
		}
		switch to {
		case PaymentFailed:
			if o.Status == StatusPending {
				return s.release(ctx, o)
			}
		case PaymentPending:
			if o.Stock == StockReleased {
				return s.rereserve(ctx, o)
			}
		case PaymentCaptured:
			if o.Status == StatusPending {
				o.Status = StatusProcessing
			}
			return s.commit(ctx, o)
		}
		return nil
	})
}

// UpdateCharges replaces the tax, shipping and discount of an order that is
// pending and not paid or being paid, and recomputes its total (say, once
// the customer chose delivery).
func (s *Orders) UpdateCharges(ctx context.Context, referenceID string, c Charges) (Order, error) {
	if err := validateCharges(c); err != nil {
		return Order{}, err
	}
	return s.change(ctx, referenceID, func(ctx context.Context, o *Order) error {
		if o.Status != StatusPending || o.Payment == PaymentPending || o.Payment == PaymentCaptured {
			return fmt.Errorf("%w: charges of a %s order with payment %s", ErrInvalidTransition, o.Status, o.Payment)
		}
		o.Charges = c
		return o.computeTotals()
	})
}

func (s *Orders) release(ctx context.Context, o *Order) error {
	if o.Stock != StockHeld {
		return nil
	}
	o.Stock = StockReleased
	return s.st.ReleaseReservations(ctx, o.ReferenceID)
}

// commit makes the order's stock leave the inventory for good.
func (s *Orders) commit(ctx context.Context, o *Order) error {
	switch o.Stock {
	case StockHeld:
		o.Stock = StockCommitted
		return s.st.CommitReservations(ctx, o.ReferenceID)
	case StockReleased:
		o.Stock = StockCommitted
		for _, it := range o.Items {
			if it.Reserved > 0 && it.ProductID != "" {
				if err := s.st.TakeStock(ctx, it.ProductID, it.Reserved); err != nil && !isNotFound(err) {
					return err
				}
			}
		}
	}
	return nil
}

// rereserve holds a released order's stock again if all of it is free.
func (s *Orders) rereserve(ctx context.Context, o *Order) error {
	for _, it := range o.Items {
		if it.Reserved == 0 || it.ProductID == "" {
			continue
		}
		p, err := s.st.Product(ctx, it.ProductID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if free, tracked := p.Free(); tracked && free < it.Reserved {
			return nil
		}
	}
	for _, it := range o.Items {
		if it.Reserved > 0 && it.ProductID != "" {
			err := s.st.Reserve(ctx, o.ReferenceID, it.ProductID, it.Reserved)
			if err != nil && !isNotFound(err) {
				return err
			}
		}
	}
	o.Stock = StockHeld
	return nil
}

// ExpireDue cancels the pending orders that were not paid (payment none or
// failed) by their ExpiresAt, releasing their stock, and returns how many
// it canceled. Run calls it periodically.
func (s *Orders) ExpireDue(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.now()
		refs, err := s.st.DueOrders(ctx, now, 100)
		if err != nil {
			return n, err
		}
		changed := 0
		for _, ref := range refs {
			expired := false
			_, err := s.change(ctx, ref, func(ctx context.Context, o *Order) error {
				// Checked again in the transaction: a payment may have
				// started since DueOrders looked.
				if o.Status != StatusPending || (o.Payment != PaymentNone && o.Payment != PaymentFailed) || o.ExpiresAt.After(now) {
					return errUnchanged
				}
				o.Status, o.CancelReason = StatusCanceled, ReasonExpired
				expired = true
				return s.release(ctx, o)
			})
			if err != nil {
				return n, err
			}
			if expired {
				n++
				changed++
			}
		}
		if len(refs) < 100 || changed == 0 {
			return n, nil
		}
	}
}

// Run expires unpaid orders every SweepInterval until ctx ends.
func (s *Orders) Run(ctx context.Context) error {
	t := time.NewTicker(s.sweep)
	defer t.Stop()
	for {
		if n, err := s.ExpireDue(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("expiring unpaid orders failed", "err", err)
		} else if n > 0 {
			s.log.Info("expired unpaid orders", "orders", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
