package commerce

import (
	"fmt"
	"time"
)

// OrderStatus is the Cloud API's order status (order_details and
// order_status messages).
type OrderStatus string

// The order statuses. An order starts pending.
const (
	StatusPending          OrderStatus = "pending"
	StatusProcessing       OrderStatus = "processing"
	StatusPartiallyShipped OrderStatus = "partially_shipped"
	StatusShipped          OrderStatus = "shipped"
	StatusCompleted        OrderStatus = "completed"
	StatusCanceled         OrderStatus = "canceled"
)

// OrderStatuses lists every status, in the order an order moves through
// them (canceled last).
var OrderStatuses = []OrderStatus{StatusPending, StatusProcessing, StatusPartiallyShipped, StatusShipped, StatusCompleted, StatusCanceled}

// Valid reports whether s is one of the statuses.
func (s OrderStatus) Valid() bool {
	switch s {
	case StatusPending, StatusProcessing, StatusPartiallyShipped, StatusShipped, StatusCompleted, StatusCanceled:
		return true
	}
	return false
}

// ParseOrderStatus accepts a status, also in the spelling
// "partially-shipped" some of Meta's India pages use.
func ParseOrderStatus(s string) (OrderStatus, error) {
	if s == "partially-shipped" {
		return StatusPartiallyShipped, nil
	}
	if st := OrderStatus(s); st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("%w: order status %q", ErrInvalid, clip(s))
}

// PaymentStatus is the state of an order's payment. The Cloud API's
// payment statuses are pending, captured and failed; none means no payment
// has been started.
type PaymentStatus string

// The payment statuses.
const (
	PaymentNone     PaymentStatus = "none"
	PaymentPending  PaymentStatus = "pending"
	PaymentCaptured PaymentStatus = "captured"
	PaymentFailed   PaymentStatus = "failed"
)

// PaymentStatuses lists every payment status.
var PaymentStatuses = []PaymentStatus{PaymentNone, PaymentPending, PaymentCaptured, PaymentFailed}

// Valid reports whether p is one of the payment statuses.
func (p PaymentStatus) Valid() bool {
	switch p {
	case PaymentNone, PaymentPending, PaymentCaptured, PaymentFailed:
		return true
	}
	return false
}

// StockState says what an order does to inventory.
type StockState string

// The stock states. An order holds its items from the moment it is placed.
const (
	// StockHeld: the order's tracked items are reserved.
	StockHeld StockState = "held"
	// StockReleased: the reservations were given back (canceled, payment
	// failed, expired).
	StockReleased StockState = "released"
	// StockCommitted: the items left the inventory for good.
	StockCommitted StockState = "committed"
)

// Charge is a tax, shipping or discount line of an order, in minor units of
// the order's currency.
type Charge struct {
	Amount      int64  `json:"amount"`
	Description string `json:"description,omitempty"`
}

// Charges are what an order adds to or takes from its subtotal.
type Charges struct {
	Tax      Charge `json:"tax"`
	Shipping Charge `json:"shipping"`
	Discount Charge `json:"discount"`
	// DiscountProgram is the order_details discount_program_name.
	DiscountProgram string `json:"discount_program,omitempty"`
}

