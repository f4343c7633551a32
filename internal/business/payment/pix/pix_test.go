package pix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func golden(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCRCCheckValue(t *testing.T) {
	// The catalogue's check value for CRC-16/CCITT-FALSE: a table built from
	// the wrong polynomial, a reflected one or a different start value fails.
	if got := crc16("123456789"); got != 0x29B1 {
		t.Fatalf("crc16(123456789) = %04X, want 29B1", got)
	}
	if got := crcHex(0x00A1); got != "00A1" {
		t.Fatalf("crcHex keeps leading zeros: got %s", got)
	}
}

// bcbExamples are the manual's own examples (sections 2.6.3, 2.7.2 and
// 2.8.5), which both Encode and Parse must reproduce byte for byte.
var bcbExamples = []struct {
	file string
	code Code
}{
	{"bcb-2.6.3-static.txt", Code{
		Key: "123e4567-e12b-12d1-a456-426655440000", Name: "Fulano de Tal", City: "BRASILIA", MCC: "0000",
	}},
	{"bcb-2.7.2-dynamic.txt", Code{
		URL: "pix.example.com/8b3da2f39a4140d1a91abd93113bd441", Initiation: InitiationSingleUse,
		Name: "Fulano de Tal", City: "BRASILIA", MCC: "0000",
	}},
	{"bcb-2.8.5-recurrence.txt", Code{
		Key: "123e4567-e12b-12d1-a456-426655440000", Amount: 10050, Name: "Fulano de Tal", City: "BRASILIA", MCC: "0000",
		RecurrenceURL: "pix.example.com/rec/2353c790eefb11eaadc10242ac120002",
	}},
}

func TestBCBExamples(t *testing.T) {
	for _, ex := range bcbExamples {
		t.Run(ex.file, func(t *testing.T) {
			want := golden(t, ex.file)
			got, err := Encode(ex.code)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got != want {
				t.Fatalf("Encode:\n got %s\nwant %s", got, want)
			}
			parsed, err := Parse(want)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if parsed != ex.code {
				t.Fatalf("Parse:\n got %+v\nwant %+v", parsed, ex.code)
			}
		})
	}
}

func TestEncodeNormalised(t *testing.T) {
	// The research note's example, made by pix-utils from "Loja Exemplo",
	// "São Paulo": our normalisation plus Encode gives the same bytes.
	c := Code{
		Key: NormalizeKey("+55 (11) 99999-9999"), Info: "Pedido 42", Amount: 2550,
		Name: NormalizeName("Loja Exemplo"), City: NormalizeCity("São Paulo"), TxID: "PEDIDO42",
	}
	got, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	const want = "00020126490014br.gov.bcb.pix0114+55119999999990209Pedido 42520400005303986540525.505802BR5912LOJA EXEMPLO6009SAO PAULO62120508PEDIDO4263045A5C"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	ok := Code{Key: "+5511999999999", Name: "LOJA", City: "SAO PAULO"}
	if _, err := Encode(ok); err != nil {
		t.Fatalf("base case: %v", err)
	}
	dyn := Code{URL: "pix.example.com/qr/v2/abc", Name: "LOJA", City: "SAO PAULO"}
	for _, tc := range []struct {
		name string
		edit func(*Code)
		base Code
		want error
	}{
		{"no key or url", func(c *Code) { c.Key = "" }, ok, ErrMissingField},
		{"key and url", func(c *Code) { c.URL = "pix.example.com/x" }, ok, ErrInvalidField},
		{"bad key", func(c *Code) { c.Key = "12345678900" }, ok, ErrInvalidKey},
		{"no name", func(c *Code) { c.Name = "" }, ok, ErrMissingField},
		{"no city", func(c *Code) { c.City = "" }, ok, ErrMissingField},
		{"name 26", func(c *Code) { c.Name = strings.Repeat("A", 26) }, ok, ErrInvalidField},
		{"city 16", func(c *Code) { c.City = strings.Repeat("A", 16) }, ok, ErrInvalidField},
		{"accented name", func(c *Code) { c.Name = "JOÃO" }, ok, ErrInvalidField},
		{"control char", func(c *Code) { c.Info = "a\nb" }, ok, ErrInvalidField},
		{"txid 26", func(c *Code) { c.TxID = strings.Repeat("A", 26) }, ok, ErrInvalidField},
		{"txid punctuation", func(c *Code) { c.TxID = "PEDIDO-42" }, ok, ErrInvalidField},
		{"negative amount", func(c *Code) { c.Amount = -1 }, ok, ErrInvalidField},
		{"amount too large", func(c *Code) { c.Amount = MaxAmount + 1 }, ok, ErrInvalidField},
		{"mcc letters", func(c *Code) { c.MCC = "00A0" }, ok, ErrInvalidField},
		{"fss short", func(c *Code) { c.FSS = "1234" }, ok, ErrInvalidField},
		// 18 (GUI) + 18 (key) + 4 + 60 = 100 > 99.
		{"field 26 over 99", func(c *Code) { c.Info = strings.Repeat("x", 60) }, ok, ErrInvalidField},
		{"url with scheme", func(c *Code) { c.URL = "https://pix.example.com/x" }, dyn, ErrInvalidField},
		{"dynamic amount", func(c *Code) { c.Amount = 100 }, dyn, ErrInvalidField},
		{"dynamic txid", func(c *Code) { c.TxID = "ABC" }, dyn, ErrInvalidField},
		{"dynamic info", func(c *Code) { c.Info = "oi" }, dyn, ErrInvalidField},
		{"dynamic url 78", func(c *Code) { c.URL = "h/" + strings.Repeat("x", 76) }, dyn, ErrInvalidField},
		{"recurrence url 78", func(c *Code) { c.RecurrenceURL = "h/" + strings.Repeat("x", 76) }, ok, ErrInvalidField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base
			tc.edit(&c)
			s, err := Encode(c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode = %q, %v; want %v", s, err, tc.want)
			}
		})
	}
}

