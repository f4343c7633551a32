package bizstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/payment/sandbox"
	"github.com/parley-im/parley/internal/business/webhook"
	"github.com/parley-im/parley/internal/business/webhook/webhooktest"
)

var t0 = time.Date(2031, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func openAt(t *testing.T, path string) *bizstore.Store {
	t.Helper()
	st, err := bizstore.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func blob(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// TestEverythingSurvivesARestart writes one of everything the agent keeps,
// closes the database as a stopping agent does, reopens it and finds it all.
func TestEverythingSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profile", "business.db")
	ctx := t.Context()
	st := openAt(t, path)

	// Directory.
	cat, err := commerce.NewCatalogs(st, nil).CreateCatalog(ctx, "Livros")
	must(t, err)
	waba, err := st.NewObjectID(ctx, bizstore.KindBusiness)
	must(t, err)
	phone, err := st.NewObjectID(ctx, bizstore.KindPhoneNumber)
	must(t, err)
	biz := cloudapi.Business{ID: waba, Name: "Livraria Parley", Currency: "BRL", TimezoneID: "America/Sao_Paulo", Tier: cloudapi.Tier2K,
		CatalogIDs: []string{cat.ID}}
	number := cloudapi.PhoneNumber{ID: phone, DisplayPhoneNumber: "+55 11 90000-0000", WaID: "5511900000000", VerifiedName: "Livraria Parley",
		Commerce: cloudapi.CommerceSettings{CartEnabled: true}}
	must(t, st.PutBusiness(ctx, biz, number))

	// Tokens: one that works, one that expired, one revoked.
	live, _, err := st.IssueToken(ctx, cloudapi.Token{WABAID: waba, Scopes: []cloudapi.Scope{cloudapi.ScopeMessages, cloudapi.ScopeMedia}}, "integração")
	must(t, err)
	expired, _, err := st.IssueToken(ctx, cloudapi.Token{WABAID: waba, Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}, Expires: t0}, "old")
	must(t, err)
	revoked, info, err := st.IssueToken(ctx, cloudapi.Token{WABAID: waba, Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}}, "gone")
	must(t, err)
	must(t, st.RevokeToken(ctx, info.ID))

	// Templates.
	tpl := cloudapi.Template{ID: "7000000000000001", WABAID: waba, Name: "pedido_pronto", Language: "pt_BR", Category: "UTILITY",
		Status: "APPROVED", Components: json.RawMessage(`[{"type":"BODY","text":"Seu pedido {{1}} está pronto"}]`), Created: t0}
	must(t, st.CreateTemplate(ctx, tpl))

	// Media: one kept in the database, one on disk.
	small, large := blob(2000), blob(bizstore.InlineMediaMax+1)
	for id, data := range map[string][]byte{"7000000000000011": small, "7000000000000012": large} {
		must(t, st.PutMedia(ctx, cloudapi.Media{ID: id, PhoneNumberID: phone, MIMEType: "application/pdf", Filename: id + ".pdf", Created: t0}, bytes.NewReader(data)))
		must(t, st.PutMedia(ctx, cloudapi.Media{ID: id, PhoneNumberID: phone, MIMEType: "application/pdf", Filename: id + ".pdf", Created: t0,
			SHA256: "00", FileSize: int64(len(data))}, nil))
	}

	// Conversations.
	must(t, st.RecordInbound(ctx, phone, "5511987654321", t0))
	must(t, st.SetConsent(ctx, phone, "5511987654321", cloudapi.Consent{OptedIn: true, Updated: t0}))
	must(t, st.RecordReached(ctx, waba, "5511987654321", t0))
	if _, err := st.ClaimReference(ctx, waba, "pedido-1", "5511987654321"); err != nil {
		t.Fatal(err)
	}

	// Webhook events waiting for delivery.
	q := st.WebhookQueue()
	events := []webhook.Event{webhooktest.Message(t, "5511987654321", "m1", "olá"), webhooktest.Message(t, "5511987654321", "m2", "tchau")}
	for _, ev := range events {
		if added, err := q.Add(ctx, ev, t0); err != nil || !added {
			t.Fatalf("queue %s: %v %v", ev.ID, added, err)
		}
	}

	// A charge, through the sandbox provider.
	psp, err := sandbox.New(sandbox.Config{Store: st, Pix: &sandbox.PixAccount{Key: "livraria@example.com", MerchantName: "Livraria Parley", MerchantCity: "São Paulo"},
		Now: func() time.Time { return t0 }})
	must(t, err)
	charge, err := psp.CreateCharge(ctx, payment.ChargeRequest{Reference: "pedido-1", Amount: payment.Money{Minor: 9980, Currency: payment.BRL}})
	must(t, err)

	must(t, st.Close())

	st = openAt(t, path)
	defer st.Close()

	if got, err := st.Business(ctx, waba); err != nil || got.Name != biz.Name || got.Tier != biz.Tier ||
		!slices.Equal(got.PhoneNumberIDs, []string{phone}) || !slices.Equal(got.CatalogIDs, []string{cat.ID}) {
		t.Errorf("business after restart: %+v %v", got, err)
	}
	if got, err := st.PhoneNumber(ctx, phone); err != nil || got.WABAID != waba || got.Commerce != number.Commerce || got.WaID != number.WaID {
		t.Errorf("number after restart: %+v %v", got, err)
	}
	if g, err := st.Token(ctx, cloudapi.HashToken(live)); err != nil || g.WABAID != waba || len(g.Scopes) != 2 {
		t.Errorf("token after restart: %+v %v", g, err)
	}
	if g, err := st.Token(ctx, cloudapi.HashToken(expired)); err != nil || !g.Expires.Equal(t0) {
		t.Errorf("expired token after restart: %+v %v", g, err)
	}
	if _, err := st.Token(ctx, cloudapi.HashToken(revoked)); !errors.Is(err, cloudapi.ErrNotFound) {
		t.Errorf("revoked token after restart: %v", err)
	}
	if list, err := st.Tokens(ctx); err != nil || len(list) != 2 || list[0].Label != "integração" {
		t.Errorf("token list after restart: %+v %v", list, err)
	}
	if got, err := st.Template(ctx, tpl.ID); err != nil || !bytes.Equal(got.Components, tpl.Components) || got.Status != "APPROVED" {
		t.Errorf("template after restart: %+v %v", got, err)
	}
	for id, data := range map[string][]byte{"7000000000000011": small, "7000000000000012": large} {
		m, err := st.Media(ctx, id)
		if err != nil || m.FileSize != int64(len(data)) || m.Filename != id+".pdf" {
			t.Errorf("media %s after restart: %+v %v", id, m, err)
			continue
		}
		rc, err := st.OpenMedia(ctx, id)
		must(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, data) {
			t.Errorf("media %s after restart: %d bytes differ", id, len(b))
		}
	}
	if at, _ := st.LastInbound(ctx, phone, "5511987654321"); !at.Equal(t0) {
		t.Errorf("window after restart: %v", at)
	}
	if c, _ := st.Consent(ctx, phone, "5511987654321"); !c.OptedIn {
		t.Errorf("consent after restart: %+v", c)
	}
	if n, inc, _ := st.Reached(ctx, waba, "5511987654321", t0); n != 1 || !inc {
		t.Errorf("reached after restart: %d %v", n, inc)
	}
	if owner, _ := st.Reference(ctx, waba, "pedido-1"); owner != "5511987654321" {
		t.Errorf("reference after restart: %q", owner)
	}
	claimed, err := st.WebhookQueue().Claim(ctx, t0, 10, t0.Add(time.Minute))
	if err != nil || len(claimed) != 1 || claimed[0].ID != events[0].ID || !bytes.Equal(claimed[0].Body, events[0].Body) {
		t.Errorf("queue after restart: %+v %v", claimed, err)
	}
	// The provider, restarted, knows the charge and settles it once.
	psp, err = sandbox.New(sandbox.Config{Store: st, Pix: &sandbox.PixAccount{Key: "livraria@example.com", MerchantName: "Livraria Parley", MerchantCity: "São Paulo"}})
	must(t, err)
	if got, err := psp.CreateCharge(ctx, payment.ChargeRequest{Reference: "pedido-1", Amount: payment.Money{Minor: 9980, Currency: payment.BRL}}); err != nil || got.ID != charge.ID || got.Pix.Code != charge.Pix.Code {
		t.Errorf("the same order's charge after restart: %+v %v (want %s)", got, err, charge.ID)
	}
	if got, changed, err := st.SettleCharge(ctx, charge.ID, payment.StatusCaptured, "", t0); err != nil || !changed || got.Status != payment.StatusCaptured {
		t.Errorf("settling after restart: %+v %v %v", got, changed, err)
	}
}

