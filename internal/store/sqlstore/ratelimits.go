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
	nowMS := now.UnixMilli()
	var events, windowEnd int64
	err := s.writer().queryRow(ctx, `INSERT INTO rate_limits (rate_key, window_end, events) VALUES (?, ?, 1)
		ON CONFLICT (rate_key) DO UPDATE SET
			events = CASE WHEN rate_limits.window_end <= ? THEN 1 ELSE rate_limits.events + 1 END,
			window_end = CASE WHEN rate_limits.window_end <= ? THEN excluded.window_end ELSE rate_limits.window_end END
		RETURNING events, window_end`,
		key, now.Add(window).UnixMilli(), nowMS, nowMS).Scan(&events, &windowEnd)
	if err != nil {
		// The key may hold a phone number or an address: it stays out.
		return false, 0, fmt.Errorf("sqlstore: rate limit: %w", err)
	}
	if events <= int64(limit) {
		return true, 0, nil
	}
	return false, time.Duration(max(windowEnd-nowMS, 0)) * time.Millisecond, nil
}
