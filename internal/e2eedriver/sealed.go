package e2eedriver

import (
	"encoding/json"
	"time"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/sealedsender"
	"github.com/parley-im/parley/e2ee/session"
)

// libsignal's error codes for a sealed message whose sender certificate
// names the receiving device itself, and for a registration id that does
// not fit a v2 message.
const (
	classSelfSend              = "SealedSenderSelfSend"
	classInvalidRegistrationID = "InvalidRegistrationId"
)

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

// sealedMessage is what both sealed encryptions (v1 and v2) read: the
// party's 1:1 message to peer and what the seal carries with it.
type sealedMessage struct {
	p     *party
	peer  session.Address
	cert  []byte // the sender certificate, serialised
	pt    []byte
	hint  uint32
	group []byte
	now   time.Time
}

// readSealedMessage reads a sealedMessage; failures are left in a.err.
func (d *Driver) readSealedMessage(a *argReader) sealedMessage {
	m := sealedMessage{
		p:    d.party(a, "party"),
		peer: a.address("peer"),
		cert: a.bytes("senderCertificate"),
		pt:   a.payload("plaintext"),
	}
	if a.has("contentHint") {
		m.hint = a.u32("contentHint")
	}
	m.group = a.optBytes("groupId")
	m.now = a.when("now", d.now())
	return m
}

// content encrypts m on its 1:1 session and wraps it for sealing. It
// advances the session, so callers check everything else first.
func (m sealedMessage) content(cert *sealedsender.SenderCertificate) (*sealedsender.Content, error) {
	c, err := session.Encrypt(ctx, m.p.st, m.peer, m.pt, m.now)
	if err != nil {
		return nil, inOp("session.Encrypt", err)
	}
	return &sealedsender.Content{Type: uint8(c.Type), Sender: cert, Contents: c.Body, ContentHint: m.hint, GroupID: m.group}, nil
}

