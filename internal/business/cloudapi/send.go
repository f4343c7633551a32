package cloudapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/parley-im/parley/internal/business/webhook"
)

var (
	reflectFloat = reflect.TypeOf(float64(0))
	reflectInt   = reflect.TypeOf(int64(0))
)

// sendRequest is POST {phone}/messages: a message, or a read receipt.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Recipient        string `json:"recipient"`
	Type             string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	BizOpaqueCallbackData *string `json:"biz_opaque_callback_data"`

	Status          string `json:"status"`
	MessageID       string `json:"message_id"`
	TypingIndicator *struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`

	Objects map[string]json.RawMessage `json:"-"`
}

// messageTypes are the keys a message's object may sit under.
var messageTypes = []string{"text", "image", "audio", "video", "document", "sticker", "location",
	"contacts", "reaction", "interactive", "template"}

// DecodeSendRequest parses a send body. It is exported for the fuzz target
// and for the agent's own tools; it checks JSON shape, not limits.
func DecodeSendRequest(body []byte) (*sendRequest, error) {
	var req sendRequest
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&req); err != nil {
		return nil, fail(ErrInvalidParameter, "the request body is not a valid message: %s", jsonProblem(err))
	}
	if d.More() {
		return nil, fail(ErrInvalidParameter, "the request body has data after the JSON object")
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fail(ErrInvalidParameter, "the request body is not a JSON object")
	}
	req.Objects = map[string]json.RawMessage{}
	for _, t := range messageTypes {
		if raw, ok := all[t]; ok {
			req.Objects[t] = raw
		}
	}
	return &req, nil
}

// readBody reads a JSON body, or the form-encoded parameters the Graph API
// also accepts, into JSON.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fail(ErrInvalidParameter, "the request body exceeds %d bytes", limit)
		}
		return nil, fail(ErrInvalidParameter, "the request body could not be read")
	}
	return b, nil
}

func (h *Handler) postMessages(q *request, pn PhoneNumber) error {
	if err := need(q, ScopeMessages); err != nil {
		return err
	}
	body, err := readBody(q.r, maxRequestBody)
	if err != nil {
		return err
	}
	res, err := h.send(q.ctx, pn, body)
	if err != nil {
		return err
	}
	if res.read {
		writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
		return nil
	}
	writeSent(q.w, res.input, res.waID, res.wamid)
	return nil
}

// Send runs body, a POST {phone}/messages request body, through everything
// the API does with it (validation, the messaging policy, rate limits, the
// Messenger, status webhooks) as the business that owns the number: the
// agent's own messages (the assistant's replies, order updates) take this
// path so that they obey the same rules and are reported the same way. It
// returns the message id ("" for a read receipt) or the *Error the API
// would answer. A send the policy refuses is, as over HTTP, accepted with a
// message id whose failed status follows, unless Config.SyncPolicyErrors.
func (h *Handler) Send(ctx context.Context, phoneNumberID string, body []byte) (wamid string, err error) {
	pn, err := h.cfg.Directory.PhoneNumber(ctx, phoneNumberID)
	if errors.Is(err, ErrNotFound) {
		return "", fail(ErrUnknownObject, "no phone number %s", phoneNumberID)
	}
	if err != nil {
		return "", err
	}
	res, err := h.send(ctx, pn, body)
	return res.wamid, err
}

// sendResult is what a send answers: a message accepted for waID (input is
// the "to" as given), or a read receipt done.
type sendResult struct {
	input, waID, wamid string
	read               bool
}

func (h *Handler) send(ctx context.Context, pn PhoneNumber, body []byte) (sendResult, error) {
	req, err := DecodeSendRequest(body)
	if err != nil {
		return sendResult{}, err
	}
	if req.MessagingProduct != "whatsapp" {
		return sendResult{}, fail(ErrInvalidParameter, "The parameter messaging_product is required and must be whatsapp")
	}
	if req.Status != "" {
		return sendResult{read: true}, h.markRead(ctx, pn, req)
	}
	b, err := h.cfg.Directory.Business(ctx, pn.WABAID)
	if err != nil {
		return sendResult{}, err
	}
	switch req.RecipientType {
	case "", "individual":
	case "group":
		return sendResult{}, fail(ErrUnsupportedType, "group messages are not supported on this platform")
	default:
		return sendResult{}, invalid("recipient_type", "must be individual")
	}
	if req.To == "" {
		if req.Recipient != "" {
			return sendResult{}, invalid("recipient", "business-scoped user ids are not supported; use to with the phone number")
		}
		return sendResult{}, missing("to")
	}
	waID, ok := normalizeRecipient(req.To)
	if !ok {
		return sendResult{}, fail(ErrInvalidParameter, "to must be a phone number in international format")
	}
	if waID == pn.WaID {
		return sendResult{}, &Error{Spec: ErrRecipientIsSender}
	}
	typ := req.Type
	if typ == "" {
		typ = "text" // as Meta: type defaults to text
	}
	obj, ok := req.Objects[typ]
	if !ok {
		known := false
		for _, t := range messageTypes {
			known = known || t == typ
		}
		if !known {
			return sendResult{}, fail(ErrUnsupportedType, "message type %q is not supported", typ)
		}
		return sendResult{}, missing(typ)
	}
	// The Graph API takes a parameter that is a JSON-encoded string as the
	// JSON it holds; whatsapp-api-js sends contacts that way.
	var inner string
	if json.Unmarshal(obj, &inner) == nil && json.Valid([]byte(inner)) {
		obj = json.RawMessage(inner)
	}
	out := Outbound{To: waID, Type: typ}
	if req.Context != nil {
		if req.Context.MessageID == "" {
			return sendResult{}, missing("context.message_id")
		}
		out.ReplyTo = req.Context.MessageID
	}
	if req.BizOpaqueCallbackData != nil {
		if err := text("biz_opaque_callback_data", *req.BizOpaqueCallbackData, 0, maxBizOpaque); err != nil {
			return sendResult{}, err
		}
		out.BizOpaqueCallbackData = *req.BizOpaqueCallbackData
	}
	v := &vctx{h: h, ctx: ctx, b: b, pn: pn, to: waID, now: h.now()}
	category := ""
	switch typ {
	case "text":
		err = v.textMessage(obj)
	case "image", "video", "document":
		err = v.media(typ, typ, obj, true, typ == "document")
	case "audio", "sticker":
		err = v.media(typ, typ, obj, false, false)
	case "location":
		err = v.location(obj)
	case "contacts":
		err = v.contacts(obj)
	case "reaction":
		err = v.reaction(obj)
	case "interactive":
		err = v.interactive(obj)
	case "template":
		var rt *RenderedTemplate
		rt, err = v.template(obj)
		if err == nil {
			category = strings.ToLower(rt.Category)
			obj, err = json.Marshal(rt)
		}
	}
	if err != nil {
		return sendResult{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, obj); err != nil {
		return sendResult{}, fail(ErrInvalidParameter, "%s is not valid JSON", typ)
	}
	out.Object = compact.Bytes()

	if err := h.rateLimit(pn, waID); err != nil {
		return sendResult{}, err
	}
	d, err := h.policy(ctx, b, pn, waID, category)
	if err != nil {
		return sendResult{}, err
	}
	out.Pricing = d.pricing
	if d.refuse != nil {
		if h.cfg.SyncPolicyErrors {
			return sendResult{}, d.refuse
		}
		return h.acceptAndFail(ctx, b, pn, req.To, out, d.refuse)
	}
	if v.reference != "" && h.cfg.Conversations != nil {
		owner, err := h.cfg.Conversations.ClaimReference(ctx, b.ID, v.reference, waID)
		if err != nil {
			return sendResult{}, err
		}
		if owner != waID {
			return sendResult{}, invalid("interactive.action.parameters.reference_id", "is already used for another customer's order")
		}
	}
	wamid, err := h.cfg.Messenger.Send(ctx, pn.ID, out)
	if errors.Is(err, ErrNoRecipient) {
		e := fail(ErrUndeliverable, "Message undeliverable: the recipient cannot be reached on this platform.")
		if h.cfg.SyncPolicyErrors {
			return sendResult{}, e
		}
		return h.acceptAndFail(ctx, b, pn, req.To, out, e)
	}
	if err != nil {
		return sendResult{}, err
	}
	return sendResult{input: req.To, waID: waID, wamid: wamid}, nil
}

func writeSent(w http.ResponseWriter, input, waID, wamid string) {
	type contact struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}
	type message struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status"`
	}
	writeJSON(w, http.StatusOK, struct {
		MessagingProduct string    `json:"messaging_product"`
		Contacts         []contact `json:"contacts"`
		Messages         []message `json:"messages"`
	}{"whatsapp", []contact{{input, waID}}, []message{{wamid, "accepted"}}})
}