// TestOrderAndWebhookCommitTogether: a subscriber queues the order_status
// webhook with the ctx of the order change; when the change fails after
// that, the event is gone with it, and when it commits, so does the event.
func TestOrderAndWebhookCommitTogether(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), "business.db"))
	defer st.Close()
	ctx := t.Context()
	cats := commerce.NewCatalogs(st, nil)
	cat, err := cats.CreateCatalog(ctx, "Livros")
	must(t, err)
	inv := int64(1)
	if _, err := cats.CreateProduct(ctx, cat.ID, commerce.Product{RetailerID: "L1", Name: "Dom Casmurro", Price: 4990, Currency: "BRL", Inventory: &inv}); err != nil {
		t.Fatal(err)
	}
	sender := webhook.New(webhook.Config{Queue: st.WebhookQueue()})
	refuse := errors.New("the next subscriber refuses")
	var failNext bool
	orders := commerce.NewOrders(st, &commerce.OrderOptions{Subscribers: []commerce.Subscriber{
		commerce.SubscriberFunc(func(ctx context.Context, ev commerce.OrderEvent) error {
			st := webhook.Status{ID: "order/" + ev.Order.ReferenceID, Status: string(ev.Order.Status), RecipientID: ev.Order.Customer, Timestamp: "1"}
			return sender.EnqueueStatus(ctx, "1", webhook.Metadata{PhoneNumberID: "2"}, st)
		}),
		commerce.SubscriberFunc(func(ctx context.Context, ev commerce.OrderEvent) error {
			if failNext {
				return refuse
			}
			return nil
		}),
	}})
	cart := commerce.Cart{CatalogID: cat.ID, Items: []commerce.CartItem{{RetailerID: "L1", Quantity: 1, Price: commerce.Money{Amount: 4990, Currency: "BRL"}}}}
	failNext = true
	if _, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "5511987654321", Cart: cart, ReferenceID: "pedido-1"}); !errors.Is(err, refuse) {
		t.Fatalf("Place with a refusing subscriber: %v", err)
	}
	if n, _ := st.WebhookQueue().Pending(ctx); n != 0 {
		t.Fatalf("the event of an order that was not placed is queued (%d pending)", n)
	}
	if _, err := orders.Order(ctx, "pedido-1"); !errors.Is(err, commerce.ErrNotFound) {
		t.Fatalf("the order was kept: %v", err)
	}
	failNext = false
	if _, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "5511987654321", Cart: cart, ReferenceID: "pedido-1"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.WebhookQueue().Claim(ctx, time.Now().Add(time.Second), 10, time.Now().Add(time.Minute))
	if err != nil || len(claimed) != 1 || !strings.Contains(string(claimed[0].Body), `"pending"`) {
		t.Fatalf("queued after the order was placed: %+v %v", claimed, err)
	}
	// Stock was reserved by the committed order only.
	if _, err := orders.Place(ctx, commerce.PlaceRequest{Customer: "5511900000001", Cart: cart}); !errors.Is(err, commerce.ErrUnavailable) {
		t.Fatalf("a second order for the last copy: %v", err)
	}
}

