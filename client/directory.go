package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// SaveContact records a contact (a name for an account, and its number).
// An empty ProfileName keeps the one the contact's messages brought: that
// name is the contact's own, not the user's to change.
func (c *Client) SaveContact(ctx context.Context, ct clientstore.Contact) error {
	return c.st.InTx(ctx, func(ctx context.Context) error {
		if ct.ProfileName == "" {
			old, err := c.st.Contact(ctx, ct.Account)
			if err != nil && !errors.Is(err, clientstore.ErrNotFound) {
				return err
			}
			ct.ProfileName = old.ProfileName
		}
		return c.st.SaveContact(ctx, ct)
	})
}

// LookupPhone returns the account that has this phone number: from the
// contacts if one has it, else from the server's directory, and then saves
// it as a contact (keeping a name the user gave the account). A number
// nobody registered gives ErrUnknownPhone; a malformed one ErrInvalid. The
// server limits how many numbers an account looks up per hour: beyond it
// the error is a *transport.ServerError with ERROR_CODE_RATE_LIMITED and
// its retry-after.
func (c *Client) LookupPhone(ctx context.Context, phone string) (types.AccountID, error) {
	p, err := types.ParsePhone(phone)
	if err != nil {
		return types.AccountID{}, fmt.Errorf("%w: phone number: %v", ErrInvalid, err)
	}
	ct, err := c.st.ContactByPhone(ctx, p)
	switch {
	case err == nil:
		return ct.Account, nil
	case !errors.Is(err, clientstore.ErrNotFound):
		return types.AccountID{}, err
	}
	acct, err := c.account()
	if err != nil {
		return types.AccountID{}, err
	}
	if p == acct.Phone {
		return acct.ID, nil
	}
	res, err := c.rpc(ctx, lookupFrame(p))
	if err != nil {
		return types.AccountID{}, err
	}
	id, err := lookupResult(res, p)
	if err != nil {
		return types.AccountID{}, err
	}
	ct, err = c.st.Contact(ctx, id)
	if err != nil && !errors.Is(err, clientstore.ErrNotFound) {
		return types.AccountID{}, err
	}
	ct.Account, ct.Phone = id, p
	if err := c.st.SaveContact(ctx, ct); err != nil {
		return types.AccountID{}, err
	}
	return id, nil
}

// rpc makes one request as this device: over the live connection when
// Connect runs (waiting for it to be up), else over a short-lived
// connection of its own. The short-lived one is only made when Connect
// does not run, since a device has one connection at a time: a second one
// would push the first off the server (close code 4001).
func (c *Client) rpc(ctx context.Context, f *wirepb.ClientFrame) (*wirepb.Response, error) {
	acct, err := c.account()
	if err != nil {
		return nil, err
	}
	var dead *transport.Conn // a connection that dropped under the last try
	for try := 0; ; try++ {
		var conn *transport.Conn
		err := c.waitFor(ctx, func() bool {
			if c.runCancel == nil {
				conn = nil
				return true
			}
			conn = c.conn
			return conn != nil && conn != dead
		})
		if err != nil {
			return nil, err
		}
		if conn == nil {
			conn, err = c.dial(ctx, acct.ServerURL)
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			if _, err := conn.Authenticate(ctx, types.Address{Account: acct.ID, Device: acct.Device}, acct.AuthKey); err != nil {
				return nil, err
			}
		}
		res, err := conn.Call(ctx, f)
		if errors.Is(err, transport.ErrClosed) && try < 2 && ctx.Err() == nil {
			dead = conn // Connect brings the next one
			continue
		}
		return res, err
	}
}
