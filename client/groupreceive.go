package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// receiveGroupEvent handles an ENVELOPE_TYPE_GROUP_EVENT: the server's
// notice that a group this account is or was in changed. The event is
// verified before it is applied; a gap before it is fetched first. It
// reports whether the envelope may be acked.
func (c *Client) receiveGroupEvent(ctx context.Context, conn *transport.Conn, e *wirepb.Envelope) bool {
	g, err := types.GroupIDFromBytes(e.GroupId)
	if err != nil || g.IsZero() {
		c.log.Warn("group event without a group id dropped")
		return true
	}
	ev, err := grouplog.Parse(e.Content)
	if err == nil && ev.Group != g {
		err = errors.New("event of another group")
	}
	if err != nil {
		c.rejected(g, fmt.Errorf("%w: %v", ErrGroupRejected, err))
		return true
	}
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	gr, err := c.loadGroup(ctx, g)
	if err != nil && !errors.Is(err, ErrUnknownGroup) {
		return false
	}
	switch seq := ev.Body.Seq; {
	case gr.state != nil && seq <= gr.Seq:
		return true // applied already (our own change, or fetched with a gap)
	case (gr.state == nil && seq == 1) || (gr.state != nil && seq == gr.Seq+1):
		err = c.applyGroupEvents(ctx, conn.Call, &gr, []*grouplog.Event{ev}, gr.state != nil, nil)
		if err != nil {
			c.rejected(g, err)
		} else {
			err = c.openAttributesLocked(ctx, g)
		}
	default:
		err = c.syncGroupLocked(ctx, conn.Call, g, nil)
	}
	switch {
	case err == nil, errors.Is(err, ErrGroupRejected):
		return true
	case ctx.Err() != nil || errors.Is(err, transport.ErrClosed):
		return false
	}
	switch transport.CodeOf(err) {
	case wirepb.ErrorCode_ERROR_CODE_FORBIDDEN, wirepb.ErrorCode_ERROR_CODE_NOT_FOUND, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST:
		// The server will not show us the group (we are out of it, and
		// missed the events between): nothing to wait for.
		c.log.Info("group event not applied; the group is not readable", "group", g, "err", err)
		return true
	}
	c.log.Info("group event not applied yet; the server will deliver it again", "group", g, "err", err)
	return false
}

// errSenderNotMember: a group message whose sender is not in the verified
// membership (or the receiver is no longer in it).
var errSenderNotMember = errors.New("client: group message from a non-member")

// receiveGroupMessage handles a SenderKeyMessage fanned out to a group. It
// believes it only from a member of the group as verified here (fetching
// the group once when the sender is not one yet, as a just-added member's
// first message can come before its addition was fetched), and only when
// the content names the same group as the envelope.
func (c *Client) receiveGroupMessage(ctx context.Context, conn *transport.Conn, e *wirepb.Envelope) bool {
	acct, err := c.account()
	if err != nil {
		return false
	}
	from := types.Address{Account: types.AccountID(e.SenderAccount), Device: types.DeviceID(e.SenderDevice)}
	g, gerr := types.GroupIDFromBytes(e.GroupId)
	if len(e.SenderAccount) != 16 || from.Device == 0 || (from.Account == acct.ID && from.Device == acct.Device) || gerr != nil || g.IsZero() {
		c.log.Warn("group message with a bad sender or group dropped")
		return true
	}
	for try := 0; ; try++ {
		done, err := c.receiveGroupMessageOnce(ctx, conn, e, acct, from, g)
		if !errors.Is(err, errSenderNotMember) {
			return done
		}
		if try > 0 || conn == nil {
			c.log.Warn("group message from a non-member dropped", "group", g)
			c.emit(UndecryptableEvent{From: from, Err: fmt.Errorf("%w: %w", ErrNotMember, err)})
			return true
		}
		if err := c.syncGroup(ctx, conn.Call, g); err != nil && ctx.Err() != nil {
			return false
		}
	}
}