// oldQueueSchema is what webhook.SQLiteQueue, the sender's queue in a file
// of its own before the tables were bizstore's migration 003, created.
const oldQueueSchema = `
CREATE TABLE IF NOT EXISTS webhook_events (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	customer     TEXT NOT NULL,
	body         BLOB NOT NULL,
	enqueued     INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_events_customer ON webhook_events (customer, seq);
CREATE TABLE IF NOT EXISTS webhook_removed (
	id      TEXT PRIMARY KEY,
	removed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_removed_at ON webhook_removed (removed);
`

// TestQueueOfWebhookSQLiteQueueIsKept: a database whose queue
// webhook.SQLiteQueue created before the tables were a migration keeps its
// events when the store takes it over.
func TestQueueOfWebhookSQLiteQueueIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "business.db")
	old, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	must(t, err)
	_, err = old.ExecContext(t.Context(), oldQueueSchema)
	must(t, err)
	ev := webhooktest.Message(t, "5511987654321", "before", "antes da migração")
	// As SQLiteQueue.Add queued it.
	_, err = old.ExecContext(t.Context(), `INSERT INTO webhook_events (id, customer, body, enqueued, next_attempt) VALUES (?, ?, ?, ?, ?)`,
		ev.ID, ev.Customer, ev.Body, t0.UnixMilli(), t0.UnixMilli())
	must(t, err)
	must(t, old.Close())
	st := openAt(t, path)
	defer st.Close()
	claimed, err := st.WebhookQueue().Claim(t.Context(), t0, 10, t0.Add(time.Minute))
	if err != nil || len(claimed) != 1 || !bytes.Equal(claimed[0].Body, ev.Body) {
		t.Fatalf("after the store took the file over: %+v %v", claimed, err)
	}
}

// TestTokensAreNotInTheFile: only hashes reach the disk.
func TestTokensAreNotInTheFile(t *testing.T) {
	dir := t.TempDir()
	st := openAt(t, filepath.Join(dir, "business.db"))
	var tokens []string
	for range 5 {
		tok, _, err := st.IssueToken(t.Context(), cloudapi.Token{WABAID: "1", Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}}, "t")
		must(t, err)
		tokens = append(tokens, tok)
	}
	must(t, st.Close())
	files, _ := filepath.Glob(filepath.Join(dir, "business.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		for _, tok := range tokens {
			if bytes.Contains(b, []byte(tok)) || bytes.Contains(b, []byte(tok[4:])) {
				t.Fatalf("%s holds an access token in the clear", filepath.Base(f))
			}
		}
	}
	// Issuing refuses what would grant nothing.
	for _, g := range []cloudapi.Token{{WABAID: "1"}, {Scopes: []cloudapi.Scope{cloudapi.ScopeAdmin}}, {WABAID: "1", Scopes: []cloudapi.Scope{"mesages"}}} {
		st := openAt(t, filepath.Join(dir, "business.db"))
		if _, _, err := st.IssueToken(t.Context(), g, ""); err == nil {
			t.Errorf("issued a token for %+v", g)
		}
		st.Close()
	}
}
