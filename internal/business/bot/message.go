package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrBadMessage is returned for an inbound message the bot cannot read.
var ErrBadMessage = errors.New("bot: malformed message")

// Limits on what a customer sends, so one message cannot make the bot work
// without bound.
const (
	maxInboundJSON = 64 << 10
	maxTextRunes   = 4096
	maxCartItems   = 100
	maxQuantity    = 999
)

// Inbound is one message from the customer.
type Inbound struct {
	Customer string // wa_id
	// ID is the message id; a message seen before is ignored.
	ID string
	// Text is what the customer wrote (a text message, or the text of a
	// cart); empty for a bare button tap.
	Text string
	// ReplyID is the id of a tapped reply button or list row, or the payload
	// of a template quick-reply button.
	ReplyID string
	// Cart is the customer's cart from the catalog (an "order" message).
	Cart []CartItem
	// Location is a location the customer shared (a delivery address).
	Location *Location
}

// CartItem is one line of a customer's cart message. The price the
// customer's app showed is kept only for the record: the bot prices from
// the catalog.
type CartItem struct {
	RetailerID string
	Quantity   int
}

// TextMessage is an Inbound for plain text.
func TextMessage(customer, id, text string) Inbound {
	return Inbound{Customer: customer, ID: id, Text: text}
}

// ParseBusinessMessage reads a BusinessMessage (content.proto) from a
// customer: its Cloud API type and the JSON object under that key. It
// understands "interactive" (button_reply, list_reply), "button" (template
// quick reply), "order" (a cart), "location" and "text".
func ParseBusinessMessage(customer, id, typ string, body []byte) (Inbound, error) {
	in := Inbound{Customer: customer, ID: id}
	if len(body) > maxInboundJSON {
		return in, fmt.Errorf("%w: %d bytes", ErrBadMessage, len(body))
	}
	switch typ {
	case "text":
		var t struct {
			Body string `json:"body"`
		}
		if err := decodeStrict(body, &t); err != nil {
			return in, err
		}
		in.Text = t.Body
	case "interactive":
		var i struct {
			Type        string     `json:"type"`
			ButtonReply *replyJSON `json:"button_reply"`
			ListReply   *replyJSON `json:"list_reply"`
		}
		if err := decodeStrict(body, &i); err != nil {
			return in, err
		}
		var r *replyJSON
		switch i.Type {
		case "button_reply":
			r = i.ButtonReply
		case "list_reply":
			r = i.ListReply
		default:
			return in, fmt.Errorf("%w: interactive type %q", ErrBadMessage, i.Type)
		}
		if r == nil || r.ID == "" {
			return in, fmt.Errorf("%w: %s without id", ErrBadMessage, i.Type)
		}
		in.ReplyID, in.Text = r.ID, r.Title
	case "button":
		var b struct {
			Payload string `json:"payload"`
			Text    string `json:"text"`
		}
		if err := decodeStrict(body, &b); err != nil {
			return in, err
		}
		in.ReplyID, in.Text = b.Payload, b.Text
	case "order":
		var o struct {
			CatalogID    string `json:"catalog_id"`
			Text         string `json:"text"`
			ProductItems []struct {
				ProductRetailerID string          `json:"product_retailer_id"`
				Quantity          json.Number     `json:"quantity"`
				ItemPrice         json.RawMessage `json:"item_price"`
				Currency          string          `json:"currency"`
			} `json:"product_items"`
		}
		if err := decodeStrict(body, &o); err != nil {
			return in, err
		}
		if len(o.ProductItems) == 0 || len(o.ProductItems) > maxCartItems {
			return in, fmt.Errorf("%w: %d cart items", ErrBadMessage, len(o.ProductItems))
		}
		in.Text = o.Text
		for _, it := range o.ProductItems {
			q, err := strconv.Atoi(it.Quantity.String())
			if err != nil || q < 1 || q > maxQuantity || it.ProductRetailerID == "" {
				return in, fmt.Errorf("%w: cart item", ErrBadMessage)
			}
			in.Cart = append(in.Cart, CartItem{RetailerID: it.ProductRetailerID, Quantity: q})
		}
	case "location":
		var l Location
		if err := decodeStrict(body, &l); err != nil {
			return in, err
		}
		if l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 ||
			len(l.Name) > 1000 || len(l.Address) > 1000 || !utf8.ValidString(l.Name+l.Address) {
			return in, fmt.Errorf("%w: location", ErrBadMessage)
		}
		in.Location = &l
	default:
		return in, fmt.Errorf("%w: type %q", ErrBadMessage, typ)
	}
	if !utf8.ValidString(in.Text) || !utf8.ValidString(in.ReplyID) {
		return in, fmt.Errorf("%w: not UTF-8", ErrBadMessage)
	}
	if utf8.RuneCountInString(in.Text) > maxTextRunes {
		return in, fmt.Errorf("%w: text too long", ErrBadMessage)
	}
	return in, nil
}

