package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/client/transport"
	"github.com/parley-im/parley/e2ee/grouplog"
	"github.com/parley-im/parley/e2ee/senderkey"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// checkSendable refuses content kinds that Send and SendGroup do not send.
func checkSendable(content *contentpb.Content) error {
	if content == nil {
		return fmt.Errorf("%w: no content", ErrInvalid)
	}
	switch b := content.Body.(type) {
	case *contentpb.Content_Text:
		if len(b.Text.Body) > MaxTextSize {
			return fmt.Errorf("%w: text of %d bytes exceeds %d", ErrInvalid, len(b.Text.Body), MaxTextSize)
		}
	case *contentpb.Content_Media:
		if err := checkMedia(b.Media); err != nil {
			return err
		}
	case *contentpb.Content_Business:
		if err := CheckBusiness(b.Business); err != nil {
			return err
		}
	case *contentpb.Content_Sync, *contentpb.Content_Receipt, *contentpb.Content_Typing,
		*contentpb.Content_SenderKey, *contentpb.Content_GroupUpdate:
		return fmt.Errorf("%w: content kind not sendable with Send", ErrInvalid)
	case nil:
		// A kind this version does not know (a bot relaying a newer
		// client's content) goes out as it is; an empty content does not.
		if len(content.ProtoReflect().GetUnknown()) == 0 {
			return fmt.Errorf("%w: empty content", ErrInvalid)
		}
	}
	return nil
}

// SendGroup sends content to group g and returns its message id. As with
// Send, the message is in the history and durably queued before SendGroup
// returns, and goes out when there is a connection: first this device's
// sender key, pairwise, to every member device (this account's other
// devices included) that lacks it, then the message, encrypted once, which
// the server hands every member device. A group this account is not in is
// ErrNotMember; an announcement-only group refuses non-admins (ErrNotAdmin).
func (c *Client) SendGroup(ctx context.Context, g types.GroupID, content *contentpb.Content) (types.MessageID, error) {
	acct, err := c.account()
	if err != nil {
		return types.MessageID{}, err
	}
	if err := checkSendable(content); err != nil {
		return types.MessageID{}, err
	}
	gr, err := c.loadGroup(ctx, g)
	if err != nil {
		return types.MessageID{}, err
	}
	if err := canSend(gr, acct.ID); err != nil {
		return types.MessageID{}, err
	}
	return c.queueOutgoing(ctx, acct, types.AccountID{}, g, content)
}

// SendGroupText sends a text message to group g.
func (c *Client) SendGroupText(ctx context.Context, g types.GroupID, text string) (types.MessageID, error) {
	return c.SendGroup(ctx, g, TextContent(text))
}

// canSend says why this account may not send to a group, or nil.
func canSend(gr groupRow, self types.AccountID) error {
	if gr.state == nil {
		return fmt.Errorf("%w: %s is not verified yet", ErrUnknownGroup, gr.ID)
	}
	m, ok := gr.state.Member(self)
	if gr.Left || !ok {
		return ErrNotMember
	}
	if gr.state.AnnouncementOnly && !m.Admin {
		return fmt.Errorf("%w: only admins send in this group", ErrNotAdmin)
	}
	return nil
}

// TypingGroup tells group g's members' online devices that the user
// started or stopped typing.
func (c *Client) TypingGroup(ctx context.Context, g types.GroupID, started bool) error {
	conn := c.current()
	if conn == nil {
		return ErrNotConnected
	}
	id := types.NewMessageID()
	raw, err := marshalContent(&contentpb.Content{MessageId: id[:], SentMs: c.o.Now().UnixMilli(),
		Group: &contentpb.GroupContext{GroupId: bytes.Clone(g[:])},
		Body:  &contentpb.Content_Typing{Typing: &contentpb.Typing{Started: started}}})
	if err != nil {
		return err
	}
	return c.deliverGroup(ctx, conn, g, id, raw, true)
}

