package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// caller makes one request: a live connection's Call, or c.rpc.
type caller func(ctx context.Context, f *wirepb.ClientFrame) (*wirepb.Response, error)

// changeGroup makes one change to group g; build returns it against the
// verified state (nil: nothing to change).
func (c *Client) changeGroup(ctx context.Context, g types.GroupID, build func(*grouplog.State) (*wirepb.GroupEventBody, error)) error {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	_, err := c.changeGroupLocked(ctx, g, changeOpts{}, build)
	return err
}

// changeOpts are the less common parts of a change.
type changeOpts struct {
	// create: the group is new; build gets a nil state.
	create bool
	// inviteToken: joining by invite; the log is fetched with it.
	inviteToken []byte
	// after runs in the transaction that stores the result.
	after func(context.Context, *grouplog.State, *[]types.MessageID) error
}

// changeGroupLocked signs the change build returns on top of the verified
// state, has the server append it, and applies it here; on GROUP_CHANGED
// (someone else changed the group first) it fetches what changed and
// builds again. Call with c.groupMu held.
func (c *Client) changeGroupLocked(ctx context.Context, g types.GroupID, o changeOpts,
	build func(*grouplog.State) (*wirepb.GroupEventBody, error)) (*grouplog.State, error) {
	acct, err := c.account()
	if err != nil {
		return nil, err
	}
	inviteToken := o.inviteToken
	for attempt := 0; ; attempt++ {
		gr, err := c.loadGroup(ctx, g)
		if err != nil {
			return nil, err
		}
		if o.create && attempt > 0 {
			return nil, fmt.Errorf("client: group id %s is taken", g)
		}
		if !o.create && (gr.state == nil || inviteToken != nil || attempt > 0) {
			if err := c.syncGroupLocked(ctx, c.rpc, g, inviteToken); err != nil {
				return nil, err
			}
			if gr, err = c.loadGroup(ctx, g); err != nil {
				return nil, err
			}
			if gr.state == nil {
				return nil, fmt.Errorf("%w: %s", ErrUnknownGroup, g)
			}
		}
		if gr.state != nil && inviteToken == nil {
			if _, ok := gr.state.Member(acct.ID); !ok {
				return nil, ErrNotMember
			}
		}
		body, err := build(gr.state)
		if err != nil || body == nil {
			return gr.state, err
		}
		body.GroupId, body.Seq = bytes.Clone(g[:]), 1
		if gr.state != nil {
			body.Seq, body.PrevHash = gr.state.Seq+1, bytes.Clone(gr.state.Head[:])
		}
		body.ActorAccount, body.ActorDevice = bytes.Clone(acct.ID[:]), uint32(acct.Device)
		body.TimeMs = c.o.Now().UnixMilli()
		body.ActorIdentityKey = acct.Identity.Public.Bytes()
		ev, err := grouplog.Sign(body, acct.Identity.Private)
		if err != nil {
			return nil, err
		}
		// Checked here first, as every member will: a change the rules
		// forbid is not even sent.
		if _, err := gr.state.Apply(ev, maxVerifyMembers); err != nil {
			if errors.Is(err, grouplog.ErrForbidden) && !errors.Is(err, grouplog.ErrTooLarge) {
				return nil, fmt.Errorf("%w: %v", ErrNotAdmin, err)
			}
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		var wire wirepb.GroupEvent
		if err := proto.Unmarshal(ev.Raw, &wire); err != nil {
			return nil, err
		}
		_, err = c.rpc(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GroupChange{GroupChange: &wirepb.GroupChange{
			Event: &wire, InviteToken: inviteToken}}})
		switch transport.CodeOf(err) {
		case wirepb.ErrorCode_ERROR_CODE_UNSPECIFIED:
		case wirepb.ErrorCode_ERROR_CODE_GROUP_CHANGED:
			if attempt < 4 {
				c.log.Debug("group changed meanwhile; fetching it and trying again", "group", g)
				continue
			}
			return nil, err
		case wirepb.ErrorCode_ERROR_CODE_FORBIDDEN:
			if inviteToken != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadInvite, err)
			}
			return nil, fmt.Errorf("%w: %v", ErrNotAdmin, err)
		default:
			return nil, err
		}
		if err := c.applyGroupEvents(ctx, c.rpc, &gr, []*grouplog.Event{ev}, false, o.after); err != nil {
			return nil, err
		}
		return gr.state, nil
	}
}

