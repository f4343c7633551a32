package cloudapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits from Meta's OpenAPI (v23.0) where it gives them, else from Meta's
// reference pages as the client libraries encode them.
const (
	maxTextBody      = 4096
	maxCaption       = 1024
	maxFilename      = 240
	maxHeaderText    = 60
	maxBodyText      = 1024
	maxFooterText    = 60
	maxButtonTitle   = 20
	maxButtonID      = 256
	maxListButton    = 20
	maxSectionTitle  = 24
	maxRowID         = 200
	maxRowTitle      = 24
	maxRowDesc       = 72
	maxRows          = 10
	maxSections      = 10
	maxProducts      = 30
	maxContacts      = 5
	maxBizOpaque     = 512
	maxReferenceID   = 35
	maxOrderDesc     = 120
	minExpiration    = 300 * time.Second
	maxCTADisplay    = 20
	maxRequestBody   = 1 << 20
	maxLocationText  = 1000
	maxOrderItems    = 999
	maxReactionRunes = 8
)

func runes(s string) int { return utf8.RuneCountInString(s) }

// text checks a string field's length in characters; min 1 makes it
// required (a missing required field is 131008, a bad one 131009).
func text(field, s string, min, max int) error {
	n := runes(s)
	if n == 0 && min > 0 {
		return fail(ErrMissingParameter, "%s is required", field)
	}
	if n < min || n > max {
		return fail(ErrParameterValue, "%s must be %d to %d characters long, got %d", field, min, max, n)
	}
	return nil
}

func missing(field string) error { return fail(ErrMissingParameter, "%s is required", field) }

func invalid(field, why string) error { return fail(ErrParameterValue, "%s %s", field, why) }

// decodeObject unmarshals one object; a wrong JSON type is 131009.
func decodeObject(field string, raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return missing(field)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return invalid(field, "is malformed: "+jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error without echoing input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		what := "of another type"
		switch te.Type.Kind() {
		case reflect.Slice, reflect.Array:
			what = "an array"
		case reflect.Struct, reflect.Map:
			what = "an object"
		case reflect.String:
			what = "a string"
		case reflect.Bool:
			what = "a boolean"
		case reflect.Int, reflect.Int64, reflect.Float64, reflect.Int32:
			what = "a number"
		}
		if te.Field == "" {
			return "it must be " + what
		}
		return "field " + te.Field + " must be " + what
	}
	return "not valid JSON"
}

// flexFloat accepts a number or a numeric string (Meta's OpenAPI types
// coordinates as strings, the clients send numbers).
type flexFloat struct {
	set bool
	v   float64
}

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: reflectFloat}
	}
	f.set, f.v = true, v
	return nil
}

// flexInt accepts an integer or a string of one.
type flexInt struct {
	set bool
	v   int64
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number", Type: reflectInt}
	}
	f.set, f.v = true, v
	return nil
}

var waIDRE = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

// normalizeRecipient turns "+55 (11) 99999-0000" into "5511999990000".
func normalizeRecipient(to string) (string, bool) {
	var b strings.Builder
	for _, c := range to {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", false
		}
	}
	s := b.String()
	return s, waIDRE.MatchString(s)
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 2048
}

// mediaRef is a media object: by id or by link.
type mediaRef struct {
	ID       string  `json:"id"`
	Link     string  `json:"link"`
	Caption  *string `json:"caption"`
	Filename *string `json:"filename"`
}

// mediaKinds says which MIME types each media message type takes.
var mediaKinds = map[string]func(string) bool{
	"image":    func(m string) bool { return m == "image/jpeg" || m == "image/png" },
	"sticker":  func(m string) bool { return m == "image/webp" },
	"audio":    func(m string) bool { return strings.HasPrefix(m, "audio/") },
	"video":    func(m string) bool { return m == "video/mp4" || m == "video/3gpp" || m == "video/3gp" },
	"document": func(m string) bool { return uploadTypes[m] != 0 },
}

