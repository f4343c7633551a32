package bizstore

import (
	"context"

	"github.com/parley-im/parley/internal/business/commerce"
)

// InsertFAQ stores a new FAQ entry and returns its id.
func (s *Store) InsertFAQ(ctx context.Context, f commerce.FAQ) (int64, error) {
	if err := checkList("keywords", f.Keywords); err != nil {
		return 0, err
	}
	var id int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO faqs (question, answer, language, keywords, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, f.Question, f.Answer, f.Language, joinList(f.Keywords), ms(f.CreatedAt), ms(f.UpdatedAt))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// UpdateFAQ replaces an entry's question, answer, language and keywords.
func (s *Store) UpdateFAQ(ctx context.Context, f commerce.FAQ) error {
	if err := checkList("keywords", f.Keywords); err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE faqs SET question = ?, answer = ?, language = ?, keywords = ?, updated_at = ?
			WHERE id = ?`, f.Question, f.Answer, f.Language, joinList(f.Keywords), ms(f.UpdatedAt), f.ID)
		return one(res, err, "FAQ entry %d", f.ID)
	})
}

// DeleteFAQ deletes an entry.
func (s *Store) DeleteFAQ(ctx context.Context, id int64) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM faqs WHERE id = ?`, id)
		return one(res, err, "FAQ entry %d", id)
	})
}

func scanFAQ(sc scanner) (commerce.FAQ, error) {
	var (
		f                commerce.FAQ
		keywords         string
		created, updated int64
	)
	if err := sc.Scan(&f.ID, &f.Question, &f.Answer, &f.Language, &keywords, &created, &updated); err != nil {
		return commerce.FAQ{}, err
	}
	f.Keywords, f.CreatedAt, f.UpdatedAt = splitList(keywords), fromMS(created), fromMS(updated)
	return f, nil
}

// FAQ returns one entry.
func (s *Store) FAQ(ctx context.Context, id int64) (commerce.FAQ, error) {
	f, err := scanFAQ(s.read(ctx).QueryRowContext(ctx,
		`SELECT id, question, answer, language, keywords, created_at, updated_at FROM faqs WHERE id = ?`, id))
	if err != nil {
		return commerce.FAQ{}, noRow(err, "FAQ entry %d", id)
	}
	return f, nil
}

// FAQs lists every entry by id.
func (s *Store) FAQs(ctx context.Context) ([]commerce.FAQ, error) {
	rows, err := s.read(ctx).QueryContext(ctx,
		`SELECT id, question, answer, language, keywords, created_at, updated_at FROM faqs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.FAQ
	for rows.Next() {
		f, err := scanFAQ(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
