package commerce

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MaxAmount bounds every amount, in minor units: 15 digits, below 2^53 so
// that JavaScript clients read the JSON numbers exactly, and far above any
// real order (ten trillion reais).
const MaxAmount int64 = 999_999_999_999_999

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// Money is an amount in minor units of a currency: {1490, "BRL"} is
// R$ 14,90 and {1490, "JPY"} is ¥1490.
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// Add returns m + n. Both must have the same currency and the sum must stay
// within ±MaxAmount.
func (m Money) Add(n Money) (Money, error) {
	if m.Currency != n.Currency {
		return Money{}, fmt.Errorf("%w: %s + %s", ErrCurrencyMismatch, m.Currency, n.Currency)
	}
	return m.checked(m.Amount + n.Amount) // no overflow: both are within ±MaxAmount
}

// Sub returns m − n, which may be negative.
func (m Money) Sub(n Money) (Money, error) {
	if m.Currency != n.Currency {
		return Money{}, fmt.Errorf("%w: %s - %s", ErrCurrencyMismatch, m.Currency, n.Currency)
	}
	return m.checked(m.Amount - n.Amount)
}

// Mul returns m × q.
func (m Money) Mul(q int64) (Money, error) {
	hi, lo := bits.Mul64(uint64(abs(m.Amount)), uint64(abs(q)))
	if hi != 0 || lo > uint64(MaxAmount) {
		return Money{}, fmt.Errorf("%w: %d × %d is too large", ErrInvalidAmount, m.Amount, q)
	}
	v := int64(lo)
	if (m.Amount < 0) != (q < 0) {
		v = -v
	}
	return Money{Amount: v, Currency: m.Currency}, nil
}

func (m Money) checked(v int64) (Money, error) {
	if v > MaxAmount || v < -MaxAmount {
		return Money{}, fmt.Errorf("%w: %d is beyond the largest amount", ErrInvalidAmount, v)
	}
	return Money{Amount: v, Currency: m.Currency}, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Offset returns the amount as the Cloud API writes it, {"value": v,
// "offset": o} meaning v/o major units: the minor units and the currency's
// scale (100 for BRL and INR, as Meta requires there).
func (m Money) Offset() (value, offset int64) { return m.Amount, m.Currency.Scale() }

// String formats m as "149.90 BRL" (the decimal point always a dot).
func (m Money) String() string { return FormatDecimal(m.Amount, m.Currency) + " " + string(m.Currency) }

// FormatDecimal writes minor units as a decimal in major units with the
// currency's number of decimals: 14990 BRL is "149.90", 5 JPY is "5".
func FormatDecimal(amount int64, c Currency) string {
	e := max(c.Exponent(), 0)
	neg := amount < 0
	digits := strconv.FormatUint(uint64(abs(amount)), 10)
	if e > 0 {
		if len(digits) <= e {
			digits = strings.Repeat("0", e-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-e] + "." + digits[len(digits)-e:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// ParseDecimal converts a decimal number of major units, in JSON number
// syntax ("30", "30.5", "30.50", "1e2", "0.15E+1"), to minor units of c,
// exactly. It refuses a negative amount, more precision than c has ("0.001"
// BRL), an amount above MaxAmount, and anything that is not a JSON number
// ("+1", ".5", "1.", "0x10", " 1", "NaN"). "-0" is zero.
func ParseDecimal(s string, c Currency) (int64, error) {
	exp := c.Exponent()
	if exp < 0 {
		return 0, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(c))
	}
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%w: %q %s", ErrInvalidAmount, clip(s), why)
	}
	rest := s
	neg := strings.HasPrefix(rest, "-")
	if neg {
		rest = rest[1:]
	}
	intPart := leadingDigits(rest)
	rest = rest[len(intPart):]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return bad("is not a number")
	}
	var frac string
	if strings.HasPrefix(rest, ".") {
		frac = leadingDigits(rest[1:])
		if frac == "" {
			return bad("is not a number")
		}
		rest = rest[1+len(frac):]
	}
	e10 := 0
	if rest != "" {
		if rest[0] != 'e' && rest[0] != 'E' {
			return bad("is not a number")
		}
		rest = rest[1:]
		expNeg := false
		if rest != "" && (rest[0] == '+' || rest[0] == '-') {
			expNeg = rest[0] == '-'
			rest = rest[1:]
		}
		ed := leadingDigits(rest)
		if ed == "" || len(ed) != len(rest) {
			return bad("is not a number")
		}
		ed = strings.TrimLeft(ed, "0")
		// Beyond this the value is huge or tiny whatever the mantissa; the
		// mantissa can shift it by at most len(s) digits.
		if len(ed) > 6 {
			ed = "999999"
		}
		e10, _ = strconv.Atoi("0" + ed)
		if expNeg {
			e10 = -e10
		}
	}
	// value = digits × 10^(e10 − len(frac)); in minor units, × 10^exp more.
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if neg {
		return bad("is negative")
	}
	shift := e10 - len(frac) + exp
	if shift < 0 {
		cut := -shift
		if cut >= len(digits) || strings.TrimRight(digits[len(digits)-cut:], "0") != "" {
			return bad(fmt.Sprintf("has more decimals than %s has (%d)", c, exp))
		}
		digits = digits[:len(digits)-cut]
	} else if shift > 0 {
		if len(digits)+shift > 15 {
			return bad("is too large")
		}
		digits += strings.Repeat("0", shift)
	}
	if len(digits) > 15 {
		return bad("is too large")
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > MaxAmount {
		return bad("is too large")
	}
	return v, nil
}

// FromOffset converts the Cloud API's {"value","offset"} amount (value /
// offset major units; offset a power of ten) to minor units of c, exactly.
func FromOffset(value, offset int64, c Currency) (int64, error) {
	exp := c.Exponent()
	if exp < 0 {
		return 0, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(c))
	}
	k := 0
	for o := offset; o > 1; o /= 10 {
		if o%10 != 0 {
			return 0, fmt.Errorf("%w: offset %d is not a power of ten", ErrInvalidAmount, offset)
		}
		k++
	}
	if offset < 1 || k > 18 {
		return 0, fmt.Errorf("%w: offset %d is not a power of ten", ErrInvalidAmount, offset)
	}
	if value < 0 {
		return 0, fmt.Errorf("%w: %d is negative", ErrInvalidAmount, value)
	}
	// Compare digit strings so that no multiplication can overflow.
	return ParseDecimal(strconv.FormatInt(value, 10)+"e-"+strconv.Itoa(k), c)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// clip keeps error messages short when the input is long.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