type replyJSON struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// decodeStrict decodes one JSON object, ignoring fields it does not know
// (Meta adds fields) but not trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrBadMessage)
	}
	return nil
}

// Reply is one message from the bot to the customer, shaped like a Cloud API
// message: Type is the message type and exactly the field of that name is
// set. Body gives the JSON the agent puts in BusinessMessage (or, for text,
// the text for Parley's own text kind).
type Reply struct {
	Type        string       `json:"type"`
	Text        *TextBody    `json:"text,omitempty"`
	Interactive *Interactive `json:"interactive,omitempty"`
	Location    *Location    `json:"location,omitempty"`
}

// Body returns the message type and the JSON object under that type's key.
func (r Reply) Body() (string, []byte, error) {
	var v any
	switch r.Type {
	case "text":
		v = r.Text
	case "interactive":
		v = r.Interactive
	case "location":
		v = r.Location
	default:
		return "", nil, fmt.Errorf("bot: reply type %q", r.Type)
	}
	b, err := json.Marshal(v)
	return r.Type, b, err
}

// Plain is the reply's text as a customer without rich rendering sees it.
func (r Reply) Plain() string {
	switch {
	case r.Text != nil:
		return r.Text.Body
	case r.Interactive != nil:
		var parts []string
		if h := r.Interactive.Header; h != nil && h.Text != "" {
			parts = append(parts, h.Text)
		}
		if b := r.Interactive.Body; b != nil {
			parts = append(parts, b.Text)
		}
		return strings.Join(parts, "\n")
	case r.Location != nil:
		return r.Location.Name + "\n" + r.Location.Address
	}
	return ""
}

// TextBody is the Cloud API "text" object.
type TextBody struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

// Location is the Cloud API "location" object.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Interactive is the Cloud API "interactive" object: button, list,
// product_list, order_details or order_status.
type Interactive struct {
	Type   string  `json:"type"`
	Header *Header `json:"header,omitempty"`
	Body   *Text   `json:"body,omitempty"`
	Footer *Text   `json:"footer,omitempty"`
	Action Action  `json:"action"`
}

// Header is an interactive message's header (only text here).
type Header struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
}

// Text is an interactive body or footer.
type Text struct {
	Text string `json:"text"`
}

// Action is the union of the action shapes the bot sends.
type Action struct {
	Buttons           []Button    `json:"buttons,omitempty"`  // button
	Button            string      `json:"button,omitempty"`   // list
	Sections          []Section   `json:"sections,omitempty"` // list, product_list
	CatalogID         string      `json:"catalog_id,omitempty"`
	ProductRetailerID string      `json:"product_retailer_id,omitempty"`
	Name              string      `json:"name,omitempty"` // review_and_pay, review_order
	Parameters        *Parameters `json:"parameters,omitempty"`
}

