package bizstore

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

// Object kinds for NewObjectID, beside commerce's catalog and product.
const (
	KindBusiness    = "waba"
	KindPhoneNumber = "phone_number"
	KindMedia       = "media"
	KindTemplate    = "template"
)

// PutBusiness adds or replaces a business (a WABA) and the given numbers of
// it, in one transaction, as cloudapi.MemDirectory.Add does. The business's
// PhoneNumberIDs are not stored: they are the numbers stored with it, in
// the order they were first added. CatalogIDs replaces the catalogs
// connected to it; each must exist (ErrNotFound otherwise).
func (s *Store) PutBusiness(ctx context.Context, b cloudapi.Business, numbers ...cloudapi.PhoneNumber) error {
	if b.ID == "" {
		return fmt.Errorf("bizstore: business without an id")
	}
	if b.Tier < 0 {
		return fmt.Errorf("bizstore: business %s: negative tier", b.ID)
	}
	now := time.Now().UnixMilli()
	return s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO businesses (id, name, currency, time_zone, tier, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, currency = excluded.currency,
				time_zone = excluded.time_zone, tier = excluded.tier, updated_at = excluded.updated_at`,
			b.ID, b.Name, b.Currency, b.TimezoneID, int(b.Tier), now, now); err != nil {
			return err
		}
		for _, n := range numbers {
			if n.ID == "" {
				return fmt.Errorf("bizstore: phone number without an id")
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO phone_numbers (id, waba_id, display_phone_number, wa_id,
				verified_name, quality_rating, throughput, cart_enabled, catalog_visible, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET waba_id = excluded.waba_id,
					display_phone_number = excluded.display_phone_number, wa_id = excluded.wa_id,
					verified_name = excluded.verified_name, quality_rating = excluded.quality_rating,
					throughput = excluded.throughput, cart_enabled = excluded.cart_enabled,
					catalog_visible = excluded.catalog_visible`,
				n.ID, b.ID, n.DisplayPhoneNumber, n.WaID, n.VerifiedName, n.QualityRating, n.Throughput,
				n.Commerce.CartEnabled, n.Commerce.CatalogVisible, now); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM business_catalogs WHERE waba_id = ?`, b.ID); err != nil {
			return err
		}
		for i, c := range b.CatalogIDs {
			var one int
			if err := q.QueryRowContext(ctx, `SELECT 1 FROM catalogs WHERE id = ?`, c).Scan(&one); err != nil {
				return noRow(err, "catalog %s", c)
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO business_catalogs (waba_id, catalog_id, position) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, b.ID, c, i); err != nil {
				return err
			}
		}
		return nil
	})
}

// ConnectCatalog connects one more catalog to a business (a no-op if it
// is connected).
func (s *Store) ConnectCatalog(ctx context.Context, wabaID, catalogID string) error {
	return s.write(ctx, func(q querier) error {
		var one int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM businesses WHERE id = ?`, wabaID).Scan(&one); err != nil {
			return noRow(err, "business %s", wabaID)
		}
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM catalogs WHERE id = ?`, catalogID).Scan(&one); err != nil {
			return noRow(err, "catalog %s", catalogID)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO business_catalogs (waba_id, catalog_id, position)
			VALUES (?, ?, (SELECT COALESCE(MAX(position), -1) + 1 FROM business_catalogs WHERE waba_id = ?))
			ON CONFLICT DO NOTHING`, wabaID, catalogID, wabaID)
		return err
	})
}

// SetTier changes a business's messaging limit.
func (s *Store) SetTier(ctx context.Context, wabaID string, t cloudapi.Tier) error {
	if t < 0 {
		return fmt.Errorf("bizstore: negative tier")
	}
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE businesses SET tier = ?, updated_at = ? WHERE id = ?`,
			int(t), time.Now().UnixMilli(), wabaID)
		return one(res, err, "business %s", wabaID)
	})
}

// Businesses lists the businesses, oldest first.
func (s *Store) Businesses(ctx context.Context) ([]cloudapi.Business, error) {
	var out []cloudapi.Business
	err := s.readTx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id FROM businesses ORDER BY rowid`)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			b, err := business(ctx, q, id)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// Business implements cloudapi.Directory.
func (s *Store) Business(ctx context.Context, wabaID string) (cloudapi.Business, error) {
	var b cloudapi.Business
	err := s.readTx(ctx, func(q querier) error {
		var err error
		b, err = business(ctx, q, wabaID)
		return err
	})
	return b, err
}

func business(ctx context.Context, q querier, id string) (cloudapi.Business, error) {
	var (
		b    cloudapi.Business
		tier int
	)
	err := q.QueryRowContext(ctx, `SELECT id, name, currency, time_zone, tier FROM businesses WHERE id = ?`, id).Scan(
		&b.ID, &b.Name, &b.Currency, &b.TimezoneID, &tier)
	if err != nil {
		return cloudapi.Business{}, noRow(err, "business %s", id)
	}
	b.Tier = cloudapi.Tier(tier)
	if b.PhoneNumberIDs, err = textColumn(ctx, q, `SELECT id FROM phone_numbers WHERE waba_id = ? ORDER BY rowid`, id); err != nil {
		return cloudapi.Business{}, err
	}
	if b.CatalogIDs, err = textColumn(ctx, q, `SELECT catalog_id FROM business_catalogs WHERE waba_id = ? ORDER BY position, catalog_id`, id); err != nil {
		return cloudapi.Business{}, err
	}
	return b, nil
}

// textColumn runs a query of one text column.
func textColumn(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PhoneNumber implements cloudapi.Directory.
func (s *Store) PhoneNumber(ctx context.Context, id string) (cloudapi.PhoneNumber, error) {
	var n cloudapi.PhoneNumber
	err := s.read(ctx).QueryRowContext(ctx, `SELECT id, waba_id, display_phone_number, wa_id, verified_name,
		quality_rating, throughput, cart_enabled, catalog_visible FROM phone_numbers WHERE id = ?`, id).Scan(
		&n.ID, &n.WABAID, &n.DisplayPhoneNumber, &n.WaID, &n.VerifiedName, &n.QualityRating, &n.Throughput,
		&n.Commerce.CartEnabled, &n.Commerce.CatalogVisible)
	if err != nil {
		return cloudapi.PhoneNumber{}, noRow(err, "phone number %s", id)
	}
	return n, nil
}

// SetCommerceSettings implements cloudapi.Directory.
func (s *Store) SetCommerceSettings(ctx context.Context, id string, cs cloudapi.CommerceSettings) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE phone_numbers SET cart_enabled = ?, catalog_visible = ? WHERE id = ?`,
			cs.CartEnabled, cs.CatalogVisible, id)
		return one(res, err, "phone number %s", id)
	})
}
