package bot

import (
	"strconv"
	"strings"
)

// currencyDigits is the ISO 4217 minor-unit exponent of the currencies that
// differ from 2.
var currencyDigits = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

var currencySymbols = map[string]string{
	"BRL": "R$", "INR": "₹", "EUR": "€", "USD": "US$", "IDR": "Rp", "GBP": "£", "JPY": "¥",
}

// minorDigits is the number of decimals of currency.
func minorDigits(currency string) int {
	if d, ok := currencyDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// cloudAmount is minor units as a Cloud API amount.
func cloudAmount(minor int64, currency string) *Amount {
	off := int64(1)
	for range minorDigits(currency) {
		off *= 10
	}
	return &Amount{Value: minor, Offset: off}
}

// formatMoney writes an amount of minor units the way lang writes money:
// "R$ 79,80", "$1,234.50", "79,80 €", "Rp 150.000". It uses only integer
// arithmetic: the amounts the bot states are exactly the tools' amounts.
func formatMoney(lang Lang, currency string, minor int64) string {
	currency = strings.ToUpper(currency)
	digits := minorDigits(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	for len(s) <= digits {
		s = "0" + s
	}
	whole, frac := s[:len(s)-digits], s[len(s)-digits:]
	dec, group := ",", "."
	if lang == English {
		dec, group = ".", ","
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	num := b.String()
	// Rupiah amounts are written without their (never used) cents.
	if frac != "" && !(currency == "IDR" && strings.Trim(frac, "0") == "") {
		num += dec + frac
	}
	if neg {
		num = "-" + num
	}
	sym, ok := currencySymbols[currency]
	if !ok {
		return num + " " + currency
	}
	if currency == "EUR" && lang != English {
		return num + " €"
	}
	if lang == English && (currency == "INR" || currency == "GBP" || currency == "EUR") {
		return sym + num
	}
	return sym + " " + num
}