// syncGroup brings group g up to the server's head: it fetches the events
// after the verified seq, verifies and applies them, and opens the
// attributes if the secret arrived since.
func (c *Client) syncGroup(ctx context.Context, call caller, g types.GroupID) error {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	return c.syncGroupLocked(ctx, call, g, nil)
}

func (c *Client) syncGroupLocked(ctx context.Context, call caller, g types.GroupID, inviteToken []byte) error {
	gr, err := c.loadGroup(ctx, g)
	if err != nil && !errors.Is(err, ErrUnknownGroup) {
		return err
	}
	for {
		res, err := call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroup{GetGroup: &wirepb.GetGroup{
			GroupId: g[:], AfterSeq: gr.Seq, InviteToken: inviteToken}}})
		if err != nil {
			return err
		}
		raw := res.GetGroup().GetEvents()
		if len(raw) == 0 {
			break
		}
		evs := make([]*grouplog.Event, 0, len(raw))
		var perr error
		for _, w := range raw {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
			if err != nil {
				return err
			}
			ev, err := grouplog.Parse(b)
			if err != nil {
				perr = fmt.Errorf("%w: %v", ErrGroupRejected, err)
				break
			}
			evs = append(evs, ev)
		}
		before := gr.Seq
		if len(evs) > 0 {
			if err := c.applyGroupEvents(ctx, call, &gr, evs, gr.state != nil, nil); err != nil {
				c.rejected(g, err)
				return err
			}
		}
		if perr != nil {
			c.rejected(g, perr)
			return perr
		}
		if gr.Seq == before {
			break // the server repeats itself: stop rather than loop
		}
	}
	return c.openAttributesLocked(ctx, g)
}

// secretArrived opens group g's attributes with a secret that just came,
// fetching the group first if this device has not verified it yet. A group
// it has is not fetched again: the server's notices of later changes are
// on their way, and applying them as they come keeps the history in order.
func (c *Client) secretArrived(ctx context.Context, conn *transport.Conn, g types.GroupID) error {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	gr, err := c.loadGroup(ctx, g)
	if err != nil && !errors.Is(err, ErrUnknownGroup) {
		return err
	}
	if gr.state == nil && conn != nil {
		return c.syncGroupLocked(ctx, conn.Call, g, nil)
	}
	return c.openAttributesLocked(ctx, g)
}

// catchUpGroups fetches the groups the server says this account is in and
// this device has not verified at all: a device linked after they were
// made, or one whose notice of them it could not apply. Groups it has are
// left to their notices, which come in order with the group's messages;
// so it waits until the server delivered what was queued.
func (c *Client) catchUpGroups(ctx context.Context, conn *transport.Conn) {
	if err := c.waitFor(ctx, func() bool { return (c.synced && c.conn == conn) || c.conn != conn }); err != nil {
		return
	}
	res, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_ListGroups{ListGroups: &wirepb.ListGroups{}}})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Debug("groups not listed", "err", err)
		}
		return
	}
	for _, s := range res.GetGroups().GetGroups() {
		g, err := types.GroupIDFromBytes(s.GroupId)
		if err != nil || g.IsZero() {
			continue
		}
		if sg, err := c.st.Group(ctx, g); err == nil && sg.Seq > 0 {
			continue
		}
		if err := c.syncGroup(ctx, conn.Call, g); err != nil && ctx.Err() == nil {
			c.log.Info("group not fetched", "group", g, "err", err)
		}
	}
}

