package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

func (c *Client) dial(ctx context.Context, serverURL string) (*transport.Conn, error) {
	return transport.Dial(ctx, serverURL, &transport.Options{UserAgent: c.o.UserAgent, HTTPClient: c.o.HTTPClient})
}

// RequestCode asks serverURL to send a registration code to phone.
func (c *Client) RequestCode(ctx context.Context, serverURL, phone string) error {
	phone, err := types.ParsePhone(phone)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	conn, err := c.dial(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_RequestCode{RequestCode: &wirepb.RequestCode{Phone: phone}}})
	return err
}

// Register creates the account of phone on serverURL with the code the
// server sent (or moves the account to this device, removing its other
// devices), with fresh keys, and publishes the prekeys. The profile must
// not be registered yet. A failed attempt can be repeated: the keys made
// for it are kept.
func (c *Client) Register(ctx context.Context, serverURL, phone, code string) error {
	phone, err := types.ParsePhone(phone)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return c.join(ctx, serverURL, phone, func(keys *wirepb.DeviceKeys) *wirepb.ClientFrame {
		return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Register{Register: &wirepb.Register{Phone: phone, Code: code, Device: keys}}}
	})
}

// Link joins this profile to an existing account as a linked device, with
// a link code the account's primary made (CreateLinkCode). The QR-code
// provisioning flow that carries the code builds on this.
func (c *Client) Link(ctx context.Context, serverURL, code string) error {
	return c.join(ctx, serverURL, "", func(keys *wirepb.DeviceKeys) *wirepb.ClientFrame {
		return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LinkDevice{LinkDevice: &wirepb.LinkDevice{Code: code, Device: keys}}}
	})
}

// CreateLinkCode asks the server for a one-time code a new device links
// with (primary device only, connected).
func (c *Client) CreateLinkCode(ctx context.Context) (string, error) {
	conn := c.current()
	if conn == nil {
		return "", ErrNotConnected
	}
	res, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateLinkCode{CreateLinkCode: &wirepb.CreateLinkCode{}}})
	if err != nil {
		return "", err
	}
	return res.GetLinkCode().GetCode(), nil
}

