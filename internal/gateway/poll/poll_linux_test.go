//go:build linux

package poll

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// quiet is how long a test waits to be confident that something did not
// happen.
const quiet = 150 * time.Millisecond

func newPoller(t testing.TB) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// pairs returns n connected TCP loopback pairs, closed at cleanup.
func pairs(t testing.TB, n int) (servers, clients []*net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *net.TCPConn, n)
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c.(*net.TCPConn)
		}
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c.(*net.TCPConn))
		s, ok := <-accepted
		if !ok {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { s.Close() })
		servers = append(servers, s)
	}
	return servers, clients
}

func rawConn(t testing.TB, c *net.TCPConn) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func fdOf(t testing.TB, c *net.TCPConn) int {
	var fd int
	if err := rawConn(t, c).Control(func(f uintptr) { fd = int(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// counter is a watch's function that counts its runs and signals each one.
type counter struct {
	n     atomic.Int32
	fired chan struct{}
}

func newCounter() *counter { return &counter{fired: make(chan struct{}, 100)} }

func (c *counter) fn() { c.n.Add(1); c.fired <- struct{}{} }

func (c *counter) wantFire(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.fired:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: fn did not run", what)
	}
}

func (c *counter) wantQuiet(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.fired:
		t.Fatalf("%s: fn ran", what)
	case <-time.After(quiet):
	}
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, c net.Conn, want string) {
	t.Helper()
	buf := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != want {
		t.Fatalf("read %q, want %q", buf, want)
	}
}

func TestOneShotAndLevelTriggered(t *testing.T) {
	p := newPoller(t)
	servers, clients := pairs(t, 1)
	srv, cli := servers[0], clients[0]
	c := newCounter()
	d, err := p.Add(rawConn(t, srv), c.fn)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d, want 1", p.Len())
	}
	c.wantQuiet(t, "idle socket")

	write(t, cli, "a")
	c.wantFire(t, "data arrived")
	write(t, cli, "b")
	c.wantQuiet(t, "more data before Rearm")

	// Nothing was read: level-triggered, so rearming reports it at once.
	if err := d.Rearm(); err != nil {
		t.Fatal(err)
	}
	c.wantFire(t, "Rearm with unread data")

	read(t, srv, "ab")
	if err := d.Rearm(); err != nil {
		t.Fatal(err)
	}
	c.wantQuiet(t, "Rearm after reading everything")
	write(t, cli, "c")
	c.wantFire(t, "data after Rearm")
	read(t, srv, "c")
	if n := c.n.Load(); n != 3 {
		t.Fatalf("fn ran %d times, want 3", n)
	}
}

func TestPeerClose(t *testing.T) {
	p := newPoller(t)
	servers, clients := pairs(t, 1)
	c := newCounter()
	if _, err := p.Add(rawConn(t, servers[0]), c.fn); err != nil {
		t.Fatal(err)
	}
	clients[0].Close()
	c.wantFire(t, "peer closed")
	servers[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := servers[0].Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after peer close: %v, want EOF", err)
	}
}

func TestRemove(t *testing.T) {
	p := newPoller(t)
	servers, clients := pairs(t, 1)
	c := newCounter()
	d, err := p.Add(rawConn(t, servers[0]), c.fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if p.Len() != 0 {
		t.Fatalf("Len = %d after Remove, want 0", p.Len())
	}
	write(t, clients[0], "x")
	c.wantQuiet(t, "data after Remove")
	if err := d.Rearm(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Rearm after Remove: %v, want ErrClosed", err)
	}
	c.wantQuiet(t, "Rearm after Remove")
	if err := d.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	// The socket can be watched again.
	c2 := newCounter()
	if _, err := p.Add(rawConn(t, servers[0]), c2.fn); err != nil {
		t.Fatal(err)
	}
	c2.wantFire(t, "re-added socket with unread data")
	c.wantQuiet(t, "old watch after re-add")
}

func TestAddTwice(t *testing.T) {
	p := newPoller(t)
	servers, _ := pairs(t, 1)
	if _, err := p.Add(rawConn(t, servers[0]), func() {}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(rawConn(t, servers[0]), func() {}); !errors.Is(err, ErrWatched) {
		t.Fatalf("second Add: %v, want ErrWatched", err)
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d, want 1", p.Len())
	}
}

// reuseFD closes old and opens connections until one of them has old's fd
// number, returning that side and its peer.
func reuseFD(t *testing.T, old *net.TCPConn) (reused, peer *net.TCPConn) {
	t.Helper()
	fd := fdOf(t, old)
	old.Close()
	for range 20 {
		servers, clients := pairs(t, 1)
		switch fd {
		case fdOf(t, servers[0]):
			return servers[0], clients[0]
		case fdOf(t, clients[0]):
			return clients[0], servers[0]
		}
	}
	t.Skipf("fd %d was not reused", fd)
	return nil, nil
}

func TestFDReuse(t *testing.T) {
	for _, remove := range []bool{true, false} {
		name := map[bool]string{true: "Remove then close", false: "close without Remove"}[remove]
		t.Run(name, func(t *testing.T) {
			p := newPoller(t)
			servers, clients := pairs(t, 1)
			oldC := newCounter()
			old, err := p.Add(rawConn(t, servers[0]), oldC.fn)
			if err != nil {
				t.Fatal(err)
			}
			write(t, clients[0], "x") // the old socket dies readable
			oldC.wantFire(t, "old socket readable")
			if remove {
				if err := old.Remove(); err != nil {
					t.Fatal(err)
				}
			}
			reused, peer := reuseFD(t, servers[0])
			newC := newCounter()
			if _, err := p.Add(rawConn(t, reused), newC.fn); err != nil {
				t.Fatal(err)
			}
			if p.Len() != 1 {
				t.Fatalf("Len = %d, want 1", p.Len())
			}
			// The old watch must not touch the new one.
			if err := old.Rearm(); !errors.Is(err, ErrClosed) {
				t.Fatalf("old Rearm: %v, want ErrClosed", err)
			}
			if err := old.Remove(); err != nil {
				t.Fatalf("old Remove: %v", err)
			}
			write(t, peer, "y")
			newC.wantFire(t, "new socket readable")
			oldC.wantQuiet(t, "old watch")
			if p.Len() != 1 {
				t.Fatalf("Len = %d, want 1", p.Len())
			}
		})
	}
}

// TestStaleEvent replays what epoll_wait may hand the poller goroutine in a
// race: an event taken for fd N just before Remove(N), close and a new Add
// that reused N. Only the new watch's own events may run its fn, and no
// event may run the old one.
func TestStaleEvent(t *testing.T) {
	p := newPoller(t)
	servers, _ := pairs(t, 1)
	oldC := newCounter()
	old, err := p.Add(rawConn(t, servers[0]), oldC.fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Remove(); err != nil {
		t.Fatal(err)
	}
	p.dispatch(old.fd, old.gen)
	oldC.wantQuiet(t, "event after Remove")

	reused, _ := reuseFD(t, servers[0])
	newC := newCounter()
	d, err := p.Add(rawConn(t, reused), newC.fn)
	if err != nil {
		t.Fatal(err)
	}
	if d.fd != old.fd || d.gen == old.gen {
		t.Fatalf("new watch fd %d gen %d, old fd %d gen %d", d.fd, d.gen, old.fd, old.gen)
	}
	p.dispatch(old.fd, old.gen)
	oldC.wantQuiet(t, "stale event, old fn")
	newC.wantQuiet(t, "stale event, new fn")
	p.dispatch(d.fd, d.gen)
	newC.wantFire(t, "new watch's event")
}

func raiseNOFILE(t *testing.T) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
	}
	return lim.Cur
}

// TestManyIdle watches both ends of many pairs (10 000 sockets when the fd
// limit allows), makes a few readable, and wants exactly those to fire. It
// also measures the heap a watch costs.
func TestManyIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("many sockets")
	}
	limit := raiseNOFILE(t)
	nPairs := min(5000, int(limit-200)/2)
	if nPairs < 1000 {
		t.Skipf("RLIMIT_NOFILE %d is too low", limit)
	}
	p := newPoller(t)
	servers, clients := pairs(t, nPairs)
	socks := append(servers, clients...)
	peerOf := func(i int) *net.TCPConn {
		if i < nPairs {
			return clients[i]
		}
		return servers[i-nPairs]
	}
	rcs := make([]syscall.RawConn, len(socks))
	for i, s := range socks {
		rcs[i] = rawConn(t, s)
	}
	var fired sync.Map // socket index -> *atomic.Int32
	var total atomic.Int32
	fns := make([]func(), len(socks))
	for i := range socks {
		n := new(atomic.Int32)
		fired.Store(i, n)
		fns[i] = func() { n.Add(1); total.Add(1) }
	}

	// HeapAlloc counts live objects exactly after a GC; HeapInuse counts
	// whole spans, which the setup's garbage leaves partly free, so it
	// understates and is only logged.
	heap := func() (alloc, inuse int64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc), int64(ms.HeapInuse)
	}
	descs := make([]*Desc, 0, len(socks))
	allocBefore, inuseBefore := heap()
	for i := range socks {
		d, err := p.Add(rcs[i], fns[i])
		if err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
		descs = append(descs, d)
	}
	allocAfter, inuseAfter := heap()
	perDesc := float64(allocAfter-allocBefore) / float64(len(socks))
	t.Logf("%d sockets watched: HeapAlloc +%d B (%.1f B per watch), HeapInuse +%d B (%.1f B per watch)",
		len(socks), allocAfter-allocBefore, perDesc,
		inuseAfter-inuseBefore, float64(inuseAfter-inuseBefore)/float64(len(socks)))
	if perDesc > 128 {
		t.Errorf("%.1f B of heap per watch, want <= 128", perDesc)
	}
	if p.Len() != len(socks) {
		t.Fatalf("Len = %d, want %d", p.Len(), len(socks))
	}

	want := map[int]bool{}
	for len(want) < 10 {
		want[rand.IntN(len(socks))] = true
	}
	for i := range want {
		write(t, peerOf(i), "x")
	}
	deadline := time.Now().Add(10 * time.Second)
	for total.Load() < int32(len(want)) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(quiet)
	for i := range socks {
		v, _ := fired.Load(i)
		n := v.(*atomic.Int32).Load()
		if w := map[bool]int32{true: 1}[want[i]]; n != w {
			t.Errorf("socket %d fired %d times, want %d", i, n, w)
		}
	}
	for _, d := range descs {
		if err := d.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	if p.Len() != 0 {
		t.Fatalf("Len = %d after removing all, want 0", p.Len())
	}
	// Alive to the end, lest their freeing offset the watches' cost.
	runtime.KeepAlive(descs)
	runtime.KeepAlive(rcs)
	runtime.KeepAlive(fns)
}

