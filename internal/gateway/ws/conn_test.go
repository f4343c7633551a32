package ws_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/internal/gateway/ws"
)

func TestRoundTrip(t *testing.T) {
	srv := serve(t, ws.Options{}, func(c *ws.Conn) { _ = echo(c) })
	cc := dial(t, srv)
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200 << 10}
	for _, typ := range []websocket.MessageType{websocket.MessageBinary, websocket.MessageText} {
		for _, n := range sizes {
			msg := bytes.Repeat([]byte("héllo wörld "), n/14+1)
			msg = []byte(strings.ToValidUTF8(string(msg[:n]), ""))
			if err := cc.Write(ctx(t), typ, msg); err != nil {
				t.Fatalf("%v %d: write: %v", typ, n, err)
			}
			gtyp, got, err := cc.Read(ctx(t))
			if err != nil {
				t.Fatalf("%v %d: read: %v", typ, n, err)
			}
			if gtyp != typ || !bytes.Equal(got, msg) {
				t.Errorf("%v %d bytes: echoed %v %d bytes, differs", typ, len(msg), gtyp, len(got))
			}
		}
	}
}

// TestBurst sends many messages before reading any, so frames straddle
// reads and the buffer is reused with bytes pending.
func TestBurst(t *testing.T) {
	srv := serve(t, ws.Options{}, func(c *ws.Conn) { _ = echo(c) })
	cc := dial(t, srv)
	var want [][]byte
	for i := range 300 {
		msg := bytes.Repeat([]byte{byte(i)}, (i*977)%5000)
		want = append(want, msg)
	}
	errc := make(chan error, 1)
	go func() {
		for _, m := range want {
			if err := cc.Write(ctx(t), websocket.MessageBinary, m); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i, m := range want {
		_, got, err := cc.Read(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: %d bytes, want %d", i, len(got), len(m))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestFragments(t *testing.T) {
	srv := serve(t, ws.Options{}, func(c *ws.Conn) { _ = echo(c) })
	big := bytes.Repeat([]byte("0123456789"), 1000)
	tests := []struct {
		name   string
		frames [][]byte
		wantOp byte
		want   []byte
		pongs  int
	}{
		{
			name:   "three fragments",
			frames: [][]byte{clientFrame(opText, []byte("hel"), true), clientFrame(opCont, []byte("lo "), true), clientFrame(fin|opCont, []byte("world"), true)},
			wantOp: opText, want: []byte("hello world"),
		},
		{
			name:   "rune split across fragments",
			frames: [][]byte{clientFrame(opText, []byte("caf\xc3"), true), clientFrame(fin|opCont, []byte("\xa9"), true)},
			wantOp: opText, want: []byte("café"),
		},
		{
			name:   "ping between fragments",
			frames: [][]byte{clientFrame(opBinary, big[:4000], true), clientFrame(fin|opPing, []byte("p1"), true), clientFrame(opCont, big[4000:9000], true), clientFrame(fin|opCont, big[9000:], true)},
			wantOp: opBinary, want: big, pongs: 1,
		},
		{
			name:   "empty fragments",
			frames: [][]byte{clientFrame(opBinary, nil, true), clientFrame(opCont, nil, true), clientFrame(fin|opCont, []byte("x"), true)},
			wantOp: opBinary, want: []byte("x"),
		},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				rc := dialRaw(t, srv, nil)
				if split {
					// Byte by byte: every header and payload straddles reads.
					for _, f := range tt.frames {
						for i := range f {
							if _, err := rc.Write(f[i : i+1]); err != nil {
								t.Fatal(err)
							}
						}
					}
				} else if _, err := rc.Write(bytes.Join(tt.frames, nil)); err != nil {
					t.Fatal(err)
				}
				pongs := 0
				for {
					op, p, err := rc.readFrame()
					if err != nil {
						t.Fatal(err)
					}
					if op == opPong {
						if string(p) != "p1" {
							t.Errorf("pong payload %q, want p1", p)
						}
						pongs++
						continue
					}
					if op != tt.wantOp || !bytes.Equal(p, tt.want) {
						t.Fatalf("echo op %d %q..., want op %d %d bytes", op, p[:min(len(p), 20)], tt.wantOp, len(tt.want))
					}
					break
				}
				if pongs != tt.pongs {
					t.Errorf("%d pongs, want %d", pongs, tt.pongs)
				}
			})
		}
	}
}

func TestClientPing(t *testing.T) {
	srv := serve(t, ws.Options{}, func(c *ws.Conn) { _ = echo(c) })
	cc := dial(t, srv)
	go func() { _, _, _ = cc.Read(ctx(t)) }() // coder needs a reader to see the pong
	for range 3 {
		if err := cc.Ping(ctx(t)); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
}

func TestServerPing(t *testing.T) {
	res := make(chan error, 1)
	srv := serve(t, ws.Options{}, func(c *ws.Conn) {
		before := c.LastRead()
		time.Sleep(2 * time.Millisecond)
		if err := c.Ping(); err != nil {
			res <- err
			return
		}
		if err := c.Wait(); err != nil {
			res <- err
			return
		}
		typ, data, err := c.ReadMessage()
		switch {
		case err != nil:
			res <- err
		case typ != 0 || data != nil:
			res <- errors.New("a pong alone should read as (0, nil, nil)")
		case c.LastRead() <= before:
			res <- errors.New("LastRead did not advance")
		default:
			res <- nil
		}
		c.Release()
		_ = echo(c)
	})
	cc := dial(t, srv)
	go func() { _, _, _ = cc.Read(ctx(t)) }() // answers the ping
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

func TestServerClose(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes: cut on a rune boundary
	tests := []struct {
		name       string
		code       ws.StatusCode
		reason     string
		wantReason string
	}{
		{"replaced", 4001, "replaced", "replaced"},
		{"long reason", 4002, long, long[:122]},
		{"going away", ws.StatusGoingAway, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := make(chan error, 1)
			srv := serve(t, ws.Options{CloseTimeout: 10 * time.Second}, func(c *ws.Conn) {
				if err := c.Close(tt.code, tt.reason); err != nil {
					res <- err
					return
				}
				if err := c.Close(tt.code, tt.reason); err != nil {
					res <- errors.New("second Close: " + err.Error())
					return
				}
				if err := c.Write(ws.MessageBinary, []byte("x")); !errors.Is(err, ws.ErrClosed) {
					res <- errors.New("Write after Close did not return ErrClosed")
					return
				}
				res <- echo(c)
			})
			cc := dial(t, srv)
			start := time.Now()
			_, _, err := cc.Read(ctx(t))
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("client read: %v, want a CloseError", err)
			}
			if ce.Code != websocket.StatusCode(tt.code) || ce.Reason != tt.wantReason {
				t.Errorf("client saw close %d %q, want %d %q", ce.Code, ce.Reason, tt.code, tt.wantReason)
			}
			if !utf8.ValidString(ce.Reason) {
				t.Errorf("reason is not UTF-8")
			}
			// The client's reply completes the handshake: the server sees
			// its own code echoed and drops TCP long before CloseTimeout.
			serr := <-res
			if ws.CloseStatus(serr) != tt.code {
				t.Errorf("server reader ended with %v, want CloseError %d", serr, tt.code)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("handshake took %v", d)
			}
		})
	}
}

func TestCloseTimeout(t *testing.T) {
	res := make(chan error, 1)
	srv := serve(t, ws.Options{CloseTimeout: 100 * time.Millisecond}, func(c *ws.Conn) {
		_ = c.Close(4001, "bye")
		start := time.Now()
		err := echo(c) // the raw peer never answers the close
		if !errors.Is(err, ws.ErrClosed) {
			res <- errors.New("reader ended with " + err.Error())
			return
		}
		if d := time.Since(start); d > 2*time.Second {
			res <- errors.New("drop took " + d.String())
			return
		}
		// The socket is shut down, not closed: a poller watching it must
		// let go of it before its descriptor number can be reused.
		raw, ok := c.SyscallConn()
		if !ok {
			res <- errors.New("no syscall conn on a TCP socket")
			return
		}
		if err := raw.Control(func(uintptr) {}); err != nil {
			res <- errors.New("socket closed before CloseNow: " + err.Error())
			return
		}
		_ = c.CloseNow()
		if err := raw.Control(func(uintptr) {}); err == nil {
			res <- errors.New("socket still open after CloseNow")
			return
		}
		res <- nil
	})
	rc := dialRaw(t, srv, nil)
	if code, _, err := rc.readClose(); err != nil || code != 4001 {
		t.Fatalf("close %d, %v", code, err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if _, err := rc.br.ReadByte(); err == nil {
		t.Error("TCP still open after CloseTimeout")
	}
}

func TestPeerClose(t *testing.T) {
	res := make(chan error, 1)
	srv := serve(t, ws.Options{}, func(c *ws.Conn) {
		err := echo(c)
		res <- err
		if err2 := c.Wait(); !errors.Is(err2, ws.ErrClosed) {
			t.Errorf("Wait after close: %v", err2)
		}
	})
	cc := dial(t, srv)
	if err := cc.Write(ctx(t), websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cc.Read(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := cc.Close(4002, "device removed"); err != nil {
		t.Errorf("client Close: %v (the server should answer the close)", err)
	}
	err := <-res
	var ce ws.CloseError
	if !errors.As(err, &ce) || ce.Code != 4002 || ce.Reason != "device removed" {
		t.Errorf("server got %v, want CloseError 4002", err)
	}
}

func TestMessageTooBig(t *testing.T) {
	srv := serve(t, ws.Options{MaxMessageBytes: 1000}, func(c *ws.Conn) { _ = echo(c) })
	t.Run("whole", func(t *testing.T) {
		cc := dial(t, srv)
		if err := cc.Write(ctx(t), websocket.MessageBinary, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := cc.Read(ctx(t)); err != nil || len(got) != 1000 {
			t.Fatalf("1000 bytes: %d, %v", len(got), err)
		}
		_ = cc.Write(ctx(t), websocket.MessageBinary, make([]byte, 1001))
		_, _, err := cc.Read(ctx(t))
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Errorf("client got %v, want close 1009", err)
		}
	})
	t.Run("fragments", func(t *testing.T) {
		rc := dialRaw(t, srv, nil)
		_, _ = rc.Write(clientFrame(opBinary, make([]byte, 600), true))
		_, _ = rc.Write(clientFrame(fin|opCont, make([]byte, 401), true))
		if code, _, err := rc.readClose(); code != 1009 {
			t.Errorf("close %d (%v), want 1009", code, err)
		}
	})
}

// TestUpgradeLeftover: frames sent in the same write as the request sit in
// the HTTP server's buffer and must be read first.
func TestUpgradeLeftover(t *testing.T) {
	srv := serve(t, ws.Options{}, func(c *ws.Conn) {
		if !c.Buffered() {
			t.Error("frames behind the request are not buffered")
		}
		_ = echo(c)
	})
	extra := append(clientFrame(fin|opText, []byte("first"), true), clientFrame(fin|opBinary, []byte("second"), true)...)
	rc := dialRaw(t, srv, extra)
	for _, want := range []string{"first", "second"} {
		_, p, err := rc.readFrame()
		if err != nil || string(p) != want {
			t.Fatalf("got %q, %v; want %q", p, err, want)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		bytes []byte
		code  int
		is    error
	}{
		{"unmasked frame", clientFrame(fin|opBinary, []byte("x"), false), 1002, ws.ErrProtocol},
		{"rsv1", clientFrame(fin|0x40|opBinary, []byte("x"), true), 1002, ws.ErrProtocol},
		{"rsv3", clientFrame(fin|0x10|opText, []byte("x"), true), 1002, ws.ErrProtocol},
		{"reserved data opcode", clientFrame(fin|0x3, []byte("x"), true), 1002, ws.ErrProtocol},
		{"reserved control opcode", clientFrame(fin|0xB, nil, true), 1002, ws.ErrProtocol},
		{"fragmented ping", clientFrame(opPing, []byte("x"), true), 1002, ws.ErrProtocol},
		{"fragmented close", clientFrame(opClose, closePayload(1000, ""), true), 1002, ws.ErrProtocol},
		{"ping over 125", clientFrame(fin|opPing, make([]byte, 126), true), 1002, ws.ErrProtocol},
		{"continuation without start", clientFrame(fin|opCont, []byte("x"), true), 1002, ws.ErrProtocol},
		{"new message mid fragments", append(clientFrame(opText, []byte("a"), true), clientFrame(fin|opText, []byte("b"), true)...), 1002, ws.ErrProtocol},
		{"invalid UTF-8 text", clientFrame(fin|opText, []byte("a\xff"), true), 1007, ws.ErrInvalidData},
		{"truncated rune in text", clientFrame(fin|opText, []byte("caf\xc3"), true), 1007, ws.ErrInvalidData},
		{"close of 1 byte", clientFrame(fin|opClose, []byte{3}, true), 1002, ws.ErrProtocol},
		{"close code 1005", clientFrame(fin|opClose, closePayload(1005, ""), true), 1002, ws.ErrProtocol},
		{"close code 999", clientFrame(fin|opClose, closePayload(999, ""), true), 1002, ws.ErrProtocol},
		{"close code 2000", clientFrame(fin|opClose, closePayload(2000, ""), true), 1002, ws.ErrProtocol},
		{"close code 5000", clientFrame(fin|opClose, closePayload(5000, ""), true), 1002, ws.ErrProtocol},
		{"close reason not UTF-8", clientFrame(fin|opClose, closePayload(1000, "\xc0"), true), 1007, ws.ErrInvalidData},
		{"64-bit length with top bit", []byte{fin | opBinary, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, 1002, ws.ErrProtocol},
		{"64-bit length over the limit", []byte{fin | opBinary, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}, 1009, ws.ErrMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := make(chan error, 1)
			srv := serve(t, ws.Options{}, func(c *ws.Conn) {
				err := echo(c)
				res <- err
				_ = c.CloseNow()
			})
			rc := dialRaw(t, srv, nil)
			if _, err := rc.Write(tt.bytes); err != nil {
				t.Fatal(err)
			}
			code, _, err := rc.readClose()
			if err != nil {
				t.Fatalf("reading the close frame: %v", err)
			}
			if code != tt.code {
				t.Errorf("close code %d, want %d", code, tt.code)
			}
			serr := <-res
			if !errors.Is(serr, tt.is) || ws.CloseStatus(serr) != ws.StatusCode(tt.code) {
				t.Errorf("server error %v, want %v with code %d", serr, tt.is, tt.code)
			}
		})
	}
}

func TestReadTimeout(t *testing.T) {
	res := make(chan error, 1)
	srv := serve(t, ws.Options{ReadTimeout: 100 * time.Millisecond}, func(c *ws.Conn) { res <- echo(c) })
	rc := dialRaw(t, srv, nil)
	// A whole message first: an idle gap after it must not time out.
	if _, err := rc.Write(clientFrame(fin|opText, []byte("ok"), true)); err != nil {
		t.Fatal(err)
	}
	if _, p, err := rc.readFrame(); err != nil || string(p) != "ok" {
		t.Fatalf("%q %v", p, err)
	}
	time.Sleep(300 * time.Millisecond)
	f := clientFrame(fin|opBinary, make([]byte, 100), true)
	start := time.Now()
	if _, err := rc.Write(f[:50]); err != nil { // and never the rest
		t.Fatal(err)
	}
	if code, _, err := rc.readClose(); code != 1008 {
		t.Errorf("close %d (%v), want 1008", code, err)
	}
	err := <-res
	if !errors.Is(err, ws.ErrReadTimeout) {
		t.Errorf("server error %v, want ErrReadTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed out after %v", d)
	}
}

func TestUpgradeRejects(t *testing.T) {
	good := func() http.Header {
		return http.Header{
			"Connection":            {"keep-alive, Upgrade"},
			"Upgrade":               {"websocket"},
			"Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		}
	}
	tests := []struct {
		name   string
		method string
		edit   func(http.Header)
		status int
	}{
		{"valid", "GET", func(http.Header) {}, 101},
		{"valid with deflate offer", "GET", func(h http.Header) { h.Set("Sec-WebSocket-Extensions", "permessage-deflate") }, 101},
		{"POST", "POST", func(http.Header) {}, 400},
		{"no Connection upgrade", "GET", func(h http.Header) { h.Set("Connection", "keep-alive") }, 400},
		{"no Upgrade", "GET", func(h http.Header) { h.Del("Upgrade") }, 400},
		{"Upgrade h2c", "GET", func(h http.Header) { h.Set("Upgrade", "h2c") }, 400},
		{"version 8", "GET", func(h http.Header) { h.Set("Sec-WebSocket-Version", "8") }, 426},
		{"no version", "GET", func(h http.Header) { h.Del("Sec-WebSocket-Version") }, 426},
		{"no key", "GET", func(h http.Header) { h.Del("Sec-WebSocket-Key") }, 400},
		{"short key", "GET", func(h http.Header) { h.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, 400},
		{"key not base64", "GET", func(h http.Header) { h.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }, 400},
	}
	upgraded := make(chan *ws.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := ws.Upgrade(w, r, ws.Options{}); err == nil {
			upgraded <- c
		}
	}))
	defer srv.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL, nil)
			req.Header = good()
			tt.edit(req.Header)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Errorf("426 without Sec-WebSocket-Version: 13")
			}
			if tt.status == 101 {
				if resp.Header.Get("Sec-WebSocket-Extensions") != "" {
					t.Errorf("extension negotiated")
				}
				(<-upgraded).CloseNow()
			}
		})
	}
}

func TestWait(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		name := "tcp"
		if tlsOn {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			conns := make(chan *ws.Conn, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c, err := ws.Upgrade(w, r, ws.Options{}); err == nil {
					conns <- c
				}
			})
			var srv *httptest.Server
			var dialer net.Conn
			if tlsOn {
				srv = httptest.NewTLSServer(h)
				tc, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					t.Fatal(err)
				}
				dialer = tc
			} else {
				srv = httptest.NewServer(h)
				nc, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				dialer = nc
			}
			defer srv.Close()
			defer dialer.Close()
			if _, err := dialer.Write([]byte(upgradeRequest)); err != nil {
				t.Fatal(err)
			}
			c := <-conns
			if _, ok := c.SyscallConn(); ok == tlsOn {
				t.Fatalf("SyscallConn ok=%v on %s", ok, name)
			}
			// Skip the 101.
			buf := make([]byte, 4096)
			if n, err := dialer.Read(buf); err != nil || !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101")) {
				t.Fatalf("%q %v", buf[:n], err)
			}
			waited := make(chan error, 1)
			go func() { waited <- c.Wait() }()
			select {
			case err := <-waited:
				t.Fatalf("Wait returned %v while idle", err)
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := dialer.Write(clientFrame(fin|opText, []byte("hi"), true)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-waited:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Wait did not return when bytes arrived")
			}
			if err := c.Wait(); err != nil { // still readable: returns at once
				t.Fatal(err)
			}
			typ, data, err := c.ReadMessage()
			if err != nil || typ != ws.MessageText || string(data) != "hi" {
				t.Fatalf("ReadMessage %v %q %v", typ, data, err)
			}
			c.Release()
			if c.Buffered() {
				t.Fatal("Buffered after the only message was read")
			}
			go func() { waited <- c.Wait() }()
			dialer.Close()
			select {
			case err := <-waited:
				if err == nil {
					// The TLS close_notify is readable data to Wait; the
					// read after it sees the end.
					_, _, err = c.ReadMessage()
				}
				if err == nil {
					t.Fatal("no error after the peer disconnected")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Wait did not return after the peer disconnected")
			}
			if err := c.Wait(); err == nil {
				t.Fatal("Wait on a dead conn returned nil")
			}
		})
	}
}

