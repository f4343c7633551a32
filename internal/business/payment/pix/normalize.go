package pix

import (
	"strings"
	"unicode"
)

// latin maps the accented Latin letters of Latin-1 and Latin Extended-A to
// the upper-case ASCII letters they are written with. pix-utils gets there
// with NFD plus removal of the combining marks; a table keeps us free of
// golang.org/x/text and also covers the few letters NFD leaves alone (Ø, Ł,
// Đ, Æ...), which pix-utils would pass through as non-ASCII.
var latin = func() map[rune]string {
	m := make(map[rune]string)
	for base, letters := range map[string]string{
		"A":  "ÀÁÂÃÄÅĀĂĄàáâãäåāăą",
		"AE": "Ææ",
		"C":  "ÇĆĈĊČçćĉċč",
		"D":  "ĎĐďđÐð",
		"E":  "ÈÉÊËĒĔĖĘĚèéêëēĕėęě",
		"G":  "ĜĞĠĢĝğġģ",
		"H":  "ĤĦĥħ",
		"I":  "ÌÍÎÏĨĪĬĮİìíîïĩīĭįı",
		"IJ": "Ĳĳ",
		"J":  "Ĵĵ",
		"K":  "Ķķĸ",
		"L":  "ĹĻĽĿŁĺļľŀł",
		"N":  "ÑŃŅŇŊñńņňŉŋ",
		"O":  "ÒÓÔÕÖØŌŎŐòóôõöøōŏő",
		"OE": "Œœ",
		"R":  "ŔŖŘŕŗř",
		"S":  "ŚŜŞŠśŝşšſ",
		"SS": "ß",
		"T":  "ŢŤŦţťŧ",
		"TH": "Þþ",
		"U":  "ÙÚÛÜŨŪŬŮŰŲùúûüũūŭůűų",
		"W":  "Ŵŵ",
		"Y":  "ÝŸŶýÿŷ",
		"Z":  "ŹŻŽźżž",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// NormalizeName turns a merchant name into what field 59 carries: upper-case
// ASCII without accents ("Padaria São João" → "PADARIA SAO JOAO"), as
// pix-utils and most Brazilian PSPs write it. Characters with no ASCII
// spelling are dropped, control characters become spaces, and the ends are
// trimmed. It does not shorten: Encode refuses a name over 25 characters
// rather than cut a merchant's name at a place nobody chose.
func NormalizeName(s string) string { return asciiText(s, true) }

// NormalizeCity is NormalizeName for field 60 (at most 15 characters).
func NormalizeCity(s string) string { return asciiText(s, true) }

// NormalizeText makes free text (field 26.02, the message the payer sees)
// ASCII the same way but keeps its case.
func NormalizeText(s string) string { return asciiText(s, false) }

func asciiText(s string, upper bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7F || unicode.IsSpace(r):
			b.WriteByte(' ')
		case r < 0x7F:
			if upper {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
		case r >= 0x300 && r <= 0x36F:
			// A combining mark of an already decomposed letter.
		default:
			base := latin[r]
			if !upper && unicode.IsLower(r) {
				base = strings.ToLower(base)
			}
			b.WriteString(base)
		}
	}
	return strings.TrimSpace(b.String())
}