// Order is a customer's order.
type Order struct {
	// ReferenceID is unique; order_details, order_status and payments name
	// the order by it.
	ReferenceID string `json:"reference_id"`
	CatalogID   string `json:"catalog_id,omitempty"`
	// Customer is the customer's wa_id (E.164 without '+').
	Customer string `json:"customer"`
	// SourceMessageID is the id of the message (the cart) the order was
	// placed from, if any: placing again from it returns this order.
	SourceMessageID string `json:"source_message_id,omitempty"`
	// Note is the text the customer sent with the cart.
	Note string `json:"note,omitempty"`

	Status  OrderStatus   `json:"status"`
	Payment PaymentStatus `json:"payment"`
	Stock   StockState    `json:"stock"`
	// Description is the latest status description for the customer
	// (order_status description, ≤120 characters).
	Description string `json:"description,omitempty"`
	// CancelReason says why an order was canceled: ReasonExpired,
	// ReasonCustomer, ReasonBusiness, or what the canceler gave.
	CancelReason string `json:"cancel_reason,omitempty"`
	// PaymentTransactionID is the payment provider's id of the latest
	// payment event, if it gave one.
	PaymentTransactionID string `json:"payment_transaction_id,omitempty"`

	Currency Currency    `json:"currency"`
	Items    []OrderItem `json:"items"`
	Charges  Charges     `json:"charges"`
	// Subtotal is Σ items' UnitPrice × Quantity; Total = Subtotal + tax +
	// shipping − discount.
	Subtotal int64 `json:"subtotal"`
	Total    int64 `json:"total"`

	// ExpiresAt is when a pending order still unpaid is canceled and its
	// stock released.
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OrderItem is one line of an order, a copy of the product as it was when
// the order was placed.
type OrderItem struct {
	// ProductID is empty once the product has been deleted.
	ProductID  string `json:"product_id,omitempty"`
	RetailerID string `json:"retailer_id"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	// Price and SalePrice are the product's prices when the order was
	// placed (order_details amount and sale_amount).
	Price     int64  `json:"price"`
	SalePrice *int64 `json:"sale_price,omitempty"`
	// SeenPrice is the unit price the customer's cart showed.
	SeenPrice int64 `json:"seen_price"`
	// Reserved is how many items the order holds in stock: Quantity for a
	// product with tracked inventory, 0 otherwise (untracked, preorder).
	Reserved int64 `json:"reserved"`
}

// UnitPrice is what the order charges for one item.
func (it OrderItem) UnitPrice() int64 {
	if it.SalePrice != nil {
		return *it.SalePrice
	}
	return it.Price
}

// Cancel reasons the package sets.
const (
	ReasonExpired  = "expired"
	ReasonCustomer = "customer"
	ReasonBusiness = "business"
)

// PriceChanged lists the items whose price differs from what the
// customer's cart showed: the order charges the current price, so the
// business should say so before the customer pays.
func (o Order) PriceChanged() []OrderItem {
	var out []OrderItem
	for _, it := range o.Items {
		if it.UnitPrice() != it.SeenPrice {
			out = append(out, it)
		}
	}
	return out
}

// NeedsRefund reports an order that was canceled but whose payment was
// captured afterwards (a late Pix payment of an expired order): the
// business has the money and no order to fulfil.
func (o Order) NeedsRefund() bool {
	return o.Status == StatusCanceled && o.Payment == PaymentCaptured
}

// Open reports whether the order can still change status.
func (o Order) Open() bool { return o.Status != StatusCompleted && o.Status != StatusCanceled }

// statusNext lists, for each status, the statuses it may move to. Orders
// move forward; partially_shipped may repeat (one more partial shipment);
// shipping steps may be skipped once processing (digital goods complete at
// once). Canceling is further limited by the payment (CheckTransition).
var statusNext = map[OrderStatus][]OrderStatus{
	StatusPending:          {StatusProcessing, StatusCanceled},
	StatusProcessing:       {StatusPartiallyShipped, StatusShipped, StatusCompleted, StatusCanceled},
	StatusPartiallyShipped: {StatusPartiallyShipped, StatusShipped, StatusCompleted},
	StatusShipped:          {StatusCompleted},
	StatusCompleted:        nil,
	StatusCanceled:         nil,
}

// CheckTransition reports whether an order in status from with payment pay
// may move to status to: ErrInvalidTransition if not. Meta's rule for
// canceling applies: only from pending or processing, and not while the
// payment is pending or captured.
func CheckTransition(from, to OrderStatus, pay PaymentStatus) error {
	if !to.Valid() {
		return fmt.Errorf("%w: %q is not an order status", ErrInvalid, string(to))
	}
	allowed := false
	for _, s := range statusNext[from] {
		allowed = allowed || s == to
	}
	if !allowed {
		return fmt.Errorf("%w: %s → %s", ErrInvalidTransition, from, to)
	}
	if to == StatusCanceled && (pay == PaymentPending || pay == PaymentCaptured) {
		return fmt.Errorf("%w: cannot cancel an order whose payment is %s", ErrInvalidTransition, pay)
	}
	return nil
}

// paymentNext lists the payment changes providers may report. A failed
// payment may be retried or still succeed; a captured one is final
// (refunds are not modelled yet).
var paymentNext = map[PaymentStatus][]PaymentStatus{
	PaymentNone:     {PaymentPending, PaymentCaptured, PaymentFailed},
	PaymentPending:  {PaymentCaptured, PaymentFailed},
	PaymentFailed:   {PaymentPending, PaymentCaptured},
	PaymentCaptured: nil,
}

// CheckPayment reports whether a payment may move from from to to.
func CheckPayment(from, to PaymentStatus) error {
	if !to.Valid() {
		return fmt.Errorf("%w: %q is not a payment status", ErrInvalid, string(to))
	}
	for _, s := range paymentNext[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("%w: payment %s → %s", ErrInvalidTransition, from, to)
}
