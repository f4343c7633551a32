package commerce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Tx makes several store calls one transaction. Calls given fn's ctx join
// it; it commits when fn returns nil and keeps nothing when fn fails. Inside
// fn, call the store only with fn's ctx.
type Tx interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Object kinds for NewObjectID.
const (
	KindCatalog = "catalog"
	KindProduct = "product"
)

// CatalogStore is what Catalogs keeps catalogs and products in. Lookups of a
// missing row return an error matching ErrNotFound; inserting a taken id or
// (catalog, retailer_id) one matching ErrExists.
type CatalogStore interface {
	Tx
	// NewObjectID hands out a fresh Graph object id (a random decimal
	// string of 15-16 digits) that no object of any kind has had.
	NewObjectID(ctx context.Context, kind string) (string, error)

	InsertCatalog(ctx context.Context, c Catalog) error
	Catalog(ctx context.Context, id string) (Catalog, error)
	Catalogs(ctx context.Context) ([]Catalog, error)
	// DeleteCatalog deletes the catalog and its products.
	DeleteCatalog(ctx context.Context, id string) error

	// InsertProduct and UpdateProduct store every field but Reserved;
	// stores keep SearchKey(p) beside it.
	InsertProduct(ctx context.Context, p Product) error
	UpdateProduct(ctx context.Context, p Product) error
	Product(ctx context.Context, id string) (Product, error)
	ProductByRetailerID(ctx context.Context, catalogID, retailerID string) (Product, error)
	// Products lists a catalog's products by retailer_id, those after the
	// given one (all for ""), at most limit.
	Products(ctx context.Context, catalogID, afterRetailerID string, limit int) ([]Product, error)
	CountProducts(ctx context.Context, catalogID string) (int, error)
	// SearchProducts returns up to limit products of the catalog whose
	// search key contains, for each group of terms, one of its strings.
	SearchProducts(ctx context.Context, catalogID string, terms [][]string, limit int) ([]Product, error)
	DeleteProduct(ctx context.Context, id string) error
}

// CatalogOptions tune Catalogs. The zero value (or nil) is ready to use.
type CatalogOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives nothing about product contents; nil discards.
	Logger *slog.Logger
}

// Catalogs manages catalogs and their products.
type Catalogs struct {
	st  CatalogStore
	now func() time.Time
	log *slog.Logger
}

// NewCatalogs returns the catalog service over st.
func NewCatalogs(st CatalogStore, o *CatalogOptions) *Catalogs {
	if o == nil {
		o = &CatalogOptions{}
	}
	c := &Catalogs{st: st, now: o.Now, log: o.Logger}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// CreateCatalog makes an empty catalog with a new id.
func (c *Catalogs) CreateCatalog(ctx context.Context, name string) (Catalog, error) {
	if err := checkText(name, 1, maxCatalogName, false); err != nil {
		return Catalog{}, fmt.Errorf("%w: catalog name %v", ErrInvalid, err)
	}
	var cat Catalog
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		id, err := c.st.NewObjectID(ctx, KindCatalog)
		if err != nil {
			return err
		}
		cat = Catalog{ID: id, Name: name, CreatedAt: c.now().UTC().Truncate(time.Millisecond)}
		return c.st.InsertCatalog(ctx, cat)
	})
	if err != nil {
		return Catalog{}, err
	}
	return cat, nil
}

// Catalog returns one catalog.
func (c *Catalogs) Catalog(ctx context.Context, id string) (Catalog, error) {
	return c.st.Catalog(ctx, id)
}

// Catalogs lists every catalog.
func (c *Catalogs) Catalogs(ctx context.Context) ([]Catalog, error) { return c.st.Catalogs(ctx) }

// DeleteCatalog deletes a catalog with all its products. Orders keep their
// copies of the items.
func (c *Catalogs) DeleteCatalog(ctx context.Context, id string) error {
	return c.st.DeleteCatalog(ctx, id)
}

// CreateProduct adds p to catalog catalogID under a new product item id.
// ID, CatalogID, Reserved and the times are set here; the retailer_id must
// be new in the catalog (ErrExists otherwise).
func (c *Catalogs) CreateProduct(ctx context.Context, catalogID string, p Product) (Product, error) {
	p.CatalogID = catalogID
	p.Reserved = 0
	if err := p.validate(); err != nil {
		return Product{}, err
	}
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		if _, err := c.st.Catalog(ctx, catalogID); err != nil {
			return err
		}
		id, err := c.st.NewObjectID(ctx, KindProduct)
		if err != nil {
			return err
		}
		p.ID = id
		p.CreatedAt = c.now().UTC().Truncate(time.Millisecond)
		p.UpdatedAt = p.CreatedAt
		return c.st.InsertProduct(ctx, p)
	})
	if err != nil {
		return Product{}, err
	}
	return p, nil
}

// UpdateProduct reads the product, lets edit change it, validates and stores
// the result, all in one transaction. edit may change any field but ID,
// CatalogID, Reserved and the times; changing RetailerID to one taken gives
// ErrExists. An error from edit aborts the update and is returned.
func (c *Catalogs) UpdateProduct(ctx context.Context, id string, edit func(p *Product) error) (Product, error) {
	var out Product
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		p, err := c.st.Product(ctx, id)
		if err != nil {
			return err
		}
		q := p
		q.AdditionalImageURLs = slices.Clone(p.AdditionalImageURLs)
		if err := edit(&q); err != nil {
			return err
		}
		q.ID, q.CatalogID, q.Reserved, q.CreatedAt = p.ID, p.CatalogID, p.Reserved, p.CreatedAt
		if err := q.validate(); err != nil {
			return err
		}
		q.UpdatedAt = c.now().UTC().Truncate(time.Millisecond)
		if err := c.st.UpdateProduct(ctx, q); err != nil {
			return err
		}
		out = q
		return nil
	})
	return out, err
}

