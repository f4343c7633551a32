package client

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Linking a device, as WhatsApp does it:
//
//  1. The new device (StartLink) opens a provisioning address on the
//     server, makes an ephemeral X25519 key and shows a link URI as a QR
//     code (and as text): parley://link?addr=A&pub=P&id=I, with the
//     address A, the ephemeral public key P and the new device's identity
//     key I (both 0x05‖32, base64url without padding).
//  2. The primary (ApproveLink) scans or pastes it, asks the server for a
//     one-time link code, signs the new device's identity key with its own
//     identity key (DeviceVouch says exactly what is signed) and sends,
//     through the server, a provisioning message sealed to P: the code, the
//     account id, the phone number, its identity key and the signature.
//  3. The new device (PendingLink.Wait) opens it, checks the signature over
//     its own identity key, links with the code (the LinkDevice request)
//     and keeps the primary's identity key and signature.
//
// The provisioning message is sealed with an ephemeral-static X25519
// agreement, HKDF-SHA256 and AES-256-GCM. Authenticated encryption, not
// just encryption, because the server relays it: it must not be able to
// read the code and the number, nor change a byte (say, the account id)
// without the new device noticing. What makes the message come from the
// user's own phone is the QR code: only who saw P can seal to it, as in
// Signal's and WhatsApp's provisioning.

// Errors of the linking flow.
var (
	// ErrInvalidLinkURI: the text is not a Parley link URI, or one of its
	// parts is malformed. Nothing was sent.
	ErrInvalidLinkURI = errors.New("client: not a valid Parley link code")
	// ErrBadProvisioning: a provisioning message did not decrypt, did not
	// parse, or its signature over this device's identity key does not
	// verify. Nothing changed; Wait can be called again.
	ErrBadProvisioning = errors.New("client: provisioning message rejected")
	// ErrLinkGone: the new device is no longer waiting at the address (its
	// connection ended); start again on the new device.
	ErrLinkGone = errors.New("client: the new device is no longer waiting")
	// ErrNotPrimary: only the account's primary device can do this.
	ErrNotPrimary = errors.New("client: only the primary device can do this")
)

const (
	linkScheme       = "parley"
	linkHost         = "link"
	provisionVersion = 1
	provisionLabel   = "parley-provision-v1"
	vouchLabel       = "parley-link-v1"
	maxProvisionAddr = 64
)

// DeviceVouch is what a primary device signs (XEdDSA, with its identity
// key) to vouch for a device it links: the label "parley-link-v1", the
// account id (16 bytes) and the new device's identity key (0x05‖32). The
// account id is in it so that a vouch cannot be moved to another account.
func DeviceVouch(account types.AccountID, deviceIdentity curve.PublicKey) []byte {
	m := make([]byte, 0, len(vouchLabel)+16+curve.SerializedPublicKeySize)
	m = append(m, vouchLabel...)
	m = append(m, account[:]...)
	return append(m, deviceIdentity.Bytes()...)
}

// VerifyDeviceVouch reports whether sig is primary's vouch for
// deviceIdentity in account. A linked device checks it when it links;
// anyone who learns the three keys (the wire protocol does not carry them
// to contacts yet) can check it the same way.
func VerifyDeviceVouch(account types.AccountID, primary, deviceIdentity curve.PublicKey, sig []byte) bool {
	return len(sig) == curve.SignatureSize && primary.Verify(DeviceVouch(account, deviceIdentity), sig)
}

// linkURI is a parsed link URI.
type linkURI struct {
	addr     string
	pub      curve.PublicKey // the new device's ephemeral key
	identity curve.PublicKey // the new device's identity key
}

func (l linkURI) String() string {
	q := url.Values{}
	q.Set("addr", l.addr)
	q.Set("pub", base64.RawURLEncoding.EncodeToString(l.pub.Bytes()))
	q.Set("id", base64.RawURLEncoding.EncodeToString(l.identity.Bytes()))
	return linkScheme + "://" + linkHost + "?" + q.Encode()
}

