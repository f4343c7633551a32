package pix

import (
	"fmt"
	"strconv"
	"strings"
)

// FormatAmount writes centavos as field 54 wants them: reais, a dot, two
// digits ("25.50"). The amount must be in 1..MaxAmount.
func FormatAmount(centavos int64) string {
	return fmt.Sprintf("%d.%02d", centavos/100, centavos%100)
}

// parseAmount reads field 54: digits with an optional dot and one or two
// decimals ("10", "10.5", "10.50"), above zero.
func parseAmount(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || dot && (frac == "" || len(frac) > 2 || !allDigits(frac)) {
		return 0, fmt.Errorf("%w: 54 amount %q is not a decimal with at most two places", ErrInvalidField, s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	// Field 54 has 13 characters, so this never overflows int64.
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v <= 0 || v > MaxAmount {
		return 0, fmt.Errorf("%w: 54 amount %q is not in 0.01..9999999999.99", ErrInvalidField, s)
	}
	return v, nil
}
