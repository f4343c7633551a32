package sqldb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestStmtCache: a query run a few times is prepared once and reused; a
// transaction on SQLite's one writer connection never waits for the pool
// to prepare (it would wait for itself); the cache stays bounded.
func TestStmtCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, r, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"), SQLiteOptions{Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	cache := NewStmtCache(w)
	defer cache.Close()
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`

	// In a transaction holding the only connection: unprepared runs, and
	// the statement is prepared in the background once the pool is free.
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := Cached{Q: tx, Tx: tx, Cache: cache}
	for k := range 5 {
		if _, err := q.ExecContext(ctx, ins, k, "tx"); err != nil {
			t.Fatalf("insert %d in a transaction: %v", k, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for cache.lookup(ins) == nil {
		if ctx.Err() != nil {
			t.Fatal("the statement run in a transaction was never prepared")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Outside a transaction, and in a later one: the cached statement.
	q = Cached{Q: w, Cache: cache}
	for k := 5; k < 10; k++ {
		if _, err := q.ExecContext(ctx, ins, k, "pool"); err != nil {
			t.Fatal(err)
		}
	}
	tx, err = w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	q = Cached{Q: tx, Tx: tx, Cache: cache}
	if _, err := q.ExecContext(ctx, ins, 10, "tx again"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := (Cached{Q: w, Cache: cache}).QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 11 {
		t.Fatalf("%d rows (%v), want 11", n, err)
	}

	// A query run once is not prepared; many different ones stay bounded.
	for i := range maxCachedStmts + 100 {
		sel := fmt.Sprintf(`SELECT v FROM t WHERE k = ? AND %d = %d`, i, i)
		for range prepareAfter {
			var v string
			if err := (Cached{Q: w, Cache: cache}).QueryRowContext(ctx, sel, 1).Scan(&v); err != nil || v != "tx" {
				t.Fatalf("%q: %q, %v", sel, v, err)
			}
		}
	}
	cache.mu.RLock()
	held := len(cache.stmts)
	cache.mu.RUnlock()
	if held > maxCachedStmts {
		t.Fatalf("%d statements cached, bound %d", held, maxCachedStmts)
	}
	if _, err := (Cached{Q: w, Cache: cache}).ExecContext(ctx, `DELETE FROM t WHERE k = ?`, 0); err != nil {
		t.Fatal(err)
	}
	if cache.lookup(`DELETE FROM t WHERE k = ?`) != nil {
		t.Error("a query run once was prepared")
	}
}