// sendGroupItem tries one outbox item of a group message. It waits until
// the server delivered what was queued for this device: sending may fetch
// the group's newest events, and applying a removal before a message the
// removed member sent earlier (still queued) would drop that message.
func (c *Client) sendGroupItem(ctx context.Context, conn *transport.Conn, it clientstore.OutboxItem, p outboxPayload) (sent, ok bool) {
	c.mu.Lock()
	synced := c.synced && c.conn == conn
	c.mu.Unlock()
	if !synced {
		return false, true // QueueEmpty wakes the sender
	}
	err := c.deliverGroup(ctx, conn, p.Group, p.ID, p.Content, false)
	if errors.Is(err, ErrNotMember) || errors.Is(err, ErrUnknownGroup) || errors.Is(err, ErrNotAdmin) {
		c.giveUp(ctx, it, p, err)
		return true, true
	}
	if err != nil {
		return c.sendFailed(ctx, conn, it, p, err)
	}
	if c.hook.afterAccept != nil && c.hook.afterAccept(p.ID) {
		return false, false
	}
	acct, _ := c.account()
	err = c.st.InTx(ctx, func(ctx context.Context) error {
		if p.Record {
			// The server's acceptance of a group message is the receipt of
			// the zero recipient; members' receipts come under their ids.
			err := c.st.SetReceipt(ctx, clientstore.MessageRef{Sender: acct.ID, ID: p.ID}, types.AccountID{}, clientstore.StatusSent, c.o.Now())
			if err != nil && !errors.Is(err, clientstore.ErrNotFound) {
				return err
			}
		}
		return c.st.RemoveOutbox(ctx, it.ID)
	})
	if err != nil {
		c.log.Warn("record sent group message", "err", err)
		return false, ctx.Err() == nil
	}
	c.mu.Lock()
	delete(c.pending, p.ID)
	c.notifyLocked()
	c.mu.Unlock()
	c.emit(SentEvent{ID: p.ID, Group: p.Group})
	return true, true
}

// giveUp drops an outbox item that no retry will send, and says so.
func (c *Client) giveUp(ctx context.Context, it clientstore.OutboxItem, p outboxPayload, err error) {
	c.log.Warn("send refused for good", "outbox_id", it.ID, "err", err)
	_ = c.st.RemoveOutbox(ctx, it.ID)
	c.mu.Lock()
	delete(c.pending, p.ID)
	c.notifyLocked()
	c.mu.Unlock()
	c.emit(SendFailedEvent{ID: p.ID, To: p.To, Group: p.Group, Err: err})
}

// deliverGroup sends padded content to group g: it checks the server's
// list of member devices against the verified membership, gives this
// device's sender key to every member device that lacks it, then sends the
// message once. GROUP_CHANGED (a device or member the sender did not know
// of) fetches the group again and retries.
func (c *Client) deliverGroup(ctx context.Context, conn *transport.Conn, g types.GroupID, id types.MessageID, content []byte, ephemeral bool) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	// One group operation at a time: a sender-key rotation (a member left)
	// must not fall between handing the key out and using it.
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	plaintext := pad(content)
	for attempt := 0; ; attempt++ {
		gr, devs, hash, err := c.groupDevicesLocked(ctx, conn, g)
		if err != nil {
			return err
		}
		if err := canSend(gr, acct.ID); err != nil {
			return err
		}
		dist, err := c.ensureDistributionID(ctx, &gr)
		if err != nil {
			return err
		}
		self := senderkey.Address{Name: acct.ID.String(), DeviceID: uint32(acct.Device)}
		c.crypto.Lock()
		skdm, err := senderkey.CreateDistribution(ctx, c.st, self, dist, nil)
		c.crypto.Unlock()
		if err != nil {
			return err
		}
		var others []clientstore.GroupDevice
		for _, d := range devs {
			if d.Account != acct.ID || d.Device != acct.Device {
				others = append(others, d)
			}
		}
		missing, err := c.st.MissingSenderKey(ctx, g, others)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := c.distribute(ctx, conn, g, skdm, missing, others); err != nil {
			return err
		}
		if slices.ContainsFunc(missing, func(d clientstore.GroupDevice) bool { return d.Account == acct.ID }) && len(gr.Secret) > 0 {
			// A device of ours that lacked our key may be one linked
			// since: it gets the group secret too, to show the group's
			// name.
			if err := c.deliverGroupUpdate(ctx, conn, gr); err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			c.log.Debug("sender key distributed", "group", g, "devices", len(missing), "took", time.Since(start))
		}
		c.crypto.Lock()
		ct, err := senderkey.Encrypt(ctx, c.st, self, dist, plaintext, nil)
		c.crypto.Unlock()
		if err != nil {
			return err
		}
		if c.hook.groupSent != nil {
			c.hook.groupSent(g, ct)
		}
		_, err = conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_SendGroup{SendGroup: &wirepb.SendGroup{
			GroupId: g[:], MessageId: id[:], Content: ct, DevicesHash: hash, ClientTimeMs: c.o.Now().UnixMilli(), Ephemeral: ephemeral}}})
		c.log.Debug("group message sent", "group", g, "devices", len(others), "err", err)
		if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_GROUP_CHANGED && attempt < 3 {
			c.log.Debug("group changed; fetching it and sending again", "group", g)
			c.forgetGroupDevices(g)
			if err := c.syncGroupLocked(ctx, conn.Call, g, nil); err != nil {
				return err
			}
			continue
		}
		if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_FORBIDDEN {
			return fmt.Errorf("%w: %v", ErrNotAdmin, err)
		}
		return err
	}
}