func (c *Client) receiveGroupMessageOnce(ctx context.Context, conn *transport.Conn, e *wirepb.Envelope, acct clientstore.Account, from types.Address, g types.GroupID) (bool, error) {
	now := c.o.Now()
	var events []Event
	var rx rxState
	c.crypto.Lock()
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		events = nil
		rx.reset()
		gr, err := c.loadGroup(ctx, g)
		if errors.Is(err, ErrUnknownGroup) {
			return errSenderNotMember
		}
		if err != nil {
			return err
		}
		if gr.state == nil || gr.Left {
			return errSenderNotMember
		}
		if _, ok := gr.state.Member(from.Account); !ok {
			return errSenderNotMember
		}
		pt, err := senderkey.Decrypt(ctx, c.st, senderkey.Address{Name: from.Account.String(), DeviceID: uint32(from.Device)}, e.Content)
		if err != nil {
			return err
		}
		content, raw, err := parseReceived(pt, e)
		if err != nil {
			return err
		}
		if len(content.GetGroup().GetGroupId()) != 16 || types.GroupID(content.GetGroup().GetGroupId()) != g {
			// The server delivered a member's message of another group
			// (or none) as this one's.
			return fmt.Errorf("%w: the content names another group", ErrBadContent)
		}
		conv, err := c.st.GroupConversation(ctx, g)
		if err != nil {
			return err
		}
		events, err = c.applyGroupContent(ctx, acct, from, conv, content, raw, now, &rx)
		return err
	})
	c.crypto.Unlock()
	switch {
	case errors.Is(err, errSenderNotMember):
		return false, err
	case errors.Is(err, senderkey.ErrDuplicate):
		return true, nil
	case err != nil && hopeless(err):
		c.log.Warn("undecryptable group message dropped", "group", g, "err", err)
		c.emit(UndecryptableEvent{From: from, Err: err})
		return true, nil
	case err != nil:
		if ctx.Err() == nil {
			c.log.Warn("group message not stored; the server will deliver it again", "err", err)
		}
		return false, nil
	}
	c.afterReceive(ctx, conn, events, &rx)
	return true, nil
}

// applyGroupContent stores what a group message means.
func (c *Client) applyGroupContent(ctx context.Context, acct clientstore.Account, from types.Address, conv clientstore.Conversation, content *contentpb.Content, raw []byte, now time.Time, rx *rxState) ([]Event, error) {
	switch b := content.Body.(type) {
	case *contentpb.Content_Typing:
		return []Event{TypingEvent{From: from, Started: b.Typing.Started, Group: conv.Group}}, nil
	case *contentpb.Content_Receipt, *contentpb.Content_Sync, *contentpb.Content_SenderKey, *contentpb.Content_GroupUpdate:
		return nil, nil // pairwise kinds: not through a group
	}
	if from.Account == acct.ID {
		// Our other device sent it: the group's fan-out is our copy.
		_, evs, err := c.applyOutgoing(ctx, conv, from, content, raw, now)
		return evs, err
	}
	return c.applyIncoming(ctx, conv, from, content, raw, now, rx)
}

// applySenderKey stores a member device's sender key. It is kept whatever
// the group: it only lets that device's messages be decrypted, and those
// are believed only from members (receiveGroupMessage).
func (c *Client) applySenderKey(ctx context.Context, from types.Address, skd *contentpb.SenderKeyDistribution) error {
	if len(skd.GetGroupId()) != 16 {
		c.log.Warn("sender key without a group dropped")
		return nil
	}
	err := senderkey.ProcessDistribution(ctx, c.st, senderkey.Address{Name: from.Account.String(), DeviceID: uint32(from.Device)}, skd.Message)
	if errors.Is(err, senderkey.ErrInvalidMessage) || errors.Is(err, senderkey.ErrUnknownVersion) {
		c.log.Warn("malformed sender key dropped", "err", err)
		return nil
	}
	return err
}

// applyGroupUpdate keeps a group secret a member sent; the group itself is
// fetched and verified after the commit. A secret is taken only while the
// group has none: the one that opens the attributes stays
// (openAttributesLocked drops one that does not).
func (c *Client) applyGroupUpdate(ctx context.Context, gu *contentpb.GroupUpdate, rx *rxState) error {
	g, err := types.GroupIDFromBytes(gu.GetGroupId())
	if err != nil || g.IsZero() || len(gu.Secret) != grouplog.SecretSize {
		c.log.Warn("malformed group update dropped")
		return nil
	}
	sg, err := c.st.Group(ctx, g)
	switch {
	case errors.Is(err, clientstore.ErrNotFound):
		sg = clientstore.Group{ID: g}
	case err != nil:
		return err
	}
	if len(sg.Secret) == 0 {
		sg.Secret = gu.Secret
		if err := c.st.SaveGroup(ctx, sg); err != nil {
			return err
		}
	}
	rx.groups = append(rx.groups, g)
	return nil
}
