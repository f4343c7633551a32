package commerce_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/business/commerce"
)

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// FuzzParseDecimal checks the exact conversion against math/big: a JSON
// number is accepted iff its value in minor units is a whole number from 0
// to MaxAmount, and then equals it.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"30", "30.5", "30.50", "1e2", "0.001", "-1", "1e13", "9999999999999.99",
		"0.000000000000000000001e21", "1E-2", "01", "1.", ".5", "-0", "1e999999999"} {
		f.Add(s, "BRL")
	}
	f.Add("1.5", "JPY")
	f.Add("0.125", "KWD")
	f.Fuzz(func(t *testing.T, s, cur string) {
		c := commerce.Currency(cur)
		got, err := commerce.ParseDecimal(s, c)
		if !c.Valid() {
			if !errors.Is(err, commerce.ErrUnknownCurrency) {
				t.Fatalf("unknown currency %q: %d, %v", cur, got, err)
			}
			return
		}
		if err != nil && !errors.Is(err, commerce.ErrInvalidAmount) {
			t.Fatalf("ParseDecimal(%q) error %v does not match ErrInvalidAmount", s, err)
		}
		if !jsonNumber.MatchString(s) {
			if err == nil {
				t.Fatalf("ParseDecimal(%q) accepted a non-JSON number: %d", s, got)
			}
			return
		}
		// big.Rat would build 10^exponent: keep the reference to sane sizes.
		if i := strings.IndexAny(s, "eE"); i >= 0 && len(strings.TrimLeft(s[i+1:], "+-0")) > 4 {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat rejects JSON number %q", s)
		}
		r.Mul(r, new(big.Rat).SetInt64(c.Scale()))
		want := r.IsInt() && r.Sign() >= 0 && r.Num().IsInt64() && r.Num().Int64() <= commerce.MaxAmount
		if want != (err == nil) {
			t.Fatalf("ParseDecimal(%q, %s) = %d, %v; exact value %s", s, cur, got, err, r.RatString())
		}
		if err == nil && r.Num().Int64() != got {
			t.Fatalf("ParseDecimal(%q, %s) = %d, want %s", s, cur, got, r.RatString())
		}
	})
}

