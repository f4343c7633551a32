package gateway

import (
	"context"
	"sync"
	"time"
)

// reannounceWorkers bounds the store writes Reannounce has in flight.
const reannounceWorkers = 8

// Reannounce records and announces again every authenticated connection of
// this node, and returns how many. internal/liveness calls it when another
// node took this one for dead (it was cut off from the bus, or stalled)
// and released its devices: they are connected here all the same.
func (s *Server) Reannounce(ctx context.Context) int {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	work := make(chan *conn)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		n  int
	)
	for range reannounceWorkers {
		wg.Go(func() {
			for c := range work {
				if !c.isAuthed.Load() || c.ctx.Err() != nil {
					continue
				}
				s.Presence.Online(ctx, c.addr, c.id, time.Unix(0, c.authedAt))
				if c.ctx.Err() != nil {
					// The connection ended meanwhile, perhaps recorded
					// offline before this recorded it online: again.
					s.Presence.Offline(ctx, c.addr, c.id)
					continue
				}
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	for _, c := range conns {
		if ctx.Err() != nil {
			break
		}
		work <- c
	}
	close(work)
	wg.Wait()
	return n
}
