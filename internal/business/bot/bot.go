// Package bot is a business's assistant: it answers customers in the chat
// in their language (English, Portuguese, German, Indonesian) about opening
// hours, the business and its FAQ, searches the catalog, checks stock and
// prices, builds a cart, places the order once the customer has confirmed
// items and total, sends the PIX code or UPI link, looks orders up, cancels
// them, and hands the conversation to a person and takes it back.
//
// The Engine owns the conversation: its state (a StateStore), the questions
// it asks (delivery or pickup, address, confirmation) and every action with
// an effect (creating and canceling orders, payments, handoffs). What the
// customer means is decided by a Brain: the embedded Rules, which needs no
// model, or OpenAI, which asks any OpenAI-compatible chat-completions server
// with tool calling. A brain can only read tools and propose a checkout; an
// order is created only when the customer answers the engine's confirmation
// prompt with yes, so no model can place one on its own.
//
// Replies are Cloud API message objects (text, interactive buttons, lists,
// product_list, order_details, order_status, location) that the business
// agent sends as they are.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Brain decides what a customer's message means and answers it, through
// the Session's tools and actions.
type Brain interface {
	Respond(ctx context.Context, s *Session) error
}

// Options configure an Engine. The zero value of every field but Tools
// works.
type Options struct {
	Tools Tools
	// Store keeps conversations; a MemoryStore when nil.
	Store StateStore
	// Brain answers; the embedded Rules when nil.
	Brain Brain
	Log   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// FAQRefresh is how long the FAQ index is used before the FAQ is read
	// again (1 minute when zero); Engine.RefreshFAQ forces it.
	FAQRefresh time.Duration
	// HandoffTimeout gives a conversation back to the bot when the
	// customer writes this long after the handoff began and no person
	// ended it (never when zero).
	HandoffTimeout time.Duration
	// SessionTTL is the idleness after which the cart and open questions
	// are forgotten (24 hours when zero).
	SessionTTL time.Duration
	// HistoryTurns is how many messages a conversation keeps for context
	// and handoff transcripts (20 when zero).
	HistoryTurns int
	// NoPaymentText leaves out the plain-text copy of the PIX code or UPI
	// link the bot sends after order_details for clients that do not
	// render order_details.
	NoPaymentText bool
	// DigitalGoods marks orders as digital-goods (physical-goods otherwise).
	DigitalGoods bool
}

// Engine runs the bot's conversations. It is safe for concurrent use; the
// messages of one customer are handled one at a time.
type Engine struct {
	o     Options
	brain Brain
	store StateStore
	log   *slog.Logger
	now   func() time.Time

	locksMu sync.Mutex
	locks   map[string]*customerLock

	faqMu   sync.Mutex
	faq     *faqIndex
	faqTime time.Time
}

type customerLock struct {
	mu   sync.Mutex
	refs int
}

// New returns an Engine.
func New(o Options) (*Engine, error) {
	t := o.Tools
	if t.Business == nil || t.Catalog == nil || t.Orders == nil {
		return nil, errors.New("bot: Tools.Business, Catalog and Orders are required")
	}
	e := &Engine{o: o, brain: o.Brain, store: o.Store, log: o.Log, now: o.Now, locks: map[string]*customerLock{}}
	if e.brain == nil {
		e.brain = Rules{}
	}
	if e.store == nil {
		e.store = NewMemoryStore()
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.o.FAQRefresh == 0 {
		e.o.FAQRefresh = time.Minute
	}
	if e.o.SessionTTL == 0 {
		e.o.SessionTTL = 24 * time.Hour
	}
	if e.o.HistoryTurns == 0 {
		e.o.HistoryTurns = 20
	}
	return e, nil
}

// lock serialises one customer's messages.
func (e *Engine) lock(customer string) func() {
	e.locksMu.Lock()
	l := e.locks[customer]
	if l == nil {
		l = &customerLock{}
		e.locks[customer] = l
	}
	l.refs++
	e.locksMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		e.locksMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(e.locks, customer)
		}
		e.locksMu.Unlock()
	}
}

// Handle answers one customer message. It returns no replies for a message
// seen before and while a person has the conversation.
func (e *Engine) Handle(ctx context.Context, in Inbound) ([]Reply, error) {
	if in.Customer == "" {
		return nil, fmt.Errorf("%w: no customer", ErrBadMessage)
	}
	in.Text = clip(in.Text, maxTextRunes)
	unlock := e.lock(in.Customer)
	defer unlock()
	conv, err := e.store.Load(ctx, in.Customer)
	if err != nil {
		return nil, err
	}
	if in.ID != "" {
		for _, id := range conv.Seen {
			if id == in.ID {
				return nil, nil
			}
		}
		conv.Seen = append(conv.Seen, in.ID)
		if len(conv.Seen) > 32 {
			conv.Seen = conv.Seen[len(conv.Seen)-32:]
		}
	}
	now := e.now()
	if !conv.Updated.IsZero() && now.Sub(conv.Updated) > e.o.SessionTTL {
		conv.Cart, conv.Pending, conv.Quote, conv.CancelRef, conv.Misses, conv.Shown = nil, PendingNone, nil, "", 0, nil
		conv.Fulfilment = ""
	}
	s := &Session{e: e, conv: conv, In: in, now: now}
	s.setLang(ctx)
	s.record("customer", customerText(in))

	if h := conv.Handoff; h != nil {
		if e.o.HandoffTimeout > 0 && now.Sub(h.Since) > e.o.HandoffTimeout {
			conv.Handoff = nil
			conv.Misses = 0
		} else {
			conv.Updated = now
			return nil, e.store.Save(ctx, conv)
		}
	}
	if err := e.turn(ctx, s); err != nil {
		// A tool failed: say so rather than stay silent, keep the state.
		e.log.Warn("bot turn failed", "err", err)
		s.replies = nil
		s.Say(tr(s.Lang(), "error"))
	}
	if !s.missed {
		conv.Misses = 0
	}
	for _, r := range s.replies {
		s.record("bot", r.Plain())
	}
	conv.Updated = now
	if err := e.store.Save(ctx, conv); err != nil {
		return nil, err
	}
	return s.replies, nil
}

