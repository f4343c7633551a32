package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/kem"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// MaxTextSize bounds a message's text: every envelope of a send must fit
// in one frame (256 KiB by default) together.
const MaxTextSize = 32 << 10

// outboxPayload is what an outbox item holds: one message for one
// recipient account and for our own other devices, already serialised (not
// yet encrypted: that happens at each attempt, with the sessions of then).
type outboxPayload struct {
	ID      types.MessageID `json:"id"`
	To      types.AccountID `json:"to"`             // zero: only our own devices, or a group
	Group   types.GroupID   `json:"g,omitempty"`    // a group message: Content goes to every member device
	Content []byte          `json:"c,omitempty"`    // for To's devices
	Sync    []byte          `json:"sync,omitempty"` // for our other devices
	Record  bool            `json:"rec,omitempty"`  // a history entry: mark it sent
}

func decodeOutbox(b []byte) (outboxPayload, error) {
	var p outboxPayload
	err := json.Unmarshal(b, &p)
	return p, err
}

// Send sends content to the account to and returns its message id. The
// message id and time are set here. Before Send returns, the message is in
// the history (texts and timer changes), its effect applied (edits,
// reactions, deletes) and it is queued in the outbox in the same
// transaction; it is then sent as soon as there is a connection, to every
// device of to and to this account's other devices. WaitSent waits for
// the server's acceptance.
//
// Kinds a user sees carry this account's phone number and profile name
// (profile.go). A changed, unacknowledged identity key of to gives an
// *IdentityChangedError and queues nothing.
func (c *Client) Send(ctx context.Context, to types.AccountID, content *contentpb.Content) (types.MessageID, error) {
	acct, err := c.account()
	if err != nil {
		return types.MessageID{}, err
	}
	if to.IsZero() || to == acct.ID {
		return types.MessageID{}, fmt.Errorf("%w: destination", ErrInvalid)
	}
	if err := checkSendable(content); err != nil {
		return types.MessageID{}, err
	}
	if err := c.checkTrust(ctx, to); err != nil {
		return types.MessageID{}, err
	}
	return c.queueOutgoing(ctx, acct, to, types.GroupID{}, content)
}

// queueOutgoing is what Send and SendGroup do once they have checked the
// sender and content: a copy of content gets a new message id and send
// time (and, for the kinds a user sees, our profile: profile.go says why
// every message); then one transaction applies the conversation's timer,
// writes the history entry or effect, and queues the outbox item. The
// message goes to the account to, with a sent transcript for our other
// devices, or, when g is set, to group g (whose members' devices, ours
// included, all receive the one group message).
func (c *Client) queueOutgoing(ctx context.Context, acct clientstore.Account, to types.AccountID, g types.GroupID, content *contentpb.Content) (types.MessageID, error) {
	content = proto.CloneOf(content)
	id := types.NewMessageID()
	now := c.o.Now()
	content.MessageId, content.SentMs = id[:], c.nextSentMs(now)
	if !g.IsZero() {
		content.Group = &contentpb.GroupContext{GroupId: bytes.Clone(g[:])}
	}
	if carriesProfile(content) {
		content.SenderProfile = c.ownProfile(acct)
	}

	var events []Event
	var queued []types.MessageID
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		events, queued = nil, nil
		var conv clientstore.Conversation
		var err error
		if g.IsZero() {
			conv, err = c.st.DirectConversation(ctx, to)
		} else {
			conv, err = c.st.GroupConversation(ctx, g)
		}
		if err != nil {
			return err
		}
		if t := content.GetText(); t != nil && conv.Timer > 0 {
			t.ExpireSeconds = uint32(conv.Timer / time.Second)
		}
		if m := content.GetMedia(); m != nil && conv.Timer > 0 {
			m.ExpireSeconds = uint32(conv.Timer / time.Second)
		}
		raw, err := marshalContent(content)
		if err != nil {
			return err
		}
		self := types.Address{Account: acct.ID, Device: acct.Device}
		rec, evs, err := c.applyOutgoing(ctx, conv, self, content, raw, now)
		if err != nil {
			return err
		}
		events = evs
		p := outboxPayload{ID: id, Content: raw, Record: rec}
		if g.IsZero() {
			p.To = to
			p.Sync, err = marshalContent(&contentpb.Content{MessageId: id[:], SentMs: content.SentMs,
				Body: &contentpb.Content_Sync{Sync: &contentpb.Sync{Body: &contentpb.Sync_Sent{Sent: &contentpb.SentTranscript{
					Destination: to[:], Content: content}}}}})
			if err != nil {
				return err
			}
		} else {
			p.Group = g
		}
		return c.queue(ctx, p, now, &queued)
	})
	if err != nil {
		return types.MessageID{}, err
	}
	c.markPending(queued)
	c.emit(events...)
	return id, nil
}

