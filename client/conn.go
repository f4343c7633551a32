package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Close codes of the wire protocol that end reconnecting.
const (
	closeReplaced      websocket.StatusCode = 4001
	closeDeviceRemoved websocket.StatusCode = 4002
	closeAccountGone   websocket.StatusCode = 4003
)

// Connect starts keeping a connection to the server in the background:
// connect, authenticate, receive, send the outbox; after a failure,
// reconnect with exponential back-off and jitter. It returns at once;
// ConnectionEvents report progress, WaitIdle waits for the first sync. It
// stops at Disconnect, Close, or when the server removed the device.
func (c *Client) Connect() error {
	if _, err := c.account(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.fatal != nil {
		return c.fatal
	}
	if c.runCancel != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.runCancel, c.runDone = cancel, make(chan struct{})
	go c.run(ctx, c.runDone)
	return nil
}

// Disconnect stops the connection (and sending) until the next Connect.
func (c *Client) Disconnect() {
	c.mu.Lock()
	cancel, done := c.runCancel, c.runDone
	c.runCancel, c.runDone = nil, nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (c *Client) current() *transport.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

func (c *Client) setState(s ConnState, conn *transport.Conn, err error) {
	c.mu.Lock()
	c.state, c.conn = s, conn
	if s != Connected {
		c.synced = false
	}
	c.notifyLocked()
	c.mu.Unlock()
	c.emit(ConnectionEvent{State: s, Err: err})
}

// backoff returns the delay before attempt n (0-based): exponential from
// MinBackoff to MaxBackoff, with "equal jitter" (half fixed, half random),
// so that clients a server restart dropped do not all return at once.
func (c *Client) backoff(n int) time.Duration {
	d := c.o.MinBackoff
	for i := 0; i < n && d < c.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.o.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func (c *Client) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	defer c.setState(Disconnected, nil, nil)
	for attempt := 0; ; attempt++ {
		c.setState(Connecting, nil, nil)
		err := c.session(ctx, func() { attempt = 0 })
		if ctx.Err() != nil {
			return
		}
		if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_AUTH_FAILED && !errors.Is(err, ErrDeviceGone) {
			// The server no longer knows the device: it was removed while
			// this one was not connected to hear the close code.
			err = errors.Join(ErrDeviceGone, err)
		}
		if errors.Is(err, ErrDeviceGone) || errors.Is(err, ErrReplaced) {
			c.log.Warn("connection ended for good", "err", err)
			c.mu.Lock()
			c.fatal = err
			c.runCancel = nil
			c.notifyLocked()
			c.mu.Unlock()
			c.setState(Disconnected, nil, err)
			return
		}
		c.log.Debug("connection lost", "err", err, "attempt", attempt)
		c.setState(Disconnected, nil, err)
		t := time.NewTimer(c.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// session runs one connection until it ends.
func (c *Client) session(ctx context.Context, connected func()) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := c.dial(dctx, acct.ServerURL)
	if err != nil {
		cancel()
		return err
	}
	defer conn.Close()
	auth, err := conn.Authenticate(dctx, types.Address{Account: acct.ID, Device: acct.Device}, acct.AuthKey)
	cancel()
	if err != nil {
		return err
	}
	connected()
	c.setState(Connected, conn, nil)
	c.log.Debug("connected", "account", acct)

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		if err := c.replenish(sctx, conn, int(auth.GetPrekeysEc()), int(auth.GetPrekeysKyber())); err != nil && sctx.Err() == nil {
			c.log.Warn("prekey upload failed", "err", err)
		}
		caughtUp := make(chan struct{})
		go func() {
			defer close(caughtUp)
			c.catchUpGroups(sctx, conn)
		}()
		c.sender(sctx, conn)
		<-caughtUp
	}()
	defer func() { stop(); <-senderDone }()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-conn.Events():
			if !ok {
				return closeError(conn)
			}
			c.handleFrame(sctx, conn, f)
		}
	}
}

func closeError(conn *transport.Conn) error {
	err := conn.Err()
	switch conn.CloseStatus() {
	case closeReplaced:
		return errors.Join(ErrReplaced, err)
	case closeDeviceRemoved, closeAccountGone:
		return errors.Join(ErrDeviceGone, err)
	}
	if err == nil {
		err = transport.ErrClosed
	}
	return err
}

func (c *Client) handleFrame(ctx context.Context, conn *transport.Conn, f *wirepb.ServerFrame) {
	switch b := f.Body.(type) {
	case *wirepb.ServerFrame_Deliver:
		c.receive(ctx, conn, b.Deliver.Envelopes)
	case *wirepb.ServerFrame_QueueEmpty:
		c.mu.Lock()
		c.synced = true
		c.notifyLocked()
		c.mu.Unlock()
		c.wakeSender() // group messages wait for this
		c.emit(ConnectionEvent{State: Connected, Synced: true})
	case *wirepb.ServerFrame_PrekeysLow:
		ec, ky := int(b.PrekeysLow.Ec), int(b.PrekeysLow.Kyber)
		go func() {
			if err := c.replenish(ctx, conn, ec, ky); err != nil && ctx.Err() == nil {
				c.log.Warn("prekey upload failed", "err", err)
			}
		}()
	case *wirepb.ServerFrame_Response:
		if e := b.Response.Error; e != nil {
			c.log.Warn("server reported an error", "code", e.Code.String())
		}
	default:
		// Presence, plaintext typing and provisioning pushes: not used here.
	}
}
