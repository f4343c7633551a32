package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/testserver"
)

// startCtx runs a parley command line as p in the background until ctx
// ends, as a second terminal would until Ctrl-C.
func (p *person) startCtx(ctx context.Context, args ...string) *started {
	s := &started{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	e := &env{
		stdout:       s.stdout,
		stderr:       s.stderr,
		lookupEnv:    func(k string) (string, bool) { v, ok := p.env[k]; return v, ok },
		readFile:     func(string) ([]byte, error) { return nil, io.ErrUnexpectedEOF },
		root:         root,
		stdin:        strings.NewReader(""),
		argon2:       cheapArgon2,
		adjustClient: fastClient,
	}
	go func() { s.done <- e.main(ctx, args) }()
	return s
}

// failWith runs a command that must fail with code and stderr holding msg.
func (p *person) failWith(code int, msg string, args ...string) {
	p.t.Helper()
	got, out, errOut := p.run(args...)
	if got != code || !strings.Contains(errOut, msg) {
		p.t.Errorf("parley %s: exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stderr with %q", strings.Join(args, " "), got, code, out, errOut, msg)
	}
}

// TestBusinessCommands sets a bookstore up with the commands and checks
// what each prints and refuses.
func TestBusinessCommands(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	biz := newPerson(t)
	// Before registering there is no business.
	biz.failWith(exitFail, "register the business's number", "business", "catalog", "list")
	biz.register(srv, testserver.NewPhone())

	out := biz.must("business", "profile", "--name", "Livraria Sabiá", "--about", "Livros desde 1952",
		"--address", "Rua Augusta 1500, São Paulo", "--email", "oi@sabia.example", "--website", "https://sabia.example",
		"--vertical", "retail", "--timezone", "America/Sao_Paulo", "--hours", "mon-fri 09:00-12:00 13:00-18:00; sat 10:00-14:00",
		"--holiday", "2026-12-25=Natal")
	for _, want := range []string{"Name:      Livraria Sabiá", "Vertical:  RETAIL",
		"Hours:     mon 09:00-12:00 13:00-18:00; tue 09:00-12:00 13:00-18:00; wed 09:00-12:00 13:00-18:00; thu 09:00-12:00 13:00-18:00; fri 09:00-12:00 13:00-18:00; sat 10:00-14:00 (America/Sao_Paulo)",
		"Closed:    2026-12-25 Natal"} {
		if !strings.Contains(out, want) {
			t.Errorf("profile printed\n%s\nwithout %q", out, want)
		}
	}
	var prof struct {
		Profile struct{ Name, About string }
		Hours   struct {
			TimeZone string `json:"timezone"`
		}
	}
	if err := json.Unmarshal([]byte(biz.must("business", "profile", "--json")), &prof); err != nil || prof.Profile.About != "Livros desde 1952" || prof.Hours.TimeZone != "America/Sao_Paulo" {
		t.Errorf("profile --json: %+v %v", prof, err)
	}
	biz.failWith(exitUsage, "not a day", "business", "profile", "--hours", "someday 09:00-18:00")
	biz.failWith(exitUsage, "not a range", "business", "profile", "--hours", "mon 9-6")
	biz.failWith(exitFail, "IANA", "business", "profile", "--timezone", "Mars/Olympus")
	biz.failWith(exitFail, "email", "business", "profile", "--email", "not an address")

	out = biz.must("business", "settings", "--currency", "brl", "--country", "BR", "--language", "pt",
		"--pix-key", "pix@sabia.example", "--pix-city", "São Paulo", "--pickup", "--delivery", "--delivery-fee", "10.00", "--assistant")
	for _, want := range []string{"Currency:         BRL", "Pix:              pix@sabia.example (Livraria Sabiá, São Paulo)", "Delivery:         true (fee 10.00)", "Assistant:        true"} {
		if !strings.Contains(out, want) {
			t.Errorf("settings printed\n%s\nwithout %q", out, want)
		}
	}
	if !regexp.MustCompile(`Phone number id:\s+\d{15,16}\n`).MatchString(out) {
		t.Errorf("settings show no phone number id:\n%s", out)
	}
	biz.failWith(exitFail, "Pix", "business", "settings", "--pix-key", "not a key")
	biz.failWith(exitFail, "currency", "business", "settings", "--currency", "XYZ")

	out = biz.must("business", "catalog", "add", "--id", "dom-casmurro", "--name", "Dom Casmurro", "--brand", "Machado de Assis", "--price", "39.90", "--stock", "5")
	if out != "Added dom-casmurro: Dom Casmurro, 39.90 BRL, 5 in stock, in stock.\n" {
		t.Errorf("catalog add printed %q", out)
	}
	biz.must("business", "catalog", "add", "--id", "iracema", "--name", "Iracema", "--price", "25", "--stock", "0")
	biz.must("business", "catalog", "add", "--id", "e-book", "--name", "O Cortiço (e-book)", "--price", "9.99")
	biz.failWith(exitFail, "already has", "business", "catalog", "add", "--id", "iracema", "--name", "Iracema", "--price", "25")
	biz.failWith(exitFail, "price", "business", "catalog", "add", "--id", "x", "--name", "X", "--price", "1.999")
	biz.failWith(exitUsage, "give --id, --name and --price", "business", "catalog", "add", "--id", "x")
	if out := biz.must("business", "catalog", "update", "--id", "iracema", "--price", "27.50", "--sale-price", "22.00"); out != "Updated iracema: Iracema, 22.00 BRL, 0 in stock, out of stock.\n" {
		t.Errorf("catalog update printed %q", out)
	}
	if out := biz.must("business", "catalog", "stock", "--id", "iracema", "--add", "3"); out != "iracema: 22.00 BRL, 3 in stock, in stock.\n" {
		t.Errorf("catalog stock printed %q", out)
	}
	biz.failWith(exitFail, "inventory would become -1", "business", "catalog", "stock", "--id", "iracema", "--add", "-4")
	biz.failWith(exitFail, `no product "nope"`, "business", "catalog", "stock", "--id", "nope", "--set", "1")
	biz.failWith(exitUsage, "one of --set or --add", "business", "catalog", "stock", "--id", "iracema")
	out = biz.must("business", "catalog", "list")
	want := "ID            NAME                PRICE      STOCK      AVAILABILITY\n" +
		"dom-casmurro  Dom Casmurro        39.90 BRL  5          in stock\n" +
		"e-book        O Cortiço (e-book)  9.99 BRL   untracked  in stock\n" +
		"iracema       Iracema             22.00 BRL  3          in stock\n"
	if out != want {
		t.Errorf("catalog list printed\n%s\nwant\n%s", out, want)
	}
	if out := biz.must("business", "catalog", "list", "--search", "casmurro machado"); !strings.Contains(out, "dom-casmurro") || strings.Contains(out, "iracema") {
		t.Errorf("catalog search printed\n%s", out)
	}

	if out := biz.must("business", "faq", "add", "--question", "Do you deliver?", "--answer", "Yes, all over Brazil.", "--language", "en", "--keywords", "ship, post"); out != "Added FAQ 1.\n" {
		t.Errorf("faq add printed %q", out)
	}
	biz.must("business", "faq", "add", "--question", "Vocês entregam?", "--answer", "Sim, em todo o Brasil.", "--language", "pt")
	if out := biz.must("business", "faq", "list", "--language", "pt"); out != "2 [pt] Vocês entregam?\n    Sim, em todo o Brasil.\n" {
		t.Errorf("faq list printed %q", out)
	}
	biz.must("business", "faq", "remove", "2")
	biz.failWith(exitFail, "no FAQ entry 2", "business", "faq", "remove", "2")

	code, tok, errOut := biz.run("business", "token", "create", "--scopes", "messages,catalog", "--expires", "30d", "--label", "shop app")
	if code != exitOK || !regexp.MustCompile(`^EAAP[A-Za-z0-9_-]{40,}\n$`).MatchString(tok) || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("token create: %d %q %q", code, tok, errOut)
	}
	out = biz.must("business", "token", "list")
	m := regexp.MustCompile(`(?m)^([0-9a-f]{16})\s+shop app\s+messages,catalog\s+\d{4}-`).FindStringSubmatch(out)
	if m == nil || strings.Contains(out, strings.TrimSpace(tok)) {
		t.Fatalf("token list printed\n%s", out)
	}
	biz.failWith(exitUsage, `unknown scope "everything"`, "business", "token", "create", "--scopes", "everything")
	biz.must("business", "token", "revoke", m[1])
	biz.failWith(exitFail, "no token", "business", "token", "revoke", m[1])

	// The webhook's handshake must pass before it is kept.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("hub.verify_token") != "vt" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		io.WriteString(w, q.Get("hub.challenge"))
	}))
	defer hook.Close()
	biz.failWith(exitUsage, "PARLEY_APP_SECRET", "business", "webhook", "--url", hook.URL, "--verify-token", "vt")
	biz.env[envAppSecret] = "s3cret"
	biz.failWith(exitFail, "verification failed", "business", "webhook", "--url", hook.URL, "--verify-token", "wrong")
	if out := biz.must("business", "webhook"); out != "No webhook set.\n" {
		t.Errorf("webhook printed %q", out)
	}
	biz.must("business", "webhook", "--url", hook.URL+"/wh", "--verify-token", "vt")
	if out := biz.must("business", "webhook"); out != "Events go to "+hook.URL+"/wh.\n" {
		t.Errorf("webhook printed %q", out)
	}

	if out := biz.must("business", "orders", "list"); out != "REFERENCE  CUSTOMER  STATUS  PAYMENT  TOTAL  PLACED\n" {
		t.Errorf("orders list printed %q", out)
	}
	biz.failWith(exitFail, "no order NOPE", "business", "orders", "show", "NOPE")
	biz.failWith(exitFail, "start 'parley business serve' first", "business", "orders", "confirm", "NOPE")
}