// SendText sends a text message.
func (c *Client) SendText(ctx context.Context, to types.AccountID, text string) (types.MessageID, error) {
	return c.Send(ctx, to, TextContent(text))
}

// queue adds p to the outbox (in ctx's transaction) and appends its id to
// *ids, which the caller passes to markPending once the transaction is
// committed.
func (c *Client) queue(ctx context.Context, p outboxPayload, now time.Time, ids *[]types.MessageID) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if _, err := c.st.AddOutbox(ctx, b, now); err != nil {
		return err
	}
	*ids = append(*ids, p.ID)
	return nil
}

func (c *Client) markPending(ids []types.MessageID) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	for _, id := range ids {
		c.pending[id] = true
	}
	c.notifyLocked()
	c.mu.Unlock()
	c.wakeSender()
}

// checkTrust fails with IdentityChangedError if a device of to has a
// changed, unacknowledged key.
func (c *Client) checkTrust(ctx context.Context, to types.AccountID) error {
	ids, err := c.st.PeerIdentities(ctx, to)
	if err != nil {
		return err
	}
	var changed []types.DeviceID
	for _, p := range ids {
		if p.Trust == clientstore.TrustChanged {
			changed = append(changed, types.DeviceID(p.Address.DeviceID))
		}
	}
	if len(changed) > 0 {
		return &IdentityChangedError{Account: to, Devices: changed}
	}
	return nil
}

// ChangedIdentities lists the devices whose identity key changed and that
// the user has not acknowledged.
func (c *Client) ChangedIdentities(ctx context.Context) ([]clientstore.PeerIdentity, error) {
	return c.st.ChangedIdentities(ctx)
}

// AcknowledgeIdentity records that the user saw the new identity keys of
// account's devices (after comparing safety numbers, ideally): sending to
// it works again, and messages the change held back go out.
func (c *Client) AcknowledgeIdentity(ctx context.Context, account types.AccountID) error {
	ids, err := c.st.PeerIdentities(ctx, account)
	if err != nil {
		return err
	}
	for _, p := range ids {
		if p.Trust == clientstore.TrustChanged {
			if err := c.st.AcknowledgeIdentity(ctx, p.Address, p.Key); err != nil {
				return err
			}
		}
	}
	return c.releaseHeld(ctx, account)
}

// releaseHeld lets the messages an identity change of account held back go
// now; any still blocked by another of its devices are blocked again by the
// sender.
func (c *Client) releaseHeld(ctx context.Context, account types.AccountID) error {
	c.mu.Lock()
	var retry []int64
	for id, a := range c.blocked {
		if a == account {
			retry = append(retry, id)
			delete(c.blocked, id)
		}
	}
	c.mu.Unlock()
	for _, id := range retry {
		if err := c.st.RetryOutbox(ctx, id, c.o.Now()); err != nil && !errors.Is(err, clientstore.ErrNotFound) {
			return err
		}
	}
	c.wakeSender()
	return nil
}