// acceptAndFail answers a send that policy refuses as Meta does: accepted,
// with a message id that then fails in a status webhook.
func (h *Handler) acceptAndFail(ctx context.Context, b Business, pn PhoneNumber, input string, out Outbound, e *Error) (sendResult, error) {
	wamid := localMessageID()
	if h.cfg.Events != nil {
		st := webhook.Status{
			ID: wamid, Status: "failed", Timestamp: strconv.FormatInt(h.now().Unix(), 10), RecipientID: out.To,
			BizOpaqueCallbackData: out.BizOpaqueCallbackData, Errors: []webhook.StatusError{e.StatusError()},
		}
		meta := webhook.Metadata{DisplayPhoneNumber: pn.WaID, PhoneNumberID: pn.ID}
		if err := h.cfg.Events.EnqueueStatus(ctx, b.ID, meta, st); err != nil {
			return sendResult{}, err
		}
	}
	return sendResult{input: input, waID: out.To, wamid: wamid}, nil
}

// localMessageID is the id of a message that is refused before it reaches
// the Messenger: it has the shape of the agent's ids (32 bytes after
// "wamid."), and random bytes.
func localMessageID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "wamid." + base64.RawURLEncoding.EncodeToString(b)
}

func (h *Handler) markRead(ctx context.Context, pn PhoneNumber, req *sendRequest) error {
	if req.Status != "read" {
		return invalid("status", "must be read")
	}
	if req.MessageID == "" {
		return missing("message_id")
	}
	typing := false
	if req.TypingIndicator != nil {
		if req.TypingIndicator.Type != "text" {
			return invalid("typing_indicator.type", "must be text")
		}
		typing = true
	}
	err := h.cfg.Messenger.MarkRead(ctx, pn.ID, req.MessageID, typing)
	if errors.Is(err, ErrNoMessage) {
		return invalid("message_id", "does not name a message this number received")
	}
	return err
}
