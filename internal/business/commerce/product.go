package commerce

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Availability is Meta's product availability enum (the product-item
// reference spells the values with spaces).
type Availability string

// The values Meta's catalog accepts.
const (
	InStock             Availability = "in stock"
	OutOfStock          Availability = "out of stock"
	Preorder            Availability = "preorder"
	AvailableForOrder   Availability = "available for order"
	Discontinued        Availability = "discontinued"
	AvailabilityPending Availability = "pending"
	MarkAsSold          Availability = "mark_as_sold"
)

// Valid reports whether a is one of Meta's values.
func (a Availability) Valid() bool {
	switch a {
	case InStock, OutOfStock, Preorder, AvailableForOrder, Discontinued, AvailabilityPending, MarkAsSold:
		return true
	}
	return false
}

// orderable: a customer may put it in an order.
func (a Availability) orderable() bool {
	return a == InStock || a == Preorder || a == AvailableForOrder
}

// madeToOrder: ordering it does not need stock on hand, so the order
// neither checks nor reserves inventory.
func (a Availability) madeToOrder() bool { return a == Preorder || a == AvailableForOrder }

// Condition is Meta's product condition.
type Condition string

// The conditions Meta's catalog accepts.
const (
	New         Condition = "new"
	Refurbished Condition = "refurbished"
	Used        Condition = "used"
)

// Valid reports whether c is one of Meta's values.
func (c Condition) Valid() bool { return c == New || c == Refurbished || c == Used }

// Catalog is a product catalog. Its id is what messages and the Graph API
// name it by (a decimal string).
type Catalog struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Product is one item of a catalog.
type Product struct {
	// ID is the product item id (a decimal string) the Graph API uses.
	ID        string `json:"id"`
	CatalogID string `json:"catalog_id"`
	// RetailerID is the merchant's SKU, unique in the catalog: messages and
	// carts name products by it (product_retailer_id).
	RetailerID          string   `json:"retailer_id"`
	Name                string   `json:"name"`
	Description         string   `json:"description,omitempty"`
	Brand               string   `json:"brand,omitempty"`
	URL                 string   `json:"url,omitempty"`
	ImageURL            string   `json:"image_url,omitempty"`
	AdditionalImageURLs []string `json:"additional_image_urls,omitempty"`

	Currency Currency `json:"currency"`
	// Price and SalePrice are minor units of Currency. A nil SalePrice
	// means no sale; while set, it is what an order charges.
	Price     int64  `json:"price"`
	SalePrice *int64 `json:"sale_price,omitempty"`

	// Inventory is the stock on hand, nil when the business does not track
	// it (then any quantity may be ordered). It includes items reserved by
	// orders that are not paid yet; Free subtracts them.
	Inventory *int64 `json:"inventory,omitempty"`
	// Reserved is the quantity held by open orders. Stores compute it; it
	// is ignored on writes.
	Reserved int64 `json:"reserved"`
	// SetAvailability is the availability the business set explicitly; ""
	// derives it from the free stock (Availability).
	SetAvailability Availability `json:"set_availability,omitempty"`

	Condition              Condition `json:"condition,omitempty"`
	Category               string    `json:"category,omitempty"`
	RetailerProductGroupID string    `json:"retailer_product_group_id,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Free is the quantity a new order may take: inventory minus reservations,
// never below zero. ok is false when inventory is not tracked.
func (p Product) Free() (n int64, ok bool) {
	if p.Inventory == nil {
		return 0, false
	}
	return max(*p.Inventory-p.Reserved, 0), true
}

// Availability is the product's availability: the one set explicitly, or
// else "in stock" while there is free stock (or stock is not tracked) and
// "out of stock" otherwise.
func (p Product) Availability() Availability {
	if p.SetAvailability != "" {
		return p.SetAvailability
	}
	if n, ok := p.Free(); ok && n == 0 {
		return OutOfStock
	}
	return InStock
}

// UnitPrice is what one item costs now: the sale price if set, else the
// price.
func (p Product) UnitPrice() Money {
	if p.SalePrice != nil {
		return Money{Amount: *p.SalePrice, Currency: p.Currency}
	}
	return Money{Amount: p.Price, Currency: p.Currency}
}

// Field limits, in characters. Meta's catalog documents most of them.
const (
	maxRetailerID  = 100
	maxProductName = 200
	maxDescription = 9999
	maxBrand       = 100
	maxURL         = 2000
	maxExtraImages = 20
	maxCategory    = 250
	maxCatalogName = 100
	maxInventory   = 1_000_000_000
)

// validate checks the fields a business sets and normalizes Condition.
func (p *Product) validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if err := checkText(p.RetailerID, 1, maxRetailerID, false); err != nil {
		bad("retailer_id %v", err)
	}
	if err := checkText(p.Name, 1, maxProductName, false); err != nil {
		bad("name %v", err)
	}
	if err := checkText(p.Description, 0, maxDescription, true); err != nil {
		bad("description %v", err)
	}
	if err := checkText(p.Brand, 0, maxBrand, false); err != nil {
		bad("brand %v", err)
	}
	if err := checkText(p.Category, 0, maxCategory, false); err != nil {
		bad("category %v", err)
	}
	if err := checkText(p.RetailerProductGroupID, 0, maxRetailerID, false); err != nil {
		bad("retailer_product_group_id %v", err)
	}
	for _, f := range [...]struct{ name, u string }{{"url", p.URL}, {"image_url", p.ImageURL}} {
		if f.u != "" {
			if err := checkURL(f.u); err != nil {
				bad("%s %v", f.name, err)
			}
		}
	}
	if len(p.AdditionalImageURLs) > maxExtraImages {
		bad("additional_image_urls has more than %d entries", maxExtraImages)
	}
	for _, u := range p.AdditionalImageURLs {
		if err := checkURL(u); err != nil {
			bad("additional_image_urls %v", err)
			break
		}
	}
	if !p.Currency.Valid() {
		bad("currency %q is not an ISO 4217 code", string(p.Currency))
	}
	if p.Price < 0 || p.Price > MaxAmount {
		bad("price %d is out of range", p.Price)
	}
	if p.SalePrice != nil && (*p.SalePrice < 0 || *p.SalePrice > p.Price) {
		bad("sale_price %d is not between 0 and the price", *p.SalePrice)
	}
	if p.Inventory != nil && (*p.Inventory < 0 || *p.Inventory > maxInventory) {
		bad("inventory %d is out of range", *p.Inventory)
	}
	if p.SetAvailability != "" && !p.SetAvailability.Valid() {
		bad("availability %q is not one of Meta's values", string(p.SetAvailability))
	}
	if p.Condition == "" {
		p.Condition = New
	} else if !p.Condition.Valid() {
		bad("condition %q is not new, refurbished or used", string(p.Condition))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// checkText checks a length in characters, valid UTF-8 and no control
// characters (newlines only where multiline).
func checkText(s string, minLen, maxLen int, multiline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	n := utf8.RuneCountInString(s)
	if n < minLen {
		if minLen == 1 {
			return fmt.Errorf("is empty")
		}
		return fmt.Errorf("is shorter than %d characters", minLen)
	}
	if n > maxLen {
		return fmt.Errorf("is longer than %d characters", maxLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return fmt.Errorf("contains a control character")
		}
	}
	return nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(s string) error {
	if len(s) > maxURL {
		return fmt.Errorf("is longer than %d characters", maxURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", clip(s))
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q contains white space", clip(s))
	}
	return nil
}