// deliverGroupUpdate sends the group secret to this account's other
// devices.
func (c *Client) deliverGroupUpdate(ctx context.Context, conn *transport.Conn, gr groupRow) error {
	acct, err := c.account()
	if err != nil {
		return err
	}
	id := types.NewMessageID()
	raw, err := marshalContent(&contentpb.Content{MessageId: id[:], SentMs: c.o.Now().UnixMilli(),
		Group: &contentpb.GroupContext{GroupId: bytes.Clone(gr.ID[:])},
		Body:  &contentpb.Content_GroupUpdate{GroupUpdate: &contentpb.GroupUpdate{GroupId: bytes.Clone(gr.ID[:]), Secret: gr.Secret, Seq: gr.Seq}}})
	if err != nil {
		return err
	}
	return c.deliver(ctx, conn, acct.ID, id, raw, false)
}

// ensureDistributionID gives the group our sender key's distribution id if
// it has none yet.
func (c *Client) ensureDistributionID(ctx context.Context, gr *groupRow) ([16]byte, error) {
	if gr.DistributionID != ([16]byte{}) {
		return gr.DistributionID, nil
	}
	err := c.st.InTx(ctx, func(ctx context.Context) error {
		fresh, err := c.st.Group(ctx, gr.ID)
		if err != nil {
			return err
		}
		if fresh.DistributionID == ([16]byte{}) {
			if _, err := rand.Read(fresh.DistributionID[:]); err != nil {
				return err
			}
			if err := c.st.SaveGroup(ctx, fresh); err != nil {
				return err
			}
		}
		gr.Group = fresh
		return nil
	})
	return gr.DistributionID, err
}

// distributeWorkers is how many accounts get our sender key at once: each
// is a round trip (two for a new session), and the server commits
// concurrent sends together.
const distributeWorkers = 8

// distribute sends our sender key pairwise to the accounts of the missing
// devices (each Send goes to every device of its account, as the server
// requires), and records every device of those accounts as holding it.
func (c *Client) distribute(ctx context.Context, conn *transport.Conn, g types.GroupID, skdm []byte, missing, all []clientstore.GroupDevice) error {
	var accounts []types.AccountID
	for _, d := range missing {
		if !slices.Contains(accounts, d.Account) {
			accounts = append(accounts, d.Account)
		}
	}
	work := make(chan types.AccountID)
	errs := make(chan error, len(accounts))
	var wg sync.WaitGroup
	for range min(distributeWorkers, len(accounts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				errs <- c.distributeTo(ctx, conn, g, skdm, a, all)
			}
		}()
	}
	for _, a := range accounts {
		work <- a
	}
	close(work)
	wg.Wait()
	close(errs)
	var all2 []error
	for err := range errs {
		all2 = append(all2, err)
	}
	// An identity change is what a caller acts on; report it first.
	for _, err := range all2 {
		var ice *IdentityChangedError
		if errors.As(err, &ice) {
			return err
		}
	}
	return errors.Join(all2...)
}

