package cloudapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/parley-im/parley/internal/business/webhook"
)

// limiter holds token buckets: one per number (throughput) and one per
// (number, customer) pair. In memory on purpose: limits protect the next
// seconds, and a restart forgets them as Meta's would.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	// tier serialises the messaging-limit check and its record, so two
	// concurrent sends cannot both take the last slot.
	tier sync.Mutex
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   float64 // tokens per second
	burst  float64
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

// take takes one token from key's bucket, or returns how long until one is
// there.
func (l *limiter) take(key string, rate float64, burst int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100_000 {
			l.prune(now)
		}
		b = &bucket{tokens: float64(burst), last: now, rate: rate, burst: float64(burst)}
		l.buckets[key] = b
	}
	b.rate, b.burst = rate, float64(burst)
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// prune forgets full buckets: they behave as new ones.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.rate >= b.burst {
			delete(l.buckets, k)
		}
	}
}

// rateLimit applies throughput and pair rate to one send.
func (h *Handler) rateLimit(pn PhoneNumber, waID string) error {
	now := h.now()
	mps := pn.Throughput
	if mps <= 0 {
		mps = h.cfg.Throughput
	}
	if ok, wait := h.limits.take("n/"+pn.ID, float64(mps), mps, now); !ok {
		return &Error{Spec: ErrThroughput, Details: "Message failed to send because there were too many messages sent from this phone number in a short period of time",
			RetryAfter: max(1, int(math.Ceil(wait.Seconds())))}
	}
	rate := 1 / h.cfg.PairInterval.Seconds()
	if ok, wait := h.limits.take("p/"+pn.ID+"/"+waID, rate, h.cfg.PairBurst, now); !ok {
		return &Error{Spec: ErrPairRate, Details: "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time",
			RetryAfter: max(1, int(math.Ceil(wait.Seconds())))}
	}
	return nil
}

// CountInbound lets an inbound message count against the number's
// throughput, as Meta's limit covers both directions. The agent calls it
// with RecordInbound; it never refuses.
func (h *Handler) CountInbound(phoneNumberID string) {
	h.limits.take("n/"+phoneNumberID, float64(h.cfg.Throughput), h.cfg.Throughput, h.now())
}

// RecordInbound opens or renews the customer service window between the
// number and the customer; the agent calls it for every message a customer
// sends.
func (h *Handler) RecordInbound(ctx context.Context, phoneNumberID, waID string, at time.Time) error {
	if h.cfg.Conversations == nil {
		return nil
	}
	h.CountInbound(phoneNumberID)
	return h.cfg.Conversations.RecordInbound(ctx, phoneNumberID, waID, at)
}

// decision is what policy says about one send that passed validation.
type decision struct {
	pricing webhook.Pricing
	refuse  *Error // a policy refusal: async failed status, or sync error
}

// policy applies the window, consent and the messaging limit. category is
// the template's category (lowercase), "" for a free-form message.
func (h *Handler) policy(ctx context.Context, b Business, pn PhoneNumber, waID, category string) (decision, error) {
	d := decision{pricing: webhook.Pricing{PricingModel: "PMP", Category: "service", Type: "free_customer_service"}}
	if h.cfg.Conversations == nil {
		return d, nil
	}
	now := h.now()
	last, err := h.cfg.Conversations.LastInbound(ctx, pn.ID, waID)
	if err != nil {
		return d, err
	}
	inWindow := !last.IsZero() && now.Sub(last) < h.cfg.Window
	consent, err := h.cfg.Conversations.Consent(ctx, pn.ID, waID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return d, err
	}
	if category == "marketing" && consent.MarketingOptOut {
		d.refuse = fail(ErrMarketingOptOut, "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.")
		return d, nil
	}
	if category == "" {
		if !inWindow {
			d.refuse = fail(ErrReengagement, "Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
		}
		return d, nil
	}
	d.pricing = webhook.Pricing{Billable: true, PricingModel: "PMP", Category: category, Type: "regular"}
	if inWindow {
		if category == "utility" {
			d.pricing = webhook.Pricing{PricingModel: "PMP", Category: category, Type: "free_customer_service"}
		}
		return d, nil
	}
	if !consent.OptedIn {
		d.refuse = fail(ErrUndeliverable, "Message undeliverable: the recipient has not opted in to messages from this business.")
		return d, nil
	}
	if b.Tier == TierUnlimited {
		return d, h.cfg.Conversations.RecordReached(ctx, b.ID, waID, now)
	}
	h.limits.tier.Lock()
	defer h.limits.tier.Unlock()
	n, includes, err := h.cfg.Conversations.Reached(ctx, b.ID, waID, now.Add(-24*time.Hour))
	if err != nil {
		return d, err
	}
	if !includes && n >= int(b.Tier) {
		return d, fail(ErrMessagingLimit, "the business reached its messaging limit (%s: %d unique customers outside the customer service window in 24 hours)", b.Tier.Name(), int(b.Tier))
	}
	return d, h.cfg.Conversations.RecordReached(ctx, b.ID, waID, now)
}

func optInJSON(waID string, c Consent) map[string]any {
	m := map[string]any{"wa_id": waID, "opted_in": c.OptedIn, "marketing_opt_out": c.MarketingOptOut}
	if !c.Updated.IsZero() {
		m["updated_time"] = c.Updated.UTC().Format(time.RFC3339)
	}
	return m
}

// getOptIn is GET {phone}/opt_ins?wa_id=…: a customer's consent.
func (h *Handler) getOptIn(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeMessages); err != nil {
		return err
	}
	waID, ok := normalizeRecipient(q.r.URL.Query().Get("wa_id"))
	if !ok {
		return fail(ErrInvalidParameter, "wa_id must be a phone number in international format")
	}
	c, err := h.cfg.Conversations.Consent(q.ctx, pn.ID, waID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"data": []any{optInJSON(waID, c)}})
	return nil
}

// postOptIn is POST {phone}/opt_ins {"wa_id", "opted_in", "marketing_opt_out"}:
// records consent; an absent field keeps its value.
func (h *Handler) postOptIn(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeMessages); err != nil {
		return err
	}
	var in struct {
		WaID            string   `json:"wa_id"`
		OptedIn         flexBool `json:"opted_in"`
		MarketingOptOut flexBool `json:"marketing_opt_out"`
	}
	if err := params(q, &in); err != nil {
		return err
	}
	waID, ok := normalizeRecipient(in.WaID)
	if !ok {
		return fail(ErrInvalidParameter, "wa_id must be a phone number in international format")
	}
	if !in.OptedIn.set && !in.MarketingOptOut.set {
		return fail(ErrInvalidParameter, "opted_in or marketing_opt_out is required")
	}
	c, err := h.cfg.Conversations.Consent(q.ctx, pn.ID, waID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if in.OptedIn.set {
		c.OptedIn = in.OptedIn.v
	}
	if in.MarketingOptOut.set {
		c.MarketingOptOut = in.MarketingOptOut.v
	}
	c.Updated = h.now()
	if err := h.cfg.Conversations.SetConsent(q.ctx, pn.ID, waID, c); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
	return nil
}
