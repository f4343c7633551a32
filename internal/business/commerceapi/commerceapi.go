// Package commerceapi serves the business's catalog and profile to the Cloud
// API handler: it adapts commerce's Catalogs and Business to the
// cloudapi.Catalog and cloudapi.Profiles interfaces, so that products and
// the profile an API client manages are the ones the bot sells from and
// customers see. Neither package imports the other; the agent wires them
// through this one.
//
// Where the two models differ:
//
//   - Sale price. commerce has *int64 (nil: no sale); the Cloud API uses 0
//     for none. A sale price of 0 from the API clears the sale, so a product
//     cannot be put on sale for free through the API.
//   - Availability. commerce derives it from the free stock (inventory minus
//     reservations of open orders) unless the business set one explicitly.
//     The API shows the effective value. Setting "in stock" through the API
//     returns the product to derived availability ("in stock" while there is
//     free stock, "out of stock" when there is none): the business then
//     never advertises stock it does not have. Any other value is kept
//     explicitly (out of stock, preorder, discontinued, ...).
//   - Inventory. The API's inventory is the stock on hand, reservations
//     included, as the business counts it; orders still reserve from it.
//   - Profile. commerce keeps one profile per agent (one Parley business
//     account); the Cloud API has one per phone number. Every number of the
//     agent shows, and updates, the one profile.
//   - Validation. commerce validates more strictly than the handler (known
//     ISO 4217 currencies, sale price not above the price, e-mail address
//     syntax, URL lengths); its refusals reach the client as Graph error 100
//     with commerce's reason, not as an internal error.
package commerceapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
)

// Catalog is cloudapi.Catalog over commerce.Catalogs.
type Catalog struct{ c *commerce.Catalogs }

var _ cloudapi.Catalog = (*Catalog)(nil)

// NewCatalog adapts c.
func NewCatalog(c *commerce.Catalogs) *Catalog { return &Catalog{c: c} }

// apiError turns commerce's sentinels into the handler's: not found and
// exists keep their cause and match cloudapi's sentinels, and a refusal of
// invalid input becomes a Graph invalid-parameter error.
func apiError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, commerce.ErrNotFound) && !errors.Is(err, cloudapi.ErrNotFound):
		return fmt.Errorf("%w: %w", cloudapi.ErrNotFound, err)
	case errors.Is(err, commerce.ErrExists) && !errors.Is(err, cloudapi.ErrExists):
		return fmt.Errorf("%w: %w", cloudapi.ErrExists, err)
	case errors.Is(err, commerce.ErrInvalid):
		msg := err.Error()
		for _, prefix := range []string{commerce.ErrInvalid.Error() + ": ", commerce.ErrInvalidAmount.Error() + ": ",
			commerce.ErrUnknownCurrency.Error() + ": "} {
			msg = strings.TrimPrefix(msg, prefix)
		}
		return &cloudapi.Error{Spec: cloudapi.ErrInvalidParameter, Details: msg}
	}
	return err
}

// toAPI is a commerce product as the API shows it.
func toAPI(p commerce.Product) cloudapi.Product {
	out := cloudapi.Product{ID: p.ID, CatalogID: p.CatalogID, RetailerID: p.RetailerID, Name: p.Name,
		Description: p.Description, Brand: p.Brand, URL: p.URL, ImageURL: p.ImageURL, Price: p.Price,
		Currency: string(p.Currency), Availability: string(p.Availability()), Condition: string(p.Condition),
		Category: p.Category, RetailerProductGroupID: p.RetailerProductGroupID}
	if p.SalePrice != nil {
		out.SalePrice = *p.SalePrice
	}
	if p.Inventory != nil {
		n := *p.Inventory
		out.Inventory = &n
	}
	return out
}