// TestBusinessServe: serve runs the agent with its API on the address
// asked for, a token from 'business token create' works against it,
// 'orders confirm' reaches it, and an interrupt stops it cleanly.
func TestBusinessServe(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	biz := newPerson(t)
	phone := testserver.NewPhone()
	biz.register(srv, phone)
	biz.must("business", "profile", "--name", "Livraria Sabiá")
	tok := strings.TrimSpace(biz.must("business", "token", "create", "--scopes", "profile,messages"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := biz.startCtx(ctx, "business", "serve", "--listen", "127.0.0.1:0")
	m := s.waitOutput(t, regexp.MustCompile(`at http://(127\.0\.0\.1:\d+) \(waba_id (\d+), phone_number_id (\d+)\)`))
	req, _ := http.NewRequest(http.MethodGet, "http://"+m[1]+"/v23.0/"+m[3], nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pn map[string]any
	_ = json.NewDecoder(res.Body).Decode(&pn)
	res.Body.Close()
	if res.StatusCode != 200 || pn["id"] != m[3] || pn["verified_name"] != "Livraria Sabiá" || pn["display_phone_number"] != phone {
		t.Errorf("GET phone number: %d %v", res.StatusCode, pn)
	}
	// Another command finds the running agent.
	biz.failWith(exitFail, "no payment was asked for that order", "business", "orders", "confirm", "NOPE")

	cancel()
	if code := s.wait(t); code != exitOK {
		t.Errorf("serve exited %d\nstderr: %s", code, s.stderr)
	}
	if !strings.Contains(s.stdout.String(), "No webhook is set") {
		t.Errorf("serve printed %s", s.stdout)
	}
}
