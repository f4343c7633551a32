package e2eedriver

import (
	"errors"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/sealedsender"
	"github.com/parley-im/parley/e2ee/session"
)

// classSelfSend is libsignal's error code for a sealed message whose sender
// certificate names the receiving device itself.
const classSelfSend = "SealedSenderSelfSend"

var errSelfSend = errors.New("sealed sender: message was sent by this device")

type certificateJSON struct {
	Certificate Bytes `json:"certificate"`
}

func parsePub(b []byte) (curve.PublicKey, error) {
	k, err := curve.ParsePublicKey(b)
	return k, inOp("curve.ParsePublicKey", err)
}

func parsePriv(b []byte) (curve.PrivateKey, error) {
	k, err := curve.ParsePrivateKey(b)
	return k, inOp("curve.ParsePrivateKey", err)
}

func (d *Driver) serverCertificate(a *argReader) (any, error) {
	id := a.u32("keyId")
	key := a.bytes("serverKey")
	root := a.bytes("trustRootPrivateKey")
	if a.err != nil {
		return nil, a.err
	}
	pub, err := parsePub(key)
	if err != nil {
		return nil, err
	}
	priv, err := parsePriv(root)
	if err != nil {
		return nil, err
	}
	c, err := sealedsender.NewServerCertificate(d.rand, id, pub, priv)
	if err != nil {
		return nil, inOp("sealedsender.NewServerCertificate", err)
	}
	return certificateJSON{Certificate: c.Serialize()}, nil
}

func (d *Driver) senderCertificate(a *argReader) (any, error) {
	uuid := a.str("senderUuid")
	var e164 string
	if a.has("senderE164") {
		e164 = a.str("senderE164")
	}
	dev := a.int("deviceId")
	key := a.bytes("identityKey")
	expires := a.int("expires")
	serverB := a.bytes("serverCertificate")
	serverPriv := a.bytes("serverPrivateKey")
	if a.err != nil {
		return nil, a.err
	}
	if dev < 1 || dev > session.MaxDeviceID {
		return nil, invalidAddress(uuid, dev)
	}
	pub, err := parsePub(key)
	if err != nil {
		return nil, err
	}
	priv, err := parsePriv(serverPriv)
	if err != nil {
		return nil, err
	}
	server, err := sealedsender.ParseServerCertificate(serverB)
	if err != nil {
		return nil, inOp("sealedsender.ParseServerCertificate", err)
	}
	c, err := sealedsender.NewSenderCertificate(d.rand, uuid, e164, pub, uint32(dev), expires, server, priv)
	if err != nil {
		return nil, inOp("sealedsender.NewSenderCertificate", err)
	}
	return certificateJSON{Certificate: c.Serialize()}, nil
}

func (d *Driver) validateSenderCertificate(a *argReader) (any, error) {
	b := a.bytes("certificate")
	root := a.bytes("trustRoot")
	now := a.int("now")
	if a.err != nil {
		return nil, a.err
	}
	rootKey, err := parsePub(root)
	if err != nil {
		return nil, err
	}
	c, err := sealedsender.ParseSenderCertificate(b)
	if err != nil {
		return nil, inOp("sealedsender.ParseSenderCertificate", err)
	}
	if c.Signer == nil {
		return nil, inOp("sealedsender.SenderCertificate.Validate", sealedsender.ErrUnknownServerCertificate)
	}
	out := map[string]any{
		"valid":       c.Validate(rootKey, now) == nil,
		"senderUuid":  c.SenderUUID,
		"deviceId":    c.DeviceID,
		"expires":     c.Expires,
		"identityKey": Bytes(c.IdentityKey.Bytes()),
		"serverKeyId": c.Signer.KeyID,
		"serverKey":   Bytes(c.Signer.Key.Bytes()),
	}
	if c.SenderE164 != "" {
		out["senderE164"] = c.SenderE164
	}
	return out, nil
}

func (d *Driver) sealedEncrypt(a *argReader) (any, error) {
	p := d.party(a, "party")
	peer := a.address("peer")
	certB := a.bytes("senderCertificate")
	pt := a.payload("plaintext")
	var hint uint32
	if a.has("contentHint") {
		hint = a.u32("contentHint")
	}
	group := a.optBytes("groupId")
	now := a.when("now", d.now())
	if a.err != nil {
		return nil, a.err
	}
	cert, err := sealedsender.ParseSenderCertificate(certB)
	if err != nil {
		return nil, inOp("sealedsender.ParseSenderCertificate", err)
	}
	// Checked before the session advances: a failure here changes nothing.
	theirs, ok, err := p.store.Identity(ctx, peer)
	if err != nil {
		return nil, inOp("IdentityKeyStore.getIdentity", err)
	}
	if !ok {
		return nil, inOp("sealedsender.Encrypt", session.ErrNoSession)
	}
	c, err := session.Encrypt(ctx, p.st, peer, pt, now)
	if err != nil {
		return nil, inOp("session.Encrypt", err)
	}
	env, err := sealedsender.Encrypt(d.rand, &sealedsender.Content{Type: uint8(c.Type), Sender: cert, Contents: c.Body, ContentHint: hint, GroupID: group},
		p.identity, theirs)
	if err != nil {
		return nil, inOp("sealedsender.Encrypt", err)
	}
	return map[string]any{"ciphertext": Bytes(env)}, nil
}

func (d *Driver) sealedDecrypt(a *argReader) (any, error) {
	p := d.party(a, "party")
	env := a.bytes("ciphertext")
	root := a.bytes("trustRoot")
	ts := a.int("timestamp")
	var localE164 string
	if a.has("localE164") {
		localE164 = a.str("localE164")
	}
	if a.err != nil {
		return nil, a.err
	}
	rootKey, err := parsePub(root)
	if err != nil {
		return nil, err
	}
	c, err := sealedsender.Decrypt(env, p.identity)
	if err != nil {
		return nil, inOp("sealedsender.Decrypt", err)
	}
	if err := c.Sender.Validate(rootKey, ts); err != nil {
		return nil, inOp("sealedsender.SenderCertificate.Validate", err)
	}
	self := c.Sender.SenderUUID == p.addr.Name || localE164 != "" && c.Sender.SenderE164 == localE164
	if self && c.Sender.DeviceID == p.addr.DeviceID {
		return nil, inOp("sealedsender.Decrypt", errSelfSend)
	}
	from := session.Address{Name: c.Sender.SenderUUID, DeviceID: c.Sender.DeviceID}
	var pt []byte
	switch c.Type {
	case sealedsender.TypePreKey:
		pt, err = session.DecryptPreKey(ctx, p.st, from, c.Contents)
		err = inOp("session.DecryptPreKey", err)
	case sealedsender.TypeWhisper:
		pt, err = session.DecryptSignal(ctx, p.st, from, c.Contents)
		err = inOp("session.DecryptSignal", err)
	default:
		err = inOp("sealedsender.Decrypt", sealedsender.ErrInvalidMessage)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"plaintext":   Bytes(pt),
		"senderUuid":  c.Sender.SenderUUID,
		"deviceId":    c.Sender.DeviceID,
		"type":        int(c.Type),
		"contentHint": c.ContentHint,
	}
	if c.Sender.SenderE164 != "" {
		out["senderE164"] = c.Sender.SenderE164
	}
	if len(c.GroupID) > 0 {
		out["groupId"] = Bytes(c.GroupID)
	}
	return out, nil
}
