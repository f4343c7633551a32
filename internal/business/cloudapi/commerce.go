package cloudapi

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// flexBool accepts true/false or "true"/"false".
type flexBool struct {
	set bool
	v   bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch s {
	case "true", "1":
		f.set, f.v = true, true
	case "false", "0":
		f.set, f.v = true, false
	case "null":
	default:
		return &json.UnmarshalTypeError{Value: s, Type: reflectBool}
	}
	return nil
}

// flexStrings accepts a JSON array of strings, or a string holding one
// (form-encoded Graph calls send arrays that way).
type flexStrings struct {
	set bool
	v   []string
}

func (f *flexStrings) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		if strings.HasPrefix(strings.TrimSpace(s), "[") {
			b = []byte(s)
		} else {
			f.set, f.v = true, []string{s}
			return nil
		}
	}
	if err := json.Unmarshal(b, &f.v); err != nil {
		return err
	}
	f.set = true
	return nil
}

// params reads a POST's parameters from a JSON body, or from the query
// and a form-encoded body (the Graph API takes either), into v.
func params(q *request, v any) error {
	ct, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := readBody(q.r, maxRequestBody)
		if err != nil {
			return err
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := decodeObject("body", body, v); err != nil {
				return fail(ErrInvalidParameter, "%s", err.(*Error).Details)
			}
			return nil
		}
	}
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxRequestBody)
	if err := q.r.ParseForm(); err != nil {
		return fail(ErrInvalidParameter, "the parameters could not be read")
	}
	m := map[string]string{}
	for k, vs := range q.r.Form {
		if k != "access_token" && len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	b, _ := json.Marshal(m)
	if err := decodeObject("body", b, v); err != nil {
		return fail(ErrInvalidParameter, "%s", err.(*Error).Details)
	}
	return nil
}

var verticals = []string{"OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE",
	"GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT",
	"ALCOHOL", "ONLINE_GAMBLING", "PHYSICAL_GAMBLING", "OTC_DRUGS", "UNDEFINED"}

func (h *Handler) getProfile(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeProfile); err != nil {
		return err
	}
	p, err := h.cfg.Profiles.Profile(q.ctx, pn.ID)
	if errors.Is(err, ErrNotFound) {
		p, err = Profile{}, nil
	}
	if err != nil {
		return err
	}
	websites := p.Websites
	if websites == nil {
		websites = []string{}
	}
	all := map[string]any{"about": p.About, "address": p.Address, "description": p.Description,
		"email": p.Email, "profile_picture_url": p.ProfilePictureURL, "websites": websites, "vertical": p.Vertical}
	out := map[string]any{"messaging_product": "whatsapp"}
	if f := q.r.URL.Query().Get("fields"); f != "" {
		for _, name := range strings.Split(f, ",") {
			if v, ok := all[strings.TrimSpace(name)]; ok {
				out[strings.TrimSpace(name)] = v
			}
		}
	} else {
		for k, v := range all {
			out[k] = v
		}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"data": []any{out}})
	return nil
}

func (h *Handler) postProfile(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeProfile); err != nil {
		return err
	}
	var in struct {
		MessagingProduct     string      `json:"messaging_product"`
		About                *string     `json:"about"`
		Address              *string     `json:"address"`
		Description          *string     `json:"description"`
		Email                *string     `json:"email"`
		ProfilePictureURL    *string     `json:"profile_picture_url"`
		ProfilePictureHandle *string     `json:"profile_picture_handle"`
		Websites             flexStrings `json:"websites"`
		Vertical             *string     `json:"vertical"`
	}
	if err := params(q, &in); err != nil {
		return err
	}
	if in.MessagingProduct != "whatsapp" {
		return fail(ErrInvalidParameter, "The parameter messaging_product is required and must be whatsapp")
	}
	u := ProfileUpdate{About: in.About, Address: in.Address, Description: in.Description, Email: in.Email,
		ProfilePictureURL: in.ProfilePictureURL, ProfilePictureHandle: in.ProfilePictureHandle, Vertical: in.Vertical}
	checks := []struct {
		f        string
		s        *string
		min, max int
	}{{"about", in.About, 1, 139}, {"address", in.Address, 0, 256}, {"description", in.Description, 0, 256}, {"email", in.Email, 0, 128}}
	for _, c := range checks {
		if c.s != nil {
			if n := runes(*c.s); n < c.min || n > c.max {
				return fail(ErrInvalidParameter, "%s must be %d to %d characters", c.f, c.min, c.max)
			}
		}
	}
	if in.Email != nil && *in.Email != "" && !strings.Contains(*in.Email, "@") {
		return fail(ErrInvalidParameter, "email must be an email address")
	}
	if in.ProfilePictureURL != nil && *in.ProfilePictureURL != "" && !httpURL(*in.ProfilePictureURL) {
		return fail(ErrInvalidParameter, "profile_picture_url must be an http(s) URL")
	}
	if in.Websites.set {
		if len(in.Websites.v) > 2 {
			return fail(ErrInvalidParameter, "websites may hold at most 2 URLs")
		}
		for _, w := range in.Websites.v {
			if !httpURL(w) || len(w) > 256 {
				return fail(ErrInvalidParameter, "websites must be http(s) URLs of at most 256 characters")
			}
		}
		u.Websites = &in.Websites.v
	}
	if in.Vertical != nil && !slices.Contains(verticals, *in.Vertical) {
		return fail(ErrInvalidParameter, "vertical must be one of %s", strings.Join(verticals, ", "))
	}
	if err := h.cfg.Profiles.UpdateProfile(q.ctx, pn.ID, u); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

