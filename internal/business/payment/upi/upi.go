// Package upi writes and reads UPI payment intent links ("upi://pay?..."),
// the deep links and QR contents of India's Unified Payments Interface, per
// NPCI's "UPI Linking Specifications" 1.6: the payee's VPA and name, and for
// a merchant charge its category code, the order reference, the amount and
// a note. WhatsApp's UPI-intent order_details carries such a link, with tr
// set to the order's reference_id.
//
// Amounts are integer paise; no floating point anywhere.
package upi

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits. NPCI's linking spec sets few lengths of its own; these follow the
// UPI API's field sizes (35 for references, 255 for a VPA) and what payer
// apps show (a note up to 80 characters, as Google Pay documents).
const (
	MaxVPA    = 255
	MaxName   = 99
	MaxRef    = 35 // tr and tid
	MaxNote   = 80
	MaxURL    = 2048
	MaxAmount = 99_999_999_999_99 // paise: far above any UPI limit, and int64-safe
	// MaxLen bounds a whole link Parse will read.
	MaxLen = 4096
)

// Errors Parse and Encode return, wrapped with the parameter and the reason.
var (
	ErrMalformed    = errors.New("upi: malformed link")
	ErrMissingField = errors.New("upi: mandatory parameter missing")
	ErrInvalidField = errors.New("upi: invalid parameter")
)

// Link is a payment intent. Currency is always INR: cu is written as INR and
// a link with any other cu does not parse.
type Link struct {
	VPA        string // pa: payee virtual payment address, mandatory
	Name       string // pn: payee name, mandatory
	MCC        string // mc: merchant category code, four digits
	TerminalID string // tid: PSP-generated transaction id
	Ref        string // tr: transaction reference (order id, reference_id)
	Note       string // tn: note shown to the payer
	Amount     int64  // am: paise; 0 leaves the amount to the payer
	MinAmount  int64  // mam: paise; 0 means none
	URL        string // url: http(s) page about this transaction
	Mode       string // mode: initiation mode, two digits
	Purpose    string // purpose: purpose code, two digits
	OrgID      string // orgid: signer of a signed intent
	Sign       string // sign: signature of a signed intent
}

// param is one link parameter in the order Encode writes them: Meta's UPI
// intent example's order first (pa pn tr am cu mode purpose mc tn), so that
// links match what WhatsApp's documentation and Indian PGs show, then the
// rarer ones.
type param struct {
	key string
	get func(*Link) *string
}

// Encode writes l as a link, values percent-encoded (a space is %20, as in
// NPCI's samples, since payer apps do not all read "+" as a space).
func Encode(l Link) (string, error) {
	if err := l.validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("upi://pay?")
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > len("upi://pay?") {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escape(v))
	}
	add("pa", l.VPA)
	add("pn", l.Name)
	add("tr", l.Ref)
	add("am", formatAmount(l.Amount))
	add("mam", formatAmount(l.MinAmount))
	add("cu", "INR")
	add("mode", l.Mode)
	add("purpose", l.Purpose)
	add("mc", l.MCC)
	add("tid", l.TerminalID)
	add("tn", l.Note)
	add("url", l.URL)
	add("orgid", l.OrgID)
	add("sign", l.Sign)
	return b.String(), nil
}

// FormatAmount writes paise as am wants them: rupees, a dot, two digits
// ("10.00").
func FormatAmount(paise int64) string {
	return fmt.Sprintf("%d.%02d", paise/100, paise%100)
}

func formatAmount(paise int64) string {
	if paise == 0 {
		return ""
	}
	return FormatAmount(paise)
}

