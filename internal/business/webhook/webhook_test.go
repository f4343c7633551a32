package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// jsEscape is whatsapp-api-js's escapeUnicode, transcribed: every UTF-16
// unit outside \0-~ becomes \u and four lowercase hex digits.
func jsEscape(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		if u <= '~' {
			b.WriteByte(byte(u))
		} else {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.String()
}

func TestASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"plain"}`, `{"a":"plain"}`},
		{`{"a":"äöå"}`, `{"a":"\u00e4\u00f6\u00e5"}`},
		{`{"a":"🍞"}`, `{"a":"\ud83c\udf5e"}`},
		{"{\"a\":\"\x7f\"}", `{"a":"\u007f"}`},
		{`{"a":"中文 €"}`, `{"a":"\u4e2d\u6587 \u20ac"}`},
		{"{\"a\":\"\xff\"}", `{"a":"\ufffd"}`},
	}
	for _, tc := range tests {
		got := string(ASCII([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("ASCII(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if utf8Valid(tc.in) && jsEscape(tc.in) != got {
			t.Errorf("differs from whatsapp-api-js's escaping for %q", tc.in)
		}
		var a, b any
		if utf8Valid(tc.in) && (json.Unmarshal([]byte(tc.in), &a) != nil || json.Unmarshal([]byte(got), &b) != nil || fmt.Sprint(a) != fmt.Sprint(b)) {
			t.Errorf("escaping changed the value of %q", tc.in)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestSignature(t *testing.T) {
	// HMAC-SHA256("SECRET", body), computed independently with openssl.
	body := []byte(`{"object":"whatsapp_business_account"}`)
	sig := Signature("SECRET", body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 || strings.ToLower(sig) != sig {
		t.Fatalf("signature %q", sig)
	}
	if !VerifySignature("SECRET", body, sig) || VerifySignature("SECRET", append(body, ' '), sig) || VerifySignature("other", body, sig) {
		t.Fatal("verification")
	}
}

func TestEventShapes(t *testing.T) {
	meta := Metadata{DisplayPhoneNumber: "5511900000000", PhoneNumberID: "42"}
	at := time.Unix(1750096325, 0)
	m, err := NewMessage("5511987654321", "wamid.o1", at, "order", Order{CatalogID: "7", ProductItems: []OrderItem{{ProductRetailerID: "SKU", Quantity: 2, ItemPrice: MajorUnits(3000, 2), Currency: "USD"}}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := MessageEvent("99", meta, &Contact{Profile: Profile{Name: "Sheena"}, WaID: "5511987654321"}, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"whatsapp_business_account","entry":[{"id":"99","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511900000000","phone_number_id":"42"},"contacts":[{"profile":{"name":"Sheena"},"wa_id":"5511987654321"}],"messages":[{"from":"5511987654321","id":"wamid.o1","timestamp":"1750096325","type":"order","order":{"catalog_id":"7","text":"","product_items":[{"product_retailer_id":"SKU","quantity":2,"item_price":30,"currency":"USD"}]}}]},"field":"messages"}]}]}`
	if string(ev.Body) != want {
		t.Fatalf("order event\n got %s\nwant %s", ev.Body, want)
	}
	if ev.ID != "message/wamid.o1" || ev.Customer != "42/5511987654321" {
		t.Fatalf("id %q customer %q", ev.ID, ev.Customer)
	}
	st, err := StatusEvent("99", meta, Status{ID: "wamid.x", Status: "read", Timestamp: "1", RecipientID: "5511987654321",
		Pricing: &Pricing{PricingModel: "PMP", Category: "utility", Type: "regular", Billable: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(st.Body, []byte(`"statuses":[{"id":"wamid.x","status":"read","timestamp":"1","recipient_id":"5511987654321","pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}}]`)) {
		t.Fatalf("status %s", st.Body)
	}
	for _, c := range []struct {
		minor int64
		exp   int
		want  string
	}{{3000, 2, "30"}, {14990, 2, "149.9"}, {5, 2, "0.05"}, {-150, 2, "-1.5"}, {1234, 0, "1234"}, {1001, 3, "1.001"}, {0, 2, "0"}} {
		if got := MajorUnits(c.minor, c.exp); string(got) != c.want {
			t.Errorf("MajorUnits(%d,%d) = %s, want %s", c.minor, c.exp, got, c.want)
		}
	}
	if _, err := NewMessage("1", "2", at, "text", "not an object"); err == nil {
		t.Fatal("a non-object body was accepted")
	}
	if _, err := MessageEvent("99", meta, nil, Message{From: "1", ID: "x", Type: "text", Body: []byte(`[1]`)}); err == nil {
		t.Fatal("an array body was accepted")
	}
	// Meta's contacts message is the one array body.
	cm, err := NewMessage("1", "wamid.c", at, "contacts", json.RawMessage(`[{"name":{"formatted_name":"Ana"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := MessageEvent("99", meta, nil, cm); err != nil || !bytes.Contains(ev.Body, []byte(`"type":"contacts","contacts":[{"name":{"formatted_name":"Ana"}}]`)) {
		t.Fatalf("contacts event: %v %s", err, ev.Body)
	}
	big := strings.Repeat("x", MaxBody)
	bm, _ := NewMessage("1", "2", at, "text", Text{Body: big})
	if _, err := MessageEvent("99", meta, nil, bm); err != ErrTooLarge {
		t.Fatalf("oversized event: %v", err)
	}
}

// receiver is an httptest webhook endpoint that fails the first failN POSTs
// of each event, and records the rest.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	failN  map[string]int // event id (message id) → failures left
	got    []string       // message ids in arrival order
	bodies map[string][][]byte
	sigs   map[string][]string
	posts  int
	notify chan struct{}
}

func newReceiver(t *testing.T, secret string) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: secret, failN: map[string]int{}, bodies: map[string][][]byte{}, sigs: map[string][]string{}, notify: make(chan struct{}, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet {
			q := req.URL.Query()
			if q.Get("hub.mode") == "subscribe" && q.Get("hub.verify_token") == "vt" {
				io.WriteString(w, q.Get("hub.challenge"))
				return
			}
			w.WriteHeader(http.StatusForbidden)
			return
		}
		body, _ := io.ReadAll(req.Body)
		if req.ContentLength != int64(len(body)) || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content-length %d for %d bytes, type %q", req.ContentLength, len(body), req.Header.Get("Content-Type"))
		}
		sig := req.Header.Get("X-Hub-Signature-256")
		if !VerifySignature(secret, body, sig) {
			t.Errorf("bad signature")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages []struct {
							ID string `json:"id"`
						} `json:"messages"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		json.Unmarshal(body, &p)
		id := p.Entry[0].Changes[0].Value.Messages[0].ID
		r.mu.Lock()
		r.posts++
		r.bodies[id] = append(r.bodies[id], body)
		r.sigs[id] = append(r.sigs[id], sig)
		fail := r.failN[id] > 0
		if fail {
			r.failN[id]--
		} else {
			r.got = append(r.got, id)
		}
		r.mu.Unlock()
		r.notify <- struct{}{}
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) waitFor(n int) []string {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("received %d of %d events: %v", len(got), n, got)
		}
	}
}

func message(t *testing.T, customer, id, text string) Event {
	t.Helper()
	m, err := NewMessage(customer, id, time.Now(), "text", Text{Body: text})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := MessageEvent("99", Metadata{PhoneNumberID: "42"}, &Contact{Profile: Profile{Name: "Zoë"}, WaID: customer}, m)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestDropAfterMaxAge(t *testing.T) {
	rcv, srv := newReceiver(t, "k")
	rcv.failN["x1"] = 1 << 30
	var logs bytes.Buffer
	var logMu sync.Mutex
	s := New(Config{Queue: NewMemQueue(), MinBackoff: 10 * time.Millisecond, MaxAge: 150 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))})
	s.SetTarget(Target{URL: srv.URL, AppSecret: "k"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	s.Enqueue(ctx, message(t, "551100000001", "x1", "segredo do cliente"))
	s.Enqueue(ctx, message(t, "551100000001", "x2", "depois"))
	// x1 never succeeds; once dropped, x2 (held behind it) goes through.
	if got := rcv.waitFor(1); got[0] != "x2" {
		t.Fatalf("got %v", got)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "event dropped") || strings.Contains(out, "segredo") || strings.Contains(out, "551100000001") {
		t.Fatalf("drop log line: %q", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestBackoffGrows(t *testing.T) {
	s := New(Config{Queue: NewMemQueue(), MinBackoff: time.Second, MaxBackoff: time.Minute})
	for attempts, want := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 20: time.Minute} {
		for i := 0; i < 50; i++ {
			d := s.backoff(attempts)
			if d < want/2 || d >= want*3/2 {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v)", attempts, d, want/2, want*3/2)
			}
		}
	}
}

func TestVerifyHandshake(t *testing.T) {
	_, srv := newReceiver(t, "k")
	echoWrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "nope") }))
	defer echoWrong.Close()
	created := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, r.URL.Query().Get("hub.challenge"))
	}))
	defer created.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		t    Target
		ok   bool
	}{
		{"good", Target{URL: srv.URL, VerifyToken: "vt"}, true},
		{"wrong token", Target{URL: srv.URL, VerifyToken: "x"}, false},
		{"wrong echo", Target{URL: echoWrong.URL, VerifyToken: "vt"}, false},
		{"201", Target{URL: created.URL, VerifyToken: "vt"}, false},
		{"not http", Target{URL: "ftp://example.com/x", VerifyToken: "vt"}, false},
	} {
		err := Verify(ctx, http.DefaultClient, tc.t)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func FuzzASCII(f *testing.F) {
	for _, s := range []string{`{"a":"x"}`, `{"a":"äöå 🍞"}`, "{\"a\":\"\xff\xfe\"}", `"\u2028"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := ASCII(b)
		for _, c := range out {
			if c >= 0x7f {
				t.Fatalf("non-ASCII byte in output")
			}
		}
		if utf8Valid(string(b)) && string(out) != jsEscape(string(b)) {
			t.Fatalf("differs from whatsapp-api-js's escaping")
		}
		if json.Valid(b) && utf8Valid(string(b)) {
			var x, y any
			if json.Unmarshal(out, &y) != nil {
				t.Fatal("escaped JSON is invalid")
			}
			json.Unmarshal(b, &x)
			if fmt.Sprint(x) != fmt.Sprint(y) {
				t.Fatal("escaping changed the value")
			}
		}
	})
}

func FuzzMessageEvent(f *testing.F) {
	f.Add("text", []byte(`{"body":"olá"}`))
	f.Add("order", []byte(`{"catalog_id":"1","product_items":[{"product_retailer_id":"a","quantity":1,"item_price":1.5,"currency":"BRL"}]}`))
	f.Add("interactive", []byte(`{"type":"button_reply","button_reply":{"id":"x","title":"✓"}}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		ev, err := MessageEvent("1", Metadata{PhoneNumberID: "2"}, nil, Message{From: "3", ID: "4", Type: typ, Body: body})
		if err != nil {
			return
		}
		for _, c := range ev.Body {
			if c >= 0x7f {
				t.Fatal("non-ASCII byte in an event")
			}
		}
		if !json.Valid(ev.Body) {
			t.Fatal("event is not JSON")
		}
	})
}