func TestEncodeEdgeLengths(t *testing.T) {
	// Exactly at every limit is fine, and field 26 at exactly 99.
	c := Code{
		Key:  "+5511999999999",
		Info: strings.Repeat("i", 99-18-18-4),
		Name: strings.Repeat("N", MaxName), City: strings.Repeat("C", MaxCity),
		TxID: strings.Repeat("T", MaxTxID), Amount: MaxAmount,
		RecurrenceURL: "h/" + strings.Repeat("r", 99-22-2),
	}
	s, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "2699") || !strings.Contains(s, "54139999999999.99") || !strings.Contains(s, "8099") {
		t.Fatalf("limits not reached in %s", s)
	}
	back, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if back != c.withDefaults() {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, c.withDefaults())
	}
}

// reCRC replaces a code's CRC with the right one, so that a test can break
// something else.
func reCRC(s string) string {
	body := s[:len(s)-4]
	return body + crcHex(crc16(body))
}

func TestParseErrors(t *testing.T) {
	static := golden(t, "bcb-2.6.3-static.txt")
	for _, tc := range []struct {
		name string
		code string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"not emv", "hello world", ErrMalformed},
		{"bad crc", static[:len(static)-1] + "E", ErrCRC},
		{"crc not hex", static[:len(static)-4] + "XYZW", ErrMalformed},
		{"changed amount keeps crc", strings.Replace(golden(t, "bcb-2.8.5-recurrence.txt"), "100.50", "900.50", 1), ErrCRC},
		{"truncated", static[:40], ErrMalformed},
		{"no crc field", reCRC(static)[:len(static)-8], ErrMalformed},
		{"length past end", reCRC(strings.Replace(static, "6008BRASILIA", "6099BRASILIA", 1)), ErrMalformed},
		{"length zero", reCRC(strings.Replace(static, "5802BR", "5800", 1)), ErrMalformed},
		{"wrong gui", reCRC(strings.Replace(static, "0014br.gov.bcb.pix", "0014br.gov.bcb.pox", 1)), ErrNotPix},
		{"no merchant account", reCRC("0002015204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***6304XXXX"), ErrMissingField},
		{"no name", reCRC(strings.Replace(static, "5913Fulano de Tal", "", 1)), ErrMissingField},
		{"no city", reCRC(strings.Replace(static, "6008BRASILIA", "", 1)), ErrMissingField},
		{"no additional data", reCRC(strings.Replace(static, "62070503***", "", 1)), ErrMissingField},
		{"no txid", reCRC(strings.Replace(static, "62070503***", "62070703***", 1)), ErrMissingField},
		{"dollars", reCRC(strings.Replace(static, "5303986", "5303840", 1)), ErrInvalidField},
		{"country", reCRC(strings.Replace(static, "5802BR", "5802US", 1)), ErrInvalidField},
		{"bad key", reCRC(strings.Replace(static, "123e4567-e12b-12d1-a456-426655440000", "123E4567-E12B-12D1-A456-426655440000", 1)), ErrInvalidKey},
		{"key and url", reCRC(strings.Replace(static, "26580014br.gov.bcb.pix01", "26640014br.gov.bcb.pix2502h/01", 1)), ErrInvalidField},
		{"repeated field", reCRC(strings.Replace(static, "5802BR", "5802BR5802BR", 1)), ErrMalformed},
		{"initiation 13", reCRC(strings.Replace(static, "000201", "000201010213", 1)), ErrInvalidField},
		{"format 02", reCRC(strings.Replace(static, "000201", "000202", 1)), ErrMalformed},
		{"zero amount", reCRC(strings.Replace(static, "5802BR", "54040.005802BR", 1)), ErrInvalidField},
		{"amount 3 places", reCRC(strings.Replace(static, "5802BR", "54051.0005802BR", 1)), ErrInvalidField},
		{"amount comma", reCRC(strings.Replace(static, "5802BR", "54041,005802BR", 1)), ErrInvalidField},
		{"txid punctuation", reCRC(strings.Replace(static, "62070503***", "62070503a-b", 1)), ErrInvalidField},
		{"url with scheme", reCRC(strings.Replace(golden(t, "bcb-2.7.2-dynamic.txt"), "26700014br.gov.bcb.pix2548pix", "26780014br.gov.bcb.pix2556https://pix", 1)), ErrInvalidField},
		{"control char", reCRC(strings.Replace(static, "Fulano de Tal", "Fulano\tde Tal", 1)), ErrMalformed},
		{"invalid utf-8", reCRC(strings.Replace(static, "Fulano de Tal", "Fulano de T\xff", 1)), ErrMalformed},
		{"too long", strings.Repeat("0", MaxLen+1), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.code)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %v", tc.code, c, err, tc.want)
			}
		})
	}
}

