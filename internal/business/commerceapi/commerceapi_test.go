package commerceapi_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/bizstore/bizstoretest"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/commerceapi"
)

type shop struct {
	st      *bizstore.Store
	catalog commerce.Catalog
	cats    *commerce.Catalogs
	orders  *commerce.Orders
	api     *commerceapi.Catalog
}

func newShop(t *testing.T) *shop {
	st := bizstoretest.Open(t)
	sh := &shop{st: st, cats: commerce.NewCatalogs(st, nil), orders: commerce.NewOrders(st, nil)}
	sh.api = commerceapi.NewCatalog(sh.cats)
	var err error
	if sh.catalog, err = sh.cats.CreateCatalog(t.Context(), "Livros"); err != nil {
		t.Fatal(err)
	}
	return sh
}

func ptr[T any](v T) *T { return &v }

func (sh *shop) create(t *testing.T, p cloudapi.Product) cloudapi.Product {
	t.Helper()
	got, err := sh.api.CreateProduct(t.Context(), sh.catalog.ID, p)
	if err != nil {
		t.Fatalf("CreateProduct(%s): %v", p.RetailerID, err)
	}
	return got
}

func (sh *shop) order(t *testing.T, rid string, qty int64, price int64) commerce.Order {
	t.Helper()
	o, err := sh.orders.Place(t.Context(), commerce.PlaceRequest{Customer: "5511987654321", Cart: commerce.Cart{
		CatalogID: sh.catalog.ID, Items: []commerce.CartItem{{RetailerID: rid, Quantity: qty, Price: commerce.Money{Amount: price, Currency: "BRL"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestSalePrice(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	plain := sh.create(t, cloudapi.Product{RetailerID: "L1", Name: "Dom Casmurro", Price: 4990, Currency: "BRL"})
	onSale := sh.create(t, cloudapi.Product{RetailerID: "L2", Name: "Iracema", Price: 4990, SalePrice: 3990, Currency: "BRL"})
	if plain.SalePrice != 0 || onSale.SalePrice != 3990 {
		t.Fatalf("sale prices %d and %d", plain.SalePrice, onSale.SalePrice)
	}
	if p, _ := sh.cats.Product(ctx, plain.ID); p.SalePrice != nil {
		t.Fatalf("no sale in the API became sale price %d in commerce", *p.SalePrice)
	}
	// Orders charge the sale price.
	if o := sh.order(t, "L2", 1, 3990); o.Total != 3990 {
		t.Fatalf("order total %d, want the sale price", o.Total)
	}
	// 0 ends the sale.
	got, err := sh.api.UpdateProduct(ctx, onSale.ID, cloudapi.ProductUpdate{SalePrice: ptr[int64](0)})
	if err != nil || got.SalePrice != 0 {
		t.Fatalf("ending the sale: %+v %v", got, err)
	}
	if p, _ := sh.cats.Product(ctx, onSale.ID); p.SalePrice != nil || p.UnitPrice().Amount != 4990 {
		t.Fatalf("commerce still has a sale: %+v", p)
	}
	// Other fields are left alone by an update that does not name them.
	got, err = sh.api.UpdateProduct(ctx, onSale.ID, cloudapi.ProductUpdate{Name: ptr("Iracema (2ª ed.)"), Inventory: ptr[int64](7)})
	if err != nil || got.Name != "Iracema (2ª ed.)" || got.Price != 4990 || got.Currency != "BRL" || *got.Inventory != 7 || got.RetailerID != "L2" {
		t.Fatalf("partial update: %+v %v", got, err)
	}
}

func TestAvailabilityFollowsFreeStock(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	p := sh.create(t, cloudapi.Product{RetailerID: "L1", Name: "Dom Casmurro", Price: 4990, Currency: "BRL", Inventory: ptr[int64](2)})
	untracked := sh.create(t, cloudapi.Product{RetailerID: "L2", Name: "Iracema", Price: 100, Currency: "BRL"})
	if p.Availability != "in stock" || untracked.Availability != "in stock" || untracked.Inventory != nil {
		t.Fatalf("new products: %+v, %+v", p, untracked)
	}
	// An open order holds both copies: the API shows the product out of
	// stock, and the inventory as the business counts it.
	o := sh.order(t, "L1", 2, 4990)
	got, err := sh.api.Product(ctx, p.ID)
	if err != nil || got.Availability != "out of stock" || *got.Inventory != 2 {
		t.Fatalf("with both copies reserved: %+v %v", got, err)
	}
	// "in stock" from the API means: as the stock says.
	if got, _ := sh.api.UpdateProduct(ctx, p.ID, cloudapi.ProductUpdate{Availability: ptr("in stock")}); got.Availability != "out of stock" {
		t.Fatalf("setting in stock without free stock: %q", got.Availability)
	}
	if _, err := sh.orders.Cancel(ctx, o.ReferenceID, "", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := sh.api.Product(ctx, p.ID); got.Availability != "in stock" {
		t.Fatalf("after the order is canceled: %q", got.Availability)
	}
	// Other values are the business's word.
	for _, a := range []string{"out of stock", "preorder", "discontinued", "available for order"} {
		got, err := sh.api.UpdateProduct(ctx, p.ID, cloudapi.ProductUpdate{Availability: ptr(a)})
		if err != nil || got.Availability != a {
			t.Fatalf("set %q: %q %v", a, got.Availability, err)
		}
	}
	list, err := sh.api.Products(ctx, sh.catalog.ID)
	if err != nil || len(list) != 2 || list[0].Availability != "available for order" || list[1].RetailerID != "L2" {
		t.Fatalf("Products: %+v %v", list, err)
	}
}

func TestErrorsAreTheHandlers(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	sh.create(t, cloudapi.Product{RetailerID: "L1", Name: "Dom Casmurro", Price: 4990, Currency: "BRL"})
	if _, err := sh.api.CreateProduct(ctx, sh.catalog.ID, cloudapi.Product{RetailerID: "L1", Name: "x", Price: 1, Currency: "BRL"}); !errors.Is(err, cloudapi.ErrExists) {
		t.Errorf("taken retailer_id: %v, want cloudapi.ErrExists", err)
	}
	for _, id := range []string{"999999999999999"} {
		if _, err := sh.api.Product(ctx, id); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Errorf("unknown product: %v, want cloudapi.ErrNotFound", err)
		}
		if _, err := sh.api.UpdateProduct(ctx, id, cloudapi.ProductUpdate{Name: ptr("x")}); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Errorf("update of an unknown product: %v", err)
		}
		if err := sh.api.DeleteProduct(ctx, id); !errors.Is(err, cloudapi.ErrNotFound) {
			t.Errorf("delete of an unknown product: %v", err)
		}
	}
	if _, err := sh.api.ProductByRetailerID(ctx, sh.catalog.ID, "NOPE"); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("unknown retailer_id: %v", err)
	}
	if _, err := sh.api.Products(ctx, "123"); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("unknown catalog: %v", err)
	}
	// What commerce refuses and the handler let through is the client's
	// mistake (100), not the server's (131000).
	for name, p := range map[string]cloudapi.Product{
		"unknown currency":     {RetailerID: "L9", Name: "x", Price: 100, Currency: "XYZ"},
		"sale above the price": {RetailerID: "L9", Name: "x", Price: 100, SalePrice: 200, Currency: "BRL"},
		"control character":    {RetailerID: "L9", Name: "a\x01b", Price: 100, Currency: "BRL"},
		"unknown availability": {RetailerID: "L9", Name: "x", Price: 100, Currency: "BRL", Availability: "maybe"},
		"negative price":       {RetailerID: "L9", Name: "x", Price: -1, Currency: "JPY"},
	} {
		_, err := sh.api.CreateProduct(ctx, sh.catalog.ID, p)
		var e *cloudapi.Error
		if !errors.As(err, &e) || e.Spec != cloudapi.ErrInvalidParameter || e.Details == "" {
			t.Errorf("%s: %v, want an invalid-parameter error with commerce's reason", name, err)
		}
	}
	if list, _ := sh.api.Products(ctx, sh.catalog.ID); len(list) != 1 {
		t.Errorf("refused products were stored: %d products", len(list))
	}
}

func TestProductsListsEveryPage(t *testing.T) {
	sh := newShop(t)
	ctx := t.Context()
	n := commerce.MaxPage + 3
	// One transaction: fast, and the adapter's paging is what is tested.
	err := sh.st.InTx(ctx, func(ctx context.Context) error {
		for i := range n {
			if _, err := sh.cats.CreateProduct(ctx, sh.catalog.ID, commerce.Product{RetailerID: fmt.Sprintf("SKU-%05d", i),
				Name: "Livro", Price: 100, Currency: "BRL"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := sh.api.Products(ctx, sh.catalog.ID)
	if err != nil || len(list) != n {
		t.Fatalf("Products listed %d of %d: %v", len(list), n, err)
	}
	if !slices.IsSortedFunc(list, func(a, b cloudapi.Product) int { return strings.Compare(a.RetailerID, b.RetailerID) }) ||
		list[n-1].RetailerID != fmt.Sprintf("SKU-%05d", n-1) {
		t.Fatal("products out of order or repeated across pages")
	}
}

func TestOneProfileForEveryNumber(t *testing.T) {
	st := bizstoretest.Open(t)
	ctx := t.Context()
	biz := commerce.NewBusiness(st)
	api := commerceapi.NewProfiles(biz, st)
	if p, err := api.Profile(ctx, "1"); err != nil || p.About != "" || p.Websites != nil {
		t.Fatalf("before any is set: %+v %v", p, err)
	}
	// The CLI sets the name and the verified flag, which the API does not know.
	if _, err := biz.SetProfile(ctx, commerce.Profile{Name: "Livraria Parley", Verified: true, About: "Livros"}); err != nil {
		t.Fatal(err)
	}
	err := api.UpdateProfile(ctx, "1", cloudapi.ProfileUpdate{Description: ptr("Livros usados e novos"), Email: ptr("oi@livraria.example"),
		Websites: ptr([]string{"https://livraria.example"}), Vertical: ptr("RETAIL")})
	if err != nil {
		t.Fatal(err)
	}
	for _, phone := range []string{"1", "2"} {
		p, err := api.Profile(ctx, phone)
		if err != nil || p.About != "Livros" || p.Description != "Livros usados e novos" || p.Email != "oi@livraria.example" ||
			!slices.Equal(p.Websites, []string{"https://livraria.example"}) || p.Vertical != "RETAIL" {
			t.Fatalf("number %s: %+v %v", phone, p, err)
		}
	}
	if p, _ := biz.Profile(ctx); p.Name != "Livraria Parley" || !p.Verified {
		t.Fatalf("an API update lost the name or the verified flag: %+v", p)
	}
	var e *cloudapi.Error
	if err := api.UpdateProfile(ctx, "1", cloudapi.ProfileUpdate{Email: ptr("Ana <ana@livraria.example>")}); !errors.As(err, &e) || e.Spec != cloudapi.ErrInvalidParameter {
		t.Fatalf("an address with a display name: %v, want invalid parameter", err)
	}
	if p, _ := api.Profile(ctx, "1"); p.Email != "oi@livraria.example" {
		t.Fatalf("a refused update changed the profile: %+v", p)
	}
}
