package pix

import (
	"errors"
	"fmt"
	"strings"
)

// GUI is the globally unique identifier of the Pix arrangement, subfield 00
// of the merchant account template.
const GUI = "br.gov.bcb.pix"

// Limits of the manual (and of EMV MPM, whose two-digit lengths cap every
// field, nested templates included, at 99 characters).
const (
	MaxName   = 25              // field 59
	MaxCity   = 15              // field 60
	MaxTxID   = 25              // field 62.05
	MaxAmount = 999_999_999_999 // centavos: "9999999999.99" fills the 13 characters of field 54
	maxField  = 99
	// MaxLen is EMV MPM's limit for a whole payload.
	MaxLen = 512
)

// Errors Parse and Encode return, wrapped with the field and the reason;
// test with errors.Is. ErrInvalidKey (key.go) is the fifth.
var (
	ErrMalformed    = errors.New("pix: malformed BR Code")
	ErrCRC          = errors.New("pix: CRC does not match")
	ErrMissingField = errors.New("pix: mandatory field missing")
	ErrNotPix       = errors.New("pix: not a Pix code")
	ErrInvalidField = errors.New("pix: invalid field")
)

// Initiation is field 01, the point of initiation method.
type Initiation uint8

const (
	// InitiationUnset omits field 01, as the manual's static example does.
	InitiationUnset Initiation = iota
	// InitiationReusable is 11: the code may be paid many times.
	InitiationReusable
	// InitiationSingleUse is 12: the code may be paid once. Encode writes it
	// for every dynamic code left unset.
	InitiationSingleUse
)

// Kind is what a code points at.
type Kind uint8

const (
	// Static codes carry the receiver's Pix key; anyone can make one.
	Static Kind = iota + 1
	// Dynamic codes carry the location of a charge a PSP hosts as a signed
	// payload (amount, expiry, txid); only a PSP can make a payable one.
	Dynamic
	// Recurrence codes carry only a Pix Automático recurrence location.
	Recurrence
)