// sender sends the outbox on conn until ctx ends. Messages to one
// recipient go out in the order they were queued: an item that waits for
// a retry holds back the later ones to the same recipient.
func (c *Client) sender(ctx context.Context, conn *transport.Conn) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			progress, ok := c.senderPass(ctx, conn)
			if !ok {
				return // the connection is gone; the next one resumes
			}
			if !progress {
				break
			}
		}
		if _, err := c.st.DeleteExpired(ctx, c.o.Now()); err != nil && ctx.Err() == nil {
			c.log.Warn("delete expired messages", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-conn.Done():
			return
		case <-c.kick:
		case <-tick.C:
		}
	}
}

// senderPass tries every due item once, oldest first; progress says
// whether one was sent, ok false that the connection is unusable.
func (c *Client) senderPass(ctx context.Context, conn *transport.Conn) (progress, ok bool) {
	items, err := c.st.DueOutbox(ctx, time.Unix(1<<40, 0), 256)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("read outbox", "err", err)
		}
		return false, false
	}
	now := c.o.Now()
	// Items wait behind earlier ones to the same account, or group.
	type dest struct {
		to types.AccountID
		g  types.GroupID
	}
	held := make(map[dest]bool)
	for _, it := range items {
		p, err := decodeOutbox(it.Payload)
		if err != nil {
			c.log.Warn("undecodable outbox item dropped", "outbox_id", it.ID, "err", err)
			_ = c.st.RemoveOutbox(ctx, it.ID)
			continue
		}
		d := dest{p.To, p.Group}
		if held[d] {
			continue
		}
		if it.NextAttempt.After(now) {
			held[d] = true
			continue
		}
		sent, ok := c.sendItem(ctx, conn, it, p)
		if !ok {
			return progress, false
		}
		if !sent {
			held[d] = true
		}
		progress = progress || sent
	}
	return progress, true
}

// sendItem tries one outbox item: sent says whether it is done (sent, or
// given up), ok false that the connection is unusable.
func (c *Client) sendItem(ctx context.Context, conn *transport.Conn, it clientstore.OutboxItem, p outboxPayload) (sent, ok bool) {
	if !p.Group.IsZero() {
		return c.sendGroupItem(ctx, conn, it, p)
	}
	var err error
	acct, _ := c.account()
	// Our other devices get their copy first: the recipient's delivery
	// receipt, which they apply too, can then never reach them before the
	// message it is about. A retry sends both again; the server drops what
	// it already has (same sender, message id and destination).
	if len(p.Sync) > 0 {
		err = c.deliver(ctx, conn, acct.ID, p.ID, p.Sync, false)
	}
	if err == nil && !p.To.IsZero() {
		err = c.deliver(ctx, conn, p.To, p.ID, p.Content, false)
	}
	if err != nil {
		return c.sendFailed(ctx, conn, it, p, err)
	}
	if c.hook.afterAccept != nil && c.hook.afterAccept(p.ID) {
		return false, false
	}
	now := c.o.Now()
	err = c.st.InTx(ctx, func(ctx context.Context) error {
		if p.Record && !p.To.IsZero() {
			err := c.st.SetReceipt(ctx, clientstore.MessageRef{Sender: acct.ID, ID: p.ID}, p.To, clientstore.StatusSent, now)
			if err != nil && !errors.Is(err, clientstore.ErrNotFound) {
				return err
			}
		}
		return c.st.RemoveOutbox(ctx, it.ID)
	})
	if err != nil {
		// Sent, but not recorded: the next attempt is a duplicate the
		// server recognises.
		c.log.Warn("record sent message", "err", err)
		return false, ctx.Err() == nil
	}
	c.mu.Lock()
	delete(c.pending, p.ID)
	c.notifyLocked()
	c.mu.Unlock()
	c.emit(SentEvent{ID: p.ID, To: p.To})
	return true, true
}

