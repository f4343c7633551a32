// Command bookstore runs a Parley business end to end on one machine: a
// Parley server, a bookstore (its profile, opening hours, books with stock
// and a FAQ) whose agent serves the WhatsApp-compatible Cloud API and lets
// the embedded assistant answer, and a customer who asks about the hours
// and a book, orders two copies and pays with Pix (in the sandbox).
//
// Every step is a `parley` command line, run in this process as the binary
// would run it, and printed with its output: the README shows how to type
// the same commands in terminals of your own.
//
//	go run ./examples/bookstore            # everything in a temporary directory
//	go run ./examples/bookstore -dir /tmp/bookstore -keep
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/cli"
)

func main() {
	dir := flag.String("dir", "", "keep the profiles and databases in this `directory` (default: a temporary one)")
	keep := flag.Bool("keep", false, "leave the server and the bookstore's agent running at the end, until Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *dir == "" {
		d, err := os.MkdirTemp("", "parley-bookstore-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	if _, err := Run(ctx, Options{Out: os.Stdout, Dir: *dir, Keep: *keep}); err != nil {
		fmt.Fprintln(os.Stderr, "bookstore:", err)
		os.Exit(1)
	}
}

// The two numbers of the story: the bookstore's and Ana's, a customer.
const (
	shopPhone     = "+551130000000"
	customerPhone = "+5511987650000"
)

// Result is what the story produced, for the test.
type Result struct {
	Reference string // the order
	PixCode   string // the code Ana pays with
	Output    string // everything printed
}

// Options say where the story is told.
type Options struct {
	Out  io.Writer // where the commands and their output are printed
	Dir  string    // the profiles and databases
	Keep bool      // leave the server and agent running at the end, until ctx ends
	// Argon2 are the profiles' passphrase costs (zero: the default);
	// tests lower them.
	Argon2 clientstore.Argon2Params
}

// story runs the commands and prints them.
type story struct {
	ctx context.Context
	out io.Writer
	dir string
	o   Options
}

// syncBuffer collects a background command's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// person is whose profile a command runs with.
type person struct {
	name    string
	environ map[string]string
}

func (s *story) person(name string) person {
	return person{name: name, environ: map[string]string{
		"PARLEY_PROFILE":    filepath.Join(s.dir, name),
		"PARLEY_PASSPHRASE": "correct horse battery staple " + name,
	}}
}

func (s *story) say(format string, args ...any) { fmt.Fprintf(s.out, "\n# "+format+"\n", args...) }

// parley runs a command line as p, prints it and its output, and returns
// the output; a failure is an error.
func (s *story) parley(p person, args ...string) (string, error) {
	var quoted []string
	for _, a := range args {
		if strings.ContainsAny(a, " ;'\"?!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted = append(quoted, a)
	}
	fmt.Fprintf(s.out, "[%s] $ parley %s\n", p.name, strings.Join(quoted, " "))
	var stdout, stderr bytes.Buffer
	code := cli.Run(s.ctx, cli.RunEnv{Stdout: &stdout, Stderr: &stderr, Environ: p.environ, Argon2: s.o.Argon2}, args...)
	if stdout.Len() > 0 {
		fmt.Fprintf(s.out, "%s", indent(stdout.String()))
	}
	if code != 0 {
		return stdout.String(), fmt.Errorf("parley %s: exit %d: %s", args[0], code, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}

// background runs a long-lived command (a server) until ctx ends.
func (s *story) background(ctx context.Context, p person, stdout, stderr io.Writer, args ...string) <-chan int {
	fmt.Fprintf(s.out, "[%s] $ parley %s &\n", p.name, strings.Join(args, " "))
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, cli.RunEnv{Stdout: stdout, Stderr: stderr, Environ: p.environ, Argon2: s.o.Argon2}, args...)
	}()
	return done
}

// freeAddr is a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitFor polls cond every 100 ms for up to 30 s.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within 30s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// Run tells the story and returns what it produced.
func Run(ctx context.Context, o Options) (Result, error) {
	var all bytes.Buffer
	s := &story{ctx: ctx, out: io.MultiWriter(o.Out, &all), dir: o.Dir, o: o}
	res, err := s.tell(o.Keep)
	res.Output = all.String()
	return res, err
}

func (s *story) tell(keep bool) (Result, error) {
	var res Result
	nobody := person{name: "server", environ: map[string]string{}}
	shop, ana := s.person("bookstore"), s.person("ana")

	// 1. A Parley server on loopback; registration codes go to its log.
	srvAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	srvCtx, stopServer := context.WithCancel(s.ctx)
	defer stopServer()
	srvLog := &syncBuffer{}
	s.say("A Parley server on %s; its log shows the registration codes (the development code sender).", srvAddr)
	served := s.background(srvCtx, nobody, io.Discard, srvLog, "serve", "--listen", srvAddr,
		"--store", filepath.Join(s.dir, "server.db"), "--log-level", "warn")
	server := "http://" + srvAddr
	if err := waitFor(s.ctx, "the server", func() bool {
		r, err := http.Get(server + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	}); err != nil {
		return res, errors.Join(err, fmt.Errorf("server log: %s", srvLog))
	}

	// 2. The bookstore and Ana register their numbers.
	for _, p := range []struct {
		who   person
		phone string
	}{{shop, shopPhone}, {ana, customerPhone}} {
		s.say("%s registers %s: the code comes from the server's log.", p.who.name, p.phone)
		if _, err := s.parley(p.who, "register", "--server", server, "--phone", p.phone); err != nil {
			return res, err
		}
		code, err := codeFor(s.ctx, srvLog, p.phone)
		if err != nil {
			return res, err
		}
		if _, err := s.parley(p.who, "register", "--server", server, "--phone", p.phone, "--code", code); err != nil {
			return res, err
		}
	}

	// 3. The bookstore sets up its shop.
	s.say("The bookstore's profile, opening hours (São Paulo time) and holiday.")
	steps := [][]string{
		{"business", "profile", "--name", "Livraria Sabiá", "--about", "Independent bookshop since 1952",
			"--address", "Rua Augusta 1500, São Paulo - SP", "--email", "contato@livrariasabia.example",
			"--website", "https://livrariasabia.example", "--vertical", "RETAIL",
			"--timezone", "America/Sao_Paulo", "--hours", "mon-fri 09:00-18:00; sat 10:00-14:00", "--holiday", "2026-12-25=Natal"},
		{"business", "settings", "--currency", "BRL", "--country", "BR", "--language", "pt",
			"--pix-key", "pix@livrariasabia.example", "--pix-city", "São Paulo", "--pickup", "--delivery", "--delivery-fee", "10.00", "--assistant"},
	}
	for _, b := range []struct {
		id, name, author, price, stock string
	}{
		{"dom-casmurro", "Dom Casmurro", "Machado de Assis", "39.90", "5"},
		{"memorias-postumas", "Memórias Póstumas de Brás Cubas", "Machado de Assis", "44.90", "2"},
		{"o-alquimista", "O Alquimista", "Paulo Coelho", "34.90", "12"},
		{"hora-da-estrela", "A Hora da Estrela", "Clarice Lispector", "29.90", "0"},
		{"grande-sertao", "Grande Sertão: Veredas", "João Guimarães Rosa", "79.90", "1"},
	} {
		steps = append(steps, []string{"business", "catalog", "add", "--id", b.id, "--name", b.name, "--brand", b.author, "--price", b.price, "--stock", b.stock})
	}
	steps = append(steps,
		[]string{"business", "faq", "add", "--language", "en", "--question", "Do you deliver? Where do you deliver to?",
			"--answer", "We deliver anywhere in Brazil by post, and within São Paulo by courier in 1 to 2 working days.", "--keywords", "ship,shipping,courier,post"},
		[]string{"business", "faq", "add", "--language", "pt", "--question", "Vocês fazem entrega?",
			"--answer", "Entregamos em todo o Brasil pelos Correios e, em São Paulo, por motoboy em 1 a 2 dias úteis.", "--keywords", "entrega,correios,motoboy"},
		[]string{"business", "catalog", "list"},
	)
	for _, st := range steps {
		if st[1] == "catalog" && st[2] == "add" && st[4] == "dom-casmurro" {
			s.say("Its books, with stock, and its FAQ.")
		}
		if _, err := s.parley(shop, st...); err != nil {
			return res, err
		}
	}
	s.say("A token for the bookstore's own apps (the Cloud API's bearer token; shown once).")
	token, err := s.parley(shop, "business", "token", "create", "--scopes", "messages,profile,catalog", "--label", "shop app")
	if err != nil {
		return res, err
	}
	token = strings.TrimSpace(token)

	// 4. The agent: the bookstore's device serving the API, with the assistant.
	apiAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	agentCtx, stopAgent := context.WithCancel(s.ctx)
	defer stopAgent()
	agentOut, agentLog := &syncBuffer{}, &syncBuffer{}
	s.say("The bookstore's agent: its device, the Cloud API on %s, the assistant.", apiAddr)
	agentDone := s.background(agentCtx, shop, agentOut, agentLog, "business", "serve", "--listen", apiAddr, "--log-level", "warn")
	m := regexp.MustCompile(`phone_number_id (\d+)`)
	if err := waitFor(s.ctx, "the agent", func() bool { return m.MatchString(agentOut.String()) }); err != nil {
		return res, errors.Join(err, fmt.Errorf("agent log: %s", agentLog))
	}
	fmt.Fprint(s.out, indent(agentOut.String()))
	phoneID := m.FindStringSubmatch(agentOut.String())[1]
	s.say("Any Cloud API client talks to it, e.g. curl (the token shortened here):")
	fmt.Fprintf(s.out, "[shop app] $ curl -H 'Authorization: Bearer %s…' http://%s/v23.0/%s\n", token[:12], apiAddr, phoneID)
	req, _ := http.NewRequestWithContext(s.ctx, http.MethodGet, "http://"+apiAddr+"/v23.0/"+phoneID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return res, err
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	fmt.Fprint(s.out, indent(string(body)))

	// 5. Ana chats with the bookstore.
	chat := func(text string, want ...string) (string, error) {
		if _, err := s.parley(ana, "send", "--to", shopPhone, "--text", text); err != nil {
			return "", err
		}
		return s.receive(ana, want...)
	}
	s.say("Ana asks the bookstore; its assistant answers (in her language, from the hours, catalog and FAQ).")
	if _, err := chat("Hi, are you open today?", "open"); err != nil {
		return res, err
	}
	if _, err := chat("Do you have Dom Casmurro in stock?", "5 copies of Dom Casmurro"); err != nil {
		return res, err
	}
	if _, err := chat("Do you deliver?", "We deliver anywhere in Brazil"); err != nil {
		return res, err
	}
	s.say("Ana orders two copies; nothing is ordered before she confirms.")
	if _, err := chat("Great, I'd like two copies please", "Added 2 × Dom Casmurro"); err != nil {
		return res, err
	}
	if _, err := chat("That's all, thanks", "delivered, or will you pick it up"); err != nil {
		return res, err
	}
	if _, err := chat("I'll pick it up at the store", "Please confirm your order"); err != nil {
		return res, err
	}
	out, err := chat("yes", "To pay with PIX", "6304")
	if err != nil {
		return res, err
	}
	if m := regexp.MustCompile(`Order ([A-Z0-9]+): review and pay`).FindStringSubmatch(out); m != nil {
		res.Reference = m[1]
	}
	if m := regexp.MustCompile(`(?m)(000201[^\n]*6304[0-9A-F]{4})$`).FindStringSubmatch(out); m != nil {
		res.PixCode = m[1]
	}
	if res.Reference == "" || res.PixCode == "" {
		return res, fmt.Errorf("no order reference or Pix code in the assistant's answer:\n%s", out)
	}

	// 6. The bank (here the sandbox) tells the bookstore Ana paid.
	s.say("The bookstore sees the order; the sandbox payment provider confirms Ana's Pix payment.")
	for _, st := range [][]string{{"business", "orders", "list"}, {"business", "orders", "confirm", res.Reference}} {
		if _, err := s.parley(shop, st...); err != nil {
			return res, err
		}
	}
	if _, err := s.receive(ana, "is paid and being prepared"); err != nil {
		return res, err
	}
	s.say("The order is paid and its books left the stock.")
	for _, st := range [][]string{{"business", "orders", "show", res.Reference}, {"business", "catalog", "list", "--search", "casmurro"}} {
		if _, err := s.parley(shop, st...); err != nil {
			return res, err
		}
	}

	if keep {
		s.say("The server (%s) and the agent (http://%s) keep running until Ctrl-C. Profiles: %s", server, apiAddr, s.dir)
		<-s.ctx.Done()
	}
	stopAgent()
	if code := <-agentDone; code != 0 {
		return res, fmt.Errorf("the agent exited %d: %s", code, agentLog)
	}
	stopServer()
	if code := <-served; code != 0 {
		return res, fmt.Errorf("the server exited %d", code)
	}
	s.say("Done.")
	return res, nil
}

// codeFor finds the registration code the server logged for phone.
func codeFor(ctx context.Context, log *syncBuffer, phone string) (string, error) {
	re := regexp.MustCompile(`phone_suffix=…` + phone[len(phone)-4:] + `\S* code=(\d{6})`)
	var code string
	err := waitFor(ctx, "the registration code in the server's log", func() bool {
		ms := re.FindAllStringSubmatch(log.String(), -1)
		if len(ms) > 0 {
			code = ms[len(ms)-1][1]
		}
		return code != ""
	})
	return code, err
}

// receive runs recv until what arrived holds every one of want, and
// returns it.
func (s *story) receive(p person, want ...string) (string, error) {
	var got strings.Builder
	err := waitFor(s.ctx, fmt.Sprintf("an answer with %q", want), func() bool {
		out, err := s.parleyQuiet(p, "recv", "--timeout", "300ms")
		if err != nil {
			return false
		}
		got.WriteString(out)
		for _, w := range want {
			if !strings.Contains(got.String(), w) {
				return false
			}
		}
		return true
	})
	fmt.Fprintf(s.out, "[%s] $ parley recv\n%s", p.name, indent(got.String()))
	return got.String(), err
}

// parleyQuiet runs a command without printing it (recv, polled).
func (s *story) parleyQuiet(p person, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	if code := cli.Run(s.ctx, cli.RunEnv{Stdout: &stdout, Stderr: &stderr, Environ: p.environ, Argon2: s.o.Argon2}, args...); code != 0 {
		return "", fmt.Errorf("parley %s: exit %d: %s", args[0], code, stderr.String())
	}
	return stdout.String(), nil
}
