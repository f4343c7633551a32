package ws

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// ErrHandshake is wrapped by the errors Upgrade returns for a request that
// is not a valid WebSocket opening handshake.
var ErrHandshake = errors.New("ws: bad handshake")

// acceptGUID is the fixed string RFC 6455 section 1.3 appends to the key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Upgrade checks that r is a WebSocket opening handshake, answers 101 and
// takes over the connection. A bad request is answered with 400, a wrong
// version with 426, and an error is returned. Compression offers are
// ignored; no subprotocol is chosen; the origin is not checked (clients
// authenticate with a device proof, not cookies).
func Upgrade(w http.ResponseWriter, r *http.Request, o Options) (*Conn, error) {
	key, status, err := checkHandshake(r)
	if err != nil {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, err.Error(), status)
		return nil, err
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: connection cannot be taken over", http.StatusInternalServerError)
		return nil, fmt.Errorf("%w: response writer %T cannot hijack", ErrHandshake, w)
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("ws: hijack: %w", err)
	}
	// The server may have left deadlines armed (ReadTimeout, WriteTimeout).
	_ = nc.SetDeadline(time.Time{})

	// A client may send its first frames right behind the request; they sit
	// in the server's 4 KiB bufio.Reader, which must not be kept.
	var left []byte
	if n := rw.Reader.Buffered(); n > 0 {
		left, _ = rw.Reader.Peek(n) // cannot fail: the bytes are buffered
	}

	var resp [160]byte
	b := append(resp[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = appendAccept(b, key)
	b = append(b, "\r\n\r\n"...)
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, fmt.Errorf("ws: writing handshake response: %w", err)
	}
	// newConn copies left into a pooled read buffer; rw is dropped here.
	return newConn(nc, left, o), nil
}

// checkHandshake validates the opening handshake (RFC 6455 section 4.2.1)
// and returns the client's key.
func checkHandshake(r *http.Request) (key string, status int, err error) {
	bad := func(format string, args ...any) (string, int, error) {
		return "", http.StatusBadRequest, fmt.Errorf("%w: "+format, append([]any{ErrHandshake}, args...)...)
	}
	if r.Method != http.MethodGet {
		return bad("method %s, want GET", r.Method)
	}
	if !r.ProtoAtLeast(1, 1) || r.ProtoMajor != 1 {
		return bad("protocol %s, want HTTP/1.1", r.Proto)
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return bad("Connection header lacks upgrade")
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return bad("Upgrade header lacks websocket")
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return "", http.StatusUpgradeRequired, fmt.Errorf("%w: Sec-WebSocket-Version %q, want 13", ErrHandshake, v)
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return bad("%d Sec-WebSocket-Key headers, want 1", len(keys))
	}
	key = strings.TrimSpace(keys[0])
	var raw [18]byte
	if len(key) != 24 {
		return bad("Sec-WebSocket-Key is not 16 bytes of base64")
	}
	if n, err := base64.StdEncoding.Decode(raw[:], []byte(key)); err != nil || n != 16 {
		return bad("Sec-WebSocket-Key is not 16 bytes of base64")
	}
	return key, 0, nil
}

// headerHasToken reports whether a comma-separated header contains token,
// ignoring case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// appendAccept appends the Sec-WebSocket-Accept value for key.
func appendAccept(b []byte, key string) []byte {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.AppendEncode(b, h.Sum(sum[:0]))
}

func newConn(nc net.Conn, left []byte, o Options) *Conn {
	c := &Conn{nc: nc, o: o.withDefaults()}
	if len(left) > 0 {
		c.rb = getBuf(len(left))
		c.w = copy(c.rb.b, left)
	}
	if sc, ok := nc.(syscall.Conn); ok && pollable {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.lastRead.Store(time.Now().UnixNano())
	return c
}