func customerText(in Inbound) string {
	if len(in.Cart) > 0 {
		return fmt.Sprintf("[cart: %d items] %s", len(in.Cart), in.Text)
	}
	return in.Text
}

// Button ids the engine answers itself.
const (
	idYes      = "bot:yes"
	idNo       = "bot:no"
	idDelivery = "bot:delivery"
	idPickup   = "bot:pickup"
	idHuman    = "bot:human"
	idCheckout = "bot:checkout"
	idMore     = "bot:more"
	idProduct  = "bot:product:" // + retailer id
	idAdd      = "bot:add:"     // + retailer id
)

// turn runs the engine's own questions first; what they do not cover goes
// to the brain.
func (e *Engine) turn(ctx context.Context, s *Session) error {
	c := s.conv
	if len(s.In.Cart) > 0 {
		return s.cartMessage(ctx)
	}
	if c.Pending != PendingNone {
		done, err := s.answerPending(ctx)
		if done || err != nil {
			return err
		}
	}
	if done, err := s.button(ctx); done || err != nil {
		return err
	}
	return e.brain.Respond(ctx, s)
}

// EndHandoff gives the conversation back to the bot (the person finished)
// and returns the message that tells the customer so.
func (e *Engine) EndHandoff(ctx context.Context, customer string) ([]Reply, error) {
	unlock := e.lock(customer)
	defer unlock()
	conv, err := e.store.Load(ctx, customer)
	if err != nil {
		return nil, err
	}
	if conv.Handoff == nil {
		return nil, nil
	}
	conv.Handoff = nil
	conv.Misses = 0
	conv.Pending, conv.Quote, conv.CancelRef = PendingNone, nil, ""
	r := textReply(tr(langOr(conv.Lang), "handoff_back"))
	conv.History = appendTurn(conv.History, Turn{From: "bot", Text: r.Plain(), At: e.now()}, e.o.HistoryTurns)
	conv.Updated = e.now()
	if err := e.store.Save(ctx, conv); err != nil {
		return nil, err
	}
	return []Reply{r}, nil
}

// TakeOver silences the bot in a conversation a person joined on their own
// initiative, until EndHandoff.
func (e *Engine) TakeOver(ctx context.Context, customer string) error {
	unlock := e.lock(customer)
	defer unlock()
	conv, err := e.store.Load(ctx, customer)
	if err != nil {
		return err
	}
	if conv.Handoff == nil {
		conv.Handoff = &HandoffState{Since: e.now(), Reason: HandoffRequested}
	}
	conv.Updated = e.now()
	return e.store.Save(ctx, conv)
}

// Active reports whether the bot answers the customer (no person has the
// conversation).
func (e *Engine) Active(ctx context.Context, customer string) (bool, error) {
	unlock := e.lock(customer)
	defer unlock()
	conv, err := e.store.Load(ctx, customer)
	if err != nil {
		return false, err
	}
	return conv.Handoff == nil, nil
}

// OrderStatusReply is the order_status message for an order that changed
// (a payment confirmed, a shipment), in the customer's language, for the
// agent to send.
func (e *Engine) OrderStatusReply(ctx context.Context, o Order) (Reply, error) {
	unlock := e.lock(o.Customer)
	defer unlock()
	conv, err := e.store.Load(ctx, o.Customer)
	if err != nil {
		return Reply{}, err
	}
	return orderStatusReply(langOr(conv.Lang), o), nil
}

// RefreshFAQ makes the next question re-read the FAQ (after the business
// edited it).
func (e *Engine) RefreshFAQ() {
	e.faqMu.Lock()
	e.faq = nil
	e.faqMu.Unlock()
}

func (e *Engine) faqIndex(ctx context.Context) (*faqIndex, error) {
	e.faqMu.Lock()
	defer e.faqMu.Unlock()
	now := e.now()
	if e.faq != nil && now.Sub(e.faqTime) < e.o.FAQRefresh && now.Sub(e.faqTime) >= 0 {
		return e.faq, nil
	}
	entries, err := e.o.Tools.Business.FAQ(ctx)
	if err != nil {
		return nil, err
	}
	e.faq, e.faqTime = newFAQIndex(append([]FAQEntry(nil), entries...)), now
	return e.faq, nil
}

func langOr(l Lang) Lang {
	if l.valid() {
		return l
	}
	return English
}

func appendTurn(h []Turn, t Turn, max int) []Turn {
	h = append(h, t)
	if len(h) > max {
		h = append([]Turn(nil), h[len(h)-max:]...)
	}
	return h
}
