package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// receive decrypts and stores a batch of envelopes, then acknowledges the
// ones that are done (stored, duplicates, or hopeless).
func (c *Client) receive(ctx context.Context, conn *transport.Conn, envs []*wirepb.Envelope) {
	var ack []uint64
	for _, e := range envs {
		done := c.receiveOne(ctx, conn, e)
		if done && e.Id != 0 {
			ack = append(ack, e.Id)
		}
	}
	if len(ack) == 0 {
		return
	}
	if c.hook.beforeAck != nil && c.hook.beforeAck() {
		return
	}
	if err := conn.Post(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ack{Ack: &wirepb.Ack{Ids: ack}}}); err != nil {
		c.log.Debug("ack not sent", "err", err)
	}
}

// parseReceived parses the decrypted plaintext of envelope e. A content
// without a message id takes the envelope's, which must then be one.
func parseReceived(pt []byte, e *wirepb.Envelope) (*contentpb.Content, []byte, error) {
	content, raw, err := parsePlaintext(pt)
	if err != nil {
		return nil, nil, err
	}
	if len(content.MessageId) == 0 {
		content.MessageId = e.MessageId
	}
	if len(content.MessageId) != 16 {
		return nil, nil, fmt.Errorf("%w: no message id", ErrBadContent)
	}
	return content, raw, nil
}

