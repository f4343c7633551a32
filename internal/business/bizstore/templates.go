package bizstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parley-im/parley/internal/business/cloudapi"
)

const templateColumns = `id, waba_id, name, language, category, status, parameter_format, components, rejected_reason, created_at`

func scanTemplate(sc scanner) (cloudapi.Template, error) {
	var (
		t          cloudapi.Template
		components string
		created    int64
	)
	if err := sc.Scan(&t.ID, &t.WABAID, &t.Name, &t.Language, &t.Category, &t.Status, &t.ParameterFormat,
		&components, &t.RejectedReason, &created); err != nil {
		return cloudapi.Template{}, err
	}
	t.Components, t.Created = json.RawMessage(components), fromMS(created)
	return t, nil
}

// CreateTemplate implements cloudapi.TemplateStore.
func (s *Store) CreateTemplate(ctx context.Context, t cloudapi.Template) error {
	if t.ID == "" {
		return fmt.Errorf("bizstore: template without an id")
	}
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO templates (`+templateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.WABAID, t.Name, t.Language, t.Category, t.Status, t.ParameterFormat, string(t.Components),
			t.RejectedReason, ms(t.Created))
		if isUnique(err) {
			return exists("template %s (%s)", t.Name, t.Language)
		}
		return err
	})
}

// Templates implements cloudapi.TemplateStore: a business's templates,
// oldest first.
func (s *Store) Templates(ctx context.Context, wabaID string) ([]cloudapi.Template, error) {
	rows, err := s.read(ctx).QueryContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE waba_id = ?
		ORDER BY created_at, rowid`, wabaID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cloudapi.Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Template implements cloudapi.TemplateStore.
func (s *Store) Template(ctx context.Context, id string) (cloudapi.Template, error) {
	t, err := scanTemplate(s.read(ctx).QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = ?`, id))
	if err != nil {
		return cloudapi.Template{}, noRow(err, "template %s", id)
	}
	return t, nil
}

// SetTemplateStatus changes a template's status (APPROVED, PAUSED,
// DISABLED, ...) and the reason shown for a rejection.
func (s *Store) SetTemplateStatus(ctx context.Context, id, status, reason string) error {
	return s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE templates SET status = ?, rejected_reason = ? WHERE id = ?`, status, reason, id)
		return one(res, err, "template %s", id)
	})
}

// DeleteTemplate implements cloudapi.TemplateStore; deleting a template
// that is not there is not an error.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id)
		return err
	})
}
