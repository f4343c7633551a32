package cloudapi

import (
	"strings"
	"testing"
)

func TestTokenStoredHashed(t *testing.T) {
	tok, h := NewToken()
	if !strings.HasPrefix(tok, "EAA") || HashToken(tok) != h {
		t.Fatal("token and hash disagree")
	}
	m := NewMemTokens()
	issued := m.Issue(Token{WABAID: "1"})
	for k := range m.tokens {
		if strings.Contains(string(k[:]), issued) {
			t.Fatal("token kept in the clear")
		}
	}
}
