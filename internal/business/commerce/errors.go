package commerce

import "errors"

// Sentinel errors. Every error this package returns for a condition a caller
// can act on wraps one of them; the API edge maps them to Graph error codes.
var (
	// ErrNotFound: no catalog, product, order or FAQ entry with that id.
	// Stores return errors matching it too.
	ErrNotFound = errors.New("commerce: not found")
	// ErrExists: the id or retailer_id is already taken. Stores return
	// errors matching it for unique-key violations.
	ErrExists = errors.New("commerce: already exists")
	// ErrInvalid: an argument is malformed or out of range; nothing changed.
	ErrInvalid = errors.New("commerce: invalid argument")
	// ErrInvalidAmount: a money amount is malformed, negative, has more
	// precision than its currency, or is too large. It matches ErrInvalid.
	ErrInvalidAmount error = &subError{"commerce: invalid amount", ErrInvalid}
	// ErrUnknownCurrency: not an ISO 4217 code this package knows. It
	// matches ErrInvalid.
	ErrUnknownCurrency error = &subError{"commerce: unknown currency", ErrInvalid}

	// ErrUnknownProduct: a cart item names no product of the catalog.
	ErrUnknownProduct = errors.New("commerce: no such product in the catalog")
	// ErrUnavailable: the product cannot be ordered (out of stock,
	// discontinued, ...) whatever the quantity.
	ErrUnavailable = errors.New("commerce: product unavailable")
	// ErrInsufficientStock: fewer items are free than the cart asks for.
	ErrInsufficientStock = errors.New("commerce: insufficient stock")
	// ErrCurrencyMismatch: a cart item's currency is not its product's, or
	// the products of one order are priced in different currencies.
	ErrCurrencyMismatch = errors.New("commerce: currency mismatch")

	// ErrInvalidTransition: the order's status or payment status cannot
	// change that way (e.g. canceling a shipped order, or one whose payment
	// is pending or captured). Nothing changed.
	ErrInvalidTransition = errors.New("commerce: invalid order transition")
	// ErrDuplicate: an order was already placed from this message; the
	// order returned beside it is that one.
	ErrDuplicate = errors.New("commerce: order already placed from this message")
)

// subError is a sentinel that also matches a broader one.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }
