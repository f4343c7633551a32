package loadgen

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
)

// The idle mix holds its connections with the minimal WebSocket client of
// this file rather than client/transport: it costs a held connection no
// buffer, goroutine or timer, so that the load generator's memory per
// connection is far below the server's and does not bound the count. It
// speaks just what the bench needs of RFC 6455: the opening handshake,
// unfragmented binary frames, ping and close.

// Opcodes (RFC 6455 section 5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

const (
	// maxServerFrame bounds a frame from the server, as client/transport's
	// read limit does.
	maxServerFrame = 16 << 20
	// maxUpgradeResponse bounds the server's answer to the opening
	// handshake.
	maxUpgradeResponse = 4 << 10
	// wsGUID is the fixed string RFC 6455 section 1.3 appends to the key.
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// errFrame is wrapped by every error about bytes the server sent.
var errFrame = errors.New("loadgen: bad WebSocket frame from the server")

// wsFrame is one frame from the server; payload points into the buffer it
// was parsed from.
type wsFrame struct {
	op      byte
	payload []byte
}

// parseFrame parses the server frame at the start of b. It returns the
// frame and its length, or n == 0 when b holds only part of it; need is
// then the length of the whole frame once its header is complete (0 while
// even the header is not). The server never fragments a message, never
// masks and negotiates no extension, so each of those is an error here, as
// are control frames RFC 6455 forbids and frames above limit.
func parseFrame(b []byte, limit int) (f wsFrame, n, need int, err error) {
	if len(b) < 2 {
		return wsFrame{}, 0, 0, nil
	}
	b0, b1 := b[0], b[1]
	op := b0 & 0x0f
	switch {
	case b0&0x70 != 0:
		return wsFrame{}, 0, 0, fmt.Errorf("%w: reserved bits set", errFrame)
	case b1&0x80 != 0:
		return wsFrame{}, 0, 0, fmt.Errorf("%w: masked", errFrame)
	case b0&0x80 == 0 || op == opCont:
		return wsFrame{}, 0, 0, fmt.Errorf("%w: fragmented", errFrame)
	}
	switch op {
	case opText, opBinary, opClose, opPing, opPong:
	default:
		return wsFrame{}, 0, 0, fmt.Errorf("%w: opcode %#x", errFrame, op)
	}
	hdr := 2
	size := uint64(b1 & 0x7f)
	switch size {
	case 126:
		if len(b) < 4 {
			return wsFrame{}, 0, 0, nil
		}
		hdr, size = 4, uint64(binary.BigEndian.Uint16(b[2:]))
		if size < 126 {
			return wsFrame{}, 0, 0, fmt.Errorf("%w: length not in its shortest form", errFrame)
		}
	case 127:
		if len(b) < 10 {
			return wsFrame{}, 0, 0, nil
		}
		hdr, size = 10, binary.BigEndian.Uint64(b[2:])
		if size <= 0xffff {
			return wsFrame{}, 0, 0, fmt.Errorf("%w: length not in its shortest form", errFrame)
		}
	}
	if op >= opClose && size > 125 {
		return wsFrame{}, 0, 0, fmt.Errorf("%w: control frame of %d bytes", errFrame, size)
	}
	if size > uint64(limit) {
		return wsFrame{}, 0, 0, fmt.Errorf("%w: %d bytes, above the limit of %d", errFrame, size, limit)
	}
	total := hdr + int(size)
	if len(b) < total {
		return wsFrame{}, 0, total, nil
	}
	return wsFrame{op: op, payload: b[hdr:total:total]}, total, total, nil
}

// closeCode is the status code of a close frame's payload: 1005 (none
// given) for an empty one, as RFC 6455 section 7.1.5 says.
func closeCode(payload []byte) int {
	if len(payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(payload))
}

// appendClientFrame appends one unfragmented frame, masked with key as a
// client's must be (RFC 6455 section 5.3).
func appendClientFrame(dst []byte, op byte, payload []byte, key [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range dst[start:] {
		dst[start+i] ^= key[i&3]
	}
	return dst
}

// newMaskKey returns a frame's masking key. The mask only keeps a client's
// bytes from steering a confused proxy's cache; a load generator on
// loopback needs no cryptographic randomness for it.
func newMaskKey() (k [4]byte) {
	binary.LittleEndian.PutUint32(k[:], mrand.Uint32())
	return k
}

// newUpgradeKey returns a Sec-WebSocket-Key and the Sec-WebSocket-Accept
// the server must answer it with.
func newUpgradeKey() (key, accept string) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:], mrand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], mrand.Uint64())
	key = base64.StdEncoding.EncodeToString(raw[:])
	return key, acceptFor(key)
}

func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// appendUpgradeRequest appends the opening handshake for path on host.
func appendUpgradeRequest(dst []byte, host, path, key string) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUser-Agent: parley-bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	return append(dst, "\r\n\r\n"...)
}

// errUpgrade is wrapped by every error about the server's answer to the
// opening handshake.
var errUpgrade = errors.New("loadgen: WebSocket upgrade refused")

// parseUpgradeResponse checks the server's answer to the opening handshake
// at the start of b: status 101, Upgrade: websocket, Connection: upgrade
// and the Sec-WebSocket-Accept that goes with accept. It returns the length
// of the header block, or 0 when b does not hold all of it yet; the bytes
// after it are the first frames.
func parseUpgradeResponse(b []byte, accept string) (int, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) >= maxUpgradeResponse {
			return 0, fmt.Errorf("%w: the response header is over %d bytes", errUpgrade, maxUpgradeResponse)
		}
		return 0, nil
	}
	if end+4 > maxUpgradeResponse {
		return 0, fmt.Errorf("%w: the response header is over %d bytes", errUpgrade, maxUpgradeResponse)
	}
	lines := bytes.Split(b[:end], []byte("\r\n"))
	status := lines[0]
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("%w: status line %q", errUpgrade, truncate(status))
	}
	if code := status[len("HTTP/1.1 "):]; !bytes.HasPrefix(code, []byte("101")) || (len(code) > 3 && code[3] != ' ') {
		return 0, fmt.Errorf("%w: status %q", errUpgrade, truncate(code))
	}
	var upgrade, connection, accepted bool
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("%w: header line %q", errUpgrade, truncate(l))
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Upgrade"):
			upgrade = asciiEqualFold(value, "websocket")
		case asciiEqualFold(name, "Connection"):
			for t := range bytes.SplitSeq(value, []byte(",")) {
				connection = connection || asciiEqualFold(bytes.TrimSpace(t), "upgrade")
			}
		case asciiEqualFold(name, "Sec-WebSocket-Accept"):
			if accepted {
				return 0, fmt.Errorf("%w: two Sec-WebSocket-Accept headers", errUpgrade)
			}
			if string(value) != accept {
				return 0, fmt.Errorf("%w: wrong Sec-WebSocket-Accept", errUpgrade)
			}
			accepted = true
		case asciiEqualFold(name, "Sec-WebSocket-Extensions"), asciiEqualFold(name, "Sec-WebSocket-Protocol"):
			// Neither was offered, so the server may not choose one.
			return 0, fmt.Errorf("%w: %s chosen, none was offered", errUpgrade, truncate(name))
		}
	}
	if !upgrade || !connection || !accepted {
		return 0, fmt.Errorf("%w: Upgrade %v, Connection %v, Sec-WebSocket-Accept %v", errUpgrade, upgrade, connection, accepted)
	}
	return end + 4, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// truncate keeps an error message about the server's bytes short.
func truncate(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