// sendFailed decides what a failed attempt means.
func (c *Client) sendFailed(ctx context.Context, conn *transport.Conn, it clientstore.OutboxItem, p outboxPayload, err error) (done, ok bool) {
	if ctx.Err() != nil || errors.Is(err, transport.ErrClosed) || conn.Err() != nil {
		return false, false
	}
	var ice *IdentityChangedError
	if errors.As(err, &ice) {
		c.mu.Lock()
		c.blocked[it.ID] = ice.Account
		c.mu.Unlock()
		// Retried at once by AcknowledgeIdentity; the back-off covers a
		// restart in between.
		_ = c.st.RetryOutbox(ctx, it.ID, c.o.Now().Add(c.retryDelay(it.Attempts, 5*time.Minute)))
		return false, true
	}
	switch transport.CodeOf(err) {
	case wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST, wirepb.ErrorCode_ERROR_CODE_NOT_FOUND, wirepb.ErrorCode_ERROR_CODE_FORBIDDEN:
		// Retrying the same request cannot help: give up, and say so.
		c.giveUp(ctx, it, p, err)
		return true, true
	}
	c.log.Info("send failed, will retry", "outbox_id", it.ID, "attempts", it.Attempts+1, "err", err)
	_ = c.st.RetryOutbox(ctx, it.ID, c.o.Now().Add(c.retryDelay(it.Attempts, c.o.MaxBackoff)))
	return false, true
}

func (c *Client) retryDelay(attempts int, ceiling time.Duration) time.Duration {
	d := c.backoff(attempts)
	return min(d, ceiling)
}

// deliver encrypts padded content for every device of dest (but this one)
// and sends it as one message, following the server's corrections of the
// device list (Sesame): devices missing get a session from their bundle,
// extra ones lose theirs, stale ones (re-installed) both. Sending to our
// own account with no other device is a no-op.
func (c *Client) deliver(ctx context.Context, conn *transport.Conn, dest types.AccountID, id types.MessageID, content []byte, ephemeral bool) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	self := dest == acct.ID
	plaintext := pad(content)
	for attempt := 0; ; attempt++ {
		devs, err := c.devicesFor(ctx, conn, dest, self, ephemeral)
		if err != nil {
			return err
		}
		if len(devs) == 0 {
			if self || ephemeral {
				return nil
			}
			return fmt.Errorf("client: %s has no devices", dest)
		}
		send := &wirepb.Send{MessageId: id[:], Destination: dest[:], ClientTimeMs: c.o.Now().UnixMilli(), Ephemeral: ephemeral}
		var changed []types.DeviceID
		for _, d := range devs {
			env, err := c.encryptFor(ctx, conn, dest, d, plaintext)
			var ice *IdentityChangedError
			switch {
			case errors.As(err, &ice):
				changed = append(changed, d)
				continue
			case err != nil:
				return err
			}
			send.Envelopes = append(send.Envelopes, env)
		}
		if len(changed) > 0 {
			return &IdentityChangedError{Account: dest, Devices: changed}
		}
		_, err = conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Send{Send: send}})
		if transport.CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_MISMATCHED_DEVICES || attempt >= 3 {
			return err
		}
		var se *transport.ServerError
		errors.As(err, &se)
		m := se.E.GetMismatched()
		c.log.Debug("device list corrected", "missing", m.GetMissing(), "extra", m.GetExtra(), "stale", m.GetStale())
		for _, d := range slices.Concat(m.GetExtra(), m.GetStale()) {
			if err := c.forgetSession(ctx, sessionAddr(dest, types.DeviceID(d))); err != nil {
				return err
			}
		}
		for _, d := range slices.Concat(m.GetMissing(), m.GetStale()) {
			if err := c.fetchSession(ctx, conn, dest, types.DeviceID(d)); err != nil {
				return err
			}
		}
	}
}