func salePrice(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// setAvailability is what an availability from the API means in commerce.
func setAvailability(a string) commerce.Availability {
	if commerce.Availability(a) == commerce.InStock {
		return "" // derived: in stock only while there is free stock
	}
	return commerce.Availability(a)
}

// Products implements cloudapi.Catalog: every product of the catalog, by
// retailer_id.
func (a *Catalog) Products(ctx context.Context, catalogID string) ([]cloudapi.Product, error) {
	var out []cloudapi.Product
	after := ""
	for {
		page, err := a.c.Products(ctx, catalogID, after, commerce.MaxPage)
		if err != nil {
			return nil, apiError(err)
		}
		for _, p := range page {
			out = append(out, toAPI(p))
		}
		if len(page) < commerce.MaxPage {
			return out, nil
		}
		after = page[len(page)-1].RetailerID
	}
}

// CreateProduct implements cloudapi.Catalog.
func (a *Catalog) CreateProduct(ctx context.Context, catalogID string, p cloudapi.Product) (cloudapi.Product, error) {
	cp := commerce.Product{RetailerID: p.RetailerID, Name: p.Name, Description: p.Description, Brand: p.Brand,
		URL: p.URL, ImageURL: p.ImageURL, Currency: commerce.Currency(p.Currency), Price: p.Price,
		SalePrice: salePrice(p.SalePrice), SetAvailability: setAvailability(p.Availability),
		Condition: commerce.Condition(p.Condition), Category: p.Category, RetailerProductGroupID: p.RetailerProductGroupID}
	if p.Inventory != nil {
		n := *p.Inventory
		cp.Inventory = &n
	}
	created, err := a.c.CreateProduct(ctx, catalogID, cp)
	if err != nil {
		return cloudapi.Product{}, apiError(err)
	}
	return toAPI(created), nil
}

// Product implements cloudapi.Catalog.
func (a *Catalog) Product(ctx context.Context, id string) (cloudapi.Product, error) {
	p, err := a.c.Product(ctx, id)
	if err != nil {
		return cloudapi.Product{}, apiError(err)
	}
	return toAPI(p), nil
}

// ProductByRetailerID implements cloudapi.Catalog.
func (a *Catalog) ProductByRetailerID(ctx context.Context, catalogID, retailerID string) (cloudapi.Product, error) {
	p, err := a.c.ProductByRetailerID(ctx, catalogID, retailerID)
	if err != nil {
		return cloudapi.Product{}, apiError(err)
	}
	return toAPI(p), nil
}

// UpdateProduct implements cloudapi.Catalog: the changed fields, read,
// validated and written in one transaction.
func (a *Catalog) UpdateProduct(ctx context.Context, id string, u cloudapi.ProductUpdate) (cloudapi.Product, error) {
	p, err := a.c.UpdateProduct(ctx, id, func(p *commerce.Product) error {
		for _, f := range []struct {
			dst *string
			src *string
		}{{&p.Name, u.Name}, {&p.Description, u.Description}, {&p.Brand, u.Brand}, {&p.URL, u.URL},
			{&p.ImageURL, u.ImageURL}, {&p.Category, u.Category}, {&p.RetailerProductGroupID, u.RetailerProductGroupID}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if u.Price != nil {
			p.Price = *u.Price
		}
		if u.SalePrice != nil {
			p.SalePrice = salePrice(*u.SalePrice)
		}
		if u.Currency != nil {
			p.Currency = commerce.Currency(*u.Currency)
		}
		if u.Availability != nil {
			p.SetAvailability = setAvailability(*u.Availability)
		}
		if u.Condition != nil {
			p.Condition = commerce.Condition(*u.Condition)
		}
		if u.Inventory != nil {
			n := *u.Inventory
			p.Inventory = &n
		}
		return nil
	})
	if err != nil {
		return cloudapi.Product{}, apiError(err)
	}
	return toAPI(p), nil
}

// DeleteProduct implements cloudapi.Catalog.
func (a *Catalog) DeleteProduct(ctx context.Context, id string) error {
	return apiError(a.c.DeleteProduct(ctx, id))
}

// Profiles is cloudapi.Profiles over commerce.Business: one profile for
// every number of the agent.
type Profiles struct {
	b  *commerce.Business
	tx commerce.Tx
}

var _ cloudapi.Profiles = (*Profiles)(nil)

// NewProfiles adapts b; tx is b's store (bizstore.Store), which makes an
// update's read and write one transaction.
func NewProfiles(b *commerce.Business, tx commerce.Tx) *Profiles { return &Profiles{b: b, tx: tx} }

// Profile implements cloudapi.Profiles; an empty profile until one is set.
func (a *Profiles) Profile(ctx context.Context, _ string) (cloudapi.Profile, error) {
	p, err := a.b.Profile(ctx)
	if err != nil {
		return cloudapi.Profile{}, apiError(err)
	}
	vertical := string(p.Vertical)
	return cloudapi.Profile{About: p.About, Address: p.Address, Description: p.Description, Email: p.Email,
		ProfilePictureURL: p.ProfilePictureURL, Websites: p.Websites, Vertical: vertical}, nil
}

// UpdateProfile implements cloudapi.Profiles. The name and the verified
// flag, which the Cloud API does not know, are kept.
func (a *Profiles) UpdateProfile(ctx context.Context, _ string, u cloudapi.ProfileUpdate) error {
	return apiError(a.tx.InTx(ctx, func(ctx context.Context) error {
		p, err := a.b.Profile(ctx)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			dst *string
			src *string
		}{{&p.About, u.About}, {&p.Address, u.Address}, {&p.Description, u.Description}, {&p.Email, u.Email},
			{&p.ProfilePictureURL, u.ProfilePictureURL}, {&p.ProfilePictureHandle, u.ProfilePictureHandle}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if u.Websites != nil {
			p.Websites = append([]string(nil), *u.Websites...)
		}
		if u.Vertical != nil {
			p.Vertical = commerce.Vertical(*u.Vertical)
		}
		_, err = a.b.SetProfile(ctx, p)
		return err
	}))
}