// parseLinkURI reads a link URI as the QR code carries it or a user pasted
// it (surrounding space is ignored).
func parseLinkURI(s string) (linkURI, error) {
	bad := func(what string) (linkURI, error) {
		return linkURI{}, fmt.Errorf("%w: %s", ErrInvalidLinkURI, what)
	}
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		return bad("too long")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != linkScheme || u.Host != linkHost || (u.Path != "" && u.Path != "/") {
		return bad("it must start with parley://link?")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("malformed query")
	}
	var l linkURI
	l.addr = q.Get("addr")
	if l.addr == "" || len(l.addr) > maxProvisionAddr || strings.Trim(l.addr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return bad("address")
	}
	for _, k := range []struct {
		name string
		dst  *curve.PublicKey
	}{{"pub", &l.pub}, {"id", &l.identity}} {
		b, err := base64.RawURLEncoding.DecodeString(q.Get(k.name))
		if err != nil {
			return bad(k.name)
		}
		if *k.dst, err = curve.ParsePublicKey(b); err != nil || !k.dst.IsCanonical() {
			return bad(k.name)
		}
	}
	return l, nil
}

// provisioning is the plaintext of a provisioning message.
type provisioning struct {
	code      string
	account   types.AccountID
	phone     string
	primary   curve.PublicKey // the primary's identity key
	signature []byte          // DeviceVouch signed by primary
}

// Field numbers of the provisioning plaintext (protobuf wire format).
const (
	pvCode      protowire.Number = 1
	pvAccount   protowire.Number = 2
	pvPhone     protowire.Number = 3
	pvPrimary   protowire.Number = 4
	pvSignature protowire.Number = 5
)

func (p *provisioning) marshal() []byte {
	var b []byte
	field := func(n protowire.Number, v []byte) {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	field(pvCode, []byte(p.code))
	field(pvAccount, p.account[:])
	field(pvPhone, []byte(p.phone))
	field(pvPrimary, p.primary.Bytes())
	field(pvSignature, p.signature)
	return b
}

// unmarshalProvisioning parses the plaintext strictly: every field once,
// of the right size; unknown fields are skipped, as in protobuf.
func unmarshalProvisioning(b []byte) (provisioning, error) {
	var p provisioning
	seen := map[protowire.Number]bool{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return p, errors.New("bad tag")
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return p, errors.New("truncated field")
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return p, errors.New("truncated field")
		}
		b = b[n:]
		if seen[num] {
			return p, fmt.Errorf("field %d repeated", num)
		}
		seen[num] = true
		var err error
		switch num {
		case pvCode:
			if len(v) == 0 || len(v) > 64 || !utf8.Valid(v) {
				err = errors.New("link code")
			}
			p.code = string(v)
		case pvAccount:
			p.account, err = types.AccountIDFromBytes(v)
		case pvPhone:
			p.phone, err = types.ParsePhone(string(v))
			if err == nil && p.phone != string(v) {
				err = errors.New("phone number not E.164")
			}
		case pvPrimary:
			p.primary, err = curve.ParsePublicKey(v)
		case pvSignature:
			if len(v) != curve.SignatureSize {
				err = errors.New("signature size")
			}
			p.signature = append([]byte(nil), v...)
		}
		if err != nil {
			return p, fmt.Errorf("field %d: %v", num, err)
		}
	}
	for _, n := range []protowire.Number{pvCode, pvAccount, pvPhone, pvPrimary, pvSignature} {
		if !seen[n] {
			return p, fmt.Errorf("field %d missing", n)
		}
	}
	return p, nil
}

