package cloudapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/parley-im/parley/internal/business/webhook"
)

// Spec is one entry of the error registry: everything the Graph envelope
// says about a code except the per-request details.
type Spec struct {
	Code      int
	Subcode   int // 0: none
	HTTP      int
	Type      string // OAuthException, GraphMethodException
	Title     string // the short name; status webhooks' errors[].title
	Message   string // the envelope's message
	Transient bool
}

// The registry: every error the API and its status webhooks emit is one of
// these, so a code means one thing everywhere. HTTP statuses follow Meta's
// error-code table (research note 1.8); codes whose status Meta does not
// publish use 400, as the Graph API does for most client errors.
var (
	ErrMissingToken = &Spec{Code: 104, HTTP: 401, Type: "OAuthException", Title: "Missing access token",
		Message: "An access token is required to request this resource"}
	ErrInvalidToken = &Spec{Code: 190, HTTP: 401, Type: "OAuthException", Title: "Invalid access token",
		Message: "Invalid OAuth access token - Cannot parse access token"}
	ErrExpiredToken = &Spec{Code: 190, Subcode: 463, HTTP: 401, Type: "OAuthException", Title: "Access token has expired",
		Message: "Error validating access token: Session has expired"}
	ErrPermission = &Spec{Code: 200, Subcode: 1349174, HTTP: 403, Type: "OAuthException", Title: "Permission denied",
		Message: "(#200) The access token does not have the permission this request needs"}
	ErrUnknownObject = &Spec{Code: 100, Subcode: 33, HTTP: 400, Type: "GraphMethodException", Title: "Unknown object",
		Message: "Unsupported request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation"}
	ErrUnknownPath = &Spec{Code: 2500, HTTP: 400, Type: "OAuthException", Title: "Unknown path",
		Message: "Unknown path components"}
	ErrInvalidParameter = &Spec{Code: 100, HTTP: 400, Type: "OAuthException", Title: "Invalid parameter",
		Message: "(#100) Invalid parameter"}
	ErrDuplicateTemplate = &Spec{Code: 100, Subcode: 2388024, HTTP: 400, Type: "OAuthException", Title: "Template already exists",
		Message: "(#100) Content in this language already exists"}
	ErrTooManyCalls = &Spec{Code: 4, Subcode: 2446079, HTTP: 429, Type: "OAuthException", Title: "Application request limit reached",
		Message: "(#4) Application request limit reached", Transient: true}
	ErrMessagingLimit = &Spec{Code: 80007, HTTP: 400, Type: "OAuthException", Title: "Messaging limit reached",
		Message: "(#80007) Rate limit issues: the business has reached its messaging limit", Transient: true}
	ErrThroughput = &Spec{Code: 130429, HTTP: 429, Type: "OAuthException", Title: "Rate limit hit",
		Message: "(#130429) Rate limit hit", Transient: true}
	ErrInternal = &Spec{Code: 131000, HTTP: 500, Type: "OAuthException", Title: "Something went wrong",
		Message: "(#131000) Something went wrong", Transient: true}
	ErrAccessDenied = &Spec{Code: 131005, HTTP: 403, Type: "OAuthException", Title: "Access denied",
		Message: "(#131005) Access denied"}
	ErrMissingParameter = &Spec{Code: 131008, HTTP: 400, Type: "OAuthException", Title: "Required parameter is missing",
		Message: "(#131008) Required parameter is missing"}
	ErrParameterValue = &Spec{Code: 131009, HTTP: 400, Type: "OAuthException", Title: "Parameter value is not valid",
		Message: "(#131009) Parameter value is not valid"}
	ErrRecipientIsSender = &Spec{Code: 131021, HTTP: 400, Type: "OAuthException", Title: "Recipient cannot be sender",
		Message: "(#131021) Recipient cannot be sender"}
	ErrUndeliverable = &Spec{Code: 131026, HTTP: 400, Type: "OAuthException", Title: "Message undeliverable",
		Message: "(#131026) Message undeliverable"}
	ErrReengagement = &Spec{Code: 131047, HTTP: 400, Type: "OAuthException", Title: "Re-engagement message",
		Message: "(#131047) Re-engagement message"}
	ErrMarketingOptOut = &Spec{Code: 131050, HTTP: 400, Type: "OAuthException", Title: "User stopped marketing messages",
		Message: "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business"}
	ErrUnsupportedType = &Spec{Code: 131051, HTTP: 400, Type: "OAuthException", Title: "Unsupported message type",
		Message: "(#131051) Unsupported message type"}
	ErrMediaUpload = &Spec{Code: 131053, HTTP: 400, Type: "OAuthException", Title: "Media upload error",
		Message: "(#131053) Media upload error"}
	ErrPairRate = &Spec{Code: 131056, HTTP: 400, Type: "OAuthException", Title: "Pair rate limit hit",
		Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit", Transient: true}
	ErrTemplateParamCount = &Spec{Code: 132000, HTTP: 400, Type: "OAuthException", Title: "Number of parameters does not match the expected number of params",
		Message: "(#132000) Number of parameters does not match the expected number of params"}
	ErrTemplateMissing = &Spec{Code: 132001, HTTP: 404, Type: "OAuthException", Title: "Template name does not exist in the translation",
		Message: "(#132001) Template name does not exist in the translation"}
	ErrTemplateTooLong = &Spec{Code: 132005, HTTP: 400, Type: "OAuthException", Title: "Translated text too long",
		Message: "(#132005) Translated text too long"}
	ErrTemplateParamFormat = &Spec{Code: 132012, HTTP: 400, Type: "OAuthException", Title: "Parameter format does not match format in the created template",
		Message: "(#132012) Parameter format does not match format in the created template"}
	ErrTemplatePaused = &Spec{Code: 132015, HTTP: 400, Type: "OAuthException", Title: "Template is paused",
		Message: "(#132015) Template is paused"}
	ErrTemplateDisabled = &Spec{Code: 132016, HTTP: 400, Type: "OAuthException", Title: "Template is disabled",
		Message: "(#132016) Template is disabled"}
	ErrNotRegistered = &Spec{Code: 133010, HTTP: 400, Type: "OAuthException", Title: "Phone number not registered",
		Message: "(#133010) Account not registered"}
	ErrGenericUser = &Spec{Code: 135000, HTTP: 400, Type: "OAuthException", Title: "Generic user error",
		Message: "(#135000) Generic user error"}
)

// Registry lists every Spec, for documentation and for the test that keeps
// (code, subcode) pairs unique.
func Registry() []*Spec {
	return []*Spec{ErrMissingToken, ErrInvalidToken, ErrExpiredToken, ErrPermission, ErrUnknownObject,
		ErrUnknownPath, ErrInvalidParameter, ErrDuplicateTemplate, ErrTooManyCalls, ErrMessagingLimit,
		ErrThroughput, ErrInternal, ErrAccessDenied, ErrMissingParameter, ErrParameterValue,
		ErrRecipientIsSender, ErrUndeliverable, ErrReengagement, ErrMarketingOptOut, ErrUnsupportedType,
		ErrMediaUpload, ErrPairRate, ErrTemplateParamCount, ErrTemplateMissing, ErrTemplateTooLong,
		ErrTemplateParamFormat, ErrTemplatePaused, ErrTemplateDisabled, ErrNotRegistered, ErrGenericUser}
}

// Error is a Spec with what this request adds: details for error_data and
// an optional Retry-After.
type Error struct {
	Spec       *Spec
	Details    string
	RetryAfter int // seconds; 0: no header
}

func (e *Error) Error() string {
	if e.Details == "" {
		return e.Spec.Message
	}
	return e.Spec.Message + ": " + e.Details
}

// Is lets errors.Is(err, ErrReengagement) work on a *Error.
func (s *Spec) Error() string { return s.Message }

func (e *Error) Is(target error) bool {
	s, ok := target.(*Spec)
	return ok && s == e.Spec
}

// fail builds an *Error with details made by fmt.Sprintf.
func fail(s *Spec, format string, args ...any) *Error {
	return &Error{Spec: s, Details: fmt.Sprintf(format, args...)}
}

// StatusError is the errors[] entry of a failed status webhook for s: the
// same code, title and details the synchronous envelope would carry.
func (e *Error) StatusError() webhook.StatusError {
	details := e.Details
	if details == "" {
		details = e.Spec.Title
	}
	return webhook.StatusError{
		Code: e.Spec.Code, Title: e.Spec.Title, Message: e.Spec.Title,
		ErrorData: &webhook.ErrorData{Details: details},
		Href:      "/documentation/business-messaging/whatsapp/support/error-codes",
	}
}

type envelope struct {
	Error envelopeBody `json:"error"`
}

type envelopeBody struct {
	Message      string     `json:"message"`
	Type         string     `json:"type"`
	Code         int        `json:"code"`
	ErrorSubcode int        `json:"error_subcode,omitempty"`
	IsTransient  bool       `json:"is_transient"`
	ErrorData    *errorData `json:"error_data,omitempty"`
	FBTraceID    string     `json:"fbtrace_id"`
}

type errorData struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	Details          string `json:"details"`
}

