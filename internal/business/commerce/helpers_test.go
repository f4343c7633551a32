package commerce_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/commerce"
)

// The tests run on the real store, the one the agent uses.
func newStore(t *testing.T) *bizstore.Store {
	t.Helper()
	s, err := bizstore.Open(t.Context(), filepath.Join(t.TempDir(), "business.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 11, 20, 14, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder keeps the order events it hears.
type recorder struct {
	mu  sync.Mutex
	evs []commerce.OrderEvent
}

func (r *recorder) OrderChanged(_ context.Context, ev commerce.OrderEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return nil
}

func (r *recorder) events() []commerce.OrderEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]commerce.OrderEvent(nil), r.evs...)
}

// shop is a bookstore with a catalog, services and a clock.
type shop struct {
	st      *bizstore.Store
	clock   *clock
	cat     *commerce.Catalogs
	orders  *commerce.Orders
	events  *recorder
	catalog commerce.Catalog
}

func newShop(t *testing.T) *shop {
	t.Helper()
	st := newStore(t)
	c := newClock()
	rec := &recorder{}
	sh := &shop{
		st: st, clock: c, events: rec,
		cat:    commerce.NewCatalogs(st, &commerce.CatalogOptions{Now: c.Now}),
		orders: commerce.NewOrders(st, &commerce.OrderOptions{Now: c.Now, Subscribers: []commerce.Subscriber{rec}}),
	}
	var err error
	sh.catalog, err = sh.cat.CreateCatalog(t.Context(), "Livros")
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func ptr[T any](v T) *T { return &v }

// add creates a product priced in BRL with the given stock (nil: untracked).
func (sh *shop) add(t *testing.T, retailerID string, price int64, inventory *int64) commerce.Product {
	t.Helper()
	p, err := sh.cat.CreateProduct(t.Context(), sh.catalog.ID, commerce.Product{
		RetailerID: retailerID, Name: "Livro " + retailerID, Currency: "BRL", Price: price, Inventory: inventory,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (sh *shop) product(t *testing.T, id string) commerce.Product {
	t.Helper()
	p, err := sh.cat.Product(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cart builds a cart of (retailer id, quantity, seen price in centavos).
func (sh *shop) cart(items ...any) commerce.Cart {
	c := commerce.Cart{CatalogID: sh.catalog.ID}
	for i := 0; i+2 < len(items); i += 3 {
		c.Items = append(c.Items, commerce.CartItem{
			RetailerID: items[i].(string), Quantity: int64(items[i+1].(int)),
			Price: commerce.Money{Amount: int64(items[i+2].(int)), Currency: "BRL"},
		})
	}
	return c
}

func (sh *shop) place(t *testing.T, c commerce.Cart) commerce.Order {
	t.Helper()
	o, err := sh.orders.Place(t.Context(), commerce.PlaceRequest{Customer: "5511999999999", Cart: c})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// stock returns a product's inventory (-1 untracked) and reserved count.
func (sh *shop) stock(t *testing.T, id string) (inventory, reserved int64) {
	t.Helper()
	p := sh.product(t, id)
	if p.Inventory == nil {
		return -1, p.Reserved
	}
	return *p.Inventory, p.Reserved
}
