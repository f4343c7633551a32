package agent_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/agent"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

// TestMessageKinds: each kind of message crosses in both directions as a
// receiver of the webhook and a client of the API expect it.
func TestMessageKinds(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{})
	ana := newCustomer(t, srv, s, "Ana")
	phone := s.agent.Settings().PhoneNumberID
	post := func(body map[string]any) (int, map[string]any) {
		t.Helper()
		body["messaging_product"] = "whatsapp"
		if _, ok := body["to"]; !ok {
			body["to"] = ana.waID()
		}
		return s.post("/v23.0/"+phone+"/messages", body)
	}

	// Customer → business.
	hi := ana.say("oi")
	loc := ana.send("location", `{"latitude":-23.5559,"longitude":-46.6623,"name":"Casa","address":"Rua Augusta 1"}`, nil)
	vcard := ana.send("contacts", `[{"name":{"formatted_name":"Bia","first_name":"Bia"},"phones":[{"phone":"+5511911112222","type":"CELL"}]}]`, nil)
	flow := ana.send("flow", `{"response_json":"{}"}`, nil)
	evs := s.waitHooks("the customer's messages", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(flow)) >= 0 })
	get := func(r clientstore.MessageRef) map[string]any { return evs[messageIndex(evs, agent.WAMID(r))].message }
	if m := get(loc); m["type"] != "location" || dig(m, "location", "latitude") != -23.5559 || dig(m, "location", "name") != "Casa" {
		t.Errorf("location event %v", m)
	}
	if m := get(vcard); m["type"] != "contacts" || dig(m, "contacts", 0, "name", "formatted_name") != "Bia" {
		t.Errorf("contacts event %v", m)
	}
	if m := get(flow); m["type"] != "unsupported" || dig(m, "errors", 0, "code") != float64(131051) || m["flow"] != nil {
		t.Errorf("unknown type's event %v", m)
	}

	// Business → customer: a reply with a list, a location, contacts, a
	// reaction to her message.
	code, out := post(map[string]any{"type": "interactive", "context": map[string]string{"message_id": agent.WAMID(hi)},
		"interactive": map[string]any{"type": "list", "body": map[string]string{"text": "Escolha"}, "action": map[string]any{"button": "Livros",
			"sections": []any{map[string]any{"title": "Machado", "rows": []any{map[string]string{"id": "dom", "title": "Dom Casmurro"}}}}}}})
	if code != 200 {
		t.Fatalf("list: %d %v", code, out)
	}
	listID := str(dig(out, "messages", 0, "id"))
	if code, out := post(map[string]any{"type": "location", "location": map[string]any{"latitude": -23.5, "longitude": -46.6, "name": "Livraria Sabiá"}}); code != 200 {
		t.Fatalf("location: %d %v", code, out)
	}
	if code, out := post(map[string]any{"type": "reaction", "reaction": map[string]string{"message_id": agent.WAMID(hi), "emoji": "❤️"}}); code != 200 {
		t.Fatalf("reaction: %d %v", code, out)
	}
	rs := ana.replies("Escolha\n- Dom Casmurro", "Livraria Sabiá")
	list := rs[0]
	if list.Kind != client.KindBusiness || list.Quote == nil || types.MessageID(list.Quote.Target.MessageId) != hi.ID || agent.WAMID(list.Ref) != listID {
		t.Errorf("the list: %+v", list)
	}
	eventually(t, "the shop's reaction", func() (bool, string) {
		m, err := ana.c.Message(ctxT(t), hi)
		return err == nil && len(m.Reactions) == 1 && m.Reactions[0].Emoji == "❤️", fmt.Sprint(m.Reactions)
	})

	// Ana taps a row and reacts to the list, then takes the reaction back.
	row := ana.send("interactive", `{"type":"list_reply","list_reply":{"id":"dom","title":"Dom Casmurro"}}`, &list)
	if _, err := ana.c.React(ctxT(t), list.Ref, "👍"); err != nil {
		t.Fatal(err)
	}
	evs = s.waitHooks("the row and the reaction", func(evs []hookEvent) bool { return reaction(evs, listID, "👍") >= 0 })
	if m := evs[messageIndex(evs, agent.WAMID(row))].message; dig(m, "interactive", "list_reply", "id") != "dom" || dig(m, "context", "id") != listID {
		t.Errorf("list reply event %v", m)
	}
	if _, err := ana.c.React(ctxT(t), list.Ref, ""); err != nil {
		t.Fatal(err)
	}
	s.waitHooks("the reaction taken back", func(evs []hookEvent) bool { return reaction(evs, listID, "") >= 0 })

	// What the API refuses.
	// (The window is closed for a number that never wrote, so the API
	// refuses before the Messenger; it says 131026 when asked directly.)
	if _, err := s.agent.Send(ctxT(t), phone, cloudapi.Outbound{To: "15550009999", Type: "text", Object: []byte(`{"body":"hi"}`)}); !errors.Is(err, cloudapi.ErrNoRecipient) {
		t.Errorf("to a number nobody has: %v", err)
	}
	if code, out := post(map[string]any{"status": "read", "message_id": "wamid.nope"}); code != 400 || dig(out, "error", "code") != float64(131009) {
		t.Errorf("read of an unknown message: %d %v", code, out)
	}
	if code, out := post(map[string]any{"status": "read", "message_id": listID}); code != 400 {
		t.Errorf("read of the business's own message: %d %v", code, out)
	}
	if code, out := post(map[string]any{"type": "reaction", "reaction": map[string]string{"message_id": "wamid.x", "emoji": "👍"}}); code != 400 {
		t.Errorf("reaction to an unknown id: %d %v", code, out)
	}
	// An order_details in a currency without a payment account.
	details := map[string]any{"type": "order_details", "body": map[string]string{"text": "Pay"}, "action": map[string]any{"name": "review_and_pay",
		"parameters": map[string]any{"reference_id": "R-upi", "type": "digital-goods", "payment_type": "upi", "currency": "INR",
			"total_amount": map[string]int{"value": 100, "offset": 100}}}}
	if code, out := post(map[string]any{"type": "interactive", "interactive": details}); code != 400 || !strings.Contains(str(dig(out, "error", "error_data", "details")), "no payment account for INR") {
		t.Errorf("UPI without an account: %d %v", code, out)
	}
}