func TestWriteTimeout(t *testing.T) {
	base := runtime.NumGoroutine()
	res := make(chan error, 1)
	var took time.Duration
	srv := serve(t, ws.Options{WriteTimeout: 200 * time.Millisecond}, func(c *ws.Conn) {
		frame := make([]byte, 256<<10)
		for i := 0; ; i++ {
			start := time.Now()
			if err := c.Write(ws.MessageBinary, frame); err != nil {
				took = time.Since(start)
				if i == 0 {
					err = errors.New("the first write failed: " + err.Error())
				}
				res <- err
				return
			}
		}
	})
	rc := dialRaw(t, srv, nil) // and never reads
	select {
	case err := <-res:
		if !errors.Is(err, ws.ErrWriteTimeout) {
			t.Errorf("write error %v, want ErrWriteTimeout", err)
		}
		if took > 2*time.Second {
			t.Errorf("failing write took %v", took)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("writes to a peer that never reads did not fail")
	}
	// The server dropped TCP.
	_ = rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, rc); err != nil && !isReset(err) {
		t.Errorf("draining: %v", err)
	}
	rc.Close()
	srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines, %d before", n, base)
	}
}

func isReset(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || strings.Contains(err.Error(), "reset")
}

// TestConcurrentWriters: frames from many goroutines never interleave.
func TestConcurrentWriters(t *testing.T) {
	srv := serve(t, ws.Options{}, func(c *ws.Conn) {
		done := make(chan struct{})
		for g := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				msg := bytes.Repeat([]byte{byte(g)}, 1000+g*10000)
				for range 50 {
					if c.Write(ws.MessageBinary, msg) != nil {
						return
					}
				}
			}()
		}
		go func() {
			for range 100 {
				if c.Ping() != nil {
					return
				}
			}
		}()
		for range 8 {
			<-done
		}
		_ = echo(c)
	})
	cc := dial(t, srv)
	for range 8 * 50 {
		_, p, err := cc.Read(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		g := int(p[0])
		if len(p) != 1000+g*10000 || bytes.Count(p, p[:1]) != len(p) {
			t.Fatalf("garbled message from writer %d", g)
		}
	}
}