func (h *Handler) getCommerceSettings(q *request, pn PhoneNumber) error {
	if !q.token.Has(ScopeCatalog) && !q.token.Has(ScopeProfile) {
		return fail(ErrPermission, "the access token lacks the catalog scope")
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"data": []any{map[string]any{
		"id": pn.ID, "is_cart_enabled": pn.Commerce.CartEnabled, "is_catalog_visible": pn.Commerce.CatalogVisible}}})
	return nil
}

func (h *Handler) postCommerceSettings(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeCatalog); err != nil {
		return err
	}
	var in struct {
		Cart    flexBool `json:"is_cart_enabled"`
		Catalog flexBool `json:"is_catalog_visible"`
	}
	if err := params(q, &in); err != nil {
		return err
	}
	if !in.Cart.set && !in.Catalog.set {
		return fail(ErrInvalidParameter, "is_cart_enabled or is_catalog_visible is required")
	}
	cs := pn.Commerce
	if in.Cart.set {
		cs.CartEnabled = in.Cart.v
	}
	if in.Catalog.set {
		cs.CatalogVisible = in.Catalog.v
	}
	if err := h.cfg.Directory.SetCommerceSettings(q.ctx, pn.ID, cs); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// phoneJSON is a phone number as GET {phone} and {waba}/phone_numbers
// show it.
func (h *Handler) phoneJSON(pn PhoneNumber, b Business) map[string]any {
	mps := pn.Throughput
	if mps <= 0 {
		mps = h.cfg.Throughput
	}
	level := "STANDARD"
	if mps >= 1000 {
		level = "HIGH"
	}
	quality := pn.QualityRating
	if quality == "" {
		quality = "GREEN"
	}
	return map[string]any{
		"id": pn.ID, "display_phone_number": pn.DisplayPhoneNumber, "verified_name": pn.VerifiedName,
		"quality_rating": quality, "code_verification_status": "VERIFIED", "status": "CONNECTED",
		"name_status": "APPROVED", "platform_type": "CLOUD_API", "account_mode": "LIVE",
		"throughput":           map[string]any{"level": level, "messages_per_second": mps},
		"messaging_limit_tier": b.Tier.Name(),
		"whatsapp_business_manager_messaging_limit": b.Tier.Name(),
	}
}