// rejected reports a group log that does not verify.
func (c *Client) rejected(g types.GroupID, err error) {
	if errors.Is(err, ErrGroupRejected) {
		c.log.Warn("group event refused", "group", g, "err", err)
		c.emit(GroupRejectedEvent{Group: g, Err: err})
	}
}

// openAttributesLocked opens the newest attributes if the secret is here
// and they are not open yet.
func (c *Client) openAttributesLocked(ctx context.Context, g types.GroupID) error {
	var changed bool
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		changed = false
		gr, err := c.loadGroup(ctx, g)
		if err != nil || gr.state == nil || len(gr.Secret) == 0 || gr.AttributesSeq == gr.state.AttributesSeq || len(gr.state.SealedAttributes) == 0 {
			if errors.Is(err, ErrUnknownGroup) {
				err = nil
			}
			return err
		}
		plain, err := grouplog.OpenAttributes(gr.Secret, g, gr.state.AttributesSeq, gr.state.SealedAttributes)
		if err != nil {
			// Not this group's secret (a member sent a wrong one): forget
			// it, so that a right one is taken when it comes.
			c.log.Warn("group secret does not open the attributes; dropped", "group", g)
			gr.Secret = nil
		} else {
			gr.Attributes, gr.AttributesSeq, changed = plain, gr.state.AttributesSeq, true
			if err := c.fillGroupLines(ctx, g, gr.Secret); err != nil {
				return err
			}
		}
		return c.st.SaveGroup(ctx, gr.Group)
	})
	if err == nil && changed {
		c.emit(GroupEvent{Group: g, Kind: GroupAttributesChanged})
	}
	return err
}

// fillGroupLines opens the attributes in the recent history lines of group
// g that were stored before the secret came (a new member's "created the
// group" line, typically), so they show the name.
func (c *Client) fillGroupLines(ctx context.Context, g types.GroupID, secret []byte) error {
	conv, err := c.st.GroupConversation(ctx, g)
	if err != nil {
		return err
	}
	page, err := c.st.Messages(ctx, conv.ID, 0, 200)
	if err != nil {
		return err
	}
	now := c.o.Now()
	for _, m := range page {
		if m.Kind != KindGroupEvent || m.Deleted {
			continue
		}
		raw, attrs, changed, err := splitGroupLine(m.Content)
		if err != nil || len(attrs) > 0 {
			continue
		}
		ev, err := grouplog.Parse(raw)
		if err != nil {
			continue
		}
		sealed := sealedAttributes(ev)
		if len(sealed) == 0 {
			continue
		}
		plain, err := grouplog.OpenAttributes(secret, g, ev.Body.Seq, sealed)
		if err != nil {
			continue
		}
		if _, ok := ev.Body.Change.(*wirepb.GroupEventBody_Create); ok || changed == 0 {
			changed = attributesChanged(nil, plain)
		}
		if err := c.st.EditMessage(ctx, m.Ref(), encodeGroupLine(raw, plain, changed), now); err != nil {
			return err
		}
	}
	return nil
}

// appliedEvent is one event applied in a batch, with the states around it.
type appliedEvent struct {
	ev            *grouplog.Event
	before, after *grouplog.State
}

