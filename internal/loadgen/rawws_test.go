package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/gateway/ws"
)

// serverFrame is a frame as a server writes it: unmasked, unfragmented.
func serverFrame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
	return append(b, payload...)
}

func TestParseFrame(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 70000)
	for _, tc := range []struct {
		name    string
		in      []byte
		op      byte
		payload []byte
		n, need int
		bad     bool
	}{
		{name: "empty", in: nil},
		{name: "one byte", in: []byte{0x82}},
		{name: "binary", in: serverFrame(opBinary, []byte("abc")), op: opBinary, payload: []byte("abc"), n: 5, need: 5},
		{name: "binary and more", in: append(serverFrame(opBinary, []byte("abc")), 0x89), op: opBinary, payload: []byte("abc"), n: 5, need: 5},
		{name: "ping", in: serverFrame(opPing, []byte("x")), op: opPing, payload: []byte("x"), n: 3, need: 3},
		{name: "empty close", in: serverFrame(opClose, nil), op: opClose, payload: []byte{}, n: 2, need: 2},
		{name: "16-bit length", in: serverFrame(opBinary, big[:300]), op: opBinary, payload: big[:300], n: 304, need: 304},
		{name: "64-bit length", in: serverFrame(opBinary, big), op: opBinary, payload: big, n: 70010, need: 70010},
		{name: "partial payload", in: serverFrame(opBinary, big[:300])[:100], need: 304},
		{name: "partial 16-bit header", in: serverFrame(opBinary, big[:300])[:3]},
		{name: "partial 64-bit header", in: serverFrame(opBinary, big)[:9]},
		{name: "masked", in: []byte{0x82, 0x81, 1, 2, 3, 4, 5}, bad: true},
		{name: "reserved bit", in: []byte{0xc2, 0}, bad: true},
		{name: "fragment", in: []byte{0x02, 0}, bad: true},
		{name: "continuation", in: []byte{0x80, 0}, bad: true},
		{name: "unknown opcode", in: []byte{0x83, 0}, bad: true},
		{name: "long ping", in: serverFrame(opPing, big[:126]), bad: true},
		{name: "16-bit length not shortest", in: []byte{0x82, 126, 0, 5}, bad: true},
		{name: "64-bit length not shortest", in: []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, bad: true},
		{name: "64-bit length top bit", in: []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, bad: true},
		{name: "over the limit", in: []byte{0x82, 127, 0, 0, 0, 0, 0x01, 0, 0, 1}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n, need, err := parseFrame(tc.in, maxServerFrame)
			if tc.bad {
				if !errors.Is(err, errFrame) {
					t.Errorf("err %v, want errFrame", err)
				}
				return
			}
			if err != nil || n != tc.n || need != tc.need || f.op != tc.op || !bytes.Equal(f.payload, tc.payload) {
				t.Errorf("got op %#x payload %d bytes, n %d, need %d, err %v; want op %#x, %d bytes, n %d, need %d",
					f.op, len(f.payload), n, need, err, tc.op, len(tc.payload), tc.n, tc.need)
			}
		})
	}
}

// The frames the client writes are what RFC 6455 says: masked, with the
// length in its shortest form, and the payload comes back when unmasked.
func TestAppendClientFrame(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 0xffff, 0x10000} {
		payload := bytes.Repeat([]byte{0x5a}, size)
		key := [4]byte{1, 2, 3, 4}
		b := appendClientFrame(nil, opBinary, payload, key)
		if b[0] != 0x82 || b[1]&0x80 == 0 {
			t.Fatalf("%d bytes: header %x", size, b[:2])
		}
		// The parser refuses masked frames, so unmask into a server frame.
		hdr := map[bool]int{true: 2, false: 4}[size <= 125]
		if size > 0xffff {
			hdr = 10
		}
		got := append([]byte(nil), b[hdr+4:]...)
		for i := range got {
			got[i] ^= key[i&3]
		}
		plain := append([]byte{b[0], b[1] &^ 0x80}, b[2:hdr]...)
		f, n, _, err := parseFrame(append(plain, got...), maxServerFrame)
		if err != nil || n != hdr+size || !bytes.Equal(f.payload, payload) {
			t.Errorf("%d bytes: n %d, err %v", size, n, err)
		}
	}
}

func TestParseUpgradeResponse(t *testing.T) {
	key, accept := newUpgradeKey()
	if want := acceptFor(key); accept != want {
		t.Fatalf("accept %q, want %q", accept, want)
	}
	// RFC 6455 section 1.3's example.
	if got := acceptFor("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept of the RFC's key: %q", got)
	}
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
	for _, tc := range []struct {
		name string
		in   string
		n    int
		bad  bool
	}{
		{name: "good", in: good, n: len(good)},
		{name: "good with a frame behind", in: good + "\x89\x00", n: len(good)},
		{name: "odd case", in: strings.NewReplacer("Upgrade: websocket", "upgrade: WebSocket", "Connection: Upgrade", "CONNECTION: keep-alive, upgrade").Replace(good), n: len(good) + 12},
		{name: "incomplete", in: good[:40]},
		{name: "not 101", in: "HTTP/1.1 400 Bad Request\r\n\r\n", bad: true},
		{name: "1010", in: strings.Replace(good, "101 ", "1010 ", 1), bad: true},
		{name: "HTTP/1.0", in: strings.Replace(good, "HTTP/1.1", "HTTP/1.0", 1), bad: true},
		{name: "wrong accept", in: strings.Replace(good, accept, acceptFor("x"), 1), bad: true},
		{name: "no accept", in: strings.Replace(good, "Sec-WebSocket-Accept", "X-Accept", 1), bad: true},
		{name: "no upgrade", in: strings.Replace(good, "Upgrade: websocket\r\n", "", 1), bad: true},
		{name: "no connection", in: strings.Replace(good, "Connection: Upgrade\r\n", "", 1), bad: true},
		{name: "two accepts", in: strings.Replace(good, "\r\n\r\n", "\r\nSec-WebSocket-Accept: "+accept+"\r\n\r\n", 1), bad: true},
		{name: "extension", in: strings.Replace(good, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1), bad: true},
		{name: "header without colon", in: strings.Replace(good, "\r\n\r\n", "\r\nnonsense\r\n\r\n", 1), bad: true},
		{name: "too long", in: "HTTP/1.1 101 x\r\n" + strings.Repeat("X-Pad: y\r\n", 500), bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parseUpgradeResponse([]byte(tc.in), accept)
			if tc.bad {
				if !errors.Is(err, errUpgrade) {
					t.Errorf("n %d, err %v; want errUpgrade", n, err)
				}
				return
			}
			if err != nil || n != tc.n {
				t.Errorf("n %d, err %v; want %d", n, err, tc.n)
			}
		})
	}
}

// The client against the gateway's own server side (package ws): the
// handshake passes, and a ping the server sends is answered with a pong of
// the same payload, which the server reads as the peer being alive.
func TestRawClientAgainstGatewayWS(t *testing.T) {
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, ws.Options{})
		if err != nil {
			return
		}
		go func() {
			defer c.CloseNow()
			_ = c.Write(ws.MessageBinary, []byte("hello"))
			before := c.LastRead()
			_ = c.Ping()
			for c.Wait() == nil {
				typ, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if typ == 0 && c.LastRead() > before {
					got <- []byte("pong")
					continue
				}
				if typ != 0 {
					got <- append([]byte(nil), data...)
				}
				c.Release()
			}
		}()
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &rawConn{nc: nc}
	fr := frameReader{c: c, rb: readBufs.Get().(*rbuf)}
	defer fr.release()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	key, accept := newUpgradeKey()
	if _, err := nc.Write(appendUpgradeRequest(nil, u.Host, "/", key)); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := parseUpgradeResponse(fr.rb.b[:fr.w], accept)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			fr.r = n
			break
		}
		if err := fr.fill(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := fr.next(true)
	if err != nil || f.op != opBinary || string(f.payload) != "hello" {
		t.Fatalf("first frame %#x %q, %v", f.op, f.payload, err)
	}
	f, err = fr.next(true)
	if err != nil || f.op != opPing {
		t.Fatalf("second frame %#x, %v; want a ping", f.op, err)
	}
	if _, err := c.frame(f); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "pong" {
			t.Errorf("server got %q, want the pong", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server saw no pong")
	}
	if err := c.write(opBinary, []byte("back")); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "back" {
		t.Errorf("server got %q, want back", b)
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(serverFrame(opBinary, []byte("abc")))
	f.Add(serverFrame(opPing, []byte("p")))
	f.Add(serverFrame(opClose, []byte{3, 232}))
	f.Add(serverFrame(opBinary, bytes.Repeat([]byte{1}, 300)))
	f.Add(serverFrame(opBinary, bytes.Repeat([]byte{1}, 70000))[:20])
	f.Add([]byte{0x82, 0x81, 1, 2, 3, 4, 5})
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, need, err := parseFrame(b, 1<<16)
		if err != nil {
			if n != 0 || fr.payload != nil {
				t.Fatalf("error %v with n %d", err, n)
			}
			return
		}
		if n > len(b) || (n > 0 && need != n) || (n == 0 && need != 0 && need <= len(b)) || need > 1<<16+10 {
			t.Fatalf("n %d, need %d for %d bytes", n, need, len(b))
		}
		if n > 0 {
			if len(fr.payload) > n || (fr.op >= opClose && len(fr.payload) > 125) {
				t.Fatalf("op %#x, payload %d bytes, frame %d", fr.op, len(fr.payload), n)
			}
			// The parsed frame, written again by a server, is the same bytes.
			if again := serverFrame(fr.op, fr.payload); !bytes.Equal(again, b[:n]) {
				t.Fatalf("frame %x parsed as op %#x payload %x", b[:n], fr.op, fr.payload)
			}
		}
	})
}

func FuzzParseUpgradeResponse(f *testing.F) {
	accept := acceptFor("dGhlIHNhbXBsZSBub25jZQ==")
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n\x89\x00"))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101\r\nupgrade:websocket\r\nconnection: x, upgrade\r\nsec-websocket-accept:" + accept + "\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseUpgradeResponse(b, accept)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n %d", err, n)
			}
			return
		}
		if n > len(b) || n > maxUpgradeResponse || (n > 0 && !bytes.HasSuffix(b[:n], []byte("\r\n\r\n"))) {
			t.Fatalf("n %d of %d bytes", n, len(b))
		}
		if n > 0 && !bytes.Contains(b[:n], []byte(accept)) {
			t.Fatalf("accepted without the accept value: %q", b[:n])
		}
	})
}
