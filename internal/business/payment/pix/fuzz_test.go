package pix

import (
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds Parse untrusted bytes. Whatever it accepts must be within
// the limits it promises, and whatever of that Encode also accepts must
// come back unchanged through Encode and Parse.
func FuzzParse(f *testing.F) {
	for _, ex := range bcbExamples {
		f.Add(golden(f, ex.file))
	}
	f.Add("00020126490014br.gov.bcb.pix0114+55119999999990209Pedido 42520400005303986540525.505802BR5912LOJA EXEMPLO6009SAO PAULO62120508PEDIDO4263045A5C")
	f.Add("00020101021126750014BR.GOV.BCB.PIX2553pix-qr.psp.example/instore/ol/v2/3Z8b2YH8xycGTxKS4KCw5204000053039865802BR5912LOJA EXEMPLO6009SAO PAULO62080504mpis6304ABCD")
	f.Add("0002016304")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if c.Kind() == 0 {
			t.Fatalf("Parse(%q) accepted a code of no kind: %+v", s, c)
		}
		if utf8.RuneCountInString(c.Name) > MaxName || utf8.RuneCountInString(c.City) > MaxCity || len(c.TxID) > MaxTxID {
			t.Fatalf("Parse(%q) returned over-long fields: %+v", s, c)
		}
		if c.Amount < 0 || c.Amount > MaxAmount {
			t.Fatalf("Parse(%q) returned amount %d", s, c.Amount)
		}
		if c.Key != "" {
			if _, err := KeyTypeOf(c.Key); err != nil {
				t.Fatalf("Parse(%q) returned an invalid key: %v", s, err)
			}
		}
		enc, err := Encode(c)
		if err != nil {
			return // valid from another issuer, outside what we write
		}
		back, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse(Encode(%+v)) = %v; code %q", c, err, enc)
		}
		if back != c.withDefaults() {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", s, back, c.withDefaults())
		}
	})
}

// FuzzEncode builds codes from arbitrary fields: Encode either refuses them
// or writes a code Parse reads back to the same fields.
func FuzzEncode(f *testing.F) {
	f.Add("123e4567-e12b-12d1-a456-426655440000", "", "", "Fulano de Tal", "BRASILIA", "", int64(0), "", uint8(0))
	f.Add("", "", "pix.example.com/8b3da2f39a4140d1a91abd93113bd441", "Fulano de Tal", "BRASILIA", "", int64(0), "", uint8(2))
	f.Add("123e4567-e12b-12d1-a456-426655440000", "", "", "Fulano de Tal", "BRASILIA", "", int64(10050), "pix.example.com/rec/2353c790eefb11eaadc10242ac120002", uint8(0))
	f.Add("+5511999999999", "Pedido 42", "", "LOJA EXEMPLO", "SAO PAULO", "PEDIDO42", int64(2550), "", uint8(1))
	f.Fuzz(func(t *testing.T, key, info, url, name, city, txid string, amount int64, rec string, init uint8) {
		c := Code{Key: key, Info: info, URL: url, Name: name, City: city, TxID: txid, Amount: amount, RecurrenceURL: rec, Initiation: Initiation(init % 3)}
		s, err := Encode(c)
		if err != nil {
			return
		}
		if len(s) > MaxLen {
			t.Fatalf("Encode wrote %d bytes", len(s))
		}
		back, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(Encode(%+v)) = %v; code %q", c, err, s)
		}
		if back != c.withDefaults() {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", s, back, c.withDefaults())
		}
	})
}