// FuzzParseCart feeds untrusted order objects: ParseCart must not panic,
// and what it accepts must respect every limit.
func FuzzParseCart(f *testing.F) {
	for _, s := range []string{
		`{"catalog_id":"194836987003835","text":"","product_items":[{"product_retailer_id":"di9ozbzfi4","quantity":2,"item_price":30,"currency":"USD"},{"product_retailer_id":"nqryix03ez","quantity":1,"item_price":25,"currency":"USD"}]}`,
		`{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":1,"item_price":30.5,"currency":"BRL"}]}`,
		`{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":1,"item_price":0.001,"currency":"BRL"}]}`,
		`{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":1.5,"item_price":1,"currency":"BRL"}]}`,
		`{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":"2","item_price":"1e2","currency":"JPY"}]}`,
		`{"catalog_id":"1","product_items":[]}`,
		`{"catalog_id":1}`,
		`[]`, `null`, ``, `{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":1,"item_price":-1,"currency":"BRL"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := commerce.ParseCart(data)
		if err != nil {
			if !errors.Is(err, commerce.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if c.CatalogID == "" || len(c.Items) == 0 || len(c.Items) > commerce.MaxCartItems {
			t.Fatalf("accepted cart %+v", c)
		}
		seen := map[string]bool{}
		for _, it := range c.Items {
			if it.RetailerID == "" || seen[it.RetailerID] || it.Quantity < 1 || it.Quantity > commerce.MaxQuantity ||
				it.Price.Amount < 0 || it.Price.Amount > commerce.MaxAmount || !it.Price.Currency.Valid() {
				t.Fatalf("accepted item %+v", it)
			}
			seen[it.RetailerID] = true
			// The price survives a round trip through its decimal form.
			back, err := commerce.ParseDecimal(commerce.FormatDecimal(it.Price.Amount, it.Price.Currency), it.Price.Currency)
			if err != nil || back != it.Price.Amount {
				t.Fatalf("price %v does not round-trip: %d, %v", it.Price, back, err)
			}
		}
		// An accepted cart, written back as the Cloud API object, parses to
		// the same cart.
		type item struct {
			ID  string      `json:"product_retailer_id"`
			Q   int64       `json:"quantity"`
			P   json.Number `json:"item_price"`
			Cur string      `json:"currency"`
		}
		out := struct {
			CatalogID string `json:"catalog_id"`
			Text      string `json:"text"`
			Items     []item `json:"product_items"`
		}{CatalogID: c.CatalogID, Text: c.Text}
		for _, it := range c.Items {
			out.Items = append(out.Items, item{it.RetailerID, it.Quantity,
				json.Number(commerce.FormatDecimal(it.Price.Amount, it.Price.Currency)), string(it.Price.Currency)})
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := commerce.ParseCart(b)
		if err != nil {
			t.Fatalf("re-encoded cart %s: %v", b, err)
		}
		if len(c2.Items) != len(c.Items) || c2.CatalogID != c.CatalogID || c2.Text != c.Text {
			t.Fatalf("round trip changed the cart: %+v vs %+v", c, c2)
		}
		for i := range c.Items {
			if c.Items[i] != c2.Items[i] {
				t.Fatalf("round trip changed item %d: %+v vs %+v", i, c.Items[i], c2.Items[i])
			}
		}
	})
}

func TestParseCart(t *testing.T) {
	// Meta's own example from the OpenAPI file.
	c, err := commerce.ParseCart([]byte(`{"catalog_id":"194836987003835","text":"","product_items":[
		{"product_retailer_id":"di9ozbzfi4","quantity":2,"item_price":30,"currency":"USD"},
		{"product_retailer_id":"nqryix03ez","quantity":1,"item_price":25.5,"currency":"USD"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := commerce.Cart{CatalogID: "194836987003835", Items: []commerce.CartItem{
		{RetailerID: "di9ozbzfi4", Quantity: 2, Price: commerce.Money{Amount: 3000, Currency: "USD"}},
		{RetailerID: "nqryix03ez", Quantity: 1, Price: commerce.Money{Amount: 2550, Currency: "USD"}},
	}}
	if c.CatalogID != want.CatalogID || len(c.Items) != 2 || c.Items[0] != want.Items[0] || c.Items[1] != want.Items[1] {
		t.Fatalf("ParseCart = %+v, want %+v", c, want)
	}

	item := func(fields string) string {
		return `{"catalog_id":"1","product_items":[{` + fields + `}]}`
	}
	many := `{"catalog_id":"1","product_items":[` + strings.Repeat(`{"product_retailer_id":"x","quantity":1,"item_price":1,"currency":"BRL"},`, 100) +
		`{"product_retailer_id":"y","quantity":1,"item_price":1,"currency":"BRL"}]}`
	for name, in := range map[string]string{
		"not JSON":            `{"catalog_id":`,
		"trailing data":       item(`"product_retailer_id":"a","quantity":1,"item_price":1,"currency":"BRL"`) + `x`,
		"no catalog":          `{"product_items":[{"product_retailer_id":"a","quantity":1,"item_price":1,"currency":"BRL"}]}`,
		"catalog not string":  `{"catalog_id":5,"product_items":[{"product_retailer_id":"a","quantity":1,"item_price":1,"currency":"BRL"}]}`,
		"no items":            `{"catalog_id":"1","product_items":[]}`,
		"too many items":      many,
		"no retailer id":      item(`"quantity":1,"item_price":1,"currency":"BRL"`),
		"empty retailer id":   item(`"product_retailer_id":"","quantity":1,"item_price":1,"currency":"BRL"`),
		"zero quantity":       item(`"product_retailer_id":"a","quantity":0,"item_price":1,"currency":"BRL"`),
		"fractional quantity": item(`"product_retailer_id":"a","quantity":1.5,"item_price":1,"currency":"BRL"`),
		"huge quantity":       item(`"product_retailer_id":"a","quantity":10001,"item_price":1,"currency":"BRL"`),
		"no price":            item(`"product_retailer_id":"a","quantity":1,"currency":"BRL"`),
		"sub-centavo price":   item(`"product_retailer_id":"a","quantity":1,"item_price":0.001,"currency":"BRL"`),
		"negative price":      item(`"product_retailer_id":"a","quantity":1,"item_price":-30,"currency":"BRL"`),
		"huge price":          item(`"product_retailer_id":"a","quantity":1,"item_price":1e300,"currency":"BRL"`),
		"price is a word":     item(`"product_retailer_id":"a","quantity":1,"item_price":"cheap","currency":"BRL"`),
		"no currency":         item(`"product_retailer_id":"a","quantity":1,"item_price":1`),
		"unknown currency":    item(`"product_retailer_id":"a","quantity":1,"item_price":1,"currency":"ABC"`),
		"repeated item": `{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":1,"item_price":1,"currency":"BRL"},
			{"product_retailer_id":"a","quantity":2,"item_price":1,"currency":"BRL"}]}`,
		"too large": `{"catalog_id":"1","text":"` + strings.Repeat("a", commerce.MaxCartBytes) + `"}`,
	} {
		if c, err := commerce.ParseCart([]byte(in)); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("%s: ParseCart = %+v, %v; want ErrInvalid", name, c, err)
		}
	}
}