func TestParseTolerates(t *testing.T) {
	// Codes real PSPs issue that differ from Encode's canonical form without
	// changing what gets paid.
	for _, tc := range []struct {
		name string
		code string
		want Code
	}{
		{
			// Upper-case GUI, point of initiation 11 on a dynamic code and a
			// PSP's own reference label, as one large PSP writes them.
			"psp dynamic",
			reCRC("00020101021126750014BR.GOV.BCB.PIX2553pix-qr.psp.example/instore/ol/v2/3Z8b2YH8xycGTxKS4KCw5204000053039865802BR5912LOJA EXEMPLO6009SAO PAULO62080504mpis6304XXXX"),
			Code{URL: "pix-qr.psp.example/instore/ol/v2/3Z8b2YH8xycGTxKS4KCw", Initiation: InitiationReusable, MCC: "0000", Name: "LOJA EXEMPLO", City: "SAO PAULO", TxID: "mpis"},
		},
		{
			"lower-case crc, amount without decimals, postal code, other templates",
			lowerCRC(reCRC("00020126330014br.gov.bcb.pix011112345678909270800041234520400005303986540210" +
				"5802BR5904LOJA6004RIO 610820010000" + "62070503***" + "64060002pt6304XXXX")),
			Code{Key: "12345678909", MCC: "0000", Amount: 1000, Name: "LOJA", City: "RIO ", PostalCode: "20010000"},
		},
		{
			// Lengths count characters: pix-utils writes a non-ASCII message
			// this way, and the CRC covers its UTF-8 bytes.
			"utf-8 message",
			reCRC("00020126440014br.gov.bcb.pix0111123456789090207Pedidão5204000053039865802BR5904LOJA6003RIO62070503***6304XXXX"),
			Code{Key: "12345678909", Info: "Pedidão", MCC: "0000", Name: "LOJA", City: "RIO"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.code)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.code, err)
			}
			if got != tc.want {
				t.Fatalf("Parse:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func lowerCRC(s string) string { return s[:len(s)-4] + strings.ToLower(s[len(s)-4:]) }

func TestRoundTrip(t *testing.T) {
	for _, c := range []Code{
		{Key: "12345678909", Name: "A", City: "B"},
		{Key: "11222333000181", Name: "EMPRESA", City: "CURITIBA", Amount: 1, TxID: "X"},
		{Key: "12ABC34501DE35", Name: "EMPRESA NOVA", City: "RECIFE", Amount: 99},
		{Key: "fulano@example.com.br", Name: "FULANO", City: "SALVADOR", Info: "obrigado!", FSS: "12345678", Initiation: InitiationSingleUse},
		{Key: "+5561987654321", Name: "X", City: "Y", Initiation: InitiationReusable, PostalCode: "70000000", MCC: "5411"},
		{URL: "psp.example/qr/v2/cobv/1", Name: "LOJA", City: "SAO PAULO", RecurrenceURL: "psp.example/rec/1"},
		{URL: "psp.example/qr/v2/1", Initiation: InitiationReusable, Name: "LOJA", City: "SAO PAULO"},
		{RecurrenceURL: "psp.example/rec/2", Name: "LOJA", City: "SAO PAULO"},
	} {
		s, err := Encode(c)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", c, err)
		}
		back, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%s): %v", s, err)
		}
		if want := c.withDefaults(); back != want {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", s, back, want)
		}
		if back.Kind() == 0 {
			t.Fatalf("no kind for %+v", back)
		}
	}
}

