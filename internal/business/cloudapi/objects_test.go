package cloudapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	. "github.com/parley-im/parley/internal/business/cloudapi"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"
)

// upload posts a multipart upload the way Kapso does (fields first) or
// whatsapp-api-js does (messaging_product in the query, file only).
func (e *env) upload(token, mimeType string, data []byte, productInQuery bool) resp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if !productInQuery {
		mw.WriteField("messaging_product", "whatsapp")
		mw.WriteField("type", mimeType)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="f.bin"`)
	h.Set("Content-Type", mimeType)
	w, _ := mw.CreatePart(h)
	w.Write(data)
	mw.Close()
	path := "/v23.0/" + testPhone + "/media"
	if productInQuery {
		path += "?messaging_product=whatsapp"
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, raw: raw, header: res.Header}
	json.Unmarshal(raw, &r.body)
	return r
}

// objectID is what a Graph object id looks like.
var objectID = regexp.MustCompile(`^[0-9]{1,32}$`)

func TestMedia(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		jpeg := append([]byte{0xff, 0xd8, 0xff}, bytes.Repeat([]byte("x"), 1000)...)
		for _, inQuery := range []bool{false, true} {
			r := e.upload(e.token, "image/jpeg", jpeg, inQuery)
			if r.status != 200 || !objectID.MatchString(r.body["id"].(string)) {
				t.Fatalf("upload: %s", r.raw)
			}
		}
		r := e.upload(e.token, "image/jpeg", jpeg, false)
		id := r.body["id"].(string)
		g := e.do("GET", "/v23.0/"+id+"?phone_number_id="+testPhone, e.token, nil)
		sum := sha256.Sum256(jpeg)
		if g.body["mime_type"] != "image/jpeg" || g.body["file_size"] != "1003" || g.body["sha256"] != hex.EncodeToString(sum[:]) || g.body["messaging_product"] != "whatsapp" {
			t.Fatalf("get: %s", g.raw)
		}
		url := g.body["url"].(string)
		fetch := func(u, token string) (int, []byte) {
			req, _ := http.NewRequest("GET", u, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, b
		}
		if s, b := fetch(url, ""); s != 200 || !bytes.Equal(b, jpeg) {
			t.Fatalf("download without bearer: %d", s)
		}
		if s, b := fetch(url, e.token); s != 200 || !bytes.Equal(b, jpeg) {
			t.Fatalf("download with bearer: %d", s)
		}
		if s, _ := fetch(strings.Replace(url, "sig=", "sig=0", 1), ""); s == 200 {
			t.Fatal("a forged signature downloaded")
		}
		e.clock.add(6 * time.Minute)
		if s, _ := fetch(url, ""); s == 200 {
			t.Fatal("an expired URL downloaded without a token")
		}
		if s, b := fetch(url, e.token); s != 200 || !bytes.Equal(b, jpeg) {
			t.Fatalf("an expired URL with a media token: %d", s)
		}
		// Sending by id checks the file's type.
		e.open(testCustomer)
		if r := e.send(msg("image", `{"id":"`+id+`"}`)); r.status != 200 {
			t.Fatalf("image by id: %s", r.raw)
		}
		if r := e.send(msg("sticker", `{"id":"`+id+`"}`)); r.code() != 131009 {
			t.Fatalf("a jpeg as a sticker: %s", r.raw)
		}
		// Other businesses do not see it; a wrong phone_number_id hides it.
		other := e.issue(Token{WABAID: otherWABA, Scopes: []Scope{ScopeAdmin}})
		if r := e.do("GET", "/v23.0/"+id, other, nil); r.code() != 100 || r.subcode() != 33 {
			t.Fatalf("other business: %s", r.raw)
		}
		if r := e.do("GET", "/v23.0/"+id+"?phone_number_id=123", e.token, nil); r.code() != 100 {
			t.Fatalf("wrong phone_number_id: %s", r.raw)
		}
		if r := e.do("DELETE", "/v23.0/"+id, e.token, nil); r.body["success"] != true {
			t.Fatalf("delete: %s", r.raw)
		}
		if r := e.do("GET", "/v23.0/"+id, e.token, nil); r.code() != 100 || r.subcode() != 33 {
			t.Fatalf("after delete: %s", r.raw)
		}
		for _, tc := range []struct {
			name, mime string
			size       int
		}{{"unsupported type", "application/x-msdownload", 10}, {"sticker over 500 KB", "image/webp", 600 << 10}, {"image over 5 MB", "image/png", 5<<20 + 1}} {
			if r := e.upload(e.token, tc.mime, make([]byte, tc.size), false); r.code() != 131053 {
				t.Errorf("%s: %s", tc.name, r.raw)
			}
		}
		msgsOnly := e.issue(Token{WABAID: testWABA, Scopes: []Scope{ScopeMessages}})
		if r := e.upload(msgsOnly, "image/jpeg", jpeg, false); r.status != 403 || r.code() != 200 {
			t.Fatalf("upload without the media scope: %s", r.raw)
		}
	})
}

func TestTemplates(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		e.open(testCustomer)
		create := func(body string) resp { return e.do("POST", "/v23.0/"+testWABA+"/message_templates", e.token, body) }
		for _, tc := range []struct{ name, body string }{
			{"bad name", `{"name":"Bad Name","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"x"}]}`},
			{"bad category", `{"name":"a","language":"en","category":"SPAM","components":[{"type":"BODY","text":"x"}]}`},
			{"no body", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"FOOTER","text":"x"}]}`},
			{"gap in placeholders", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"{{1}} {{3}}"}]}`},
			{"mixed placeholders", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"{{1}} {{name}}"}]}`},
			{"named in positional", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"{{name}}"}]}`},
			{"header 61", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"HEADER","format":"TEXT","text":"` + strings.Repeat("h", 61) + `"},{"type":"BODY","text":"x"}]}`},
			{"button url placeholder in the middle", `{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"x"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"t","url":"https://e.com/{{1}}/x"}]}]}`},
		} {
			if r := create(tc.body); r.code() != 100 {
				t.Errorf("%s: %s", tc.name, r.raw)
			}
		}
		r := create(`{"name":"oferta","language":"pt_BR","category":"marketing","components":[{"type":"HEADER","format":"IMAGE"},{"type":"body","text":"Oi {{1}}, {{2}} por {{3}}"},{"type":"BUTTONS","buttons":[{"type":"COPY_CODE","text":"Copiar"}]}]}`)
		if r.status != 200 || r.body["category"] != "MARKETING" {
			t.Fatalf("create: %s", r.raw)
		}
		id := r.body["id"].(string)
		evs := e.queued()
		if len(evs) != 1 || dig(evs[0], "entry", 0, "changes", 0, "field") != "message_template_status_update" ||
			dig(evs[0], "entry", 0, "changes", 0, "value", "event") != "APPROVED" {
			t.Fatalf("status webhook %v", evs)
		}
		if r := create(`{"name":"oferta","language":"pt_BR","category":"MARKETING","components":[{"type":"BODY","text":"x"}]}`); r.code() != 100 || r.subcode() != 2388024 {
			t.Fatalf("duplicate: %s", r.raw)
		}
		if r := e.do("GET", "/v23.0/"+testWABA+"/message_templates/"+id, e.token, nil); r.body["name"] != "oferta" {
			t.Fatalf("get via waba: %s", r.raw)
		}
		send := func(components string) resp {
			return e.send(msg("template", `{"name":"oferta","language":{"code":"pt_BR","policy":"deterministic"},"components":`+components+`}`))
		}
		header := `{"type":"header","parameters":[{"type":"image","image":{"link":"https://e.com/a.jpg"}}]}`
		body := `{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"currency","currency":{"fallback_value":"R$ 10,00","code":"BRL","amount_1000":10000}},{"type":"date_time","date_time":{"fallback_value":"hoje"}}]}`
		if r := send(`[` + header + `,` + body + `,{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"coupon_code","coupon_code":"X","text":"CUPOM10"}]}]`); r.status != 200 {
			t.Fatalf("send: %s", r.raw)
		}
		var rt RenderedTemplate
		json.Unmarshal(e.msgr.last().Object, &rt)
		if rt.Body != "Oi Ana, R$ 10,00 por hoje" || rt.Header.Type != "image" || string(rt.Header.Image) != `{"link":"https://e.com/a.jpg"}` || rt.Buttons[0].Code != "CUPOM10" {
			t.Fatalf("rendered %+v", rt)
		}
		for _, tc := range []struct {
			name, components string
			code             int
		}{
			{"too few body parameters", `[` + header + `,{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]`, 132000},
			{"no header parameter", `[` + body + `]`, 132000},
			{"header of the wrong type", `[{"type":"header","parameters":[{"type":"video","video":{"link":"https://e.com/v.mp4"}}]},` + body + `]`, 132012},
			{"payload in the body", `[` + header + `,{"type":"body","parameters":[{"type":"payload","payload":"x"},{"type":"text","text":"b"},{"type":"text","text":"c"}]}]`, 132012},
			{"currency without fallback", `[` + header + `,{"type":"body","parameters":[{"type":"text","text":"a"},{"type":"currency","currency":{"code":"BRL","amount_1000":1}},{"type":"text","text":"c"}]}]`, 131008},
			{"rendered body too long", `[` + header + `,{"type":"body","parameters":[{"type":"text","text":"` + strings.Repeat("a", 1100) + `"},{"type":"text","text":"b"},{"type":"text","text":"c"}]}]`, 132005},
		} {
			if r := send(tc.components); r.code() != tc.code {
				t.Errorf("%s: %s", tc.name, r.raw)
			}
		}
		if r := e.send(msg("template", `{"name":"oferta","language":{"code":"en_US"}}`)); r.code() != 132001 || r.status != 404 {
			t.Fatalf("other language: %d %s", r.status, r.raw)
		}
		e.setTemplateStatus(id, "PAUSED")
		if r := send(`[` + header + `,` + body + `]`); r.code() != 132015 {
			t.Fatalf("paused: %s", r.raw)
		}
		e.setTemplateStatus(id, "DISABLED")
		if r := send(`[` + header + `,` + body + `]`); r.code() != 132016 {
			t.Fatalf("disabled: %s", r.raw)
		}
		l := e.do("GET", "/v23.0/"+testWABA+"/message_templates?limit=10&status=DISABLED", e.token, nil)
		if len(l.body["data"].([]any)) != 1 {
			t.Fatalf("list: %s", l.raw)
		}
		if r := e.do("DELETE", "/v23.0/"+testWABA+"/message_templates?name=oferta", e.token, nil); r.body["success"] != true {
			t.Fatalf("delete: %s", r.raw)
		}
		if r := e.do("GET", "/v23.0/"+id, e.token, nil); r.code() != 100 {
			t.Fatalf("after delete: %s", r.raw)
		}
		// Review can hold templates back.
		e2 := newEnv(t, func(c *Config) {
			c.ReviewTemplate = func(Template) (string, string) { return "REJECTED", "INVALID_FORMAT" }
		})
		r = e2.do("POST", "/v23.0/"+testWABA+"/message_templates", e2.token, `{"name":"x","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"x"}]}`)
		if r.body["status"] != "REJECTED" {
			t.Fatalf("review: %s", r.raw)
		}
		e2.open(testCustomer)
		if r := e2.send(msg("template", `{"name":"x","language":{"code":"en"}}`)); r.code() != 132001 {
			t.Fatalf("a rejected template was sent: %s", r.raw)
		}
	})
}

