package agent_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/agent"
	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment/sandbox"
	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/contentpb"
	"github.com/parley-im/parley/types"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; last state: %s", what, last)
}

func options() client.Options {
	return client.Options{Protector: &clientstore.PassphraseProtector{Passphrase: []byte("test"),
		Params: clientstore.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

// registerDevice makes a registered profile for a fresh number.
func registerDevice(t testing.TB, srv *testserver.Server, dir, name string) *client.Client {
	t.Helper()
	ctx := ctxT(t)
	c, err := client.Open(ctx, dir, options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	phone := testserver.NewPhone()
	if err := c.RequestCode(ctx, srv.URL, phone); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, srv.URL, phone, testserver.Code); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProfileName(ctx, name); err != nil {
		t.Fatal(err)
	}
	return c
}

// clock runs from a fixed moment at the real pace: opening hours are
// those of that moment, and the webhook sender's waits still end.
type clock struct {
	start time.Time
	t0    time.Time
}

func (c clock) now() time.Time { return c.start.Add(time.Since(c.t0)) }

// recQueue is the agent's webhook queue, recording what is queued, in
// order: what the business's endpoint must receive, in that order.
type recQueue struct {
	*webhook.MemQueue
	mu    sync.Mutex
	added [][]byte
}

func (q *recQueue) Add(ctx context.Context, ev webhook.Event, now time.Time) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ok, err := q.MemQueue.Add(ctx, ev, now)
	if ok {
		q.added = append(q.added, ev.Body)
	}
	return ok, err
}

func (q *recQueue) queued() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.added...)
}

// hookEvent is one POST the business's endpoint received, checked.
type hookEvent struct {
	raw     []byte
	message map[string]any // value.messages[0], or nil
	contact map[string]any // value.contacts[0], or nil
	status  map[string]any // value.statuses[0], or nil
}

