package commerce

import (
	"strings"
	"unicode"
)

// Search matches text case- and accent-insensitively: both sides are folded
// to lower case without diacritics ("Pão" → "pao", "Straße" → "strasse",
// "Ä" → "a"). A second, German folding spells umlauts out ("Müller" →
// "mueller"), so that "mueller" finds "Müller" and "müller" finds "Mueller";
// a term matches when either folding of it occurs in the same folding of the
// text. The tables cover Latin script, which English, Portuguese, German
// and Indonesian use; other scripts are only lower-cased.

// latin1Fold and latinExtFold give the base letter of U+00C0..U+024F and
// U+1E00..U+1EFF ('.' for none), as Unicode's canonical decomposition
// without combining marks has it, plus letters with a stroke (ø, đ, ł, ħ)
// that do not decompose. They were generated once from the Unicode tables.
const (
	latin1Fold = "aaaaaa.ceeeeiiiidnooooo.ouuuuy..aaaaaa.ceeeeiiiidnooooo.ouuuuy.y" +
		"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii..jjkkklllllll" +
		"lllnnnnnn...oooooo..rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs" +
		"b......................i..l.....oo.............uu....zz........." +
		".............aaiioouuuuuuuuuu.aaaa....ggkkoooo..j...gg..nnaa...." +
		"aaaaeeeeiiiioooorrrruuuusstt..hh......aaeeooooooooyy............" +
		"................"
	latinExtFold = "aabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmm" +
		"mmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvv" +
		"wwwwwwwwwwxxxxyyzzzzzzhtwy......aaaaaaaaaaaaaaaaaaaaaaaaeeeeeeee" +
		"eeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyy......"
)

// foldRune appends the folded form of r to b. german spells ä, ö, ü out.
func foldRune(b *strings.Builder, r rune, german bool) {
	if german {
		switch r {
		case 'ä', 'Ä':
			b.WriteString("ae")
			return
		case 'ö', 'Ö':
			b.WriteString("oe")
			return
		case 'ü', 'Ü':
			b.WriteString("ue")
			return
		}
	}
	switch r {
	case 'ß', 'ẞ':
		b.WriteString("ss")
		return
	case 'æ', 'Æ', 'ǽ', 'Ǽ', 'ǣ', 'Ǣ':
		b.WriteString("ae")
		return
	case 'œ', 'Œ':
		b.WriteString("oe")
		return
	case 'þ', 'Þ':
		b.WriteString("th")
		return
	case 'ĳ', 'Ĳ':
		b.WriteString("ij")
		return
	}
	switch {
	case r < 0x80:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteByte(byte(r))
		return
	case 0xC0 <= r && r <= 0x24F:
		if c := latin1Fold[r-0xC0]; c != '.' {
			b.WriteByte(c)
			return
		}
	case 0x1E00 <= r && r <= 0x1EFF:
		if c := latinExtFold[r-0x1E00]; c != '.' {
			b.WriteByte(c)
			return
		}
	case unicode.Is(unicode.Mn, r):
		return // a combining mark of already decomposed text ("a\u0303")
	}
	b.WriteRune(unicode.ToLower(r))
}

// Fold returns s lower-cased and without diacritics, as search compares
// text: Fold("Pão Francês") == "pao frances", Fold("STRASSE") ==
// Fold("Straße").
func Fold(s string) string { return fold(s, false) }

func fold(s string, german bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		foldRune(&b, r, german)
	}
	return b.String()
}

// searchTokens splits s into words: runs of letters, digits and combining
// marks.
func searchTokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// SearchKey is the text a product is searched by: its name, brand,
// description and retailer_id in both foldings. Stores keep it beside the product and find
// candidates by substring (SearchTerms); it depends on nothing but those
// fields.
func SearchKey(p Product) string {
	text := strings.Join([]string{p.Name, p.Brand, p.Description, p.RetailerID}, "\n")
	plain, german := fold(text, false), fold(text, true)
	if plain == german {
		return plain
	}
	return plain + "\n" + german
}

// SearchTerms turns a query into what a store matches against SearchKey:
// one group per word, each group the word's foldings; a product matches
// when, for every group, its key contains at least one of the group's
// strings. An empty result matches everything.
func SearchTerms(query string) [][]string {
	var groups [][]string
	seen := map[string]bool{}
	for _, tok := range searchTokens(query) {
		plain, german := fold(tok, false), fold(tok, true)
		if seen[plain+"\x00"+german] {
			continue
		}
		seen[plain+"\x00"+german] = true
		g := []string{plain}
		if german != plain {
			g = append(g, german)
		}
		groups = append(groups, g)
	}
	return groups
}
