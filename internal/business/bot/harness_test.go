package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// harness is one customer talking to an engine over the bookstore.
type harness struct {
	t        *testing.T
	b        *bookstore
	e        *Engine
	now      time.Time
	customer string
	n        int
}

// monday10 is Monday 2026-11-23 10:00 in São Paulo: the shop is open.
func monday10(b *bookstore) time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, b.loc) }

func newHarness(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	b := newBookstore()
	h := &harness{t: t, b: b, customer: "5511999990001"}
	h.now = monday10(b)
	o := Options{Tools: b.tools(), Now: func() time.Time { return h.now }}
	for _, f := range opts {
		f(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	return h
}

func (h *harness) send(in Inbound) []Reply {
	h.t.Helper()
	h.n++
	in.Customer = h.customer
	in.ID = fmt.Sprintf("wamid.%d", h.n)
	rs, err := h.e.Handle(context.Background(), in)
	if err != nil {
		h.t.Fatalf("Handle(%q): %v", in.Text, err)
	}
	for _, r := range rs {
		typ, body, err := r.Body()
		if err != nil {
			h.t.Fatalf("reply does not encode: %v", err)
		}
		if !json.Valid(body) || typ == "" {
			h.t.Fatalf("reply %s: invalid JSON %s", typ, body)
		}
	}
	return rs
}

func (h *harness) say(text string) []Reply { h.t.Helper(); return h.send(Inbound{Text: text}) }

// tap presses a reply button, as the customer's client reports it.
func (h *harness) tap(id string) []Reply {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": id, "title": "x"}})
	in, err := ParseBusinessMessage(h.customer, "", "interactive", body)
	if err != nil {
		h.t.Fatal(err)
	}
	in.Text = ""
	return h.send(in)
}

func (h *harness) conv() *Conversation {
	h.t.Helper()
	c, err := h.e.store.Load(context.Background(), h.customer)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// plain is all replies as the customer reads them.
func plain(rs []Reply) string {
	var b []string
	for _, r := range rs {
		b = append(b, r.Plain())
	}
	return strings.Join(b, "\n")
}

// find returns the first interactive reply of type typ.
func find(rs []Reply, typ string) *Interactive {
	for _, r := range rs {
		if r.Interactive != nil && r.Interactive.Type == typ {
			return r.Interactive
		}
	}
	return nil
}

// buttonIDs lists the reply buttons offered.
func buttonIDs(rs []Reply) []string {
	var ids []string
	for _, r := range rs {
		if r.Interactive != nil {
			for _, b := range r.Interactive.Action.Buttons {
				ids = append(ids, b.Reply.ID)
			}
		}
	}
	return ids
}