func (v *vctx) media(field, kind string, raw json.RawMessage, captionOK, filenameOK bool) error {
	var m mediaRef
	if err := decodeObject(field, raw, &m); err != nil {
		return err
	}
	return v.mediaRef(field, kind, m, captionOK, filenameOK)
}

func (v *vctx) mediaRef(field, kind string, m mediaRef, captionOK, filenameOK bool) error {
	switch {
	case m.ID == "" && m.Link == "":
		return missing(field + ".id or " + field + ".link")
	case m.ID != "" && m.Link != "":
		return invalid(field, "must have either id or link, not both")
	case m.Link != "" && !httpURL(m.Link):
		return invalid(field+".link", "must be an http(s) URL")
	}
	if m.ID != "" {
		if v.h.cfg.Media == nil {
			return invalid(field+".id", "does not name an uploaded media")
		}
		md, err := v.h.cfg.Media.Media(v.ctx, m.ID)
		if errors.Is(err, ErrNotFound) || err == nil && !slices.Contains(v.b.PhoneNumberIDs, md.PhoneNumberID) {
			return invalid(field+".id", "does not name an uploaded media")
		}
		if err != nil {
			return err
		}
		if ok := mediaKinds[kind]; ok != nil && !ok(md.MIMEType) {
			return invalid(field+".id", "names a "+md.MIMEType+" file, which a "+kind+" message cannot carry")
		}
	}
	if m.Caption != nil {
		if !captionOK {
			return invalid(field+".caption", "is not allowed for "+kind)
		}
		if err := text(field+".caption", *m.Caption, 0, maxCaption); err != nil {
			return err
		}
	}
	if m.Filename != nil {
		if !filenameOK {
			return invalid(field+".filename", "is not allowed for "+kind)
		}
		if err := text(field+".filename", *m.Filename, 0, maxFilename); err != nil {
			return err
		}
	}
	return nil
}

// vctx is one validation: the business and number a send comes from.
type vctx struct {
	h   *Handler
	ctx context.Context
	b   Business
	pn  PhoneNumber
	to  string
	now time.Time
	// set while validating: an order_details reference to bind on send
	reference string
}

func (v *vctx) textMessage(raw json.RawMessage) error {
	var t struct {
		Body       *string `json:"body"`
		PreviewURL *bool   `json:"preview_url"`
	}
	if err := decodeObject("text", raw, &t); err != nil {
		return err
	}
	if t.Body == nil {
		return missing("text.body")
	}
	return text("text.body", *t.Body, 1, maxTextBody)
}

func (v *vctx) location(raw json.RawMessage) error {
	var l struct {
		Latitude  flexFloat `json:"latitude"`
		Longitude flexFloat `json:"longitude"`
		Name      string    `json:"name"`
		Address   string    `json:"address"`
	}
	if err := decodeObject("location", raw, &l); err != nil {
		return err
	}
	if !l.Latitude.set || !l.Longitude.set {
		return missing("location.latitude and location.longitude")
	}
	if l.Latitude.v < -90 || l.Latitude.v > 90 || l.Longitude.v < -180 || l.Longitude.v > 180 {
		return invalid("location", "coordinates are out of range")
	}
	if err := text("location.name", l.Name, 0, maxLocationText); err != nil {
		return err
	}
	return text("location.address", l.Address, 0, maxLocationText)
}

func (v *vctx) contacts(raw json.RawMessage) error {
	var cs []struct {
		Name *struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string `json:"phone"`
		} `json:"phones"`
		Emails []struct {
			Email string `json:"email"`
		} `json:"emails"`
		URLs []struct {
			URL string `json:"url"`
		} `json:"urls"`
		Birthday string `json:"birthday"`
	}
	if err := decodeObject("contacts", raw, &cs); err != nil {
		return err
	}
	if len(cs) == 0 {
		return missing("contacts")
	}
	if len(cs) > maxContacts {
		return invalid("contacts", "may hold at most 5 contacts")
	}
	for i, c := range cs {
		f := "contacts[" + itoa(i) + "]"
		if c.Name == nil || strings.TrimSpace(c.Name.FormattedName) == "" {
			return missing(f + ".name.formatted_name")
		}
		for j, p := range c.Phones {
			if p.Phone == "" {
				return missing(f + ".phones[" + itoa(j) + "].phone")
			}
		}
		for j, e := range c.Emails {
			if !strings.Contains(e.Email, "@") {
				return invalid(f+".emails["+itoa(j)+"].email", "must be an email address")
			}
		}
		for j, u := range c.URLs {
			if u.URL == "" {
				return missing(f + ".urls[" + itoa(j) + "].url")
			}
		}
		if c.Birthday != "" {
			if _, err := time.Parse("2006-01-02", c.Birthday); err != nil {
				return invalid(f+".birthday", "must be YYYY-MM-DD")
			}
		}
	}
	return nil
}

