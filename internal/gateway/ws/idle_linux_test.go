package ws_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/gateway/ws"
)

// TestIdleMemory holds 2000 idle upgraded connections and measures the
// server's heap and stack per connection. The clients are bare sockets
// made with syscalls, so they cost the Go heap nothing. Modes:
//
//	hijacked: the hijacked net.Conn alone, the floor any server pays;
//	conn:     a ws.Conn, nobody waiting (how an epoll loop holds it);
//	wait:     a ws.Conn with a goroutine parked in Wait.
//
// Measured on linux/amd64, go1.26 (2000 conns): hijacked ~0.4 KiB heap;
// conn adds ~0.15 KiB heap; wait adds ~0.6 KiB heap (the runtime's g) and
// 2 KiB of stack.
//
// The runtime starts goroutines with a stack the size of the average one it
// scanned at the last GC (GODEBUG adaptivestackstart), and a parked waiter
// can never shrink below 4 KiB once it has more, so the measurement runs in
// a child process with adaptivestackstart=0, as a waiter-mode node should.
func TestIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 4000 sockets")
	}
	if os.Getenv("WS_IDLE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemory$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "WS_IDLE_CHILD=1", "GODEBUG=adaptivestackstart=0")
		out, err := cmd.CombinedOutput()
		t.Logf("child process:\n%s", out)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return
	}
	const n = 2000
	var floor float64
	for _, mode := range []string{"hijacked", "conn", "wait"} {
		t.Run(mode, func(t *testing.T) {
			var (
				mu      sync.Mutex
				held    []any
				parked  atomic.Int64
				waiters sync.WaitGroup
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if mode == "hijacked" {
					nc, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						return
					}
					_, _ = nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\n\r\n"))
					mu.Lock()
					held = append(held, nc)
					mu.Unlock()
					parked.Add(1)
					return
				}
				c, err := ws.Upgrade(w, r, ws.Options{})
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
				if mode == "conn" {
					parked.Add(1)
					return
				}
				waiters.Add(1)
				go func() {
					defer waiters.Done()
					parked.Add(1)
					_ = c.Wait()
				}()
			}))
			defer srv.Close()
			addr := srv.Listener.Addr().(*net.TCPAddr)

			baseG := runtime.NumGoroutine()
			heap0, live0, stack0 := memNow()
			fds := make([]int, 0, n)
			defer func() {
				for _, fd := range fds {
					_ = syscall.Close(fd)
				}
			}()
			for range n {
				fd, err := rawUpgrade(addr)
				if err != nil {
					t.Fatal(err)
				}
				fds = append(fds, fd)
			}
			want := baseG
			if mode == "wait" {
				want += n
			}
			deadline := time.Now().Add(20 * time.Second)
			for (parked.Load() < n || runtime.NumGoroutine() > want) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if parked.Load() < n {
				t.Fatalf("only %d of %d connections parked", parked.Load(), n)
			}
			time.Sleep(50 * time.Millisecond) // let the waiters reach the poller
			heap1, live1, stack1 := memNow()
			heapPer := float64(int64(heap1)-int64(heap0)) / n
			livePer := float64(int64(live1)-int64(live0)) / n
			stackPer := float64(int64(stack1)-int64(stack0)) / n
			t.Logf("%s: per idle connection %.0f B HeapInuse (%.0f B live objects) + %.0f B StackInuse", mode, heapPer, livePer, stackPer)
			switch mode {
			case "hijacked":
				floor = livePer
			default:
				t.Logf("%s: ws adds %.0f B of live heap per idle connection over the hijacked socket", mode, livePer-floor)
				if livePer-floor > 1024 {
					t.Errorf("ws adds %.0f B heap per idle connection, want under 1 KiB", livePer-floor)
				}
			}
			if mode == "wait" && !raceEnabled && stackPer > 2048+256 {
				t.Errorf("a goroutine parked in Wait holds %.0f B of stack, want the minimal 2 KiB", stackPer)
			}
			// Close everything now, so that no finalizer frees this
			// subtest's sockets while the next one measures.
			for _, fd := range fds {
				_ = syscall.Close(fd)
			}
			fds = fds[:0]
			for _, h := range held {
				switch h := h.(type) {
				case net.Conn:
					h.Close()
				case *ws.Conn:
					h.CloseNow()
				}
			}
			waiters.Wait()
		})
	}
}

// memNow returns HeapInuse and StackInuse after enough collections for
// stacks to shrink: a goroutine that started with a larger stack (the
// runtime sizes new stacks by the average in use) halves per GC.
func memNow() (heap, live, stack uint64) {
	for range 5 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.HeapAlloc, m.StackInuse
}

// rawUpgrade opens a socket with plain syscalls, sends the upgrade request
// and reads the 101.
func rawUpgrade(addr *net.TCPAddr) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	if _, err := syscall.Write(fd, []byte(upgradeRequest)); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	var buf [512]byte
	got := 0
	for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) {
		n, err := syscall.Read(fd, buf[got:])
		if err != nil || n <= 0 {
			syscall.Close(fd)
			return -1, err
		}
		got += n
	}
	return fd, nil
}