// TestConcurrent runs many connections' read loops through one poller
// while the peers write and some watches are removed midway, for the race
// detector and to check that no byte goes unnoticed.
func TestConcurrent(t *testing.T) {
	p := newPoller(t)
	const nConns, nWrites = 50, 200
	servers, clients := pairs(t, nConns)
	var wg sync.WaitGroup
	got := make([]atomic.Int64, nConns)
	for i, srv := range servers {
		var d *Desc
		var mu sync.Mutex // orders d's assignment before fn uses it
		mu.Lock()
		var err error
		d, err = p.Add(rawConn(t, srv), func() {
			mu.Lock()
			defer mu.Unlock()
			buf := make([]byte, 64)
			srv.SetReadDeadline(time.Now().Add(time.Second))
			n, err := srv.Read(buf)
			got[i].Add(int64(n))
			if err != nil {
				d.Remove()
				return
			}
			if err := d.Rearm(); err != nil && !errors.Is(err, ErrClosed) {
				t.Error(err)
			}
		})
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range nWrites {
				if _, err := clients[i].Write([]byte{1}); err != nil {
					t.Error(err)
					return
				}
			}
			if i%5 == 0 {
				mu.Lock()
				d.Remove()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for i := range nConns {
		if i%5 == 0 {
			continue // removed: some bytes may stay unread
		}
		for got[i].Load() < nWrites && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := got[i].Load(); n != nWrites {
			t.Errorf("conn %d: read %d bytes, want %d", i, n, nWrites)
		}
	}
	if want := nConns - nConns/5; p.Len() != want {
		t.Errorf("Len = %d, want %d", p.Len(), want)
	}
}

func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	servers, clients := pairs(t, 3)
	c := newCounter()
	var descs []*Desc
	for _, s := range servers {
		d, err := p.Add(rawConn(t, s), c.fn)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, d)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before New", n, before)
	}
	if p.Len() != 0 {
		t.Errorf("Len = %d after Close, want 0", p.Len())
	}
	write(t, clients[0], "x")
	c.wantQuiet(t, "data after Close")
	if err := descs[1].Rearm(); !errors.Is(err, ErrClosed) {
		t.Errorf("Rearm after Close: %v, want ErrClosed", err)
	}
	if err := descs[2].Remove(); err != nil {
		t.Errorf("Remove after Close: %v", err)
	}
	if _, err := p.Add(rawConn(t, clients[1]), c.fn); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
}

// BenchmarkCycle is one idle connection's round: a byte arrives, fn runs on
// its goroutine, the byte is read and the watch rearmed. It includes the
// peer's write and the read, so it bounds what the poller adds from above.
func BenchmarkCycle(b *testing.B) {
	p := newPoller(b)
	servers, clients := pairs(b, 1)
	srv, cli := servers[0], clients[0]
	fired := make(chan struct{}, 1)
	d, err := p.Add(rawConn(b, srv), func() { fired <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	buf := []byte{0}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cli.Write(buf); err != nil {
			b.Fatal(err)
		}
		<-fired
		if _, err := srv.Read(buf); err != nil {
			b.Fatal(err)
		}
		if err := d.Rearm(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddRemove is the cost of starting and ending a watch.
func BenchmarkAddRemove(b *testing.B) {
	p := newPoller(b)
	servers, _ := pairs(b, 1)
	rc := rawConn(b, servers[0])
	fn := func() {}
	b.ReportAllocs()
	for b.Loop() {
		d, err := p.Add(rc, fn)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Remove(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCycleGoroutine is BenchmarkCycle's round without a poller: a
// goroutine parked in Read, as the gateway has without --readiness epoll.
// The difference between the two is what the poller costs per message.
func BenchmarkCycleGoroutine(b *testing.B) {
	servers, clients := pairs(b, 1)
	srv, cli := servers[0], clients[0]
	fired := make(chan struct{}, 1)
	go func() {
		buf := []byte{0}
		for {
			if _, err := srv.Read(buf); err != nil {
				return
			}
			fired <- struct{}{}
		}
	}()
	buf := []byte{0}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cli.Write(buf); err != nil {
			b.Fatal(err)
		}
		<-fired
	}
}
