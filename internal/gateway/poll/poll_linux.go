//go:build linux

package poll

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

const (
	// armed is what a watch waits for. EPOLLRDHUP makes a peer's half-close
	// count even before its FIN's EOF is read; EPOLLERR and EPOLLHUP are
	// always reported. Level-triggered, so a rearmed watch whose socket
	// still holds bytes fires at once.
	armed = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

	// batch is how many events one epoll_wait may return.
	batch = 128

	// nShards spreads the fd table's locks so that Add, Rearm and Remove
	// from many connections, and the poller's dispatching, rarely wait for
	// one another.
	nShards = 64

	// wakeGen marks the event of the pipe that Close writes to; watches'
	// generations skip it.
	wakeGen = 0
)

// Poller watches sockets for readability with one epoll instance and one
// goroutine. Its methods are safe for concurrent use.
type Poller struct {
	epfd         int
	wakeR, wakeW int

	// closed is set with every shard's lock held, so holding any one of
	// them is enough to read it.
	closed bool
	n      atomic.Int64
	shards [nShards]shard

	done      chan struct{} // closed when the poller goroutine returns
	waitErr   error         // why it returned, if not for Close; read after done
	closeOnce sync.Once
	closeErr  error
}

// shard holds the watches of the fds whose number is congruent to its index
// modulo nShards, in a slice indexed by fd/nShards: fd numbers are small and
// dense, so this costs one pointer per fd, less than a map entry.
type shard struct {
	mu    sync.Mutex
	descs []*Desc
	gen   uint32 // last generation handed out in this shard
	_     [64 - 8 - 24 - 4]byte
}

// Desc is one watched socket. It is small on purpose: an idle connection
// holds one.
//
// The epoll event of a watch carries its fd and a generation. The poller
// runs fn only if the fd's current watch has that generation, so an event
// that epoll_wait returned just before Remove, or before the fd number was
// closed and reused by a newer watch, runs nothing.
type Desc struct {
	p   *Poller
	fn  func() // nil once removed
	fd  int32
	gen uint32
}

// New starts a poller: an epoll instance and a goroutine blocked in
// epoll_wait. Close releases both.
func New() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("pipe2", err)
	}
	p := &Poller{epfd: epfd, wakeR: pipe[0], wakeW: pipe[1], done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wakeR), Pad: wakeGen}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakeR, &ev); err != nil {
		p.closeFDs()
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	go p.run()
	return p, nil
}

func (p *Poller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, batch)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			// Nothing else is expected (the epoll fd outlives this
			// goroutine); retrying would spin, so stop and let Close
			// report it.
			p.waitErr = os.NewSyscallError("epoll_wait", err)
			return
		}
		for i := range events[:n] {
			ev := &events[i]
			if uint32(ev.Pad) == wakeGen {
				return
			}
			p.dispatch(ev.Fd, uint32(ev.Pad))
		}
	}
}

func (p *Poller) dispatch(fd int32, gen uint32) {
	s := p.shard(fd)
	var fn func()
	s.mu.Lock()
	if d := s.lookup(fd); d != nil && d.gen == gen {
		fn = d.fn
	}
	if fn != nil {
		// Launched under the lock, so that every run of fn was launched
		// before any Remove returned.
		go fn()
	}
	s.mu.Unlock()
}

func (p *Poller) shard(fd int32) *shard { return &p.shards[uint32(fd)%nShards] }

func (s *shard) lookup(fd int32) *Desc {
	if i := int(uint32(fd) / nShards); i < len(s.descs) {
		return s.descs[i]
	}
	return nil
}

// Add watches rc's socket for readability, once: when the socket becomes
// readable, hung up or in error, fn runs on a new goroutine and the watch
// is disarmed until Rearm. The caller must Remove the watch before closing
// the socket. It returns ErrWatched if the socket is already watched and
// ErrClosed after Close.
func (p *Poller) Add(rc syscall.RawConn, fn func()) (*Desc, error) {
	if fn == nil {
		return nil, errors.New("poll: Add with a nil function")
	}
	var (
		d    *Desc
		aerr error
	)
	// Inside Control the fd cannot be closed under us.
	if err := rc.Control(func(fd uintptr) { d, aerr = p.add(int32(fd), fn) }); err != nil {
		return nil, err
	}
	return d, aerr
}

func (p *Poller) add(fd int32, fn func()) (*Desc, error) {
	s := p.shard(fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	s.gen++
	if s.gen == wakeGen {
		s.gen++
	}
	d := &Desc{p: p, fn: fn, fd: fd, gen: s.gen}
	ev := syscall.EpollEvent{Events: armed, Fd: fd, Pad: int32(d.gen)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		if err == syscall.EEXIST {
			return nil, ErrWatched
		}
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	i := int(uint32(fd) / nShards)
	if i >= len(s.descs) {
		s.descs = append(s.descs, make([]*Desc, i+1-len(s.descs))...)
	}
	if old := s.descs[i]; old != nil {
		// The previous socket with this fd number was closed without
		// Remove; closing it took it out of the epoll set, and its
		// generation no longer matches, so it is forgotten here.
		old.fn = nil
		p.n.Add(-1)
	}
	s.descs[i] = d
	p.n.Add(1)
	return d, nil
}

// Rearm re-enables the watch after fn has run. Because the watch is
// level-triggered, bytes that arrived while it was disarmed are reported at
// once. Call it only once fn has been started for the previous arming (from
// fn itself, typically, after reading what arrived): rearming a watch that
// is still armed may start fn twice. It returns ErrClosed after Remove or
// Close.
func (d *Desc) Rearm() error {
	p := d.p
	s := p.shard(d.fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Under the lock, so that no Remove, close and Add of the same fd
	// number can slip in between the check and epoll_ctl and have this
	// rearm the newer watch.
	if d.fn == nil || p.closed {
		return ErrClosed
	}
	ev := syscall.EpollEvent{Events: armed, Fd: d.fd, Pad: int32(d.gen)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(d.fd), &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Remove stops watching. Call it before closing the socket, or the fd
// number may already belong to another socket. Once Remove returns, no
// event starts fn again; but an fn started just before (its goroutine
// launched by an event the poller was handling concurrently) may still be
// running, or not yet have begun, so fn must cope with finding its
// connection closed. Remove is idempotent and does nothing after Close.
func (d *Desc) Remove() error {
	p := d.p
	s := p.shard(d.fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.fn == nil {
		return nil
	}
	d.fn = nil
	if i := int(uint32(d.fd) / nShards); s.descs[i] == d {
		s.descs[i] = nil
	}
	p.n.Add(-1)
	if p.closed {
		return nil
	}
	var ev syscall.EpollEvent // kernels before 2.6.9 want one even for DEL
	switch err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(d.fd), &ev); err {
	case nil, syscall.ENOENT, syscall.EBADF:
		// ENOENT and EBADF: the socket was closed first, which took it
		// out of the set already.
		return nil
	default:
		return os.NewSyscallError("epoll_ctl", err)
	}
}

// Close stops the poller goroutine, forgets every watch (their Rearm then
// returns ErrClosed and Remove does nothing) and releases the epoll
// instance. It does not close the watched sockets, and fns already started
// may still be running. Close is idempotent.
func (p *Poller) Close() error {
	p.closeOnce.Do(func() {
		for {
			_, err := syscall.Write(p.wakeW, []byte{1})
			if err != syscall.EINTR {
				break
			}
		}
		<-p.done
		for i := range p.shards {
			p.shards[i].mu.Lock()
		}
		p.closed = true
		for i := range p.shards {
			s := &p.shards[i]
			for _, d := range s.descs {
				if d != nil {
					d.fn = nil
				}
			}
			s.descs = nil
		}
		p.n.Store(0)
		for i := range p.shards {
			p.shards[i].mu.Unlock()
		}
		p.closeFDs()
		p.closeErr = p.waitErr
	})
	return p.closeErr
}

func (p *Poller) closeFDs() {
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
	syscall.Close(p.epfd)
}

// Len is the number of sockets watched, armed or not.
func (p *Poller) Len() int { return int(p.n.Load()) }