// traceID is a fresh fbtrace_id: opaque, unique enough to find a request
// in the agent's log.
func traceID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writeError answers with the Graph error envelope. Anything that is not
// an *Error is an internal error; its text is not shown to the caller.
func writeError(w http.ResponseWriter, err error) string {
	var e *Error
	if !errors.As(err, &e) {
		var s *Spec
		if errors.As(err, &s) {
			e = &Error{Spec: s}
		} else {
			e = &Error{Spec: ErrInternal}
		}
	}
	body := envelopeBody{
		Message: e.Spec.Message, Type: e.Spec.Type, Code: e.Spec.Code, ErrorSubcode: e.Spec.Subcode,
		IsTransient: e.Spec.Transient, FBTraceID: traceID(),
	}
	if e.Details != "" || e.Spec.Code >= 130000 {
		d := &errorData{Details: e.Details}
		if e.Spec.Code >= 130000 {
			d.MessagingProduct = "whatsapp"
		}
		if d.Details == "" {
			d.Details = e.Spec.Title
		}
		body.ErrorData = d
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Spec.HTTP == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token"`)
	}
	w.Header().Set("x-fb-trace-id", body.FBTraceID)
	writeJSON(w, e.Spec.HTTP, envelope{Error: body})
	return body.FBTraceID
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
