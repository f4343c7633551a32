package bot

// These tests run the OpenAI brain against an httptest server that speaks
// the chat-completions wire format and plays a scripted model. No real
// model server (llama.cpp, Ollama, vLLM) is installed here; the script
// returns the shapes those servers return, including Ollama's arguments
// as an object and content as an array of parts.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// wireRequest is a chat-completions request as the server reads it: with
// arguments kept as raw JSON, to check they are strings.
type wireRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice string `json:"tool_choice"`
}

func (r wireRequest) last() (role, content, toolCallID string) {
	m := r.Messages[len(r.Messages)-1]
	var s string
	json.Unmarshal(m.Content, &s)
	return m.Role, s, m.ToolCallID
}

func (r wireRequest) system() string {
	var s string
	json.Unmarshal(r.Messages[0].Content, &s)
	return s
}

// fakeModel is a scripted chat-completions server: each request gets the
// next step's response.
type fakeModel struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	steps []func(wireRequest) any
	reqs  []wireRequest
	auth  []string
	paths []string
}

func newFakeModel(t *testing.T) *fakeModel {
	f := &fakeModel{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeModel) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	var step func(wireRequest) any
	if len(f.steps) > 0 {
		step, f.steps = f.steps[0], f.steps[1:]
	}
	f.mu.Unlock()
	if step == nil {
		http.Error(w, `{"error":{"message":"script exhausted"}}`, 500)
		return
	}
	switch v := step(req).(type) {
	case int:
		w.WriteHeader(v)
		io.WriteString(w, `{"error":{"message":"model overloaded","type":"server_error"}}`)
	case func(w http.ResponseWriter, r *http.Request):
		v(w, r)
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

func (f *fakeModel) script(steps ...func(wireRequest) any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps = append(f.steps, steps...)
}

func (f *fakeModel) requests() []wireRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wireRequest(nil), f.reqs...)
}

// header returns the Authorization header and "METHOD path" of request i.
func (f *fakeModel) header(i int) (auth, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auth[i], f.paths[i]
}

// Responses in the wire format.
func answer(text string) any {
	return map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "choices": []any{map[string]any{
		"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": text}}}}
}

func toolCalls(calls ...[2]string) any {
	var tc []any
	for i, c := range calls {
		tc = append(tc, map[string]any{"id": fmt.Sprintf("call_%d", i+1), "type": "function",
			"function": map[string]any{"name": c[0], "arguments": c[1]}})
	}
	return map[string]any{"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls",
		"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": tc}}}}
}

func newLLMHarness(t *testing.T, f *fakeModel, tweak func(*OpenAI)) *harness {
	o := &OpenAI{BaseURL: f.srv.URL, Model: "qwen2.5:7b", APIKey: "sk-test", Timeout: 5 * time.Second}
	if tweak != nil {
		tweak(o)
	}
	return newHarness(t, func(opt *Options) { opt.Brain = o })
}

// toolResult decodes the JSON a tool returned to the model.
func toolResult(t *testing.T, req wireRequest) map[string]any {
	t.Helper()
	role, content, id := req.last()
	if role != "tool" || id == "" {
		t.Fatalf("last message %s %q", role, id)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(content), &v); err != nil {
		t.Fatalf("tool result %q: %v", content, err)
	}
	return v
}

