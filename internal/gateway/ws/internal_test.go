package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
	"unsafe"
)

// TestConnSize guards the per-connection footprint: 1M idle connections
// cost 1M of these. Measured: 144 bytes on amd64 (the 144-byte size class).
func TestConnSize(t *testing.T) {
	size := unsafe.Sizeof(Conn{})
	t.Logf("Conn is %d bytes", size)
	if size > 160 {
		t.Errorf("Conn grew to %d bytes", size)
	}
}

func TestUnmask(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, n := range []int{0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 100, 1025} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		want := bytes.Clone(b)
		for i := range want {
			want[i] ^= key[i%4]
		}
		unmask(b, key)
		if !bytes.Equal(b, want) {
			t.Errorf("unmask of %d bytes differs", n)
		}
	}
}

func TestTruncateUTF8(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"},
		{"aé", 3, "aé"},
		{"€€", 4, "€"},
		{"€", 2, ""},
	}
	for _, tt := range tests {
		if got := truncateUTF8(tt.s, tt.n); got != tt.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestBufClass(t *testing.T) {
	tests := []struct{ n, size int }{
		{1, 4096}, {4096, 4096}, {4097, 8192}, {200 << 10, 256 << 10}, {1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20},
	}
	for _, tt := range tests {
		rb := getBuf(tt.n)
		if len(rb.b) != tt.size {
			t.Errorf("getBuf(%d) has %d bytes, want %d", tt.n, len(rb.b), tt.size)
		}
		putBuf(rb)
	}
}

// pipeConn is a Conn over net.Pipe (no SyscallConn: the fallback path)
// whose peer runs in the test.
func pipeConn(o Options) (*Conn, net.Conn) {
	s, p := net.Pipe()
	return newConn(s, nil, o), p
}

func maskedFrame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	key := [4]byte{1, 2, 3, 4}
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

// FuzzReadMessage feeds arbitrary bytes as the client's stream; the reader
// must neither panic nor hang, and what it returns must fit the limits.
func FuzzReadMessage(f *testing.F) {
	f.Add(maskedFrame(0x81, []byte("hello")))
	f.Add(append(maskedFrame(0x02, []byte("ab")), maskedFrame(0x80, []byte("cd"))...))
	f.Add(append(maskedFrame(0x89, []byte("ping")), maskedFrame(0x82, make([]byte, 300))...))
	f.Add(maskedFrame(0x88, []byte{0x03, 0xe8, 'o', 'k'}))
	f.Add(maskedFrame(0x82, make([]byte, 70000)))
	f.Add(append(maskedFrame(0x01, []byte("caf\xc3")), maskedFrame(0x80, []byte("\xa9"))...))
	f.Add([]byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 1000
		c, peer := pipeConn(Options{MaxMessageBytes: limit, ReadTimeout: time.Second, WriteTimeout: time.Second, CloseTimeout: time.Second})
		go func() { _, _ = io.Copy(io.Discard, peer) }()
		go func() {
			_, _ = peer.Write(stream)
			_ = peer.Close()
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if err := c.Wait(); err != nil {
					return
				}
				for {
					typ, data, err := c.ReadMessage()
					if err != nil {
						var ce CloseError
						var pe *ProtocolError
						if !errors.As(err, &ce) && !errors.As(err, &pe) && !errors.Is(err, io.EOF) && !errors.Is(err, ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
							t.Errorf("unexpected error %v", err)
						}
						return
					}
					if typ == 0 && data != nil || typ != 0 && len(data) > limit {
						t.Errorf("ReadMessage returned %v with %d bytes", typ, len(data))
					}
					if !c.Buffered() {
						break
					}
				}
				c.Release()
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("reader hung")
		}
		_ = c.CloseNow()
	})
}
