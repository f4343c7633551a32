package agent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/types"
)

// inboundTypes are the BusinessMessage types a customer may send: what
// Meta's messages webhook carries from a customer.
var inboundTypes = map[string]bool{"text": true, "interactive": true, "button": true, "order": true, "location": true, "contacts": true}

// customer is who a customer account is to the API: its wa_id and the
// name it gave itself. ok is false when the account's number is not known
// (its claimed number was not confirmed by the directory).
func (a *Agent) customer(ctx context.Context, acct types.AccountID) (wa, name string, ok bool) {
	ct, err := a.c.Store().Contact(ctx, acct)
	if err != nil || ct.Phone == "" {
		return "", "", false
	}
	return waID(ct.Phone), ct.ProfileName, true
}

// inbound bridges a message a customer sent, once: messages up to a
// conversation's cursor were bridged before (catchUp, or a MessageEvent).
func (a *Agent) inbound(ctx context.Context, m client.Message) error {
	if m.Outgoing || m.Peer.IsZero() || m.Seq <= a.cursor[m.Conversation] {
		return nil
	}
	if err := a.bridge(ctx, m); err != nil {
		return err
	}
	a.cursor[m.Conversation] = m.Seq
	return a.state.setCursor(ctx, int64(m.Conversation), m.Seq)
}

// catchUp bridges the messages the device stored but the agent did not
// bridge (it stopped in between: the client acknowledges a message to the
// server once stored, and events live in memory). On the agent's first run
// the history before it is not bridged.
func (a *Agent) catchUp(ctx context.Context) error {
	cursors, started, err := a.state.cursors(ctx)
	if err != nil {
		return err
	}
	for c, seq := range cursors {
		a.cursor[clientstore.ConversationID(c)] = seq
	}
	convs, err := a.c.Conversations(ctx)
	if err != nil {
		return err
	}
	for _, conv := range convs {
		if conv.Peer.IsZero() || conv.Last == nil {
			continue
		}
		if !started {
			a.cursor[conv.ID] = conv.Last.Seq
			if err := a.state.setCursor(ctx, int64(conv.ID), conv.Last.Seq); err != nil {
				return err
			}
			continue
		}
		var missed []client.Message
		for before := int64(0); ; {
			page, err := a.c.Messages(ctx, conv.Peer, before, 100)
			if err != nil {
				return err
			}
			done := len(page) < 100
			for i := len(page) - 1; i >= 0; i-- {
				if page[i].Seq <= a.cursor[conv.ID] {
					done = true
					break
				}
				missed = append(missed, page[i])
			}
			if done || len(page) == 0 {
				break
			}
			before = page[0].Seq
		}
		for i := len(missed) - 1; i >= 0; i-- {
			if err := a.inbound(ctx, missed[i]); err != nil {
				return err
			}
		}
	}
	return a.state.markStarted(ctx)
}

// bridge turns a customer's message into a webhook message event, opens
// the customer service window, places a cart's order and hands the
// message to the assistant.
func (a *Agent) bridge(ctx context.Context, m client.Message) error {
	if m.Deleted {
		return nil
	}
	wa, name, ok := a.customer(ctx, m.Sender.Account)
	if !ok {
		a.log.Warn("message from an account whose number is not known; not bridged", "account_id", m.Sender.Account.String())
		return nil
	}
	wamid := WAMID(m.Ref)
	typ, body, errs, err := a.inboundBody(ctx, m)
	if err != nil {
		return err
	}
	if typ == "" {
		return nil // timer changes and the like: nothing the API knows
	}
	msg := webhook.Message{From: wa, ID: wamid, Timestamp: strconv.FormatInt(m.SentAt.Unix(), 10), Type: typ, Body: body, Errors: errs}
	if typ == "unsupported" {
		msg.Body = nil
		msg.Errors = []webhook.StatusError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			ErrorData: &webhook.ErrorData{Details: "Message type is currently not supported."}}}
	}
	if q := m.Quote; q != nil && q.Target != nil && len(q.Target.Author) == 16 && len(q.Target.MessageId) == 16 {
		ref := clientstore.MessageRef{Sender: types.AccountID(q.Target.Author), ID: types.MessageID(q.Target.MessageId)}
		from := wa
		if ref.Sender == a.self.ID {
			from = waID(a.self.Phone)
		}
		msg.Context = &webhook.MessageContext{From: from, ID: WAMID(ref)}
	}
	// The window is the agent's clock's, as every policy decision.
	if err := a.api.RecordInbound(ctx, a.settings.PhoneNumberID, wa, a.now()); err != nil {
		return err
	}
	var refusal string
	if typ == "order" && a.assistant == nil {
		if msg.Body, refusal, err = a.placeCart(ctx, wa, wamid, body); err != nil {
			return err
		}
	}
	contact := &webhook.Contact{Profile: webhook.Profile{Name: name}, WaID: wa}
	if err := a.hooks.EnqueueMessage(ctx, a.settings.WABAID, a.meta(), contact, msg); err != nil {
		return err
	}
	if refusal != "" {
		r := Reply{Type: "text"}
		r.Body, _ = json.Marshal(map[string]string{"body": refusal})
		a.answer(wa, func(ctx context.Context) ([]Reply, error) { return []Reply{r}, nil })
	}
	if a.assistant != nil && typ != "unsupported" {
		in := Inbound{Customer: wa, ID: wamid, Type: typ, Body: body}
		a.answer(wa, func(ctx context.Context) ([]Reply, error) { return a.assistant.Answer(ctx, in) })
	}
	return nil
}

