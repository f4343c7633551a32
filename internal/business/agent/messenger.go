package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

var _ cloudapi.Messenger = (*Agent)(nil)

// Send implements cloudapi.Messenger: it turns the Cloud API object into
// Parley content and sends it, end-to-end encrypted, to the account behind
// m.To.
func (a *Agent) Send(ctx context.Context, phoneNumberID string, m cloudapi.Outbound) (string, error) {
	to, err := a.account(ctx, m.To)
	if err != nil {
		return "", err
	}
	content, reference, err := a.content(ctx, m)
	if err != nil {
		return "", err
	}
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	id, err := a.c.Send(ctx, to, content)
	if errors.Is(err, client.ErrIdentityChanged) && a.cfg.AcceptIdentityChanges {
		a.log.Info("a customer's safety number changed; accepted", "account_id", to.String())
		if err = a.c.AcknowledgeIdentity(ctx, to); err == nil {
			id, err = a.c.Send(ctx, to, content)
		}
	}
	if errors.Is(err, client.ErrIdentityChanged) {
		return "", &cloudapi.Error{Spec: cloudapi.ErrUndeliverable, Details: "the customer's safety number changed and was not verified"}
	}
	if err != nil {
		return "", err
	}
	wamid := WAMID(clientstore.MessageRef{Sender: a.self.ID, ID: id})
	rec := sentRecord{WAMID: wamid, Recipient: m.To, BizOpaque: m.BizOpaqueCallbackData, Pricing: m.Pricing, Reference: reference}
	if err := a.state.recordSent(ctx, rec); err != nil {
		// The message is on its way; only its statuses will lack pricing.
		a.log.Warn("sent message not recorded", "err", err)
	}
	return wamid, nil
}

// account is the Parley account of a wa_id: a contact (every customer who
// wrote is one), else the server's directory.
func (a *Agent) account(ctx context.Context, wa string) (types.AccountID, error) {
	phone := phoneOf(wa)
	if phone == "" {
		return types.AccountID{}, cloudapi.ErrNoRecipient
	}
	id, err := a.c.LookupPhone(ctx, phone)
	if errors.Is(err, client.ErrUnknownPhone) || errors.Is(err, client.ErrInvalid) {
		return types.AccountID{}, cloudapi.ErrNoRecipient
	}
	if err != nil {
		return types.AccountID{}, fmt.Errorf("agent: look up the recipient: %w", err)
	}
	if id == a.self.ID {
		return types.AccountID{}, &cloudapi.Error{Spec: cloudapi.ErrRecipientIsSender}
	}
	return id, nil
}

// MarkRead implements cloudapi.Messenger: it marks the customer's
// conversation read up to the message (read receipts go to the customer)
// and, with typing, shows the business typing.
func (a *Agent) MarkRead(ctx context.Context, phoneNumberID, messageID string, typing bool) error {
	ref, err := ParseWAMID(messageID)
	if err != nil || ref.Sender == a.self.ID {
		return cloudapi.ErrNoMessage
	}
	m, err := a.c.Message(ctx, ref)
	if errors.Is(err, clientstore.ErrNotFound) {
		return cloudapi.ErrNoMessage
	}
	if err != nil {
		return err
	}
	if m.Peer.IsZero() {
		return cloudapi.ErrNoMessage // not a direct conversation
	}
	if err := a.c.MarkRead(ctx, m.Peer); err != nil {
		return err
	}
	if typing {
		// Best effort, as the indicator itself: it needs a live connection.
		if err := a.c.Typing(ctx, m.Peer, true); err != nil && !errors.Is(err, client.ErrNotConnected) {
			return err
		}
	}
	return nil
}

// content is the Parley content for a Cloud API message, and the order
// reference of an order_details.
func (a *Agent) content(ctx context.Context, m cloudapi.Outbound) (*contentpb.Content, string, error) {
	var quote *contentpb.Quote
	if m.ReplyTo != "" {
		ref, err := ParseWAMID(m.ReplyTo)
		if err != nil {
			return nil, "", &cloudapi.Error{Spec: cloudapi.ErrParameterValue, Details: "context.message_id does not name a message of this number"}
		}
		quote = &contentpb.Quote{Target: &contentpb.MessageRef{Author: ref.Sender[:], MessageId: ref.ID[:]}, Excerpt: a.excerpt(ctx, ref)}
	}
	switch m.Type {
	case "text":
		var t struct {
			Body string `json:"body"`
		}
		if err := json.Unmarshal(m.Object, &t); err != nil {
			return nil, "", err
		}
		c := client.TextContent(t.Body)
		c.GetText().Quote = quote
		return c, "", nil
	case "reaction":
		var r struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		}
		if err := json.Unmarshal(m.Object, &r); err != nil {
			return nil, "", err
		}
		ref, err := ParseWAMID(r.MessageID)
		if err != nil {
			return nil, "", &cloudapi.Error{Spec: cloudapi.ErrParameterValue, Details: "reaction.message_id does not name a message of this number"}
		}
		return client.ReactionContent(ref, r.Emoji), "", nil
	}
	if _, ok := mediaKinds[m.Type]; ok {
		c, err := a.mediaContent(ctx, m.Type, m.Object, quote)
		return c, "", err
	}
	obj, reference := []byte(m.Object), ""
	if m.Type == "interactive" {
		var err error
		if obj, reference, err = a.fillPayment(ctx, m.To, obj); err != nil {
			return nil, "", err
		}
	}
	// Templates, interactive messages, locations and contacts travel as
	// Meta's objects.
	c := client.BusinessContent(m.Type, obj)
	c.GetBusiness().Quote = quote
	return c, reference, nil
}

// excerpt is a short quote of a message, for a reply's receiver who does
// not have it any more.
func (a *Agent) excerpt(ctx context.Context, ref clientstore.MessageRef) string {
	m, err := a.c.Message(ctx, ref)
	if err != nil {
		return ""
	}
	r := []rune(strings.TrimSpace(m.Text))
	if len(r) > 100 {
		r = append(r[:99], '…')
	}
	return string(r)
}

// decodeJSON decodes b keeping numbers exact.
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
