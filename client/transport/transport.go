// Package transport speaks Parley's wire protocol over a WebSocket: it dials
// /v1/ws, negotiates the version, matches responses to requests by id, and
// hands everything the server pushes to the caller. It knows nothing of
// encryption; the client SDK builds on it, and tests use it to drive the
// server frame by frame.
package transport

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Version is the protocol version this package speaks.
const Version = 1

// ErrClosed is returned for calls on a connection that has ended.
var ErrClosed = errors.New("transport: connection closed")

// ServerError is an error response from the server.
type ServerError struct{ E *wirepb.Error }

func (e *ServerError) Error() string {
	return fmt.Sprintf("server: %s: %s", e.E.Code, e.E.Message)
}

// Code returns the error's registry code.
func (e *ServerError) Code() wirepb.ErrorCode { return e.E.Code }

// CodeOf returns the server error code inside err, or UNSPECIFIED.
func CodeOf(err error) wirepb.ErrorCode {
	var se *ServerError
	if errors.As(err, &se) {
		return se.E.Code
	}
	return wirepb.ErrorCode_ERROR_CODE_UNSPECIFIED
}

// Options tune Dial.
type Options struct {
	UserAgent  string
	HTTPClient *http.Client
	// Events is the buffer for pushed frames. Default 1024. A caller that
	// does not read them stalls the connection, as a slow device would.
	Events int
}

// Conn is one connection to a Parley server.
type Conn struct {
	ws     *websocket.Conn
	hello  *wirepb.HelloResult
	nextID atomic.Uint64
	events chan *wirepb.ServerFrame

	mu      sync.Mutex
	pending map[uint64]chan *wirepb.Response
	err     error
	done    chan struct{}
}

// Dial connects to url (ws://host:port/v1/ws or wss://...) and says Hello.
func Dial(ctx context.Context, url string, o *Options) (*Conn, error) {
	if o == nil {
		o = &Options{}
	}
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: o.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("transport: dial: %w", err)
	}
	ws.SetReadLimit(16 << 20)
	n := o.Events
	if n == 0 {
		n = 1024
	}
	c := &Conn{ws: ws, events: make(chan *wirepb.ServerFrame, n), pending: make(map[uint64]chan *wirepb.Response), done: make(chan struct{})}
	go c.read()
	res, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Hello{Hello: &wirepb.Hello{
		MinVersion: Version, MaxVersion: Version, UserAgent: o.UserAgent}}})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.hello = res.GetHello()
	if c.hello == nil {
		c.Close()
		return nil, errors.New("transport: hello answered without a result")
	}
	return c, nil
}

// Hello is the server's answer to the handshake.
func (c *Conn) Hello() *wirepb.HelloResult { return c.hello }

func (c *Conn) read() {
	defer close(c.events)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.fail(err)
			return
		}
		f := new(wirepb.ServerFrame)
		if err := proto.Unmarshal(data, f); err != nil {
			c.fail(fmt.Errorf("transport: undecodable server frame: %w", err))
			c.ws.Close(websocket.StatusProtocolError, "bad frame")
			return
		}
		if r := f.GetResponse(); r != nil && r.Id != 0 {
			c.mu.Lock()
			ch := c.pending[r.Id]
			delete(c.pending, r.Id)
			c.mu.Unlock()
			if ch != nil {
				ch <- r
				continue
			}
		}
		select {
		case c.events <- f:
		case <-c.done:
			return
		}
	}
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// Err is why the connection ended (a websocket.CloseError when the server
// closed it), or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseStatus is the WebSocket close code the server ended with, or -1.
func (c *Conn) CloseStatus() websocket.StatusCode { return websocket.CloseStatus(c.Err()) }

// Events delivers every frame the server pushes (and responses to requests
// sent with id 0, which are errors). It is closed when the connection ends.
func (c *Conn) Events() <-chan *wirepb.ServerFrame { return c.events }

// Call sends f with a fresh request id and waits for its response. An error
// response comes back as a *ServerError.
func (c *Conn) Call(ctx context.Context, f *wirepb.ClientFrame) (*wirepb.Response, error) {
	f.Id = c.nextID.Add(1)
	ch := make(chan *wirepb.Response, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.pending[f.Id] = ch
	c.mu.Unlock()
	if err := c.Post(ctx, f); err != nil {
		c.mu.Lock()
		delete(c.pending, f.Id)
		c.mu.Unlock()
		return nil, err
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return r, &ServerError{E: r.Error}
		}
		return r, nil
	case <-c.done:
		return nil, fmt.Errorf("%w: %v", ErrClosed, c.Err())
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, f.Id)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Post sends f as it is, without waiting for an answer.
func (c *Conn) Post(ctx context.Context, f *wirepb.ClientFrame) error {
	data, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	return c.WriteRaw(ctx, data)
}

// WriteRaw sends bytes as one binary frame, for tests of malformed input.
func (c *Conn) WriteRaw(ctx context.Context, data []byte) error {
	if err := c.ws.Write(ctx, websocket.MessageBinary, data); err != nil {
		return fmt.Errorf("transport: write: %w", err)
	}
	return nil
}

// Authenticate proves the device with its auth key.
func (c *Conn) Authenticate(ctx context.Context, a types.Address, key ed25519.PrivateKey) (*wirepb.AuthResult, error) {
	sig := ed25519.Sign(key, wirepb.AuthMessage(c.hello.Challenge, a.Account, uint32(a.Device)))
	res, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Authenticate{Authenticate: &wirepb.Authenticate{
		AccountId: a.Account[:], DeviceId: uint32(a.Device), Signature: sig}}})
	if err != nil {
		return nil, err
	}
	return res.GetAuth(), nil
}

// Close ends the connection normally.
func (c *Conn) Close() error {
	c.fail(ErrClosed)
	return c.ws.Close(websocket.StatusNormalClosure, "")
}