// inboundBody is the Cloud API type and object of a customer's message;
// typ "" for one the API has nothing for, "unsupported" for one it cannot
// show. errs are the message's own errors (a file that could not be
// fetched).
func (a *Agent) inboundBody(ctx context.Context, m client.Message) (typ string, body []byte, errs []webhook.StatusError, err error) {
	switch {
	case m.Kind == client.KindText:
		body, err = json.Marshal(webhook.Text{Body: m.Text})
		return "text", body, nil, err
	case m.Kind == client.KindBusiness && m.Business != nil:
		b := m.Business
		if !inboundTypes[b.Type] || client.CheckBusiness(b) != nil || (b.Type != "contacts" && !isObject(b.Json)) {
			return "unsupported", nil, nil, nil
		}
		return b.Type, b.Json, nil, nil
	case m.Kind == client.KindMedia && m.Media != nil:
		return a.inboundMedia(ctx, m.Media)
	case m.Kind == client.KindTimer:
		return "", nil, nil, nil
	}
	return "unsupported", nil, nil, nil
}

func isObject(b []byte) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal(b, &v) == nil
}

// placeCart places a customer's cart as an order, which reserves its
// stock. It returns the webhook's order object with the outcome added
// under "parley_order" (Parley's extension: the reference, or why the cart
// was refused) and, for a refused cart, what to tell the customer.
func (a *Agent) placeCart(ctx context.Context, wa, wamid string, body []byte) ([]byte, string, error) {
	var obj map[string]any
	if err := decodeJSON(body, &obj); err != nil {
		return body, "", nil // inboundBody checked it is an object
	}
	outcome := map[string]any{}
	refusal := ""
	cart, err := commerce.ParseCart(body)
	var o commerce.Order
	if err == nil {
		o, err = a.Orders.Place(ctx, commerce.PlaceRequest{Customer: wa, Cart: cart, SourceMessageID: wamid})
		if errors.Is(err, commerce.ErrDuplicate) {
			err = nil // the same message again: the order it placed
		}
	}
	var cerr *commerce.CartError
	switch {
	case err == nil:
		outcome["reference_id"] = o.ReferenceID
		outcome["status"] = string(o.Status)
		outcome["currency"] = string(o.Currency)
		outcome["total_amount"] = map[string]int64{"value": o.Total, "offset": o.Currency.Scale()}
		outcome["expiration_timestamp"] = strconv.FormatInt(o.ExpiresAt.Unix(), 10)
	case errors.As(err, &cerr):
		outcome["status"] = "refused"
		var problems []map[string]any
		var lines []string
		for _, it := range cerr.Items {
			p := map[string]any{"product_retailer_id": it.RetailerID, "reason": itemReason(it.Err)}
			name := it.RetailerID
			if prod, err := a.Catalogs.ProductByRetailerID(ctx, cart.CatalogID, it.RetailerID); err == nil {
				name = prod.Name
			}
			switch {
			case errors.Is(it.Err, commerce.ErrInsufficientStock):
				p["available"] = it.Available
				lines = append(lines, fmt.Sprintf("- %s: only %d left", name, it.Available))
			case errors.Is(it.Err, commerce.ErrUnknownProduct):
				lines = append(lines, fmt.Sprintf("- %s: not in our catalog", name))
			case errors.Is(it.Err, commerce.ErrCurrencyMismatch):
				lines = append(lines, fmt.Sprintf("- %s: priced in another currency", name))
			default:
				lines = append(lines, fmt.Sprintf("- %s: not available", name))
			}
			problems = append(problems, p)
		}
		outcome["errors"] = problems
		refusal = "Sorry, we cannot take this order:\n" + strings.Join(lines, "\n") + "\nNothing was reserved; please send a new cart."
	case errors.Is(err, commerce.ErrInvalid), errors.Is(err, commerce.ErrNotFound):
		outcome["status"] = "refused"
		outcome["errors"] = []map[string]any{{"reason": "invalid_cart"}}
		refusal = "Sorry, we cannot read this order. Please send it again from our catalog."
	default:
		return nil, "", err
	}
	obj["parley_order"] = outcome
	out, err := json.Marshal(obj)
	return out, refusal, err
}

func itemReason(err error) string {
	switch {
	case errors.Is(err, commerce.ErrInsufficientStock):
		return "insufficient_stock"
	case errors.Is(err, commerce.ErrUnknownProduct):
		return "unknown_product"
	case errors.Is(err, commerce.ErrCurrencyMismatch):
		return "currency_mismatch"
	}
	return "unavailable"
}