func TestOpenAIAnswersFromTools(t *testing.T) {
	f := newFakeModel(t)
	h := newLLMHarness(t, f, nil)
	f.script(
		func(r wireRequest) any {
			if r.ToolChoice != "auto" || len(r.Tools) != len(botTools) || r.Model != "qwen2.5:7b" {
				t.Errorf("request: tool_choice %q, %d tools, model %q", r.ToolChoice, len(r.Tools), r.Model)
			}
			for _, tl := range r.Tools {
				if tl.Type != "function" || !json.Valid(tl.Function.Parameters) || tl.Function.Name == "create_order" {
					t.Errorf("tool %+v", tl)
				}
			}
			if sys := r.system(); !strings.Contains(sys, "Always answer in English") || !strings.Contains(sys, "Open now, until 18:00") {
				t.Errorf("system prompt %q", sys)
			}
			if role, content, _ := r.last(); role != "user" || content != "Do you have Dom Casmurro?" {
				t.Errorf("last message %s %q", role, content)
			}
			return toolCalls([2]string{"search_catalog", `{"query":"Dom Casmurro"}`})
		},
		func(r wireRequest) any {
			// The assistant's tool call is echoed with arguments as a
			// JSON string, and answered by a tool message.
			asst := r.Messages[len(r.Messages)-2]
			if asst.Role != "assistant" || len(asst.ToolCalls) != 1 || asst.ToolCalls[0].ID != "call_1" {
				t.Errorf("assistant message %+v", asst)
			}
			var args string
			if err := json.Unmarshal(asst.ToolCalls[0].Function.Arguments, &args); err != nil || args != `{"query":"Dom Casmurro"}` {
				t.Errorf("arguments %s: %v", asst.ToolCalls[0].Function.Arguments, err)
			}
			res := toolResult(t, r)
			p := res["results"].([]any)[0].(map[string]any)
			if r.Messages[len(r.Messages)-1].ToolCallID != "call_1" || p["retailer_id"] != "dom-casmurro" ||
				p["price"] != "R$ 39.90" || p["price_minor"] != float64(3990) || p["stock"] != float64(5) {
				t.Errorf("tool result %v", res)
			}
			return answer(fmt.Sprintf("Yes! %s costs %s and we have %v in stock.", p["name"], p["price"], p["stock"]))
		},
	)
	rs := h.say("Do you have Dom Casmurro?")
	wantIn(t, rs, "Yes! Dom Casmurro costs R$ 39.90 and we have 5 in stock.")
	if auth, path := f.header(0); len(f.requests()) != 2 || auth != "Bearer sk-test" || path != "POST /v1/chat/completions" {
		t.Fatalf("requests %d, auth %q, path %q", len(f.requests()), auth, path)
	}
}

// TestOpenAIOrderNeedsConfirmation: the model builds the cart and starts
// checkout; the order is created only by the customer's yes, which never
// reaches the model.
func TestOpenAIOrderNeedsConfirmation(t *testing.T) {
	f := newFakeModel(t)
	h := newLLMHarness(t, f, nil)
	f.script(
		func(r wireRequest) any {
			if !strings.Contains(r.system(), "Always answer in Portuguese") {
				t.Errorf("system prompt not Portuguese: %q", r.system())
			}
			return toolCalls([2]string{"search_catalog", `{"query":"Dom Casmurro"}`})
		},
		func(r wireRequest) any {
			// A model trying to order on its own gets nowhere.
			return toolCalls([2]string{"create_order", `{"items":[{"retailer_id":"dom-casmurro","quantity":2}]}`},
				[2]string{"add_to_cart", `{"retailer_id":"dom-casmurro","quantity":2}`})
		},
		func(r wireRequest) any {
			n := len(r.Messages)
			var unknown map[string]any
			var c1 string
			json.Unmarshal(r.Messages[n-2].Content, &c1)
			json.Unmarshal([]byte(c1), &unknown)
			if !strings.Contains(fmt.Sprint(unknown["error"]), "unknown tool") {
				t.Errorf("create_order result %v", unknown)
			}
			res := toolResult(t, r)
			if res["total"] != "R$ 79,80" || res["total_minor"] != float64(7980) {
				t.Errorf("cart %v", res)
			}
			return toolCalls([2]string{"checkout", `{}`})
		},
	)
	rs := h.say("Quero dois exemplares de Dom Casmurro")
	wantIn(t, rs, "Você prefere entrega ou retirar na loja?")
	if h.b.orderCalls != 0 {
		t.Fatal("order created by the model")
	}
	wantIn(t, h.tap(idPickup), "2 × Dom Casmurro — R$ 79,80", "Total: R$ 79,80")
	rs = h.say("sim")
	wantIn(t, rs, "Pedido BK-1001: revise e pague R$ 79,80")
	checkOrderDetails(t, rs)
	if n := len(f.requests()); n != 3 {
		t.Fatalf("model called %d times, want 3 (never for the confirmation)", n)
	}
}

