package bizstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/parley-im/parley/internal/business/commerce"
)

// InsertCatalog stores a new catalog.
func (s *Store) InsertCatalog(ctx context.Context, c commerce.Catalog) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO catalogs (id, name, created_at) VALUES (?, ?, ?)`, c.ID, c.Name, ms(c.CreatedAt))
		if isUnique(err) {
			return exists("catalog %s", c.ID)
		}
		return err
	})
}

// Catalog returns one catalog.
func (s *Store) Catalog(ctx context.Context, id string) (commerce.Catalog, error) {
	var (
		c       commerce.Catalog
		created int64
	)
	err := s.read(ctx).QueryRowContext(ctx, `SELECT id, name, created_at FROM catalogs WHERE id = ?`, id).Scan(&c.ID, &c.Name, &created)
	if err != nil {
		return commerce.Catalog{}, noRow(err, "catalog %s", id)
	}
	c.CreatedAt = fromMS(created)
	return c, nil
}

// Catalogs lists every catalog, oldest first.
func (s *Store) Catalogs(ctx context.Context) ([]commerce.Catalog, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT id, name, created_at FROM catalogs ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.Catalog
	for rows.Next() {
		var (
			c       commerce.Catalog
			created int64
		)
		if err := rows.Scan(&c.ID, &c.Name, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMS(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCatalog deletes a catalog and its products.
func (s *Store) DeleteCatalog(ctx context.Context, id string) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM catalogs WHERE id = ?`, id)
		return one(res, err, "catalog %s", id)
	})
}

// InsertProduct stores a new product.
func (s *Store) InsertProduct(ctx context.Context, p commerce.Product) error {
	if err := checkList("additional_image_urls", p.AdditionalImageURLs); err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO products (id, catalog_id, retailer_id, name, description, brand, url,
			image_url, additional_image_urls, currency, price, sale_price, inventory, availability, condition, category,
			retailer_product_group_id, search_key, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.CatalogID, p.RetailerID, p.Name, p.Description, p.Brand, p.URL, p.ImageURL,
			joinList(p.AdditionalImageURLs), string(p.Currency), p.Price, p.SalePrice, p.Inventory,
			string(p.SetAvailability), string(p.Condition), p.Category, p.RetailerProductGroupID,
			commerce.SearchKey(p), ms(p.CreatedAt), ms(p.UpdatedAt))
		if isUnique(err) {
			return exists("product %s or retailer_id %q in catalog %s", p.ID, p.RetailerID, p.CatalogID)
		}
		return err
	})
}

// UpdateProduct stores every field of an existing product but its ids,
// reservations and creation time.
func (s *Store) UpdateProduct(ctx context.Context, p commerce.Product) error {
	if err := checkList("additional_image_urls", p.AdditionalImageURLs); err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE products SET retailer_id = ?, name = ?, description = ?, brand = ?,
			url = ?, image_url = ?, additional_image_urls = ?, currency = ?, price = ?, sale_price = ?, inventory = ?,
			availability = ?, condition = ?, category = ?, retailer_product_group_id = ?, search_key = ?, updated_at = ?
			WHERE id = ?`,
			p.RetailerID, p.Name, p.Description, p.Brand, p.URL, p.ImageURL, joinList(p.AdditionalImageURLs),
			string(p.Currency), p.Price, p.SalePrice, p.Inventory, string(p.SetAvailability), string(p.Condition),
			p.Category, p.RetailerProductGroupID, commerce.SearchKey(p), ms(p.UpdatedAt), p.ID)
		if isUnique(err) {
			return exists("retailer_id %q in catalog %s", p.RetailerID, p.CatalogID)
		}
		return one(res, err, "product %s", p.ID)
	})
}

// productColumns are scanned by scanProduct; reserved is the sum of the
// product's reservations.
const productColumns = `p.id, p.catalog_id, p.retailer_id, p.name, p.description, p.brand, p.url, p.image_url,
	p.additional_image_urls, p.currency, p.price, p.sale_price, p.inventory, p.availability, p.condition, p.category,
	p.retailer_product_group_id, p.created_at, p.updated_at,
	COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.product_id = p.id), 0)`

type scanner interface{ Scan(dest ...any) error }

func scanProduct(sc scanner) (commerce.Product, error) {
	var (
		p                     commerce.Product
		images, cur, av, cond string
		sale, inv             sql.NullInt64
		created, updated      int64
	)
	err := sc.Scan(&p.ID, &p.CatalogID, &p.RetailerID, &p.Name, &p.Description, &p.Brand, &p.URL, &p.ImageURL,
		&images, &cur, &p.Price, &sale, &inv, &av, &cond, &p.Category, &p.RetailerProductGroupID,
		&created, &updated, &p.Reserved)
	if err != nil {
		return commerce.Product{}, err
	}
	p.AdditionalImageURLs = splitList(images)
	p.Currency, p.SetAvailability, p.Condition = commerce.Currency(cur), commerce.Availability(av), commerce.Condition(cond)
	if sale.Valid {
		p.SalePrice = &sale.Int64
	}
	if inv.Valid {
		p.Inventory = &inv.Int64
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return p, nil
}

// Product returns a product by its item id.
func (s *Store) Product(ctx context.Context, id string) (commerce.Product, error) {
	p, err := scanProduct(s.read(ctx).QueryRowContext(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = ?`, id))
	if err != nil {
		return commerce.Product{}, noRow(err, "product %s", id)
	}
	return p, nil
}

