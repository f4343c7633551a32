package sealedsender

import (
	"context"
	"fmt"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/session"
)

// ValidateWithTrustRoots is Validate against several trust roots: the
// server certificate must be signed by one of them (clients keep the old
// root beside a new one while servers move over).
func (c *SenderCertificate) ValidateWithTrustRoots(trustRoots []curve.PublicKey, nowMillis uint64) error {
	if c.Signer == nil {
		return ErrUnknownServerCertificate
	}
	// Every root is tried, so the time taken does not tell which one matched.
	var err error
	ok := false
	for _, root := range trustRoots {
		if e := c.Signer.Validate(root); e == nil {
			ok = true
		} else if err == nil {
			err = e
		}
	}
	if !ok {
		if err == nil { // no roots at all
			err = ErrUntrustedServerCertificate
		}
		return err
	}
	if !c.Signer.Key.Verify(c.certificate, c.signature) {
		return ErrBadSenderSignature
	}
	if nowMillis > c.Expires {
		return ErrExpired
	}
	return nil
}

// Opened is a sealed sender message that DecryptMessage opened.
type Opened struct {
	Content   *Content        // the envelope's content, sender certificate included
	Sender    session.Address // the sender's device, as the session was addressed
	Plaintext []byte          // the decrypted inner message
}

// DecryptMessage does what libsignal's sealedSenderDecryptMessage does: it
// opens a sealed sender message (v1, or a v2 ReceivedMessage) with the
// identity key pair of st.Identity, validates the sender certificate
// against trustRoots at nowMillis (milliseconds since 1970), refuses a
// message from the receiving device itself, and decrypts the inner PreKey
// or Whisper message over the session with the certificate's sender.
//
// st.Local is the receiving device; its Name is our ACI string. localE164,
// when not empty, is our phone number: a certificate naming it and our
// device id is also our own. Sender-key contents (groups) are refused with
// ErrUnsupportedMessageType: open them with Decrypt and hand them to
// e2ee/senderkey.
//
// Nothing changes unless the whole operation succeeds: the session package
// stores a session only after the inner message decrypted.
func DecryptMessage(ctx context.Context, st session.Stores, envelope []byte, trustRoots []curve.PublicKey, nowMillis uint64, localE164 string) (*Opened, error) {
	if st.Identity == nil {
		return nil, fmt.Errorf("%w: no identity store", ErrInvalidArgument)
	}
	us, err := st.Identity.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	c, err := Decrypt(envelope, us)
	if err != nil {
		return nil, err
	}
	if err := c.Sender.ValidateWithTrustRoots(trustRoots, nowMillis); err != nil {
		return nil, err
	}
	self := c.Sender.SenderUUID == st.Local.Name || localE164 != "" && c.Sender.SenderE164 == localE164
	if self && c.Sender.DeviceID == st.Local.DeviceID {
		return nil, ErrSelfSend
	}
	from := session.Address{Name: c.Sender.SenderUUID, DeviceID: c.Sender.DeviceID}
	var pt []byte
	switch c.Type {
	case TypePreKey:
		pt, err = session.DecryptPreKey(ctx, st, from, c.Contents)
	case TypeWhisper:
		pt, err = session.DecryptSignal(ctx, st, from, c.Contents)
	default:
		return nil, fmt.Errorf("%w: type %d", ErrUnsupportedMessageType, c.Type)
	}
	if err != nil {
		return nil, err
	}
	return &Opened{Content: c, Sender: from, Plaintext: pt}, nil
}

// RecipientsFromSessions builds the recipients of a v2 message to the
// devices addrs from our stores, as libsignal's
// sealedSenderMultiRecipientEncrypt does: adjacent addresses with the same
// name form one recipient, whose identity key is the one stored for its
// first device; each device's registration id comes from its current
// session. Names must be service id strings.
//
// A device without a session or an identity key gives an error wrapping
// session.ErrNoSession; a registration id above MaxRegistrationID gives
// ErrInvalidRegistrationID.
func RecipientsFromSessions(ctx context.Context, st session.Stores, addrs []session.Address) ([]Recipient, error) {
	if st.Identity == nil || st.Sessions == nil {
		return nil, fmt.Errorf("%w: identity and session stores are required", ErrInvalidArgument)
	}
	for _, a := range addrs {
		if a.DeviceID < 1 || a.DeviceID > maxDeviceID {
			return nil, fmt.Errorf("%w: device id %d", session.ErrInvalidAddress, a.DeviceID)
		}
	}
	var out []Recipient
	for i := 0; i < len(addrs); {
		j := i + 1
		for j < len(addrs) && addrs[j].Name == addrs[i].Name {
			j++
		}
		id, err := ParseServiceID(addrs[i].Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", err, addrs[i].Name)
		}
		key, ok, err := st.Identity.Identity(ctx, addrs[i])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: no identity key for %s", session.ErrNoSession, addrs[i])
		}
		r := Recipient{ServiceID: id, IdentityKey: key}
		for _, a := range addrs[i:j] {
			rec, err := st.Sessions.LoadSession(ctx, a)
			if err != nil {
				return nil, err
			}
			reg, ok := rec.RemoteRegistrationID()
			if !ok {
				return nil, fmt.Errorf("%w: %s", session.ErrNoSession, a)
			}
			if reg > MaxRegistrationID {
				return nil, fmt.Errorf("%w: %s has %d", ErrInvalidRegistrationID, a, reg)
			}
			r.Devices = append(r.Devices, Device{ID: a.DeviceID, RegistrationID: reg})
		}
		out = append(out, r)
		i = j
	}
	return out, nil
}
