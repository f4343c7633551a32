package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/webhook"
)

// fillPayment fills in the payment_settings of an order_details that has
// payment_type br or upi and none of its own: a charge from the provider
// for the order's total, its Pix code or UPI link. It returns the object
// (changed or not) and the order reference of an order_details.
func (a *Agent) fillPayment(ctx context.Context, to string, obj []byte) ([]byte, string, error) {
	var ix map[string]any
	if err := decodeJSON(obj, &ix); err != nil || ix["type"] != "order_details" {
		return obj, "", nil
	}
	action, _ := ix["action"].(map[string]any)
	params, _ := action["parameters"].(map[string]any)
	ref, _ := params["reference_id"].(string)
	pt, _ := params["payment_type"].(string)
	settings, _ := params["payment_settings"].([]any)
	config, _ := params["payment_configuration"].(string)
	if len(settings) > 0 || config != "" || (pt != "br" && pt != "upi") {
		return obj, ref, nil
	}
	bad := func(format string, args ...any) error {
		return &cloudapi.Error{Spec: cloudapi.ErrParameterValue, Details: fmt.Sprintf(format, args...)}
	}
	cur, _ := params["currency"].(string)
	currency, err := commerce.ParseCurrency(cur)
	if err != nil {
		return nil, "", bad("interactive.action.parameters.currency: %v", err)
	}
	total, _ := params["total_amount"].(map[string]any)
	value, err1 := jsonInt(total["value"])
	offset, err2 := jsonInt(total["offset"])
	if err1 != nil || err2 != nil {
		return nil, "", bad("interactive.action.parameters.total_amount must be integers")
	}
	minor, err := commerce.FromOffset(value, offset, currency)
	if err != nil {
		return nil, "", bad("interactive.action.parameters.total_amount: %v", err)
	}
	if pt == "br" && currency != "BRL" || pt == "upi" && currency != "INR" {
		return nil, "", bad("payment_type %s is paid in %s, not %s", pt, map[string]string{"br": "BRL", "upi": "INR"}[pt], currency)
	}
	// An order the agent knows must be charged what it costs.
	if o, err := a.Orders.Order(ctx, ref); err == nil {
		if o.Customer != to {
			return nil, "", bad("order %s is another customer's", ref)
		}
		if o.Total != minor || string(o.Currency) != string(currency) {
			return nil, "", bad("total_amount %s %s is not order %s's total, %s %s", commerce.FormatDecimal(minor, currency), currency,
				ref, commerce.FormatDecimal(o.Total, o.Currency), o.Currency)
		}
	} else if !errors.Is(err, commerce.ErrNotFound) {
		return nil, "", err
	}
	ch, err := a.Charge(ctx, ref, minor, string(currency))
	if err != nil {
		return nil, "", err
	}
	var setting map[string]any
	switch ch.Method {
	case payment.MethodPix:
		setting = map[string]any{"type": "pix_dynamic_code", "pix_dynamic_code": map[string]any{
			"code": ch.Pix.Code, "merchant_name": ch.Pix.MerchantName, "key": ch.Pix.Key, "key_type": ch.Pix.KeyType}}
	case payment.MethodUPI:
		setting = map[string]any{"type": "upi_intent_link", "upi_intent_link": map[string]any{"link": ch.UPI.Link}}
	default:
		return nil, "", bad("the payment provider gave no Pix code or UPI link")
	}
	params["payment_settings"] = []any{setting}
	out, err := json.Marshal(ix)
	return out, ref, err
}

func jsonInt(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	return strconv.ParseInt(string(n), 10, 64)
}

// Charge asks the provider for a charge of amount (minor units of
// currency) for the order reference, or returns the live one. Refusals are
// Graph errors a send can answer with.
func (a *Agent) Charge(ctx context.Context, reference string, amount int64, currency string) (payment.Charge, error) {
	ch, err := a.pay.CreateCharge(ctx, payment.ChargeRequest{Reference: reference,
		Amount: payment.Money{Minor: amount, Currency: payment.Currency(currency)}, Description: "Order " + reference})
	switch {
	case errors.Is(err, payment.ErrUnsupportedCurrency):
		return ch, &cloudapi.Error{Spec: cloudapi.ErrParameterValue, Details: "the business has no payment account for " + currency}
	case errors.Is(err, payment.ErrConflict):
		return ch, &cloudapi.Error{Spec: cloudapi.ErrParameterValue, Details: "order " + reference + " has a payment of another amount under way"}
	case errors.Is(err, payment.ErrInvalidRequest):
		return ch, &cloudapi.Error{Spec: cloudapi.ErrParameterValue, Details: err.Error()}
	}
	return ch, err
}

