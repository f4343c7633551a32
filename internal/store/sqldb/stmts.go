package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds a StmtCache: queries built with a variable number
// of placeholders (batches) each make a statement of their own, and past
// this many the rest are prepared per call.
const maxCachedStmts = 512

// A query is prepared once it has been run prepareAfter times: those built
// for one batch size may never come again, and preparing costs more than
// one unprepared run. seen counts at most maxSeen queries, then starts over.
const (
	prepareAfter = 3
	maxSeen      = 4096
)

// StmtCache keeps one prepared statement per query text for one pool.
// SQLite (modernc) otherwise parses and plans every statement on every
// call, which was a third of a node's CPU under load; PostgreSQL's driver
// (pgx) caches statements by itself and needs none.
type StmtCache struct {
	pool *sql.DB

	mu        sync.RWMutex
	stmts     map[string]*sql.Stmt
	preparing map[string]bool
	seen      map[string]uint8 // runs of queries not prepared yet
	closed    bool
}

// NewStmtCache returns a cache of statements prepared on pool.
func NewStmtCache(pool *sql.DB) *StmtCache {
	return &StmtCache{pool: pool, stmts: make(map[string]*sql.Stmt), preparing: make(map[string]bool), seen: make(map[string]uint8)}
}

// claim counts a run of query unprepared and reports whether the caller
// should prepare it now: it has run often enough, the cache has room, and
// nobody prepares it already (claimed queries are marked preparing).
func (c *StmtCache) claim(query string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.stmts[query] != nil || c.preparing[query] || len(c.stmts)+len(c.preparing) >= maxCachedStmts {
		return false
	}
	if len(c.seen) >= maxSeen {
		clear(c.seen)
	}
	c.seen[query]++
	if c.seen[query] < prepareAfter {
		return false
	}
	delete(c.seen, query)
	c.preparing[query] = true
	return true
}

// prepare prepares a claimed query and keeps the statement; nil if it
// cannot be prepared. It runs without the lock: preparing may wait for a
// connection of the pool, which a transaction looking up its statements
// may hold.
func (c *StmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := c.pool.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.preparing, query)
	if err != nil {
		return nil
	}
	if c.closed {
		_ = st.Close()
		return nil
	}
	c.stmts[query] = st
	return st
}

// lookup returns the statement prepared for query, if any.
func (c *StmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// warm prepares query in the background, once it is worth it. A
// transaction holding a connection cannot wait for the pool to prepare on
// another: SQLite's writer pool has just the one, and readers may all be
// in transactions.
func (c *StmtCache) warm(query string) {
	if c.claim(query) {
		go c.prepare(context.Background(), query)
	}
}

// Stmt returns the prepared statement for query; nil when it is not worth
// preparing yet, the cache is full, another caller is preparing it, or it
// cannot be prepared (the caller runs the query unprepared, and its error,
// if any, comes from there).
func (c *StmtCache) Stmt(ctx context.Context, query string) *sql.Stmt {
	if st := c.lookup(query); st != nil {
		return st
	}
	if !c.claim(query) {
		return nil
	}
	return c.prepare(ctx, query)
}

// Close closes every statement; the pool is closed by its owner after.
func (c *StmtCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

// Cached runs queries through a StmtCache: on its pool with the cached
// statement, or inside a transaction of that pool with the statement
// bound to it (database/sql reuses the statement already prepared on the
// transaction's connection).
type Cached struct {
	Q     Querier
	Tx    *sql.Tx // set when Q is a transaction of Cache's pool
	Cache *StmtCache
}

func (c Cached) stmt(ctx context.Context, query string) *sql.Stmt {
	if c.Cache == nil {
		return nil
	}
	if c.Tx == nil {
		return c.Cache.Stmt(ctx, query)
	}
	st := c.Cache.lookup(query)
	if st == nil {
		c.Cache.warm(query) // this time unprepared
		return nil
	}
	return c.Tx.StmtContext(ctx, st)
}

// ExecContext is Querier's, through the cache.
func (c Cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.Q.ExecContext(ctx, query, args...)
}

// QueryContext is Querier's, through the cache.
func (c Cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.Q.QueryContext(ctx, query, args...)
}

// QueryRowContext is Querier's, through the cache.
func (c Cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.Q.QueryRowContext(ctx, query, args...)
}
