package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The errors a tool returns for the situations the bot answers differently
// from a failure. The agent's adapters map the commerce and payment errors
// onto these (errors.Is).
var (
	// ErrNotFound: no such product, order or payment.
	ErrNotFound = errors.New("bot: not found")
	// ErrOutOfStock: an order asked for more than is available. A tool may
	// return an *OutOfStockError to say which item and how many are left.
	ErrOutOfStock = errors.New("bot: out of stock")
	// ErrNotCancelable: the order is paid, shipped or already canceled.
	ErrNotCancelable = errors.New("bot: order cannot be canceled")
	// ErrNoPayment: the business has no payment method for this currency.
	ErrNoPayment = errors.New("bot: no payment method")
	// ErrConflict: a conversation was saved by someone else since it was
	// loaded (StateStore.Save).
	ErrConflict = errors.New("bot: conversation changed concurrently")
)

// OutOfStockError names the item an order could not reserve.
type OutOfStockError struct {
	RetailerID string
	Available  int
}

func (e *OutOfStockError) Error() string {
	return fmt.Sprintf("bot: out of stock: %s (%d available)", e.RetailerID, e.Available)
}

// Is makes errors.Is(err, ErrOutOfStock) true.
func (e *OutOfStockError) Is(target error) bool { return target == ErrOutOfStock }

// Tools is everything the bot reads and does in the business's systems. The
// agent wires the commerce store, the payment provider and its human-agent
// queue into it. Every price and stock figure the bot ever states comes from
// here; the bot keeps none of its own.
type Tools struct {
	Business Business
	Catalog  Catalog
	Orders   Orders
	Payments Payments
	Staff    Staff
}

// Business answers questions about the business itself.
type Business interface {
	Profile(ctx context.Context) (Profile, error)
	// Hours says whether the business is open at now and when that changes.
	Hours(ctx context.Context, now time.Time) (Hours, error)
	// FAQ lists the business's own questions and answers. The bot indexes
	// them itself and refreshes its index every Options.FAQRefresh.
	FAQ(ctx context.Context) ([]FAQEntry, error)
}

// Catalog is the product catalog with live stock.
type Catalog interface {
	// Search returns up to limit products matching query, best first; an
	// empty query lists the catalog. The bot re-ranks what it gets, so a
	// plain substring match is enough here.
	Search(ctx context.Context, query string, limit int) ([]Product, error)
	// Product returns the product with that retailer id, or ErrNotFound.
	Product(ctx context.Context, retailerID string) (Product, error)
	// Stock is the number of units that can be ordered now (inventory less
	// reservations), or ErrNotFound.
	Stock(ctx context.Context, retailerID string) (int, error)
}

// Orders creates and looks up orders. Create reserves the stock.
type Orders interface {
	Create(ctx context.Context, req OrderRequest) (Order, error)
	// Get returns the customer's order with that reference, or ErrNotFound
	// (also for another customer's order).
	Get(ctx context.Context, customer, reference string) (Order, error)
	// Recent lists the customer's orders, newest first.
	Recent(ctx context.Context, customer string, limit int) ([]Order, error)
	// Cancel cancels the customer's order and releases its stock, or
	// returns ErrNotCancelable / ErrNotFound.
	Cancel(ctx context.Context, customer, reference string) (Order, error)
}

// Payments creates the payment the customer pays an order with.
type Payments interface {
	// Create returns a PIX code or UPI link for the order's total, or
	// ErrNoPayment when the business cannot take method.
	Create(ctx context.Context, order Order, method PaymentMethod) (Payment, error)
}

// Staff is the business's human agents.
type Staff interface {
	// Handoff puts the conversation in the human agents' queue. The bot
	// stays silent in that conversation until Engine.EndHandoff.
	Handoff(ctx context.Context, req HandoffRequest) error
}

// Profile is the business profile.
type Profile struct {
	Name        string
	Description string
	Address     string
	Email       string
	Website     string
	Phone       string
	// Latitude and Longitude, when both are set (non-zero), let the bot send
	// a location message with the address.
	Latitude, Longitude float64
	// Country is ISO 3166-1 alpha-2 ("BR", "IN"); Currency ISO 4217. They
	// choose the payment method: PIX for BR/BRL, UPI for IN/INR.
	Country  string
	Currency string
	// Lang is the language the bot answers in until the customer's own is
	// clear ("en", "pt", "de", "id"); English when empty.
	Lang Lang
	// CatalogID, when set, makes the bot send product_list messages the
	// customer can add to a cart from.
	CatalogID string
	// Delivery and Pickup say how orders reach the customer; with neither
	// set both are offered.
	Delivery, Pickup bool
}

