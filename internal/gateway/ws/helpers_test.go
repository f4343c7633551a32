package ws_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/internal/gateway/ws"
)

// serve starts an httptest server that upgrades every request and runs
// handle on the connection in the handler's goroutine.
func serve(t testing.TB, o ws.Options, handle func(*ws.Conn)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, o)
		if err != nil {
			return
		}
		handle(c)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// echo serves the way the gateway will: park in Wait, read what is
// buffered, give the buffer back. It returns the error that ended it.
func echo(c *ws.Conn) error {
	for {
		if err := c.Wait(); err != nil {
			return err
		}
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if typ != 0 {
				if err := c.Write(typ, data); err != nil {
					return err
				}
			}
			if !c.Buffered() {
				break
			}
		}
		c.Release()
	}
}

func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// dial connects a coder/websocket client, the library the Parley client
// uses.
func dial(t testing.TB, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(srv), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// rawClient speaks the wire format by hand, to send what no library would.
type rawClient struct {
	net.Conn
	br *bufio.Reader
}

const upgradeRequest = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

// dialRaw connects, sends the upgrade request followed by extra and checks
// the 101.
func dialRaw(t testing.TB, srv *httptest.Server, extra []byte) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if _, err := nc.Write(append([]byte(upgradeRequest), extra...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	// The key is RFC 6455's example, whose accept value it gives.
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Sec-WebSocket-Accept %q", got)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{Conn: nc, br: br}
}

// clientFrame builds a frame as a client sends it; b0 is FIN|RSV|opcode.
func clientFrame(b0 byte, payload []byte, masked bool) []byte {
	var f []byte
	f = append(f, b0)
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, m|byte(n))
	case n <= 0xffff:
		f = append(f, m|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, m|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

const (
	fin      = 0x80
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// readFrame reads one server frame, which must be unmasked and final.
func (rc *rawClient) readFrame() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 || h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("bad server frame header %x", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(rc.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(rc.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(rc.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, payload, nil
}

// readClose reads frames until a close frame and returns its code (1005
// for none).
func (rc *rawClient) readClose() (int, string, error) {
	for {
		op, p, err := rc.readFrame()
		if err != nil {
			return 0, "", err
		}
		if op != opClose {
			continue
		}
		if len(p) < 2 {
			return 1005, "", nil
		}
		return int(binary.BigEndian.Uint16(p)), string(p[2:]), nil
	}
}

// result carries what a server handler saw back to the test.
type result struct {
	typ  ws.MessageType
	data []byte
	err  error
}

func closeCode(err error) websocket.StatusCode {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}
