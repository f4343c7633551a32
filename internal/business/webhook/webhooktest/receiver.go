package webhooktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/business/webhook"
)

// Receiver is a webhook endpoint: it answers the verification handshake
// (verify token "vt"), checks every POST's signature, fails the first
// FailN[id] POSTs of an event and records the rest in arrival order.
type Receiver struct {
	URL    string
	Secret string

	t      testing.TB
	mu     sync.Mutex
	failN  map[string]int      // message id → failures left
	got    []string            // message ids delivered, in arrival order
	bodies map[string][][]byte // every POST of an event, failed ones included
	notify chan struct{}
}

// NewReceiver starts a receiver that checks signatures made with secret;
// it stops when t ends.
func NewReceiver(t testing.TB, secret string) *Receiver {
	r := &Receiver{Secret: secret, t: t, failN: map[string]int{}, bodies: map[string][][]byte{}, notify: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Target is the receiver as a sender's target.
func (r *Receiver) Target() webhook.Target {
	return webhook.Target{URL: r.URL, AppSecret: r.Secret, VerifyToken: "vt"}
}

// Fail makes the next n POSTs of the event of message id fail with 500.
func (r *Receiver) Fail(id string, n int) {
	r.mu.Lock()
	r.failN[id] = n
	r.mu.Unlock()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet {
		q := req.URL.Query()
		if q.Get("hub.mode") == "subscribe" && q.Get("hub.verify_token") == "vt" {
			_, _ = io.WriteString(w, q.Get("hub.challenge"))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(req.Body)
	if !webhook.VerifySignature(r.Secret, body, req.Header.Get("X-Hub-Signature-256")) {
		r.t.Errorf("webhooktest: a POST with a bad signature")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := MessageID(body)
	r.mu.Lock()
	r.bodies[id] = append(r.bodies[id], body)
	fail := r.failN[id] > 0
	if fail {
		r.failN[id]--
	} else {
		r.got = append(r.got, id)
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// MessageID is the id of the message in a message event's body ("" for
// other events).
func MessageID(body []byte) string {
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
	if json.Unmarshal(body, &p) != nil || len(p.Entry) == 0 || len(p.Entry[0].Changes) == 0 ||
		len(p.Entry[0].Changes[0].Value.Messages) == 0 {
		return ""
	}
	return p.Entry[0].Changes[0].Value.Messages[0].ID
}

// WaitFor waits until n events were delivered and returns their message
// ids in arrival order; it fails t after 30 s.
func (r *Receiver) WaitFor(n int) []string {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := r.Delivered(); len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("webhooktest: %d of %d events delivered: %v", len(r.Delivered()), n, r.Delivered())
		}
	}
}

// Delivered returns the message ids delivered so far, in arrival order.
func (r *Receiver) Delivered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// Bodies returns every POST of an event, failed ones included.
func (r *Receiver) Bodies(id string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies[id]...)
}

// Message is an inbound text message event from customer with message id.
func Message(t testing.TB, customer, id, text string) webhook.Event {
	t.Helper()
	m, err := webhook.NewMessage(customer, id, time.Unix(1795521600, 0), "text", webhook.Text{Body: text})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.MessageEvent("99", webhook.Metadata{PhoneNumberID: "42"}, &webhook.Contact{Profile: webhook.Profile{Name: "Zoë"}, WaID: customer}, m)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
