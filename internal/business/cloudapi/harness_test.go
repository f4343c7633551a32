package cloudapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	. "github.com/parley-im/parley/internal/business/cloudapi"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/bizstore/bizstoretest"
	"github.com/parley-im/parley/internal/business/cloudapi/cloudapitest"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/commerceapi"
	"github.com/parley-im/parley/internal/business/webhook"
)

// recMessenger is the Messenger side of the tests: it records what the
// handler hands over, as the agent would receive it.
type recMessenger struct {
	mu      sync.Mutex
	sent    []Outbound
	read    []string
	typing  []bool
	known   map[string]bool // inbound message ids MarkRead accepts
	noRecip map[string]bool // wa_ids that are not reachable
	n       int
}

func (m *recMessenger) Send(_ context.Context, phone string, o Outbound) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noRecip[o.To] {
		return "", ErrNoRecipient
	}
	m.n++
	m.sent = append(m.sent, o)
	id := make([]byte, 32)
	copy(id, fmt.Sprintf("%s/%d", phone, m.n))
	return "wamid." + base64.RawURLEncoding.EncodeToString(id), nil
}

func (m *recMessenger) MarkRead(_ context.Context, phone, id string, typing bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.known[id] {
		return ErrNoMessage
	}
	m.read = append(m.read, id)
	m.typing = append(m.typing, typing)
	return nil
}

func (m *recMessenger) last() Outbound {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 {
		return Outbound{}
	}
	return m.sent[len(m.sent)-1]
}

func (m *recMessenger) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// clock is a settable time for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const (
	testWABA     = "1000000000000001"
	testPhone    = "1000000000000002"
	testCatalog  = "1000000000000003"
	testOwnWaID  = "5511900000000"
	testCustomer = "5511987654321"
	otherWABA    = "1000000000000009"
	otherPhone   = "1000000000000010"
)

type env struct {
	t        testing.TB
	h        *Handler
	srv      *httptest.Server
	stores   cloudapitest.Stores
	token    string // admin
	msgr     *recMessenger
	conv     Conversations
	catalog  Catalog
	profiles Profiles
	queue    webhook.Queue
	sender   *webhook.Sender
	clock    *clock
}

// backend is one implementation of the handler's stores: "memory" is
// package cloudapi's, "sqlite" the business agent's database. Catalog and
// profile are commerce's, over the business database, in both.
type backend struct {
	name string
	open func(t testing.TB, c *clock) (cloudapitest.Stores, webhook.Queue, Catalog, Profiles)
}

// commerceOn makes testCatalog in st and serves st's catalog and profile
// through commerce, as the agent does.
func commerceOn(t testing.TB, st *bizstore.Store, c *clock) (Catalog, Profiles) {
	if _, err := st.Catalog(context.Background(), testCatalog); err != nil {
		if err := st.InsertCatalog(context.Background(), commerce.Catalog{ID: testCatalog, Name: "Livros"}); err != nil {
			t.Fatal(err)
		}
	}
	return commerceapi.NewCatalog(commerce.NewCatalogs(st, &commerce.CatalogOptions{Now: c.now})),
		commerceapi.NewProfiles(commerce.NewBusiness(st), st)
}

var (
	memoryBackend = backend{"memory", func(t testing.TB, c *clock) (cloudapitest.Stores, webhook.Queue, Catalog, Profiles) {
		cat, prof := commerceOn(t, bizstoretest.Open(t), c)
		return cloudapitest.Mem(), webhook.NewMemQueue(), cat, prof
	}}
	sqliteBackend = backend{"sqlite", func(t testing.TB, c *clock) (cloudapitest.Stores, webhook.Queue, Catalog, Profiles) {
		st := bizstoretest.Open(t)
		stores := bizstoretest.Stores(t, st, testCatalog)
		cat, prof := commerceOn(t, st, c)
		return stores, st.WebhookQueue(), cat, prof
	}}
	backends = []backend{memoryBackend, sqliteBackend}
)

// envMaker makes an env on one backend.
type envMaker func(t testing.TB, tweak func(*Config)) *env