func (v *vctx) reaction(raw json.RawMessage) error {
	var r struct {
		MessageID string  `json:"message_id"`
		Emoji     *string `json:"emoji"`
	}
	if err := decodeObject("reaction", raw, &r); err != nil {
		return err
	}
	if r.MessageID == "" {
		return missing("reaction.message_id")
	}
	if r.Emoji == nil || *r.Emoji == "" {
		return nil // removes the reaction
	}
	if runes(*r.Emoji) > maxReactionRunes {
		return invalid("reaction.emoji", "must be a single emoji")
	}
	for _, c := range *r.Emoji {
		if c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.IsSpace(c)) {
			return invalid("reaction.emoji", "must be a single emoji")
		}
	}
	return nil
}

// interactive types this platform delivers, and those the Cloud API has but
// Parley's clients cannot render (flows need Meta's Flow runtime).
var (
	interactiveUnsupported = []string{"flow", "carousel", "address_message", "call_permission_request", "voice_call"}
)

type ixHeader struct {
	Type     string    `json:"type"`
	Text     *string   `json:"text"`
	Image    *mediaRef `json:"image"`
	Video    *mediaRef `json:"video"`
	Document *mediaRef `json:"document"`
}

type ixText struct {
	Text *string `json:"text"`
}

type ixSection struct {
	Title        *string `json:"title"`
	ProductItems []struct {
		ProductRetailerID string `json:"product_retailer_id"`
	} `json:"product_items"`
	Rows []struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"rows"`
}

type interactive struct {
	Type   string          `json:"type"`
	Header *ixHeader       `json:"header"`
	Body   *ixText         `json:"body"`
	Footer *ixText         `json:"footer"`
	Action json.RawMessage `json:"action"`
}

func (v *vctx) interactive(raw json.RawMessage) error {
	var ix interactive
	if err := decodeObject("interactive", raw, &ix); err != nil {
		return err
	}
	if ix.Type == "" {
		return missing("interactive.type")
	}
	if slices.Contains(interactiveUnsupported, ix.Type) {
		return fail(ErrUnsupportedType, "interactive type %q is not supported on this platform", ix.Type)
	}
	// Header rules per type (OpenAPI HeaderObject; product_list needs a
	// text header, product and catalog_message take none).
	switch ix.Type {
	case "product", "catalog_message", "order_status", "location_request_message":
		if ix.Header != nil {
			return invalid("interactive.header", "is not allowed for "+ix.Type)
		}
	case "product_list":
		if ix.Header == nil {
			return missing("interactive.header")
		}
		if ix.Header.Type != "text" {
			return invalid("interactive.header.type", "must be text for product_list")
		}
	case "list":
		if ix.Header != nil && ix.Header.Type != "text" {
			return invalid("interactive.header.type", "must be text for list")
		}
	}
	if ix.Header != nil {
		if err := v.header(*ix.Header); err != nil {
			return err
		}
	}
	if ix.Body == nil {
		if ix.Type != "product" {
			return missing("interactive.body")
		}
	} else {
		if ix.Body.Text == nil {
			return missing("interactive.body.text")
		}
		if err := text("interactive.body.text", *ix.Body.Text, 1, maxBodyText); err != nil {
			return err
		}
	}
	if ix.Footer != nil {
		if ix.Footer.Text == nil {
			return missing("interactive.footer.text")
		}
		if err := text("interactive.footer.text", *ix.Footer.Text, 1, maxFooterText); err != nil {
			return err
		}
	}
	if len(bytes.TrimSpace(ix.Action)) == 0 || string(bytes.TrimSpace(ix.Action)) == "null" {
		return missing("interactive.action")
	}
	switch ix.Type {
	case "button":
		return v.buttons(ix.Action)
	case "list":
		return v.list(ix.Action)
	case "product":
		return v.product(ix.Action)
	case "product_list":
		return v.productList(ix.Action)
	case "catalog_message":
		return v.catalogMessage(ix.Action)
	case "cta_url":
		return v.ctaURL(ix.Action)
	case "location_request_message":
		var a struct {
			Name string `json:"name"`
		}
		if err := decodeObject("interactive.action", ix.Action, &a); err != nil {
			return err
		}
		if a.Name != "send_location" {
			return invalid("interactive.action.name", "must be send_location")
		}
		return nil
	case "order_details":
		return v.orderDetails(ix.Action)
	case "order_status":
		return v.orderStatus(ix.Action)
	}
	return invalid("interactive.type", "is not a known interactive type")
}

func (v *vctx) header(hd ixHeader) error {
	switch hd.Type {
	case "text":
		if hd.Text == nil {
			return missing("interactive.header.text")
		}
		return text("interactive.header.text", *hd.Text, 1, maxHeaderText)
	case "image", "video", "document":
		ref := map[string]*mediaRef{"image": hd.Image, "video": hd.Video, "document": hd.Document}[hd.Type]
		if ref == nil {
			return missing("interactive.header." + hd.Type)
		}
		return v.mediaRef("interactive.header."+hd.Type, hd.Type, *ref, false, hd.Type == "document")
	case "":
		return missing("interactive.header.type")
	}
	return invalid("interactive.header.type", "must be text, image, video or document")
}

func (v *vctx) buttons(raw json.RawMessage) error {
	var a struct {
		Buttons []struct {
			Type  string `json:"type"`
			Reply *struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"reply"`
		} `json:"buttons"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	if len(a.Buttons) == 0 {
		return missing("interactive.action.buttons")
	}
	if len(a.Buttons) > 3 {
		return invalid("interactive.action.buttons", "may hold at most 3 buttons")
	}
	ids, titles := map[string]bool{}, map[string]bool{}
	for i, b := range a.Buttons {
		f := "interactive.action.buttons[" + itoa(i) + "]"
		if b.Type != "reply" {
			return invalid(f+".type", "must be reply")
		}
		if b.Reply == nil {
			return missing(f + ".reply")
		}
		if err := text(f+".reply.id", b.Reply.ID, 1, maxButtonID); err != nil {
			return err
		}
		if strings.TrimSpace(b.Reply.ID) != b.Reply.ID {
			return invalid(f+".reply.id", "must not have leading or trailing spaces")
		}
		if err := text(f+".reply.title", b.Reply.Title, 1, maxButtonTitle); err != nil {
			return err
		}
		if ids[b.Reply.ID] || titles[b.Reply.Title] {
			return invalid(f, "repeats another button's id or title")
		}
		ids[b.Reply.ID], titles[b.Reply.Title] = true, true
	}
	return nil
}

func (v *vctx) list(raw json.RawMessage) error {
	var a struct {
		Button   string      `json:"button"`
		Sections []ixSection `json:"sections"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	if err := text("interactive.action.button", a.Button, 1, maxListButton); err != nil {
		return err
	}
	if err := sectionCount(a.Sections); err != nil {
		return err
	}
	rows, ids := 0, map[string]bool{}
	for i, s := range a.Sections {
		f := "interactive.action.sections[" + itoa(i) + "]"
		if err := sectionTitle(f, s, len(a.Sections)); err != nil {
			return err
		}
		if len(s.Rows) == 0 {
			return missing(f + ".rows")
		}
		for j, r := range s.Rows {
			rf := f + ".rows[" + itoa(j) + "]"
			if err := text(rf+".id", r.ID, 1, maxRowID); err != nil {
				return err
			}
			if err := text(rf+".title", r.Title, 1, maxRowTitle); err != nil {
				return err
			}
			if err := text(rf+".description", r.Description, 0, maxRowDesc); err != nil {
				return err
			}
			if ids[r.ID] {
				return invalid(rf+".id", "repeats another row's id")
			}
			ids[r.ID] = true
		}
		rows += len(s.Rows)
	}
	if rows > maxRows {
		return invalid("interactive.action.sections", "may hold at most 10 rows in all")
	}
	return nil
}

