package commerce

import (
	"encoding/json"
	"strconv"
)

// The Cloud API's interactive order_details (action review_and_pay) and
// order_status (action review_order) carry an order as below; OrderDetails
// and OrderStatusParameters build them from an Order so that the bot, the
// agent and the REST side show the same numbers. The payment part
// (payment_type, payment_settings or payment_configuration) is the payment
// package's to fill.

// Amount is the Cloud API's money object: Value/Offset major units.
type Amount struct {
	Value               int64  `json:"value"`
	Offset              int64  `json:"offset"`
	Description         string `json:"description,omitempty"`
	DiscountProgramName string `json:"discount_program_name,omitempty"`
}

// DetailsItem is one item of an order_details order.
type DetailsItem struct {
	RetailerID string  `json:"retailer_id"`
	Name       string  `json:"name"`
	Amount     Amount  `json:"amount"`
	SaleAmount *Amount `json:"sale_amount,omitempty"`
	Quantity   int64   `json:"quantity"`
}

// Expiration is when an order_details offer lapses (unix seconds, as a
// string; Meta wants it at least 300 s ahead).
type Expiration struct {
	Timestamp   string `json:"timestamp"`
	Description string `json:"description,omitempty"`
}

// DetailsOrder is the "order" object of order_details.
type DetailsOrder struct {
	Status     OrderStatus   `json:"status"`
	CatalogID  string        `json:"catalog_id,omitempty"`
	Expiration *Expiration   `json:"expiration,omitempty"`
	Items      []DetailsItem `json:"items"`
	Subtotal   Amount        `json:"subtotal"`
	Tax        Amount        `json:"tax"`
	Shipping   *Amount       `json:"shipping,omitempty"`
	Discount   *Amount       `json:"discount,omitempty"`
}

// DetailsParameters is action.parameters of order_details.
type DetailsParameters struct {
	ReferenceID          string            `json:"reference_id"`
	Type                 string            `json:"type"`
	PaymentType          string            `json:"payment_type,omitempty"`
	PaymentSettings      []json.RawMessage `json:"payment_settings,omitempty"`
	PaymentConfiguration string            `json:"payment_configuration,omitempty"`
	Currency             Currency          `json:"currency"`
	TotalAmount          Amount            `json:"total_amount"`
	Order                *DetailsOrder     `json:"order,omitempty"`
}

// Goods types of order_details.
const (
	PhysicalGoods = "physical-goods"
	DigitalGoods  = "digital-goods"
)

// OrderDetails builds the order_details parameters of o (the full form,
// with items), for goods of type goodsType. total_amount = subtotal + tax +
// shipping − discount, and subtotal = Σ (sale_amount or amount) × quantity,
// as Meta checks. A pending order's expiration is its ExpiresAt.
func OrderDetails(o Order, goodsType string) DetailsParameters {
	scale := o.Currency.Scale()
	amt := func(v int64) Amount { return Amount{Value: v, Offset: scale} }
	d := &DetailsOrder{Status: o.Status, CatalogID: o.CatalogID, Subtotal: amt(o.Subtotal),
		Tax: Amount{Value: o.Charges.Tax.Amount, Offset: scale, Description: o.Charges.Tax.Description}}
	if o.Status == StatusPending && !o.ExpiresAt.IsZero() {
		d.Expiration = &Expiration{Timestamp: strconv.FormatInt(o.ExpiresAt.Unix(), 10)}
	}
	for _, it := range o.Items {
		di := DetailsItem{RetailerID: it.RetailerID, Name: it.Name, Amount: amt(it.Price), Quantity: it.Quantity}
		if it.SalePrice != nil {
			sa := amt(*it.SalePrice)
			di.SaleAmount = &sa
		}
		d.Items = append(d.Items, di)
	}
	if c := o.Charges.Shipping; c.Amount > 0 || c.Description != "" {
		d.Shipping = &Amount{Value: c.Amount, Offset: scale, Description: c.Description}
	}
	if c := o.Charges.Discount; c.Amount > 0 || c.Description != "" {
		d.Discount = &Amount{Value: c.Amount, Offset: scale, Description: c.Description, DiscountProgramName: o.Charges.DiscountProgram}
	}
	return DetailsParameters{ReferenceID: o.ReferenceID, Type: goodsType, Currency: o.Currency, TotalAmount: amt(o.Total), Order: d}
}

// StatusOrder and StatusPayment are the parts of order_status parameters.
type StatusOrder struct {
	Status      OrderStatus `json:"status"`
	Description string      `json:"description,omitempty"`
}

// StatusPayment is the optional payment block of order_status (Brazil).
type StatusPayment struct {
	Status    PaymentStatus `json:"status"`
	Timestamp int64         `json:"timestamp"`
}

// StatusParameters is action.parameters of order_status.
type StatusParameters struct {
	ReferenceID string         `json:"reference_id"`
	Order       StatusOrder    `json:"order"`
	Payment     *StatusPayment `json:"payment,omitempty"`
}

// OrderStatusParameters builds the order_status parameters of o; the
// payment block is there once a payment has started.
func OrderStatusParameters(o Order) StatusParameters {
	p := StatusParameters{ReferenceID: o.ReferenceID, Order: StatusOrder{Status: o.Status, Description: o.Description}}
	if o.Payment != PaymentNone && o.Payment != "" {
		p.Payment = &StatusPayment{Status: o.Payment, Timestamp: o.UpdatedAt.Unix()}
	}
	return p
}
