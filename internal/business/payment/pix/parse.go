package pix

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// field is one decoded ID-length-value.
type field struct {
	id    string
	value string
}

// decodeTLV splits s into fields. Lengths count characters, not bytes: that
// is how EMV defines them and how pix-utils writes codes whose free text is
// not ASCII, so such codes from other issuers still parse. IDs may not
// repeat within one template.
func decodeTLV(s string, where string) ([]field, error) {
	var fields []field
	seen := make(map[string]bool)
	for i := 0; i < len(s); {
		if len(s)-i < 4 {
			return nil, fmt.Errorf("%w: %struncated field at offset %d", ErrMalformed, where, i)
		}
		id, ln := s[i:i+2], s[i+2:i+4]
		if !allDigits(id) || !allDigits(ln) {
			return nil, fmt.Errorf("%w: %sfield at offset %d does not start with a two-digit ID and length", ErrMalformed, where, i)
		}
		n := int(ln[0]-'0')*10 + int(ln[1]-'0')
		if n == 0 {
			return nil, fmt.Errorf("%w: %sfield %s has length 00", ErrMalformed, where, id)
		}
		i += 4
		start := i
		for range n {
			if i >= len(s) {
				return nil, fmt.Errorf("%w: %sfield %s says %d characters but the code ends first", ErrMalformed, where, id, n)
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: %sfield %s appears twice", ErrMalformed, where, id)
		}
		seen[id] = true
		fields = append(fields, field{id, s[start:i]})
	}
	return fields, nil
}

func lookup(fields []field, id string) (string, bool) {
	for _, f := range fields {
		if f.id == id {
			return f.value, true
		}
	}
	return "", false
}

// Parse reads a BR Code, checking structure, CRC, mandatory fields and the
// Pix merchant account template. Text fields come back as written (Parse
// does not upper-case or strip accents); TxID "***" comes back as "".
// Fields of other arrangements and templates Pix does not use are ignored.
func Parse(s string) (Code, error) {
	if len(s) > MaxLen*utf8.UTFMax || utf8.RuneCountInString(s) > MaxLen {
		return Code{}, fmt.Errorf("%w: longer than %d characters", ErrMalformed, MaxLen)
	}
	if !utf8.ValidString(s) {
		return Code{}, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7F || r >= 0x80 && r < 0xA0 {
			return Code{}, fmt.Errorf("%w: control character at byte %d", ErrMalformed, i)
		}
	}
	if !strings.HasPrefix(s, "000201") {
		return Code{}, fmt.Errorf("%w: does not start with field 00 = 01 (payload format indicator)", ErrMalformed)
	}
	top, err := decodeTLV(s, "")
	if err != nil {
		return Code{}, err
	}
	last := top[len(top)-1]
	if last.id != "63" || !strings.HasSuffix(s[:len(s)-len(last.value)], "6304") || !isHex(last.value) {
		return Code{}, fmt.Errorf("%w: does not end with field 63, the four-digit CRC", ErrMalformed)
	}
	body := s[:len(s)-4]
	if want := crcHex(crc16(body)); !strings.EqualFold(last.value, want) {
		return Code{}, fmt.Errorf("%w: code says %s, content gives %s", ErrCRC, last.value, want)
	}

	var c Code
	if v, ok := lookup(top, "01"); ok {
		switch v {
		case "11":
			c.Initiation = InitiationReusable
		case "12":
			c.Initiation = InitiationSingleUse
		default:
			return Code{}, fmt.Errorf("%w: 01 point of initiation %q, want 11 or 12", ErrInvalidField, v)
		}
	}
	if err := c.parseAccount(top); err != nil {
		return Code{}, err
	}

	for _, m := range []struct{ id, name string }{{"52", "merchant category code"}, {"53", "currency"}, {"58", "country"}, {"59", "merchant name"}, {"60", "merchant city"}, {"62", "additional data"}} {
		if _, ok := lookup(top, m.id); !ok {
			return Code{}, fmt.Errorf("%w: %s %s", ErrMissingField, m.id, m.name)
		}
	}
	c.MCC, _ = lookup(top, "52")
	if len(c.MCC) != 4 || !allDigits(c.MCC) {
		return Code{}, fmt.Errorf("%w: 52 merchant category code %q is not four digits", ErrInvalidField, c.MCC)
	}
	if v, _ := lookup(top, "53"); v != "986" {
		return Code{}, fmt.Errorf("%w: 53 currency %q, Pix is in reais (986)", ErrInvalidField, v)
	}
	if v, _ := lookup(top, "58"); v != "BR" {
		return Code{}, fmt.Errorf("%w: 58 country %q, want BR", ErrInvalidField, v)
	}
	if v, ok := lookup(top, "54"); ok {
		if c.Amount, err = parseAmount(v); err != nil {
			return Code{}, err
		}
	}
	c.Name, _ = lookup(top, "59")
	c.City, _ = lookup(top, "60")
	if n := utf8.RuneCountInString(c.Name); n > MaxName {
		return Code{}, fmt.Errorf("%w: 59 merchant name is %d characters, at most %d", ErrInvalidField, n, MaxName)
	}
	if n := utf8.RuneCountInString(c.City); n > MaxCity {
		return Code{}, fmt.Errorf("%w: 60 merchant city is %d characters, at most %d", ErrInvalidField, n, MaxCity)
	}
	if v, ok := lookup(top, "61"); ok {
		if n := utf8.RuneCountInString(v); n > 10 {
			return Code{}, fmt.Errorf("%w: 61 postal code is %d characters, at most 10", ErrInvalidField, n)
		}
		c.PostalCode = v
	}

	add, _ := lookup(top, "62")
	sub, err := decodeTLV(add, "62: ")
	if err != nil {
		return Code{}, err
	}
	txid, ok := lookup(sub, "05")
	if !ok {
		return Code{}, fmt.Errorf("%w: 62.05 txid (\"***\" when there is none)", ErrMissingField)
	}
	if txid != "***" {
		if len(txid) > MaxTxID || !isAlnum(txid) {
			return Code{}, fmt.Errorf("%w: 62.05 txid is \"***\" or up to %d letters and digits", ErrInvalidField, MaxTxID)
		}
		c.TxID = txid
	}

	if v, ok := lookup(top, "80"); ok {
		sub, err := decodeTLV(v, "80: ")
		if err != nil {
			return Code{}, err
		}
		// Field 80 is an unreserved template other arrangements may use too;
		// only Pix's carries a recurrence.
		if gui, _ := lookup(sub, "00"); strings.EqualFold(gui, GUI) {
			u, ok := lookup(sub, "25")
			if !ok {
				return Code{}, fmt.Errorf("%w: 80.25 recurrence URL", ErrMissingField)
			}
			if err := checkLocation("80.25", u); err != nil {
				return Code{}, err
			}
			c.RecurrenceURL = u
		}
	}
	if c.Kind() == 0 {
		return Code{}, fmt.Errorf("%w: 26.01 Pix key, 26.25 URL or 80.25 recurrence URL", ErrMissingField)
	}
	return c, nil
}

// parseAccount finds Pix's merchant account template. The manual puts it in
// field 26, but EMV lets a code carry several arrangements in 26..51, so the
// one whose GUI is Pix's counts; the GUI is compared without case because
// PSPs write both br.gov.bcb.pix and BR.GOV.BCB.PIX.
func (c *Code) parseAccount(top []field) error {
	found, other := false, ""
	for _, f := range top {
		if f.id < "26" || f.id > "51" {
			continue
		}
		sub, err := decodeTLV(f.value, f.id+": ")
		if err != nil {
			return err
		}
		gui, _ := lookup(sub, "00")
		if !strings.EqualFold(gui, GUI) {
			if other == "" {
				other = gui
			}
			continue
		}
		if found {
			return fmt.Errorf("%w: two Pix merchant account templates", ErrMalformed)
		}
		found = true
		key, hasKey := lookup(sub, "01")
		url, hasURL := lookup(sub, "25")
		switch {
		case hasKey && hasURL:
			return fmt.Errorf("%w: field %s has both a Pix key (26.01) and a URL (26.25)", ErrInvalidField, f.id)
		case hasKey:
			if _, err := KeyTypeOf(key); err != nil {
				return fmt.Errorf("field %s.01: %w", f.id, err)
			}
			c.Key = key
		case hasURL:
			if err := checkLocation(f.id+".25", url); err != nil {
				return err
			}
			c.URL = url
		}
		c.Info, _ = lookup(sub, "02")
		if v, ok := lookup(sub, "03"); ok {
			if len(v) != 8 || !allDigits(v) {
				return fmt.Errorf("%w: %s.03 FSS is an eight-digit ISPB", ErrInvalidField, f.id)
			}
			c.FSS = v
		}
	}
	if !found {
		if other != "" {
			return fmt.Errorf("%w: merchant account GUI is %q, not %s", ErrNotPix, other, GUI)
		}
		return fmt.Errorf("%w: 26 merchant account information", ErrMissingField)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
