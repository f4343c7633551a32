package pix

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeyType is the kind of a Pix key, as the DICT (the Pix key directory)
// registers them. String gives the names Meta's pix_dynamic_code.key_type
// uses.
type KeyType uint8

const (
	KeyCPF KeyType = iota + 1
	KeyCNPJ
	KeyEmail
	KeyPhone
	KeyEVP // chave aleatória: a UUID the PSP assigned
)

func (t KeyType) String() string {
	switch t {
	case KeyCPF:
		return "CPF"
	case KeyCNPJ:
		return "CNPJ"
	case KeyEmail:
		return "EMAIL"
	case KeyPhone:
		return "PHONE"
	case KeyEVP:
		return "EVP"
	}
	return fmt.Sprintf("KeyType(%d)", uint8(t))
}

// ErrInvalidKey is a string that cannot be a registered Pix key.
var ErrInvalidKey = errors.New("pix: invalid Pix key")

// maxEmailKey is the DICT's limit for e-mail keys.
const maxEmailKey = 77

// emailKey is the DICT's e-mail pattern: lower case only, which is how the
// directory stores the address and so how a code must carry it.
var emailKey = regexp.MustCompile("^[a-z0-9.!#$&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")

// KeyTypeOf says which kind of Pix key key is, or why it is none, in the
// exact form the directory registers and a BR Code must carry: CPF 11 digits
// and CNPJ 14 characters without punctuation, both with valid check digits;
// e-mail lower case, at most 77 characters; a Brazilian mobile number as
// +55, area code and nine digits; EVP a lower-case UUID. NormalizeKey turns
// the usual human spellings into this form.
func KeyTypeOf(key string) (KeyType, error) {
	switch {
	case key == "":
		return 0, fmt.Errorf("%w: empty", ErrInvalidKey)
	case strings.Contains(key, "@"):
		if len(key) > maxEmailKey {
			return 0, fmt.Errorf("%w: e-mail key is %d characters, at most %d", ErrInvalidKey, len(key), maxEmailKey)
		}
		if strings.ToLower(key) != key {
			return 0, fmt.Errorf("%w: e-mail keys are lower case", ErrInvalidKey)
		}
		if !emailKey.MatchString(key) {
			return 0, fmt.Errorf("%w: not an e-mail address the directory accepts", ErrInvalidKey)
		}
		return KeyEmail, nil
	case key[0] == '+':
		if !isPhoneKey(key) {
			return 0, fmt.Errorf("%w: a phone key is +55, a two-digit area code and a nine-digit mobile number", ErrInvalidKey)
		}
		return KeyPhone, nil
	case looksLikeUUID(key):
		if !isLowerHexUUID(key) {
			return 0, fmt.Errorf("%w: an EVP key is a lower-case hexadecimal UUID", ErrInvalidKey)
		}
		return KeyEVP, nil
	case len(key) == 11 && allDigits(key):
		if !validCPF(key) {
			return 0, fmt.Errorf("%w: CPF check digits do not match", ErrInvalidKey)
		}
		return KeyCPF, nil
	case len(key) == 14 && isCNPJShape(key):
		if !validCNPJ(key) {
			return 0, fmt.Errorf("%w: CNPJ check digits do not match", ErrInvalidKey)
		}
		return KeyCNPJ, nil
	}
	return 0, fmt.Errorf("%w: not a CPF, CNPJ, e-mail, +55 mobile number or EVP", ErrInvalidKey)
}

// NormalizeKey turns the ways people write Pix keys into the directory's
// form: punctuation out of CPF, CNPJ and phone numbers, e-mail and EVP in
// lower case, surrounding spaces trimmed. It does not validate; KeyTypeOf
// does.
func NormalizeKey(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "@") || looksLikeUUID(s) {
		return strings.ToLower(s)
	}
	stripped := strings.Map(func(r rune) rune {
		switch r {
		case '.', '-', '/', ' ', '(', ')':
			return -1
		}
		return r
	}, s)
	if stripped != "" && (stripped[0] == '+' && allDigits(stripped[1:]) || isCNPJShape(strings.ToUpper(stripped)) || allDigits(stripped)) {
		return strings.ToUpper(stripped)
	}
	return s
}

// isPhoneKey: the directory registers mobile numbers only, and every
// Brazilian mobile number has nine digits starting with 9.
func isPhoneKey(s string) bool {
	if len(s) != 14 || !strings.HasPrefix(s, "+55") || !allDigits(s[3:]) {
		return false
	}
	return s[3] != '0' && s[4] != '0' && s[5] == '9'
}

func looksLikeUUID(s string) bool {
	return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-'
}

func isLowerHexUUID(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		default:
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func allSame(s string) bool {
	return strings.Count(s, s[:1]) == len(s)
}

// validCPF checks the two mod-11 check digits. Numbers of one repeated digit
// pass the arithmetic but the Receita Federal never issues them.
func validCPF(s string) bool {
	if allSame(s) {
		return false
	}
	for n := 9; n <= 10; n++ {
		sum := 0
		for i := range n {
			sum += int(s[i]-'0') * (n + 1 - i)
		}
		if checkDigit(sum) != int(s[n]-'0') {
			return false
		}
	}
	return true
}

// isCNPJShape accepts both the numeric CNPJ and the alphanumeric one the
// Receita Federal issues from July 2026 (IN RFB 2.229/2024): twelve
// characters 0-9 or A-Z, then two check digits.
func isCNPJShape(s string) bool {
	if len(s) != 14 || !allDigits(s[12:]) {
		return false
	}
	for i := range 12 {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validCNPJ checks the two mod-11 check digits; each character counts as its
// ASCII code minus 48, which keeps digits as they were and makes A = 17.
func validCNPJ(s string) bool {
	if allSame(s) {
		return false
	}
	weights := []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
	for n := 12; n <= 13; n++ {
		w := weights[13-n:]
		sum := 0
		for i := range n {
			sum += int(s[i]-'0') * w[i]
		}
		if checkDigit(sum) != int(s[n]-'0') {
			return false
		}
	}
	return true
}

func checkDigit(sum int) int {
	if r := sum % 11; r >= 2 {
		return 11 - r
	}
	return 0
}