// devicesFor returns the devices of dest to encrypt to: those we have
// sessions with, or, with none, every device the server lists (for our own
// account, without claiming our own prekeys).
func (c *Client) devicesFor(ctx context.Context, conn *transport.Conn, dest types.AccountID, self, ephemeral bool) ([]types.DeviceID, error) {
	acct, _ := c.account()
	have, err := c.st.SessionDevices(ctx, dest.String())
	if err != nil {
		return nil, err
	}
	var out []types.DeviceID
	for _, d := range have {
		if !self || types.DeviceID(d) != acct.Device {
			out = append(out, types.DeviceID(d))
		}
	}
	if len(out) > 0 || ephemeral {
		return out, nil
	}
	if self {
		// A new device of ours may have been linked since.
		res, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ListDevices{ListDevices: &wirepb.ListDevices{}}})
		if err != nil {
			return nil, err
		}
		for _, d := range res.GetDevices().GetDevices() {
			if types.DeviceID(d.DeviceId) == acct.Device {
				continue
			}
			if err := c.fetchSession(ctx, conn, dest, types.DeviceID(d.DeviceId)); err != nil {
				return nil, err
			}
			out = append(out, types.DeviceID(d.DeviceId))
		}
		return out, nil
	}
	res, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: dest[:]}}})
	if err != nil {
		return nil, err
	}
	var changed []types.DeviceID
	for _, b := range res.GetBundle().GetDevices() {
		err := c.startSession(ctx, dest, b)
		var ice *IdentityChangedError
		switch {
		case errors.As(err, &ice):
			changed = append(changed, types.DeviceID(b.DeviceId))
		case err != nil:
			return nil, err
		default:
			out = append(out, types.DeviceID(b.DeviceId))
		}
	}
	if len(changed) > 0 {
		return nil, &IdentityChangedError{Account: dest, Devices: changed}
	}
	return out, nil
}

// encryptFor encrypts plaintext for one device, starting a session from
// its bundle if there is none (or ours went stale).
func (c *Client) encryptFor(ctx context.Context, conn *transport.Conn, dest types.AccountID, d types.DeviceID, plaintext []byte) (*wirepb.OutgoingEnvelope, error) {
	addr := sessionAddr(dest, d)
	for try := 0; ; try++ {
		env, err := c.encrypt(ctx, addr, plaintext)
		switch {
		case errors.Is(err, session.ErrUntrustedIdentity):
			return nil, &IdentityChangedError{Account: dest, Devices: []types.DeviceID{d}}
		case errors.Is(err, session.ErrNoSession) && try == 0:
			if err := c.fetchSession(ctx, conn, dest, d); err != nil {
				return nil, err
			}
			continue
		}
		return env, err
	}
}

// encrypt encrypts plaintext with the session with addr. The envelope
// names the registration id of that very session: it is all the server
// recognises a reinstalled device by (it takes 0 for "unknown" and lets
// the message through), so a message for a session that went stale must
// carry the old id and be refused, whatever happens to the session after.
func (c *Client) encrypt(ctx context.Context, addr session.Address, plaintext []byte) (*wirepb.OutgoingEnvelope, error) {
	c.crypto.Lock()
	defer c.crypto.Unlock()
	rec, err := c.st.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	reg, _ := rec.RemoteRegistrationID() // none: Encrypt reports ErrNoSession
	ct, err := session.Encrypt(ctx, c.stores(), addr, plaintext, c.o.Now())
	if err != nil {
		return nil, err
	}
	if c.hook.afterEncrypt != nil {
		c.hook.afterEncrypt(addr)
	}
	typ := wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT
	if ct.Type == session.TypePreKey {
		typ = wirepb.EnvelopeType_ENVELOPE_TYPE_PREKEY_MESSAGE
	}
	return &wirepb.OutgoingEnvelope{DeviceId: addr.DeviceID, RegistrationId: reg, Type: typ, Content: ct.Body}, nil
}

// forgetSession deletes the session with addr, under the crypto lock like
// every change of a session: unlocked, it could vanish between another
// send's encryption and its store, which would write the stale session
// back over it (or over a new one).
func (c *Client) forgetSession(ctx context.Context, addr session.Address) error {
	c.crypto.Lock()
	defer c.crypto.Unlock()
	return c.st.DeleteSession(ctx, addr)
}

// fetchSession starts a new session with one device from its bundle.
func (c *Client) fetchSession(ctx context.Context, conn *transport.Conn, dest types.AccountID, d types.DeviceID) error {
	res, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{AccountId: dest[:], DeviceId: uint32(d)}}})
	if err != nil {
		return err
	}
	for _, b := range res.GetBundle().GetDevices() {
		if types.DeviceID(b.DeviceId) == d {
			return c.startSession(ctx, dest, b)
		}
	}
	return fmt.Errorf("client: server sent no bundle for %s.%d", dest, d)
}