// Hours is the business's opening state at a moment.
type Hours struct {
	Open bool
	// ClosesAt is when the current opening ends (zero if unknown).
	ClosesAt time.Time
	// NextOpen is the next opening after now when closed (zero if none is
	// scheduled).
	NextOpen time.Time
	// Holiday names today's holiday when that is why the business is closed.
	Holiday string
	// Week is the regular weekly schedule, for "what are your hours?".
	Week []DayHours
	// Zone is the business's time zone (IANA); when nil, the zone of
	// ClosesAt or NextOpen.
	Zone *time.Location
}

// DayHours is one opening interval of the weekly schedule, in the
// business's time zone, "HH:MM".
type DayHours struct {
	Day           time.Weekday
	Opens, Closes string
}

// FAQEntry is one of the business's questions and answers. Entries with the
// same ID are translations of each other; the bot answers in the customer's
// language when a translation exists.
type FAQEntry struct {
	ID       string
	Lang     Lang // empty: detected from the question
	Question string
	Answer   string
	Keywords []string // extra words customers use for it
}

// Product is a catalog product. Price is in minor units of Currency.
type Product struct {
	RetailerID  string
	Name        string
	Description string
	Price       int64
	Currency    string
}

// Fulfilment is how an order reaches the customer.
type Fulfilment string

// The fulfilment options.
const (
	Delivery Fulfilment = "delivery"
	Pickup   Fulfilment = "pickup"
)

// OrderRequest is what the customer confirmed.
type OrderRequest struct {
	Customer   string // wa_id
	Items      []OrderItem
	Fulfilment Fulfilment
	Address    string // for delivery
	Currency   string
	// Total is the amount the customer confirmed; the bot cancels and asks
	// again when the created order's total differs.
	Total int64
}

// OrderItem is one line of an order request.
type OrderItem struct {
	RetailerID string
	Quantity   int
}

// Order is an order as the commerce store has it.
type Order struct {
	Reference  string // unique, the order_details reference_id
	Customer   string
	Status     OrderStatus
	Payment    PaymentStatus
	Items      []OrderLine
	Currency   string
	Subtotal   int64
	Shipping   int64
	Total      int64
	Fulfilment Fulfilment
	CreatedAt  time.Time
	// ExpiresAt is when an unpaid order's reservation lapses (zero: never).
	ExpiresAt time.Time
}

// OrderLine is one line of an order with the price the order was made at.
type OrderLine struct {
	RetailerID string
	Name       string
	Quantity   int
	UnitPrice  int64
}

// OrderStatus takes the Cloud API's order_status values.
type OrderStatus string

// The order statuses of the Cloud API.
const (
	OrderPending          OrderStatus = "pending"
	OrderProcessing       OrderStatus = "processing"
	OrderPartiallyShipped OrderStatus = "partially_shipped"
	OrderShipped          OrderStatus = "shipped"
	OrderCompleted        OrderStatus = "completed"
	OrderCanceled         OrderStatus = "canceled"
)

// PaymentStatus takes the Cloud API's payment status values.
type PaymentStatus string

// The payment statuses of the Cloud API.
const (
	PaymentPending  PaymentStatus = "pending"
	PaymentCaptured PaymentStatus = "captured"
	PaymentFailed   PaymentStatus = "failed"
)

// PaymentMethod is how a customer pays.
type PaymentMethod string

// The in-chat payment methods.
const (
	PIX PaymentMethod = "pix"
	UPI PaymentMethod = "upi"
)

// Payment is what the customer needs to pay an order.
type Payment struct {
	Method PaymentMethod
	// PIX: the BR Code ("copia e cola") and the receiver's details that
	// order_details shows.
	Code         string
	MerchantName string
	Key          string
	KeyType      string // CPF, CNPJ, EMAIL, PHONE, EVP
	// UPI: the upi://pay intent link.
	Link      string
	ExpiresAt time.Time
}

// HandoffReason says why a conversation went to a person.
type HandoffReason string

// The handoff reasons.
const (
	HandoffRequested     HandoffReason = "requested"
	HandoffLowConfidence HandoffReason = "low_confidence"
	HandoffComplaint     HandoffReason = "complaint"
	HandoffError         HandoffReason = "error"
)

// HandoffRequest is what the human agent gets: who, why, and the recent
// conversation so the customer need not repeat themselves.
type HandoffRequest struct {
	Customer   string
	Reason     HandoffReason
	Summary    string
	Lang       Lang
	Transcript []Turn
	// Closed is true when the business is closed; NextOpen says when a
	// person can answer.
	Closed   bool
	NextOpen time.Time
}
