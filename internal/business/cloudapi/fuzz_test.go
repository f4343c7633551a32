package cloudapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// checkAnswer: every answer is a send response or a Graph error envelope.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %q", rec.Body.String())
	}
	if rec.Code == http.StatusOK {
		return
	}
	e, ok := body["error"].(map[string]any)
	if !ok || e["code"] == nil || e["message"] == nil || e["type"] == nil || e["fbtrace_id"] == nil {
		t.Fatalf("%d without a Graph error: %s", rec.Code, rec.Body.String())
	}
	if rec.Code == http.StatusInternalServerError {
		t.Fatalf("internal error for a client's input: %s", rec.Body.String())
	}
}

func FuzzSendMessage(f *testing.F) {
	for _, s := range []string{
		msg("text", `{"body":"olá"}`),
		msg("image", `{"link":"https://e.com/a.jpg","caption":"x"}`),
		msg("contacts", `"[{\"name\":{\"formatted_name\":\"A\"}}]"`),
		ix(`{"type":"button","body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"b"}}]}}`),
		ix(`{"type":"list","body":{"text":"x"},"action":{"button":"b","sections":[{"rows":[{"id":"1","title":"t"}]}]}}`),
		orderDetails(`{"reference_id":"r","type":"digital-goods","payment_type":"br",` + pix + `,"currency":"BRL","total_amount":{"value":1,"offset":100},"order":{"status":"pending","items":[{"retailer_id":"a","name":"n","amount":{"value":1,"offset":100},"quantity":1}],"subtotal":{"value":1,"offset":100}}}`),
		msg("template", `{"name":"t","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[{"type":"currency","currency":{"fallback_value":"x","code":"BRL","amount_1000":1}}]}]}`),
		`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.in1","typing_indicator":{"type":"text"}}`,
		`{"messaging_product":"whatsapp","to":"1","type":"location","location":{"latitude":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	e := newEnv(f, nil)
	e.open(testCustomer)
	e.addProduct("SKU1", 100)
	createTemplate(f, e, "t", "UTILITY", "Olá {{1}}")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v23.0/"+testPhone+"/messages", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		checkAnswer(t, rec)
	})
}

func FuzzCreateTemplate(f *testing.F) {
	f.Add([]byte(`{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}}"}]}`))
	f.Add([]byte(`{"name":"b","language":"pt_BR","category":"MARKETING","parameter_format":"NAMED","components":[{"type":"HEADER","format":"TEXT","text":"{{x}}"},{"type":"BODY","text":"{{x}} {{y}}"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"t","url":"https://e.com/{{1}}"}]}]}`))
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v23.0/"+testWABA+"/message_templates", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		checkAnswer(t, rec)
	})
}

func FuzzParams(f *testing.F) {
	f.Add([]byte(`{"retailer_id":"a","name":"n","price":"100","currency":"BRL","inventory":3}`), "application/json")
	f.Add([]byte(`retailer_id=a&name=n&price=100&currency=BRL`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{"messaging_product":"whatsapp","websites":"[\"https://e.com\"]"}`), "application/json")
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		for _, path := range []string{"/v23.0/" + testCatalog + "/products", "/v23.0/" + testPhone + "/whatsapp_business_profile", "/v23.0/" + testPhone + "/whatsapp_commerce_settings"} {
			req := httptest.NewRequest("POST", path, strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			checkAnswer(t, rec)
		}
	})
}