// startSession runs PQXDH with a bundle. A different identity key than the
// one on record is recorded as changed, reported, and refused.
func (c *Client) startSession(ctx context.Context, dest types.AccountID, wb *wirepb.DeviceBundle) error {
	b, err := bundleFromWire(wb)
	if err != nil {
		return err
	}
	addr := sessionAddr(dest, types.DeviceID(wb.DeviceId))
	c.crypto.Lock()
	defer c.crypto.Unlock()
	err = session.ProcessBundle(ctx, c.stores(), addr, b, c.o.Now(), nil)
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		return err
	}
	changed, serr := c.st.SaveIdentity(ctx, addr, b.IdentityKey)
	if serr != nil {
		return serr
	}
	if changed {
		c.log.Info("identity key changed", "device_id", wb.DeviceId)
		c.emit(IdentityChangedEvent{Account: dest, Device: types.DeviceID(wb.DeviceId)})
	}
	return &IdentityChangedError{Account: dest, Devices: []types.DeviceID{types.DeviceID(wb.DeviceId)}}
}

func bundleFromWire(w *wirepb.DeviceBundle) (session.Bundle, error) {
	bad := func(what string, err error) error {
		return fmt.Errorf("client: bundle of device %d: %s: %w", w.DeviceId, what, err)
	}
	ik, err := curve.ParsePublicKey(w.IdentityKey)
	if err != nil {
		return session.Bundle{}, bad("identity key", err)
	}
	spk, err := curve.ParsePublicKey(w.GetSignedPrekey().GetPublicKey())
	if err != nil {
		return session.Bundle{}, bad("signed prekey", err)
	}
	kyber, err := kem.ParsePublicKey(w.GetKyberPrekey().GetPublicKey())
	if err != nil {
		return session.Bundle{}, bad("Kyber prekey", err)
	}
	b := session.Bundle{
		RegistrationID: w.RegistrationId, DeviceID: w.DeviceId, IdentityKey: ik,
		SignedPreKeyID: w.SignedPrekey.KeyId, SignedPreKey: spk, SignedPreKeySignature: w.SignedPrekey.Signature,
		KyberPreKeyID: w.KyberPrekey.KeyId, KyberPreKey: kyber, KyberPreKeySignature: w.KyberPrekey.Signature,
	}
	if otk := w.GetOneTimePrekey(); otk != nil {
		pk, err := curve.ParsePublicKey(otk.PublicKey)
		if err != nil {
			return session.Bundle{}, bad("one-time prekey", err)
		}
		b.PreKeyID, b.PreKey = otk.KeyId, &pk
	}
	return b, nil
}

// Typing tells to's devices that the user started or stopped typing: an
// encrypted, ephemeral message, delivered only to devices online now and
// only over sessions that exist.
func (c *Client) Typing(ctx context.Context, to types.AccountID, started bool) error {
	conn := c.current()
	if conn == nil {
		return ErrNotConnected
	}
	if err := c.checkTrust(ctx, to); err != nil {
		return err
	}
	id := types.NewMessageID()
	raw, err := marshalContent(&contentpb.Content{MessageId: id[:], SentMs: c.o.Now().UnixMilli(),
		Body: &contentpb.Content_Typing{Typing: &contentpb.Typing{Started: started}}})
	if err != nil {
		return err
	}
	return c.deliver(ctx, conn, to, id, raw, true)
}

// nextSentMs is the sent time of a new message: now, but always after the
// previous one this client sent. Reactions and edits are ordered by it
// (the latest wins, whatever order they arrive in), so two sent within one
// millisecond must not tie.
func (c *Client) nextSentMs(now time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := max(now.UnixMilli(), c.lastSentMs+1)
	c.lastSentMs = ms
	return ms
}