// TestOpenAIGuardrail: an answer with a figure no tool gave is not sent;
// the embedded brain answers from the catalog instead.
func TestOpenAIGuardrail(t *testing.T) {
	f := newFakeModel(t)
	h := newLLMHarness(t, f, nil)
	f.script(func(r wireRequest) any { return answer("Sure, Dom Casmurro costs R$ 25,00 and we have 40 copies.") })
	rs := h.say("How much is Dom Casmurro?")
	got := plain(rs)
	if strings.Contains(got, "25") || strings.Contains(got, "40") {
		t.Fatalf("invented figures reached the customer: %s", got)
	}
	wantIn(t, rs, "Dom Casmurro", "R$ 39.90")

	// A price that came from a tool passes.
	f.script(
		func(r wireRequest) any { return toolCalls([2]string{"get_product", `{"retailer_id":"hobbit"}`}) },
		func(r wireRequest) any { return answer("The Hobbit is R$ 59.90.") },
	)
	wantIn(t, h.say("and the hobbit?"), "The Hobbit is R$ 59.90.")
}

func TestOpenAIFailuresFallBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*OpenAI)
		steps []func(wireRequest) any
		reqs  int
	}{
		{"http 500", nil, []func(wireRequest) any{func(wireRequest) any { return 500 }}, 1},
		{"timeout", func(o *OpenAI) { o.Timeout = 100 * time.Millisecond }, []func(wireRequest) any{func(wireRequest) any {
			return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
		}}, 1},
		{"runaway tools", func(o *OpenAI) { o.MaxSteps = 3 }, []func(wireRequest) any{
			func(wireRequest) any { return toolCalls([2]string{"view_cart", `{}`}) },
			func(wireRequest) any { return toolCalls([2]string{"view_cart", `{}`}) },
			func(wireRequest) any { return toolCalls([2]string{"view_cart", `{}`}) },
		}, 3},
		{"empty answer", nil, []func(wireRequest) any{func(wireRequest) any { return answer("  ") }}, 1},
		{"garbage", nil, []func(wireRequest) any{func(wireRequest) any {
			return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }
		}}, 1},
		{"no choices", nil, []func(wireRequest) any{func(wireRequest) any { return map[string]any{"choices": []any{}} }}, 1},
		{"bad arguments", nil, []func(wireRequest) any{func(wireRequest) any {
			return toolCalls([2]string{"search_catalog", `not json`})
		}, func(r wireRequest) any {
			if res := toolResult(t, r); res["error"] == nil {
				t.Errorf("bad arguments not reported: %v", res)
			}
			return 500
		}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeModel(t)
			h := newLLMHarness(t, f, tc.tweak)
			f.script(tc.steps...)
			start := time.Now()
			wantIn(t, h.say("Are you open now?"), "open now, until 18:00")
			if d := time.Since(start); d > 4*time.Second {
				t.Fatalf("took %v", d)
			}
			if n := len(f.requests()); n != tc.reqs {
				t.Fatalf("%d requests, want %d", n, tc.reqs)
			}
		})
	}
}

// TestOpenAIFailureAfterCartChange: the fallback does not add to the cart a
// second time; the customer sees the cart.
func TestOpenAIFailureAfterCartChange(t *testing.T) {
	f := newFakeModel(t)
	h := newLLMHarness(t, f, nil)
	f.script(
		func(wireRequest) any {
			return toolCalls([2]string{"add_to_cart", `{"retailer_id":"1984","quantity":1}`})
		},
		func(wireRequest) any { return 503 },
	)
	wantIn(t, h.say("I want 1984"), "Your cart:", "1 × 1984")
	if c := h.conv(); len(c.Cart) != 1 || c.Cart[0].Quantity != 1 {
		t.Fatalf("cart %+v", c.Cart)
	}
}

