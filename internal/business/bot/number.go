package bot

import (
	"strconv"
	"strings"
)

// Number words of each language (folded). Only the customer's language's
// words count: German "um" is "at", Portuguese "um" is "one".
var (
	numUnits = map[Lang]map[string]int{
		English: {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
			"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
			"thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
			"eighteen": 18, "nineteen": 19, "dozen": 12, "couple": 2, "pair": 2},
		Portuguese: {"zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4,
			"cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11,
			"doze": 12, "treze": 13, "quatorze": 14, "catorze": 14, "quinze": 15,
			"dezesseis": 16, "dezasseis": 16, "dezessete": 17, "dezassete": 17, "dezoito": 18,
			"dezenove": 19, "dezanove": 19, "duzia": 12, "par": 2},
		German: {"null": 0, "ein": 1, "eins": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1,
			"zwei": 2, "zwo": 2, "drei": 3, "vier": 4, "funf": 5, "sechs": 6, "sieben": 7,
			"acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwolf": 12, "dreizehn": 13,
			"vierzehn": 14, "funfzehn": 15, "sechzehn": 16, "siebzehn": 17, "achtzehn": 18,
			"neunzehn": 19, "dutzend": 12, "paar": 2},
		Indonesian: {"nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6,
			"tujuh": 7, "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11,
			"seratus": 100, "selusin": 12, "sepasang": 2},
	}
	numTens = map[Lang]map[string]int{
		English: {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
			"seventy": 70, "eighty": 80, "ninety": 90},
		Portuguese: {"vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50,
			"sessenta": 60, "setenta": 70, "oitenta": 80, "noventa": 90},
		German: {"zwanzig": 20, "dreissig": 30, "vierzig": 40, "funfzig": 50, "sechzig": 60,
			"siebzig": 70, "achtzig": 80, "neunzig": 90},
	}
	numHundreds = map[Lang]map[string]int{
		Portuguese: {"cem": 100, "cento": 100, "duzentos": 200, "duzentas": 200,
			"trezentos": 300, "trezentas": 300, "quatrocentos": 400, "quinhentos": 500,
			"seiscentos": 600, "setecentos": 700, "oitocentos": 800, "novecentos": 900},
	}
)

// parseNumber reads a number starting at toks[i] (folded tokens): digits
// ("2", "2x", "x2") or the words of lang ("twenty one", "vinte e um",
// "einundzwanzig", "dua puluh satu"). It returns the value and how many
// tokens it used; ok is false when toks[i] starts no number. Values stay
// below 1000000.
func parseNumber(lang Lang, toks []string, i int) (n, used int, ok bool) {
	if i < 0 || i >= len(toks) {
		return 0, 0, false
	}
	w := toks[i]
	switch d, ok := digitsQty(w); {
	case ok:
		n, used = d, 1
	case lang == German:
		n, ok = deNumber(w)
		used = 1
		if !ok {
			return 0, 0, false
		}
	case lang == Indonesian:
		if n, used, ok = idNumber(toks, i); !ok {
			return 0, 0, false
		}
	default:
		if n, used, ok = romanceNumber(lang, toks, i); !ok {
			return 0, 0, false
		}
	}
	// "two dozen", "uma dúzia", "zwei Dutzend"
	if j := i + used; j < len(toks) && dozenWords[toks[j]] && !dozenWords[toks[j-1]] && n < 10000 {
		n *= 12
		used++
	}
	return n, used, true
}

var dozenWords = set("dozen dozens duzia duzias dutzend lusin")

// digitsQty reads "12", "2x" and "x2".
func digitsQty(w string) (int, bool) {
	w = strings.TrimSuffix(w, "x")
	if len(w) > 1 && w[0] == 'x' {
		w = w[1:]
	}
	if !isDigits(w) || len(w) > 6 {
		return 0, false
	}
	v, err := strconv.Atoi(w)
	return v, err == nil
}

