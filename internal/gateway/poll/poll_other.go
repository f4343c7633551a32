//go:build !linux

package poll

import "syscall"

// Poller is unavailable on this system: New always fails.
type Poller struct{}

// Desc is one watched socket; on this system there are none.
type Desc struct{}

// New returns ErrUnsupported: this system has no epoll.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Add returns ErrUnsupported.
func (p *Poller) Add(rc syscall.RawConn, fn func()) (*Desc, error) { return nil, ErrUnsupported }

// Close does nothing.
func (p *Poller) Close() error { return nil }

// Len is always 0.
func (p *Poller) Len() int { return 0 }

// Rearm returns ErrClosed.
func (d *Desc) Rearm() error { return ErrClosed }

// Remove does nothing.
func (d *Desc) Remove() error { return nil }