func TestKeyTypeOf(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want KeyType // 0: invalid
	}{
		{"12345678909", KeyCPF},
		{"52998224725", KeyCPF},
		{"12345678900", 0}, // wrong check digits
		{"11111111111", 0}, // passes the arithmetic, never issued
		{"1234567890", 0},
		{"11222333000181", KeyCNPJ},
		{"11222333000182", 0},
		{"12ABC34501DE35", KeyCNPJ}, // the Receita Federal's alphanumeric example
		{"12ABC34501DE36", 0},
		{"12abc34501de35", 0},
		{"00000000000000", 0},
		{"fulano@example.com", KeyEmail},
		{"a.b+c@sub.example.com.br", KeyEmail},
		{"+tag@example.com", KeyEmail}, // the directory's pattern allows a leading +
		{"Fulano@example.com", 0},
		{"fulano@", 0},
		{"fulano@-example.com", 0},
		{strings.Repeat("a", 66) + "@example.com", 0}, // 78 characters
		{strings.Repeat("a", 65) + "@example.com", KeyEmail},
		{"+5511999999999", KeyPhone},
		{"+551199999999", 0},  // eight digits: landlines are not keys
		{"+5511899999999", 0}, // mobile numbers start with 9
		{"+5501999999999", 0},
		{"+14155552671", 0},
		{"+55119999999a9", 0},
		{"123e4567-e12b-12d1-a456-426655440000", KeyEVP},
		{"123E4567-E12B-12D1-A456-426655440000", 0},
		{"123e4567-e12b-12d1-a456-42665544000g", 0},
		{"", 0},
		{"hello", 0},
	} {
		got, err := KeyTypeOf(tc.key)
		if got != tc.want || (err == nil) != (tc.want != 0) {
			t.Errorf("KeyTypeOf(%q) = %v, %v; want %v", tc.key, got, err, tc.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("KeyTypeOf(%q) error %v is not ErrInvalidKey", tc.key, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		fn       func(string) string
		in, want string
	}{
		{NormalizeName, "Padaria São João", "PADARIA SAO JOAO"},
		{NormalizeName, "  Açaí & Cia. \n", "ACAI & CIA."},
		{NormalizeName, "Café ☕ Øresund Straße", "CAFE  ORESUND STRASSE"},
		{NormalizeName, "Cafe\u0301", "CAFE"}, // decomposed accent
		{NormalizeCity, "Florianópolis", "FLORIANOPOLIS"},
		{NormalizeText, "Pedido nº 42 — obrigado", "Pedido n 42  obrigado"},
		{NormalizeText, "Ação ÉPICA", "Acao EPICA"},
		{NormalizeKey, " 123.456.789-09 ", "12345678909"},
		{NormalizeKey, "11.222.333/0001-81", "11222333000181"},
		{NormalizeKey, "12.abc.345/01de-35", "12ABC34501DE35"},
		{NormalizeKey, "+55 (11) 99999-9999", "+5511999999999"},
		{NormalizeKey, "Fulano@Example.COM", "fulano@example.com"},
		{NormalizeKey, "123E4567-E12B-12D1-A456-426655440000", "123e4567-e12b-12d1-a456-426655440000"},
	} {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("normalise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		centavos int64
		s        string
	}{{1, "0.01"}, {10, "0.10"}, {100, "1.00"}, {2550, "25.50"}, {10050, "100.50"}, {MaxAmount, "9999999999.99"}} {
		if got := FormatAmount(tc.centavos); got != tc.s {
			t.Errorf("FormatAmount(%d) = %q, want %q", tc.centavos, got, tc.s)
		}
		if got, err := parseAmount(tc.s); err != nil || got != tc.centavos {
			t.Errorf("parseAmount(%q) = %d, %v", tc.s, got, err)
		}
	}
	for s, want := range map[string]int64{"10": 1000, "10.5": 1050, "007.00": 700} {
		if got, err := parseAmount(s); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".", ".5", "1.", "1.234", "-1", "+1", "1e3", " 1", "0", "0.00", "99999999999.99"} {
		if _, err := parseAmount(s); err == nil {
			t.Errorf("parseAmount(%q) accepted", s)
		}
	}
}