func pick(all map[string]any, fields string) map[string]any {
	if fields == "" {
		return all
	}
	out := map[string]any{"id": all["id"]}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := all[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

func (h *Handler) getPhoneNumber(q *request, pn PhoneNumber) error {
	b, err := h.cfg.Directory.Business(q.ctx, pn.WABAID)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, pick(h.phoneJSON(pn, b), q.r.URL.Query().Get("fields")))
	return nil
}

func (h *Handler) listPhoneNumbers(q *request, b Business) error {
	data := []any{}
	for _, id := range b.PhoneNumberIDs {
		pn, err := h.cfg.Directory.PhoneNumber(q.ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		data = append(data, pick(h.phoneJSON(pn, b), q.r.URL.Query().Get("fields")))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"data": data, "paging": map[string]any{"cursors": map[string]string{}}})
	return nil
}

func (h *Handler) getBusiness(q *request, b Business) error {
	all := map[string]any{"id": b.ID, "name": b.Name, "currency": b.Currency, "timezone_id": b.TimezoneID,
		"message_template_namespace": "parley_" + b.ID, "account_review_status": "APPROVED"}
	writeJSON(q.w, http.StatusOK, pick(all, q.r.URL.Query().Get("fields")))
	return nil
}

// Products.

var availabilities = []string{"in stock", "out of stock", "preorder", "available for order", "discontinued", "pending", "mark_as_sold"}

// currencyExponent is the number of minor-unit digits of a currency.
func currencyExponent(c string) int {
	switch c {
	case "JPY", "KRW", "CLP", "VND", "ISK", "UGX", "XAF", "XOF", "PYG":
		return 0
	case "BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD":
		return 3
	}
	return 2
}

// FormatPrice renders minor units as Graph's product price string, e.g.
// "R$149.90"; exact, no floats.
func FormatPrice(minor int64, currency string) string {
	symbols := map[string]string{"USD": "$", "BRL": "R$", "EUR": "€", "GBP": "£", "INR": "₹", "IDR": "Rp", "JPY": "¥"}
	exp := currencyExponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	sym, ok := symbols[currency]
	if !ok {
		sym = currency + " "
	}
	if neg {
		return "-" + sym + s
	}
	return sym + s
}

func productJSON(p Product) map[string]any {
	m := map[string]any{"id": p.ID, "retailer_id": p.RetailerID, "name": p.Name, "description": p.Description,
		"brand": p.Brand, "url": p.URL, "image_url": p.ImageURL, "currency": p.Currency,
		"price": FormatPrice(p.Price, p.Currency), "price_amount": p.Price,
		"availability": p.Availability, "condition": p.Condition, "category": p.Category,
		"retailer_product_group_id": p.RetailerProductGroupID}
	if p.SalePrice > 0 {
		m["sale_price"] = FormatPrice(p.SalePrice, p.Currency)
		m["sale_price_amount"] = p.SalePrice
	}
	if p.Inventory != nil {
		m["inventory"] = *p.Inventory
	}
	return m
}

var defaultProductFields = "id,retailer_id,name,price,currency,availability,inventory"

func (h *Handler) listProducts(q *request) error {
	if err := need(q, ScopeCatalog); err != nil {
		return err
	}
	all, err := h.cfg.Catalog.Products(q.ctx, q.id)
	if err != nil {
		return err
	}
	p := q.r.URL.Query()
	var list []Product
	var filter struct {
		Name, RetailerID struct {
			IContains string `json:"i_contains"`
			Eq        string `json:"eq"`
		}
	}
	if f := p.Get("filter"); f != "" {
		var raw map[string]struct {
			IContains string `json:"i_contains"`
			Eq        string `json:"eq"`
		}
		if err := json.Unmarshal([]byte(f), &raw); err != nil {
			return fail(ErrInvalidParameter, "filter must be a JSON object such as {\"name\":{\"i_contains\":\"book\"}}")
		}
		filter.Name, filter.RetailerID = raw["name"], raw["retailer_id"]
	}
	for _, pr := range all {
		if c := filter.Name.IContains; c != "" && !strings.Contains(strings.ToLower(pr.Name), strings.ToLower(c)) {
			continue
		}
		if e := filter.Name.Eq; e != "" && pr.Name != e {
			continue
		}
		if e := filter.RetailerID.Eq; e != "" && pr.RetailerID != e {
			continue
		}
		if c := filter.RetailerID.IContains; c != "" && !strings.Contains(strings.ToLower(pr.RetailerID), strings.ToLower(c)) {
			continue
		}
		list = append(list, pr)
	}
	idx, paging, err := paginate(len(list), p.Get("limit"), p.Get("after"), p.Get("before"))
	if err != nil {
		return err
	}
	fields := p.Get("fields")
	if fields == "" {
		fields = defaultProductFields
	}
	data := []any{}
	for _, i := range idx {
		data = append(data, pick(productJSON(list[i]), fields))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"data": data, "paging": paging, "summary": map[string]int{"total_count": len(list)}})
	return nil
}

type productIn struct {
	RetailerID             *string  `json:"retailer_id"`
	Name                   *string  `json:"name"`
	Description            *string  `json:"description"`
	Brand                  *string  `json:"brand"`
	URL                    *string  `json:"url"`
	ImageURL               *string  `json:"image_url"`
	Price                  *flexInt `json:"price"`
	SalePrice              *flexInt `json:"sale_price"`
	Currency               *string  `json:"currency"`
	Availability           *string  `json:"availability"`
	Inventory              *flexInt `json:"inventory"`
	Condition              *string  `json:"condition"`
	Category               *string  `json:"category"`
	RetailerProductGroupID *string  `json:"retailer_product_group_id"`
}

func (in *productIn) check() error {
	str := func(f string, s *string, max int) error {
		if s != nil && runes(*s) > max {
			return fail(ErrInvalidParameter, "%s may be at most %d characters", f, max)
		}
		return nil
	}
	for _, c := range []struct {
		f string
		s *string
		n int
	}{{"retailer_id", in.RetailerID, 100}, {"name", in.Name, 150}, {"description", in.Description, 9999},
		{"brand", in.Brand, 100}, {"category", in.Category, 250}, {"retailer_product_group_id", in.RetailerProductGroupID, 100}} {
		if err := str(c.f, c.s, c.n); err != nil {
			return err
		}
	}
	for _, u := range []struct {
		f string
		s *string
	}{{"url", in.URL}, {"image_url", in.ImageURL}} {
		if u.s != nil && *u.s != "" && !httpURL(*u.s) {
			return fail(ErrInvalidParameter, "%s must be an http(s) URL", u.f)
		}
	}
	if in.Price != nil && in.Price.v < 0 || in.SalePrice != nil && in.SalePrice.v < 0 {
		return fail(ErrInvalidParameter, "price must be a non-negative integer in minor units (cents)")
	}
	if in.Inventory != nil && in.Inventory.v < 0 {
		return fail(ErrInvalidParameter, "inventory must not be negative")
	}
	if in.Currency != nil && (len(*in.Currency) != 3 || strings.ToUpper(*in.Currency) != *in.Currency) {
		return fail(ErrInvalidParameter, "currency must be an ISO 4217 code")
	}
	if in.Availability != nil && !slices.Contains(availabilities, *in.Availability) {
		return fail(ErrInvalidParameter, "availability must be one of %s", strings.Join(availabilities, ", "))
	}
	if in.Condition != nil && !slices.Contains([]string{"new", "refurbished", "used"}, *in.Condition) {
		return fail(ErrInvalidParameter, "condition must be new, refurbished or used")
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h *Handler) createProduct(q *request) error {
	if err := need(q, ScopeCatalog); err != nil {
		return err
	}
	var in productIn
	if err := params(q, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if deref(in.RetailerID) == "" || deref(in.Name) == "" || in.Price == nil || deref(in.Currency) == "" {
		return fail(ErrInvalidParameter, "retailer_id, name, price and currency are required")
	}
	p := Product{CatalogID: q.id, RetailerID: *in.RetailerID, Name: *in.Name, Description: deref(in.Description),
		Brand: deref(in.Brand), URL: deref(in.URL), ImageURL: deref(in.ImageURL), Price: in.Price.v,
		Currency: *in.Currency, Availability: deref(in.Availability), Condition: deref(in.Condition),
		Category: deref(in.Category), RetailerProductGroupID: deref(in.RetailerProductGroupID)}
	if in.SalePrice != nil {
		p.SalePrice = in.SalePrice.v
	}
	if in.Inventory != nil {
		n := in.Inventory.v
		p.Inventory = &n
	}
	if p.Condition == "" {
		p.Condition = "new"
	}
	created, err := h.cfg.Catalog.CreateProduct(q.ctx, q.id, p)
	if errors.Is(err, ErrExists) {
		return fail(ErrInvalidParameter, "a product with retailer_id %s already exists in the catalog", p.RetailerID)
	}
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]string{"id": created.ID})
	return nil
}

func (h *Handler) getProduct(q *request, p Product) error {
	if err := need(q, ScopeCatalog); err != nil {
		return err
	}
	fields := q.r.URL.Query().Get("fields")
	if fields == "" {
		fields = defaultProductFields
	}
	writeJSON(q.w, http.StatusOK, pick(productJSON(p), fields))
	return nil
}

func (h *Handler) updateProduct(q *request, p Product) error {
	if err := need(q, ScopeCatalog); err != nil {
		return err
	}
	var in productIn
	if err := params(q, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if in.RetailerID != nil && *in.RetailerID != p.RetailerID {
		return fail(ErrInvalidParameter, "retailer_id cannot be changed")
	}
	u := ProductUpdate{Name: in.Name, Description: in.Description, Brand: in.Brand, URL: in.URL, ImageURL: in.ImageURL,
		Currency: in.Currency, Availability: in.Availability, Condition: in.Condition, Category: in.Category,
		RetailerProductGroupID: in.RetailerProductGroupID}
	if in.Price != nil {
		u.Price = &in.Price.v
	}
	if in.SalePrice != nil {
		u.SalePrice = &in.SalePrice.v
	}
	if in.Inventory != nil {
		u.Inventory = &in.Inventory.v
	}
	if _, err := h.cfg.Catalog.UpdateProduct(q.ctx, p.ID, u); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

func (h *Handler) deleteProduct(q *request, p Product) error {
	if err := need(q, ScopeCatalog); err != nil {
		return err
	}
	if err := h.cfg.Catalog.DeleteProduct(q.ctx, p.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}
