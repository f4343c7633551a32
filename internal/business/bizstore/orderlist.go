package bizstore

import (
	"context"

	"github.com/parley-im/parley/internal/business/commerce"
)

// RecentOrders lists the newest orders of every customer, newest first, at
// most limit: the business's order book, as `parley business orders`
// shows it.
func (s *Store) RecentOrders(ctx context.Context, limit int) ([]commerce.Order, error) {
	var refs []string
	err := s.readTx(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT reference_id FROM orders ORDER BY id DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				return err
			}
			refs = append(refs, ref)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]commerce.Order, 0, len(refs))
	for _, ref := range refs {
		o, err := s.Order(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
