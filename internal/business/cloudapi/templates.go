package cloudapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/parley-im/parley/internal/business/webhook"
)

// defComponent is one component of a template definition (create shape).
type defComponent struct {
	Type    string          `json:"type"`
	Format  string          `json:"format,omitempty"`
	Text    string          `json:"text,omitempty"`
	Buttons []defButton     `json:"buttons,omitempty"`
	Example json.RawMessage `json:"example,omitempty"`
	// AUTHENTICATION body options, passed through.
	AddSecurityRecommendation *bool `json:"add_security_recommendation,omitempty"`
	CodeExpirationMinutes     *int  `json:"code_expiration_minutes,omitempty"`
}

type defButton struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
	OTPType     string          `json:"otp_type,omitempty"`
	FlowID      string          `json:"flow_id,omitempty"`
}

var (
	templateNameRE        = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languageRE            = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	placeholderRE         = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)
	namedParamRE          = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	trailingPlaceholderRE = regexp.MustCompile(`\{\{\s*[A-Za-z0-9_]+\s*\}\}$`)
	buttonTypes           = []string{"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "CATALOG", "MPM", "FLOW"}
	categories            = []string{"MARKETING", "UTILITY", "AUTHENTICATION"}
)

// placeholders returns the distinct placeholders of s in order of first
// appearance, and whether they are positional.
func placeholders(s string) (names []string, positional, named bool) {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		n := m[1]
		if _, err := strconv.Atoi(n); err == nil {
			positional = true
		} else {
			named = true
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, positional, named
}

// checkPlaceholders: positional ones must be {{1}}..{{n}}; named ones
// lowercase; never mixed, and matching the template's parameter_format.
func checkPlaceholders(field, s, format string) error {
	names, pos, named := placeholders(s)
	if pos && named {
		return fail(ErrInvalidParameter, "%s mixes positional and named placeholders", field)
	}
	if pos && format == "NAMED" || named && format != "NAMED" {
		return fail(ErrInvalidParameter, "%s placeholders do not match parameter_format %s", field, format)
	}
	if pos {
		nums := make([]int, 0, len(names))
		for _, n := range names {
			i, _ := strconv.Atoi(n)
			nums = append(nums, i)
		}
		sort.Ints(nums)
		for i, n := range nums {
			if n != i+1 {
				return fail(ErrInvalidParameter, "%s placeholders must be numbered {{1}} to {{%d}} without gaps", field, len(nums))
			}
		}
	}
	for _, n := range names {
		if named && !namedParamRE.MatchString(n) {
			return fail(ErrInvalidParameter, "%s placeholder {{%s}} must be lowercase letters, digits and underscores", field, n)
		}
	}
	return nil
}

type templateCreate struct {
	Name            string          `json:"name"`
	Language        string          `json:"language"`
	Category        string          `json:"category"`
	ParameterFormat string          `json:"parameter_format"`
	Components      []defComponent  `json:"components"`
	AllowCategory   json.RawMessage `json:"allow_category_change"`
}

// validateDefinition checks a template definition and returns its
// normalized components (types uppercase).
func validateDefinition(t *templateCreate) error {
	if !templateNameRE.MatchString(t.Name) {
		return fail(ErrInvalidParameter, "name must be 1 to 512 lowercase letters, digits and underscores")
	}
	if !languageRE.MatchString(t.Language) {
		return fail(ErrInvalidParameter, "language must be a code such as en or pt_BR")
	}
	t.Category = strings.ToUpper(t.Category)
	if !slices.Contains(categories, t.Category) {
		return fail(ErrInvalidParameter, "category must be MARKETING, UTILITY or AUTHENTICATION")
	}
	t.ParameterFormat = strings.ToUpper(t.ParameterFormat)
	if t.ParameterFormat == "" {
		t.ParameterFormat = "POSITIONAL"
	}
	if t.ParameterFormat != "POSITIONAL" && t.ParameterFormat != "NAMED" {
		return fail(ErrInvalidParameter, "parameter_format must be POSITIONAL or NAMED")
	}
	if len(t.Components) == 0 {
		return fail(ErrInvalidParameter, "components are required")
	}
	seen := map[string]bool{}
	for i := range t.Components {
		c := &t.Components[i]
		c.Type = strings.ToUpper(c.Type)
		c.Format = strings.ToUpper(c.Format)
		f := "components[" + itoa(i) + "]"
		if seen[c.Type] {
			return fail(ErrInvalidParameter, "%s: a template has at most one %s", f, c.Type)
		}
		seen[c.Type] = true
		switch c.Type {
		case "HEADER":
			switch c.Format {
			case "TEXT":
				if n := runes(c.Text); n == 0 || n > maxHeaderText {
					return fail(ErrInvalidParameter, "%s.text must be 1 to 60 characters", f)
				}
				if names, _, _ := placeholders(c.Text); len(names) > 1 {
					return fail(ErrInvalidParameter, "%s.text may have at most one placeholder", f)
				}
				if err := checkPlaceholders(f+".text", c.Text, t.ParameterFormat); err != nil {
					return err
				}
			case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
			default:
				return fail(ErrInvalidParameter, "%s.format must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION", f)
			}
		case "BODY":
			if t.Category != "AUTHENTICATION" || c.Text != "" {
				if n := runes(c.Text); n == 0 || n > maxBodyText {
					return fail(ErrInvalidParameter, "%s.text must be 1 to 1024 characters", f)
				}
				if err := checkPlaceholders(f+".text", c.Text, t.ParameterFormat); err != nil {
					return err
				}
			}
		case "FOOTER":
			if t.Category != "AUTHENTICATION" {
				if n := runes(c.Text); n == 0 || n > maxFooterText {
					return fail(ErrInvalidParameter, "%s.text must be 1 to 60 characters", f)
				}
				if names, _, _ := placeholders(c.Text); len(names) > 0 {
					return fail(ErrInvalidParameter, "%s.text may not have placeholders", f)
				}
			}
		case "BUTTONS":
			if len(c.Buttons) == 0 || len(c.Buttons) > 10 {
				return fail(ErrInvalidParameter, "%s.buttons must hold 1 to 10 buttons", f)
			}
			for j, b := range c.Buttons {
				bf := f + ".buttons[" + itoa(j) + "]"
				b.Type = strings.ToUpper(b.Type)
				c.Buttons[j].Type = b.Type
				if !slices.Contains(buttonTypes, b.Type) {
					return fail(ErrInvalidParameter, "%s.type must be one of %s", bf, strings.Join(buttonTypes, ", "))
				}
				if b.Type != "OTP" && (runes(b.Text) == 0 || runes(b.Text) > 25) {
					return fail(ErrInvalidParameter, "%s.text must be 1 to 25 characters", bf)
				}
				switch b.Type {
				case "URL":
					u := placeholderRE.ReplaceAllString(b.URL, "x")
					if !httpURL(u) {
						return fail(ErrInvalidParameter, "%s.url must be an http(s) URL", bf)
					}
					if names, _, _ := placeholders(b.URL); len(names) > 1 || len(names) == 1 && !trailingPlaceholderRE.MatchString(b.URL) {
						return fail(ErrInvalidParameter, "%s.url may have one placeholder, at its end", bf)
					}
				case "PHONE_NUMBER":
					if _, ok := normalizeRecipient(b.PhoneNumber); !ok {
						return fail(ErrInvalidParameter, "%s.phone_number must be a phone number", bf)
					}
				}
			}
		default:
			return fail(ErrInvalidParameter, "%s.type must be HEADER, BODY, FOOTER or BUTTONS", f)
		}
	}
	if !seen["BODY"] {
		return fail(ErrInvalidParameter, "a template needs a BODY component")
	}
	return nil
}

func templateJSON(t Template) map[string]any {
	m := map[string]any{"id": t.ID, "name": t.Name, "language": t.Language, "status": t.Status,
		"category": t.Category, "components": t.Components}
	if t.ParameterFormat != "" {
		m["parameter_format"] = t.ParameterFormat
	}
	if t.RejectedReason != "" {
		m["rejected_reason"] = t.RejectedReason
	}
	return m
}

func (h *Handler) createTemplate(q *request, b Business) error {
	if err := need(q, ScopeTemplates); err != nil {
		return err
	}
	body, err := readBody(q.r, maxRequestBody)
	if err != nil {
		return err
	}
	var tc templateCreate
	if err := decodeObject("template", body, &tc); err != nil {
		return fail(ErrInvalidParameter, "%s", err.(*Error).Details)
	}
	if err := validateDefinition(&tc); err != nil {
		return err
	}
	comps, err := json.Marshal(tc.Components)
	if err != nil {
		return err
	}
	t := Template{ID: NewID(), WABAID: b.ID, Name: tc.Name, Language: tc.Language, Category: tc.Category,
		ParameterFormat: tc.ParameterFormat, Components: comps, Status: "APPROVED", Created: h.now()}
	reason := "NONE"
	if h.cfg.ReviewTemplate != nil {
		t.Status, reason = h.cfg.ReviewTemplate(t)
		if t.Status == "REJECTED" {
			t.RejectedReason = reason
		}
	}
	if err := h.cfg.Templates.CreateTemplate(q.ctx, t); err != nil {
		if errors.Is(err, ErrExists) {
			return fail(ErrDuplicateTemplate, "a template named %s already exists in %s", t.Name, t.Language)
		}
		return err
	}
	if h.cfg.Events != nil {
		ev, err := webhook.FieldEvent(t.ID+"/"+t.Status, b.ID, "message_template_status_update", map[string]any{
			"event": t.Status, "message_template_id": json.Number(t.ID), "message_template_name": t.Name,
			"message_template_language": t.Language, "reason": reason, "message_template_category": t.Category,
		})
		if err == nil {
			_, err = h.cfg.Events.Enqueue(q.ctx, ev)
		}
		if err != nil {
			h.log.Warn("cloudapi: template status webhook not queued", "err", err)
		}
	}
	writeJSON(q.w, http.StatusOK, map[string]string{"id": t.ID, "status": t.Status, "category": t.Category})
	return nil
}

func (h *Handler) listTemplates(q *request, b Business) error {
	if err := need(q, ScopeTemplates); err != nil {
		return err
	}
	all, err := h.cfg.Templates.Templates(q.ctx, b.ID)
	if err != nil {
		return err
	}
	p := q.r.URL.Query()
	var list []Template
	for _, t := range all {
		if n := p.Get("name"); n != "" && !strings.Contains(t.Name, n) {
			continue
		}
		if s := p.Get("status"); s != "" && !strings.EqualFold(s, t.Status) {
			continue
		}
		if c := p.Get("category"); c != "" && !strings.EqualFold(c, t.Category) {
			continue
		}
		if l := p.Get("language"); l != "" && l != t.Language {
			continue
		}
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	data := make([]map[string]any, 0)
	page, cursors, err := paginate(len(list), p.Get("limit"), p.Get("after"), p.Get("before"))
	if err != nil {
		return err
	}
	for _, i := range page {
		data = append(data, templateJSON(list[i]))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"data": data, "paging": cursors})
	return nil
}

// paginate picks a page of n items by cursor: cursors are opaque (base64
// of the index).
func paginate(n int, limitS, after, before string) ([]int, map[string]any, error) {
	limit := 25
	if limitS != "" {
		l, err := strconv.Atoi(limitS)
		if err != nil || l < 1 {
			return nil, nil, fail(ErrInvalidParameter, "limit must be a positive integer")
		}
		limit = min(l, 1000)
	}
	start, end := 0, n
	dec := func(c string) (int, error) {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return 0, fail(ErrInvalidParameter, "invalid paging cursor")
		}
		i, err := strconv.Atoi(string(b))
		if err != nil || i < 0 {
			return 0, fail(ErrInvalidParameter, "invalid paging cursor")
		}
		return i, nil
	}
	if after != "" {
		i, err := dec(after)
		if err != nil {
			return nil, nil, err
		}
		start = min(i+1, n)
	}
	if before != "" {
		i, err := dec(before)
		if err != nil {
			return nil, nil, err
		}
		end = min(i, n)
		start = max(0, end-limit)
	}
	end = min(end, start+limit)
	var idx []int
	for i := start; i < end; i++ {
		idx = append(idx, i)
	}
	enc := func(i int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))) }
	paging := map[string]any{}
	if len(idx) > 0 {
		paging["cursors"] = map[string]string{"before": enc(idx[0]), "after": enc(idx[len(idx)-1])}
	} else {
		paging["cursors"] = map[string]string{}
	}
	return idx, paging, nil
}

