package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLiteQueue is a Queue in its own SQLite database, so that a restart
// loses no event. The business agent uses the queue of its business
// database instead (bizstore's WebhookQueue: the same two tables, created
// by that store's migration 003, written in the transaction of the change
// an event reports); this one serves a sender without that database. A
// file whose queue this type created can be opened by bizstore: its
// migration keeps the tables and their events.
type SQLiteQueue struct {
	db *sql.DB
}

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS webhook_events (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	customer     TEXT NOT NULL,
	body         BLOB NOT NULL,
	enqueued     INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_events_customer ON webhook_events (customer, seq);
CREATE TABLE IF NOT EXISTS webhook_removed (
	id      TEXT PRIMARY KEY,
	removed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_removed_at ON webhook_removed (removed);
`

// OpenSQLiteQueue opens (creating if needed) the queue in the SQLite file
// at path.
func OpenSQLiteQueue(path string) (*SQLiteQueue, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	q, err := NewSQLiteQueue(context.Background(), db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return q, nil
}

// NewSQLiteQueue uses db, an open SQLite database (for example the agent's
// own), creating the queue's tables if they are missing.
func NewSQLiteQueue(ctx context.Context, db *sql.DB) (*SQLiteQueue, error) {
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		return nil, fmt.Errorf("webhook: create queue tables: %w", err)
	}
	return &SQLiteQueue{db: db}, nil
}

// Close closes the database.
func (q *SQLiteQueue) Close() error { return q.db.Close() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func (q *SQLiteQueue) Add(ctx context.Context, ev Event, now time.Time) (bool, error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM webhook_removed WHERE id = ?`, ev.ID).Scan(&one)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (id, customer, body, enqueued, next_attempt)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Customer, ev.Body, ms(now), ms(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, tx.Commit()
}

// heads selects each customer's oldest event.
const heads = `SELECT e.seq, e.id, e.customer, e.body, e.enqueued, e.attempts, e.next_attempt
	FROM webhook_events e JOIN (SELECT MIN(seq) AS seq FROM webhook_events GROUP BY customer) h ON e.seq = h.seq`

func (q *SQLiteQueue) Claim(ctx context.Context, now time.Time, limit int, leaseUntil time.Time) ([]Queued, error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, heads+` WHERE e.next_attempt <= ? ORDER BY e.next_attempt, e.seq LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, err
	}
	var out []Queued
	for rows.Next() {
		var e Queued
		var enq, next int64
		if err := rows.Scan(&e.Seq, &e.ID, &e.Customer, &e.Body, &enq, &e.Attempts, &next); err != nil {
			rows.Close()
			return nil, err
		}
		e.Enqueued, e.NextAttempt = time.UnixMilli(enq), time.UnixMilli(next)
		out = append(out, e)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, e := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_events SET next_attempt = ? WHERE seq = ?`, ms(leaseUntil), e.Seq); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

func (q *SQLiteQueue) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := q.db.QueryRowContext(ctx, `SELECT MIN(e.next_attempt) FROM (`+heads+`) e`).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(next.Int64), true, nil
}

func (q *SQLiteQueue) Retry(ctx context.Context, id string, attempts int, next time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE webhook_events SET attempts = ?, next_attempt = ? WHERE id = ?`, attempts, ms(next), id)
	return err
}

func (q *SQLiteQueue) Remove(ctx context.Context, id string, now time.Time) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_events WHERE id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_removed (id, removed) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET removed = excluded.removed`, id, ms(now)); err != nil {
		return err
	}
	return tx.Commit()
}

func (q *SQLiteQueue) Forget(ctx context.Context, before time.Time) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM webhook_removed WHERE removed < ?`, ms(before))
	return err
}