func sectionCount(s []ixSection) error {
	if len(s) == 0 {
		return missing("interactive.action.sections")
	}
	if len(s) > maxSections {
		return invalid("interactive.action.sections", "may hold at most 10 sections")
	}
	return nil
}

// sectionTitle: a title is required when there is more than one section.
func sectionTitle(f string, s ixSection, n int) error {
	if s.Title == nil || *s.Title == "" {
		if n > 1 {
			return missing(f + ".title")
		}
		return nil
	}
	return text(f+".title", *s.Title, 1, maxSectionTitle)
}

// catalog checks that catalogID is the business's.
func (v *vctx) catalog(field, catalogID string) error {
	if catalogID == "" {
		return missing(field)
	}
	if !slices.Contains(v.b.CatalogIDs, catalogID) || v.h.cfg.Catalog == nil {
		return invalid(field, "does not name a catalog of this business")
	}
	return nil
}

func (v *vctx) productExists(field, catalogID, retailerID string) error {
	if retailerID == "" {
		return missing(field)
	}
	_, err := v.h.cfg.Catalog.ProductByRetailerID(v.ctx, catalogID, retailerID)
	if errors.Is(err, ErrNotFound) {
		return invalid(field, "does not name a product in the catalog")
	}
	return err
}

func (v *vctx) product(raw json.RawMessage) error {
	var a struct {
		CatalogID         string `json:"catalog_id"`
		ProductRetailerID string `json:"product_retailer_id"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	if err := v.catalog("interactive.action.catalog_id", a.CatalogID); err != nil {
		return err
	}
	return v.productExists("interactive.action.product_retailer_id", a.CatalogID, a.ProductRetailerID)
}

func (v *vctx) productList(raw json.RawMessage) error {
	var a struct {
		CatalogID string      `json:"catalog_id"`
		Sections  []ixSection `json:"sections"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	if err := v.catalog("interactive.action.catalog_id", a.CatalogID); err != nil {
		return err
	}
	if err := sectionCount(a.Sections); err != nil {
		return err
	}
	total := 0
	for i, s := range a.Sections {
		f := "interactive.action.sections[" + itoa(i) + "]"
		if err := sectionTitle(f, s, len(a.Sections)); err != nil {
			return err
		}
		if len(s.ProductItems) == 0 {
			return missing(f + ".product_items")
		}
		total += len(s.ProductItems)
		if total > maxProducts {
			return invalid("interactive.action.sections", "may hold at most 30 products in all")
		}
		for j, p := range s.ProductItems {
			if err := v.productExists(f+".product_items["+itoa(j)+"].product_retailer_id", a.CatalogID, p.ProductRetailerID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *vctx) catalogMessage(raw json.RawMessage) error {
	var a struct {
		Name       string `json:"name"`
		Parameters struct {
			Thumbnail string `json:"thumbnail_product_retailer_id"`
		} `json:"parameters"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	if a.Name != "catalog_message" {
		return invalid("interactive.action.name", "must be catalog_message")
	}
	if len(v.b.CatalogIDs) == 0 || v.h.cfg.Catalog == nil {
		return invalid("interactive", "the business has no catalog")
	}
	if a.Parameters.Thumbnail != "" {
		return v.productExists("interactive.action.parameters.thumbnail_product_retailer_id", v.b.CatalogIDs[0], a.Parameters.Thumbnail)
	}
	return nil
}

func (v *vctx) ctaURL(raw json.RawMessage) error {
	var a struct {
		Name       string `json:"name"`
		Parameters struct {
			DisplayText string `json:"display_text"`
			URL         string `json:"url"`
		} `json:"parameters"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	if a.Name != "cta_url" {
		return invalid("interactive.action.name", "must be cta_url")
	}
	if err := text("interactive.action.parameters.display_text", a.Parameters.DisplayText, 1, maxCTADisplay); err != nil {
		return err
	}
	if !httpURL(a.Parameters.URL) {
		return invalid("interactive.action.parameters.url", "must be an http(s) URL")
	}
	return nil
}

// money is {value, offset} (plus description on tax, shipping, discount).
type money struct {
	Value       *flexInt `json:"value"`
	Offset      *flexInt `json:"offset"`
	Description string   `json:"description"`
}

func (m *money) check(field string, offset *int64) (int64, error) {
	if m == nil {
		return 0, nil
	}
	if m.Value == nil || m.Offset == nil {
		return 0, missing(field + ".value and " + field + ".offset")
	}
	if m.Value.v < 0 {
		return 0, invalid(field+".value", "must not be negative")
	}
	if m.Offset.v != 100 && m.Offset.v != 1 && m.Offset.v != 1000 {
		return 0, invalid(field+".offset", "must be 100 (or 1 or 1000 for currencies with other minor units)")
	}
	if *offset == 0 {
		*offset = m.Offset.v
	} else if *offset != m.Offset.v {
		return 0, invalid(field+".offset", "must equal the other amounts' offset")
	}
	if runes(m.Description) > maxOrderDesc {
		return 0, invalid(field+".description", "may be at most 120 characters")
	}
	return m.Value.v, nil
}

var referenceRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,35}$`)

func (v *vctx) orderDetails(raw json.RawMessage) error {
	var a struct {
		Name       string `json:"name"`
		Parameters *struct {
			ReferenceID          string            `json:"reference_id"`
			Type                 string            `json:"type"`
			PaymentType          string            `json:"payment_type"`
			PaymentConfiguration string            `json:"payment_configuration"`
			PaymentSettings      []json.RawMessage `json:"payment_settings"`
			Currency             string            `json:"currency"`
			TotalAmount          *money            `json:"total_amount"`
			Order                *struct {
				Status     string `json:"status"`
				CatalogID  string `json:"catalog_id"`
				Expiration *struct {
					Timestamp   flexInt `json:"timestamp"`
					Description string  `json:"description"`
				} `json:"expiration"`
				Items []struct {
					RetailerID string   `json:"retailer_id"`
					Name       string   `json:"name"`
					Amount     *money   `json:"amount"`
					SaleAmount *money   `json:"sale_amount"`
					Quantity   *flexInt `json:"quantity"`
				} `json:"items"`
				Subtotal *money `json:"subtotal"`
				Tax      *money `json:"tax"`
				Shipping *money `json:"shipping"`
				Discount *money `json:"discount"`
			} `json:"order"`
		} `json:"parameters"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	const f = "interactive.action.parameters"
	if a.Name != "review_and_pay" {
		return invalid("interactive.action.name", "must be review_and_pay")
	}
	p := a.Parameters
	if p == nil {
		return missing(f)
	}
	if p.ReferenceID == "" {
		return missing(f + ".reference_id")
	}
	if !referenceRE.MatchString(p.ReferenceID) {
		return invalid(f+".reference_id", "must be 1 to 35 letters, digits, '_', '-' or '.'")
	}
	if p.Type != "digital-goods" && p.Type != "physical-goods" {
		return invalid(f+".type", "must be digital-goods or physical-goods")
	}
	if len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency {
		return invalid(f+".currency", "must be an ISO 4217 code")
	}
	switch p.PaymentType {
	case "br":
		if len(p.PaymentSettings) == 0 && !v.h.cfg.MessengerFillsPayment {
			return missing(f + ".payment_settings")
		}
		for i, s := range p.PaymentSettings {
			if err := paymentSetting(f+".payment_settings["+itoa(i)+"]", s); err != nil {
				return err
			}
		}
	case "upi":
		if p.PaymentConfiguration == "" && len(p.PaymentSettings) == 0 && !v.h.cfg.MessengerFillsPayment {
			return missing(f + ".payment_configuration or " + f + ".payment_settings")
		}
		for i, s := range p.PaymentSettings {
			if err := paymentSetting(f+".payment_settings["+itoa(i)+"]", s); err != nil {
				return err
			}
		}
	case "":
		return missing(f + ".payment_type")
	default:
		return invalid(f+".payment_type", "must be br or upi")
	}
	if p.TotalAmount == nil {
		return missing(f + ".total_amount")
	}
	var offset int64
	total, err := p.TotalAmount.check(f+".total_amount", &offset)
	if err != nil {
		return err
	}
	if o := p.Order; o != nil {
		of := f + ".order"
		if o.Status != "pending" {
			return invalid(of+".status", "must be pending in order_details")
		}
		if o.CatalogID != "" {
			if err := v.catalog(of+".catalog_id", o.CatalogID); err != nil {
				return err
			}
		}
		if e := o.Expiration; e != nil {
			if !e.Timestamp.set {
				return missing(of + ".expiration.timestamp")
			}
			if time.Unix(e.Timestamp.v, 0).Sub(v.now) < minExpiration {
				return invalid(of+".expiration.timestamp", "must be at least 300 seconds in the future")
			}
			if err := text(of+".expiration.description", e.Description, 0, maxOrderDesc); err != nil {
				return err
			}
		}
		if len(o.Items) == 0 {
			return missing(of + ".items")
		}
		if len(o.Items) > maxOrderItems {
			return invalid(of+".items", "may hold at most 999 items")
		}
		var sum int64
		for i, it := range o.Items {
			itf := of + ".items[" + itoa(i) + "]"
			if it.RetailerID == "" {
				return missing(itf + ".retailer_id")
			}
			if err := text(itf+".name", it.Name, 1, 200); err != nil {
				return err
			}
			if it.Quantity == nil || it.Quantity.v < 1 || it.Quantity.v > 1_000_000 {
				return invalid(itf+".quantity", "must be a positive integer")
			}
			if it.Amount == nil {
				return missing(itf + ".amount")
			}
			price, err := it.Amount.check(itf+".amount", &offset)
			if err != nil {
				return err
			}
			if it.SaleAmount != nil {
				sale, err := it.SaleAmount.check(itf+".sale_amount", &offset)
				if err != nil {
					return err
				}
				if sale > price {
					return invalid(itf+".sale_amount", "must not exceed amount")
				}
				price = sale
			}
			if o.CatalogID != "" {
				if err := v.productExists(itf+".retailer_id", o.CatalogID, it.RetailerID); err != nil {
					return err
				}
			}
			sum += price * it.Quantity.v
			if sum > 1e15 {
				return invalid(of+".items", "add up to an implausible amount")
			}
		}
		if o.Subtotal == nil {
			return missing(of + ".subtotal")
		}
		subtotal, err := o.Subtotal.check(of+".subtotal", &offset)
		if err != nil {
			return err
		}
		if subtotal != sum {
			return invalid(of+".subtotal", "must equal the sum of the items' (sale) amount times quantity: "+strconv.FormatInt(sum, 10))
		}
		tax, err := o.Tax.check(of+".tax", &offset)
		if err != nil {
			return err
		}
		shipping, err := o.Shipping.check(of+".shipping", &offset)
		if err != nil {
			return err
		}
		discount, err := o.Discount.check(of+".discount", &offset)
		if err != nil {
			return err
		}
		if want := subtotal + tax + shipping - discount; total != want {
			return invalid(f+".total_amount", "must equal subtotal + tax + shipping - discount: "+strconv.FormatInt(want, 10))
		}
	}
	if v.h.cfg.Conversations != nil {
		owner, err := v.h.cfg.Conversations.Reference(v.ctx, v.b.ID, p.ReferenceID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && owner != v.to {
			return invalid(f+".reference_id", "is already used for another customer's order")
		}
	}
	v.reference = p.ReferenceID
	return nil
}

// paymentSetting checks one payment_settings entry's required fields.
func paymentSetting(f string, raw json.RawMessage) error {
	var s map[string]json.RawMessage
	if err := decodeObject(f, raw, &s); err != nil {
		return err
	}
	var typ string
	if err := json.Unmarshal(s["type"], &typ); err != nil || typ == "" {
		return missing(f + ".type")
	}
	required := map[string][]string{
		"pix_dynamic_code": {"code", "merchant_name", "key", "key_type"},
		"payment_link":     {"uri"},
		"boleto":           {"digitable_line"},
		"offsite_card_pay": {"last_four_digits", "credential_id"},
		"upi_intent_link":  {"link"},
	}[typ]
	if required == nil {
		return invalid(f+".type", "must be pix_dynamic_code, payment_link, boleto, offsite_card_pay or upi_intent_link")
	}
	var inner map[string]any
	if err := decodeObject(f+"."+typ, s[typ], &inner); err != nil {
		return err
	}
	for _, k := range required {
		if str, _ := inner[k].(string); str == "" {
			return missing(f + "." + typ + "." + k)
		}
	}
	if typ == "pix_dynamic_code" {
		kt, _ := inner["key_type"].(string)
		if !slices.Contains([]string{"CPF", "CNPJ", "EMAIL", "PHONE", "EVP"}, kt) {
			return invalid(f+".pix_dynamic_code.key_type", "must be CPF, CNPJ, EMAIL, PHONE or EVP")
		}
	}
	if typ == "payment_link" && !httpURL(inner["uri"].(string)) {
		return invalid(f+".payment_link.uri", "must be an http(s) URL")
	}
	if typ == "upi_intent_link" && !strings.HasPrefix(inner["link"].(string), "upi://pay?") {
		return invalid(f+".upi_intent_link.link", "must be a upi://pay? link")
	}
	return nil
}

var orderStatuses = []string{"pending", "processing", "partially_shipped", "partially-shipped", "shipped", "completed", "canceled"}

func (v *vctx) orderStatus(raw json.RawMessage) error {
	var a struct {
		Name       string `json:"name"`
		Parameters *struct {
			ReferenceID string `json:"reference_id"`
			Order       *struct {
				Status      string `json:"status"`
				Description string `json:"description"`
			} `json:"order"`
			Payment *struct {
				Status    string  `json:"status"`
				Timestamp flexInt `json:"timestamp"`
			} `json:"payment"`
		} `json:"parameters"`
	}
	if err := decodeObject("interactive.action", raw, &a); err != nil {
		return err
	}
	const f = "interactive.action.parameters"
	if a.Name != "review_order" {
		return invalid("interactive.action.name", "must be review_order")
	}
	p := a.Parameters
	if p == nil {
		return missing(f)
	}
	if !referenceRE.MatchString(p.ReferenceID) {
		if p.ReferenceID == "" {
			return missing(f + ".reference_id")
		}
		return invalid(f+".reference_id", "must be 1 to 35 letters, digits, '_', '-' or '.'")
	}
	if p.Order == nil && p.Payment == nil {
		return missing(f + ".order or " + f + ".payment")
	}
	if o := p.Order; o != nil {
		if !slices.Contains(orderStatuses, o.Status) {
			return invalid(f+".order.status", "must be one of "+strings.Join(orderStatuses, ", "))
		}
		if err := text(f+".order.description", o.Description, 0, maxOrderDesc); err != nil {
			return err
		}
	}
	if pay := p.Payment; pay != nil && !slices.Contains([]string{"pending", "captured", "failed"}, pay.Status) {
		return invalid(f+".payment.status", "must be pending, captured or failed")
	}
	if v.h.cfg.Conversations != nil {
		owner, err := v.h.cfg.Conversations.Reference(v.ctx, v.b.ID, p.ReferenceID)
		if errors.Is(err, ErrNotFound) || err == nil && owner != v.to {
			return invalid(f+".reference_id", "does not name an order sent to this customer with order_details")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
