package agent

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/parley-im/parley/internal/business/bot"
	"github.com/parley-im/parley/internal/business/commerce"
)

// Inbound is a customer's message as an Assistant gets it.
type Inbound struct {
	Customer string // wa_id
	ID       string // the message id, "wamid.…"; the same message may come again after a crash
	// Type is the Cloud API type (text, interactive, button, order,
	// location, contacts, image, ...) and Body the object under that key.
	Type string
	Body json.RawMessage
}

// Reply is a message an Assistant sends as the business: a Cloud API
// message type and the object under that key.
type Reply struct {
	Type string
	Body json.RawMessage
}

// Assistant answers customers in the chat. The agent gives it every
// message a customer sends, one customer's messages one at a time and in
// order, and sends its replies through the same path as the business's own
// API calls (validation, the 24-hour window, statuses on the webhook). With
// an assistant, carts are the assistant's to turn into orders.
type Assistant interface {
	Answer(ctx context.Context, in Inbound) ([]Reply, error)
	// OrderUpdate is the message that tells the customer an order changed
	// (its payment was captured or failed); ok false leaves it to the
	// agent's default order_status message.
	OrderUpdate(ctx context.Context, o commerce.Order) (r Reply, ok bool, err error)
}

// botAssistant is the embedded assistant, internal/business/bot.
type botAssistant struct {
	e *bot.Engine
	a *Agent
}

// NewBot makes the embedded assistant over the agent's commerce and
// payments; brain nil is the embedded rules (no model needed).
func NewBot(a *Agent, brain bot.Brain) (Assistant, error) {
	e, err := bot.New(bot.Options{Tools: botTools(a), Brain: brain, Store: a.st.BotStates(), Log: a.log, Now: a.now})
	if err != nil {
		return nil, err
	}
	return &botAssistant{e: e, a: a}, nil
}

func (b *botAssistant) Answer(ctx context.Context, in Inbound) ([]Reply, error) {
	msg, err := bot.ParseBusinessMessage(in.Customer, in.ID, in.Type, in.Body)
	if errors.Is(err, bot.ErrBadMessage) {
		// Media and the like: nothing the bot understands; the business
		// sees it on the webhook.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs, err := b.e.Handle(ctx, msg)
	if err != nil {
		return nil, err
	}
	out := make([]Reply, 0, len(rs))
	for _, r := range rs {
		typ, body, err := r.Body()
		if err != nil {
			return out, err
		}
		out = append(out, Reply{Type: typ, Body: body})
	}
	return out, nil
}

func (b *botAssistant) OrderUpdate(ctx context.Context, o commerce.Order) (Reply, bool, error) {
	r, err := b.e.OrderStatusReply(ctx, botOrder(o))
	if err != nil {
		return Reply{}, false, err
	}
	typ, body, err := r.Body()
	if err != nil {
		return Reply{}, false, err
	}
	return Reply{Type: typ, Body: body}, true, nil
}

// Engine is the bot engine behind an assistant NewBot made (for handing a
// conversation back after a person took it), or nil.
func Engine(as Assistant) *bot.Engine {
	if b, ok := as.(*botAssistant); ok {
		return b.e
	}
	return nil
}