// escape percent-encodes everything but RFC 3986's unreserved characters
// and the three a VPA or a URL is easier to read with (@ : /), all of which
// a query may carry unescaped.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~@:/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (l Link) validate() error {
	if l.VPA == "" {
		return fmt.Errorf("%w: pa (payee VPA)", ErrMissingField)
	}
	if err := ValidateVPA(l.VPA); err != nil {
		return err
	}
	if l.Name == "" {
		return fmt.Errorf("%w: pn (payee name)", ErrMissingField)
	}
	for _, f := range []struct {
		key, v string
		max    int
	}{{"pn", l.Name, MaxName}, {"tr", l.Ref, MaxRef}, {"tid", l.TerminalID, MaxRef}, {"tn", l.Note, MaxNote}, {"url", l.URL, MaxURL}, {"orgid", l.OrgID, MaxRef}, {"sign", l.Sign, 1024}} {
		if n := utf8.RuneCountInString(f.v); n > f.max {
			return fmt.Errorf("%w: %s is %d characters, at most %d", ErrInvalidField, f.key, n, f.max)
		}
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, isControl) {
			return fmt.Errorf("%w: %s has control characters or is not UTF-8", ErrInvalidField, f.key)
		}
	}
	if strings.TrimSpace(l.Name) == "" {
		return fmt.Errorf("%w: pn (payee name) is blank", ErrMissingField)
	}
	for _, f := range []struct {
		key, v string
		n      int
	}{{"mc", l.MCC, 4}, {"mode", l.Mode, 2}, {"purpose", l.Purpose, 2}} {
		if f.v != "" && (len(f.v) != f.n || !allDigits(f.v)) {
			return fmt.Errorf("%w: %s %q is not %d digits", ErrInvalidField, f.key, f.v, f.n)
		}
	}
	for _, f := range []struct{ key, v string }{{"tr", l.Ref}, {"tid", l.TerminalID}, {"orgid", l.OrgID}} {
		if strings.ContainsFunc(f.v, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return fmt.Errorf("%w: %s is printable ASCII without spaces", ErrInvalidField, f.key)
		}
	}
	if l.Amount < 0 || l.Amount > MaxAmount || l.MinAmount < 0 || l.MinAmount > MaxAmount {
		return fmt.Errorf("%w: am and mam are 0.01..%s", ErrInvalidField, FormatAmount(MaxAmount))
	}
	if l.MinAmount != 0 && l.Amount != 0 && l.MinAmount > l.Amount {
		return fmt.Errorf("%w: mam %s is above am %s", ErrInvalidField, FormatAmount(l.MinAmount), FormatAmount(l.Amount))
	}
	if l.URL != "" {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: url is not an http(s) URL", ErrInvalidField)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7F || r >= 0x80 && r < 0xA0 }

// ValidateVPA checks a virtual payment address: a handle, "@", and the PSP's
// suffix ("shop.42@okicici", "9876543210@ybl", "ACC123@IFSC0001234.ifsc.npci").
// The handle is letters, digits, dots, hyphens and underscores; the suffix
// starts with a letter and is letters, digits and dots.
func ValidateVPA(vpa string) error {
	if len(vpa) > MaxVPA {
		return fmt.Errorf("%w: pa is %d characters, at most %d", ErrInvalidField, len(vpa), MaxVPA)
	}
	handle, psp, ok := strings.Cut(vpa, "@")
	if !ok || handle == "" || psp == "" {
		return fmt.Errorf("%w: pa %q is not handle@psp", ErrInvalidField, vpa)
	}
	for i := 0; i < len(handle); i++ {
		c := handle[i]
		if !(isAlnum(c) || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%w: pa handle has %q; letters, digits, . - _ only", ErrInvalidField, c)
		}
	}
	if !(psp[0] >= 'a' && psp[0] <= 'z' || psp[0] >= 'A' && psp[0] <= 'Z') || psp[len(psp)-1] == '.' {
		return fmt.Errorf("%w: pa PSP suffix %q does not start with a letter", ErrInvalidField, psp)
	}
	for i := 0; i < len(psp); i++ {
		if c := psp[i]; !(isAlnum(c) || c == '.') || c == '.' && psp[i-1] == '.' {
			return fmt.Errorf("%w: pa PSP suffix %q; letters, digits and single dots only", ErrInvalidField, psp)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseAmount reads am or mam: digits with an optional dot and one or two
// decimals, above zero.
func parseAmount(key, s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 11 || !allDigits(whole) || dot && (frac == "" || len(frac) > 2 || !allDigits(frac)) {
		return 0, fmt.Errorf("%w: %s %q is not a decimal with at most two places", ErrInvalidField, key, s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v <= 0 || v > MaxAmount {
		return 0, fmt.Errorf("%w: %s %q is not in 0.01..%s", ErrInvalidField, key, s, FormatAmount(MaxAmount))
	}
	return v, nil
}

// Parse reads a link: scheme upi and host pay (in any case, as QR stickers
// write them), each known parameter at most once, values percent-decoded.
// Unknown parameters are ignored, as payer apps ignore them. "mam=null", as
// in NPCI's own sample, means no minimum.
func Parse(s string) (Link, error) {
	if len(s) > MaxLen {
		return Link{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLen)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.EqualFold(scheme, "upi") {
		return Link{}, fmt.Errorf("%w: not a upi:// link", ErrMalformed)
	}
	host, query, _ := strings.Cut(rest, "?")
	if !strings.EqualFold(strings.TrimSuffix(host, "/"), "pay") {
		return Link{}, fmt.Errorf("%w: upi://%s is not a payment link (upi://pay)", ErrMalformed, host)
	}
	query, _, _ = strings.Cut(query, "#")
	vals := make(map[string]string)
	for pair := range strings.SplitSeq(query, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return Link{}, fmt.Errorf("%w: parameter name %q: %v", ErrMalformed, k, err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return Link{}, fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
		}
		if _, dup := vals[key]; dup {
			return Link{}, fmt.Errorf("%w: %s appears twice", ErrMalformed, key)
		}
		vals[key] = val
	}
	if cu, ok := vals["cu"]; ok && cu != "INR" {
		return Link{}, fmt.Errorf("%w: cu %q, UPI pays in INR only", ErrInvalidField, cu)
	}
	l := Link{
		VPA: vals["pa"], Name: vals["pn"], MCC: vals["mc"], TerminalID: vals["tid"], Ref: vals["tr"],
		Note: vals["tn"], URL: vals["url"], Mode: vals["mode"], Purpose: vals["purpose"],
		OrgID: vals["orgid"], Sign: vals["sign"],
	}
	var err error
	if v := vals["am"]; v != "" {
		if l.Amount, err = parseAmount("am", v); err != nil {
			return Link{}, err
		}
	}
	if v := vals["mam"]; v != "" && v != "null" {
		if l.MinAmount, err = parseAmount("mam", v); err != nil {
			return Link{}, err
		}
	}
	if err := l.validate(); err != nil {
		return Link{}, err
	}
	return l, nil
}
