package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/payment"
)

// The agent's own endpoints, beside the Cloud API, for the business's
// tools (`parley business orders confirm`) and tests. They take an access
// token with the admin scope, as the API does.
//
//	POST /parley/v1/payments/{reference_id}/confirm    the sandbox captures the order's charge
//	POST /parley/v1/payments/{reference_id}/fail       {"reason": "..."}: the sandbox fails it
//	POST /parley/v1/handoffs/{wa_id}/end               the assistant takes the conversation back

// PaymentResult is what the payment endpoints answer.
type PaymentResult struct {
	ReferenceID string `json:"reference_id"`
	ChargeID    string `json:"charge_id"`
	Status      string `json:"status"`
}

func (a *Agent) adminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg}})
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			fail(http.StatusUnauthorized, "an access token with the admin scope is required")
			return
		}
		grant, err := a.st.Token(r.Context(), cloudapi.HashToken(tok))
		if err != nil || grant.WABAID != a.settings.WABAID || !grant.Has(cloudapi.ScopeAdmin) || (!grant.Expires.IsZero() && !a.now().Before(grant.Expires)) {
			fail(http.StatusUnauthorized, "an access token with the admin scope is required")
			return
		}
		segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/parley/v1/"), "/"), "/")
		if r.Method != http.MethodPost || len(segs) != 3 {
			fail(http.StatusNotFound, "no such endpoint")
			return
		}
		ctx := r.Context()
		switch segs[0] + "/" + segs[2] {
		case "payments/confirm", "payments/fail":
			if a.sandbox == nil {
				fail(http.StatusConflict, "payments are settled by the payment provider, not here")
				return
			}
			live, err := a.st.LiveCharge(ctx, segs[1])
			if errors.Is(err, payment.ErrNotFound) {
				fail(http.StatusNotFound, "no payment was asked for that order")
				return
			}
			if err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			id := live.ID
			var ch payment.Charge
			if segs[2] == "confirm" {
				ch, err = a.sandbox.Confirm(ctx, id)
			} else {
				var body struct {
					Reason string `json:"reason"`
				}
				b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
				_ = json.Unmarshal(b, &body)
				if body.Reason == "" {
					body.Reason = "failed in the sandbox"
				}
				ch, err = a.sandbox.Fail(ctx, id, body.Reason)
			}
			if errors.Is(err, payment.ErrConflict) {
				fail(http.StatusConflict, err.Error())
				return
			}
			if err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(PaymentResult{ReferenceID: ch.Reference, ChargeID: string(ch.ID), Status: string(ch.Status)})
		case "handoffs/end":
			e := Engine(a.assistant)
			if e == nil {
				fail(http.StatusConflict, "no assistant runs")
				return
			}
			rs, err := e.EndHandoff(ctx, segs[1])
			if err != nil {
				fail(http.StatusInternalServerError, err.Error())
				return
			}
			for _, rep := range rs {
				typ, body, err := rep.Body()
				if err == nil {
					r := Reply{Type: typ, Body: body}
					a.answer(segs[1], func(context.Context) ([]Reply, error) { return []Reply{r}, nil })
				}
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"success":true}`)
		default:
			fail(http.StatusNotFound, "no such endpoint")
		}
	})
}