// Button is a reply button.
type Button struct {
	Type  string      `json:"type"` // "reply"
	Reply ButtonReply `json:"reply"`
}

// ButtonReply is a reply button's id and title (≤ 20 characters).
type ButtonReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Section is a list or product_list section.
type Section struct {
	Title        string        `json:"title,omitempty"`
	Rows         []Row         `json:"rows,omitempty"`
	ProductItems []ProductItem `json:"product_items,omitempty"`
}

// Row is a list row.
type Row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// ProductItem names a catalog product in a product_list.
type ProductItem struct {
	ProductRetailerID string `json:"product_retailer_id"`
}

// Parameters is the action.parameters of order_details (review_and_pay) and
// order_status (review_order).
type Parameters struct {
	ReferenceID     string           `json:"reference_id"`
	Type            string           `json:"type,omitempty"`         // physical-goods, digital-goods
	PaymentType     string           `json:"payment_type,omitempty"` // br
	PaymentSettings []PaymentSetting `json:"payment_settings,omitempty"`
	Currency        string           `json:"currency,omitempty"`
	TotalAmount     *Amount          `json:"total_amount,omitempty"`
	Order           *OrderObject     `json:"order,omitempty"`
	Payment         *PaymentObject   `json:"payment,omitempty"`
}

// Amount is a Cloud API amount: Value / Offset in major units.
type Amount struct {
	Value  int64 `json:"value"`
	Offset int64 `json:"offset"`
}

// OrderObject is the order inside order_details or order_status.
type OrderObject struct {
	Status      string      `json:"status"`
	Description string      `json:"description,omitempty"` // order_status
	CatalogID   string      `json:"catalog_id,omitempty"`
	Expiration  *Expiration `json:"expiration,omitempty"`
	Items       []ItemJSON  `json:"items,omitempty"`
	Subtotal    *Amount     `json:"subtotal,omitempty"`
	Shipping    *Amount     `json:"shipping,omitempty"`
}

// Expiration is when an order_details offer lapses.
type Expiration struct {
	Timestamp   string `json:"timestamp"` // unix seconds, as a string
	Description string `json:"description,omitempty"`
}

// ItemJSON is an order_details item.
type ItemJSON struct {
	RetailerID string `json:"retailer_id"`
	Name       string `json:"name"`
	Amount     Amount `json:"amount"`
	Quantity   int    `json:"quantity"`
}

// PaymentObject is order_status's payment block.
type PaymentObject struct {
	Status string `json:"status"`
}

// PaymentSetting is one entry of order_details payment_settings.
type PaymentSetting struct {
	Type           string          `json:"type"`
	PixDynamicCode *PixDynamicCode `json:"pix_dynamic_code,omitempty"`
	UPIIntentLink  *UPIIntentLink  `json:"upi_intent_link,omitempty"`
}

// PixDynamicCode is the offsite PIX payment setting.
type PixDynamicCode struct {
	Code         string `json:"code"`
	MerchantName string `json:"merchant_name"`
	Key          string `json:"key"`
	KeyType      string `json:"key_type"`
}

// UPIIntentLink is the UPI intent payment setting.
type UPIIntentLink struct {
	Link string `json:"link"`
}

func textReply(s string) Reply {
	return Reply{Type: "text", Text: &TextBody{Body: clip(s, maxTextRunes)}}
}

// buttonsReply builds a reply-button message; titles are clipped to the
// Cloud API's 20 characters and at most three buttons are kept.
func buttonsReply(body string, buttons ...ButtonReply) Reply {
	in := &Interactive{Type: "button", Body: &Text{Text: clip(body, 1024)}}
	for i, b := range buttons {
		if i == 3 {
			break
		}
		b.Title = clip(b.Title, 20)
		in.Action.Buttons = append(in.Action.Buttons, Button{Type: "reply", Reply: b})
	}
	return Reply{Type: "interactive", Interactive: in}
}

// clip shortens s to at most n runes, ending in "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
