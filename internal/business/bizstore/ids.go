package bizstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
)

// Graph object ids are random decimal strings of 15 or 16 digits, like
// Meta's: at least 10^14, below 10^16.
var (
	idLow  = big.NewInt(100_000_000_000_000)
	idSpan = new(big.Int).Sub(big.NewInt(10_000_000_000_000_000), idLow)
)

func randomObjectID() string {
	n, err := rand.Int(rand.Reader, idSpan)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, idLow).String()
}

// NewObjectID hands out a Graph object id that no object of any kind has
// had, recording kind for it.
func (s *Store) NewObjectID(ctx context.Context, kind string) (string, error) {
	if kind == "" {
		return "", fmt.Errorf("bizstore: object id without a kind")
	}
	var id string
	err := s.write(ctx, func(q querier) error {
		for attempt := 0; ; attempt++ {
			id = randomObjectID()
			_, err := q.ExecContext(ctx, `INSERT INTO object_ids (id, kind, created_at) VALUES (?, ?, ?)`,
				id, kind, time.Now().UnixMilli())
			if err == nil || !isUnique(err) || attempt == 4 {
				return err
			}
		}
	})
	if err != nil {
		return "", fmt.Errorf("bizstore: new object id: %w", err)
	}
	return id, nil
}

// ObjectKind says what kind of object an id was handed out for (a router
// serving /{object-id} asks it); ErrNotFound if none.
func (s *Store) ObjectKind(ctx context.Context, id string) (string, error) {
	var kind string
	err := s.read(ctx).QueryRowContext(ctx, `SELECT kind FROM object_ids WHERE id = ?`, id).Scan(&kind)
	if err != nil {
		return "", noRow(err, "object %s", id)
	}
	return kind, nil
}
