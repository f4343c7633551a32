package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// OpenAI is a Brain backed by an OpenAI-compatible chat-completions server
// with tool calling (llama.cpp's server, Ollama, vLLM, LocalAI, or OpenAI
// itself): POST {BaseURL}/v1/chat/completions with the bot's tools and
// tool_choice "auto", running the tool calls it returns until it answers.
//
// The model gets read tools, cart tools and checkout, never order
// creation: checkout makes the engine ask the customer to confirm items
// and total, and only the customer's yes creates the order. An answer that
// states a number found in no tool result, the business facts or the
// conversation is discarded (the model made up a price or a stock
// figure), as are errors, timeouts and runaway tool loops: then Fallback
// answers instead.
type OpenAI struct {
	// BaseURL is the server, e.g. "http://127.0.0.1:11434" (Ollama),
	// "http://127.0.0.1:8080" (llama.cpp) or "https://api.openai.com";
	// a trailing "/v1" is accepted.
	BaseURL string
	APIKey  string // sent as a bearer token when set
	Model   string
	// HTTPClient is used for the requests (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Timeout bounds each request (60 s when zero).
	Timeout time.Duration
	// MaxSteps bounds the requests per customer message (6 when zero).
	MaxSteps int
	// Instructions are the business's own additions to the system prompt.
	Instructions string
	// Fallback answers when the model cannot (the embedded Rules when nil).
	Fallback Brain
	Log      *slog.Logger
}

var _ Brain = (*OpenAI)(nil)

// ErrModel is a failure of the model server or of the model's output.
var ErrModel = errors.New("bot: model failed")

