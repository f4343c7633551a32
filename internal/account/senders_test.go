package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestWebhookSender(t *testing.T) {
	secret := []byte("gateway-secret")
	var calls atomic.Int32
	var got CodeMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		if r.Header.Get("X-Parley-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if calls.Add(1) == 1 {
			http.Error(w, "try again", http.StatusBadGateway) // one hiccup: the sender retries
			return
		}
		_ = json.Unmarshal(body, &got)
	}))
	defer srv.Close()
	s := WebhookSender{URL: srv.URL, Secret: secret}
	want := CodeMessage{Phone: "+4915112345678", Code: "424242", Transport: "sms", Locale: "de"}
	if err := s.SendCode(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if got != want || calls.Load() != 2 {
		t.Fatalf("gateway got %+v after %d calls", got, calls.Load())
	}
	// A 4xx is final: no retry, and the error says so.
	calls.Store(0)
	bad := WebhookSender{URL: srv.URL, Secret: []byte("wrong")}
	if err := bad.SendCode(context.Background(), want); err == nil {
		t.Fatal("a rejected webhook reported success")
	}
}
