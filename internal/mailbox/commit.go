package mailbox

import (
	"context"
	"sync"
)

// committer is group commit: callers hand in items one at a time, and
// writer goroutines take whatever has queued up meanwhile, up to a batch,
// and commit it in one transaction. Under load a batch grows by itself, so
// one fsync serves many callers; when idle, an item is committed at once.
type committer[T any] struct {
	jobs    chan job[T]
	commit  func([]T) error
	max     int
	mu      sync.RWMutex // orders submit against close
	closed  bool
	writers sync.WaitGroup
}

type job[T any] struct {
	item T
	done chan error // buffered; receives the batch's outcome
}

// newCommitter starts writers goroutines that pass batches of at most max
// items to commit. A batch's items all get commit's error.
func newCommitter[T any](writers, max int, commit func([]T) error) *committer[T] {
	c := &committer[T]{jobs: make(chan job[T], max*writers), commit: commit, max: max}
	for range writers {
		c.writers.Add(1)
		go c.write()
	}
	return c
}

// submitErr queues item; the channel receives the outcome of its batch.
// Once queued, an item is committed even if ctx ends.
func (c *committer[T]) submitErr(ctx context.Context, item T) (<-chan error, error) {
	j := job[T]{item: item, done: make(chan error, 1)}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, ErrClosed
	}
	select {
	case c.jobs <- j:
		return j.done, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *committer[T]) write() {
	defer c.writers.Done()
	batch := make([]job[T], 0, c.max)
	items := make([]T, 0, c.max)
	for {
		j, ok := <-c.jobs
		if !ok {
			return
		}
		batch = append(batch[:0], j)
	gather:
		for len(batch) < c.max {
			select {
			case j, ok := <-c.jobs:
				if !ok {
					break gather
				}
				batch = append(batch, j)
			default:
				break gather
			}
		}
		items = items[:0]
		for _, j := range batch {
			items = append(items, j.item)
		}
		err := c.commit(items)
		for _, j := range batch {
			j.done <- err
		}
	}
}

// close stops taking items, commits those taken, and reports whether this
// call closed it.
func (c *committer[T]) close() bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	close(c.jobs)
	c.mu.Unlock()
	c.writers.Wait()
	return true
}
