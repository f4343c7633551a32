package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Allow counts one event for key in a fixed window that starts with the
// first event after the previous window ended. The counter lives in the
// database, so every node sees the same count, and the upsert increments it
// atomically.
func (s *Store) Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	return s.AllowN(ctx, key, 1, limit, window, now)
}

// AllowN counts n events for key at once, as Allow counts one.
func (s *Store) AllowN(ctx context.Context, key string, n, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	if n < 1 {
		return false, 0, fmt.Errorf("sqlstore: rate limit: count %d is not positive", n)
	}
	nowMS := now.UnixMilli()
	var events, windowEnd int64
	err := s.writer().queryRow(ctx, `INSERT INTO rate_limits (rate_key, window_end, events) VALUES (?, ?, ?)
		ON CONFLICT (rate_key) DO UPDATE SET
			events = CASE WHEN rate_limits.window_end <= ? THEN excluded.events ELSE rate_limits.events + excluded.events END,
			window_end = CASE WHEN rate_limits.window_end <= ? THEN excluded.window_end ELSE rate_limits.window_end END
		RETURNING events, window_end`,
		key, now.Add(window).UnixMilli(), n, nowMS, nowMS).Scan(&events, &windowEnd)
	if err != nil {
		// The key may hold a phone number or an address: it stays out.
		return false, 0, fmt.Errorf("sqlstore: rate limit: %w", err)
	}
	if events <= int64(limit) {
		return true, 0, nil
	}
	return false, time.Duration(max(windowEnd-nowMS, 0)) * time.Millisecond, nil
}