// romanceNumber reads English and Portuguese numbers: [hundreds] [and|e]
// [tens] [e] [units].
func romanceNumber(lang Lang, toks []string, i int) (int, int, bool) {
	and := map[Lang]string{English: "and", Portuguese: "e"}[lang]
	units, tens := numUnits[lang], numTens[lang]
	j, total, any := i, 0, false
	// joiner skips "and"/"e" when a number word follows it.
	joiner := func() {
		if j+1 < len(toks) && toks[j] == and {
			_, u := units[toks[j+1]]
			_, t := tens[toks[j+1]]
			if u || t {
				j++
			}
		}
	}
	switch {
	case lang == English && toks[j] == "hundred":
		total, any = 100, true
		j++
		joiner()
	case lang == English && j+1 < len(toks) && toks[j+1] == "hundred" && units[toks[j]] >= 1 && units[toks[j]] <= 9:
		total, any = units[toks[j]]*100, true
		j += 2
		joiner()
	case lang == Portuguese:
		if v, ok := numHundreds[lang][toks[j]]; ok {
			total, any = v, true
			j++
			joiner()
		}
	}
	if j < len(toks) {
		if v, ok := tens[toks[j]]; ok {
			total += v
			any = true
			j++
			joiner()
		}
	}
	if j < len(toks) {
		if v, ok := units[toks[j]]; ok && (total%100 == 0 || v >= 1 && v <= 9) {
			total += v
			any = true
			j++
		}
	}
	if !any {
		return 0, 0, false
	}
	return total, j - i, true
}

// deNumber reads a German number word, which is one token:
// "einundzwanzig", "zweihundertdrei", "hundertzwölf".
func deNumber(w string) (int, bool) {
	if w == "" {
		return 0, false
	}
	if v, ok := numUnits[German][w]; ok {
		return v, true
	}
	if v, ok := numTens[German][w]; ok {
		return v, true
	}
	if h, rest, ok := strings.Cut(w, "hundert"); ok {
		mult := 1
		if h != "" {
			m, ok := numUnits[German][h]
			if !ok || m < 1 || m > 9 {
				return 0, false
			}
			mult = m
		}
		if strings.HasPrefix(rest, "und") {
			rest = rest[3:]
		}
		r := 0
		if rest != "" {
			var ok bool
			if r, ok = deNumber(rest); !ok || r >= 100 {
				return 0, false
			}
		}
		return mult*100 + r, true
	}
	if u, t, ok := strings.Cut(w, "und"); ok {
		uv, ok1 := numUnits[German][u]
		tv, ok2 := numTens[German][t]
		if u == "ein" {
			uv, ok1 = 1, true
		}
		if ok1 && ok2 && uv >= 1 && uv <= 9 {
			return tv + uv, true
		}
	}
	return 0, false
}

// idNumber reads Indonesian: "dua belas" (12), "tiga puluh dua" (32),
// "dua ratus lima" (205), "seratus", "sebelas".
func idNumber(toks []string, i int) (int, int, bool) {
	units := numUnits[Indonesian]
	j, total := i, 0
	read := func() (int, bool) { // one group below 1000
		if j >= len(toks) {
			return 0, false
		}
		v, ok := units[toks[j]]
		if !ok {
			return 0, false
		}
		j++
		if v == 100 { // seratus
			if r, ok := readBelow100(toks, &j, units); ok {
				v += r
			}
			return v, true
		}
		if v >= 1 && v <= 9 && j < len(toks) {
			switch toks[j] {
			case "ratus":
				j++
				v *= 100
				if r, ok := readBelow100(toks, &j, units); ok {
					v += r
				}
				return v, true
			case "puluh":
				j++
				v *= 10
				if j < len(toks) {
					if u, ok := units[toks[j]]; ok && u >= 1 && u <= 9 {
						j++
						v += u
					}
				}
				return v, true
			case "belas":
				j++
				return 10 + v, true
			}
		}
		return v, true
	}
	v, ok := read()
	if !ok {
		return 0, 0, false
	}
	total = v
	return total, j - i, true
}

func readBelow100(toks []string, j *int, units map[string]int) (int, bool) {
	if *j >= len(toks) {
		return 0, false
	}
	v, ok := units[toks[*j]]
	if !ok || v >= 100 {
		return 0, false
	}
	*j++
	if v >= 1 && v <= 9 && *j < len(toks) {
		switch toks[*j] {
		case "puluh":
			*j++
			v *= 10
			if *j < len(toks) {
				if u, ok := units[toks[*j]]; ok && u >= 1 && u <= 9 {
					*j++
					v += u
				}
			}
		case "belas":
			*j++
			v += 10
		}
	}
	return v, true
}

// findQuantity returns the first number among toks (a quantity the customer
// asked for), or 0.
func findQuantity(lang Lang, toks []string) int {
	for i := 0; i < len(toks); i++ {
		if v, _, ok := parseNumber(lang, toks, i); ok {
			return v
		}
	}
	return 0
}
