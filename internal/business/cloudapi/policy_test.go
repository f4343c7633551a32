package cloudapi_test

import (
	"context"
	. "github.com/parley-im/parley/internal/business/cloudapi"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		msgsOnly := e.issue(Token{WABAID: testWABA, Scopes: []Scope{ScopeMessages}})
		expired := e.issue(Token{WABAID: testWABA, Scopes: []Scope{ScopeAdmin}, Expires: e.clock.now().Add(time.Hour)})
		other := e.issue(Token{WABAID: otherWABA, Scopes: []Scope{ScopeAdmin}})
		e.clock.add(2 * time.Hour)
		e.open(testCustomer)
		text := `{"messaging_product":"whatsapp","to":"5511987654321","text":{"body":"x"}}`
		tests := []struct {
			name, method, path, token string
			body                      any
			status, code, sub         int
		}{
			{"no token", "POST", "/v23.0/" + testPhone + "/messages", "", text, 401, 104, 0},
			{"unknown token", "POST", "/v23.0/" + testPhone + "/messages", "EAAnope", text, 401, 190, 0},
			{"expired token", "POST", "/v23.0/" + testPhone + "/messages", expired, text, 401, 190, 463},
			{"wrong scope", "GET", "/v23.0/" + testPhone + "/whatsapp_business_profile", msgsOnly, nil, 403, 200, 1349174},
			{"right scope", "POST", "/v23.0/" + testPhone + "/messages", msgsOnly, text, 200, 0, 0},
			{"other business's number", "POST", "/v23.0/" + testPhone + "/messages", other, text, 400, 100, 33},
			{"unknown object", "GET", "/v23.0/4242424242", e.token, nil, 400, 100, 33},
			{"non-numeric id", "GET", "/v23.0/me", e.token, nil, 400, 100, 33},
			{"unknown edge", "GET", "/v23.0/" + testPhone + "/holograms", e.token, nil, 400, 2500, 0},
			{"unversioned", "POST", "/" + testPhone + "/messages", e.token, text, 200, 0, 0},
			{"other version", "POST", "/v17.0/" + testPhone + "/messages", e.token, text, 200, 0, 0},
			{"wrong method", "DELETE", "/v23.0/" + testPhone + "/messages", e.token, nil, 400, 100, 33},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.method, tc.path, tc.token, tc.body)
				if r.status != tc.status || r.code() != tc.code || r.subcode() != tc.sub {
					t.Fatalf("got %d %d/%d, want %d %d/%d: %s", r.status, r.code(), r.subcode(), tc.status, tc.code, tc.sub, r.raw)
				}
				if tc.status == 401 && !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
					t.Fatalf("401 without WWW-Authenticate")
				}
			})
		}
		// access_token as a query parameter.
		r := e.do("GET", "/v23.0/"+testPhone+"?access_token="+e.token, "", nil)
		if r.status != 200 || r.body["id"] != testPhone {
			t.Fatalf("access_token query: %d %s", r.status, r.raw)
		}
	})
}

func TestWindowAndConsent(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		for _, sync := range []bool{false, true} {
			name := "async"
			if sync {
				name = "sync"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, func(c *Config) { c.SyncPolicyErrors = sync })
				createTemplate(t, e, "promo", "MARKETING", "Oferta para {{1}}")
				createTemplate(t, e, "order_update", "UTILITY", "Pedido {{1}} enviado")
				text := `{"messaging_product":"whatsapp","to":"5511987654321","text":{"body":"oi"},"biz_opaque_callback_data":"cb"}`
				tpl := func(name string) string {
					return `{"messaging_product":"whatsapp","to":"5511987654321","type":"template","template":{"name":"` + name + `","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]}}`
				}
				expectRefused := func(body string, code int) {
					t.Helper()
					before := e.msgr.count()
					r := e.send(body)
					if e.msgr.count() != before {
						t.Fatalf("refused message reached the Messenger")
					}
					if sync {
						if r.code() != code {
							t.Fatalf("got %s, want code %d", r.raw, code)
						}
						return
					}
					if r.status != 200 {
						t.Fatalf("async refusal must be accepted: %s", r.raw)
					}
					evs := e.queued()
					if len(evs) != 1 {
						t.Fatalf("%d webhook events, want 1", len(evs))
					}
					st := dig(evs[0], "entry", 0, "changes", 0, "value", "statuses", 0)
					if dig(st, "status") != "failed" || dig(st, "id") != dig(r.body, "messages", 0, "id") ||
						dig(st, "errors", 0, "code") != float64(code) || !strings.Contains(body, dig(st, "recipient_id").(string)) {
						t.Fatalf("failed status %v", st)
					}
				}
				expectSent := func(body string) Outbound {
					t.Helper()
					before := e.msgr.count()
					r := e.send(body)
					if r.status != 200 || e.msgr.count() != before+1 {
						t.Fatalf("not sent: %s", r.raw)
					}
					return e.msgr.last()
				}
				// Never wrote: free-form refused, template refused without opt-in.
				expectRefused(text, 131047)
				expectRefused(tpl("order_update"), 131026)
				if r := e.do("POST", "/v23.0/"+testPhone+"/opt_ins", e.token, `{"wa_id":"+55 11 98765-4321","opted_in":true}`); r.body["success"] != true {
					t.Fatalf("opt in: %s", r.raw)
				}
				if r := e.do("GET", "/v23.0/"+testPhone+"/opt_ins?wa_id="+testCustomer, e.token, nil); dig(r.body, "data", 0, "opted_in") != true {
					t.Fatalf("opt-in state: %s", r.raw)
				}
				if o := expectSent(tpl("order_update")); o.Pricing.Category != "utility" || !o.Pricing.Billable {
					t.Fatalf("pricing %+v", o.Pricing)
				}
				// The customer writes: the window is open for 24 hours.
				e.open(testCustomer)
				if o := expectSent(text); o.Pricing.Type != "free_customer_service" {
					t.Fatalf("pricing %+v", o.Pricing)
				}
				e.clock.add(23*time.Hour + 59*time.Minute)
				expectSent(text)
				e.clock.add(2 * time.Minute)
				expectRefused(text, 131047)
				// Marketing opt-out applies in and out of the window.
				e.open(testCustomer)
				expectSent(tpl("promo"))
				e.do("POST", "/v23.0/"+testPhone+"/opt_ins", e.token, `{"wa_id":"5511987654321","marketing_opt_out":true}`)
				expectRefused(tpl("promo"), 131050)
				expectSent(tpl("order_update"))
				// Unreachable recipients fail as undeliverable.
				e.msgr.noRecip["5511911112222"] = true
				e.h.RecordInbound(context.Background(), testPhone, "5511911112222", e.clock.now())
				expectRefused(`{"messaging_product":"whatsapp","to":"5511911112222","text":{"body":"oi"}}`, 131026)
			})
		}
	})
}