// hookReceiver is the business's webhook endpoint: it answers the
// handshake and checks every POST as a receiver written for WhatsApp
// would, the signature over the exact bytes first.
type hookReceiver struct {
	t           testing.TB
	secret      string
	verifyToken string
	mu          sync.Mutex
	events      []hookEvent
	problems    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != h.verifyToken {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		io.WriteString(w, q.Get("hub.challenge"))
		return
	}
	body, err := io.ReadAll(r.Body)
	problem := func(format string, args ...any) {
		h.mu.Lock()
		h.problems = append(h.problems, fmt.Sprintf(format, args...))
		h.mu.Unlock()
		http.Error(w, "bad", http.StatusBadRequest)
	}
	if err != nil {
		problem("read: %v", err)
		return
	}
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte(want)) {
		problem("bad signature %q on %s", r.Header.Get("X-Hub-Signature-256"), body)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" || r.ContentLength != int64(len(body)) {
		problem("content type %q, length %d of %d", r.Header.Get("Content-Type"), r.ContentLength, len(body))
		return
	}
	for _, b := range body {
		if b >= 0x7f {
			problem("non-ASCII byte in %s", body)
			return
		}
	}
	var p struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string `json:"id"`
			Changes []struct {
				Field string `json:"field"`
				Value struct {
					Contacts []map[string]any `json:"contacts"`
					Messages []map[string]any `json:"messages"`
					Statuses []map[string]any `json:"statuses"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Object != "whatsapp_business_account" || len(p.Entry) != 1 || len(p.Entry[0].Changes) != 1 {
		problem("not one event: %s", body)
		return
	}
	v := p.Entry[0].Changes[0].Value
	ev := hookEvent{raw: body}
	switch {
	case len(v.Messages) == 1 && len(v.Statuses) == 0:
		ev.message = v.Messages[0]
		if len(v.Contacts) == 1 {
			ev.contact = v.Contacts[0]
		}
	case len(v.Statuses) == 1 && len(v.Messages) == 0:
		ev.status = v.Statuses[0]
	default:
		problem("not one message or status: %s", body)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *hookReceiver) received() []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.problems) > 0 {
		h.t.Errorf("the webhook endpoint refused events: %s", strings.Join(h.problems, "\n"))
		h.problems = nil
	}
	return append([]hookEvent(nil), h.events...)
}

// shop is a bookstore's agent under test, with its webhook endpoint and
// API server.
type shop struct {
	t       *testing.T
	srv     *testserver.Server
	dev     *client.Client
	devDir  string
	store   *bizstore.Store
	state   *agent.State
	agent   *agent.Agent
	api     *httptest.Server
	hook    *hookReceiver
	queue   *recQueue
	token   string // an admin access token
	catalog string
	clock   clock
	stop    func()
	mu      sync.Mutex // guards agent, which a restart replaces
}

type shopOptions struct {
	assistant bool
}

// Monday 2026-11-23, 10:00 in São Paulo: the bookstore is open.
var monday10 = time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)

const (
	pixKey      = "pix@livrariasabia.com.br"
	appSecret   = "the app secret"
	verifyToken = "the verify token"
)

func newShop(t *testing.T, srv *testserver.Server, o shopOptions) *shop {
	t.Helper()
	ctx := ctxT(t)
	dir := t.TempDir()
	s := &shop{t: t, srv: srv, clock: clock{start: monday10, t0: time.Now()}}
	s.devDir = filepath.Join(dir, "profile")
	s.dev = registerDevice(t, srv, s.devDir, "Livraria Sabiá")
	var err error
	if s.store, err = bizstore.Open(ctx, filepath.Join(dir, "business.db"), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.store.Close() })
	if s.state, err = agent.OpenState(ctx, s.store, s.clock.now); err != nil {
		t.Fatal(err)
	}
	err = s.state.UpdateSettings(ctx, func(st *agent.Settings) error {
		st.Currency, st.Country, st.Language = "BRL", "BR", "pt-BR"
		st.Pickup, st.Delivery, st.DeliveryFee = true, true, 1000
		st.Assistant = o.assistant
		st.Pix = &sandbox.PixAccount{Key: pixKey, MerchantName: "Livraria Sabiá", MerchantCity: "São Paulo"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.setUpBookstore(ctx)
	if s.token, _, err = s.state.CreateToken(ctx, "test", []cloudapi.Scope{cloudapi.ScopeAdmin}, time.Time{}); err != nil {
		t.Fatal(err)
	}

	s.queue = &recQueue{MemQueue: webhook.NewMemQueue()}
	s.hook = &hookReceiver{t: t, secret: appSecret, verifyToken: verifyToken}
	hookSrv := httptest.NewServer(s.hook)
	t.Cleanup(hookSrv.Close)
	s.start()
	if err := s.agent.RegisterWebhook(ctx, webhook.Target{URL: hookSrv.URL + "/hook", AppSecret: appSecret, VerifyToken: verifyToken}); err != nil {
		t.Fatal(err)
	}
	s.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a := s.agent
		s.mu.Unlock()
		a.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(s.api.Close)
	t.Cleanup(func() { s.stop() })
	return s
}

// start makes and runs an agent over the shop's device and database (again
// after stop: a restart).
func (s *shop) start() {
	t := s.t
	a, err := agent.New(ctxT(t), agent.Config{Client: s.dev, Store: s.store, State: s.state, WebhookQueue: s.queue,
		Webhook: webhook.Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second}, AcceptIdentityChanges: true,
		API: cloudapi.Config{SyncPolicyErrors: true}, Now: s.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.agent = a
	s.mu.Unlock()
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent: %v", err)
			}
		})
	}
}

// The bookstore: profile, hours in São Paulo, books with stock, a FAQ.
func (s *shop) setUpBookstore(ctx context.Context) {
	t := s.t
	a := commerce.NewBusiness(s.store)
	if _, err := a.SetProfile(ctx, commerce.Profile{Name: "Livraria Sabiá", About: "Independent bookshop",
		Address: "Rua Augusta 1500, São Paulo - SP", Email: "contato@livrariasabia.com.br",
		Websites: []string{"https://livrariasabia.com.br"}, Vertical: "RETAIL"}); err != nil {
		t.Fatal(err)
	}
	h := commerce.Hours{TimeZone: "America/Sao_Paulo"}
	for d := time.Monday; d <= time.Friday; d++ {
		h.Weekly = append(h.Weekly, commerce.WeeklyRange{Day: commerce.Weekday(d), Range: commerce.Range{Open: 9 * 60, Close: 18 * 60}})
	}
	h.Weekly = append(h.Weekly, commerce.WeeklyRange{Day: commerce.Weekday(time.Saturday), Range: commerce.Range{Open: 10 * 60, Close: 14 * 60}})
	h.Special = []commerce.SpecialDay{{Date: commerce.Date{Year: 2026, Month: 12, Day: 25}, Closed: true, Note: "Natal"}}
	if err := a.SetHours(ctx, h); err != nil {
		t.Fatal(err)
	}
	cats := commerce.NewCatalogs(s.store, nil)
	cat, err := cats.CreateCatalog(ctx, "Livros")
	if err != nil {
		t.Fatal(err)
	}
	s.catalog = cat.ID
	for _, b := range []struct {
		id, name, author string
		price, stock     int64
	}{
		{"dom-casmurro", "Dom Casmurro", "Machado de Assis", 3990, 5},
		{"memorias-postumas", "Memórias Póstumas de Brás Cubas", "Machado de Assis", 4490, 2},
		{"o-alquimista", "O Alquimista", "Paulo Coelho", 3490, 12},
		{"hora-da-estrela", "A Hora da Estrela", "Clarice Lispector", 2990, 0},
		{"grande-sertao", "Grande Sertão: Veredas", "João Guimarães Rosa", 7990, 1},
	} {
		stock := b.stock
		if _, err := cats.CreateProduct(ctx, cat.ID, commerce.Product{RetailerID: b.id, Name: b.name, Brand: b.author,
			Currency: "BRL", Price: b.price, Inventory: &stock}); err != nil {
			t.Fatal(err)
		}
	}
	faqs := commerce.NewFAQs(s.store)
	for _, f := range []commerce.FAQ{
		{Question: "Do you deliver? Where do you deliver to?", Answer: "We deliver anywhere in Brazil by post, and within São Paulo by courier in 1 to 2 working days.", Language: "en", Keywords: []string{"ship", "shipping", "courier"}},
		{Question: "Vocês fazem entrega?", Answer: "Entregamos em todo o Brasil pelos Correios.", Language: "pt", Keywords: []string{"entrega", "correios"}},
	} {
		if _, err := faqs.Add(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
}

// product is the catalog's product now (stock and reservations).
func (s *shop) product(rid string) commerce.Product {
	s.t.Helper()
	p, err := s.store.ProductByRetailerID(ctxT(s.t), s.catalog, rid)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// post calls the agent's HTTP API with the admin token.
func (s *shop) post(path string, body any) (int, map[string]any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.api.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.api.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// waitHooks waits until the endpoint received everything queued and
// done(events) holds, and checks that it got exactly what was queued, in
// that order.
func (s *shop) waitHooks(what string, done func([]hookEvent) bool) []hookEvent {
	s.t.Helper()
	var got []hookEvent
	eventually(s.t, what, func() (bool, string) {
		got = s.hook.received()
		q := s.queue.queued()
		// Delivered and removed from the queue: a restart does not send
		// them again.
		_, pending, _ := s.queue.NextDue(context.Background())
		return len(got) == len(q) && !pending && done(got), fmt.Sprintf("%d received of %d queued", len(got), len(q))
	})
	q := s.queue.queued()
	for i := range got {
		if !bytes.Equal(got[i].raw, q[i]) {
			s.t.Fatalf("event %d arrived out of order or changed:\n got %s\nwant %s", i, got[i].raw, q[i])
		}
	}
	return got
}

// customer is a Parley user talking to the shop.
type customer struct {
	t      *testing.T
	c      *client.Client
	shop   types.AccountID
	cursor int64 // the shop's messages up to here were looked at
}

func newCustomer(t *testing.T, srv *testserver.Server, s *shop, name string) *customer {
	t.Helper()
	c := registerDevice(t, srv, t.TempDir(), name)
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	go func() { // the events are not used: history is polled
		for range c.Events() {
		}
	}()
	id, err := c.LookupPhone(ctxT(t), s.dev.Account().Phone)
	if err != nil {
		t.Fatal(err)
	}
	return &customer{t: t, c: c, shop: id}
}

func (cu *customer) waID() string { return strings.TrimPrefix(cu.c.Account().Phone, "+") }

// say sends a text and returns its ref.
func (cu *customer) say(text string) clientstore.MessageRef {
	cu.t.Helper()
	id, err := cu.c.SendText(ctxT(cu.t), cu.shop, text)
	if err != nil {
		cu.t.Fatal(err)
	}
	return clientstore.MessageRef{Sender: cu.c.Account().ID, ID: id}
}

// ref is the ref of a message Ana sent.
func (cu *customer) ref(id types.MessageID) clientstore.MessageRef {
	return clientstore.MessageRef{Sender: cu.c.Account().ID, ID: id}
}

// send sends a business message (a cart, a button tap) quoting quote.
func (cu *customer) send(typ, obj string, quote *client.Message) clientstore.MessageRef {
	cu.t.Helper()
	c := client.BusinessContent(typ, []byte(obj))
	if quote != nil {
		c.GetBusiness().Quote = &contentpb.Quote{Target: &contentpb.MessageRef{Author: quote.Ref.Sender[:], MessageId: quote.Ref.ID[:]}}
	}
	id, err := cu.c.Send(ctxT(cu.t), cu.shop, c)
	if err != nil {
		cu.t.Fatal(err)
	}
	return clientstore.MessageRef{Sender: cu.c.Account().ID, ID: id}
}

// tap presses a reply button of msg.
func (cu *customer) tap(msg client.Message, id, title string) clientstore.MessageRef {
	cu.t.Helper()
	b, _ := json.Marshal(map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": id, "title": title}})
	return cu.send("interactive", string(b), &msg)
}

// replies waits for the shop's messages after the cursor until their text
// holds every one of want, marks them read and returns them.
func (cu *customer) replies(want ...string) []client.Message {
	cu.t.Helper()
	var got []client.Message
	eventually(cu.t, fmt.Sprintf("replies with %q", want), func() (bool, string) {
		ms, err := cu.c.Messages(ctxT(cu.t), cu.shop, 0, 1000)
		if err != nil {
			return false, err.Error()
		}
		got = got[:0]
		var text []string
		for _, m := range ms {
			if !m.Outgoing && m.Seq > cu.cursor {
				got = append(got, m)
				text = append(text, m.Text)
			}
		}
		all := strings.Join(text, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				return false, all
			}
		}
		return true, ""
	})
	cu.cursor = got[len(got)-1].Seq
	// Ana has the chat open: what she sees is read.
	if err := cu.c.MarkRead(ctxT(cu.t), cu.shop); err != nil {
		cu.t.Fatal(err)
	}
	return got
}

// find returns the business message of interactive type typ among ms.
func find(ms []client.Message, typ string) (client.Message, map[string]any) {
	for _, m := range ms {
		if m.Business == nil || m.Business.Type != "interactive" {
			continue
		}
		var v map[string]any
		if json.Unmarshal(m.Business.Json, &v) == nil && v["type"] == typ {
			return m, v
		}
	}
	return client.Message{}, nil
}

// dig walks decoded JSON by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }
