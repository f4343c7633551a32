package gateway

import (
	"context"
	"errors"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/account"
	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/gateway/ws"
	"github.com/parley-im/parley/internal/mailbox"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/proto/buspb"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Limits on single requests.
const (
	maxPresenceWatch  = 1024 // accounts one connection watches
	maxProvisionBody  = 64 << 10
	bundleFetchesHour = 1000 // per device: one-time keys are a finite resource
)

// handler answers one request. It returns the result, or an error for toWire.
type handler func(c *conn, f *wirepb.ClientFrame) (*wirepb.Response, error)

// route says how a request kind is served.
type route struct {
	name string
	auth bool // needs an authenticated device
	fn   handler
}

// routeOf maps a frame to its route; ok is false for an unknown kind.
func routeOf(f *wirepb.ClientFrame) (route, bool) {
	switch f.Body.(type) {
	case *wirepb.ClientFrame_Ping:
		return route{"ping", false, (*conn).handlePing}, true
	case *wirepb.ClientFrame_RequestCode:
		return route{"request_code", false, (*conn).handleRequestCode}, true
	case *wirepb.ClientFrame_Register:
		return route{"register", false, (*conn).handleRegister}, true
	case *wirepb.ClientFrame_LinkDevice:
		return route{"link_device", false, (*conn).handleLinkDevice}, true
	case *wirepb.ClientFrame_ProvisionOpen:
		return route{"provision_open", false, (*conn).handleProvisionOpen}, true
	case *wirepb.ClientFrame_CreateLinkCode:
		return route{"create_link_code", true, (*conn).handleCreateLinkCode}, true
	case *wirepb.ClientFrame_ListDevices:
		return route{"list_devices", true, (*conn).handleListDevices}, true
	case *wirepb.ClientFrame_RemoveDevice:
		return route{"remove_device", true, (*conn).handleRemoveDevice}, true
	case *wirepb.ClientFrame_ChangeNumber:
		return route{"change_number", true, (*conn).handleChangeNumber}, true
	case *wirepb.ClientFrame_DeleteAccount:
		return route{"delete_account", true, (*conn).handleDeleteAccount}, true
	case *wirepb.ClientFrame_ProvisionSend:
		return route{"provision_send", true, (*conn).handleProvisionSend}, true
	case *wirepb.ClientFrame_SetPrekeys:
		return route{"set_prekeys", true, (*conn).handleSetPreKeys}, true
	case *wirepb.ClientFrame_GetPrekeyCount:
		return route{"get_prekey_count", true, (*conn).handleGetPreKeyCount}, true
	case *wirepb.ClientFrame_GetBundle:
		return route{"get_bundle", true, (*conn).handleGetBundle}, true
	case *wirepb.ClientFrame_LookupPhone:
		return route{"lookup_phone", true, (*conn).handleLookupPhone}, true
	case *wirepb.ClientFrame_Ack:
		return route{"ack", true, (*conn).handleAck}, true
	case *wirepb.ClientFrame_Typing:
		return route{"typing", true, (*conn).handleTyping}, true
	case *wirepb.ClientFrame_SubscribePresence:
		return route{"subscribe_presence", true, (*conn).handleSubscribePresence}, true
	case *wirepb.ClientFrame_UnsubscribePresence:
		return route{"unsubscribe_presence", true, (*conn).handleUnsubscribePresence}, true
	case *wirepb.ClientFrame_SetPrivacy:
		return route{"set_privacy", true, (*conn).handleSetPrivacy}, true
	case *wirepb.ClientFrame_GetPrivacy:
		return route{"get_privacy", true, (*conn).handleGetPrivacy}, true
	case *wirepb.ClientFrame_GroupChange:
		return route{"group_change", true, (*conn).handleGroupChange}, true
	case *wirepb.ClientFrame_GetGroup:
		return route{"get_group", true, (*conn).handleGetGroup}, true
	case *wirepb.ClientFrame_GetGroupDevices:
		return route{"get_group_devices", true, (*conn).handleGetGroupDevices}, true
	case *wirepb.ClientFrame_ListGroups:
		return route{"list_groups", true, (*conn).handleListGroups}, true
	case *wirepb.ClientFrame_CreateUpload:
		return route{"create_upload", true, (*conn).handleCreateUpload}, true
	case *wirepb.ClientFrame_GetMediaToken:
		return route{"get_media_token", true, (*conn).handleGetMediaToken}, true
	}
	return route{}, false
}

// dispatch serves one frame after the handshake; false ends the connection.
// Authenticate, Send and SendGroup are handled in the reader goroutine, in
// order: a device's sends are committed in the order it made them (so a
// sender key given pairwise reaches a device before the group message that
// needs it). Everything else runs concurrently, up to MaxConcurrent per
// connection.
func (c *conn) dispatch(f *wirepb.ClientFrame) bool {
	switch b := f.Body.(type) {
	case *wirepb.ClientFrame_Hello:
		c.s.Metrics.Requests.WithLabelValues("hello").Inc()
		c.reply(f.Id, nil, wireErr(wirepb.ErrorCode_ERROR_CODE_CONFLICT, "hello was already done"))
		return true
	case *wirepb.ClientFrame_Authenticate:
		c.s.Metrics.Requests.WithLabelValues("authenticate").Inc()
		return c.authenticate(f.Id, b.Authenticate)
	case *wirepb.ClientFrame_Send:
		c.s.Metrics.Requests.WithLabelValues("send").Inc()
		if !c.isAuthed.Load() {
			c.reply(f.Id, nil, errNotAuthenticated)
			return true
		}
		c.send(f.Id, b.Send)
		return true
	case *wirepb.ClientFrame_SendGroup:
		c.s.Metrics.Requests.WithLabelValues("send_group").Inc()
		if !c.isAuthed.Load() {
			c.reply(f.Id, nil, errNotAuthenticated)
			return true
		}
		c.sendGroup(f.Id, b.SendGroup)
		return true
	}
	r, ok := routeOf(f)
	if !ok {
		c.s.Metrics.Requests.WithLabelValues("unknown").Inc()
		c.reply(f.Id, nil, errUnknownRequest)
		return true
	}
	c.s.Metrics.Requests.WithLabelValues(r.name).Inc()
	if r.auth && !c.isAuthed.Load() {
		c.reply(f.Id, nil, errNotAuthenticated)
		return true
	}
	if !c.begin() {
		c.reply(f.Id, nil, errStopping)
		return true
	}
	if c.sem == nil {
		c.sem = make(chan struct{}, c.s.cfg.MaxConcurrent)
	}
	sem := c.sem
	select {
	case sem <- struct{}{}:
	case <-c.ctx.Done():
		c.requests.Done()
		return false
	}
	go func() {
		defer func() { <-sem; c.requests.Done() }()
		res, err := r.fn(c, f)
		if errors.Is(err, errAnswered) {
			return
		}
		if err != nil {
			c.reply(f.Id, nil, c.wireError(err, f.Id))
			return
		}
		c.reply(f.Id, res, nil)
	}()
	return true
}

// ref names a request in logs and internal-error messages.
func (c *conn) ref(id uint64) string {
	return c.id + "/" + strconv.FormatUint(id, 10)
}

func (c *conn) authenticate(id uint64, a *wirepb.Authenticate) bool {
	if c.isAuthed.Load() {
		c.reply(id, nil, wireErr(wirepb.ErrorCode_ERROR_CODE_CONFLICT, "already authenticated"))
		return true
	}
	acct, err := types.AccountIDFromBytes(a.AccountId)
	if err != nil || a.DeviceId == 0 {
		c.reply(id, nil, errBadRequest("account_id must be 16 bytes and device_id set"))
		return true
	}
	addr := types.Address{Account: acct, Device: types.DeviceID(a.DeviceId)}
	if _, err := c.s.Accounts.Authenticate(c.ctx, addr, c.challenge, a.Signature); err != nil {
		c.reply(id, nil, c.wireError(err, id))
		if errors.Is(err, account.ErrAuthFailed) {
			c.authFails++
			if c.authFails >= maxAuthFailures {
				c.close(ws.StatusPolicyViolation, "too many failed authentications")
				return false
			}
		}
		return true
	}
	c.addr = addr
	c.challenge = nil // used once
	c.authedAt = time.Now().UnixNano()
	if err := c.s.hub.joinDevice(c); err != nil {
		c.reply(id, nil, c.wireError(err, id))
		c.close(1011, "temporarily unavailable")
		return false
	}
	c.isAuthed.Store(true)
	c.s.Metrics.Authenticated.Inc()
	// One connection per device: an older one (on any node) gives way.
	c.publish(bus.DeviceSubject(addr), &buspb.Event{Body: &buspb.Event_Kick{Kick: &buspb.Kick{
		KeepConn: c.id, Reason: buspb.KickReason_KICK_REASON_REPLACED, AuthenticatedNs: c.authedAt}}})
	c.s.Presence.Online(c.ctx, addr, c.id, time.Unix(0, c.authedAt))
	ec, kyber, err := c.s.PreKeys.Counts(c.ctx, addr)
	if err != nil {
		c.s.Log.Warn("prekey count failed", "err", err)
	}
	c.reply(id, &wirepb.Response{Result: &wirepb.Response_Auth{Auth: &wirepb.AuthResult{
		PrekeysEc: uint32(ec), PrekeysKyber: uint32(kyber)}}}, nil)
	c.startDelivery()
	return true
}

func (c *conn) publish(subject string, ev *buspb.Event) {
	data, err := proto.Marshal(ev)
	if err == nil {
		err = c.s.Bus.Publish(subject, data)
	}
	if err != nil {
		c.s.Log.Warn("bus publish failed", "err", err)
	}
}

func (c *conn) kick(acct types.AccountID, devs []types.DeviceID, reason buspb.KickReason, keep string) {
	for _, d := range devs {
		c.publish(bus.DeviceSubject(types.Address{Account: acct, Device: d}),
			&buspb.Event{Body: &buspb.Event_Kick{Kick: &buspb.Kick{KeepConn: keep, Reason: reason}}})
	}
}

// send submits a message to the mailbox.
func (c *conn) send(id uint64, m *wirepb.Send) {
	c.submit(id, func() (func() (bool, error), error) {
		msg, err := outgoing(m)
		if err != nil {
			return nil, err
		}
		return c.s.Mailbox.Submit(c.ctx, c.addr, msg)
	})
}

// submit runs a Send's or SendGroup's submit in the reader goroutine, in
// order with the connection's other sends, and answers request id with a
// SendResult once the wait it returns says the message is committed,
// waiting in another goroutine.
func (c *conn) submit(id uint64, submit func() (wait func() (dup bool, err error), err error)) {
	if !c.begin() {
		c.reply(id, nil, errStopping)
		return
	}
	wait, err := submit()
	if err != nil {
		c.reply(id, nil, c.wireError(err, id))
		c.requests.Done()
		return
	}
	go func() {
		defer c.requests.Done()
		dup, err := wait()
		if err != nil {
			c.reply(id, nil, c.wireError(err, id))
			return
		}
		c.reply(id, &wirepb.Response{Result: &wirepb.Response_Send{Send: &wirepb.SendResult{
			Duplicate: dup, ServerTimeMs: time.Now().UnixMilli()}}}, nil)
	}()
}

func outgoing(m *wirepb.Send) (mailbox.Outgoing, error) {
	mid, err := types.MessageIDFromBytes(m.MessageId)
	if err != nil {
		return mailbox.Outgoing{}, err
	}
	dest, err := types.AccountIDFromBytes(m.Destination)
	if err != nil {
		return mailbox.Outgoing{}, err
	}
	out := mailbox.Outgoing{MessageID: mid, Destination: dest, ClientTime: time.UnixMilli(m.ClientTimeMs), Ephemeral: m.Ephemeral}
	for _, e := range m.Envelopes {
		out.Envelopes = append(out.Envelopes, mailbox.OutEnvelope{
			Device: types.DeviceID(e.DeviceId), RegistrationID: e.RegistrationId, Type: uint32(e.Type), Content: e.Content})
	}
	return out, nil
}

func (c *conn) handlePing(*wirepb.ClientFrame) (*wirepb.Response, error) {
	return &wirepb.Response{Result: &wirepb.Response_Pong{Pong: &wirepb.Pong{ServerTimeMs: time.Now().UnixMilli()}}}, nil
}

func (c *conn) handleRequestCode(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetRequestCode()
	exp, next, err := c.s.Accounts.RequestCode(c.ctx, r.Phone, r.Transport, r.Locale, c.remote)
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_RequestCode{RequestCode: &wirepb.RequestCodeResult{
		ExpiresInSeconds: uint32(exp.Seconds()), NextRequestSeconds: uint32(next.Seconds())}}}, nil
}