// Wire types of the chat-completions API (the subset the bot uses).
type (
	chatRequest struct {
		Model      string        `json:"model"`
		Messages   []chatMessage `json:"messages"`
		Tools      []chatTool    `json:"tools,omitempty"`
		ToolChoice string        `json:"tool_choice,omitempty"`
	}
	chatMessage struct {
		Role       string         `json:"role"`
		Content    *string        `json:"content"`
		ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
		ToolCallID string         `json:"tool_call_id,omitempty"`
	}
	chatToolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
			// Arguments is a JSON object encoded as a string.
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	chatTool struct {
		Type     string       `json:"type"`
		Function chatFunction `json:"function"`
	}
	chatFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	chatResponse struct {
		Choices []struct {
			Message struct {
				Role      string          `json:"role"`
				Content   json.RawMessage `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name string `json:"name"`
						// A string per the API; some servers send
						// the object itself.
						Arguments json.RawMessage `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
)

func str(s string) *string { return &s }

func params(props string, required ...string) json.RawMessage {
	req, _ := json.Marshal(required)
	if required == nil {
		req = []byte("[]")
	}
	return json.RawMessage(`{"type":"object","properties":{` + props + `},"required":` + string(req) + `}`)
}

// botTools are the functions the model may call.
var botTools = []chatTool{
	{"function", chatFunction{"get_business_profile", "The business's name, description, address, website, e-mail and phone.", params("")}},
	{"function", chatFunction{"get_opening_hours", "Whether the business is open now, when it closes or next opens, and the weekly schedule.", params("")}},
	{"function", chatFunction{"search_faq", "Search the business's own questions and answers. Use it for policies (delivery, payment, returns, ...).",
		params(`"query":{"type":"string","description":"the customer's question"}`, "query")}},
	{"function", chatFunction{"search_catalog", "Search the product catalog by title, author or topic. Returns products with price and stock.",
		params(`"query":{"type":"string"}`, "query")}},
	{"function", chatFunction{"get_product", "A product's price and current stock by its retailer_id.",
		params(`"retailer_id":{"type":"string"}`, "retailer_id")}},
	{"function", chatFunction{"add_to_cart", "Add a quantity of a product to the customer's cart. Checks stock.",
		params(`"retailer_id":{"type":"string"},"quantity":{"type":"integer","minimum":1}`, "retailer_id", "quantity")}},
	{"function", chatFunction{"remove_from_cart", "Remove a product from the cart.", params(`"retailer_id":{"type":"string"}`, "retailer_id")}},
	{"function", chatFunction{"view_cart", "The cart's lines and total.", params("")}},
	{"function", chatFunction{"checkout", "Start checkout of the cart. The system then asks the customer for delivery or pickup and to confirm items and total; you cannot place an order yourself. Ends your turn.", params("")}},
	{"function", chatFunction{"get_order_status", "Status of one of the customer's orders (the latest when no reference is given).",
		params(`"reference_id":{"type":"string"}`)}},
	{"function", chatFunction{"cancel_order", "Ask the customer to confirm canceling one of their orders (the latest when no reference is given). Ends your turn.",
		params(`"reference_id":{"type":"string"}`)}},
	{"function", chatFunction{"handoff_to_human", "Pass the conversation to a person of the business: on request, for complaints, or when you cannot help. Ends your turn.",
		params(`"reason":{"type":"string","enum":["requested","complaint","low_confidence"]},"summary":{"type":"string"}`, "reason")}},
}

var langNames = map[Lang]string{English: "English", Portuguese: "Portuguese", German: "German", Indonesian: "Indonesian"}

// Respond implements Brain.
func (o *OpenAI) Respond(ctx context.Context, s *Session) error {
	t := &llmTurn{s: s}
	err := o.respond(ctx, t)
	if err == nil {
		return nil
	}
	o.log().Warn("bot: model answer not used", "err", err)
	if t.mutated {
		// The cart changed before the model failed: running the fallback
		// on the same message would change it again. Show it instead.
		return s.ShowCart()
	}
	fb := o.Fallback
	if fb == nil {
		fb = Rules{}
	}
	return fb.Respond(ctx, s)
}

func (o *OpenAI) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

// llmTurn is one customer message being answered by the model.
type llmTurn struct {
	s        *Session
	mutated  bool
	done     bool            // a tool ended the turn
	evidence strings.Builder // text the answer's numbers may come from
}

func (o *OpenAI) respond(ctx context.Context, t *llmTurn) error {
	s := t.s
	sys, err := o.systemPrompt(ctx, s)
	if err != nil {
		return err
	}
	t.evidence.WriteString(sys)
	msgs := []chatMessage{{Role: "system", Content: str(sys)}}
	hist := s.conv.History
	if n := len(hist); n > 0 && hist[n-1].From == "customer" {
		hist = hist[:n-1] // the current message, added below
	}
	for _, h := range hist {
		role := "user"
		if h.From == "bot" {
			role = "assistant"
		}
		msgs = append(msgs, chatMessage{Role: role, Content: str(h.Text)})
		t.evidence.WriteString("\n" + h.Text)
	}
	msgs = append(msgs, chatMessage{Role: "user", Content: str(s.In.Text)})
	t.evidence.WriteString("\n" + s.In.Text)
	if b, err := json.Marshal(s.conv.Cart); err == nil {
		t.evidence.Write(b)
	}
	steps := o.MaxSteps
	if steps <= 0 {
		steps = 6
	}
	for range steps {
		resp, err := o.call(ctx, chatRequest{Model: o.Model, Messages: msgs, Tools: botTools, ToolChoice: "auto"})
		if err != nil {
			return err
		}
		m := resp.Choices[0].Message
		if len(m.ToolCalls) == 0 {
			text, err := contentText(m.Content)
			if err != nil {
				return err
			}
			text = strings.TrimSpace(text)
			if text == "" {
				return fmt.Errorf("%w: empty answer", ErrModel)
			}
			if ungrounded(text, t.evidence.String()) != "" {
				// Not logged: the figure is message content.
				return fmt.Errorf("%w: answer states a number no tool returned", ErrModel)
			}
			s.Say(clip(text, maxTextRunes))
			return nil
		}
		asst := chatMessage{Role: "assistant"}
		var results []chatMessage
		for i, c := range m.ToolCalls {
			args, err := argumentString(c.Function.Arguments)
			if err != nil {
				return err
			}
			tc := chatToolCall{ID: c.ID, Type: "function"}
			if tc.ID == "" {
				tc.ID = fmt.Sprintf("call_%d", i)
			}
			tc.Function.Name, tc.Function.Arguments = c.Function.Name, args
			asst.ToolCalls = append(asst.ToolCalls, tc)
			out, err := o.runTool(ctx, t, c.Function.Name, args)
			if err != nil {
				return err
			}
			t.evidence.WriteString("\n" + out)
			results = append(results, chatMessage{Role: "tool", ToolCallID: tc.ID, Content: str(out)})
			if t.done {
				return nil
			}
		}
		msgs = append(msgs, asst)
		msgs = append(msgs, results...)
	}
	return fmt.Errorf("%w: no answer after %d steps", ErrModel, steps)
}

func (o *OpenAI) systemPrompt(ctx context.Context, s *Session) (string, error) {
	p, err := s.Profile(ctx)
	if err != nil {
		return "", err
	}
	h, err := s.Hours(ctx)
	if err != nil {
		return "", err
	}
	lang := s.Lang()
	var b strings.Builder
	fmt.Fprintf(&b, "You are the assistant of %s in a chat with a customer. Always answer in %s, briefly and kindly.\n", p.Name, langNames[lang])
	b.WriteString("Rules: state prices, stock and order details only as the tools return them, never from memory or guesswork; " +
		"if a product is not found, say the business does not have it. You cannot create orders: use checkout and the system " +
		"asks the customer to confirm. If you cannot help, or the customer asks for a person or complains, use handoff_to_human.\n")
	fmt.Fprintf(&b, "Business: %s. %s\nAddress: %s\nWebsite: %s\nE-mail: %s\nPhone: %s\n", p.Name, p.Description, p.Address, p.Website, p.Email, p.Phone)
	fmt.Fprintf(&b, "Now: %s. %s\n", s.now.In(businessZone(h)).Format("Monday 2006-01-02 15:04 MST"), hoursFact(lang, s.now, h))
	if len(h.Week) > 0 {
		b.WriteString("Weekly hours:\n" + weekText(English, h.Week) + "\n")
	}
	if o.Instructions != "" {
		b.WriteString(o.Instructions + "\n")
	}
	return b.String(), nil
}

// hoursFact is the opening state in English for the model.
func hoursFact(lang Lang, now time.Time, h Hours) string {
	switch {
	case h.Open && !h.ClosesAt.IsZero():
		return "Open now, until " + clock(English, h.ClosesAt) + "."
	case h.Open:
		return "Open now."
	case !h.NextOpen.IsZero():
		return "Closed now; opens " + when(English, now, h.NextOpen) + "."
	}
	return "Closed now."
}

// endpoint is the chat-completions URL.
func (o *OpenAI) endpoint() string {
	base := strings.TrimRight(o.BaseURL, "/")
	if strings.HasSuffix(base, "/v1") {
		return base + "/chat/completions"
	}
	return base + "/v1/chat/completions"
}

// maxModelResponse bounds a response body.
const maxModelResponse = 4 << 20

func (o *OpenAI) call(ctx context.Context, req chatRequest) (*chatResponse, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if o.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	client := o.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxModelResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	if len(data) > maxModelResponse {
		return nil, fmt.Errorf("%w: response over %d bytes", ErrModel, maxModelResponse)
	}
	var cr chatResponse
	jerr := json.Unmarshal(data, &cr)
	if res.StatusCode != http.StatusOK {
		msg := ""
		if jerr == nil && cr.Error != nil {
			msg = ": " + clip(cr.Error.Message, 200)
		}
		return nil, fmt.Errorf("%w: HTTP %d%s", ErrModel, res.StatusCode, msg)
	}
	if jerr != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, jerr)
	}
	if len(cr.Choices) == 0 {
		return nil, fmt.Errorf("%w: no choices", ErrModel)
	}
	return &cr, nil
}

// contentText reads a message's content: a string, null, or an array of
// text parts.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("%w: content: %v", ErrModel, err)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// argumentString normalises tool-call arguments to the JSON text of an
// object: the API sends a string; some servers send the object.
func argumentString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: arguments: %v", ErrModel, err)
		}
		if strings.TrimSpace(s) == "" {
			return "{}", nil
		}
		return s, nil
	}
	if raw[0] == '{' {
		return string(raw), nil
	}
	return "", fmt.Errorf("%w: arguments are not an object", ErrModel)
}