func TestProfileCommerceAndNumbers(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		r := e.do("POST", "/v23.0/"+testPhone+"/whatsapp_business_profile", e.token, `{"messaging_product":"whatsapp","about":"Livros","websites":["https://a.example","https://b.example"],"vertical":"RETAIL"}`)
		if r.body["success"] != true {
			t.Fatalf("%s", r.raw)
		}
		for _, bad := range []string{
			`{"about":"x"}`,
			`{"messaging_product":"whatsapp","about":""}`,
			`{"messaging_product":"whatsapp","about":"` + strings.Repeat("a", 140) + `"}`,
			`{"messaging_product":"whatsapp","websites":["https://a","https://b","https://c"]}`,
			`{"messaging_product":"whatsapp","vertical":"SPACESHIPS"}`,
			`{"messaging_product":"whatsapp","email":"nope"}`,
		} {
			if r := e.do("POST", "/v23.0/"+testPhone+"/whatsapp_business_profile", e.token, bad); r.code() != 100 {
				t.Errorf("%s: %s", bad, r.raw)
			}
		}
		g := e.do("GET", "/v23.0/"+testPhone+"/whatsapp_business_profile?fields=about,websites", e.token, nil)
		if dig(g.body, "data", 0, "about") != "Livros" || dig(g.body, "data", 0, "websites", 1) != "https://b.example" || dig(g.body, "data", 0, "vertical") != nil {
			t.Fatalf("profile %s", g.raw)
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/v23.0/"+testPhone+"/whatsapp_commerce_settings?is_cart_enabled=true&is_catalog_visible=false", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
			t.Fatalf("commerce settings: %v", err)
		}
		c := e.do("GET", "/v23.0/"+testPhone+"/whatsapp_commerce_settings", e.token, nil)
		if dig(c.body, "data", 0, "is_cart_enabled") != true || dig(c.body, "data", 0, "is_catalog_visible") != false {
			t.Fatalf("commerce %s", c.raw)
		}
		n := e.do("GET", "/v23.0/"+testWABA+"/phone_numbers", e.token, nil)
		if dig(n.body, "data", 0, "id") != testPhone || dig(n.body, "data", 0, "messaging_limit_tier") != "TIER_250" || dig(n.body, "data", 0, "throughput", "level") != "STANDARD" {
			t.Fatalf("numbers %s", n.raw)
		}
		p := e.do("GET", "/"+testPhone+"?fields=verified_name", e.token, nil)
		if p.body["verified_name"] != "Livraria Parley" || p.body["quality_rating"] != nil {
			t.Fatalf("phone %s", p.raw)
		}
	})
}