func newDevice(k *wirepb.DeviceKeys) account.NewDevice {
	if k == nil {
		return account.NewDevice{}
	}
	return account.NewDevice{
		AuthKey: k.AuthKey, IdentityKey: k.IdentityKey, RegistrationID: k.RegistrationId, Name: k.Name,
		SignedPreKey: storeKey(k.SignedPrekey), LastResort: storeKey(k.LastResortKyber),
	}
}

func storeKey(k *wirepb.SignedPreKey) store.PreKey {
	if k == nil {
		return store.PreKey{}
	}
	return store.PreKey{ID: k.KeyId, Public: k.PublicKey, Signature: k.Signature}
}

func wireKey(k store.PreKey) *wirepb.SignedPreKey {
	return &wirepb.SignedPreKey{KeyId: k.ID, PublicKey: k.Public, Signature: k.Signature}
}

func (c *conn) handleRegister(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetRegister()
	reg, err := c.s.Accounts.Register(c.ctx, r.Phone, r.Code, c.remote, newDevice(r.Device))
	if err != nil {
		return nil, err
	}
	if reg.Reregistered {
		c.kick(reg.Account, reg.RemovedDevices, buspb.KickReason_KICK_REASON_DEVICE_REMOVED, c.id)
	}
	return &wirepb.Response{Result: &wirepb.Response_Register{Register: &wirepb.RegisterResult{
		AccountId: reg.Account[:], DeviceId: uint32(reg.Device), Reregistered: reg.Reregistered}}}, nil
}