// applyGroupEvents verifies evs in order on top of gr's state (events it
// has are skipped) and stores the result in one transaction: the new
// state, a history line per event this account was a member for, a new
// sender key after anyone left or was removed, and whether this account is
// still a member. checkActors also checks each actor's identity key
// against the one this device knows. Events up to the first one that does
// not verify are applied; the error then wraps ErrGroupRejected. after
// runs inside the transaction. gr is updated.
func (c *Client) applyGroupEvents(ctx context.Context, call caller, gr *groupRow, evs []*grouplog.Event, checkActors bool,
	after func(context.Context, *grouplog.State, *[]types.MessageID) error) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	state := gr.state
	var list []appliedEvent
	var rejected error
	for _, ev := range evs {
		if state != nil && ev.Body.Seq <= state.Seq {
			continue
		}
		next, err := state.Apply(ev, maxVerifyMembers)
		if err != nil {
			rejected = fmt.Errorf("%w: event %d: %v", ErrGroupRejected, ev.Body.Seq, err)
			break
		}
		if checkActors {
			if err := c.checkActor(ctx, call, ev); err != nil {
				rejected = err
				break
			}
		}
		list = append(list, appliedEvent{ev: ev, before: state, after: next})
		state = next
	}
	if len(list) == 0 {
		return rejected
	}
	now := c.o.Now()
	self := senderkey.Address{Name: acct.ID.String(), DeviceID: uint32(acct.Device)}
	var emits []Event
	var queued []types.MessageID
	var saved clientstore.Group
	err = c.st.InTx(ctx, func(ctx context.Context) error {
		emits, queued = nil, nil
		fresh, err := c.st.Group(ctx, gr.ID)
		switch {
		case errors.Is(err, clientstore.ErrNotFound):
			fresh = clientstore.Group{ID: gr.ID}
		case err != nil:
			return err
		}
		if fresh.Seq != gr.Seq {
			return fmt.Errorf("client: group %s changed under its lock", gr.ID)
		}
		if len(fresh.Secret) == 0 {
			fresh.Secret = gr.Secret
		}
		conv, err := c.st.GroupConversation(ctx, gr.ID)
		if err != nil {
			return err
		}
		rotate := fresh.DistributionID == [16]byte{}
		for _, a := range list {
			switch a.ev.Body.Change.(type) {
			case *wirepb.GroupEventBody_Remove, *wirepb.GroupEventBody_Leave:
				rotate = true
			}
			_, wasMember := a.before.Member(acct.ID)
			_, isMember := a.after.Member(acct.ID)
			if !wasMember && !isMember {
				continue // history of a group before we were in it
			}
			evs, err := c.groupHistoryLine(ctx, conv, fresh.Secret, a, acct.ID, now)
			if err != nil {
				return err
			}
			emits = append(emits, evs...)
		}
		fresh.Seq, fresh.State = state.Seq, encodeGroupState(state)
		_, member := state.Member(acct.ID)
		fresh.Left = !member
		if len(fresh.Secret) > 0 && state.AttributesSeq != fresh.AttributesSeq && len(state.SealedAttributes) > 0 {
			if plain, err := grouplog.OpenAttributes(fresh.Secret, gr.ID, state.AttributesSeq, state.SealedAttributes); err == nil {
				fresh.Attributes, fresh.AttributesSeq = plain, state.AttributesSeq
			} else {
				c.log.Warn("group attributes do not open with the secret", "group", gr.ID)
			}
		}
		if rotate {
			// A new sender key that nobody holds yet: the next message
			// distributes it to the members there are now, and nobody
			// who left can read it.
			if old := fresh.DistributionID; old != ([16]byte{}) {
				if err := c.st.DeleteSenderKey(ctx, self, old); err != nil {
					return err
				}
			}
			if _, err := rand.Read(fresh.DistributionID[:]); err != nil {
				return err
			}
			if err := c.st.ResetSenderKeyHolders(ctx, gr.ID); err != nil {
				return err
			}
		}
		if err := c.st.SaveGroup(ctx, fresh); err != nil {
			return err
		}
		saved = fresh
		if after != nil {
			return after(ctx, state, &queued)
		}
		return nil
	})
	if err != nil {
		return err
	}
	gr.Group, gr.state = saved, state
	c.forgetGroupDevices(gr.ID)
	c.markPending(queued)
	c.emit(emits...)
	return rejected
}

// sealedAttributes returns the sealed attributes ev sets: a create's or a
// set_attributes', or none.
func sealedAttributes(ev *grouplog.Event) []byte {
	switch ch := ev.Body.Change.(type) {
	case *wirepb.GroupEventBody_Create:
		return ch.Create.SealedAttributes
	case *wirepb.GroupEventBody_SetAttributes:
		return ch.SetAttributes.Sealed
	}
	return nil
}