func TestOpenAIHandoffAndWireQuirks(t *testing.T) {
	f := newFakeModel(t)
	h := newLLMHarness(t, f, func(o *OpenAI) { o.BaseURL += "/v1/"; o.APIKey = "" })
	f.script(
		// Ollama sends arguments as an object, and content as parts.
		func(wireRequest) any {
			return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant",
				"content": []any{map[string]any{"type": "text", "text": ""}},
				"tool_calls": []any{map[string]any{"id": "t1", "type": "function", "function": map[string]any{
					"name": "get_opening_hours", "arguments": map[string]any{}}}}}}}}
		},
		func(r wireRequest) any {
			if res := toolResult(t, r); res["open_now"] != true {
				t.Errorf("hours %v", res)
			}
			return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant",
				"content": []any{map[string]any{"type": "text", "text": "Ja, wir haben bis 18:00 Uhr geöffnet."}}}}}}
		},
		func(wireRequest) any {
			return toolCalls([2]string{"handoff_to_human", `{"reason":"complaint","summary":"customer unhappy with a late order"}`})
		},
	)
	wantIn(t, h.say("Habt ihr heute geöffnet?"), "Ja, wir haben bis 18:00 Uhr geöffnet.")
	wantIn(t, h.say("Das ist eine Frechheit, meine Lieferung ist zu spät"), "Ich verbinde Sie mit einem Menschen")
	if hs := h.b.handoffs; len(hs) != 1 || hs[0].Reason != HandoffComplaint || hs[0].Summary != "customer unhappy with a late order" {
		t.Fatalf("handoffs %+v", hs)
	}
	if rs := h.say("Hallo?"); len(rs) != 0 {
		t.Fatal("bot answered during handoff")
	}
	if auth, path := f.header(0); len(f.requests()) != 3 || auth != "" || path != "POST /v1/chat/completions" {
		t.Fatalf("requests %d auth %q path %q", len(f.requests()), auth, path)
	}
	// The conversation so far went to the model as history.
	r := f.requests()[2]
	if len(r.Messages) < 4 || r.Messages[1].Role != "user" || r.Messages[2].Role != "assistant" {
		t.Fatalf("history %+v", r.Messages)
	}
}

func TestUngrounded(t *testing.T) {
	ev := `{"price":"R$ 39,90","stock":5} Now: Monday 10:00. Open until 18:00.`
	for answer, want := range map[string]string{
		"It costs R$ 39,90 and 5 are left.": "",
		"We close at 18:00.":                "",
		"It costs R$ 29,90.":                "29",
		"We have 12 copies.":                "12",
		"Only 05 left":                      "",
	} {
		if got := ungrounded(answer, ev); got != want {
			t.Errorf("ungrounded(%q) = %q, want %q", answer, got, want)
		}
	}
	if (&OpenAI{BaseURL: "http://x:1/v1"}).endpoint() != "http://x:1/v1/chat/completions" ||
		(&OpenAI{BaseURL: "http://x:1/"}).endpoint() != "http://x:1/v1/chat/completions" {
		t.Fatal("endpoint")
	}
}

// FuzzChatResponse: whatever a model server answers, reading it neither
// panics nor yields tool arguments that are not a JSON object's text.
func FuzzChatResponse(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"role":"assistant","content":"hi"}}]}`))
	f.Add([]byte(`{"choices":[{"message":{"content":[{"type":"text","text":"a"}],"tool_calls":[{"id":"1","type":"function","function":{"name":"x","arguments":{"a":1}}}]}}]}`))
	f.Add([]byte(`{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"x","arguments":"{\"q\":\"é\"}"}}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var cr chatResponse
		if json.Unmarshal(body, &cr) != nil {
			return
		}
		for _, c := range cr.Choices {
			contentText(c.Message.Content)
			for _, tc := range c.Message.ToolCalls {
				out, err := argumentString(tc.Function.Arguments)
				if err == nil && len(tc.Function.Arguments) > 0 && tc.Function.Arguments[0] == '{' && !json.Valid([]byte(out)) {
					t.Fatalf("arguments %s → %q", tc.Function.Arguments, out)
				}
			}
		}
	})
}