func (c *conn) handleCreateLinkCode(*wirepb.ClientFrame) (*wirepb.Response, error) {
	code, err := c.s.Accounts.CreateLinkCode(c.ctx, c.addr)
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_LinkCode{LinkCode: &wirepb.LinkCodeResult{
		Code: code, ExpiresInSeconds: uint32(account.LinkCodeTTL.Seconds())}}}, nil
}

func (c *conn) handleLinkDevice(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetLinkDevice()
	a, err := c.s.Accounts.LinkDevice(c.ctx, r.Code, c.remote, newDevice(r.Device))
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_Register{Register: &wirepb.RegisterResult{
		AccountId: a.Account[:], DeviceId: uint32(a.Device)}}}, nil
}

func (c *conn) handleListDevices(*wirepb.ClientFrame) (*wirepb.Response, error) {
	devs, err := c.s.Accounts.Devices(c.ctx, c.addr.Account)
	if err != nil {
		return nil, err
	}
	res := &wirepb.DevicesResult{}
	for _, d := range devs {
		res.Devices = append(res.Devices, &wirepb.DeviceInfo{
			DeviceId: uint32(d.ID), Name: d.Name, CreatedMs: d.CreatedAt.UnixMilli(), LastSeenMs: d.LastSeen.UnixMilli(),
			IdentityKey: d.IdentityKey, RegistrationId: d.RegistrationID})
	}
	return &wirepb.Response{Result: &wirepb.Response_Devices{Devices: res}}, nil
}