// onBackends runs test once per backend; test's newEnv makes envs on it.
func onBackends(t *testing.T, test func(t *testing.T, newEnv envMaker)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			test(t, func(t testing.TB, tweak func(*Config)) *env { return newEnvOn(t, be, tweak) })
		})
	}
}

// newEnv makes an env on the memory backend.
func newEnv(t testing.TB, tweak func(*Config)) *env { return newEnvOn(t, memoryBackend, tweak) }

func newEnvOn(t testing.TB, be backend, tweak func(*Config)) *env {
	t.Helper()
	e := &env{t: t, msgr: &recMessenger{known: map[string]bool{}, noRecip: map[string]bool{}},
		clock: &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}}
	e.stores, e.queue, e.catalog, e.profiles = be.open(t, e.clock)
	e.conv = e.stores.Conversations
	e.sender = webhook.New(webhook.Config{Queue: e.queue, Now: e.clock.now})
	ctx := context.Background()
	if err := e.stores.AddBusiness(ctx, Business{ID: testWABA, Name: "Livraria Parley", Currency: "BRL", CatalogIDs: []string{testCatalog}, Tier: Tier250},
		PhoneNumber{ID: testPhone, DisplayPhoneNumber: "+55 11 90000-0000", WaID: testOwnWaID, VerifiedName: "Livraria Parley"}); err != nil {
		t.Fatal(err)
	}
	if err := e.stores.AddBusiness(ctx, Business{ID: otherWABA, Name: "Other"}, PhoneNumber{ID: otherPhone, WaID: "5511911111111"}); err != nil {
		t.Fatal(err)
	}
	e.token = e.issue(Token{WABAID: testWABA, Scopes: []Scope{ScopeAdmin}})
	cfg := Config{Directory: e.stores.Directory, Tokens: e.stores.Tokens, Messenger: e.msgr, Media: e.stores.Media,
		Templates: e.stores.Templates, Conversations: e.conv, Catalog: e.catalog, Profiles: e.profiles, Events: e.sender,
		Now: e.clock.now, PairBurst: 1000}
	if tweak != nil {
		tweak(&cfg)
	}
	e.h = New(cfg)
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// issue makes a token with grant g.
func (e *env) issue(g Token) string {
	e.t.Helper()
	tok, err := e.stores.IssueToken(context.Background(), g)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) setTier(wabaID string, t Tier) {
	e.t.Helper()
	if err := e.stores.SetTier(context.Background(), wabaID, t); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) setTemplateStatus(id, status string) {
	e.t.Helper()
	if err := e.stores.SetTemplateStatus(context.Background(), id, status); err != nil {
		e.t.Fatal(err)
	}
}

// open opens the customer's service window now.
func (e *env) open(wa string) {
	e.t.Helper()
	if err := e.h.RecordInbound(context.Background(), testPhone, wa, e.clock.now()); err != nil {
		e.t.Fatal(err)
	}
}

type resp struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header
}

func (r resp) code() int {
	if e, ok := r.body["error"].(map[string]any); ok {
		n, _ := e["code"].(float64)
		return int(n)
	}
	return 0
}

func (r resp) subcode() int {
	if e, ok := r.body["error"].(map[string]any); ok {
		n, _ := e["error_subcode"].(float64)
		return int(n)
	}
	return 0
}

func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, raw: raw, header: res.Header}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *env) send(msg string) resp {
	e.t.Helper()
	return e.do("POST", "/v23.0/"+testPhone+"/messages", e.token, msg)
}

// queued returns the events waiting in the webhook queue, oldest first.
func (e *env) queued() []map[string]any {
	e.t.Helper()
	evs, err := e.queue.Claim(context.Background(), e.clock.now().Add(time.Hour), 1000, e.clock.now().Add(time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		var m map[string]any
		if err := json.Unmarshal(ev.Body, &m); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
		_ = e.queue.Remove(context.Background(), ev.ID, e.clock.now())
	}
	return out
}

// dig walks a decoded JSON value by keys and indexes.
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
