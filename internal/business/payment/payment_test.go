package payment

import (
	"errors"
	"testing"
)

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		m       Money
		decimal string
	}{
		{Money{14990, BRL}, "149.90"},
		{Money{1, INR}, "0.01"},
		{Money{1000, INR}, "10.00"},
		{Money{-250, BRL}, "-2.50"},
	} {
		if got := tc.m.Decimal(); got != tc.decimal {
			t.Errorf("%+v.Decimal() = %q, want %q", tc.m, got, tc.decimal)
		}
		if tc.m.Offset() != 100 {
			t.Errorf("%+v.Offset() = %d", tc.m, tc.m.Offset())
		}
	}
	if err := (Money{100, "USD"}).Validate(); !errors.Is(err, ErrUnsupportedCurrency) {
		t.Errorf("USD: %v", err)
	}
	if err := (Money{0, BRL}).Validate(); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("zero: %v", err)
	}
	if got := (Money{5, BRL}).String(); got != "BRL 0.05" {
		t.Errorf("String() = %q", got)
	}
}

func TestValidReference(t *testing.T) {
	for ref, ok := range map[string]bool{
		"pedido-123": true, "SampleMSIL1102": true, "a.b_c-d": true, "877376394": true,
		"": false, "pedido 123": false, "pedido#1": false, "ação": false,
		"12345678901234567890123456789012345": true, "123456789012345678901234567890123456": false,
	} {
		if err := ValidReference(ref); (err == nil) != ok {
			t.Errorf("ValidReference(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}
