package bot

import (
	"context"
	"sort"
	"strings"
)

// ProductMatch is a catalog product named in a customer's message.
type ProductMatch struct {
	Product Product
	// Quantity is the number the customer put with it (0: none).
	Quantity int
	// Coverage is the share of the product name's words the message has.
	Coverage float64
	pos      []int // token positions in the message
	start    int
	end      int
}

// Found is what FindProducts read in a message.
type Found struct {
	// Matches are the products named, in the order of the message.
	Matches []ProductMatch
	// Ambiguous are equally good candidates for one mention ("Harry
	// Potter" with seven volumes): ask which.
	Ambiguous []Product
	// Related are products the catalog found for the words though the
	// message does not name them: most of the searchable words are in
	// the name or description (an author: "anything by Paulo Coelho?").
	Related []Product
	// Query is the message's searchable words (for "we don't have ...").
	Query string
	// QueryCoverage is the share of the searchable words the matches use.
	QueryCoverage float64
}

// maxCatalogScan bounds the catalog listing the bot matches locally when
// the catalog's own search finds nothing.
const maxCatalogScan = 500

// maxMatchWords bounds the words of a message matched against product
// names (the work is names × words).
const maxMatchWords = 64

// FindProducts finds the catalog products a text names, with the quantity
// put with each. When text is the customer's message, the words of the
// names found stop counting as evidence of the customer's language. It asks the catalog's search for candidates
// (the whole query, then word by word, then a listing of the catalog) and
// matches names itself, tolerating a typo per long word, so it needs no
// more of Catalog.Search than substring matching.
func (s *Session) FindProducts(ctx context.Context, text string) (Found, error) {
	lang := s.Lang()
	toks := tokens(text)
	if len(toks) > maxMatchWords {
		toks = toks[:maxMatchWords]
	}
	var sig []string
	sigPos := map[int]bool{}
	for i, w := range toks {
		if significant(w) {
			sig = append(sig, w)
			sigPos[i] = true
		}
	}
	f := Found{Query: strings.Join(sig, " ")}
	if len(sig) == 0 {
		return f, nil
	}
	cands := map[string]Product{}
	search := func(q string, limit int) error {
		ps, err := s.e.o.Tools.Catalog.Search(ctx, q, limit)
		for _, p := range ps {
			cands[p.RetailerID] = p
		}
		return err
	}
	if err := search(f.Query, 20); err != nil {
		return f, err
	}
	matches := matchProducts(toks, cands)
	if len(matches) == 0 {
		byLen := append([]string(nil), sig...)
		sort.SliceStable(byLen, func(i, j int) bool { return len(byLen[i]) > len(byLen[j]) })
		for i, w := range byLen {
			if i == 6 || len(w) < 3 {
				break
			}
			if err := search(w, 20); err != nil {
				return f, err
			}
		}
		matches = matchProducts(toks, cands)
	}
	if len(matches) == 0 {
		if err := search("", maxCatalogScan); err != nil {
			return f, err
		}
		matches = matchProducts(toks, cands)
	}
	if len(matches) == 0 {
		f.Related = relatedProducts(sig, cands)
		return f, nil
	}
	// Take the best matches whose words do not overlap; a rival as good as
	// the best for the same words makes the mention ambiguous.
	sort.SliceStable(matches, func(i, j int) bool {
		a, b := matches[i], matches[j]
		if a.Coverage != b.Coverage {
			return a.Coverage > b.Coverage
		}
		if len(a.pos) != len(b.pos) {
			return len(a.pos) > len(b.pos)
		}
		return a.Product.Name < b.Product.Name
	})
	used := map[int]bool{}
	var chosen []ProductMatch
	for _, m := range matches {
		overlap := false
		for _, p := range m.pos {
			overlap = overlap || used[p]
		}
		if overlap {
			if len(chosen) > 0 {
				best := chosen[len(chosen)-1]
				if m.Coverage == best.Coverage && len(m.pos) == len(best.pos) && samePos(m.pos, best.pos) {
					if len(f.Ambiguous) == 0 {
						f.Ambiguous = append(f.Ambiguous, best.Product)
					}
					f.Ambiguous = append(f.Ambiguous, m.Product)
				}
			}
			continue
		}
		for _, p := range m.pos {
			used[p] = true
		}
		chosen = append(chosen, m)
	}
	if len(f.Ambiguous) > 0 {
		for _, m := range matches {
			for _, p := range m.pos {
				used[p] = true
			}
		}
		if text == s.In.Text {
			s.relang(ctx, toks, used)
		}
		return f, nil
	}
	if text == s.In.Text {
		s.relang(ctx, toks, used)
		lang = s.Lang()
	}
	sort.Slice(chosen, func(i, j int) bool { return chosen[i].start < chosen[j].start })
	covered := 0
	for p := range used {
		if sigPos[p] {
			covered++
		}
	}
	f.QueryCoverage = float64(covered) / float64(len(sig))
	// The quantity of a product is the number nearest before it (after the
	// previous product), else one right after it.
	prevEnd := -1
	for i := range chosen {
		m := &chosen[i]
		for j := prevEnd + 1; j < m.start; j++ {
			if v, used, ok := parseNumber(lang, toks, j); ok && j+used <= m.start {
				m.Quantity = v
				j += used - 1
			}
		}
		if m.Quantity == 0 {
			next := len(toks)
			if i+1 < len(chosen) {
				next = chosen[i+1].start
			}
			for j := m.end + 1; j < next && j <= m.end+3; j++ {
				if v, _, ok := parseNumber(lang, toks, j); ok {
					m.Quantity = v
					break
				}
			}
		}
		prevEnd = m.end
	}
	f.Matches = chosen
	return f, nil
}

