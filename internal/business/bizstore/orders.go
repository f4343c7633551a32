package bizstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/business/commerce"
)

// InsertOrder stores a new order with its items.
func (s *Store) InsertOrder(ctx context.Context, o commerce.Order) error {
	return s.write(ctx, func(q querier) error {
		c := o.Charges
		res, err := q.ExecContext(ctx, `INSERT INTO orders (reference_id, catalog_id, customer, source_message_id, note,
			status, payment, stock, description, cancel_reason, payment_transaction_id, currency, subtotal, tax,
			tax_description, shipping, shipping_description, discount, discount_description, discount_program, total,
			expires_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ReferenceID, o.CatalogID, o.Customer, o.SourceMessageID, o.Note, string(o.Status), string(o.Payment),
			string(o.Stock), o.Description, o.CancelReason, o.PaymentTransactionID, string(o.Currency), o.Subtotal,
			c.Tax.Amount, c.Tax.Description, c.Shipping.Amount, c.Shipping.Description, c.Discount.Amount,
			c.Discount.Description, c.DiscountProgram, o.Total, ms(o.ExpiresAt), ms(o.CreatedAt), ms(o.UpdatedAt))
		if isUnique(err) {
			return exists("order %s or one from message %q", o.ReferenceID, o.SourceMessageID)
		}
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i, it := range o.Items {
			var product any
			if it.ProductID != "" {
				product = it.ProductID
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO order_items (order_id, position, product_id, retailer_id, name,
				quantity, price, sale_price, seen_price, reserved) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, i, product, it.RetailerID, it.Name, it.Quantity, it.Price, it.SalePrice, it.SeenPrice, it.Reserved); err != nil {
				return err
			}
		}
		return nil
	})
}

const orderColumns = `id, reference_id, catalog_id, customer, source_message_id, note, status, payment, stock,
	description, cancel_reason, payment_transaction_id, currency, subtotal, tax, tax_description, shipping,
	shipping_description, discount, discount_description, discount_program, total, expires_at, created_at, updated_at`

// scanOrder reads an order row, without its items; it returns the row id.
func scanOrder(sc scanner) (int64, commerce.Order, error) {
	var (
		id                          int64
		o                           commerce.Order
		status, payment, stock, cur string
		expires, created, updated   int64
	)
	c := &o.Charges
	err := sc.Scan(&id, &o.ReferenceID, &o.CatalogID, &o.Customer, &o.SourceMessageID, &o.Note, &status, &payment,
		&stock, &o.Description, &o.CancelReason, &o.PaymentTransactionID, &cur, &o.Subtotal, &c.Tax.Amount,
		&c.Tax.Description, &c.Shipping.Amount, &c.Shipping.Description, &c.Discount.Amount, &c.Discount.Description,
		&c.DiscountProgram, &o.Total, &expires, &created, &updated)
	if err != nil {
		return 0, commerce.Order{}, err
	}
	o.Status, o.Payment, o.Stock = commerce.OrderStatus(status), commerce.PaymentStatus(payment), commerce.StockState(stock)
	o.Currency = commerce.Currency(cur)
	o.ExpiresAt, o.CreatedAt, o.UpdatedAt = fromMS(expires), fromMS(created), fromMS(updated)
	return id, o, nil
}

func items(ctx context.Context, q querier, orderID int64) ([]commerce.OrderItem, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_id, retailer_id, name, quantity, price, sale_price, seen_price, reserved
		FROM order_items WHERE order_id = ? ORDER BY position`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.OrderItem
	for rows.Next() {
		var (
			it      commerce.OrderItem
			product sql.NullString
			sale    sql.NullInt64
		)
		if err := rows.Scan(&product, &it.RetailerID, &it.Name, &it.Quantity, &it.Price, &sale, &it.SeenPrice, &it.Reserved); err != nil {
			return nil, err
		}
		it.ProductID = product.String
		if sale.Valid {
			it.SalePrice = &sale.Int64
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// orderWhere reads one order, with its items, on one snapshot.
func (s *Store) orderWhere(ctx context.Context, cond string, arg any, what string) (commerce.Order, error) {
	var o commerce.Order
	err := s.readTx(ctx, func(q querier) error {
		id, ord, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+cond, arg))
		if err != nil {
			return noRow(err, "%s", what)
		}
		if ord.Items, err = items(ctx, q, id); err != nil {
			return err
		}
		o = ord
		return nil
	})
	return o, err
}

// Order returns an order by its reference.
func (s *Store) Order(ctx context.Context, referenceID string) (commerce.Order, error) {
	return s.orderWhere(ctx, `reference_id = ?`, referenceID, fmt.Sprintf("order %s", referenceID))
}

// OrderBySourceMessage returns the order placed from a message.
func (s *Store) OrderBySourceMessage(ctx context.Context, messageID string) (commerce.Order, error) {
	if messageID == "" {
		return commerce.Order{}, notFound("order from an empty message id")
	}
	return s.orderWhere(ctx, `source_message_id = ?`, messageID, "order from that message")
}

// CustomerOrders lists a customer's orders, newest first.
func (s *Store) CustomerOrders(ctx context.Context, customer string, limit int) ([]commerce.Order, error) {
	var out []commerce.Order
	err := s.readTx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE customer = ? ORDER BY id DESC LIMIT ?`, customer, limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			id, o, err := scanOrder(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			out = append(out, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, id := range ids {
			if out[i].Items, err = items(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// UpdateOrder stores the fields of an order that change over its life.
func (s *Store) UpdateOrder(ctx context.Context, o commerce.Order) error {
	return s.write(ctx, func(q querier) error {
		c := o.Charges
		res, err := q.ExecContext(ctx, `UPDATE orders SET status = ?, payment = ?, stock = ?, description = ?,
			cancel_reason = ?, payment_transaction_id = ?, subtotal = ?, tax = ?, tax_description = ?, shipping = ?,
			shipping_description = ?, discount = ?, discount_description = ?, discount_program = ?, total = ?,
			expires_at = ?, updated_at = ? WHERE reference_id = ?`,
			string(o.Status), string(o.Payment), string(o.Stock), o.Description, o.CancelReason, o.PaymentTransactionID,
			o.Subtotal, c.Tax.Amount, c.Tax.Description, c.Shipping.Amount, c.Shipping.Description, c.Discount.Amount,
			c.Discount.Description, c.DiscountProgram, o.Total, ms(o.ExpiresAt), ms(o.UpdatedAt), o.ReferenceID)
		return one(res, err, "order %s", o.ReferenceID)
	})
}

// DueOrders lists pending, unpaid orders that expire at or before now.
func (s *Store) DueOrders(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT reference_id FROM orders
		WHERE status = 'pending' AND payment IN ('none', 'failed') AND expires_at <= ?
		ORDER BY expires_at, id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, rows.Err()
}

// Reserve holds qty of a product for an order if that many are free. The
// check and the insert are one statement, so even outside a commerce
// transaction two reservations cannot both take the last items.
func (s *Store) Reserve(ctx context.Context, referenceID, productID string, qty int64) error {
	if qty <= 0 {
		return fmt.Errorf("%w: reserve %d items", commerce.ErrInvalid, qty)
	}
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO reservations (order_id, product_id, quantity)
			SELECT o.id, p.id, ?1 FROM orders o, products p
			WHERE o.reference_id = ?2 AND p.id = ?3 AND (p.inventory IS NULL OR p.inventory -
				COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.product_id = p.id), 0) >= ?1)`,
			qty, referenceID, productID)
		if isUnique(err) {
			return exists("reservation of product %s for order %s", productID, referenceID)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var found int
		err = q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM orders WHERE reference_id = ?) +
			2 * (SELECT COUNT(*) FROM products WHERE id = ?)`, referenceID, productID).Scan(&found)
		switch {
		case err != nil:
			return err
		case found&1 == 0:
			return notFound("order %s", referenceID)
		case found&2 == 0:
			return notFound("product %s", productID)
		}
		return fmt.Errorf("%w: product %s", commerce.ErrInsufficientStock, productID)
	})
}

// ReleaseReservations drops an order's reservations.
func (s *Store) ReleaseReservations(ctx context.Context, referenceID string) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM reservations WHERE order_id = (SELECT id FROM orders WHERE reference_id = ?)`, referenceID)
		return err
	})
}

// CommitReservations takes an order's reserved quantities out of the
// tracked inventories (stopping at zero) and drops the reservations.
func (s *Store) CommitReservations(ctx context.Context, referenceID string) error {
	return s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE products SET inventory = MAX(inventory - (
				SELECT r.quantity FROM reservations r JOIN orders o ON o.id = r.order_id
				WHERE o.reference_id = ?1 AND r.product_id = products.id), 0)
			WHERE inventory IS NOT NULL AND id IN (SELECT r.product_id FROM reservations r JOIN orders o ON o.id = r.order_id
				WHERE o.reference_id = ?1)`, referenceID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM reservations WHERE order_id = (SELECT id FROM orders WHERE reference_id = ?)`, referenceID)
		return err
	})
}

// TakeStock takes qty out of a tracked inventory, stopping at zero.
func (s *Store) TakeStock(ctx context.Context, productID string, qty int64) error {
	if qty < 0 {
		return fmt.Errorf("%w: take %d items", commerce.ErrInvalid, qty)
	}
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE products SET inventory = CASE WHEN inventory IS NULL THEN NULL
			ELSE MAX(inventory - ?, 0) END WHERE id = ?`, qty, productID)
		return one(res, err, "product %s", productID)
	})
}