// ProductByRetailerID returns a product by its catalog and retailer_id.
func (s *Store) ProductByRetailerID(ctx context.Context, catalogID, retailerID string) (commerce.Product, error) {
	p, err := scanProduct(s.read(ctx).QueryRowContext(ctx,
		`SELECT `+productColumns+` FROM products p WHERE p.catalog_id = ? AND p.retailer_id = ?`, catalogID, retailerID))
	if err != nil {
		return commerce.Product{}, noRow(err, "product %q in catalog %s", retailerID, catalogID)
	}
	return p, nil
}

func (s *Store) queryProducts(ctx context.Context, query string, args ...any) ([]commerce.Product, error) {
	rows, err := s.read(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Products lists a catalog's products by retailer_id after the given one.
func (s *Store) Products(ctx context.Context, catalogID, afterRetailerID string, limit int) ([]commerce.Product, error) {
	return s.queryProducts(ctx, `SELECT `+productColumns+` FROM products p
		WHERE p.catalog_id = ? AND p.retailer_id > ? ORDER BY p.retailer_id LIMIT ?`, catalogID, afterRetailerID, limit)
}

// CountProducts counts a catalog's products.
func (s *Store) CountProducts(ctx context.Context, catalogID string) (int, error) {
	var n int
	err := s.read(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE catalog_id = ?`, catalogID).Scan(&n)
	return n, err
}

// SearchProducts returns products of the catalog whose search key holds,
// for every group, one of the group's strings.
func (s *Store) SearchProducts(ctx context.Context, catalogID string, terms [][]string, limit int) ([]commerce.Product, error) {
	var (
		where strings.Builder
		args  = []any{catalogID}
	)
	where.WriteString(`p.catalog_id = ?`)
	for _, g := range terms {
		if len(g) == 0 {
			continue
		}
		where.WriteString(` AND (`)
		for i, t := range g {
			if i > 0 {
				where.WriteString(` OR `)
			}
			// instr, not LIKE: the key is folded already, and the terms
			// may hold % and _.
			where.WriteString(`instr(p.search_key, ?) > 0`)
			args = append(args, t)
		}
		where.WriteString(`)`)
	}
	if len(args) > 200 {
		return nil, fmt.Errorf("%w: search query has too many words", commerce.ErrInvalid)
	}
	args = append(args, limit)
	return s.queryProducts(ctx, `SELECT `+productColumns+` FROM products p WHERE `+where.String()+
		` ORDER BY p.retailer_id LIMIT ?`, args...)
}

// DeleteProduct deletes a product and the reservations of it.
func (s *Store) DeleteProduct(ctx context.Context, id string) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM products WHERE id = ?`, id)
		return one(res, err, "product %s", id)
	})
}
