package commerce_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/commerce"
)

func TestCatalogAndProductLifecycle(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	if cats, err := sh.cat.Catalogs(ctx); err != nil || len(cats) != 1 || cats[0] != sh.catalog {
		t.Fatalf("Catalogs = %+v, %v", cats, err)
	}
	in := commerce.Product{
		RetailerID: "978-85-359-0277-1", Name: "Dom Casmurro", Description: "Romance de Machado de Assis.\nEdição de bolso.",
		Brand: "Penguin", URL: "https://livraria.example/dom-casmurro", ImageURL: "https://livraria.example/dc.jpg",
		AdditionalImageURLs: []string{"https://livraria.example/dc-2.jpg", "https://livraria.example/dc-3.jpg"},
		Currency:            "BRL", Price: 3990, SalePrice: ptr[int64](2990), Inventory: ptr[int64](7),
		Condition: commerce.Used, Category: "Livros > Romance", RetailerProductGroupID: "machado",
		Reserved: 99, // ignored
	}
	p, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.CatalogID != sh.catalog.ID || p.Reserved != 0 || !p.CreatedAt.Equal(sh.clock.Now()) {
		t.Errorf("created %+v", p)
	}
	got, err := sh.cat.Product(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("stored\n%+v, %v\nwant\n%+v", got, err, p)
	}
	if got, err := sh.cat.ProductByRetailerID(ctx, sh.catalog.ID, in.RetailerID); err != nil || got.ID != p.ID {
		t.Errorf("by retailer id: %+v, %v", got, err)
	}
	if kind, err := sh.st.ObjectKind(ctx, p.ID); err != nil || kind != commerce.KindProduct {
		t.Errorf("object kind of a product id: %q, %v", kind, err)
	}

	// The retailer id is unique in a catalog, not across catalogs.
	if _, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, in); !errors.Is(err, commerce.ErrExists) {
		t.Errorf("second product with one retailer_id: %v", err)
	}
	other, _ := sh.cat.CreateCatalog(ctx, "Outro")
	if _, err := sh.cat.CreateProduct(ctx, other.ID, in); err != nil {
		t.Errorf("same retailer_id in another catalog: %v", err)
	}
	if _, err := sh.cat.CreateProduct(ctx, "404", in); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("product in a missing catalog: %v", err)
	}

	sh.clock.Advance(time.Minute)
	up, err := sh.cat.UpdateProduct(ctx, p.ID, func(q *commerce.Product) error {
		q.Price, q.SalePrice, q.Name = 4590, nil, "Dom Casmurro (capa dura)"
		q.ID, q.Reserved = "hijack", 50 // ignored
		return nil
	})
	if err != nil || up.ID != p.ID || up.Price != 4590 || up.SalePrice != nil || up.Reserved != 0 || !up.UpdatedAt.Equal(sh.clock.Now()) || !up.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("UpdateProduct = %+v, %v", up, err)
	}
	if got, _ := sh.cat.Product(ctx, p.ID); !reflect.DeepEqual(got, up) {
		t.Errorf("stored after update\n%+v\nwant\n%+v", got, up)
	}
	boom := errors.New("changed my mind")
	if _, err := sh.cat.UpdateProduct(ctx, p.ID, func(q *commerce.Product) error { q.Price = 1; return boom }); !errors.Is(err, boom) {
		t.Errorf("edit error: %v", err)
	}
	if _, err := sh.cat.UpdateProduct(ctx, p.ID, func(q *commerce.Product) error { q.Price = -1; return nil }); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("negative price: %v", err)
	}
	sh.add(t, "taken", 100, nil)
	if _, err := sh.cat.UpdateProduct(ctx, p.ID, func(q *commerce.Product) error { q.RetailerID = "taken"; return nil }); !errors.Is(err, commerce.ErrExists) {
		t.Errorf("renaming to a taken retailer_id: %v", err)
	}
	if got, _ := sh.cat.Product(ctx, p.ID); got.Price != 4590 || got.RetailerID != in.RetailerID {
		t.Errorf("refused updates changed the product: %+v", got)
	}

	// Inventory.
	if q, err := sh.cat.AddInventory(ctx, p.ID, 3); err != nil || *q.Inventory != 10 {
		t.Errorf("AddInventory: %+v, %v", q.Inventory, err)
	}
	if _, err := sh.cat.AddInventory(ctx, p.ID, -11); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("inventory below zero: %v", err)
	}
	if q, err := sh.cat.SetInventory(ctx, p.ID, nil); err != nil || q.Inventory != nil {
		t.Errorf("untrack: %+v, %v", q.Inventory, err)
	}
	if _, err := sh.cat.AddInventory(ctx, p.ID, 1); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("adding to untracked inventory: %v", err)
	}

	if n, err := sh.cat.CountProducts(ctx, sh.catalog.ID); err != nil || n != 2 {
		t.Errorf("CountProducts = %d, %v", n, err)
	}
	if err := sh.cat.DeleteProduct(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.cat.Product(ctx, p.ID); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("deleted product: %v", err)
	}
	if err := sh.cat.DeleteProduct(ctx, p.ID); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if err := sh.cat.DeleteCatalog(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.cat.ProductByRetailerID(ctx, other.ID, in.RetailerID); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("product of a deleted catalog: %v", err)
	}
}