func (c *Client) join(ctx context.Context, serverURL, phone string, frame func(*wirepb.DeviceKeys) *wirepb.ClientFrame) error {
	acct, err := c.st.Account(ctx)
	switch {
	case errors.Is(err, clientstore.ErrNoAccount):
		if acct, err = clientstore.NewAccount(serverURL, phone); err != nil {
			return err
		}
	case err != nil:
		return err
	case !acct.ID.IsZero():
		return ErrRegistered
	}
	acct.ServerURL, acct.Phone = serverURL, phone
	if err := c.st.SaveAccount(ctx, acct); err != nil {
		return err
	}
	if _, _, err := c.st.CurrentSignedPreKeys(ctx); errors.Is(err, clientstore.ErrNotFound) {
		if _, _, err := c.st.RotateSignedPreKeys(ctx, c.o.Now()); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	u, err := c.st.Unpublished(ctx)
	if err != nil {
		return err
	}
	if u.SignedPreKey == nil || u.LastResortKyber == nil {
		// A failed earlier attempt left them marked published; rotate.
		if _, _, err := c.st.RotateSignedPreKeys(ctx, c.o.Now()); err != nil {
			return err
		}
		if u, err = c.st.Unpublished(ctx); err != nil {
			return err
		}
	}
	signed := clientstore.PreKeyUpload{SignedPreKey: u.SignedPreKey, LastResortKyber: u.LastResortKyber}
	w := uploadToWire(signed)
	keys := &wirepb.DeviceKeys{
		AuthKey:         acct.AuthKey.Public().(ed25519.PublicKey),
		IdentityKey:     acct.Identity.Public.Bytes(),
		RegistrationId:  acct.RegistrationID,
		SignedPrekey:    w.SignedPrekey,
		LastResortKyber: w.LastResortKyber,
	}
	conn, err := c.dial(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := conn.Call(ctx, frame(keys))
	if err != nil {
		return err
	}
	r := res.GetRegister()
	id, err := types.AccountIDFromBytes(r.GetAccountId())
	if err != nil || r.GetDeviceId() == 0 {
		return fmt.Errorf("client: server answered the registration without an account or device id")
	}
	acct.ID, acct.Device = id, types.DeviceID(r.DeviceId)
	if err := c.st.SaveAccount(ctx, acct); err != nil {
		return err
	}
	if err := c.st.MarkPublished(ctx, signed, c.o.Now()); err != nil {
		return err
	}
	c.mu.Lock()
	c.acct = acct
	c.mu.Unlock()
	c.log.Info("registered", "account", acct)
	if _, err := conn.Authenticate(ctx, types.Address{Account: acct.ID, Device: acct.Device}, acct.AuthKey); err != nil {
		return err
	}
	// One-time keys now; if this fails, the first connection uploads them.
	return c.replenish(ctx, conn, 0, 0)
}

// replenish tops up the one-time prekeys (ec and kyber are the server's
// counts), rotates old signed keys, and uploads what the server lacks.
func (c *Client) replenish(ctx context.Context, conn *transport.Conn, ec, kyber int) error {
	// One at a time: the one after a connect and the ones PreKeysLow
	// starts would otherwise each generate a batch, and their uploads
	// together outgrow a frame (the server then closes the connection, and
	// the next one tries again with even more).
	c.replenishMu.Lock()
	defer c.replenishMu.Unlock()
	now := c.o.Now()
	if spk, _, err := c.st.CurrentSignedPreKeys(ctx); err != nil {
		return err
	} else if now.Sub(spk.Timestamp) > c.o.SignedPreKeyAge {
		if _, _, err := c.st.RotateSignedPreKeys(ctx, now); err != nil {
			return err
		}
	}
	u, err := c.st.Unpublished(ctx)
	if err != nil {
		return err
	}
	// Unpublished one-time keys from an upload that failed are used first.
	if ec < c.o.PreKeyLow && len(u.PreKeys) == 0 {
		if _, err := c.st.GeneratePreKeys(ctx, c.o.PreKeyBatch, now); err != nil {
			return err
		}
	}
	if kyber < c.o.PreKeyLow && len(u.KyberPreKeys) == 0 {
		if _, err := c.st.GenerateKyberPreKeys(ctx, c.o.PreKeyBatch, now); err != nil {
			return err
		}
	}
	if u, err = c.st.Unpublished(ctx); err != nil || u.Empty() {
		return err
	}
	// A one-time list replaces the server's unclaimed keys of its kind, so
	// a kind that is not low is not sent.
	if ec >= c.o.PreKeyLow {
		u.PreKeys = nil
	}
	if kyber >= c.o.PreKeyLow {
		u.KyberPreKeys = nil
	}
	if u.Empty() {
		return nil
	}
	if _, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SetPrekeys{SetPrekeys: uploadToWire(u)}}); err != nil {
		return fmt.Errorf("client: upload prekeys: %w", err)
	}
	c.log.Debug("prekeys uploaded", "ec", len(u.PreKeys), "kyber", len(u.KyberPreKeys))
	return c.st.MarkPublished(ctx, u, now)
}

func uploadToWire(u clientstore.PreKeyUpload) *wirepb.SetPreKeys {
	w := &wirepb.SetPreKeys{}
	if s := u.SignedPreKey; s != nil {
		w.SignedPrekey = &wirepb.SignedPreKey{KeyId: s.ID, PublicKey: s.KeyPair.Public.Bytes(), Signature: s.Signature[:]}
	}
	if k := u.LastResortKyber; k != nil {
		w.LastResortKyber = &wirepb.SignedPreKey{KeyId: k.ID, PublicKey: k.KeyPair.PublicKey().Bytes(), Signature: k.Signature[:]}
	}
	for _, p := range u.PreKeys {
		w.OneTimePrekeys = append(w.OneTimePrekeys, &wirepb.SignedPreKey{KeyId: p.ID, PublicKey: p.KeyPair.Public.Bytes()})
	}
	for _, k := range u.KyberPreKeys {
		w.OneTimeKyber = append(w.OneTimeKyber, &wirepb.SignedPreKey{KeyId: k.ID, PublicKey: k.KeyPair.PublicKey().Bytes(), Signature: k.Signature[:]})
	}
	return w
}