func reaction(evs []hookEvent, target, emoji string) int {
	for i, e := range evs {
		if e.message != nil && e.message["type"] == "reaction" && dig(e.message, "reaction", "message_id") == target && dig(e.message, "reaction", "emoji") == emoji {
			return i
		}
	}
	return -1
}

// FuzzParseWAMID: a message id from the API is untrusted; one the agent
// made parses back to its message.
func FuzzParseWAMID(f *testing.F) {
	ref := clientstore.MessageRef{Sender: types.AccountID{1, 2, 3}, ID: types.NewMessageID()}
	f.Add(agent.WAMID(ref))
	f.Add("wamid.")
	f.Add("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := agent.ParseWAMID(s)
		if err != nil {
			return
		}
		if back := agent.WAMID(r); back != s {
			t.Fatalf("%q parses to a ref that prints as %q", s, back)
		}
	})
}

// TestHandoff: a customer who asks for a person gets one: the assistant
// goes quiet, the person answers through the API, and the conversation goes
// back to the assistant with the agent's endpoint.
func TestHandoff(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{assistant: true})
	ana := newCustomer(t, srv, s, "Ana")
	ana.say("I want to talk to a person please")
	ana.replies("passing you to a person")
	quiet := ana.say("Hello? Is anyone there?")
	s.waitHooks("the question to the person", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(quiet)) >= 0 })
	if code, out := s.post("/v23.0/"+s.agent.Settings().PhoneNumberID+"/messages", map[string]any{"messaging_product": "whatsapp",
		"to": ana.waID(), "type": "text", "text": map[string]string{"body": "Hi Ana, this is Bia. How can I help?"}}); code != 200 {
		t.Fatalf("the person's answer: %d %v", code, out)
	}
	if rs := ana.replies("this is Bia"); len(rs) != 1 {
		t.Errorf("the assistant spoke during the handoff: %s", texts(rs))
	}
	if code, out := s.post("/parley/v1/handoffs/"+ana.waID()+"/end", nil); code != 200 {
		t.Fatalf("end handoff: %d %v", code, out)
	}
	ana.replies("back with the assistant")
	ana.say("Do you have Dom Casmurro?")
	ana.replies("Dom Casmurro in stock")
}

// TestRestartBridgesWhatArrived: a message the business's device stored
// while no agent bridged (the agent stopped between the device's
// acknowledgement and the webhook) reaches the webhook when the agent
// starts again, once; what was bridged before is not sent again.
func TestRestartBridgesWhatArrived(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	s := newShop(t, srv, shopOptions{})
	ana := newCustomer(t, srv, s, "Ana")
	one := ana.say("one")
	s.waitHooks("one", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(one)) >= 0 })
	s.stop()

	// The device alone receives "two" and stores it; then its process
	// ends, and its events with it.
	if err := s.dev.Connect(); err != nil {
		t.Fatal(err)
	}
	two := ana.say("two")
	eventually(t, "the device stores two", func() (bool, string) {
		_, err := s.dev.Message(ctxT(t), two)
		return err == nil, fmt.Sprint(err)
	})
	if err := s.dev.Close(); err != nil {
		t.Fatal(err)
	}
	dev, err := client.Open(ctxT(t), s.devDir, options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	s.dev = dev
	s.start()
	evs := s.waitHooks("two after the restart", func(evs []hookEvent) bool { return messageIndex(evs, agent.WAMID(two)) >= 0 })
	n := 0
	for _, e := range evs {
		if e.message != nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d message events, want one each for one and two", n)
	}
	// And the API answers again, in the window "two" renewed.
	if code, out := s.post("/v23.0/"+s.agent.Settings().PhoneNumberID+"/messages", map[string]any{"messaging_product": "whatsapp",
		"to": ana.waID(), "type": "text", "text": map[string]string{"body": "got it"}}); code != 200 {
		t.Errorf("send after the restart: %d %v", code, out)
	}
	ana.replies("got it")
}
