// Package payment is the contract between Parley's commerce and payment
// service providers: a Provider creates a charge for an order (returning
// what the customer needs to pay it: a Pix copia-e-cola code or a UPI intent
// link) and reports its status, and tells the platform when a charge is
// captured or fails. Money is integer minor units with an explicit currency;
// there is no floating point anywhere.
//
// The providers live in subpackages: sandbox (the default, which an operator
// or a test settles by hand) builds its codes with pix and upi.
package payment

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors providers and stores return, wrapped or not; test with errors.Is.
var (
	ErrNotFound = errors.New("payment: charge not found")
	// ErrConflict is a request that contradicts what is recorded: a second
	// charge for an order with a live one of another amount, or settling a
	// charge already settled the other way.
	ErrConflict            = errors.New("payment: conflicts with the recorded charge")
	ErrUnsupportedCurrency = errors.New("payment: currency not supported")
	ErrInvalidRequest      = errors.New("payment: invalid request")
)

// Currency is an ISO 4217 code.
type Currency string

const (
	BRL Currency = "BRL" // Pix
	INR Currency = "INR" // UPI
)

// exponents are the minor-unit digits of the currencies payments handle.
var exponents = map[Currency]int{BRL: 2, INR: 2}

// Money is an amount in minor units (centavos, paise) of a currency.
type Money struct {
	Minor    int64
	Currency Currency
}

// Validate accepts a positive amount in a supported currency.
func (m Money) Validate() error {
	if _, ok := exponents[m.Currency]; !ok {
		return fmt.Errorf("%w: %q", ErrUnsupportedCurrency, string(m.Currency))
	}
	if m.Minor <= 0 {
		return fmt.Errorf("%w: amount %d is not positive", ErrInvalidRequest, m.Minor)
	}
	return nil
}

// Offset is what Meta's amount objects divide value by ({"value": 14990,
// "offset": 100} is 149.90): 10 to the currency's exponent.
func (m Money) Offset() int64 {
	o := int64(1)
	for range exponents[m.Currency] {
		o *= 10
	}
	return o
}

// Decimal writes the amount with a dot and the currency's decimals
// ("149.90"), as Pix field 54 and UPI's am want it.
func (m Money) Decimal() string {
	o := m.Offset()
	sign := ""
	v := m.Minor
	if v < 0 {
		sign, v = "-", -v
	}
	if o == 1 {
		return fmt.Sprintf("%s%d", sign, v)
	}
	return fmt.Sprintf("%s%d.%0*d", sign, v/o, exponents[m.Currency], v%o)
}

func (m Money) String() string { return string(m.Currency) + " " + m.Decimal() }

// Status is a charge's state, named as Meta's payment statuses are.
type Status string

const (
	StatusPending  Status = "pending"
	StatusCaptured Status = "captured"
	StatusFailed   Status = "failed"
)

// Final says the status never changes again.
func (s Status) Final() bool { return s == StatusCaptured || s == StatusFailed }

// Method is how the customer pays.
type Method string

const (
	MethodPix Method = "pix"
	MethodUPI Method = "upi"
)

// ChargeID is a provider's identifier of a charge.
type ChargeID string

// ChargeRequest asks for a charge for one order.
type ChargeRequest struct {
	// Reference is the order's reference_id: 1..35 letters, digits, "_",
	// "-" or ".", as Meta's order_details allows. A provider keeps at most
	// one live (pending or captured) charge per reference.
	Reference string
	Amount    Money
	// Description is an optional note for the payer; providers shorten it
	// to what their code has room for.
	Description string
}

// ValidReference checks an order reference against Meta's reference_id
// rules (which also fit UPI's tr).
func ValidReference(ref string) error {
	if ref == "" || len(ref) > 35 {
		return fmt.Errorf("%w: reference is 1..35 characters", ErrInvalidRequest)
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: reference has %q; letters, digits, _ - . only", ErrInvalidRequest, c)
		}
	}
	return nil
}

// Charge is one attempt to collect an order's amount.
type Charge struct {
	ID        ChargeID
	Reference string
	Amount    Money
	Status    Status
	Method    Method
	Pix       PixPayment // Method pix
	UPI       UPIPayment // Method upi
	// FailureReason says why a failed charge failed.
	FailureReason string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PixPayment is what Meta's pix_dynamic_code payment setting carries.
type PixPayment struct {
	Code         string // the BR Code, "Pix copia e cola"
	MerchantName string
	Key          string
	KeyType      string // CPF, CNPJ, EMAIL, PHONE or EVP
}

// UPIPayment is what Meta's upi_intent_link payment setting carries.
type UPIPayment struct {
	Link string // upi://pay?...
}

// Event is one status change of a charge: From was pending, Charge.Status
// is captured or failed.
type Event struct {
	Charge Charge
	From   Status
}

// Notify receives status changes, exactly one call per change, after the
// change is recorded. Calls for different charges may come concurrently.
type Notify func(ctx context.Context, ev Event)

// Provider creates charges and reports their status.
type Provider interface {
	// CreateCharge returns a pending charge for req. Asking again for the
	// same reference and amount returns the live charge instead of a second
	// one (so a retried request is harmless); another amount while a charge
	// is live is ErrConflict.
	CreateCharge(ctx context.Context, req ChargeRequest) (Charge, error)
	// Charge returns a charge as it is now, or ErrNotFound.
	Charge(ctx context.Context, id ChargeID) (Charge, error)
}
