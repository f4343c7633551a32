package upi

import (
	"errors"
	"strings"
	"testing"
)

// metaExample is the UPI intent link of Meta's WhatsApp "Payments in India:
// UPI intent" documentation, where tr is the order's reference_id.
const metaExample = "upi://pay?pa=cfsukoonaa@yesbank&pn=Sukoon&tr=877376394&am=10.00&cu=INR&mode=00&purpose=00&mc=5399&tn=877376394"

func TestMetaExample(t *testing.T) {
	want := Link{VPA: "cfsukoonaa@yesbank", Name: "Sukoon", Ref: "877376394", Amount: 1000, Mode: "00", Purpose: "00", MCC: "5399", Note: "877376394"}
	got, err := Parse(metaExample)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Parse:\n got %+v\nwant %+v", got, want)
	}
	s, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	if s != metaExample {
		t.Fatalf("Encode:\n got %s\nwant %s", s, metaExample)
	}
}

func TestNPCISample(t *testing.T) {
	// The linking spec's own sample, spaces as %20 and "mam=null" included.
	got, err := Parse("upi://pay?pa=nadeem@npci&pn=nadeem%20chinna&mc=0000&tid=cxnkjcnkjdfdvjndkjfvn&tr=4894398cndhcd23&tn=Pay%20to%20mystar%20store&am=10&mam=null&cu=INR&url=https://mystar.com")
	if err != nil {
		t.Fatal(err)
	}
	want := Link{VPA: "nadeem@npci", Name: "nadeem chinna", MCC: "0000", TerminalID: "cxnkjcnkjdfdvjndkjfvn", Ref: "4894398cndhcd23", Note: "Pay to mystar store", Amount: 1000, URL: "https://mystar.com"}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	s, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	const enc = "upi://pay?pa=nadeem@npci&pn=nadeem%20chinna&tr=4894398cndhcd23&am=10.00&cu=INR&mc=0000&tid=cxnkjcnkjdfdvjndkjfvn&tn=Pay%20to%20mystar%20store&url=https://mystar.com"
	if s != enc {
		t.Fatalf("Encode:\n got %s\nwant %s", s, enc)
	}
}