func (c *Client) distributeTo(ctx context.Context, conn *transport.Conn, g types.GroupID, skdm []byte, a types.AccountID, all []clientstore.GroupDevice) error {
	id := types.NewMessageID()
	raw, err := marshalContent(&contentpb.Content{MessageId: id[:], SentMs: c.o.Now().UnixMilli(),
		Group: &contentpb.GroupContext{GroupId: bytes.Clone(g[:])},
		Body:  &contentpb.Content_SenderKey{SenderKey: &contentpb.SenderKeyDistribution{GroupId: bytes.Clone(g[:]), Message: skdm}}})
	if err != nil {
		return err
	}
	if err := c.deliver(ctx, conn, a, id, raw, false); err != nil {
		return err
	}
	var got []clientstore.GroupDevice
	for _, d := range all {
		if d.Account == a {
			got = append(got, d)
		}
	}
	return c.st.AddSenderKeyHolders(ctx, g, got)
}

// groupDevicesLocked returns group g as verified, the member devices the
// server lists for it, and their devices_hash, after checking that list
// against the verified membership: an account the server lists that the
// verified log does not have as a member gets nothing, and the hash must
// be the one of exactly the verified members' devices.
func (c *Client) groupDevicesLocked(ctx context.Context, conn *transport.Conn, g types.GroupID) (groupRow, []clientstore.GroupDevice, []byte, error) {
	gr, err := c.loadGroup(ctx, g)
	if err != nil {
		return gr, nil, nil, err
	}
	if gr.state == nil {
		if gr, err = c.refetchGroupLocked(ctx, conn, g); err != nil {
			return gr, nil, nil, err
		}
	}
	for try := 0; ; try++ {
		res := c.cachedGroupDevices(g, gr.Seq)
		if res == nil {
			r, err := conn.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_GetGroupDevices{GetGroupDevices: &wirepb.GetGroupDevices{GroupId: g[:]}}})
			if err != nil {
				if transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_FORBIDDEN || transport.CodeOf(err) == wirepb.ErrorCode_ERROR_CODE_NOT_FOUND {
					// Not a member as the server sees it: learn why.
					if serr := c.syncGroupLocked(ctx, conn.Call, g, nil); serr == nil {
						if gr, serr = c.loadGroup(ctx, g); serr == nil && (gr.Left || gr.state == nil) {
							return gr, nil, nil, ErrNotMember
						}
					}
				}
				return gr, nil, nil, err
			}
			res = r.GetGroupDevices()
		}
		devs, err := checkGroupDevices(gr.state, res)
		if err == nil && res.Seq == gr.Seq {
			c.cacheGroupDevices(g, res)
			return gr, devs, res.DevicesHash, nil
		}
		// The server knows a newer membership, or lists someone the log
		// does not have: fetch the log again and look once more.
		c.forgetGroupDevices(g)
		if try >= 2 {
			if err == nil {
				err = fmt.Errorf("client: the server's member devices are of seq %d, the verified log is at %d", res.Seq, gr.Seq)
			}
			return gr, nil, nil, err
		}
		if gr, err = c.refetchGroupLocked(ctx, conn, g); err != nil {
			return gr, nil, nil, err
		}
	}
}

// refetchGroupLocked fetches group g's log from the server and returns the
// group as verified after it, which must have a verified state.
func (c *Client) refetchGroupLocked(ctx context.Context, conn *transport.Conn, g types.GroupID) (groupRow, error) {
	if err := c.syncGroupLocked(ctx, conn.Call, g, nil); err != nil {
		return groupRow{}, err
	}
	gr, err := c.loadGroup(ctx, g)
	if err == nil && gr.state == nil {
		err = fmt.Errorf("%w: %s", ErrUnknownGroup, g)
	}
	return gr, err
}

