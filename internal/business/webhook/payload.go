// Package webhook sends a business's Cloud-API webhooks the way Meta does,
// so that receivers written for WhatsApp (and their signature checks) work
// unchanged: a GET verification handshake when the callback is registered,
// then one event per POST, Meta's object/entry/changes/value envelope,
// JSON escaped to ASCII (every rune from U+007F up as \uXXXX over its UTF-16
// units, lowercase hex) and signed with X-Hub-Signature-256 over exactly the
// bytes sent.
//
// Events wait in a persisted queue (in memory or SQLite) and are delivered
// in order per customer: a failing event holds back the later events of the
// same customer only, and is retried with exponential back-off and jitter
// for up to seven days before it is dropped. A retry sends the same bytes and
// so the same signature; an event id already queued or delivered is not
// queued again, so a replayed event reaches the receiver once.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// MaxBody is the largest event body sent: whatsapp-api-js refuses bodies
// above 3 MiB, citing Meta's payload limit.
const MaxBody = 3 << 20

// ErrTooLarge is returned for an event whose body would exceed MaxBody.
var ErrTooLarge = errors.New("webhook: event body exceeds 3 MiB")

// ErrInvalid is returned for an event that cannot be built: a message body
// that is not a JSON object, or a missing id.
var ErrInvalid = errors.New("webhook: invalid event")

// Metadata names the business phone number an event concerns.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the customer who sent a message, as the value's contacts[].
type Contact struct {
	Profile Profile `json:"profile"`
	WaID    string  `json:"wa_id"`
}

// Profile is a contact's public profile.
type Profile struct {
	Name string `json:"name"`
}

// MessageContext is an inbound message's context: the business message it
// replies to, and the product a customer asks about.
type MessageContext struct {
	From            string           `json:"from,omitempty"`
	ID              string           `json:"id,omitempty"`
	ReferredProduct *ReferredProduct `json:"referred_product,omitempty"`
}

// ReferredProduct is the product a customer's question refers to.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id"`
	ProductRetailerID string `json:"product_retailer_id"`
}

// Message is one inbound message. Body is the object under the key Type
// ("text", "order", "interactive", ...; for "contacts" an array), Meta's
// shape passed through: the business's customers send these objects inside
// BusinessMessage.
type Message struct {
	From      string          `json:"from"`
	ID        string          `json:"id"`
	Timestamp string          `json:"timestamp"`
	Type      string          `json:"type"`
	Context   *MessageContext `json:"context,omitempty"`
	Errors    []StatusError   `json:"errors,omitempty"`
	Body      json.RawMessage `json:"-"`
}

// MarshalJSON puts Body under the key named by Type, as Meta does.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	b, err := json.Marshal(plain(m))
	if err != nil {
		return nil, err
	}
	if len(m.Body) == 0 {
		return b, nil
	}
	if !(isObject(m.Body) || m.Type == "contacts" && isArray(m.Body)) || !validKey(m.Type) {
		return nil, fmt.Errorf("%w: message body of type %q is not a JSON object", ErrInvalid, m.Type)
	}
	var out bytes.Buffer
	out.Write(b[:len(b)-1])
	out.WriteString(`,"`)
	out.WriteString(m.Type)
	out.WriteString(`":`)
	if err := json.Compact(&out, m.Body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && json.Valid(b)
}

// isArray: Meta's inbound contacts message carries an array.
func isArray(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '[' && json.Valid(b)
}

func validKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// Typed bodies for the common inbound types; any other Meta shape can be
// passed as raw JSON.
type (
	Text struct {
		Body string `json:"body"`
	}
	Media struct {
		ID       string `json:"id"`
		MIMEType string `json:"mime_type"`
		SHA256   string `json:"sha256"` // base64, as Meta sends it
		Caption  string `json:"caption,omitempty"`
		Filename string `json:"filename,omitempty"`
		Voice    bool   `json:"voice,omitempty"`
	}
	Location struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name,omitempty"`
		Address   string  `json:"address,omitempty"`
		URL       string  `json:"url,omitempty"`
	}
	Reaction struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	}
	Button struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	}
	Interactive struct {
		Type        string       `json:"type"` // button_reply | list_reply | nfm_reply | payment_method
		ButtonReply *ButtonReply `json:"button_reply,omitempty"`
		ListReply   *ListReply   `json:"list_reply,omitempty"`
	}
	ButtonReply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	ListReply struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	}
	Order struct {
		CatalogID    string      `json:"catalog_id"`
		Text         string      `json:"text"`
		ProductItems []OrderItem `json:"product_items"`
	}
	// OrderItem's ItemPrice is in major units, a JSON number, as Meta sends
	// it; build it from minor units with MajorUnits.
	OrderItem struct {
		ProductRetailerID string      `json:"product_retailer_id"`
		Quantity          int64       `json:"quantity"`
		ItemPrice         json.Number `json:"item_price"`
		Currency          string      `json:"currency"`
	}
	System struct {
		Body string `json:"body"`
		WaID string `json:"wa_id,omitempty"`
		Type string `json:"type"`
	}
)

// NewMessage builds an inbound message with body (a typed body above, or
// json.RawMessage) under typ.
func NewMessage(from, id string, at time.Time, typ string, body any) (Message, error) {
	m := Message{From: from, ID: id, Timestamp: unix(at), Type: typ}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Message{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if !isObject(b) && !(typ == "contacts" && isArray(b)) {
			return Message{}, fmt.Errorf("%w: body is not a JSON object", ErrInvalid)
		}
		m.Body = b
	}
	return m, nil
}

// MajorUnits renders minor units as a decimal in major units (14990, 2 →
// "149.9"), exactly: Meta's order item_price is a JSON number in major units.
func MajorUnits(minor int64, exponent int) json.Number {
	if exponent <= 0 {
		return json.Number(strconv.FormatInt(minor, 10))
	}
	r := new(big.Rat).SetFrac(big.NewInt(minor), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exponent)), nil))
	s := r.FloatString(exponent)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return json.Number(s)
}

// Status is one statuses[] entry: a business message's sent, delivered,
// read or failed, or (Type "payment") a payment's pending, captured or
// failed.
type Status struct {
	ID                    string        `json:"id"`
	Status                string        `json:"status"`
	Timestamp             string        `json:"timestamp"`
	RecipientID           string        `json:"recipient_id"`
	Type                  string        `json:"type,omitempty"`
	BizOpaqueCallbackData string        `json:"biz_opaque_callback_data,omitempty"`
	Conversation          *Conversation `json:"conversation,omitempty"`
	Pricing               *Pricing      `json:"pricing,omitempty"`
	Payment               *Payment      `json:"payment,omitempty"`
	Errors                []StatusError `json:"errors,omitempty"`
}

// Conversation is the legacy conversation block some receivers still read.
type Conversation struct {
	ID                  string              `json:"id"`
	ExpirationTimestamp string              `json:"expiration_timestamp,omitempty"`
	Origin              *ConversationOrigin `json:"origin,omitempty"`
}

// ConversationOrigin says what opened a conversation.
type ConversationOrigin struct {
	Type string `json:"type"`
}

// Pricing is per-message pricing (PMP): category marketing | utility |
// authentication | service; type regular | free_customer_service |
// free_entry_point.
type Pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
	Type         string `json:"type,omitempty"`
}

// StatusError is a failed status's errors[] entry.
type StatusError struct {
	Code      int        `json:"code"`
	Title     string     `json:"title"`
	Message   string     `json:"message,omitempty"`
	ErrorData *ErrorData `json:"error_data,omitempty"`
	Href      string     `json:"href,omitempty"`
}

// ErrorData carries a StatusError's details.
type ErrorData struct {
	Details string `json:"details"`
}

// Amount is Meta's money: value in units of 1/offset (offset 100: cents).
type Amount struct {
	Value  int64 `json:"value"`
	Offset int64 `json:"offset"`
}

// Payment is a payment status's payment block (research note 2.4).
type Payment struct {
	ReferenceID string       `json:"reference_id"`
	Amount      Amount       `json:"amount"`
	Currency    string       `json:"currency"`
	Receipt     string       `json:"receipt"`
	Transaction *Transaction `json:"transaction,omitempty"`
}

// Transaction is the PSP's transaction behind a payment.
type Transaction struct {
	ID               string          `json:"id"`
	Type             string          `json:"type"`
	Status           string          `json:"status"` // success | pending | failed
	CreatedTimestamp int64           `json:"created_timestamp"`
	UpdatedTimestamp int64           `json:"updated_timestamp"`
	Amount           *Amount         `json:"amount,omitempty"`
	Currency         string          `json:"currency,omitempty"`
	Method           *PaymentMethod  `json:"method,omitempty"`
	Error            *PaymentError   `json:"error,omitempty"`
	Refunds          json.RawMessage `json:"refunds,omitempty"`
}

// PaymentMethod is how a customer paid: pix, upi, card, ...
type PaymentMethod struct {
	Type string `json:"type"`
}

// PaymentError is why a transaction failed.
type PaymentError struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Event is one webhook POST: its idempotence id, the ordering key (the
// business number and customer it concerns) and the exact bytes to send.
type Event struct {
	ID       string
	Customer string
	Body     []byte
}

type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      string   `json:"id"`
	Changes []change `json:"changes"`
}

type change struct {
	Value any    `json:"value"`
	Field string `json:"field"`
}

type messagesValue struct {
	MessagingProduct string    `json:"messaging_product"`
	Metadata         Metadata  `json:"metadata"`
	Contacts         []Contact `json:"contacts,omitempty"`
	Messages         []Message `json:"messages"`
}

type statusesValue struct {
	MessagingProduct string   `json:"messaging_product"`
	Metadata         Metadata `json:"metadata"`
	Statuses         []Status `json:"statuses"`
}

// MessageEvent is the event for one inbound message. contact is nil for
// system messages, which carry no contacts.
func MessageEvent(wabaID string, meta Metadata, contact *Contact, m Message) (Event, error) {
	if m.ID == "" || m.From == "" {
		return Event{}, fmt.Errorf("%w: message without id or sender", ErrInvalid)
	}
	v := messagesValue{MessagingProduct: "whatsapp", Metadata: meta, Messages: []Message{m}}
	if contact != nil {
		v.Contacts = []Contact{*contact}
	}
	return build("message/"+m.ID, meta.PhoneNumberID+"/"+m.From, wabaID, "messages", v)
}

// StatusEvent is the event for one status change. Its id is the message id
// and status (for payments the reference id, status and transaction), so
// the same change queued twice is sent once.
func StatusEvent(wabaID string, meta Metadata, s Status) (Event, error) {
	if s.ID == "" || s.Status == "" || s.RecipientID == "" {
		return Event{}, fmt.Errorf("%w: status without id, status or recipient", ErrInvalid)
	}
	id := "status/" + s.ID + "/" + s.Status
	if s.Type == "payment" && s.Payment != nil {
		id = "payment/" + s.Payment.ReferenceID + "/" + s.Status
		if s.Payment.Transaction != nil {
			id += "/" + s.Payment.Transaction.ID + "/" + s.Payment.Transaction.Status
		}
	}
	v := statusesValue{MessagingProduct: "whatsapp", Metadata: meta, Statuses: []Status{s}}
	return build(id, meta.PhoneNumberID+"/"+s.RecipientID, wabaID, "messages", v)
}

// FieldEvent is an account-level event such as
// message_template_status_update; value is the change's value. Account
// events are ordered among themselves.
func FieldEvent(id, wabaID, field string, value any) (Event, error) {
	if id == "" || field == "" {
		return Event{}, fmt.Errorf("%w: event without id or field", ErrInvalid)
	}
	return build(field+"/"+id, "account/"+wabaID, wabaID, field, value)
}

func build(id, customer, wabaID, field string, value any) (Event, error) {
	p := payload{Object: "whatsapp_business_account",
		Entry: []entry{{ID: wabaID, Changes: []change{{Value: value, Field: field}}}}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	body := ASCII(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	if len(body) > MaxBody {
		return Event{}, ErrTooLarge
	}
	return Event{ID: id, Customer: customer, Body: body}, nil
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
