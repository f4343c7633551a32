package bot

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// BM25 parameters (the usual ones).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
	// answerWeight is how much an answer's words count against the
	// question's and keywords' own.
	answerWeight = 0.4
	// FAQThreshold is the confidence below which the bot says it does not
	// know rather than answer with the best FAQ entry.
	FAQThreshold = 0.5
)

// FAQHit is a FAQ entry found for a question, with the confidence in
// [0, 1] that it answers it.
type FAQHit struct {
	Entry      FAQEntry
	Confidence float64
}

// faqIndex is a BM25 index over a business's FAQ, one sub-index per
// language so that a question is matched against entries stemmed the way
// it is.
type faqIndex struct {
	entries []FAQEntry
	byLang  map[Lang]*bm25
}

type bm25 struct {
	docs  []int // entry indexes
	terms []map[string]float64
	lens  []float64
	avg   float64
	df    map[string]int
}

func newFAQIndex(entries []FAQEntry) *faqIndex {
	ix := &faqIndex{entries: entries, byLang: map[Lang]*bm25{}}
	for i := range entries {
		e := &ix.entries[i]
		if !e.Lang.valid() {
			e.Lang, _ = detectLang(e.Question + " " + e.Answer)
		}
		b := ix.byLang[e.Lang]
		if b == nil {
			b = &bm25{df: map[string]int{}}
			ix.byLang[e.Lang] = b
		}
		tf := map[string]float64{}
		n := 0.0
		add := func(text string, w float64) {
			for _, t := range contentWords(e.Lang, text) {
				tf[t] += w
				n += w
			}
		}
		add(e.Question, 1)
		for _, k := range e.Keywords {
			add(k, 1)
		}
		add(e.Answer, answerWeight)
		for t := range tf {
			b.df[t]++
		}
		b.docs = append(b.docs, i)
		b.terms = append(b.terms, tf)
		b.lens = append(b.lens, n)
	}
	for _, b := range ix.byLang {
		sum := 0.0
		for _, l := range b.lens {
			sum += l
		}
		b.avg = sum / float64(len(b.lens))
	}
	return ix
}

func (b *bm25) idf(t string) float64 {
	n := float64(len(b.docs))
	df := float64(b.df[t])
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// search returns the entries answering question in lang, best first, at
// most limit. It searches the entries of the question's language when
// there are any, else all of them.
func (ix *faqIndex) search(lang Lang, question string, limit int) []FAQHit {
	if ix == nil || len(ix.entries) == 0 {
		return nil
	}
	langs := []Lang{lang}
	if ix.byLang[lang] == nil {
		langs = Langs
	}
	names := capitalised(langs[0], question)
	var hits []FAQHit
	for _, l := range langs {
		b := ix.byLang[l]
		if b == nil {
			continue
		}
		q := dedupe(contentWords(l, question))
		if len(q) == 0 {
			continue
		}
		// Confidence: the share of the question's weight (idf; words no
		// entry has count a third, capitalised ones an eighth: they are
		// likely names, "Rio de Janeiro") that the entry matches, times
		// how saturated BM25 is on them.
		var total float64
		maxIDF := math.Log(1 + (float64(len(b.docs))+0.5)/0.5)
		for _, t := range q {
			switch {
			case b.df[t] == 0 && names[t]:
				total += maxIDF / 8
			case b.df[t] == 0:
				total += maxIDF / 3
			default:
				total += b.idf(t)
			}
		}
		for d, tf := range b.terms {
			score, matched := 0.0, 0.0
			for _, t := range q {
				f := tf[t]
				if f == 0 {
					continue
				}
				idf := b.idf(t)
				norm := f * (bm25K1 + 1) / (f + bm25K1*(1-bm25B+bm25B*b.lens[d]/b.avg))
				score += idf * norm
				matched += idf * math.Min(1, norm)
			}
			if score == 0 {
				continue
			}
			hits = append(hits, FAQHit{Entry: ix.entries[b.docs[d]], Confidence: matched / total})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Confidence > hits[j].Confidence })
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

// translate returns the entry with e's ID in lang, or e.
func (ix *faqIndex) translate(e FAQEntry, lang Lang) FAQEntry {
	if e.ID == "" || e.Lang == lang {
		return e
	}
	for _, o := range ix.entries {
		if o.ID == e.ID && o.Lang == lang {
			return o
		}
	}
	return e
}

// capitalised returns the stems of the words written with a capital
// letter, other than a sentence's first word, and of short lowercase words
// between two of them ("Rio de Janeiro"): likely names.
func capitalised(l Lang, text string) map[string]bool {
	if l == German {
		return nil // every German noun is capitalised
	}
	words := strings.Fields(text)
	caps := make([]bool, len(words))
	first := true
	for i, raw := range words {
		r, _ := utf8.DecodeRuneInString(raw)
		caps[i] = unicode.IsUpper(r) && !first
		first = strings.ContainsAny(raw, ".!?")
	}
	out := map[string]bool{}
	for i, raw := range words {
		between := i > 0 && i+1 < len(words) && caps[i-1] && caps[i+1] && utf8.RuneCountInString(raw) <= 3
		if caps[i] || between {
			for _, w := range tokens(raw) {
				out[stem(l, w)] = true
			}
		}
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, w := range s {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