// provisionAEAD derives the message key from the agreement of the sender's
// ephemeral key with the new device's, bound to both public keys.
func provisionAEAD(shared [32]byte, senderPub, recipientPub curve.PublicKey) (cipher.AEAD, error) {
	info := provisionLabel + string(senderPub.Bytes()) + string(recipientPub.Bytes())
	key, err := hkdf.Key(sha256.New, shared[:], nil, info, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealProvisioning encrypts p to the new device's ephemeral key: version
// (1 byte) ‖ sender ephemeral key (33) ‖ nonce (12) ‖ AES-GCM ciphertext,
// with the label and the provisioning address as additional data.
func sealProvisioning(to linkURI, p *provisioning) ([]byte, error) {
	eph, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	shared, err := eph.Private.Agree(to.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key", ErrInvalidLinkURI)
	}
	aead, err := provisionAEAD(shared, eph.Public, to.pub)
	if err != nil {
		return nil, err
	}
	out := append([]byte{provisionVersion}, eph.Public.Bytes()...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, p.marshal(), []byte(provisionLabel+to.addr)), nil
}

// openProvisioning decrypts and parses a provisioning message sent to
// addr for the key pair eph.
func openProvisioning(eph curve.KeyPair, addr string, body []byte) (provisioning, error) {
	bad := func(what string) (provisioning, error) {
		return provisioning{}, fmt.Errorf("%w: %s", ErrBadProvisioning, what)
	}
	const head = 1 + curve.SerializedPublicKeySize + 12
	if len(body) < head+16 || body[0] != provisionVersion {
		return bad("unknown version or too short")
	}
	sender, err := curve.ParsePublicKey(body[1 : 1+curve.SerializedPublicKeySize])
	if err != nil {
		return bad("sender key")
	}
	shared, err := eph.Private.Agree(sender)
	if err != nil {
		return bad("sender key")
	}
	aead, err := provisionAEAD(shared, sender, eph.Public)
	if err != nil {
		return provisioning{}, err
	}
	pt, err := aead.Open(nil, body[head-12:head], body[head:], []byte(provisionLabel+addr))
	if err != nil {
		return bad("does not decrypt")
	}
	p, err := unmarshalProvisioning(pt)
	if err != nil {
		return bad(err.Error())
	}
	return p, nil
}

// ApproveLink links the new device that shows uri (its QR code, or the
// text of it) to this account: it makes a link code and sends it, with
// the account, the number and this device's vouch for the new device's
// identity key, sealed to the new device. Primary device only. The new
// device's PendingLink.Wait then finishes the linking.
func (c *Client) ApproveLink(ctx context.Context, uri string) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	if acct.Device != types.PrimaryDevice {
		return ErrNotPrimary
	}
	l, err := parseLinkURI(uri)
	if err != nil {
		return err
	}
	res, err := c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_CreateLinkCode{CreateLinkCode: &wirepb.CreateLinkCode{}}})
	if err != nil {
		return err
	}
	sig, err := acct.Identity.Private.Sign(rand.Reader, DeviceVouch(acct.ID, l.identity))
	if err != nil {
		return err
	}
	body, err := sealProvisioning(l, &provisioning{
		code: res.GetLinkCode().GetCode(), account: acct.ID, phone: acct.Phone,
		primary: acct.Identity.Public, signature: sig[:],
	})
	if err != nil {
		return err
	}
	_, err = c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ProvisionSend{ProvisionSend: &wirepb.ProvisionSend{
		Address: l.addr, Body: body}}})
	switch transport.CodeOf(err) {
	case wirepb.ErrorCode_ERROR_CODE_NOT_FOUND:
		return fmt.Errorf("%w: %v", ErrLinkGone, err)
	case wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST:
		return fmt.Errorf("%w: the server refused the address: %v", ErrInvalidLinkURI, err)
	}
	return err
}

// PendingLink is a new device waiting for its primary's approval. Its
// provisioning address lives as long as its connection: Close it when the
// user gives up.
type PendingLink struct {
	c         *Client
	serverURL string
	conn      *transport.Conn
	eph       curve.KeyPair
	uri       linkURI

	mu   sync.Mutex // one Wait at a time
	done bool
}