func TestEncodeEscapes(t *testing.T) {
	s, err := Encode(Link{VPA: "loja.sp@okicici", Name: "Livraria & Café 100%", Note: "Pedido #42 = 2 livros + frete", Ref: "pedido-42", Amount: 149990, URL: "https://shop.example/o?id=42&x=1"})
	if err != nil {
		t.Fatal(err)
	}
	const want = "upi://pay?pa=loja.sp@okicici&pn=Livraria%20%26%20Caf%C3%A9%20100%25&tr=pedido-42&am=1499.90&cu=INR&tn=Pedido%20%2342%20%3D%202%20livros%20%2B%20frete&url=https://shop.example/o%3Fid%3D42%26x%3D1"
	if s != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
	back, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != "Livraria & Café 100%" || back.Note != "Pedido #42 = 2 livros + frete" || back.URL != "https://shop.example/o?id=42&x=1" {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestErrors(t *testing.T) {
	base := Link{VPA: "shop@ybl", Name: "Shop"}
	for _, tc := range []struct {
		name string
		edit func(*Link)
		want error
	}{
		{"no vpa", func(l *Link) { l.VPA = "" }, ErrMissingField},
		{"no name", func(l *Link) { l.Name = "" }, ErrMissingField},
		{"blank name", func(l *Link) { l.Name = "  " }, ErrMissingField},
		{"vpa without @", func(l *Link) { l.VPA = "shop" }, ErrInvalidField},
		{"vpa two @", func(l *Link) { l.VPA = "a@b@c" }, ErrInvalidField},
		{"vpa space", func(l *Link) { l.VPA = "my shop@ybl" }, ErrInvalidField},
		{"vpa psp digit", func(l *Link) { l.VPA = "shop@1bank" }, ErrInvalidField},
		{"vpa psp dot end", func(l *Link) { l.VPA = "shop@ybl." }, ErrInvalidField},
		{"vpa long", func(l *Link) { l.VPA = strings.Repeat("a", 252) + "@ybl" }, ErrInvalidField},
		{"negative", func(l *Link) { l.Amount = -1 }, ErrInvalidField},
		{"huge", func(l *Link) { l.Amount = MaxAmount + 1 }, ErrInvalidField},
		{"mam above am", func(l *Link) { l.Amount, l.MinAmount = 100, 200 }, ErrInvalidField},
		{"mcc 3", func(l *Link) { l.MCC = "539" }, ErrInvalidField},
		{"mode letters", func(l *Link) { l.Mode = "0a" }, ErrInvalidField},
		{"ref 36", func(l *Link) { l.Ref = strings.Repeat("r", 36) }, ErrInvalidField},
		{"ref space", func(l *Link) { l.Ref = "a b" }, ErrInvalidField},
		{"note 81", func(l *Link) { l.Note = strings.Repeat("n", 81) }, ErrInvalidField},
		{"note newline", func(l *Link) { l.Note = "a\nb" }, ErrInvalidField},
		{"url ftp", func(l *Link) { l.URL = "ftp://x" }, ErrInvalidField},
		{"url relative", func(l *Link) { l.URL = "/orders/1" }, ErrInvalidField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base
			tc.edit(&l)
			if s, err := Encode(l); !errors.Is(err, tc.want) {
				t.Fatalf("Encode = %q, %v; want %v", s, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, link string
		want       error
	}{
		{"not upi", "https://pay?pa=a@b&pn=x", ErrMalformed},
		{"collect", "upi://mandate?pa=a@b&pn=x", ErrMalformed},
		{"no pa", "upi://pay?pn=x", ErrMissingField},
		{"no pn", "upi://pay?pa=a@bank", ErrMissingField},
		{"dollars", "upi://pay?pa=a@bank&pn=x&cu=USD", ErrInvalidField},
		{"duplicate am", "upi://pay?pa=a@bank&pn=x&am=1&am=100", ErrMalformed},
		{"bad escape", "upi://pay?pa=a@bank&pn=x%zz", ErrMalformed},
		{"amount 3 places", "upi://pay?pa=a@bank&pn=x&am=1.001", ErrInvalidField},
		{"amount zero", "upi://pay?pa=a@bank&pn=x&am=0.00", ErrInvalidField},
		{"amount negative", "upi://pay?pa=a@bank&pn=x&am=-5", ErrInvalidField},
		{"amount exponent", "upi://pay?pa=a@bank&pn=x&am=1e3", ErrInvalidField},
		{"too long", "upi://pay?pa=a@bank&pn=" + strings.Repeat("x", MaxLen), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if l, err := Parse(tc.link); !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %v", l, err, tc.want)
			}
		})
	}
}

func TestParseTolerates(t *testing.T) {
	for link, want := range map[string]Link{
		"UPI://PAY?pa=a@bank&pn=x":                      {VPA: "a@bank", Name: "x"},
		"upi://pay/?pa=a@bank&pn=A+B&am=5.5&foo=bar":    {VPA: "a@bank", Name: "A B", Amount: 550},
		"upi://pay?pa=ACC1%40IFSC0001.ifsc.npci&pn=x&":  {VPA: "ACC1@IFSC0001.ifsc.npci", Name: "x"},
		"upi://pay?pa=9876543210@ybl&pn=x&am=10&cu=INR": {VPA: "9876543210@ybl", Name: "x", Amount: 1000},
	} {
		got, err := Parse(link)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", link, got, err, want)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for p, s := range map[int64]string{1: "0.01", 10: "0.10", 1000: "10.00", 149990: "1499.90"} {
		if got := FormatAmount(p); got != s {
			t.Errorf("FormatAmount(%d) = %q, want %q", p, got, s)
		}
		if got, err := parseAmount("am", s); err != nil || got != p {
			t.Errorf("parseAmount(%q) = %d, %v", s, got, err)
		}
	}
}
