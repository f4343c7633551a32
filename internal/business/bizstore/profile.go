package bizstore

import (
	"context"
	"time"

	"github.com/parley-im/parley/internal/business/commerce"
)

// Profile returns the business profile; not found until it is first set.
func (s *Store) Profile(ctx context.Context) (commerce.Profile, error) {
	var (
		p                  commerce.Profile
		websites, vertical string
		verified           bool
		updated            int64
	)
	err := s.read(ctx).QueryRowContext(ctx, `SELECT name, about, address, description, email, websites, vertical,
		profile_picture_handle, profile_picture_url, verified, updated_at FROM business_profile WHERE id = 1`).Scan(
		&p.Name, &p.About, &p.Address, &p.Description, &p.Email, &websites, &vertical, &p.ProfilePictureHandle,
		&p.ProfilePictureURL, &verified, &updated)
	if err != nil {
		return commerce.Profile{}, noRow(err, "business profile")
	}
	p.Websites, p.Vertical, p.Verified, p.UpdatedAt = splitList(websites), commerce.Vertical(vertical), verified, fromMS(updated)
	return p, nil
}

// PutProfile stores the business profile.
func (s *Store) PutProfile(ctx context.Context, p commerce.Profile) error {
	if err := checkList("websites", p.Websites); err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO business_profile (id, name, about, address, description, email,
			websites, vertical, profile_picture_handle, profile_picture_url, verified, updated_at)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, about = excluded.about, address = excluded.address,
				description = excluded.description, email = excluded.email, websites = excluded.websites,
				vertical = excluded.vertical, profile_picture_handle = excluded.profile_picture_handle,
				profile_picture_url = excluded.profile_picture_url, verified = excluded.verified,
				updated_at = excluded.updated_at`,
			p.Name, p.About, p.Address, p.Description, p.Email, joinList(p.Websites), string(p.Vertical),
			p.ProfilePictureHandle, p.ProfilePictureURL, p.Verified, ms(p.UpdatedAt))
		return err
	})
}

// Hours returns the opening hours; not found until they are first set.
func (s *Store) Hours(ctx context.Context) (commerce.Hours, error) {
	var h commerce.Hours
	err := s.readTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT time_zone FROM business_hours WHERE id = 1`).Scan(&h.TimeZone); err != nil {
			return noRow(err, "opening hours")
		}
		rows, err := q.QueryContext(ctx, `SELECT weekday, opens, closes FROM weekly_hours ORDER BY weekday, opens`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var w commerce.WeeklyRange
			if err := rows.Scan(&w.Day, &w.Open, &w.Close); err != nil {
				rows.Close()
				return err
			}
			h.Weekly = append(h.Weekly, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.QueryContext(ctx, `SELECT d.day, d.closed, d.note, h.opens, h.closes
			FROM special_days d LEFT JOIN special_hours h ON h.day = d.day ORDER BY d.day, h.opens`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				day, note     string
				closed        bool
				opens, closes *int64
			)
			if err := rows.Scan(&day, &closed, &note, &opens, &closes); err != nil {
				return err
			}
			date, err := commerce.ParseDate(day)
			if err != nil {
				return err
			}
			if n := len(h.Special); n == 0 || h.Special[n-1].Date != date {
				h.Special = append(h.Special, commerce.SpecialDay{Date: date, Closed: closed, Note: note})
			}
			if opens != nil && closes != nil {
				sd := &h.Special[len(h.Special)-1]
				sd.Ranges = append(sd.Ranges, commerce.Range{Open: commerce.TimeOfDay(*opens), Close: commerce.TimeOfDay(*closes)})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return commerce.Hours{}, err
	}
	return h, nil
}

// PutHours replaces the opening hours.
func (s *Store) PutHours(ctx context.Context, h commerce.Hours) error {
	return s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO business_hours (id, time_zone, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET time_zone = excluded.time_zone, updated_at = excluded.updated_at`,
			h.TimeZone, time.Now().UnixMilli()); err != nil {
			return err
		}
		for _, stmt := range []string{`DELETE FROM weekly_hours`, `DELETE FROM special_days`} {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		for _, w := range h.Weekly {
			if _, err := q.ExecContext(ctx, `INSERT INTO weekly_hours (weekday, opens, closes) VALUES (?, ?, ?)`,
				int(w.Day), int(w.Open), int(w.Close)); err != nil {
				return err
			}
		}
		for _, sd := range h.Special {
			if _, err := q.ExecContext(ctx, `INSERT INTO special_days (day, closed, note) VALUES (?, ?, ?)`,
				sd.Date.String(), sd.Closed, sd.Note); err != nil {
				return err
			}
			for _, r := range sd.Ranges {
				if _, err := q.ExecContext(ctx, `INSERT INTO special_hours (day, opens, closes) VALUES (?, ?, ?)`,
					sd.Date.String(), int(r.Open), int(r.Close)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