// StartLink begins linking this (unregistered) profile to an account on
// serverURL: it opens a provisioning address there and makes the keys the
// link URI carries. Show URI() as a QR code and as text; then Wait.
func (c *Client) StartLink(ctx context.Context, serverURL string) (*PendingLink, error) {
	acct, err := c.st.Account(ctx)
	switch {
	case errors.Is(err, clientstore.ErrNoAccount):
		if acct, err = clientstore.NewAccount(serverURL, ""); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !acct.ID.IsZero():
		return nil, ErrRegistered
	}
	// The identity key is made (and kept) now: the URI carries it, and the
	// primary signs it.
	acct.ServerURL = serverURL
	if err := c.st.SaveAccount(ctx, acct); err != nil {
		return nil, err
	}
	eph, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	conn, err := c.dial(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	res, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ProvisionOpen{ProvisionOpen: &wirepb.ProvisionOpen{}}})
	if err != nil {
		conn.Close()
		return nil, err
	}
	addr := res.GetProvisionOpen().GetAddress()
	l := linkURI{addr: addr, pub: eph.Public, identity: acct.Identity.Public}
	if _, err := parseLinkURI(l.String()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: the server gave an unusable provisioning address: %w", err)
	}
	return &PendingLink{c: c, serverURL: serverURL, conn: conn, eph: eph, uri: l}, nil
}

// URI is what the QR code encodes, and what a user can paste on the
// primary: parley://link?addr=...&pub=...&id=...
func (p *PendingLink) URI() string { return p.uri.String() }

// Close gives up the provisioning address.
func (p *PendingLink) Close() error { return p.conn.Close() }

// Wait waits for the primary's provisioning message, checks it, links
// this profile with its code and records the account, the number and the
// primary's vouch. It returns nil once the device is linked (then
// Connect). A message that does not decrypt or verify gives
// ErrBadProvisioning and changes nothing: the address stays open, so Wait
// can be called again for a genuine one.
func (p *PendingLink) Wait(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-p.conn.Events():
			if !ok {
				return fmt.Errorf("%w: provisioning connection ended: %v", ErrLinkGone, p.conn.Err())
			}
			body := f.GetProvision().GetBody()
			if body == nil {
				continue
			}
			if err := p.finish(ctx, body); err != nil {
				return err
			}
			p.done = true
			p.conn.Close()
			return nil
		}
	}
}

func (p *PendingLink) finish(ctx context.Context, body []byte) error {
	c := p.c
	msg, err := openProvisioning(p.eph, p.uri.addr, body)
	if err != nil {
		return err
	}
	if !VerifyDeviceVouch(msg.account, msg.primary, p.uri.identity, msg.signature) {
		return fmt.Errorf("%w: the primary's signature over this device's identity does not verify", ErrBadProvisioning)
	}
	if err := c.Link(ctx, p.serverURL, msg.code); err != nil {
		return err
	}
	acct, err := c.st.Account(ctx)
	if err != nil {
		return err
	}
	if acct.ID != msg.account {
		// The server put us in another account than the primary vouched
		// for: the vouch is worthless, and the user must know.
		return fmt.Errorf("%w: linked to account %s, but the primary vouched for %s", ErrBadProvisioning, acct.ID, msg.account)
	}
	acct.Phone, acct.LinkedBy, acct.LinkSignature = msg.phone, msg.primary, msg.signature
	if err := c.st.SaveAccount(ctx, acct); err != nil {
		return err
	}
	c.mu.Lock()
	c.acct = acct
	c.mu.Unlock()
	// The primary's identity key came over the QR code's channel, not from
	// the server: it counts as verified, and a different key the server
	// hands out later for the primary shows up as a change.
	return c.st.VerifyIdentity(ctx, sessionAddr(acct.ID, types.PrimaryDevice), msg.primary, true)
}

// LinkVouch returns, on a device that joined by ApproveLink, the identity
// key of the primary that approved it and its signature over this device's
// identity key (DeviceVouch); ok is false on a primary, or on a device
// linked with a bare code (Link).
func (c *Client) LinkVouch() (primary curve.PublicKey, signature []byte, ok bool) {
	a := c.Account()
	if len(a.LinkSignature) == 0 || !VerifyDeviceVouch(a.ID, a.LinkedBy, a.Identity.Public, a.LinkSignature) {
		return curve.PublicKey{}, nil, false
	}
	return a.LinkedBy, a.LinkSignature, true
}
