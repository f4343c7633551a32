package upi

import "testing"

// FuzzParse: whatever Parse accepts, Encode writes back and Parse reads to
// the same link.
func FuzzParse(f *testing.F) {
	f.Add(metaExample)
	f.Add("upi://pay?pa=nadeem@npci&pn=nadeem%20chinna&mc=0000&tid=cxnkjcnkjdfdvjndkjfvn&tr=4894398cndhcd23&tn=Pay%20to%20mystar%20store&am=10&mam=null&cu=INR&url=https://mystar.com")
	f.Add("upi://pay?pa=loja.sp@okicici&pn=Livraria%20%26%20Caf%C3%A9&tr=pedido-42&am=1499.90&cu=INR&url=https://shop.example/o%3Fid%3D42")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(s)
		if err != nil {
			return
		}
		enc, err := Encode(l)
		if err != nil {
			t.Fatalf("Encode(Parse(%q)) = %v", s, err)
		}
		back, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse(Encode(%+v)) = %v; link %q", l, err, enc)
		}
		if back != l {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", s, back, l)
		}
	})
}

// FuzzEncode: links built from arbitrary fields are refused or read back
// unchanged.
func FuzzEncode(f *testing.F) {
	f.Add("cfsukoonaa@yesbank", "Sukoon", "877376394", "877376394", int64(1000), "5399", "https://x.example/a?b=c")
	f.Fuzz(func(t *testing.T, vpa, name, ref, note string, amount int64, mcc, u string) {
		l := Link{VPA: vpa, Name: name, Ref: ref, Note: note, Amount: amount, MCC: mcc, URL: u}
		s, err := Encode(l)
		if err != nil {
			return
		}
		back, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(Encode(%+v)) = %v; link %q", l, err, s)
		}
		if back != l {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", s, back, l)
		}
	})
}