// hopeless reports decryption failures that no retry will fix.
func hopeless(err error) bool {
	for _, e := range []error{session.ErrInvalidMessage, session.ErrBadMAC, session.ErrNoSession, session.ErrInvalidKey,
		session.ErrDuplicate, session.ErrTooFarAhead, session.ErrLegacyVersion, session.ErrUnknownVersion,
		session.ErrNoPreKey, session.ErrPreKeyReused, session.ErrInvalidAddress, ErrBadContent,
		senderkey.ErrNoSenderKey, senderkey.ErrInvalidMessage, senderkey.ErrBadSignature, senderkey.ErrDuplicate,
		senderkey.ErrTooFarAhead, senderkey.ErrUnknownVersion} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// rxState collects what applying one envelope leaves to do after its
// transaction is committed.
type rxState struct {
	queued []types.MessageID // outbox items to mark pending
	claim  *profileClaim     // a phone number to check with the directory
	groups []types.GroupID   // groups whose secret arrived: fetch and open them
}

func (rx *rxState) reset() { *rx = rxState{} }

// receiveOne handles one envelope; it reports whether it may be acked.
func (c *Client) receiveOne(ctx context.Context, conn *transport.Conn, e *wirepb.Envelope) bool {
	acct, err := c.account()
	if err != nil {
		return false
	}
	switch e.Type {
	case wirepb.EnvelopeType_ENVELOPE_TYPE_GROUP_EVENT:
		return c.receiveGroupEvent(ctx, conn, e)
	case wirepb.EnvelopeType_ENVELOPE_TYPE_SENDER_KEY:
		return c.receiveGroupMessage(ctx, conn, e)
	}
	from := types.Address{Account: types.AccountID(e.SenderAccount), Device: types.DeviceID(e.SenderDevice)}
	if len(e.SenderAccount) != 16 || (from.Account == acct.ID && from.Device == acct.Device) {
		c.log.Warn("envelope with a bad sender dropped")
		return true
	}
	var typ session.MessageType
	switch e.Type {
	case wirepb.EnvelopeType_ENVELOPE_TYPE_CIPHERTEXT:
		typ = session.TypeSignal
	case wirepb.EnvelopeType_ENVELOPE_TYPE_PREKEY_MESSAGE:
		typ = session.TypePreKey
	default:
		c.log.Warn("envelope of an unsupported type dropped", "type", e.Type.String())
		c.emit(UndecryptableEvent{From: from, Err: errors.New("client: unsupported envelope type")})
		return true
	}
	addr := sessionAddr(from.Account, from.Device)
	now := c.o.Now()
	var events []Event
	var rx rxState
	var before clientstore.PeerIdentity
	c.crypto.Lock()
	locked := true
	defer func() {
		if locked {
			c.crypto.Unlock()
		}
	}()
	if typ == session.TypePreKey {
		before, _ = c.st.PeerIdentity(ctx, addr)
	}
	err = c.st.InTx(ctx, func(ctx context.Context) error {
		events = nil
		rx.reset()
		pt, err := session.Decrypt(ctx, c.stores(), addr, session.Ciphertext{Type: typ, Body: e.Content})
		if err != nil {
			return err
		}
		content, raw, err := parseReceived(pt, e)
		if err != nil {
			return err
		}
		events, err = c.apply(ctx, acct, from, content, raw, now, &rx)
		return err
	})
	switch {
	case errors.Is(err, session.ErrDuplicate):
		return true // decrypted and stored before; only the ack was lost
	case err != nil && hopeless(err):
		c.log.Warn("undecryptable envelope dropped", "err", err)
		c.emit(UndecryptableEvent{From: from, Err: err})
		return true
	case err != nil:
		if ctx.Err() == nil {
			c.log.Warn("envelope not stored; the server will deliver it again", "err", err)
		}
		return false
	}
	if typ == session.TypePreKey {
		if after, err := c.st.PeerIdentity(ctx, addr); err == nil && after.Trust == clientstore.TrustChanged && after.Key != before.Key {
			events = append(events, IdentityChangedEvent{Account: from.Account, Device: from.Device})
		}
	}
	c.crypto.Unlock()
	locked = false
	c.afterReceive(ctx, conn, events, &rx)
	return true
}

// afterReceive does what a committed envelope left to do, and announces it.
func (c *Client) afterReceive(ctx context.Context, conn *transport.Conn, events []Event, rx *rxState) {
	c.markPending(rx.queued)
	// The claimed number is checked before the message is announced, so
	// that front ends show it with the first message.
	if cl := rx.claim; cl != nil && conn != nil && c.verifyClaim(ctx, conn, *cl) && !slices.ContainsFunc(events, isContactEvent(cl.account)) {
		events = append([]Event{ContactEvent{Account: cl.account}}, events...)
	}
	c.emit(events...)
	for _, g := range rx.groups {
		if err := c.secretArrived(ctx, conn, g); err != nil && ctx.Err() == nil {
			// The next event of the group, or the next send, fetches it.
			c.log.Info("group not fetched after its secret arrived", "group", g, "err", err)
		}
	}
}

// apply stores what content, from a pairwise session with from, means,
// in ctx's transaction, and returns the events to emit once it is
// committed.
func (c *Client) apply(ctx context.Context, acct clientstore.Account, from types.Address, content *contentpb.Content, raw []byte, now time.Time, rx *rxState) ([]Event, error) {
	// Group keys come pairwise from any member device, ours included.
	switch b := content.Body.(type) {
	case *contentpb.Content_SenderKey:
		return nil, c.applySenderKey(ctx, from, b.SenderKey)
	case *contentpb.Content_GroupUpdate:
		return nil, c.applyGroupUpdate(ctx, b.GroupUpdate, rx)
	}
	if from.Account == acct.ID {
		// Our other device: only sync messages mean anything.
		switch b := content.GetSync().GetBody().(type) {
		case *contentpb.Sync_Sent:
			inner := b.Sent.Content
			if len(b.Sent.Destination) != 16 || inner == nil {
				return nil, ErrBadContent
			}
			inner.MessageId = content.MessageId
			innerRaw, err := proto.MarshalOptions{Deterministic: true}.Marshal(inner)
			if err != nil {
				return nil, err
			}
			conv, err := c.st.DirectConversation(ctx, types.AccountID(b.Sent.Destination))
			if err != nil {
				return nil, err
			}
			_, evs, err := c.applyOutgoing(ctx, conv, from, inner, innerRaw, now)
			return evs, err
		case *contentpb.Sync_Read:
			var evs []Event
			for _, r := range b.Read.Messages {
				ref, ok := ref(r)
				if !ok {
					continue
				}
				m, err := c.st.Message(ctx, ref)
				if errors.Is(err, clientstore.ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, err
				}
				if err := c.st.MarkRead(ctx, m.Conversation, m.Seq); err != nil {
					return nil, err
				}
				evs = append(evs, UpdateEvent{Kind: ReadElsewhere, Ref: ref, Conversation: m.Conversation, By: from})
			}
			return evs, nil
		}
		return nil, nil
	}

	switch b := content.Body.(type) {
	case *contentpb.Content_Receipt:
		status := clientstore.StatusDelivered
		if b.Receipt.Type == contentpb.Receipt_TYPE_READ {
			status = clientstore.StatusRead
		}
		ev := ReceiptEvent{Recipient: from.Account, Status: status}
		for _, mid := range b.Receipt.MessageIds {
			if len(mid) != 16 {
				continue
			}
			r := clientstore.MessageRef{Sender: acct.ID, ID: types.MessageID(mid)}
			err := c.st.SetReceipt(ctx, r, from.Account, status, now)
			if errors.Is(err, clientstore.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ev.IDs = append(ev.IDs, r.ID)
		}
		if len(ev.IDs) == 0 {
			return nil, nil
		}
		return []Event{ev}, nil
	case *contentpb.Content_Typing:
		return []Event{TypingEvent{From: from, Started: b.Typing.Started}}, nil
	case *contentpb.Content_Sync:
		return nil, nil // only from our own devices
	}
	conv, err := c.st.DirectConversation(ctx, from.Account)
	if err != nil {
		return nil, err
	}
	return c.applyIncoming(ctx, conv, from, content, raw, now, rx)
}

// applyIncoming stores a message a user sees, from another account, in
// conv (direct or group), and queues its delivery receipt to the author.
func (c *Client) applyIncoming(ctx context.Context, conv clientstore.Conversation, from types.Address, content *contentpb.Content, raw []byte, now time.Time, rx *rxState) ([]Event, error) {
	id := types.MessageID(content.MessageId)
	sent := time.UnixMilli(content.SentMs)
	var evs []Event
	cl, changed, err := c.noteProfile(ctx, from.Account, content.SenderProfile)
	if err != nil {
		return nil, err
	}
	rx.claim = cl
	if changed {
		evs = append(evs, ContactEvent{Account: from.Account})
	}
	m := clientstore.Message{Conversation: conv.ID, ID: id, Sender: from, Direction: clientstore.Incoming,
		Content: raw, SentAt: sent, ReceivedAt: now}
	switch b := content.Body.(type) {
	case *contentpb.Content_Text:
		m.Kind = KindText
		if s := b.Text.ExpireSeconds; s > 0 {
			m.ExpiresAt = now.Add(time.Duration(s) * time.Second)
		}
	case *contentpb.Content_Media:
		m.Kind = KindMedia
		if s := b.Media.ExpireSeconds; s > 0 {
			m.ExpiresAt = now.Add(time.Duration(s) * time.Second)
		}
	case *contentpb.Content_Business:
		m.Kind = KindBusiness
	case *contentpb.Content_Timer:
		m.Kind = KindTimer
		if err := c.st.SetTimer(ctx, conv.ID, time.Duration(b.Timer.Seconds)*time.Second); err != nil {
			return nil, err
		}
		evs = append(evs, UpdateEvent{Kind: TimerChanged, Conversation: conv.ID, By: from})
	case nil:
		m.Kind = KindUnknown
	default:
		// Edits, deletes and reactions: the same as when we act.
		ch, err := c.applyChange(ctx, from, content, conv.ID)
		return append(evs, ch...), err
	}
	seq, err := c.st.AddMessage(ctx, m)
	if errors.Is(err, clientstore.ErrDuplicate) {
		return evs, nil
	}
	if err != nil {
		return nil, err
	}
	m.Seq = seq
	// The delivery receipt goes out through the outbox, committed with
	// the message: a crash cannot lose it. A group message's goes to its
	// author alone, pairwise, naming the group.
	rid := types.NewMessageID()
	receipt := &contentpb.Content{MessageId: rid[:], SentMs: now.UnixMilli(),
		Body: &contentpb.Content_Receipt{Receipt: &contentpb.Receipt{Type: contentpb.Receipt_TYPE_DELIVERED, MessageIds: [][]byte{id[:]}}}}
	if !conv.Group.IsZero() {
		receipt.Group = &contentpb.GroupContext{GroupId: bytes.Clone(conv.Group[:])}
	}
	rc, err := marshalContent(receipt)
	if err != nil {
		return nil, err
	}
	if err := c.queue(ctx, outboxPayload{ID: rid, To: from.Account, Content: rc}, now, &rx.queued); err != nil {
		return nil, err
	}
	return append(evs, MessageEvent{Message: toMessage(m, conv)}), nil
}

// applyOutgoing records a message this account sent to conv (from this
// device or, by a sent transcript or a group message, another one). record
// says whether it is a history entry (to be marked sent).
func (c *Client) applyOutgoing(ctx context.Context, conv clientstore.Conversation, by types.Address, content *contentpb.Content, raw []byte, now time.Time) (record bool, _ []Event, _ error) {
	m := clientstore.Message{Conversation: conv.ID, ID: types.MessageID(content.MessageId), Sender: by,
		Direction: clientstore.Outgoing, Content: raw, SentAt: time.UnixMilli(content.SentMs), ReceivedAt: now}
	var evs []Event
	switch b := content.Body.(type) {
	case *contentpb.Content_Text:
		m.Kind = KindText
		if s := b.Text.ExpireSeconds; s > 0 {
			m.ExpiresAt = m.SentAt.Add(time.Duration(s) * time.Second)
		}
	case *contentpb.Content_Media:
		m.Kind = KindMedia
		if s := b.Media.ExpireSeconds; s > 0 {
			m.ExpiresAt = m.SentAt.Add(time.Duration(s) * time.Second)
		}
	case *contentpb.Content_Business:
		m.Kind = KindBusiness
	case *contentpb.Content_Timer:
		m.Kind = KindTimer
		if err := c.st.SetTimer(ctx, conv.ID, time.Duration(b.Timer.Seconds)*time.Second); err != nil {
			return false, nil, err
		}
		evs = append(evs, UpdateEvent{Kind: TimerChanged, Conversation: conv.ID, By: by})
	case nil:
		m.Kind = KindUnknown
	case *contentpb.Content_Receipt, *contentpb.Content_Typing, *contentpb.Content_Sync,
		*contentpb.Content_SenderKey, *contentpb.Content_GroupUpdate:
		return false, nil, nil
	default:
		evs, err := c.applyChange(ctx, by, content, conv.ID)
		return false, evs, err
	}
	seq, err := c.st.AddMessage(ctx, m)
	if errors.Is(err, clientstore.ErrDuplicate) {
		return true, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	m.Seq = seq
	return true, append(evs, MessageEvent{Message: toMessage(m, conv)}), nil
}

// applyChange applies an edit, delete or reaction by `by`. Targets that
// are not here (never arrived, deleted for me) are ignored; edits and
// deletes of someone else's message are refused silently.
func (c *Client) applyChange(ctx context.Context, by types.Address, content *contentpb.Content, conv clientstore.ConversationID) ([]Event, error) {
	at := time.UnixMilli(content.SentMs)
	var target *contentpb.MessageRef
	var kind UpdateKind
	var err error
	switch b := content.Body.(type) {
	case *contentpb.Content_Reaction:
		target, kind = b.Reaction.Target, Reacted
		r, ok := ref(target)
		if !ok {
			return nil, nil
		}
		emoji := b.Reaction.Emoji
		if b.Reaction.Remove {
			emoji = ""
		}
		err = c.st.SetReaction(ctx, r, by.Account, emoji, at)
	case *contentpb.Content_Edit:
		target, kind = b.Edit.Target, Edited
		r, ok := ref(target)
		if !ok || r.Sender != by.Account || len(b.Edit.Body) > MaxTextSize {
			return nil, nil
		}
		var m clientstore.Message
		if m, err = c.st.Message(ctx, r); err == nil {
			var old *contentpb.Content
			if old, err = parseContent(m.Content); err == nil && old.GetText() != nil {
				old.GetText().Body = b.Edit.Body
				var raw []byte
				if raw, err = marshalContent(old); err == nil {
					err = c.st.EditMessage(ctx, r, raw, at)
				}
			}
		}
	case *contentpb.Content_Delete:
		target, kind = b.Delete.Target, DeletedForEveryone
		r, ok := ref(target)
		if !ok || r.Sender != by.Account {
			return nil, nil
		}
		err = c.st.DeleteForEveryone(ctx, r, at)
	default:
		return nil, nil
	}
	if errors.Is(err, clientstore.ErrNotFound) || errors.Is(err, ErrBadContent) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, _ := ref(target)
	return []Event{UpdateEvent{Kind: kind, Ref: r, Conversation: conv, By: by}}, nil
}

// MarkRead marks the conversation with peer read up to its newest message
// and sends read receipts for the incoming messages that were unread (to
// peer, and a read sync to our other devices).
func (c *Client) MarkRead(ctx context.Context, peer types.AccountID) error {
	conversation := func(ctx context.Context) (clientstore.Conversation, error) { return c.st.DirectConversation(ctx, peer) }
	return c.markRead(ctx, conversation, func(ctx context.Context, unread []clientstore.Message, now time.Time, queued *[]types.MessageID) error {
		ids := make([][]byte, len(unread))
		refs := make([]*contentpb.MessageRef, len(unread))
		for i := range unread {
			ids[i], refs[i] = unread[i].ID[:], wireRef(unread[i].Ref())
		}
		rid := types.NewMessageID()
		rc, err := marshalContent(&contentpb.Content{MessageId: rid[:], SentMs: now.UnixMilli(),
			Body: &contentpb.Content_Receipt{Receipt: &contentpb.Receipt{Type: contentpb.Receipt_TYPE_READ, MessageIds: ids}}})
		if err != nil {
			return err
		}
		sync, err := marshalContent(&contentpb.Content{MessageId: rid[:], SentMs: now.UnixMilli(),
			Body: &contentpb.Content_Sync{Sync: &contentpb.Sync{Body: &contentpb.Sync_Read{Read: &contentpb.ReadSync{Messages: refs}}}}})
		if err != nil {
			return err
		}
		return c.queue(ctx, outboxPayload{ID: rid, To: peer, Content: rc, Sync: sync}, now, queued)
	})
}

// markRead is what MarkRead and MarkReadGroup share. In one transaction it
// marks the conversation read up to its newest message and calls receipts
// with the messages that were unread (incoming and not deleted, newest
// first) to queue what tells their authors and our other devices;
// receipts appends the ids it queues to *queued.
func (c *Client) markRead(ctx context.Context, conversation func(ctx context.Context) (clientstore.Conversation, error),
	receipts func(ctx context.Context, unread []clientstore.Message, now time.Time, queued *[]types.MessageID) error) error {
	if _, err := c.account(); err != nil {
		return err
	}
	now := c.o.Now()
	var queued []types.MessageID
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		queued = nil
		conv, err := conversation(ctx)
		if err != nil || conv.Unread == 0 {
			return err
		}
		page, err := c.st.Messages(ctx, conv.ID, 0, conv.Unread+64)
		if err != nil || len(page) == 0 {
			return err
		}
		var unread []clientstore.Message
		for i := len(page) - 1; i >= 0 && len(unread) < conv.Unread; i-- {
			if m := page[i]; m.Direction == clientstore.Incoming && !m.Deleted {
				unread = append(unread, m)
			}
		}
		if err := c.st.MarkRead(ctx, conv.ID, page[len(page)-1].Seq); err != nil {
			return err
		}
		return receipts(ctx, unread, now, &queued)
	})
	if err == nil {
		c.markPending(queued)
	}
	return err
}

func isContactEvent(a types.AccountID) func(Event) bool {
	return func(e Event) bool {
		ce, ok := e.(ContactEvent)
		return ok && ce.Account == a
	}
}