// PaymentChanged is the provider's notification that a charge was captured
// or failed: the order's payment changes (stock committed, or released),
// the webhook gets a payment status, and the customer an order_status
// message.
func (a *Agent) PaymentChanged(ctx context.Context, ev payment.Event) {
	ctx = context.WithoutCancel(ctx)
	ch := ev.Charge
	ref := ch.Reference
	to := commerce.PaymentCaptured
	if ch.Status == payment.StatusFailed {
		to = commerce.PaymentFailed
	}
	customer := ""
	o, err := a.Orders.SetPayment(ctx, ref, to, string(ch.ID))
	haveOrder := err == nil
	switch {
	case err == nil:
		customer = o.Customer
	case errors.Is(err, commerce.ErrNotFound):
		// An order the business keeps elsewhere: its customer is whom the
		// order_details went to.
		customer, err = a.conversations.Reference(ctx, a.settings.WABAID, ref)
		if err != nil {
			a.log.Warn("payment for an unknown order", "err", err)
			return
		}
	default:
		a.log.Error("recording a payment failed", "err", err)
		if o, err = a.Orders.Order(ctx, ref); err != nil {
			return
		}
		customer, haveOrder = o.Customer, true
	}
	if err := a.paymentStatus(ctx, customer, ev); err != nil {
		a.log.Error("payment status webhook not queued", "err", err)
	}
	params := map[string]any{"reference_id": ref, "payment": map[string]any{"status": string(to), "timestamp": ch.UpdatedAt.Unix()}}
	if haveOrder {
		params = map[string]any{}
		b, _ := json.Marshal(commerce.OrderStatusParameters(o))
		_ = json.Unmarshal(b, &params)
	}
	body := "Payment received for order " + ref + ". Thank you!"
	if to == commerce.PaymentFailed {
		body = "The payment for order " + ref + " did not go through."
	}
	r := Reply{Type: "interactive"}
	r.Body, _ = json.Marshal(map[string]any{"type": "order_status", "body": map[string]string{"text": body},
		"action": map[string]any{"name": "review_order", "parameters": params}})
	if a.assistant != nil && haveOrder {
		ar, ok, err := a.assistant.OrderUpdate(ctx, o)
		switch {
		case err != nil:
			a.log.Warn("assistant's order update failed; sending the default", "err", err)
		case ok:
			r = ar
		}
	}
	if _, err := a.reply(ctx, customer, r); err != nil {
		a.log.Warn("order status not sent to the customer", "err", err)
	}
}

// paymentStatus queues the statuses[{type:"payment"}] webhook (research
// note 2.4): Meta sends it for India's payment gateways, Parley for every
// payment its provider settles.
func (a *Agent) paymentStatus(ctx context.Context, customer string, ev payment.Event) error {
	ch := ev.Charge
	id, err := a.state.orderDetailsMessage(ctx, ch.Reference)
	if err != nil {
		return err
	}
	if id == "" {
		id = "payment." + string(ch.ID) // no order_details went through the API
	}
	amt := webhook.Amount{Value: ch.Amount.Minor, Offset: ch.Amount.Offset()}
	tx := &webhook.Transaction{ID: string(ch.ID), Type: a.providerName(), Status: "success",
		CreatedTimestamp: ch.CreatedAt.Unix(), UpdatedTimestamp: ch.UpdatedAt.Unix(), Amount: &amt,
		Currency: string(ch.Amount.Currency), Method: &webhook.PaymentMethod{Type: string(ch.Method)}}
	if ch.Status == payment.StatusFailed {
		tx.Status = "failed"
		tx.Error = &webhook.PaymentError{Code: "payment_failed", Reason: ch.FailureReason}
	}
	st := webhook.Status{ID: id, Status: string(ch.Status), Timestamp: strconv.FormatInt(ch.UpdatedAt.Unix(), 10),
		RecipientID: customer, Type: "payment", Payment: &webhook.Payment{ReferenceID: ch.Reference, Amount: amt,
			Currency: string(ch.Amount.Currency), Transaction: tx}}
	return a.hooks.EnqueueStatus(ctx, a.settings.WABAID, a.meta(), st)
}

func (a *Agent) providerName() string {
	if a.sandbox != nil && a.pay == a.sandbox {
		return "sandbox"
	}
	return "psp"
}
