package commerce

import (
	"fmt"
	"strings"
)

// Currency is an ISO 4217 alphabetic code in upper case, such as "BRL".
type Currency string

// The active ISO 4217 codes (list of 2025, incl. the funds codes), grouped
// by their minor-unit exponent. Codes outside these lists are refused: an
// unknown code would make every amount's scale a guess.
const (
	exponent0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
	exponent3 = "BHD IQD JOD KWD LYD OMR TND"
	exponent4 = "CLF UYW"
	exponent2 = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP " +
		"BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP " +
		"GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR " +
		"LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB " +
		"PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL " +
		"THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

var currencyExponents = func() map[Currency]int {
	m := make(map[Currency]int, 180)
	for exp, list := range []string{exponent0, "", exponent2, exponent3, exponent4} {
		for _, c := range strings.Fields(list) {
			m[Currency(c)] = exp
		}
	}
	return m
}()

// ParseCurrency accepts an ISO 4217 code this package knows, in upper case.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(s)
	if !c.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownCurrency, s)
	}
	return c, nil
}

// Valid reports whether c is a known ISO 4217 code.
func (c Currency) Valid() bool {
	_, ok := currencyExponents[c]
	return ok
}

// Exponent is the number of decimal digits of c's minor unit: 2 for BRL,
// INR, USD and EUR (1 real = 100 centavos), 0 for JPY, 3 for KWD. It is -1
// for an unknown code.
func (c Currency) Exponent() int {
	if e, ok := currencyExponents[c]; ok {
		return e
	}
	return -1
}

// Scale is 10^Exponent: how many minor units make one major unit. It is 0
// for an unknown code.
func (c Currency) Scale() int64 {
	e := c.Exponent()
	if e < 0 {
		return 0
	}
	return pow10[e]
}

func (c Currency) String() string { return string(c) }