// groupHistoryLine stores the history line ("Ana added Ben") of one
// applied event and returns the events to emit.
func (c *Client) groupHistoryLine(ctx context.Context, conv clientstore.Conversation, secret []byte, a appliedEvent, self types.AccountID, now time.Time) ([]Event, error) {
	ev := a.ev
	var attrs []byte
	sealed := sealedAttributes(ev)
	var changed uint64
	if len(sealed) > 0 && len(secret) > 0 {
		attrs, _ = grouplog.OpenAttributes(secret, ev.Group, ev.Body.Seq, sealed)
		var prev []byte
		if b := a.before; b != nil && len(b.SealedAttributes) > 0 {
			prev, _ = grouplog.OpenAttributes(secret, ev.Group, b.AttributesSeq, b.SealedAttributes)
		}
		changed = attributesChanged(prev, attrs)
	}
	content := encodeGroupLine(ev.Raw, attrs, changed)
	dir := clientstore.Incoming
	if ev.Actor.Account == self {
		dir = clientstore.Outgoing
	}
	m := clientstore.Message{Conversation: conv.ID, ID: types.MessageID(ev.Hash[:16]), Sender: ev.Actor, Direction: dir,
		Kind: KindGroupEvent, Content: content, SentAt: time.UnixMilli(ev.Body.TimeMs), ReceivedAt: now}
	seq, err := c.st.AddMessage(ctx, m)
	if errors.Is(err, clientstore.ErrDuplicate) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.Seq = seq
	msg := toMessage(m, conv)
	ge := GroupEvent{Group: ev.Group, Seq: ev.Body.Seq, Actor: ev.Actor}
	if gc := msg.GroupChange; gc != nil {
		ge.Kind, ge.Accounts = gc.Kind, gc.Accounts
	}
	return []Event{ge, MessageEvent{Message: msg}}, nil
}

// checkActor checks that the key an event was signed with is its actor
// device's, where this device knows that device's key. A key this device
// does not know is the one the server vouched for when it took the event.
// A different key than the known one is accepted only if the server now
// gives that device this key (it was reinstalled): the change is recorded
// as for a message. Anything else is a forged event.
func (c *Client) checkActor(ctx context.Context, call caller, ev *grouplog.Event) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	forged := func(why string) error {
		return fmt.Errorf("%w: event %d: %s", ErrGroupRejected, ev.Body.Seq, why)
	}
	if ev.Actor.Account == acct.ID && ev.Actor.Device == acct.Device {
		if !bytes.Equal(acct.Identity.Public.Bytes(), ev.ActorIdentity) {
			return forged("signed in this device's name with another key")
		}
		return nil
	}
	addr := sessionAddr(ev.Actor.Account, ev.Actor.Device)
	known, ok, err := c.st.Identity(ctx, addr)
	if err != nil {
		return err
	}
	if !ok || bytes.Equal(known.Bytes(), ev.ActorIdentity) {
		return nil
	}
	res, err := call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetBundle{GetBundle: &wirepb.GetBundle{
		AccountId: ev.Actor.Account[:], DeviceId: uint32(ev.Actor.Device)}}})
	if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
		return forged("signed with a key the actor device does not have")
	}
	if err != nil {
		return err
	}
	for _, b := range res.GetBundle().GetDevices() {
		if types.DeviceID(b.DeviceId) != ev.Actor.Device || !bytes.Equal(b.IdentityKey, ev.ActorIdentity) {
			continue
		}
		key, err := curve.ParsePublicKey(b.IdentityKey)
		if err != nil {
			break
		}
		changed, err := c.st.SaveIdentity(ctx, addr, key)
		if err != nil {
			return err
		}
		if changed {
			c.emit(IdentityChangedEvent{Account: ev.Actor.Account, Device: ev.Actor.Device})
		}
		return nil
	}
	return forged("signed with a key the actor device does not have")
}
