package account

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// CodeMessage is one code on its way to a person.
type CodeMessage struct {
	Phone     string `json:"phone"`
	Code      string `json:"code"`
	Transport string `json:"transport"` // sms or voice
	Locale    string `json:"locale,omitempty"`
}

// CodeSender delivers registration codes. Implementations must not log the
// code, with the one deliberate exception of LogSender.
type CodeSender interface {
	SendCode(ctx context.Context, m CodeMessage) error
}

// LogSender writes codes to the server log: the development default, so a
// person running `parley serve` on a laptop can register without an SMS
// gateway. Never use it in production: the log then holds live codes.
type LogSender struct{ Log *slog.Logger }

// SendCode implements CodeSender.
func (s LogSender) SendCode(_ context.Context, m CodeMessage) error {
	s.Log.Warn("registration code (log code sender: development only)",
		"phone_suffix", suffix(m.Phone), "code", m.Code, "transport", m.Transport)
	return nil
}

func suffix(phone string) string {
	if len(phone) <= 4 {
		return phone
	}
	return "…" + phone[len(phone)-4:]
}

// NopSender sends nothing: for the fixed code, which the person already knows.
type NopSender struct{}

// SendCode implements CodeSender.
func (NopSender) SendCode(context.Context, CodeMessage) error { return nil }

// WebhookSender POSTs each code as JSON to an SMS gateway's URL. With a
// secret, the body is signed: X-Parley-Signature: sha256=<hex HMAC-SHA256>.
type WebhookSender struct {
	URL    string
	Secret []byte
	Client *http.Client
}

// SendCode implements CodeSender.
func (s WebhookSender) SendCode(ctx context.Context, m CodeMessage) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	var last error
	// A gateway hiccup should not cost the person a rate-limit slot: retry
	// briefly on transport errors and 5xx, never on 4xx.
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if len(s.Secret) > 0 {
			mac := hmac.New(sha256.New, s.Secret)
			mac.Write(body)
			req.Header.Set("X-Parley-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := c.Do(req)
		if err != nil {
			last = err
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode < 500:
			return fmt.Errorf("code webhook answered %s", resp.Status)
		default:
			last = fmt.Errorf("code webhook answered %s", resp.Status)
		}
	}
	return last
}