// relatedProducts are the candidates whose name and description hold at
// least 60% of the searchable words, among them a long one, by name.
func relatedProducts(sig []string, cands map[string]Product) []Product {
	var out []Product
	for _, p := range cands {
		words := tokens(p.Name + " " + p.Description)
		n, strong := 0, false
		for _, q := range sig {
			for _, w := range words {
				if wordMatch(q, w) {
					n++
					strong = strong || len(q) >= 4
					break
				}
			}
		}
		if strong && float64(n) >= 0.6*float64(len(sig)) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func samePos(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// matchProducts finds which candidates the message names: at least half
// of a name's words (leaving out function words) appear in the message.
func matchProducts(toks []string, cands map[string]Product) []ProductMatch {
	var out []ProductMatch
	for _, p := range cands {
		name := nameWords(p.Name)
		if len(name) == 0 {
			continue
		}
		taken := map[int]bool{}
		var pos []int
		strong := false
		for _, nw := range name {
			for i, w := range toks {
				if !taken[i] && wordMatch(nw, w) {
					taken[i] = true
					pos = append(pos, i)
					strong = strong || len(nw) >= 4 || isDigits(nw)
					break
				}
			}
		}
		cov := float64(len(pos)) / float64(len(name))
		if cov < 0.5 || !strong {
			continue
		}
		sort.Ints(pos)
		out = append(out, ProductMatch{Product: p, Coverage: cov, pos: pos, start: pos[0], end: pos[len(pos)-1]})
	}
	return out
}

// nameWords are a product name's folded words without function words (all
// of them if that leaves none: a title can be just "It").
func nameWords(name string) []string {
	all := tokens(name)
	var out []string
	for _, w := range all {
		if !anyStopword(w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

func anyStopword(w string) bool {
	for _, l := range Langs {
		if stopwords[l][w] {
			return true
		}
	}
	return false
}

// significant: a word worth searching the catalog for.
func significant(w string) bool {
	if anyStopword(w) || intentWord(w) || unitWords[w] {
		return false
	}
	if isDigits(w) {
		return len(w) >= 3 // "1984", not a quantity
	}
	for _, l := range Langs {
		if _, ok := numUnits[l][w]; ok {
			return false
		}
		if _, ok := numTens[l][w]; ok {
			return false
		}
	}
	return len(w) >= 2
}

// unitWords count things without naming them ("2 copies of").
var unitWords = set(`copy copies book books piece pieces unit units item items x
	exemplar exemplares livro livros unidade unidades copia copias
	exemplare buch bucher stuck stucke mal
	eksemplar buah buku biji pcs`)

// wordMatch: equal, a plural, or (long words) one typo apart.
func wordMatch(a, b string) bool {
	if a == b {
		return true
	}
	if isDigits(a) || isDigits(b) {
		return false
	}
	if len(a) >= 4 && len(b) >= 4 && (a+"s" == b || b+"s" == a || a+"es" == b || b+"es" == a) {
		return true
	}
	switch {
	case len(a) >= 9 && len(b) >= 9:
		return editDistance(a, b, 2) <= 2
	case len(a) >= 5 && len(b) >= 5:
		return editDistance(a, b, 1) <= 1
	}
	return false
}

// editDistance is the Levenshtein distance of a and b, or max+1 when it
// exceeds max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
			best = min(best, c)
		}
		if best > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
