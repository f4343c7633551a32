package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/payment/pix"
)

// TestBookstore tells the example's story, as `go run ./examples/bookstore`
// does, and checks what a newcomer must see: the assistant answering, the
// order with a valid Pix code for two books, the payment confirmed and the
// stock taken.
func TestBookstore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stdout
	}
	res, err := Run(ctx, Options{Out: w, Dir: t.TempDir(), Argon2: clientstore.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Output)
	}
	code, err := pix.Parse(res.PixCode)
	if err != nil || code.Amount != 7980 || code.Key != "pix@livrariasabia.example" || code.Name != "LIVRARIA SABIA" {
		t.Errorf("Pix code %q: %+v %v", res.PixCode, code, err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Registered \+551130000000 as account`),
		regexp.MustCompile(`Added dom-casmurro: Dom Casmurro, 39\.90 BRL, 5 in stock, in stock\.`),
		regexp.MustCompile(`"verified_name":"Livraria Sabiá"`),
		regexp.MustCompile(`We('re| are) (open|closed)`),
		regexp.MustCompile(`We have 5 copies of Dom Casmurro in stock, at R\$ 39\.90 each\.`),
		regexp.MustCompile(`Order ` + res.Reference + `: payment captured`),
		regexp.MustCompile(`Order ` + res.Reference + ` is paid and being prepared\.`),
		regexp.MustCompile(`Status processing, payment captured, stock committed`),
		regexp.MustCompile(`dom-casmurro\s+Dom Casmurro\s+39\.90 BRL\s+3\s+in stock`),
	} {
		if !want.MatchString(res.Output) {
			t.Errorf("the story lacks %v", want)
		}
	}
	if strings.Contains(res.Output, "EAAP") && regexp.MustCompile(`Bearer EAAP\S{20,}`).MatchString(res.Output) {
		t.Errorf("the whole token is printed in the curl line")
	}
}
