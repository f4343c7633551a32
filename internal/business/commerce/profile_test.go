package commerce_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/business/commerce"
)

func TestProfile(t *testing.T) {
	st := newStore(t)
	biz := commerce.NewBusiness(st)
	ctx := t.Context()
	p := commerce.Profile{
		Name: "Livraria Capitu", About: strings.Repeat("á", commerce.MaxAbout), Address: "Rua do Ouvidor, 100, Rio de Janeiro",
		Description: "Livros novos e usados.\nEntregamos em todo o Brasil.", Email: "contato@capitu.example",
		Websites: []string{"https://capitu.example", "https://instagram.com/capitu"}, Vertical: "RETAIL",
		ProfilePictureHandle: "4:Y2FwaXR1LnBuZw==:aW1hZ2UvcG5n:ARb", ProfilePictureURL: "https://capitu.example/logo.png", Verified: true,
	}
	saved, err := biz.SetProfile(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := biz.Profile(ctx)
	if err != nil || !reflect.DeepEqual(got, saved) || saved.UpdatedAt.IsZero() {
		t.Errorf("stored profile\n%+v, %v\nwant\n%+v", got, err, saved)
	}
	valid := p
	for name, edit := range map[string]func(p *commerce.Profile){
		"about too long":       func(p *commerce.Profile) { p.About = strings.Repeat("a", commerce.MaxAbout+1) },
		"address too long":     func(p *commerce.Profile) { p.Address = strings.Repeat("a", 257) },
		"description too long": func(p *commerce.Profile) { p.Description = strings.Repeat("ã", 257) },
		"email too long":       func(p *commerce.Profile) { p.Email = strings.Repeat("a", 120) + "@x.example" },
		"email not an address": func(p *commerce.Profile) { p.Email = "capitu at example" },
		"email with a name":    func(p *commerce.Profile) { p.Email = "Capitu <c@x.example>" },
		"three websites":       func(p *commerce.Profile) { p.Websites = append(p.Websites, "https://c.example") },
		"website not a URL":    func(p *commerce.Profile) { p.Websites = []string{"capitu.example"} },
		"website too long":     func(p *commerce.Profile) { p.Websites = []string{"https://x.example/" + strings.Repeat("a", 240)} },
		"unknown vertical":     func(p *commerce.Profile) { p.Vertical = "BOOKS" },
		"name too long":        func(p *commerce.Profile) { p.Name = strings.Repeat("n", 76) },
		"control character":    func(p *commerce.Profile) { p.About = "a\x00b" },
	} {
		q := valid
		q.Websites = append([]string(nil), valid.Websites...)
		edit(&q)
		if _, err := biz.SetProfile(ctx, q); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if got, _ := biz.Profile(ctx); !reflect.DeepEqual(got, saved) {
		t.Errorf("refused profiles changed the stored one: %+v", got)
	}
	// Every vertical of Meta's enum is accepted; empty means unset.
	for _, v := range []commerce.Vertical{"", "OTHER", "RESTAURANT", "OTC_DRUGS", "PROF_SERVICES", "UNDEFINED"} {
		if err := (commerce.Profile{Vertical: v}).Validate(); err != nil {
			t.Errorf("vertical %q: %v", v, err)
		}
	}
}

func TestFAQs(t *testing.T) {
	st := newStore(t)
	faqs := commerce.NewFAQs(st)
	ctx := t.Context()
	entries := []commerce.FAQ{
		{Question: "Vocês entregam?", Answer: "Sim, para todo o Brasil pelos Correios.", Language: "pt-BR", Keywords: []string{"entrega", "frete", "correios"}},
		{Question: "Do you deliver?", Answer: "Yes, within Brazil.", Language: "en", Keywords: []string{"delivery", "shipping"}},
		{Question: "Liefern Sie?", Answer: "Ja, innerhalb Brasiliens.", Language: "de"},
		{Question: "Apakah bisa kirim?", Answer: "Ya, ke seluruh Brasil.", Language: "id", Keywords: []string{"kirim", "ongkir"}},
		{Question: "PIX?", Answer: "Aceitamos PIX e cartão."},
	}
	var ids []int64
	for _, f := range entries {
		got, err := faqs.Add(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 0 || got.CreatedAt.IsZero() {
			t.Errorf("added %+v", got)
		}
		ids = append(ids, got.ID)
	}
	all, err := faqs.List(ctx, "")
	if err != nil || len(all) != len(entries) {
		t.Fatalf("List = %d entries, %v", len(all), err)
	}
	for i, f := range all {
		if f.ID != ids[i] || f.Question != entries[i].Question || !reflect.DeepEqual(f.Keywords, entries[i].Keywords) {
			t.Errorf("entry %d = %+v", i, f)
		}
	}
	for lang, want := range map[string][]string{
		"pt":    {"Vocês entregam?", "PIX?"},
		"pt-BR": {"Vocês entregam?", "PIX?"},
		"pt-PT": {"Vocês entregam?", "PIX?"},
		"DE":    {"Liefern Sie?", "PIX?"},
		"id":    {"Apakah bisa kirim?", "PIX?"},
		"fr":    {"PIX?"},
	} {
		got, err := faqs.List(ctx, lang)
		if err != nil {
			t.Fatal(err)
		}
		var qs []string
		for _, f := range got {
			qs = append(qs, f.Question)
		}
		if !reflect.DeepEqual(qs, want) {
			t.Errorf("List(%q) = %v, want %v", lang, qs, want)
		}
	}
	up := all[0]
	up.Answer, up.Keywords = "Sim, e a retirada na loja é grátis.", []string{"retirada"}
	if _, err := faqs.Update(ctx, up); err != nil {
		t.Fatal(err)
	}
	if got, err := faqs.Get(ctx, up.ID); err != nil || got.Answer != up.Answer || !reflect.DeepEqual(got.Keywords, up.Keywords) || !got.CreatedAt.Equal(all[0].CreatedAt) {
		t.Errorf("after update: %+v, %v", got, err)
	}
	if err := faqs.Delete(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := faqs.Get(ctx, ids[1]); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("deleted entry: %v", err)
	}
	if err := faqs.Delete(ctx, ids[1]); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := faqs.Update(ctx, commerce.FAQ{ID: 999, Question: "q", Answer: "a"}); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("updating a missing entry: %v", err)
	}
	for name, f := range map[string]commerce.FAQ{
		"no question":      {Answer: "a"},
		"blank question":   {Question: "  ", Answer: "a"},
		"no answer":        {Question: "q"},
		"answer too long":  {Question: "q", Answer: strings.Repeat("a", 4097)},
		"bad language":     {Question: "q", Answer: "a", Language: "português"},
		"empty keyword":    {Question: "q", Answer: "a", Keywords: []string{""}},
		"keyword newline":  {Question: "q", Answer: "a", Keywords: []string{"a\nb"}},
		"too many keyword": {Question: "q", Answer: "a", Keywords: make([]string, 51)},
	} {
		if _, err := faqs.Add(ctx, f); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := faqs.List(ctx, "pt BR"); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("List with a bad language: %v", err)
	}
}