func (h *Handler) getTemplate(q *request, t Template) error {
	if err := need(q, ScopeTemplates); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, templateJSON(t))
	return nil
}

func (h *Handler) deleteTemplates(q *request, b Business) error {
	if err := need(q, ScopeTemplates); err != nil {
		return err
	}
	p := q.r.URL.Query()
	name, hsm := p.Get("name"), p.Get("hsm_id")
	if name == "" {
		return fail(ErrInvalidParameter, "name is required")
	}
	all, err := h.cfg.Templates.Templates(q.ctx, b.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, t := range all {
		if t.Name != name || hsm != "" && t.ID != hsm || p.Get("language") != "" && t.Language != p.Get("language") {
			continue
		}
		if err := h.cfg.Templates.DeleteTemplate(q.ctx, t.ID); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fail(ErrInvalidParameter, "no template named %s", name)
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// Send-time components (lowercase types).
type sendComponent struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type"`
	Index      flexInt     `json:"index"`
	Parameters []sendParam `json:"parameters"`
}

type sendParam struct {
	Type          string  `json:"type"`
	ParameterName string  `json:"parameter_name"`
	Text          *string `json:"text"`
	Payload       *string `json:"payload"`
	Currency      *struct {
		FallbackValue string  `json:"fallback_value"`
		Code          string  `json:"code"`
		Amount1000    flexInt `json:"amount_1000"`
	} `json:"currency"`
	DateTime *struct {
		FallbackValue string `json:"fallback_value"`
	} `json:"date_time"`
	Image    *mediaRef       `json:"image"`
	Video    *mediaRef       `json:"video"`
	Document *mediaRef       `json:"document"`
	Location json.RawMessage `json:"location"`
	Action   json.RawMessage `json:"action"`
}

// value renders a text-ish parameter: text, or the fallback of currency
// and date_time (the Cloud API always uses the fallback).
func (p sendParam) value(field string) (string, error) {
	switch p.Type {
	case "text":
		if p.Text == nil {
			return "", missing(field + ".text")
		}
		if runes(*p.Text) > 32768 {
			return "", fail(ErrTemplateTooLong, "%s.text is too long", field)
		}
		return *p.Text, nil
	case "currency":
		if p.Currency == nil || p.Currency.FallbackValue == "" {
			return "", missing(field + ".currency.fallback_value")
		}
		if len(p.Currency.Code) != 3 || !p.Currency.Amount1000.set {
			return "", missing(field + ".currency.code and amount_1000")
		}
		return p.Currency.FallbackValue, nil
	case "date_time":
		if p.DateTime == nil || p.DateTime.FallbackValue == "" {
			return "", missing(field + ".date_time.fallback_value")
		}
		return p.DateTime.FallbackValue, nil
	}
	return "", fail(ErrTemplateParamFormat, "%s.type must be text, currency or date_time", field)
}

// substitute fills s's placeholders from params, positional by order or by
// parameter_name; the count must match exactly.
func substitute(field, s, format string, params []sendParam) (string, error) {
	names, _, _ := placeholders(s)
	if len(params) != len(names) {
		return "", fail(ErrTemplateParamCount, "%s expects %d parameters, got %d", field, len(names), len(params))
	}
	values := map[string]string{}
	for i, p := range params {
		pf := field + ".parameters[" + itoa(i) + "]"
		v, err := p.value(pf)
		if err != nil {
			return "", err
		}
		key := strconv.Itoa(i + 1)
		if format == "NAMED" {
			if p.ParameterName == "" {
				return "", fail(ErrTemplateParamFormat, "%s.parameter_name is required for a NAMED template", pf)
			}
			key = p.ParameterName
			if !slices.Contains(names, key) {
				return "", fail(ErrTemplateParamCount, "%s.parameter_name %q is not a placeholder of the template", pf, key)
			}
		}
		values[key] = v
	}
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		return values[placeholderRE.FindStringSubmatch(m)[1]]
	}), nil
}