func TestProducts(t *testing.T) {
	onBackends(t, func(t *testing.T, newEnv envMaker) {
		e := newEnv(t, nil)
		create := func(body string) resp { return e.do("POST", "/v23.0/"+testCatalog+"/products", e.token, body) }
		r := create(`{"retailer_id":"L1","name":"Dom Casmurro","price":4990,"currency":"BRL","inventory":2}`)
		if r.status != 200 {
			t.Fatalf("%s", r.raw)
		}
		id := r.body["id"].(string)
		for _, bad := range []string{
			`{"retailer_id":"L1","name":"dup","price":1,"currency":"BRL"}`,
			`{"retailer_id":"L2","name":"n","price":-1,"currency":"BRL"}`,
			`{"retailer_id":"L2","name":"n","price":1.5,"currency":"BRL"}`,
			`{"retailer_id":"L2","name":"n","price":1,"currency":"real"}`,
			`{"retailer_id":"L2","name":"n","price":1,"currency":"BRL","availability":"maybe"}`,
			`{"name":"n","price":1,"currency":"BRL"}`,
		} {
			if r := create(bad); r.code() != 100 {
				t.Errorf("%s: %s", bad, r.raw)
			}
		}
		// form-encoded, as Graph callers also send
		req, _ := http.NewRequest("POST", e.srv.URL+"/v23.0/"+testCatalog+"/products", strings.NewReader("retailer_id=L2&name=Iracema&price=1990&currency=BRL"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+e.token)
		if res, _ := http.DefaultClient.Do(req); res.StatusCode != 200 {
			t.Fatalf("form create: %d", res.StatusCode)
		}
		g := e.do("GET", "/v23.0/"+id+"?fields=name,price,price_amount,inventory", e.token, nil)
		if g.body["price"] != "R$49.90" || g.body["price_amount"] != float64(4990) || g.body["inventory"] != float64(2) {
			t.Fatalf("get %s", g.raw)
		}
		l := e.do("GET", "/v23.0/"+testCatalog+"/products?limit=1", e.token, nil)
		if len(l.body["data"].([]any)) != 1 || dig(l.body, "summary", "total_count") != float64(2) {
			t.Fatalf("page %s", l.raw)
		}
		after := dig(l.body, "paging", "cursors", "after").(string)
		l2 := e.do("GET", "/v23.0/"+testCatalog+"/products?limit=1&after="+after, e.token, nil)
		if dig(l2.body, "data", 0, "id") == dig(l.body, "data", 0, "id") {
			t.Fatalf("second page repeats the first: %s", l2.raw)
		}
		if r := e.do("POST", "/v23.0/"+id, e.token, `{"retailer_id":"OTHER"}`); r.code() != 100 {
			t.Fatalf("retailer_id change: %s", r.raw)
		}
		if r := e.do("DELETE", "/v23.0/"+id, e.token, nil); r.body["success"] != true {
			t.Fatalf("delete %s", r.raw)
		}
		if r := e.do("GET", "/v23.0/"+id, e.token, nil); r.code() != 100 || r.subcode() != 33 {
			t.Fatalf("after delete %s", r.raw)
		}
		if FormatPrice(5, "BRL") != "R$0.05" || FormatPrice(1000, "JPY") != "¥1000" || FormatPrice(1234, "XYZ") != "XYZ 12.34" {
			t.Fatal("FormatPrice")
		}
	})
}