func createTemplate(t testing.TB, e *env, name, category, body string) string {
	t.Helper()
	r := e.do("POST", "/v23.0/"+testWABA+"/message_templates", e.token, map[string]any{
		"name": name, "language": "pt_BR", "category": category,
		"components": []any{map[string]any{"type": "BODY", "text": body}},
	})
	if r.status != 200 || r.body["status"] != "APPROVED" {
		t.Fatalf("create template: %s", r.raw)
	}
	e.queued() // the status update event
	return r.body["id"].(string)
}

func TestRateLimits(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, func(c *Config) { c.Throughput = 5; c.PairBurst = 3; c.PairInterval = 6 * time.Second })
		for _, wa := range []string{"5511900000001", "5511900000002", "5511900000003"} {
			e.h.RecordInbound(context.Background(), testPhone, wa, e.clock.now())
		}
		e.clock.add(2 * time.Second) // refill the buckets the inbound messages used
		send := func(wa string) resp {
			return e.send(`{"messaging_product":"whatsapp","to":"` + wa + `","text":{"body":"oi"}}`)
		}
		for i := 0; i < 3; i++ {
			if r := send("5511900000001"); r.status != 200 {
				t.Fatalf("send %d: %s", i, r.raw)
			}
		}
		r := send("5511900000001")
		if r.code() != 131056 || r.header.Get("Retry-After") == "" {
			t.Fatalf("pair rate: %s", r.raw)
		}
		// The number's own throughput: 5 per second.
		if r := send("5511900000002"); r.status != 200 {
			t.Fatalf("%s", r.raw)
		}
		r = send("5511900000003")
		if r.status != http.StatusTooManyRequests || r.code() != 130429 {
			t.Fatalf("throughput: %d %s", r.status, r.raw)
		}
		e.clock.add(6 * time.Second)
		if r := send("5511900000001"); r.status != 200 {
			t.Fatalf("after waiting: %s", r.raw)
		}
	})
}

func TestMessagingTier(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		e.setTier(testWABA, Tier(3))
		createTemplate(t, e, "hello", "UTILITY", "Olá")
		tpl := func(wa string) resp {
			return e.send(`{"messaging_product":"whatsapp","to":"` + wa + `","type":"template","template":{"name":"hello","language":{"code":"pt_BR","policy":"deterministic"}}}`)
		}
		users := []string{"5511900000001", "5511900000002", "5511900000003", "5511900000004"}
		for _, wa := range users {
			e.conv.SetConsent(context.Background(), testPhone, wa, Consent{OptedIn: true})
		}
		for _, wa := range users[:3] {
			if r := tpl(wa); r.status != 200 {
				t.Fatalf("%s", r.raw)
			}
		}
		if r := tpl(users[3]); r.code() != 80007 {
			t.Fatalf("fourth unique user: %s", r.raw)
		}
		if r := tpl(users[0]); r.status != 200 {
			t.Fatalf("a user already reached is not counted again: %s", r.raw)
		}
		// In the window, a template does not count.
		e.open(users[3])
		if r := tpl(users[3]); r.status != 200 {
			t.Fatalf("in window: %s", r.raw)
		}
		e.clock.add(25 * time.Hour)
		if r := tpl("5511900000004"); r.status != 200 {
			t.Fatalf("after 24 h the limit frees up: %s", r.raw)
		}
		if Tier250.Next() != Tier2K || Tier2K.Next() != Tier10K || Tier10K.Next() != Tier100K || Tier100K.Next() != TierUnlimited || TierUnlimited.Next() != TierUnlimited {
			t.Fatal("tier ladder")
		}
		if Tier250.Name() != "TIER_250" || Tier2K.Name() != "TIER_2K" || TierUnlimited.Name() != "TIER_UNLIMITED" {
			t.Fatal("tier names")
		}
	})
}

func TestErrorRegistryUnique(t *testing.T) {
	seen := map[[2]int]bool{}
	for _, s := range Registry() {
		k := [2]int{s.Code, s.Subcode}
		if seen[k] {
			t.Fatalf("code %d/%d twice", s.Code, s.Subcode)
		}
		seen[k] = true
		if s.HTTP < 400 || s.Type == "" || s.Message == "" || s.Title == "" {
			t.Fatalf("incomplete spec %+v", s)
		}
	}
}