func TestProductValidation(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	valid := commerce.Product{RetailerID: "a", Name: "A", Currency: "BRL", Price: 100}
	for name, edit := range map[string]func(p *commerce.Product){
		"no retailer id":       func(p *commerce.Product) { p.RetailerID = "" },
		"long retailer id":     func(p *commerce.Product) { p.RetailerID = strings.Repeat("x", 101) },
		"no name":              func(p *commerce.Product) { p.Name = "" },
		"name with newline":    func(p *commerce.Product) { p.Name = "a\nb" },
		"invalid UTF-8":        func(p *commerce.Product) { p.Name = "\xff" },
		"unknown currency":     func(p *commerce.Product) { p.Currency = "REAL" },
		"lower-case currency":  func(p *commerce.Product) { p.Currency = "brl" },
		"negative price":       func(p *commerce.Product) { p.Price = -1 },
		"huge price":           func(p *commerce.Product) { p.Price = commerce.MaxAmount + 1 },
		"sale above price":     func(p *commerce.Product) { p.SalePrice = ptr[int64](101) },
		"negative sale":        func(p *commerce.Product) { p.SalePrice = ptr[int64](-1) },
		"negative inventory":   func(p *commerce.Product) { p.Inventory = ptr[int64](-1) },
		"unknown availability": func(p *commerce.Product) { p.SetAvailability = "in_stock" },
		"unknown condition":    func(p *commerce.Product) { p.Condition = "mint" },
		"relative url":         func(p *commerce.Product) { p.URL = "/livro" },
		"ftp image":            func(p *commerce.Product) { p.ImageURL = "ftp://x/y.jpg" },
		"too many images":      func(p *commerce.Product) { p.AdditionalImageURLs = slices.Repeat([]string{"https://x/y"}, 21) },
		"image with newline":   func(p *commerce.Product) { p.AdditionalImageURLs = []string{"https://x/y\nz"} },
	} {
		p := valid
		edit(&p)
		if _, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, p); !errors.Is(err, commerce.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if n, _ := sh.cat.CountProducts(ctx, sh.catalog.ID); n != 0 {
		t.Errorf("%d invalid products stored", n)
	}
	p, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, valid)
	if err != nil || p.Condition != commerce.New {
		t.Errorf("valid product: %+v, %v", p, err)
	}
	if _, err := sh.cat.CreateCatalog(ctx, ""); !errors.Is(err, commerce.ErrInvalid) {
		t.Errorf("catalog without a name: %v", err)
	}
}

func TestAvailability(t *testing.T) {
	for _, tc := range []struct {
		name      string
		inventory *int64
		reserved  int64
		set       commerce.Availability
		want      commerce.Availability
		free      int64
		tracked   bool
	}{
		{"untracked", nil, 0, "", commerce.InStock, 0, false},
		{"in stock", ptr[int64](3), 0, "", commerce.InStock, 3, true},
		{"partly reserved", ptr[int64](3), 2, "", commerce.InStock, 1, true},
		{"all reserved", ptr[int64](3), 3, "", commerce.OutOfStock, 0, true},
		{"none", ptr[int64](0), 0, "", commerce.OutOfStock, 0, true},
		{"inventory lowered below reservations", ptr[int64](1), 2, "", commerce.OutOfStock, 0, true},
		{"explicit beats stock", ptr[int64](5), 0, commerce.Discontinued, commerce.Discontinued, 5, true},
		{"explicit preorder without stock", ptr[int64](0), 0, commerce.Preorder, commerce.Preorder, 0, true},
		{"explicit out of stock, untracked", nil, 0, commerce.OutOfStock, commerce.OutOfStock, 0, false},
	} {
		p := commerce.Product{Inventory: tc.inventory, Reserved: tc.reserved, SetAvailability: tc.set}
		free, tracked := p.Free()
		if got := p.Availability(); got != tc.want || free != tc.free || tracked != tc.tracked {
			t.Errorf("%s: availability %q free %d tracked %v; want %q %d %v", tc.name, got, free, tracked, tc.want, tc.free, tc.tracked)
		}
	}
}