// checkGroupDevices checks the server's member devices against the
// verified state s and returns them (by account, as listed).
func checkGroupDevices(s *grouplog.State, res *wirepb.GroupDevicesResult) ([]clientstore.GroupDevice, error) {
	var devs []clientstore.GroupDevice
	var entries []grouplog.DeviceEntry
	seen := make(map[types.AccountID]bool)
	for _, m := range res.GetMembers() {
		a, err := types.AccountIDFromBytes(m.Account)
		if err != nil {
			return nil, fmt.Errorf("%w: the server lists a malformed member", ErrGroupRejected)
		}
		if _, ok := s.Member(a); !ok {
			return nil, fmt.Errorf("%w: the server lists %s, who is not a member", ErrGroupRejected, a)
		}
		if seen[a] {
			return nil, fmt.Errorf("%w: the server lists %s twice", ErrGroupRejected, a)
		}
		seen[a] = true
		for _, d := range m.Devices {
			if d.DeviceId == 0 {
				return nil, fmt.Errorf("%w: device 0", ErrGroupRejected)
			}
			devs = append(devs, clientstore.GroupDevice{Account: a, Device: types.DeviceID(d.DeviceId), RegistrationID: d.RegistrationId})
			entries = append(entries, grouplog.DeviceEntry{Account: a, Device: types.DeviceID(d.DeviceId), RegistrationID: d.RegistrationId})
		}
	}
	// At the same seq the server must list exactly the verified members
	// (one without devices, an account that is gone, with none): leaving
	// one out would quietly keep it from the conversation.
	if len(seen) != len(s.Members) {
		return nil, fmt.Errorf("%w: the server lists %d members, the verified log has %d", ErrGroupRejected, len(seen), len(s.Members))
	}
	if !bytes.Equal(grouplog.DevicesHash(entries), res.GetDevicesHash()) {
		return nil, fmt.Errorf("%w: the server's devices hash does not match its device list", ErrGroupRejected)
	}
	return devs, nil
}

func (c *Client) cachedGroupDevices(g types.GroupID, seq uint64) *wirepb.GroupDevicesResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.gdevs[g]; r != nil && r.Seq == seq {
		return r
	}
	return nil
}

func (c *Client) cacheGroupDevices(g types.GroupID, r *wirepb.GroupDevicesResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gdevs == nil {
		c.gdevs = make(map[types.GroupID]*wirepb.GroupDevicesResult)
	}
	c.gdevs[g] = r
}

func (c *Client) forgetGroupDevices(g types.GroupID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.gdevs, g)
}

// MarkReadGroup marks group g's conversation read up to its newest message
// and sends read receipts, pairwise, to the authors of the messages that
// were unread (and a read sync to our other devices).
func (c *Client) MarkReadGroup(ctx context.Context, g types.GroupID) error {
	conversation := func(ctx context.Context) (clientstore.Conversation, error) { return c.st.GroupConversation(ctx, g) }
	return c.markRead(ctx, conversation, func(ctx context.Context, unread []clientstore.Message, now time.Time, queued *[]types.MessageID) error {
		byAuthor := map[types.AccountID][][]byte{}
		var authors []types.AccountID
		var refs []*contentpb.MessageRef
		for _, m := range unread {
			if m.Kind == KindGroupEvent {
				continue // a history line, not a member's message
			}
			a := m.Sender.Account
			if _, ok := byAuthor[a]; !ok {
				authors = append(authors, a)
			}
			byAuthor[a] = append(byAuthor[a], bytes.Clone(m.ID[:]))
			refs = append(refs, wireRef(m.Ref()))
		}
		gc := &contentpb.GroupContext{GroupId: bytes.Clone(g[:])}
		for _, a := range authors {
			rid := types.NewMessageID()
			rc, err := marshalContent(&contentpb.Content{MessageId: rid[:], SentMs: now.UnixMilli(), Group: gc,
				Body: &contentpb.Content_Receipt{Receipt: &contentpb.Receipt{Type: contentpb.Receipt_TYPE_READ, MessageIds: byAuthor[a]}}})
			if err != nil {
				return err
			}
			if err := c.queue(ctx, outboxPayload{ID: rid, To: a, Content: rc}, now, queued); err != nil {
				return err
			}
		}
		if len(refs) == 0 {
			return nil
		}
		rid := types.NewMessageID()
		sync, err := marshalContent(&contentpb.Content{MessageId: rid[:], SentMs: now.UnixMilli(), Group: gc,
			Body: &contentpb.Content_Sync{Sync: &contentpb.Sync{Body: &contentpb.Sync_Read{Read: &contentpb.ReadSync{Messages: refs}}}}})
		if err != nil {
			return err
		}
		return c.queue(ctx, outboxPayload{ID: rid, Sync: sync}, now, queued)
	})
}