// SetInventory sets the stock on hand (nil: not tracked).
func (c *Catalogs) SetInventory(ctx context.Context, id string, inventory *int64) (Product, error) {
	return c.UpdateProduct(ctx, id, func(p *Product) error {
		p.Inventory = inventory
		return nil
	})
}

// AddInventory adds delta (negative to remove) to a tracked stock, as when
// goods arrive; the result may not go below zero.
func (c *Catalogs) AddInventory(ctx context.Context, id string, delta int64) (Product, error) {
	return c.UpdateProduct(ctx, id, func(p *Product) error {
		if p.Inventory == nil {
			return fmt.Errorf("%w: product %s does not track inventory", ErrInvalid, id)
		}
		n := *p.Inventory + delta
		if n < 0 {
			return fmt.Errorf("%w: inventory would become %d", ErrInvalid, n)
		}
		p.Inventory = &n
		return nil
	})
}

// Product returns one product by its item id.
func (c *Catalogs) Product(ctx context.Context, id string) (Product, error) {
	return c.st.Product(ctx, id)
}

// ProductByRetailerID returns the product a message or cart names.
func (c *Catalogs) ProductByRetailerID(ctx context.Context, catalogID, retailerID string) (Product, error) {
	return c.st.ProductByRetailerID(ctx, catalogID, retailerID)
}

// DeleteProduct removes a product. Orders keep their copies of it; stock it
// had reserved is simply no longer counted.
func (c *Catalogs) DeleteProduct(ctx context.Context, id string) error {
	return c.st.DeleteProduct(ctx, id)
}

// MaxPage is the most products one call lists or finds.
const MaxPage = 1000

// maxSearchWords bounds the words of a query that must match; the rest are
// ignored.
const maxSearchWords = 16

// Products lists a catalog's products ordered by retailer_id: the first
// limit after the retailer_id after ("" for the start). The last one's
// retailer_id is the cursor for the next page.
func (c *Catalogs) Products(ctx context.Context, catalogID, after string, limit int) ([]Product, error) {
	if _, err := c.st.Catalog(ctx, catalogID); err != nil {
		return nil, err
	}
	return c.st.Products(ctx, catalogID, after, clampLimit(limit))
}

// CountProducts is the number of products in a catalog (the Graph API's
// summary.total_count).
func (c *Catalogs) CountProducts(ctx context.Context, catalogID string) (int, error) {
	return c.st.CountProducts(ctx, catalogID)
}

func clampLimit(limit int) int {
	if limit <= 0 || limit > MaxPage {
		return MaxPage
	}
	return limit
}

// Search finds products of a catalog by name, brand, description or
// retailer_id, case- and accent-insensitively: every word of query must
// occur (as a substring: "pão" finds "Pães", "strasse" finds "Straße").
// Products whose name holds the whole query come first, then those whose
// name holds every word, then by name. An empty query lists the catalog.
func (c *Catalogs) Search(ctx context.Context, catalogID, query string, limit int) ([]Product, error) {
	limit = clampLimit(limit)
	if _, err := c.st.Catalog(ctx, catalogID); err != nil {
		return nil, err
	}
	terms := SearchTerms(query)
	if len(terms) > maxSearchWords {
		terms = terms[:maxSearchWords]
	}
	if len(terms) == 0 {
		return c.st.Products(ctx, catalogID, "", limit)
	}
	// Rank more candidates than asked for, so that the best ones are not
	// cut by the store's arbitrary order.
	found, err := c.st.SearchProducts(ctx, catalogID, terms, max(4*limit, 200))
	if err != nil {
		return nil, err
	}
	phrase := strings.Join(searchTokens(Fold(query)), " ")
	score := func(p Product) int {
		name := strings.Join(searchTokens(Fold(p.Name)), " ")
		s := 0
		if strings.Contains(name, phrase) {
			s += 4
			if strings.HasPrefix(name, phrase) {
				s += 2
			}
		}
		all := true
		for _, g := range terms {
			if !slices.ContainsFunc(g, func(t string) bool {
				return strings.Contains(name, t) || strings.Contains(fold(p.Name, true), t)
			}) {
				all = false
				break
			}
		}
		if all {
			s += 2
		}
		if p.Availability().orderable() {
			s++
		}
		return s
	}
	type ranked struct {
		p Product
		s int
	}
	rs := make([]ranked, len(found))
	for i, p := range found {
		rs[i] = ranked{p, score(p)}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if a.s != b.s {
			return b.s - a.s
		}
		return cmp.Or(strings.Compare(Fold(a.p.Name), Fold(b.p.Name)), strings.Compare(a.p.RetailerID, b.p.RetailerID))
	})
	out := make([]Product, 0, min(limit, len(rs)))
	for _, r := range rs[:min(limit, len(rs))] {
		out = append(out, r.p)
	}
	return out, nil
}

// isNotFound is errors.Is(err, ErrNotFound).
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
