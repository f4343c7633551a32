package commerce

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Cart is what a customer sends to order: the Cloud API's order message
// object, {"catalog_id", "text", "product_items": [{"product_retailer_id",
// "quantity", "item_price", "currency"}]}, with prices in minor units.
type Cart struct {
	CatalogID string     `json:"catalog_id"`
	Text      string     `json:"text,omitempty"`
	Items     []CartItem `json:"items"`
}

// CartItem is one line of a cart.
type CartItem struct {
	RetailerID string `json:"retailer_id"`
	Quantity   int64  `json:"quantity"`
	// Price is the unit price the customer saw, in minor units.
	Price Money `json:"price"`
}

// Cart limits. WhatsApp's own cart holds at most 30 distinct products and
// 99 of each; these leave room for other clients without inviting abuse.
const (
	MaxCartBytes = 64 << 10
	MaxCartItems = 100
	MaxQuantity  = 10_000
	maxCartText  = 1024
)

type cartJSON struct {
	CatalogID    *string `json:"catalog_id"`
	Text         string  `json:"text"`
	ProductItems []struct {
		ProductRetailerID *string     `json:"product_retailer_id"`
		Quantity          json.Number `json:"quantity"`
		ItemPrice         json.Number `json:"item_price"`
		Currency          *string     `json:"currency"`
	} `json:"product_items"`
}

// ParseCart reads a Cloud API order object (the json of a
// BusinessMessage{type:"order"}) from a customer: untrusted bytes. It
// requires catalog_id, 1..MaxCartItems items, each with a retailer id
// (distinct within the cart), an integer quantity 1..MaxQuantity, a known
// currency and an item_price in major units that converts to minor units
// exactly. Unknown fields are ignored. Errors match ErrInvalid.
func ParseCart(data []byte) (Cart, error) {
	if len(data) > MaxCartBytes {
		return Cart{}, fmt.Errorf("%w: order is larger than %d bytes", ErrInvalid, MaxCartBytes)
	}
	var in cartJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return Cart{}, fmt.Errorf("%w: order is not valid JSON: %v", ErrInvalid, err)
	}
	if in.CatalogID == nil || *in.CatalogID == "" {
		return Cart{}, fmt.Errorf("%w: order has no catalog_id", ErrInvalid)
	}
	if err := checkText(*in.CatalogID, 1, 64, false); err != nil {
		return Cart{}, fmt.Errorf("%w: catalog_id %v", ErrInvalid, err)
	}
	if err := checkText(in.Text, 0, maxCartText, true); err != nil {
		return Cart{}, fmt.Errorf("%w: text %v", ErrInvalid, err)
	}
	if len(in.ProductItems) == 0 {
		return Cart{}, fmt.Errorf("%w: order has no product_items", ErrInvalid)
	}
	if len(in.ProductItems) > MaxCartItems {
		return Cart{}, fmt.Errorf("%w: order has more than %d product_items", ErrInvalid, MaxCartItems)
	}
	c := Cart{CatalogID: *in.CatalogID, Text: in.Text, Items: make([]CartItem, 0, len(in.ProductItems))}
	seen := make(map[string]bool, len(in.ProductItems))
	for i, it := range in.ProductItems {
		bad := func(format string, a ...any) (Cart, error) {
			return Cart{}, fmt.Errorf("%w: product_items[%d]: %s", ErrInvalid, i, fmt.Sprintf(format, a...))
		}
		if it.ProductRetailerID == nil {
			return bad("no product_retailer_id")
		}
		rid := *it.ProductRetailerID
		if err := checkText(rid, 1, maxRetailerID, false); err != nil {
			return bad("product_retailer_id %v", err)
		}
		if seen[rid] {
			return bad("product_retailer_id %q appears twice", clip(rid))
		}
		seen[rid] = true
		q, err := strconv.ParseInt(string(it.Quantity), 10, 64)
		if err != nil || q < 1 || q > MaxQuantity {
			return bad("quantity %q is not an integer from 1 to %d", clip(string(it.Quantity)), MaxQuantity)
		}
		if it.Currency == nil {
			return bad("no currency")
		}
		cur, err := ParseCurrency(*it.Currency)
		if err != nil {
			return bad("%v", err)
		}
		if it.ItemPrice == "" {
			return bad("no item_price")
		}
		price, err := ParseDecimal(string(it.ItemPrice), cur)
		if err != nil {
			return bad("item_price: %v", err)
		}
		c.Items = append(c.Items, CartItem{RetailerID: rid, Quantity: q, Price: Money{Amount: price, Currency: cur}})
	}
	return c, nil
}