// runTool runs one tool call and returns its JSON result for the model.
// Bad arguments and unknown tools are told to the model, which may try
// again; failures of the business's systems end the turn.
func (o *OpenAI) runTool(ctx context.Context, t *llmTurn, name, args string) (string, error) {
	s := t.s
	var a struct {
		Query      string `json:"query"`
		RetailerID string `json:"retailer_id"`
		Quantity   int    `json:"quantity"`
		Reference  string `json:"reference_id"`
		Reason     string `json:"reason"`
		Summary    string `json:"summary"`
	}
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return toolJSON(map[string]any{"error": "arguments must be a JSON object: " + err.Error()})
	}
	lang := s.Lang()
	switch name {
	case "get_business_profile":
		p, err := s.Profile(ctx)
		if err != nil {
			return "", err
		}
		return toolJSON(map[string]any{"name": p.Name, "description": p.Description, "address": p.Address,
			"website": p.Website, "email": p.Email, "phone": p.Phone})
	case "get_opening_hours":
		h, err := s.Hours(ctx)
		if err != nil {
			return "", err
		}
		return toolJSON(map[string]any{"open_now": h.Open, "state": hoursFact(lang, s.now, h), "holiday": h.Holiday,
			"weekly": weekText(English, h.Week)})
	case "search_faq":
		hits, err := s.FAQ(ctx, a.Query, 3)
		if err != nil {
			return "", err
		}
		var out []map[string]any
		for _, h := range hits {
			if h.Confidence >= FAQThreshold/2 {
				out = append(out, map[string]any{"question": h.Entry.Question, "answer": h.Entry.Answer, "confidence": fmt.Sprintf("%.2f", h.Confidence)})
			}
		}
		return toolJSON(map[string]any{"results": out})
	case "search_catalog":
		f, err := s.FindProducts(ctx, a.Query)
		if err != nil {
			return "", err
		}
		ps := f.Ambiguous
		for _, m := range f.Matches {
			ps = append(ps, m.Product)
		}
		var out []map[string]any
		var ids []string
		for _, p := range ps {
			st, err := s.Stock(ctx, p.RetailerID)
			if err != nil {
				return "", err
			}
			out = append(out, productJSON(lang, p, st))
			ids = append(ids, p.RetailerID)
		}
		s.SetShown(ids...)
		if len(out) == 0 {
			return toolJSON(map[string]any{"results": []any{}, "note": "not in the catalog: tell the customer we do not have it"})
		}
		return toolJSON(map[string]any{"results": out})
	case "get_product":
		p, err := s.Product(ctx, a.RetailerID)
		if errors.Is(err, ErrNotFound) {
			return toolJSON(map[string]any{"error": "no such product"})
		}
		if err != nil {
			return "", err
		}
		st, err := s.Stock(ctx, p.RetailerID)
		if err != nil {
			return "", err
		}
		s.SetShown(p.RetailerID)
		return toolJSON(productJSON(lang, p, st))
	case "add_to_cart":
		line, err := s.AddToCart(ctx, a.RetailerID, a.Quantity)
		var oe *OutOfStockError
		switch {
		case errors.As(err, &oe):
			return toolJSON(map[string]any{"error": "not enough stock", "available": oe.Available})
		case errors.Is(err, ErrNotFound):
			return toolJSON(map[string]any{"error": "no such product"})
		case errors.Is(err, ErrCart):
			return toolJSON(map[string]any{"error": err.Error()})
		case err != nil:
			return "", err
		}
		t.mutated = true
		cart, err := cartJSON(s)
		if err != nil {
			return "", err
		}
		cart["added"] = map[string]any{"retailer_id": line.RetailerID, "name": line.Name, "quantity_now": line.Quantity}
		return toolJSON(cart)
	case "remove_from_cart":
		if s.RemoveFromCart(a.RetailerID) {
			t.mutated = true
		}
		cart, err := cartJSON(s)
		if err != nil {
			return "", err
		}
		return toolJSON(cart)
	case "view_cart":
		cart, err := cartJSON(s)
		if err != nil {
			return "", err
		}
		return toolJSON(cart)
	case "checkout":
		t.done = true
		return `{"ok":true}`, s.Checkout(ctx)
	case "get_order_status":
		var ord Order
		var err error
		if a.Reference != "" {
			ord, err = s.Order(ctx, a.Reference)
		} else {
			ord, err = s.LatestOrder(ctx)
		}
		if errors.Is(err, ErrNotFound) {
			return toolJSON(map[string]any{"error": "no such order of this customer"})
		}
		if err != nil {
			return "", err
		}
		s.conv.LastOrder = ord.Reference
		return toolJSON(map[string]any{"reference_id": ord.Reference, "status": ord.Status, "payment": ord.Payment,
			"total": formatMoney(lang, ord.Currency, ord.Total), "total_minor": ord.Total, "currency": ord.Currency})
	case "cancel_order":
		ref := a.Reference
		if ref == "" {
			ord, err := s.LatestOrder(ctx)
			if errors.Is(err, ErrNotFound) {
				return toolJSON(map[string]any{"error": "the customer has no order"})
			}
			if err != nil {
				return "", err
			}
			ref = ord.Reference
		}
		t.done = true
		return `{"ok":true}`, s.AskCancel(ctx, ref)
	case "handoff_to_human":
		reason := HandoffReason(a.Reason)
		switch reason {
		case HandoffRequested, HandoffComplaint, HandoffLowConfidence:
		default:
			reason = HandoffRequested
		}
		t.done = true
		return `{"ok":true}`, s.Handoff(ctx, reason, clip(a.Summary, 500))
	}
	return toolJSON(map[string]any{"error": "unknown tool " + clip(name, 64)})
}

func toolJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func productJSON(lang Lang, p Product, stock int) map[string]any {
	return map[string]any{"retailer_id": p.RetailerID, "name": p.Name, "description": p.Description,
		"price": formatMoney(lang, p.Currency, p.Price), "price_minor": p.Price, "currency": p.Currency,
		"in_stock": stock > 0, "stock": max(stock, 0)}
}

func cartJSON(s *Session) (map[string]any, error) {
	lang := s.Lang()
	var lines []map[string]any
	cur := ""
	for _, l := range s.conv.Cart {
		cur = l.Currency
		lines = append(lines, map[string]any{"retailer_id": l.RetailerID, "name": l.Name, "quantity": l.Quantity,
			"unit_price": formatMoney(lang, l.Currency, l.UnitPrice), "line_total": formatMoney(lang, l.Currency, l.UnitPrice*int64(l.Quantity))})
	}
	t, err := cartTotal(s.conv.Cart)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"lines": lines, "total_minor": t}
	if cur != "" {
		out["total"] = formatMoney(lang, cur, t)
		out["currency"] = cur
	}
	return out, nil
}

var digitRun = regexp.MustCompile(`\d+`)

// ungrounded returns the first number in answer that appears nowhere in
// evidence (the system prompt, the conversation and the tool results of
// this turn), or "". Every figure the model states must have come from
// somewhere: a price it computed or remembered does not pass.
func ungrounded(answer, evidence string) string {
	known := map[string]bool{}
	for _, d := range digitRun.FindAllString(evidence, -1) {
		known[strings.TrimLeft(d, "0")] = true
	}
	for _, d := range digitRun.FindAllString(answer, -1) {
		if !known[strings.TrimLeft(d, "0")] {
			return d
		}
	}
	return ""
}
