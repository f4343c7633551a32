package cloudapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/webhook"
)

// fakeCatalog and fakeProfiles stand in for internal/business/commerce,
// which is not on main yet; the agent wires the real ones, and these fakes
// should then give way to it in these tests.
type fakeCatalog struct {
	mu       sync.Mutex
	products map[string]Product
}

func newFakeCatalog() *fakeCatalog { return &fakeCatalog{products: map[string]Product{}} }

func (c *fakeCatalog) Products(_ context.Context, catalogID string) ([]Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Product
	for _, p := range c.products {
		if p.CatalogID == catalogID {
			out = append(out, p)
		}
	}
	sortProducts(out)
	return out, nil
}

func sortProducts(ps []Product) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].RetailerID < ps[j-1].RetailerID; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func (c *fakeCatalog) CreateProduct(_ context.Context, catalogID string, p Product) (Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.products {
		if x.CatalogID == catalogID && x.RetailerID == p.RetailerID {
			return Product{}, ErrExists
		}
	}
	p.ID, p.CatalogID = NewID(), catalogID
	if p.Availability == "" {
		p.Availability = "in stock"
		if p.Inventory != nil && *p.Inventory == 0 {
			p.Availability = "out of stock"
		}
	}
	c.products[p.ID] = p
	return p, nil
}

func (c *fakeCatalog) Product(_ context.Context, id string) (Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[id]
	if !ok {
		return Product{}, ErrNotFound
	}
	return p, nil
}

func (c *fakeCatalog) ProductByRetailerID(_ context.Context, catalogID, rid string) (Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.products {
		if p.CatalogID == catalogID && p.RetailerID == rid {
			return p, nil
		}
	}
	return Product{}, ErrNotFound
}

func (c *fakeCatalog) UpdateProduct(_ context.Context, id string, u ProductUpdate) (Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[id]
	if !ok {
		return Product{}, ErrNotFound
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Name, u.Name)
	set(&p.Description, u.Description)
	set(&p.Availability, u.Availability)
	set(&p.Currency, u.Currency)
	if u.Price != nil {
		p.Price = *u.Price
	}
	if u.Inventory != nil {
		n := *u.Inventory
		p.Inventory = &n
	}
	c.products[id] = p
	return p, nil
}

func (c *fakeCatalog) DeleteProduct(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.products[id]; !ok {
		return ErrNotFound
	}
	delete(c.products, id)
	return nil
}

type fakeProfiles struct {
	mu sync.Mutex
	p  map[string]Profile
}

func (f *fakeProfiles) Profile(_ context.Context, id string) (Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.p[id]
	if !ok {
		return Profile{}, ErrNotFound
	}
	return p, nil
}

func (f *fakeProfiles) UpdateProfile(_ context.Context, id string, u ProfileUpdate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.p[id]
	for _, x := range []struct{ dst, src *string }{{&p.About, u.About}, {&p.Address, u.Address},
		{&p.Description, u.Description}, {&p.Email, u.Email}, {&p.Vertical, u.Vertical}, {&p.ProfilePictureURL, u.ProfilePictureURL}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if u.Websites != nil {
		p.Websites = *u.Websites
	}
	f.p[id] = p
	return nil
}

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
	t         testing.TB
	h         *Handler
	srv       *httptest.Server
	dir       *MemDirectory
	tokens    *MemTokens
	token     string // admin
	msgr      *recMessenger
	media     *MemMedia
	templates *MemTemplates
	conv      *MemConversations
	catalog   *fakeCatalog
	profiles  *fakeProfiles
	queue     *webhook.MemQueue
	sender    *webhook.Sender
	clock     *clock
}

func newEnv(t testing.TB, tweak func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: NewMemDirectory(), tokens: NewMemTokens(), msgr: &recMessenger{known: map[string]bool{}, noRecip: map[string]bool{}},
		media: NewMemMedia(), templates: NewMemTemplates(), conv: NewMemConversations(), catalog: newFakeCatalog(),
		profiles: &fakeProfiles{p: map[string]Profile{}}, queue: webhook.NewMemQueue(),
		clock: &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}}
	e.sender = webhook.New(webhook.Config{Queue: e.queue, Now: e.clock.now})
	e.dir.Add(Business{ID: testWABA, Name: "Livraria Parley", Currency: "BRL", CatalogIDs: []string{testCatalog}, Tier: Tier250},
		PhoneNumber{ID: testPhone, DisplayPhoneNumber: "+55 11 90000-0000", WaID: testOwnWaID, VerifiedName: "Livraria Parley"})
	e.dir.Add(Business{ID: otherWABA, Name: "Other"}, PhoneNumber{ID: otherPhone, WaID: "5511911111111"})
	e.token = e.tokens.Issue(Token{WABAID: testWABA, Scopes: []Scope{ScopeAdmin}})
	cfg := Config{Directory: e.dir, Tokens: e.tokens, Messenger: e.msgr, Media: e.media, Templates: e.templates,
		Conversations: e.conv, Catalog: e.catalog, Profiles: e.profiles, Events: e.sender, Now: e.clock.now,
		PairBurst: 1000}
	if tweak != nil {
		tweak(&cfg)
	}
	e.h = New(cfg)
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
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
