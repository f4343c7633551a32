package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/proto/contentpb"
)

// Business messages: between a customer and a business's agent
// (internal/business/agent), the kinds the WhatsApp Cloud API defines and
// Parley has none of its own for (interactive buttons and lists, products,
// a customer's cart, order_details with a Pix code, order_status, location,
// contacts) travel as BusinessMessage{type, json}: the Cloud API type and
// the object under that type's key, unchanged. A client renders the types it
// knows; BusinessText is the plain rendering every client can show.

// Limits of a BusinessMessage. The JSON bound leaves room in a content for
// the rest; Meta's largest objects (a product_list of 30 items, an
// order_details of many items) stay far below it.
const (
	MaxBusinessType = 32
	MaxBusinessJSON = 64 << 10
)

// CheckBusiness reports (ErrInvalid) a business message a client must not
// send: a type that is not 1..MaxBusinessType of a-z and _, or JSON that
// is not one object (or, as for contacts, one array) of valid UTF-8 within
// MaxBusinessJSON bytes.
func CheckBusiness(b *contentpb.BusinessMessage) error {
	if b == nil {
		return fmt.Errorf("%w: no business message", ErrInvalid)
	}
	if t := b.Type; t == "" || len(t) > MaxBusinessType || strings.Trim(t, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return fmt.Errorf("%w: business message type %q", ErrInvalid, truncateUTF8(t, MaxBusinessType))
	}
	if len(b.Json) > MaxBusinessJSON {
		return fmt.Errorf("%w: business message of %d bytes exceeds %d", ErrInvalid, len(b.Json), MaxBusinessJSON)
	}
	j := bytes.TrimSpace(b.Json)
	if len(j) == 0 || (j[0] != '{' && j[0] != '[') || !utf8.Valid(j) || !json.Valid(j) {
		return fmt.Errorf("%w: business message JSON is not an object or array", ErrInvalid)
	}
	return nil
}

// BusinessContent is a business message of Cloud API type typ with object
// obj (the JSON under that type's key). Its fallback text is the plain
// rendering, for clients that predate business messages.
func BusinessContent(typ string, obj []byte) *contentpb.Content {
	b := &contentpb.BusinessMessage{Type: typ, Json: obj}
	return &contentpb.Content{FallbackText: BusinessText(b, ""),
		Body: &contentpb.Content_Business{Business: b}}
}

// BusinessText renders a business message as plain text: what a client
// that does not draw buttons and cards shows. fallback is used when the
// message says nothing readable.
func BusinessText(b *contentpb.BusinessMessage, fallback string) string {
	var top any
	if b == nil || json.Unmarshal(b.Json, &top) != nil {
		return fallback
	}
	v, _ := top.(map[string]any)
	if arr, ok := top.([]any); ok {
		v = map[string]any{"": arr} // contacts: an array, read by list(v)
	}
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	switch b.Type {
	case "text":
		add(str(v, "body"))
	case "interactive":
		add(str(v, "header", "text"))
		add(str(v, "body", "text"))
		switch str(v, "type") {
		case "button":
			var titles []string
			for _, x := range list(v, "action", "buttons") {
				titles = append(titles, "["+str(x, "reply", "title")+"]")
			}
			add(strings.Join(titles, " "))
		case "list":
			for _, sec := range list(v, "action", "sections") {
				for _, row := range list(sec, "rows") {
					add("- " + str(row, "title"))
				}
			}
		case "button_reply", "list_reply":
			add(str(v, "button_reply", "title") + str(v, "list_reply", "title"))
		case "order_details":
			p := obj(v, "action", "parameters")
			add(fmt.Sprintf("Order %s, total %s %s", str(p, "reference_id"), amount(obj(p, "total_amount")), str(p, "currency")))
			for _, s := range list(p, "payment_settings") {
				add(str(s, "pix_dynamic_code", "code"))
				add(str(s, "upi_intent_link", "link"))
				add(str(s, "payment_link", "uri"))
			}
		case "order_status":
			p := obj(v, "action", "parameters")
			st := str(p, "order", "status")
			if pay := str(p, "payment", "status"); pay != "" {
				st = strings.TrimSpace(st + ", payment " + pay)
			}
			add(fmt.Sprintf("Order %s: %s", str(p, "reference_id"), st))
		}
		add(str(v, "footer", "text"))
	case "order":
		add(fmt.Sprintf("Cart of %d products", len(list(v, "product_items"))))
		add(str(v, "text"))
	case "location":
		add(str(v, "name"))
		add(str(v, "address"))
	case "contacts":
		for _, c := range list(v) {
			add(str(c, "name", "formatted_name"))
		}
	case "button":
		add(str(v, "text"))
	case "template":
		add(str(v, "header", "text"))
		add(str(v, "body"))
		add(str(v, "footer"))
	}
	if len(lines) == 0 {
		return fallback
	}
	return strings.Join(lines, "\n")
}

// obj walks v down the keys and returns the object there, or nil.
func obj(v map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, _ := v[k].(map[string]any)
		if next == nil {
			return nil
		}
		v = next
	}
	return v
}

// str is the string at the end of keys, or "".
func str(v map[string]any, keys ...string) string {
	if len(keys) == 0 {
		return ""
	}
	s, _ := obj(v, keys[:len(keys)-1]...)[keys[len(keys)-1]].(string)
	return s
}

// list is the array of objects at the end of keys (the "contacts" array is
// the top level itself: keys empty, and v holds it under "").
func list(v map[string]any, keys ...string) []map[string]any {
	var arr []any
	if len(keys) == 0 {
		arr, _ = v[""].([]any)
	} else {
		arr, _ = obj(v, keys[:len(keys)-1]...)[keys[len(keys)-1]].([]any)
	}
	var out []map[string]any
	for _, x := range arr {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// amount renders a Cloud API amount {"value", "offset"} exactly.
func amount(a map[string]any) string {
	val, ok1 := a["value"].(float64)
	off, ok2 := a["offset"].(float64)
	if !ok1 || !ok2 || off <= 0 {
		return "?"
	}
	r := new(big.Rat).SetFrac64(int64(val), int64(off))
	digits := len(fmt.Sprint(int64(off))) - 1
	return r.FloatString(digits)
}