// reaction bridges a customer's reaction: Meta's reaction message, whose
// emoji is empty when the reaction was taken back.
func (a *Agent) reaction(ctx context.Context, ev client.UpdateEvent) error {
	wa, name, ok := a.customer(ctx, ev.By.Account)
	if !ok {
		return nil
	}
	m, err := a.c.Message(ctx, ev.Ref)
	if errors.Is(err, clientstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	emoji, at := "", a.now()
	for _, r := range m.Reactions {
		if r.Reactor == ev.By.Account {
			emoji, at = r.Emoji, r.At
		}
	}
	// The client reports the reaction, not the id of the message that
	// carried it: a stable id of (reactor, target, emoji, time) stands in,
	// so that a repeated event is one webhook.
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%d", ev.By.Account, WAMID(ev.Ref), emoji, at.UnixMilli()))
	id := WAMID(clientstore.MessageRef{Sender: ev.By.Account, ID: types.MessageID(h[:16])})
	msg, err := webhook.NewMessage(wa, id, at, "reaction", webhook.Reaction{MessageID: WAMID(ev.Ref), Emoji: emoji})
	if err != nil {
		return err
	}
	if err := a.api.RecordInbound(ctx, a.settings.PhoneNumberID, wa, a.now()); err != nil {
		return err
	}
	return a.hooks.EnqueueMessage(ctx, a.settings.WABAID, a.meta(), &webhook.Contact{Profile: webhook.Profile{Name: name}, WaID: wa}, msg)
}

// status bridges what became of a message the API sent: sent, delivered,
// read or failed. Statuses only move forward, and one skipped (a receipt
// before the server's acceptance was seen) is reported first.
func (a *Agent) status(ctx context.Context, id types.MessageID, level int, cause error) error {
	wamid := WAMID(clientstore.MessageRef{Sender: a.self.ID, ID: id})
	a.sendMu.Lock()
	r, ok, err := a.state.advance(ctx, wamid, level)
	a.sendMu.Unlock()
	if err != nil || !ok || r.Level >= level || r.Level == levelFailed {
		return err
	}
	from := r.Level + 1
	if level == levelFailed {
		from = levelFailed
	}
	ts := strconv.FormatInt(a.now().Unix(), 10)
	for l := from; l <= level; l++ {
		st := webhook.Status{ID: wamid, Status: levelNames[l], Timestamp: ts, RecipientID: r.Recipient, BizOpaqueCallbackData: r.BizOpaque}
		if l == levelFailed {
			e := (&cloudapi.Error{Spec: cloudapi.ErrUndeliverable, Details: "the server refused the message"}).StatusError()
			if cause != nil && errors.Is(cause, client.ErrIdentityChanged) {
				e.ErrorData = &webhook.ErrorData{Details: "the customer's safety number changed"}
			}
			st.Errors = []webhook.StatusError{e}
		} else if r.Pricing.PricingModel != "" {
			p := r.Pricing
			st.Pricing = &p
		}
		if err := a.hooks.EnqueueStatus(ctx, a.settings.WABAID, a.meta(), st); err != nil {
			return err
		}
	}
	return nil
}

// reply sends a message as the business to a customer, through the API's
// own path (validation, policy, statuses).
func (a *Agent) reply(ctx context.Context, wa string, r Reply) (string, error) {
	body, err := json.Marshal(map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa,
		"type": r.Type, r.Type: r.Body})
	if err != nil {
		return "", err
	}
	return a.api.Send(ctx, a.settings.PhoneNumberID, body)
}

// worker answers one customer's messages in order, on its own goroutine,
// so that a slow assistant holds up neither other customers nor the
// statuses.
type worker struct {
	jobs []func(context.Context) ([]Reply, error)
}

// answer queues a job for the customer's worker; its replies are sent in
// order.
func (a *Agent) answer(wa string, job func(context.Context) ([]Reply, error)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.workers[wa]; ok {
		w.jobs = append(w.jobs, job)
		return
	}
	if a.stopping || a.runCtx == nil {
		a.log.Warn("the agent is not running; a reply was dropped")
		return
	}
	w := &worker{jobs: []func(context.Context) ([]Reply, error){job}}
	a.workers[wa] = w
	a.wg.Add(1)
	go a.work(a.runCtx, wa, w)
}

func (a *Agent) work(ctx context.Context, wa string, w *worker) {
	defer a.wg.Done()
	for {
		a.mu.Lock()
		if len(w.jobs) == 0 {
			delete(a.workers, wa)
			a.mu.Unlock()
			return
		}
		job := w.jobs[0]
		w.jobs = w.jobs[1:]
		a.mu.Unlock()
		if ctx.Err() != nil {
			continue // stopping: drain without answering
		}
		replies, err := job(ctx)
		if err != nil {
			a.log.Warn("assistant failed", "err", err)
		}
		for _, r := range replies {
			if _, err := a.reply(ctx, wa, r); err != nil {
				a.log.Warn("assistant's reply not sent", "type", r.Type, "err", err)
			}
		}
	}
}