func (c *conn) handleRemoveDevice(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	target := types.DeviceID(f.GetRemoveDevice().DeviceId)
	if err := c.s.Accounts.RemoveDevice(c.ctx, c.addr, target); err != nil {
		return nil, err
	}
	c.kick(c.addr.Account, []types.DeviceID{target}, buspb.KickReason_KICK_REASON_DEVICE_REMOVED, "")
	return &wirepb.Response{}, nil
}

func (c *conn) handleChangeNumber(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetChangeNumber()
	return &wirepb.Response{}, c.s.Accounts.ChangeNumber(c.ctx, c.addr, r.Phone, r.Code)
}

func (c *conn) handleDeleteAccount(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	devs, err := c.s.Accounts.DeleteAccount(c.ctx, c.addr)
	if err != nil {
		return nil, err
	}
	// Answer first: the kick closes this connection too.
	c.reply(f.Id, &wirepb.Response{}, nil)
	c.kick(c.addr.Account, devs, buspb.KickReason_KICK_REASON_ACCOUNT_DELETED, "")
	return nil, errAnswered
}

// errAnswered tells dispatch the handler wrote its own response.
var errAnswered = errors.New("answered")

func (c *conn) handleProvisionOpen(*wirepb.ClientFrame) (*wirepb.Response, error) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.provAddr == "" {
		addr := randomID(16)
		if err := c.s.hub.join(provSubject(addr), c); err != nil {
			return nil, err
		}
		c.provAddr = addr
	}
	return &wirepb.Response{Result: &wirepb.Response_ProvisionOpen{ProvisionOpen: &wirepb.ProvisionOpenResult{Address: c.provAddr}}}, nil
}

