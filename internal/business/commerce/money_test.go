package commerce_test

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/internal/business/commerce"
)

func TestCurrencyExponents(t *testing.T) {
	for _, tc := range []struct {
		c    commerce.Currency
		exp  int
		sc   int64
		good bool
	}{
		{"BRL", 2, 100, true}, {"INR", 2, 100, true}, {"USD", 2, 100, true}, {"EUR", 2, 100, true},
		{"IDR", 2, 100, true}, {"JPY", 0, 1, true}, {"KRW", 0, 1, true}, {"KWD", 3, 1000, true},
		{"CLF", 4, 10000, true}, {"brl", -1, 0, false}, {"XXX", -1, 0, false}, {"", -1, 0, false},
	} {
		if got := tc.c.Exponent(); got != tc.exp {
			t.Errorf("%q.Exponent() = %d, want %d", tc.c, got, tc.exp)
		}
		if got := tc.c.Scale(); got != tc.sc {
			t.Errorf("%q.Scale() = %d, want %d", tc.c, got, tc.sc)
		}
		if _, err := commerce.ParseCurrency(string(tc.c)); (err == nil) != tc.good {
			t.Errorf("ParseCurrency(%q) = %v", tc.c, err)
		} else if err != nil && !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("ParseCurrency(%q) error %v does not match ErrInvalid", tc.c, err)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		c    commerce.Currency
		want int64
		ok   bool
	}{
		{"30", "USD", 3000, true},
		{"30.5", "USD", 3050, true},
		{"30.50", "USD", 3050, true},
		{"30.500000", "BRL", 3050, true},
		{"1e2", "BRL", 10000, true},
		{"1E+2", "BRL", 10000, true},
		{"0.15e1", "INR", 150, true},
		{"1234.5e-1", "EUR", 12345, true},
		{"0", "BRL", 0, true},
		{"0.00", "BRL", 0, true},
		{"-0", "BRL", 0, true},
		{"0e999999999999", "BRL", 0, true},
		{"0.01", "BRL", 1, true},
		{"149.90", "BRL", 14990, true},
		{"1490", "JPY", 1490, true},
		{"1.5e3", "JPY", 1500, true},
		{"0.125", "KWD", 125, true},
		{"9999999999999.99", "BRL", 999_999_999_999_999, true},
		{"999999999999999", "JPY", 999_999_999_999_999, true},
		{"0.000000000000000000001e21", "BRL", 100, true},
		// sub-minor precision
		{"0.001", "BRL", 0, false},
		{"30.505", "USD", 0, false},
		{"1.5", "JPY", 0, false},
		{"1e-3", "BRL", 0, false},
		{"0.0001", "KWD", 0, false},
		// negative
		{"-1", "BRL", 0, false},
		{"-0.01", "BRL", 0, false},
		// too large
		{"10000000000000", "BRL", 0, false},
		{"1e13", "BRL", 0, false},
		{"1e999999999999", "BRL", 0, false},
		{"1000000000000000", "JPY", 0, false},
		{"99999999999999999999999999999", "BRL", 0, false},
		// not JSON numbers
		{"", "BRL", 0, false},
		{"+1", "BRL", 0, false},
		{".5", "BRL", 0, false},
		{"1.", "BRL", 0, false},
		{"01", "BRL", 0, false},
		{" 1", "BRL", 0, false},
		{"1 ", "BRL", 0, false},
		{"0x10", "BRL", 0, false},
		{"1e", "BRL", 0, false},
		{"1e+", "BRL", 0, false},
		{"NaN", "BRL", 0, false},
		{"Infinity", "BRL", 0, false},
		{"1,5", "BRL", 0, false},
		{"\"1\"", "BRL", 0, false},
		{"1", "XYZ", 0, false},
	} {
		got, err := commerce.ParseDecimal(tc.in, tc.c)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDecimal(%q, %s) = %d, %v; want %d, ok=%v", tc.in, tc.c, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("ParseDecimal(%q) error %v does not match ErrInvalid", tc.in, err)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		c    commerce.Currency
		want string
	}{
		{14990, "BRL", "149.90"}, {5, "BRL", "0.05"}, {0, "INR", "0.00"}, {-250, "USD", "-2.50"},
		{1490, "JPY", "1490"}, {1, "KWD", "0.001"}, {999_999_999_999_999, "EUR", "9999999999999.99"},
	} {
		got := commerce.FormatDecimal(tc.v, tc.c)
		if got != tc.want {
			t.Errorf("FormatDecimal(%d, %s) = %q, want %q", tc.v, tc.c, got, tc.want)
		}
		if tc.v >= 0 {
			if back, err := commerce.ParseDecimal(got, tc.c); err != nil || back != tc.v {
				t.Errorf("ParseDecimal(FormatDecimal(%d)) = %d, %v", tc.v, back, err)
			}
		}
	}
	if s := (commerce.Money{Amount: 14990, Currency: "BRL"}).String(); s != "149.90 BRL" {
		t.Errorf("Money.String() = %q", s)
	}
}

func TestFromOffset(t *testing.T) {
	for _, tc := range []struct {
		value, offset int64
		c             commerce.Currency
		want          int64
		ok            bool
	}{
		{14990, 100, "BRL", 14990, true},
		{1499, 10, "BRL", 14990, true},
		{149900, 1000, "BRL", 14990, true},
		{149, 1, "INR", 14900, true},
		{149901, 1000, "BRL", 0, false}, // a tenth of a centavo
		{1500, 100, "JPY", 15, true},
		{1550, 100, "JPY", 0, false},
		{100, 0, "BRL", 0, false},
		{100, 50, "BRL", 0, false},
		{100, -100, "BRL", 0, false},
		{-100, 100, "BRL", 0, false},
		{9_000_000_000_000_000_000, 1, "BRL", 0, false},
		{1, 1_000_000_000_000_000_000, "BRL", 0, false},
		{100, 100, "ZZZ", 0, false},
	} {
		got, err := commerce.FromOffset(tc.value, tc.offset, tc.c)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("FromOffset(%d, %d, %s) = %d, %v; want %d ok=%v", tc.value, tc.offset, tc.c, got, err, tc.want, tc.ok)
		}
	}
	v, o := commerce.Money{Amount: 14990, Currency: "BRL"}.Offset()
	if v != 14990 || o != 100 {
		t.Errorf("Offset() = %d, %d", v, o)
	}
	if v, o := (commerce.Money{Amount: 1490, Currency: "JPY"}).Offset(); v != 1490 || o != 1 {
		t.Errorf("JPY Offset() = %d, %d", v, o)
	}
}

func TestMoneyArithmetic(t *testing.T) {
	brl := func(v int64) commerce.Money { return commerce.Money{Amount: v, Currency: "BRL"} }
	max := commerce.MaxAmount
	for _, tc := range []struct {
		name string
		got  func() (commerce.Money, error)
		want int64
		err  error
	}{
		{"add", func() (commerce.Money, error) { return brl(1050).Add(brl(250)) }, 1300, nil},
		{"add to the limit", func() (commerce.Money, error) { return brl(max - 1).Add(brl(1)) }, max, nil},
		{"add beyond the limit", func() (commerce.Money, error) { return brl(max).Add(brl(1)) }, 0, commerce.ErrInvalidAmount},
		{"add other currency", func() (commerce.Money, error) {
			return brl(1).Add(commerce.Money{Amount: 1, Currency: "USD"})
		}, 0, commerce.ErrCurrencyMismatch},
		{"sub to negative", func() (commerce.Money, error) { return brl(100).Sub(brl(250)) }, -150, nil},
		{"sub beyond the limit", func() (commerce.Money, error) { return brl(-max).Sub(brl(1)) }, 0, commerce.ErrInvalidAmount},
		{"mul", func() (commerce.Money, error) { return brl(1999).Mul(3) }, 5997, nil},
		{"mul by zero", func() (commerce.Money, error) { return brl(1999).Mul(0) }, 0, nil},
		{"mul negative", func() (commerce.Money, error) { return brl(-5).Mul(3) }, -15, nil},
		{"mul beyond the limit", func() (commerce.Money, error) { return brl(max/2 + 1).Mul(2) }, 0, commerce.ErrInvalidAmount},
		{"mul overflowing int64", func() (commerce.Money, error) { return brl(max).Mul(1 << 40) }, 0, commerce.ErrInvalidAmount},
	} {
		m, err := tc.got()
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, %v; want %v", tc.name, m, err, tc.err)
			}
			continue
		}
		if err != nil || m.Amount != tc.want || m.Currency != "BRL" {
			t.Errorf("%s: %v, %v; want %d BRL", tc.name, m, err, tc.want)
		}
	}
}