func (k Kind) String() string {
	switch k {
	case Static:
		return "static"
	case Dynamic:
		return "dynamic"
	case Recurrence:
		return "recurrence"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Code is the content of a BR Code. A static code has Key; a dynamic code
// has URL; a code with neither must have RecurrenceURL.
type Code struct {
	Key  string // 26.01 Pix key (static); see KeyTypeOf
	Info string // 26.02 message to the payer (static, optional)
	FSS  string // 26.03 ISPB of the withdrawal service facilitator (Pix Saque/Troco, optional)
	URL  string // 26.25 charge location without "https://" (dynamic)

	Initiation Initiation // 01
	MCC        string     // 52 merchant category code; "" means "0000"
	Amount     int64      // 54 in centavos; 0 leaves the amount to the payer
	Name       string     // 59 merchant name, 1..25 (see NormalizeName)
	City       string     // 60 merchant city, 1..15 (see NormalizeCity)
	PostalCode string     // 61 (optional)
	// TxID is 62.05, the reference label: on static codes up to 25 letters
	// and digits the receiver sees on the payment; "" writes "***" (none),
	// and Parse returns "" for "***".
	TxID string
	// RecurrenceURL is 80.25, a Pix Automático recurrence location without
	// "https://" (optional).
	RecurrenceURL string
}

// Kind says whether c is static, dynamic or recurrence-only; 0 when it is
// none, which Encode refuses.
func (c Code) Kind() Kind {
	switch {
	case c.Key != "" && c.URL == "":
		return Static
	case c.URL != "" && c.Key == "":
		return Dynamic
	case c.Key == "" && c.URL == "" && c.RecurrenceURL != "":
		return Recurrence
	}
	return 0
}

// withDefaults is c as Encode writes it and Parse returns it.
func (c Code) withDefaults() Code {
	if c.MCC == "" {
		c.MCC = "0000"
	}
	if c.Initiation == InitiationUnset && c.Kind() == Dynamic {
		c.Initiation = InitiationSingleUse
	}
	if c.TxID == "***" {
		c.TxID = ""
	}
	return c
}

// Encode writes c as a BR Code ("Pix copia e cola"), fields in the manual's
// order, CRC last. It refuses anything a payer's app could reject or read
// differently: non-ASCII text (normalise it first), over-long fields, a key
// the directory would not hold, an amount or a txid on a dynamic code.
func Encode(c Code) (string, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(200)
	b.WriteString("000201")
	switch c.Initiation {
	case InitiationReusable:
		b.WriteString("010211")
	case InitiationSingleUse:
		b.WriteString("010212")
	}
	mai := tlv("00", GUI)
	switch c.Kind() {
	case Static:
		mai += tlv("01", c.Key) + tlv("02", c.Info) + tlv("03", c.FSS)
	case Dynamic:
		mai += tlv("25", c.URL)
	}
	b.WriteString(tlv("26", mai))
	b.WriteString(tlv("52", c.MCC))
	b.WriteString("5303986")
	if c.Amount != 0 {
		b.WriteString(tlv("54", FormatAmount(c.Amount)))
	}
	b.WriteString("5802BR")
	b.WriteString(tlv("59", c.Name))
	b.WriteString(tlv("60", c.City))
	b.WriteString(tlv("61", c.PostalCode))
	txid := c.TxID
	if txid == "" {
		txid = "***"
	}
	b.WriteString(tlv("62", tlv("05", txid)))
	if c.RecurrenceURL != "" {
		b.WriteString(tlv("80", tlv("00", GUI)+tlv("25", c.RecurrenceURL)))
	}
	b.WriteString("6304")
	s := b.String()
	return s + crcHex(crc16(s)), nil
}

// tlv writes one field; empty values are left out. validate has checked
// every length.
func tlv(id, value string) string {
	if value == "" {
		return ""
	}
	return fmt.Sprintf("%s%02d%s", id, len(value), value)
}

// validate checks c (with defaults) against the rules Encode promises.
func (c Code) validate() error {
	kind := c.Kind()
	if kind == 0 {
		if c.Key != "" && c.URL != "" {
			return fmt.Errorf("%w: a code has a Pix key (static) or a URL (dynamic), not both", ErrInvalidField)
		}
		return fmt.Errorf("%w: 26.01 Pix key or 26.25 URL (or 80.25 recurrence URL)", ErrMissingField)
	}
	if kind == Static {
		if _, err := KeyTypeOf(c.Key); err != nil {
			return fmt.Errorf("field 26.01: %w", err)
		}
	}
	checks := []struct {
		id, name, value string
		max             int
	}{
		{"26.02", "message", c.Info, maxField},
		{"26.25", "URL", c.URL, maxField},
		{"52", "merchant category code", c.MCC, 4},
		{"59", "merchant name", c.Name, MaxName},
		{"60", "merchant city", c.City, MaxCity},
		{"61", "postal code", c.PostalCode, 10},
		{"62.05", "txid", c.TxID, MaxTxID},
		{"80.25", "recurrence URL", c.RecurrenceURL, maxField},
	}
	for _, f := range checks {
		if len(f.value) > f.max {
			return fmt.Errorf("%w: %s %s is %d characters, at most %d", ErrInvalidField, f.id, f.name, len(f.value), f.max)
		}
		if i := nonPrintable(f.value); i >= 0 {
			return fmt.Errorf("%w: %s %s has a character outside printable ASCII at byte %d (normalise it first)", ErrInvalidField, f.id, f.name, i)
		}
	}
	if c.Name == "" {
		return fmt.Errorf("%w: 59 merchant name", ErrMissingField)
	}
	if c.City == "" {
		return fmt.Errorf("%w: 60 merchant city", ErrMissingField)
	}
	if len(c.MCC) != 4 || !allDigits(c.MCC) {
		return fmt.Errorf("%w: 52 merchant category code %q is not four digits", ErrInvalidField, c.MCC)
	}
	if c.Initiation > InitiationSingleUse {
		return fmt.Errorf("%w: 01 point of initiation %d", ErrInvalidField, c.Initiation)
	}
	if c.Amount < 0 || c.Amount > MaxAmount {
		return fmt.Errorf("%w: 54 amount %d centavos is outside 0..%d", ErrInvalidField, c.Amount, int64(MaxAmount))
	}
	if c.FSS != "" && (len(c.FSS) != 8 || !allDigits(c.FSS)) {
		return fmt.Errorf("%w: 26.03 FSS is an eight-digit ISPB", ErrInvalidField)
	}
	if c.TxID != "" && !isAlnum(c.TxID) {
		return fmt.Errorf("%w: 62.05 txid is letters and digits only", ErrInvalidField)
	}
	for _, u := range []struct{ id, v string }{{"26.25", c.URL}, {"80.25", c.RecurrenceURL}} {
		if err := checkLocation(u.id, u.v); err != nil {
			return err
		}
	}
	if kind != Static {
		switch {
		case c.Info != "" || c.FSS != "":
			return fmt.Errorf("%w: 26.02 and 26.03 belong to static codes only", ErrInvalidField)
		case c.Amount != 0:
			return fmt.Errorf("%w: a %s code has no 54 amount (the PSP's payload carries it)", ErrInvalidField, kind)
		case c.TxID != "":
			return fmt.Errorf("%w: a %s code has 62.05 txid \"***\" (the PSP's payload carries it)", ErrInvalidField, kind)
		}
	}
	// The merchant account template is one field, so its subfields share
	// its 99 characters.
	mai := 4 + len(GUI)
	for _, v := range []string{c.Key, c.Info, c.FSS, c.URL} {
		if v != "" {
			mai += 4 + len(v)
		}
	}
	if mai > maxField {
		return fmt.Errorf("%w: field 26 would be %d characters, at most %d (shorten 26.02)", ErrInvalidField, mai, maxField)
	}
	if c.RecurrenceURL != "" && 8+len(GUI)+len(c.RecurrenceURL) > maxField {
		return fmt.Errorf("%w: field 80 would be %d characters, at most %d", ErrInvalidField, 8+len(GUI)+len(c.RecurrenceURL), maxField)
	}
	return nil
}

// checkLocation: payer apps put "https://" in front themselves, so a
// location must come without a scheme, and it must at least be a host.
func checkLocation(id, v string) error {
	if v == "" {
		return nil
	}
	if i := strings.Index(v, "://"); i >= 0 {
		return fmt.Errorf("%w: %s URL is written without a scheme (%q)", ErrInvalidField, id, v[:i+3])
	}
	host, _, _ := strings.Cut(v, "/")
	if host == "" || strings.ContainsAny(v, " \"<>\\^`{|}") {
		return fmt.Errorf("%w: %s URL is not a host and path", ErrInvalidField, id)
	}
	return nil
}

func nonPrintable(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return i
		}
	}
	return -1
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