// The stored availability follows reservations: the last copy reserved
// shows out of stock to the next customer.
func TestAvailabilityFollowsReservations(t *testing.T) {
	sh := newShop(t)
	p := sh.add(t, "p", 1000, ptr[int64](1))
	if got := sh.product(t, p.ID).Availability(); got != commerce.InStock {
		t.Fatalf("availability %q", got)
	}
	sh.place(t, sh.cart("p", 1, 1000))
	if got := sh.product(t, p.ID).Availability(); got != commerce.OutOfStock {
		t.Errorf("availability with the last copy reserved: %q", got)
	}
}

func TestProductsPaging(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("sku-%02d", i)
		sh.add(t, id, 100, nil)
		want = append(want, id)
	}
	var got []string
	after := ""
	for {
		page, err := sh.cat.Products(ctx, sh.catalog.ID, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			got = append(got, p.RetailerID)
		}
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].RetailerID
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %v", got)
	}
	if _, err := sh.cat.Products(ctx, "404", "", 10); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("products of a missing catalog: %v", err)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Pão":              "pao",
		"PÃO FRANCÊS":      "pao frances",
		"Straße":           "strasse",
		"STRASSE":          "strasse",
		"ẞ":                "ss",
		"Ärger Öl Übel":    "arger ol ubel",
		"Açaí com Guaraná": "acai com guarana",
		"crème brûlée":     "creme brulee",
		"Œuvre, Æsop":      "oeuvre, aesop",
		"Łódź Ørsted":      "lodz orsted",
		"pa\u0303o":        "pao", // decomposed input
		"Kopi Susu":        "kopi susu",
		"Ελληνικά":         "ελληνικά",
		"Ŀl·l":             "ll·l",
	} {
		if got := commerce.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSearch finds products case- and accent-insensitively in English,
// Portuguese, German and Indonesian.
func TestSearch(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	for _, p := range []commerce.Product{
		// Portuguese
		{RetailerID: "pt-1", Name: "Pão de Queijo", Description: "Pão de queijo mineiro, congelado", Brand: "Forno de Minas"},
		{RetailerID: "pt-2", Name: "Pao Frances", Description: "Pãozinho quente"},
		{RetailerID: "pt-3", Name: "Açaí na tigela", Description: "Com granola e banana"},
		{RetailerID: "pt-4", Name: "Coração de Tinta", Description: "Livro de Cornelia Funke", Brand: "Companhia das Letras"},
		// German
		{RetailerID: "de-1", Name: "Die Straße der Ölsardinen", Description: "Roman", Brand: "Müller Verlag"},
		{RetailerID: "de-2", Name: "Strassenkarte Berlin", Description: "Stadtplan", Brand: "Mueller"},
		{RetailerID: "de-3", Name: "Tintenherz", Description: "Jugendbuch von Cornelia Funke"},
		// Indonesian
		{RetailerID: "id-1", Name: "Nasi Goreng Spesial", Description: "Nasi goreng dengan ayam dan telur"},
		{RetailerID: "id-2", Name: "Ayam Bakar Madu", Description: "Makanan khas Jawa"},
		{RetailerID: "id-3", Name: "Kopi Susu Gula Aren", Description: "Minuman dingin"},
		// English
		{RetailerID: "en-1", Name: "The Great Gatsby", Description: "A novel by F. Scott Fitzgerald", Brand: "Scribner"},
		{RetailerID: "en-2", Name: "Great Expectations", Description: "Dickens' classic"},
		{RetailerID: "en-3", Name: "Inkheart", Description: "Translated from German: Tintenherz by Cornelia Funke"},
	} {
		p.Currency, p.Price = "BRL", 1000
		if _, err := sh.cat.CreateProduct(ctx, sh.catalog.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query string
		want  []string // in rank order; nil for no match
		any   bool     // compare as a set
	}{
		// Portuguese: accents either way.
		{query: "pão", want: []string{"pt-2", "pt-1"}, any: true},
		{query: "PAO DE QUEIJO", want: []string{"pt-1"}},
		{query: "pãozinho", want: []string{"pt-2"}},
		{query: "acai", want: []string{"pt-3"}},
		{query: "coracao", want: []string{"pt-4"}},
		{query: "forno minas", want: []string{"pt-1"}},
		// German: ß and ss, umlauts stripped or spelled out.
		{query: "strasse", want: []string{"de-1", "de-2"}, any: true},
		{query: "Straße", want: []string{"de-1", "de-2"}, any: true},
		{query: "olsardinen", want: []string{"de-1"}},
		{query: "Oelsardinen", want: []string{"de-1"}},
		{query: "müller", want: []string{"de-1", "de-2"}, any: true},
		{query: "mueller", want: []string{"de-1", "de-2"}, any: true},
		{query: "muller", want: []string{"de-1"}},
		{query: "tintenherz", want: []string{"de-3", "en-3"}},
		// Indonesian: tokens in any order, substrings of words.
		{query: "nasi goreng", want: []string{"id-1"}},
		{query: "bakar ayam", want: []string{"id-2"}},
		{query: "ayam", want: []string{"id-2", "id-1"}},
		{query: "makan", want: []string{"id-2"}},
		{query: "KOPI susu", want: []string{"id-3"}},
		// English.
		{query: "great", want: []string{"en-2", "en-1"}},
		{query: "gatsby", want: []string{"en-1"}},
		{query: "fitzgerald novel", want: []string{"en-1"}},
		{query: "cornelia funke", want: []string{"de-3", "en-3", "pt-4"}, any: true},
		// Punctuation is ignored; SQL wildcards are literal.
		{query: "  great,  expectations! ", want: []string{"en-2"}},
		{query: "%", want: []string{"de-1", "de-2", "de-3", "en-1", "en-2", "en-3", "id-1", "id-2", "id-3", "pt-1", "pt-2", "pt-3", "pt-4"}, any: true},
		{query: "100%", want: nil},
		{query: "gatsby zebra", want: nil},
		{query: "sushi", want: nil},
		// By SKU.
		{query: "id-3", want: []string{"id-3"}},
	} {
		got, err := sh.cat.Search(ctx, sh.catalog.ID, tc.query, 50)
		if err != nil {
			t.Errorf("Search(%q): %v", tc.query, err)
			continue
		}
		var ids []string
		for _, p := range got {
			ids = append(ids, p.RetailerID)
		}
		if tc.any {
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(ids, want) {
				t.Errorf("Search(%q) = %v, want %v", tc.query, ids, want)
			}
		} else if !slices.Equal(ids, tc.want) {
			t.Errorf("Search(%q) = %v, want %v", tc.query, ids, tc.want)
		}
	}
	if got, err := sh.cat.Search(ctx, sh.catalog.ID, "great", 1); err != nil || len(got) != 1 || got[0].RetailerID != "en-2" {
		t.Errorf("Search with limit 1 = %+v, %v", got, err)
	}
	if _, err := sh.cat.Search(ctx, "404", "pão", 10); !errors.Is(err, commerce.ErrNotFound) {
		t.Errorf("search in a missing catalog: %v", err)
	}
	// Search follows updates.
	p, _ := sh.cat.ProductByRetailerID(ctx, sh.catalog.ID, "id-3")
	if _, err := sh.cat.UpdateProduct(ctx, p.ID, func(q *commerce.Product) error { q.Name = "Es Teh Manis"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := sh.cat.Search(ctx, sh.catalog.ID, "teh manis", 10); len(got) != 1 || got[0].RetailerID != "id-3" {
		t.Errorf("search after rename: %+v", got)
	}
	if got, _ := sh.cat.Search(ctx, sh.catalog.ID, "kopi", 10); len(got) != 0 {
		t.Errorf("old name still found: %+v", got)
	}
}
