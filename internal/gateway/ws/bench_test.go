package ws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/internal/gateway/ws"
)

// The benchmarks compare this package with coder/websocket on the server
// side; the client is coder/websocket in both. 1 KiB binary messages.
// Measured on the 2-core dev box (go test -bench . -benchtime 20000x), see
// the commit message for figures.

const benchMsg = 1024

// benchPair returns a connected client and the server side, which is
// either a *ws.Conn or a *websocket.Conn.
func benchPair(b *testing.B, ours bool) (*websocket.Conn, any) {
	b.Helper()
	conns := make(chan any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ours {
			c, err := ws.Upgrade(w, r, ws.Options{})
			if err == nil {
				conns <- c
			}
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err == nil {
			conns <- c
		}
	}))
	b.Cleanup(srv.Close)
	cc, _, err := websocket.Dial(context.Background(), wsURL(srv), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.CloseNow() })
	s := <-conns
	b.Cleanup(func() {
		switch s := s.(type) {
		case *ws.Conn:
			s.CloseNow()
		case *websocket.Conn:
			s.CloseNow()
		}
	})
	return cc, s
}

func BenchmarkServerWrite(b *testing.B) {
	for _, impl := range []string{"ws", "coder"} {
		b.Run(impl, func(b *testing.B) {
			cc, s := benchPair(b, impl == "ws")
			msg := make([]byte, benchMsg)
			done := make(chan error, 1)
			n := b.N
			go func() {
				for range n {
					if _, _, err := cc.Read(context.Background()); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			b.ResetTimer()
			for range n {
				var err error
				switch s := s.(type) {
				case *ws.Conn:
					err = s.Write(ws.MessageBinary, msg)
				case *websocket.Conn:
					err = s.Write(context.Background(), websocket.MessageBinary, msg)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkServerRead(b *testing.B) {
	for _, impl := range []string{"ws", "coder"} {
		b.Run(impl, func(b *testing.B) {
			cc, s := benchPair(b, impl == "ws")
			msg := make([]byte, benchMsg)
			n := b.N
			go func() {
				for range n {
					if cc.Write(context.Background(), websocket.MessageBinary, msg) != nil {
						return
					}
				}
			}()
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			b.ResetTimer()
			switch s := s.(type) {
			case *ws.Conn:
				for got := 0; got < n; {
					if err := s.Wait(); err != nil {
						b.Fatal(err)
					}
					for {
						typ, data, err := s.ReadMessage()
						if err != nil {
							b.Fatal(err)
						}
						if typ != 0 {
							if len(data) != benchMsg {
								b.Fatalf("%d bytes", len(data))
							}
							got++
						}
						if !s.Buffered() {
							break
						}
					}
					s.Release()
				}
			case *websocket.Conn:
				for range n {
					_, data, err := s.Read(context.Background())
					if err != nil || len(data) != benchMsg {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkEcho: the client writes and waits for the echo, one message in
// flight: latency-bound, as a request and its answer are.
func BenchmarkEcho(b *testing.B) {
	for _, impl := range []string{"ws", "coder"} {
		b.Run(impl, func(b *testing.B) {
			cc, s := benchPair(b, impl == "ws")
			go func() {
				switch s := s.(type) {
				case *ws.Conn:
					_ = echo(s)
				case *websocket.Conn:
					for {
						typ, data, err := s.Read(context.Background())
						if err != nil || s.Write(context.Background(), typ, data) != nil {
							return
						}
					}
				}
			}()
			msg := make([]byte, benchMsg)
			b.SetBytes(benchMsg)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := cc.Write(context.Background(), websocket.MessageBinary, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := cc.Read(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