func (d *Driver) sealedEncrypt(a *argReader) (any, error) {
	m := d.readSealedMessage(a)
	if a.err != nil {
		return nil, a.err
	}
	cert, err := sealedsender.ParseSenderCertificate(m.cert)
	if err != nil {
		return nil, inOp("sealedsender.ParseSenderCertificate", err)
	}
	// Checked before the session advances: a failure here changes nothing.
	theirs, ok, err := m.p.store.Identity(ctx, m.peer)
	if err != nil {
		return nil, inOp("IdentityKeyStore.getIdentity", err)
	}
	if !ok {
		return nil, inOp("sealedsender.Encrypt", session.ErrNoSession)
	}
	content, err := m.content(cert)
	if err != nil {
		return nil, err
	}
	env, err := sealedsender.Encrypt(d.rand, content, m.p.identity, theirs)
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
	r, err := sealedsender.DecryptMessage(ctx, p.st, env, []curve.PublicKey{rootKey}, ts, localE164)
	if err != nil {
		return nil, inOp("sealedsender.DecryptMessage", err)
	}
	c := r.Content
	out := map[string]any{
		"plaintext":   Bytes(r.Plaintext),
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

// sealedOpen opens the sealed layer only (sealedSenderDecryptToUsmc): no
// certificate check, no session touched.
func (d *Driver) sealedOpen(a *argReader) (any, error) {
	p := d.party(a, "party")
	env := a.bytes("ciphertext")
	if a.err != nil {
		return nil, a.err
	}
	c, err := sealedsender.Decrypt(env, p.identity)
	if err != nil {
		return nil, inOp("sealedsender.Decrypt", err)
	}
	out := map[string]any{
		"type":              int(c.Type),
		"contents":          Bytes(c.Contents),
		"senderCertificate": Bytes(c.Sender.Serialize()),
		"senderUuid":        c.Sender.SenderUUID,
		"deviceId":          c.Sender.DeviceID,
		"contentHint":       c.ContentHint,
	}
	if c.Sender.SenderE164 != "" {
		out["senderE164"] = c.Sender.SenderE164
	}
	if len(c.GroupID) > 0 {
		out["groupId"] = Bytes(c.GroupID)
	}
	return out, nil
}

// strings reads an optional array of strings (absent or null: none).
func (a *argReader) strings(key string) []string {
	if a.err != nil || !a.has(key) {
		return nil
	}
	var out []string
	if firstByte(a.m[key]) != '[' || json.Unmarshal(a.m[key], &out) != nil {
		a.fail(badRequest("%s.%s must be an array of strings", a.where, key))
		return nil
	}
	return out
}

// sealedMultiEncrypt is sealed sender v2: the party's 1:1 message to peer,
// sealed once for every device in recipients.
func (d *Driver) sealedMultiEncrypt(a *argReader) (any, error) {
	m := d.readSealedMessage(a)
	if !a.has("recipients") {
		a.fail(badRequest("args.recipients is required"))
	}
	var addrs []session.Address
	for _, r := range a.list("recipients") {
		name := r.str("name")
		dev := r.int("deviceId")
		a.merge(r)
		if a.err != nil {
			break
		}
		if dev < 1 || dev > session.MaxDeviceID {
			a.fail(invalidAddress(name, dev))
			break
		}
		addrs = append(addrs, session.Address{Name: name, DeviceID: uint32(dev)})
	}
	excludedS := a.strings("excludedRecipients")
	if a.err != nil {
		return nil, a.err
	}
	var excluded []sealedsender.ServiceID
	for _, x := range excludedS {
		id, err := sealedsender.ParseServiceID(x)
		if err != nil {
			return nil, inOp("ServiceId.parseFromServiceIdString", err)
		}
		excluded = append(excluded, id)
	}
	cert, err := sealedsender.ParseSenderCertificate(m.cert)
	if err != nil {
		return nil, inOp("sealedsender.ParseSenderCertificate", err)
	}
	// Everything that can fail is checked before the session advances.
	recipients, err := sealedsender.RecipientsFromSessions(ctx, m.p.st, addrs)
	if err != nil {
		return nil, inOp("sealedsender.RecipientsFromSessions", err)
	}
	content, err := m.content(cert)
	if err != nil {
		return nil, err
	}
	sent, err := sealedsender.EncryptMulti(d.rand, content, m.p.identity, recipients, excluded)
	if err != nil {
		return nil, inOp("sealedsender.EncryptMulti", err)
	}
	return map[string]any{"ciphertext": Bytes(sent)}, nil
}

type splitDevice struct {
	DeviceID       uint32 `json:"deviceId"`
	RegistrationID uint32 `json:"registrationId"`
}

type splitRecipient struct {
	ServiceID string        `json:"serviceId"`
	Devices   []splitDevice `json:"devices"`
	Message   Bytes         `json:"message"`
}

// sealedMultiSplit is the server's side of sealed sender v2: every
// recipient's received message, cut from the sent message.
func (d *Driver) sealedMultiSplit(a *argReader) (any, error) {
	sent := a.bytes("ciphertext")
	if a.err != nil {
		return nil, a.err
	}
	m, err := sealedsender.ParseSentMessage(sent)
	if err != nil {
		return nil, inOp("SealedSenderMultiRecipientMessage", err)
	}
	out := map[string]any{}
	recipients := []splitRecipient{}
	for _, r := range m.Recipients() {
		msg, err := m.MessageFor(r.ServiceID)
		if err != nil {
			return nil, inOp("SealedSenderMultiRecipientMessage.messageForRecipient", err)
		}
		sr := splitRecipient{ServiceID: r.ServiceID.String(), Devices: []splitDevice{}, Message: msg}
		for _, dv := range r.Devices {
			sr.Devices = append(sr.Devices, splitDevice{DeviceID: dv.ID, RegistrationID: dv.RegistrationID})
		}
		recipients = append(recipients, sr)
	}
	excluded := []string{}
	for _, x := range m.Excluded() {
		excluded = append(excluded, x.String())
	}
	out["recipients"] = recipients
	out["excludedRecipients"] = excluded
	if single, err := sealedsender.SingleRecipientMessage(sent); err == nil {
		out["singleRecipientMessage"] = Bytes(single)
	}
	return out, nil
}
