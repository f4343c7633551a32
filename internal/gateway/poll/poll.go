// Package poll tells the gateway when one of very many idle sockets becomes
// readable, without a goroutine parked on each of them. It backs the
// gateway's optional --readiness epoll mode, in which an idle connection
// holds no goroutine at all: a Poller keeps one epoll instance and one
// goroutine blocked in epoll_wait, and a readable socket gets a goroutine
// only for as long as its owner takes to read what arrived.
//
// A watch is one-shot and level-triggered. When its socket is readable, hung
// up or in error, the watch's function runs on a new goroutine (so a slow
// function never stalls the poller) and the watch stays disarmed until
// Rearm; bytes that arrive while it is disarmed are reported as soon as it
// is rearmed. Go's own network poller keeps the socket in its own epoll set
// as well, which is harmless: reads and writes through the net.Conn work as
// usual.
//
// Polling needs epoll, so only Linux has it; elsewhere New returns
// ErrUnsupported and the gateway keeps a goroutine per connection.
package poll

import "errors"

var (
	// ErrUnsupported is returned by New on systems without epoll.
	ErrUnsupported = errors.New("poll: readiness polling is not supported on this system")
	// ErrClosed is returned by Add on a closed Poller and by Rearm on a
	// removed watch or a closed Poller.
	ErrClosed = errors.New("poll: watch or poller closed")
	// ErrWatched is returned by Add for a socket the Poller already watches.
	ErrWatched = errors.New("poll: socket already watched")
)
