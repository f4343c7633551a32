package cloudapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	. "github.com/parley-im/parley/internal/business/cloudapi"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/bizstore/bizstoretest"
	"github.com/parley-im/parley/internal/business/webhook"
)

// clientsDir is interop/cloudapi, the npm project with the real clients.
func clientsDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "interop", "cloudapi")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// unavailable skips, or fails under CI=true, where make test installs the
// clients first (as interop/oracle.go does for libsignal).
func unavailable(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the clients must be installed)", msg)
	}
	t.Skip(msg)
}

// TestRealClients runs @kapso/whatsapp-cloud-api and whatsapp-api-js,
// unchanged but for their base URL, against the handler, and both
// libraries' webhook verifiers against the webhook sender.
func TestRealClients(t *testing.T) {
	dir := clientsDir(t)
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH; install Node.js, then run npm ci in interop/cloudapi")
	}
	for _, pkg := range []string{"@kapso/whatsapp-cloud-api", "whatsapp-api-js"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			unavailable(t, "the Cloud API clients are not installed: run npm ci in interop/cloudapi")
		}
	}

	e := newEnvOn(t, sqliteBackend, func(c *Config) { c.Now = time.Now })
	e.open(testCustomer)
	e.h.RecordInbound(context.Background(), testPhone, testCustomer, time.Now())
	e.msgr.known["wamid.inbound1"] = true
	expired := e.issue(Token{WABAID: testWABA, Scopes: []Scope{ScopeAdmin}, Expires: time.Now().Add(-time.Minute)})
	const appSecret, verifyToken = "app-secret-ü", "verify-me"

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "clients.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE="+e.srv.URL, "TOKEN="+e.token, "EXPIRED_TOKEN="+expired, "PHONE="+testPhone,
		"WABA="+testWABA, "CATALOG="+testCatalog, "TO="+testCustomer, "INBOUND_ID=wamid.inbound1",
		"APP_SECRET="+appSecret, "VERIFY_TOKEN="+verifyToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("node: %v\n%s", err, stderr.String())
		}
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	}()
	lines := make(chan map[string]any)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("node wrote a line that is not JSON: %q", sc.Text())
				continue
			}
			select {
			case lines <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	next := func() map[string]any {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("node exited early\n%s", stderr.String())
			}
			return m
		case <-ctx.Done():
			t.Fatalf("timed out waiting for node\n%s", stderr.String())
		}
		return nil
	}
	hello := next()
	receiver, _ := hello["listening"].(string)
	if receiver == "" {
		t.Fatalf("first line %v", hello)
	}

	// Two senders, one per receiver: whatsapp-api-js's strict middleware
	// (on the business database's queue) and Kapso's verifySignature (in
	// memory).
	sq := bizstoretest.Open(t).WebhookQueue()
	senders := map[string]*webhook.Sender{
		"wajs":  webhook.New(webhook.Config{Queue: sq, MinBackoff: 50 * time.Millisecond}),
		"kapso": webhook.New(webhook.Config{Queue: webhook.NewMemQueue(), MinBackoff: 50 * time.Millisecond}),
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	for name, s := range senders {
		if err := s.Register(ctx, webhook.Target{URL: receiver + "/" + name, AppSecret: appSecret, VerifyToken: "wrong"}); err == nil {
			t.Fatalf("%s: registration with a wrong verify token passed", name)
		}
		if err := s.Register(ctx, webhook.Target{URL: receiver + "/" + name, AppSecret: appSecret, VerifyToken: verifyToken}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		go s.Run(runCtx)
	}
	meta := webhook.Metadata{DisplayPhoneNumber: testOwnWaID, PhoneNumberID: testPhone}
	contact := &webhook.Contact{Profile: webhook.Profile{Name: "José Ñúñez 🇧🇷"}, WaID: testCustomer}
	now := time.Now()
	const greeting = "Olá, tem pão? 🍞 — “Grande Sertão” 中文 \u2028 <b>&</b> \x7f"
	text, _ := webhook.NewMessage(testCustomer, "wamid.in-text", now, "text", webhook.Text{Body: greeting})
	order, _ := webhook.NewMessage(testCustomer, "wamid.in-order", now, "order", webhook.Order{CatalogID: testCatalog, Text: "Quero estes",
		ProductItems: []webhook.OrderItem{{ProductRetailerID: "LIVRO-1", Quantity: 2, ItemPrice: webhook.MajorUnits(4990, 2), Currency: "BRL"}}})
	reply, _ := webhook.NewMessage(testCustomer, "wamid.in-reply", now, "interactive", webhook.Interactive{Type: "button_reply", ButtonReply: &webhook.ButtonReply{ID: "yes", Title: "Sim ✅"}})
	reply.Context = &webhook.MessageContext{From: testOwnWaID, ID: "wamid.out-1"}
	statuses := []webhook.Status{
		{ID: "wamid.out-1", Status: "delivered", Timestamp: "1795521660", RecipientID: testCustomer, BizOpaqueCallbackData: "rastreio-ü",
			Pricing: &webhook.Pricing{Billable: false, PricingModel: "PMP", Category: "service", Type: "free_customer_service"}},
		{ID: "wamid.out-2", Status: "failed", Timestamp: "1795521661", RecipientID: testCustomer,
			Errors: []webhook.StatusError{(&Error{Spec: ErrReengagement, Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}).StatusError()}},
		{ID: "wamid.out-3", Type: "payment", Status: "captured", Timestamp: "1795521662", RecipientID: testCustomer,
			Payment: &webhook.Payment{ReferenceID: "pedido-123", Amount: webhook.Amount{Value: 10980, Offset: 100}, Currency: "BRL",
				Transaction: &webhook.Transaction{ID: "pix-e2e-1", Type: "pix", Status: "success", Method: &webhook.PaymentMethod{Type: "pix"}}}},
	}
	for _, s := range senders {
		for _, m := range []webhook.Message{text, order, reply} {
			if err := s.EnqueueMessage(ctx, testWABA, meta, contact, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range statuses {
			if err := s.EnqueueStatus(ctx, testWABA, meta, st); err != nil {
				t.Fatal(err)
			}
		}
	}

	checks := 0
	var wajsMsgs, wajsStatuses, kapsoEvents []map[string]any
	apiDone := false
	for !apiDone || len(wajsMsgs) < 3 || len(wajsStatuses) < 3 || len(kapsoEvents) < 6 {
		m := next()
		switch {
		case m["check"] != nil:
			checks++
			if m["ok"] != true {
				t.Errorf("%s: %v", m["check"], m["detail"])
			}
		case m["api_done"] != nil:
			apiDone = true
		case m["kind"] == "rejected":
			t.Fatalf("a receiver rejected a webhook: %v", m)
		case m["webhook"] == "wajs" && m["kind"] == "message":
			wajsMsgs = append(wajsMsgs, m)
		case m["webhook"] == "wajs" && m["kind"] == "status":
			wajsStatuses = append(wajsStatuses, m)
		case m["webhook"] == "kapso":
			kapsoEvents = append(kapsoEvents, m)
		}
	}
	if checks < 40 {
		t.Errorf("only %d API checks ran", checks)
	}
	// Each customer's events arrive in order, so the list is the queue's.
	if dig(wajsMsgs[0], "message", "text", "body") != greeting || wajsMsgs[0]["name"] != "José Ñúñez 🇧🇷" {
		t.Errorf("whatsapp-api-js decoded the text as %q from %q", dig(wajsMsgs[0], "message", "text", "body"), wajsMsgs[0]["name"])
	}
	if dig(wajsMsgs[1], "message", "order", "product_items", 0, "item_price") != 49.9 || wajsMsgs[1]["type"] != "order" {
		t.Errorf("order: %v", wajsMsgs[1]["message"])
	}
	if dig(wajsMsgs[2], "message", "interactive", "button_reply", "title") != "Sim ✅" {
		t.Errorf("button reply: %v", wajsMsgs[2]["message"])
	}
	if wajsStatuses[0]["status"] != "delivered" || dig(wajsStatuses[0], "pricing", "pricing_model") != "PMP" || wajsStatuses[0]["biz"] != "rastreio-ü" {
		t.Errorf("delivered status: %v", wajsStatuses[0])
	}
	if dig(wajsStatuses[1], "error", "code") != float64(131047) {
		t.Errorf("failed status: %v", wajsStatuses[1])
	}
	if wajsStatuses[2]["type"] != "payment" || dig(wajsStatuses[2], "payment", "transaction", "status") != "success" {
		t.Errorf("payment status: %v", wajsStatuses[2])
	}
	for _, ev := range kapsoEvents {
		if ev["ascii"] != true || ev["contentLength"] != ev["length"] || ev["phoneNumberId"] != testPhone {
			t.Errorf("kapso receiver saw %v", ev)
		}
	}
	if dig(kapsoEvents[0], "messages", 0, "text", "body") != greeting {
		t.Errorf("kapso normalized text %v", dig(kapsoEvents[0], "messages", 0))
	}

	// The receivers are strict: the same event as raw UTF-8, signed over
	// those bytes, is refused by whatsapp-api-js; a wrong signature by both.
	ev, _ := webhook.MessageEvent(testWABA, meta, contact, text)
	var decoded any
	json.Unmarshal(ev.Body, &decoded)
	rawUTF8, _ := json.Marshal(decoded)
	if bytes.Equal(rawUTF8, ev.Body) {
		t.Fatal("the raw form should differ from the escaped one")
	}
	post := func(path string, body []byte, sig string) int {
		req, _ := http.NewRequestWithContext(ctx, "POST", receiver+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := post("/wajs", rawUTF8, webhook.Signature(appSecret, rawUTF8)); s != 401 {
		t.Errorf("whatsapp-api-js accepted raw UTF-8: %d", s)
	}
	for _, path := range []string{"/wajs", "/kapso"} {
		if s := post(path, ev.Body, webhook.Signature("other secret", ev.Body)); s != 401 {
			t.Errorf("%s accepted a wrong signature: %d", path, s)
		}
	}
	for drained := 0; drained < 2; {
		if m := next(); m["kind"] == "rejected" {
			drained++
		}
	}

	// What the clients sent reached the Messenger in Meta's shapes, the
	// templates rendered.
	byType := map[string]int{}
	var rendered []RenderedTemplate
	e.msgr.mu.Lock()
	sent := append([]Outbound(nil), e.msgr.sent...)
	e.msgr.mu.Unlock()
	for _, o := range sent {
		byType[o.Type]++
		if o.Type == "template" {
			var rt RenderedTemplate
			if err := json.Unmarshal(o.Object, &rt); err != nil {
				t.Fatal(err)
			}
			rendered = append(rendered, rt)
		}
	}
	for _, typ := range []string{"text", "image", "document", "video", "audio", "sticker", "location", "contacts", "reaction", "interactive", "template"} {
		if byType[typ] == 0 {
			t.Errorf("no %s message reached the Messenger: %v", typ, byType)
		}
	}
	if len(rendered) != 3 {
		t.Fatalf("%d templates rendered, want 3", len(rendered))
	}
	if r := rendered[0]; r.Header.Text != "Pedido 123" || r.Body != "Olá Ana, seu pedido de R$ 99,80 sai em 24 de novembro." ||
		r.Footer != "Livraria Parley" || r.Buttons[0].URL != "https://example.com/track/BR123" || r.Buttons[1].Payload != "Parar avisos" {
		t.Errorf("rendered positional template %+v", r)
	}
	if rendered[1].Body != "Bem-vinda, Ana!" || rendered[1].Category != "MARKETING" {
		t.Errorf("rendered named template %+v", rendered[1])
	}
	if rendered[2].Body != "Olá Bruno, seu pedido de R$ 49,99 sai em amanhã." {
		t.Errorf("whatsapp-api-js template %+v", rendered[2])
	}
}