// template validates a template send and renders it for delivery.
func (v *vctx) template(raw json.RawMessage) (*RenderedTemplate, error) {
	var req struct {
		Name     string `json:"name"`
		Language *struct {
			Code   string `json:"code"`
			Policy string `json:"policy"`
		} `json:"language"`
		Components []sendComponent `json:"components"`
	}
	if err := decodeObject("template", raw, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, missing("template.name")
	}
	if req.Language == nil || req.Language.Code == "" {
		return nil, missing("template.language.code")
	}
	if p := req.Language.Policy; p != "" && p != "deterministic" {
		return nil, invalid("template.language.policy", "must be deterministic")
	}
	if v.h.cfg.Templates == nil {
		return nil, &Error{Spec: ErrTemplateMissing}
	}
	all, err := v.h.cfg.Templates.Templates(v.ctx, v.b.ID)
	if err != nil {
		return nil, err
	}
	var t *Template
	for i := range all {
		if all[i].Name == req.Name && all[i].Language == req.Language.Code {
			t = &all[i]
		}
	}
	if t == nil {
		return nil, fail(ErrTemplateMissing, "template name (%s) does not exist in %s", req.Name, req.Language.Code)
	}
	switch t.Status {
	case "APPROVED":
	case "PAUSED":
		return nil, fail(ErrTemplatePaused, "template %s is paused", t.Name)
	case "DISABLED":
		return nil, fail(ErrTemplateDisabled, "template %s is disabled", t.Name)
	default:
		return nil, fail(ErrTemplateMissing, "template %s is %s, not approved", t.Name, strings.ToLower(t.Status))
	}
	var def []defComponent
	if err := json.Unmarshal(t.Components, &def); err != nil {
		return nil, err
	}
	var header, body, buttons *sendComponent
	buttonParams := map[int64]*sendComponent{}
	for i := range req.Components {
		c := &req.Components[i]
		switch strings.ToLower(c.Type) {
		case "header":
			header = c
		case "body":
			body = c
		case "button":
			if !c.Index.set {
				return nil, missing("template.components[" + itoa(i) + "].index")
			}
			buttonParams[c.Index.v] = c
			buttons = c
		default:
			return nil, invalid("template.components["+itoa(i)+"].type", "must be header, body or button")
		}
	}
	_ = buttons
	params := func(c *sendComponent) []sendParam {
		if c == nil {
			return nil
		}
		return c.Parameters
	}
	rt := &RenderedTemplate{Name: t.Name, Language: t.Language, Category: t.Category}
	for _, c := range def {
		switch c.Type {
		case "HEADER":
			rh := &RenderedHeader{Type: strings.ToLower(c.Format)}
			if c.Format == "TEXT" {
				s, err := substitute("template.components.header", c.Text, t.ParameterFormat, params(header))
				if err != nil {
					return nil, err
				}
				rh.Text = s
			} else {
				ps := params(header)
				if len(ps) != 1 {
					return nil, fail(ErrTemplateParamCount, "the header needs one %s parameter", rh.Type)
				}
				p := ps[0]
				if p.Type != rh.Type {
					return nil, fail(ErrTemplateParamFormat, "the header parameter must be of type %s", rh.Type)
				}
				switch rh.Type {
				case "image", "video", "document":
					ref := map[string]*mediaRef{"image": p.Image, "video": p.Video, "document": p.Document}[rh.Type]
					if ref == nil {
						return nil, missing("template.components.header.parameters[0]." + rh.Type)
					}
					if err := v.mediaRef("template.components.header.parameters[0]."+rh.Type, rh.Type, *ref, false, rh.Type == "document"); err != nil {
						return nil, err
					}
					b, _ := json.Marshal(struct {
						ID       string `json:"id,omitempty"`
						Link     string `json:"link,omitempty"`
						Filename string `json:"filename,omitempty"`
					}{ref.ID, ref.Link, deref(ref.Filename)})
					switch rh.Type {
					case "image":
						rh.Image = b
					case "video":
						rh.Video = b
					default:
						rh.Document = b
					}
				case "location":
					if len(p.Location) == 0 {
						return nil, missing("template.components.header.parameters[0].location")
					}
					if err := v.location(p.Location); err != nil {
						return nil, err
					}
					rh.Location = p.Location
				}
			}
			rt.Header = rh
		case "BODY":
			s, err := substitute("template.components.body", c.Text, t.ParameterFormat, params(body))
			if err != nil {
				return nil, err
			}
			if runes(s) > maxBodyText {
				return nil, fail(ErrTemplateTooLong, "the rendered body has %d characters, more than 1024", runes(s))
			}
			rt.Body = s
		case "FOOTER":
			rt.Footer = c.Text
		case "BUTTONS":
			for i, b := range c.Buttons {
				rb := RenderedButton{Type: strings.ToLower(b.Type), Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber}
				sc := buttonParams[int64(i)]
				bf := "template.components.button[" + itoa(i) + "]"
				switch b.Type {
				case "URL":
					names, _, _ := placeholders(b.URL)
					if len(names) > 0 {
						if sc == nil || len(sc.Parameters) != 1 || sc.Parameters[0].Type != "text" || sc.Parameters[0].Text == nil {
							return nil, fail(ErrTemplateParamCount, "%s (URL) needs one text parameter", bf)
						}
						rb.URL = placeholderRE.ReplaceAllLiteralString(b.URL, *sc.Parameters[0].Text)
					}
				case "QUICK_REPLY":
					rb.Payload = b.Text
					if sc != nil && len(sc.Parameters) > 0 {
						if sc.Parameters[0].Type != "payload" || sc.Parameters[0].Payload == nil {
							return nil, fail(ErrTemplateParamFormat, "%s (quick reply) takes a payload parameter", bf)
						}
						rb.Payload = *sc.Parameters[0].Payload
					}
				case "COPY_CODE", "OTP":
					if sc != nil && len(sc.Parameters) > 0 {
						p := sc.Parameters[0]
						switch {
						case p.Text != nil:
							rb.Code = *p.Text
						case len(p.Action) > 0:
							var a struct {
								CouponCode string `json:"coupon_code"`
							}
							_ = json.Unmarshal(p.Action, &a)
							rb.Code = a.CouponCode
						}
					}
				}
				rt.Buttons = append(rt.Buttons, rb)
			}
		}
	}
	if header != nil && rt.Header == nil {
		return nil, fail(ErrTemplateParamCount, "the template has no header, but header parameters were given")
	}
	return rt, nil
}
