package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/fingerprint"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// SafetyNumber is what two people compare to know that no one sits
// between them: the same 60 digits on both phones, or one phone scanning
// the other's Scannable bytes (as a QR code).
//
// It is libsignal's fingerprint, version 2 (e2ee/fingerprint), over each
// account's identity key, which in Parley is the key of the account's
// primary device (linked devices have their own keys, vouched for by the
// primary), with the 16-byte account ids as the stable identifiers.
type SafetyNumber struct {
	Digits    string // 60 digits; Groups splits them for reading aloud
	Scannable []byte // the CombinedFingerprints protobuf for the QR code
	// Verified: the user compared it (VerifyIdentity) and the peer's key
	// has not changed since.
	Verified bool
	groups   []string
}

// Groups returns Digits as 12 groups of 5, the way Signal shows them.
func (s SafetyNumber) Groups() []string { return s.groups }

// ErrNoIdentity: the identity key the safety number needs is not known
// (the peer has no primary device on the server, or this linked device
// has not learned its own primary's key yet).
var ErrNoIdentity = errors.New("client: identity key not known")

// SafetyNumber computes the safety number of the conversation with peer.
// A peer never talked to is asked for from the server (starting a
// session, as a first message would).
func (c *Client) SafetyNumber(ctx context.Context, peer types.AccountID) (SafetyNumber, error) {
	fp, pi, err := c.fingerprint(ctx, peer)
	if err != nil {
		return SafetyNumber{}, err
	}
	return SafetyNumber{Digits: fp.Displayable(), Scannable: fp.Scannable(), groups: fp.DisplayableGroups(),
		Verified: pi.Trust == clientstore.TrustVerified}, nil
}

// CompareSafetyNumber checks bytes scanned from the peer's screen: true if
// they show the same two identities as this side, false if not (another
// person's code, an old key, or this device's own code). Bytes that are no
// safety-number code give an error matching ErrInvalid and
// fingerprint.ErrMalformed; a code of another fingerprint version one
// matching fingerprint.ErrVersionMismatch.
func (c *Client) CompareSafetyNumber(ctx context.Context, peer types.AccountID, scanned []byte) (bool, error) {
	fp, _, err := c.fingerprint(ctx, peer)
	if err != nil {
		return false, err
	}
	ok, err := fp.Compare(scanned)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return ok, nil
}

// VerifyIdentity records that the user compared the safety number with
// peer: the identity key it was computed from is marked verified (which
// also acknowledges a change of it). A later change of that key clears
// the mark, and SafetyNumber then shows Verified false.
func (c *Client) VerifyIdentity(ctx context.Context, peer types.AccountID) error {
	_, pi, err := c.fingerprint(ctx, peer)
	if err != nil {
		return err
	}
	if err := c.st.VerifyIdentity(ctx, pi.Address, pi.Key, true); err != nil {
		return err
	}
	return c.releaseHeld(ctx, peer)
}

// fingerprint computes the fingerprint with peer, and returns the peer's
// identity on record that it covers.
func (c *Client) fingerprint(ctx context.Context, peer types.AccountID) (*fingerprint.Fingerprint, clientstore.PeerIdentity, error) {
	acct, err := c.account()
	if err != nil {
		return nil, clientstore.PeerIdentity{}, err
	}
	if peer.IsZero() || peer == acct.ID {
		return nil, clientstore.PeerIdentity{}, fmt.Errorf("%w: peer", ErrInvalid)
	}
	local, err := c.accountIdentity(ctx)
	if err != nil {
		return nil, clientstore.PeerIdentity{}, err
	}
	addr := sessionAddr(peer, types.PrimaryDevice)
	pi, err := c.st.PeerIdentity(ctx, addr)
	if errors.Is(err, clientstore.ErrNotFound) {
		if err = c.learnIdentity(ctx, peer); err == nil {
			pi, err = c.st.PeerIdentity(ctx, addr)
		}
	}
	if errors.Is(err, clientstore.ErrNotFound) {
		return nil, pi, fmt.Errorf("%w: %s", ErrNoIdentity, peer)
	}
	if err != nil {
		return nil, pi, err
	}
	fp, err := fingerprint.New(fingerprint.DefaultIterations, fingerprint.Version2,
		acct.ID[:], local.Bytes(), peer[:], pi.Key.Bytes())
	return fp, pi, err
}

// accountIdentity is this account's identity key: this device's own on
// the primary; on a linked device the primary's, as it vouched for this
// device when linking, or as the store learned it.
func (c *Client) accountIdentity(ctx context.Context) (curve.PublicKey, error) {
	acct, err := c.account()
	if err != nil {
		return curve.PublicKey{}, err
	}
	if acct.Device == types.PrimaryDevice {
		return acct.Identity.Public, nil
	}
	if k, _, ok := c.LinkVouch(); ok {
		return k, nil
	}
	pi, err := c.st.PeerIdentity(ctx, sessionAddr(acct.ID, types.PrimaryDevice))
	if errors.Is(err, clientstore.ErrNotFound) {
		if err = c.learnIdentity(ctx, acct.ID); err == nil {
			pi, err = c.st.PeerIdentity(ctx, sessionAddr(acct.ID, types.PrimaryDevice))
		}
	}
	if errors.Is(err, clientstore.ErrNotFound) {
		return curve.PublicKey{}, fmt.Errorf("%w: this account's primary", ErrNoIdentity)
	}
	return pi.Key, err
}

// learnIdentity starts a session with account's primary device from its
// bundle, which records its identity key (trusted on first use).
func (c *Client) learnIdentity(ctx context.Context, account types.AccountID) error {
	res, err := c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{
		AccountId: account[:], DeviceId: uint32(types.PrimaryDevice)}}})
	if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
		return clientstore.ErrNotFound
	}
	if err != nil {
		return err
	}
	for _, b := range res.GetBundle().GetDevices() {
		if types.DeviceID(b.DeviceId) == types.PrimaryDevice {
			err := c.startSession(ctx, account, b)
			var ice *IdentityChangedError
			if errors.As(err, &ice) {
				return nil // recorded as changed; the number shows the new key
			}
			return err
		}
	}
	return clientstore.ErrNotFound
}