func (c *conn) handleProvisionSend(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetProvisionSend()
	if c.addr.Device != types.PrimaryDevice {
		return nil, account.ErrForbidden
	}
	if len(r.Address) != 22 || len(r.Body) == 0 || len(r.Body) > maxProvisionBody {
		return nil, account.ErrInvalidInput
	}
	data, err := proto.Marshal(&buspb.Event{Body: &buspb.Event_Provision{Provision: &wirepb.ProvisionMessage{Body: r.Body}}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	// A request, so the sender learns whether the new device is still there.
	if _, err := c.s.Bus.Request(ctx, provSubject(r.Address), data); err != nil {
		if errors.Is(err, bus.ErrNoResponders) {
			return nil, account.ErrNotFound
		}
		return nil, err
	}
	return &wirepb.Response{}, nil
}

func (c *conn) handleSetPreKeys(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetSetPrekeys()
	var set store.PreKeySet
	if r.SignedPrekey != nil {
		k := storeKey(r.SignedPrekey)
		set.SignedEC = &k
	}
	if r.LastResortKyber != nil {
		k := storeKey(r.LastResortKyber)
		set.LastResortKyber = &k
	}
	for _, k := range r.OneTimePrekeys {
		set.OneTimeEC = append(set.OneTimeEC, storeKey(k))
	}
	for _, k := range r.OneTimeKyber {
		set.OneTimeKyber = append(set.OneTimeKyber, storeKey(k))
	}
	return &wirepb.Response{}, c.s.PreKeys.Set(c.ctx, c.addr, set)
}

func (c *conn) handleGetPreKeyCount(*wirepb.ClientFrame) (*wirepb.Response, error) {
	ec, kyber, err := c.s.PreKeys.Counts(c.ctx, c.addr)
	if err != nil {
		return nil, err
	}
	return &wirepb.Response{Result: &wirepb.Response_PrekeyCount{PrekeyCount: &wirepb.PreKeyCountResult{Ec: uint32(ec), Kyber: uint32(kyber)}}}, nil
}

func (c *conn) handleGetBundle(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetGetBundle()
	acct, err := types.AccountIDFromBytes(r.AccountId)
	if err != nil {
		return nil, err
	}
	ok, retry, err := c.s.Store.Allow(c.ctx, "bundle:"+c.addr.String(), bundleFetchesHour, time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &account.RateLimitedError{RetryAfter: retry}
	}
	bundles, err := c.s.PreKeys.Bundles(c.ctx, acct, types.DeviceID(r.DeviceId))
	if err != nil {
		return nil, err
	}
	res := &wirepb.BundleResult{AccountId: acct[:]}
	for _, b := range bundles {
		db := &wirepb.DeviceBundle{
			DeviceId: uint32(b.Device.ID), RegistrationId: b.Device.RegistrationID, IdentityKey: b.Device.IdentityKey,
			SignedPrekey: wireKey(b.SignedEC), KyberPrekey: wireKey(b.Kyber)}
		if b.OneTime != nil {
			db.OneTimePrekey = wireKey(*b.OneTime)
		}
		res.Devices = append(res.Devices, db)
	}
	return &wirepb.Response{Result: &wirepb.Response_Bundle{Bundle: res}}, nil
}

// handleLookupPhone answers from the account directory. The numbers are
// personal data: nothing here logs them, and the errors it returns do not
// carry them.
func (c *conn) handleLookupPhone(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	matches, err := c.s.Accounts.LookupPhones(c.ctx, c.addr.Account, f.GetLookupPhone().Phones)
	if err != nil {
		return nil, err
	}
	res := &wirepb.LookupResult{}
	for _, m := range matches {
		res.Matches = append(res.Matches, &wirepb.PhoneMatch{Phone: m.Phone, AccountId: m.Account[:]})
	}
	return &wirepb.Response{Result: &wirepb.Response_Lookup{Lookup: res}}, nil
}

func (c *conn) handleAck(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	ids := f.GetAck().Ids
	if len(ids) == 0 || len(ids) > 4096 {
		return nil, account.ErrInvalidInput
	}
	if !c.d.owned(ids) {
		return nil, errNotYours
	}
	if err := c.s.Mailbox.Ack(c.ctx, c.addr, ids); err != nil {
		return nil, err
	}
	c.d.done(ids)
	c.nudge()
	return &wirepb.Response{Result: &wirepb.Response_Ack{Ack: &wirepb.AckResult{}}}, nil
}

// errNotYours is an ack for an envelope this connection was not given.
var errNotYours = errors.New("gateway: ack for an envelope not delivered to this device")

func (c *conn) handleTyping(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetTyping()
	to, err := types.AccountIDFromBytes(r.To)
	if err != nil {
		return nil, err
	}
	c.s.Presence.Typing(c.addr, to, r.Started)
	return &wirepb.Response{}, nil
}

func (c *conn) handleSubscribePresence(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	accts := f.GetSubscribePresence().Accounts
	res := &wirepb.PresenceResult{}
	for _, b := range accts {
		acct, err := types.AccountIDFromBytes(b)
		if err != nil {
			return nil, err
		}
		c.pmu.Lock()
		_, have := c.watching[acct]
		full := !have && len(c.watching) >= maxPresenceWatch
		if !have && !full {
			if c.watching == nil {
				c.watching = make(map[types.AccountID]bool)
			}
			c.watching[acct] = false
		}
		c.pmu.Unlock()
		if full {
			return nil, account.ErrInvalidInput
		}
		if !have {
			if err := c.s.hub.join(presenceSubject(acct), c); err != nil {
				return nil, err
			}
		}
		st, err := c.s.Presence.State(c.ctx, c.addr.Account, acct)
		if err != nil {
			return nil, err
		}
		c.pmu.Lock()
		c.watching[acct] = !st.Hidden
		c.pmu.Unlock()
		res.States = append(res.States, st)
	}
	return &wirepb.Response{Result: &wirepb.Response_Presence{Presence: res}}, nil
}

func (c *conn) handleUnsubscribePresence(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	for _, b := range f.GetUnsubscribePresence().Accounts {
		acct, err := types.AccountIDFromBytes(b)
		if err != nil {
			return nil, err
		}
		c.pmu.Lock()
		_, have := c.watching[acct]
		delete(c.watching, acct)
		c.pmu.Unlock()
		if have {
			c.s.hub.leave(presenceSubject(acct), c)
		}
	}
	return &wirepb.Response{}, nil
}

var visibilities = map[wirepb.Visibility]store.Visibility{
	wirepb.Visibility_VISIBILITY_UNSPECIFIED: store.VisibleEveryone,
	wirepb.Visibility_VISIBILITY_EVERYONE:    store.VisibleEveryone,
	wirepb.Visibility_VISIBILITY_CONTACTS:    store.VisibleContacts,
	wirepb.Visibility_VISIBILITY_NOBODY:      store.VisibleNobody,
}

func (c *conn) handleSetPrivacy(f *wirepb.ClientFrame) (*wirepb.Response, error) {
	r := f.GetSetPrivacy()
	v, ok := visibilities[r.LastSeen]
	if !ok {
		return nil, account.ErrInvalidInput
	}
	var contacts []types.AccountID
	for _, b := range r.Contacts {
		a, err := types.AccountIDFromBytes(b)
		if err != nil {
			return nil, err
		}
		contacts = append(contacts, a)
	}
	return &wirepb.Response{}, c.s.Presence.SetPrivacy(c.ctx, c.addr.Account, v, contacts, r.SetContacts)
}

func (c *conn) handleGetPrivacy(*wirepb.ClientFrame) (*wirepb.Response, error) {
	p, err := c.s.Presence.Privacy(c.ctx, c.addr.Account)
	if err != nil {
		return nil, err
	}
	res := &wirepb.PrivacyResult{LastSeen: wirepb.Visibility_VISIBILITY_EVERYONE}
	for w, v := range visibilities {
		if v == p.LastSeen && w != wirepb.Visibility_VISIBILITY_UNSPECIFIED {
			res.LastSeen = w
		}
	}
	for _, a := range p.Contacts {
		res.Contacts = append(res.Contacts, a[:])
	}
	return &wirepb.Response{Result: &wirepb.Response_Privacy{Privacy: res}}, nil
}

func provSubject(addr string) string           { return bus.ProvisionSubject(addr) }
func presenceSubject(a types.AccountID) string { return bus.PresenceSubject(a) }
