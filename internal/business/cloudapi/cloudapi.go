// Package cloudapi serves the WhatsApp Business Platform Cloud API surface
// of a Parley business agent, compatible enough that existing Cloud API
// client libraries work by changing only their base URL.
//
// Requests are routed as the Graph API does, /{vN.M}/{object-id}[/{edge}]
// for any version and also without one; object ids are opaque decimal
// strings. Callers authenticate with bearer tokens (or access_token=) that
// belong to one business, carry scopes and may expire; the store keeps only
// their SHA-256. Every error is the Graph envelope with a code from the one
// registry in errors.go.
//
// The handler never talks to Parley itself: it validates a send and applies
// the messaging policy, then hands the Cloud API object to a Messenger (the
// agent, which encrypts it to the customer). It reads and writes business
// data through small interfaces (Directory, TokenStore, MediaStore,
// TemplateStore, Conversations, Catalog, Profiles) and reports asynchronous
// outcomes through Events (the webhook sender).
//
// Choices where Meta's behaviour cannot be copied or is a policy decision:
//
//   - Templates are approved automatically when they pass validation (a
//     self-hosted business reviews its own templates); Config.ReviewTemplate
//     can hold them PENDING or reject them instead. A
//     message_template_status_update webhook reports the outcome.
//   - Sends refused by messaging policy (outside the 24-hour customer
//     service window 131047, marketing opt-out 131050, no opt-in 131026) are
//     accepted with a message id and followed by a failed status webhook, as
//     Meta reports them asynchronously; Config.SyncPolicyErrors answers them
//     synchronously instead, which is easier to debug.
//   - Throughput (130429), pair rate (131056) and the messaging limit
//     (80007: the business reached its tier's unique users outside the
//     window in 24 hours) are answered synchronously, since the caller must
//     slow down and no message exists yet.
//   - The business profile's GET returns the flat data[] form the client
//     libraries type, not the data[].business_profile nesting of Meta's
//     OpenAPI example.
package cloudapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/parley-im/parley/internal/business/webhook"
)

// Sentinel errors the interfaces below return.
var (
	// ErrNotFound: no such object (token, media, template, product, ...).
	ErrNotFound = errors.New("cloudapi: not found")
	// ErrExists: a template of that name and language, a product with that
	// retailer_id, already exists.
	ErrExists = errors.New("cloudapi: already exists")
	// ErrNoRecipient: the Messenger cannot reach the wa_id (no Parley
	// account behind the number). Reported as a failed status, 131026.
	ErrNoRecipient = errors.New("cloudapi: recipient not reachable")
	// ErrNoMessage: MarkRead for a message the Messenger does not know.
	ErrNoMessage = errors.New("cloudapi: no such message")
)

// Outbound is one message for the Messenger: the Cloud API object, already
// validated, passed through in Meta's shape.
type Outbound struct {
	To      string // the customer's wa_id
	Type    string // text, image, ..., interactive, template
	Object  json.RawMessage
	ReplyTo string // context.message_id, if any
	// BizOpaqueCallbackData must be echoed in this message's statuses.
	BizOpaqueCallbackData string
	// Pricing belongs in this message's sent/delivered/read statuses.
	Pricing webhook.Pricing
}

// RenderedTemplate is Outbound.Object for a template: what the customer
// sees, with every parameter substituted.
type RenderedTemplate struct {
	Name     string           `json:"name"`
	Language string           `json:"language"`
	Category string           `json:"category"`
	Header   *RenderedHeader  `json:"header,omitempty"`
	Body     string           `json:"body,omitempty"`
	Footer   string           `json:"footer,omitempty"`
	Buttons  []RenderedButton `json:"buttons,omitempty"`
}

// RenderedHeader is a template header: text, or a media object
// ({"id"} or {"link"}) under the key named by Type, or a location.
type RenderedHeader struct {
	Type     string          `json:"type"` // text | image | video | document | location
	Text     string          `json:"text,omitempty"`
	Image    json.RawMessage `json:"image,omitempty"`
	Video    json.RawMessage `json:"video,omitempty"`
	Document json.RawMessage `json:"document,omitempty"`
	Location json.RawMessage `json:"location,omitempty"`
}

// RenderedButton is a template button with its send-time parameter.
type RenderedButton struct {
	Type        string `json:"type"` // quick_reply | url | phone_number | copy_code | catalog | ...
	Text        string `json:"text"`
	Payload     string `json:"payload,omitempty"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	Code        string `json:"code,omitempty"`
}

// Messenger delivers to customers; the business agent implements it on the
// Parley client SDK. An error of Send that is an *Error is answered as it
// is (say, a payment the Messenger cannot fill in).
type Messenger interface {
	// Send queues m to m.To and returns its message id ("wamid.…"). It
	// returns ErrNoRecipient when m.To cannot be reached.
	Send(ctx context.Context, phoneNumberID string, m Outbound) (wamid string, err error)
	// MarkRead marks an inbound message read and, if typing, shows the
	// typing indicator to its sender. ErrNoMessage: unknown message id.
	MarkRead(ctx context.Context, phoneNumberID, messageID string, typing bool) error
}

// Events is where the handler reports what happens after a request: failed
// statuses and template status updates. *webhook.Sender implements it.
type Events interface {
	EnqueueStatus(ctx context.Context, wabaID string, meta webhook.Metadata, st webhook.Status) error
	Enqueue(ctx context.Context, ev webhook.Event) (bool, error)
}

// Tier is a messaging limit: unique customers reached outside the customer
// service window in a moving 24 hours. 0 means unlimited.
type Tier int

// The tiers, in upgrade order.
const (
	Tier250       Tier = 250
	Tier2K        Tier = 2000
	Tier10K       Tier = 10000
	Tier100K      Tier = 100000
	TierUnlimited Tier = 0
)

// Name is the tier's name as Meta spells messaging_limit_tier.
func (t Tier) Name() string {
	switch t {
	case Tier250:
		return "TIER_250"
	case Tier2K:
		return "TIER_2K"
	case Tier10K:
		return "TIER_10K"
	case Tier100K:
		return "TIER_100K"
	case TierUnlimited:
		return "TIER_UNLIMITED"
	}
	return "TIER_" + itoa(int(t))
}

// Next is the tier above t (Meta upgrades a business whose quality is good
// once it has used half its limit; the agent decides when and stores the
// new tier in its Directory). Unlimited stays unlimited.
func (t Tier) Next() Tier {
	switch t {
	case Tier250:
		return Tier2K
	case Tier2K:
		return Tier10K
	case Tier10K:
		return Tier100K
	}
	return TierUnlimited
}

// Business is a WhatsApp Business Account (WABA): the business, its phone
// numbers and the catalogs connected to it.
type Business struct {
	ID             string // decimal
	Name           string
	Currency       string
	TimezoneID     string
	PhoneNumberIDs []string
	CatalogIDs     []string
	Tier           Tier
}

// PhoneNumber is one business phone number.
type PhoneNumber struct {
	ID                 string // decimal phone_number_id
	WABAID             string
	DisplayPhoneNumber string // E.164 digits as shown, e.g. "+55 11 99999-0000"
	WaID               string // the number's own digits, to refuse sends to itself
	VerifiedName       string
	QualityRating      string // GREEN | YELLOW | RED | UNKNOWN
	Throughput         int    // messages per second; 0: Config.Throughput
	Commerce           CommerceSettings
}

// CommerceSettings are a number's whatsapp_commerce_settings.
type CommerceSettings struct {
	CartEnabled    bool
	CatalogVisible bool
}

// Directory knows the businesses and their numbers (bizstore in the
// agent; MemDirectory here).
type Directory interface {
	Business(ctx context.Context, wabaID string) (Business, error)
	PhoneNumber(ctx context.Context, phoneNumberID string) (PhoneNumber, error)
	SetCommerceSettings(ctx context.Context, phoneNumberID string, cs CommerceSettings) error
}

// Scope is what a token may do.
type Scope string

// The scopes. ScopeAdmin includes every other.
const (
	ScopeMessages  Scope = "messages"
	ScopeMedia     Scope = "media"
	ScopeProfile   Scope = "profile"
	ScopeTemplates Scope = "templates"
	ScopeCatalog   Scope = "catalog"
	ScopeAdmin     Scope = "admin"
)

// Token is an access token's grant: one business, some scopes, maybe an
// expiry. The token itself is never stored, only its SHA-256.
type Token struct {
	WABAID  string
	Scopes  []Scope
	Expires time.Time // zero: never
}

// Has reports whether t grants s.
func (t Token) Has(s Scope) bool {
	for _, x := range t.Scopes {
		if x == s || x == ScopeAdmin {
			return true
		}
	}
	return false
}

// TokenStore finds a token's grant by the token's SHA-256.
type TokenStore interface {
	Token(ctx context.Context, hash [32]byte) (Token, error) // ErrNotFound
}

// Media is an uploaded file's metadata.
type Media struct {
	ID            string
	PhoneNumberID string
	MIMEType      string
	SHA256        string // hex
	FileSize      int64
	Filename      string
	Created       time.Time
}

// MediaStore keeps uploaded files. The agent reads them too, to upload a
// message's media to Parley.
type MediaStore interface {
	// PutMedia stores r's bytes under m.ID; m.SHA256 and m.FileSize are
	// filled in by the caller after the upload, with a second PutMedia
	// of the metadata only (r nil).
	PutMedia(ctx context.Context, m Media, r io.Reader) error
	Media(ctx context.Context, id string) (Media, error) // ErrNotFound
	OpenMedia(ctx context.Context, id string) (io.ReadCloser, error)
	DeleteMedia(ctx context.Context, id string) error
}

// Template is a message template definition. Components is the definition
// in Meta's create shape (uppercase types).
type Template struct {
	ID              string          `json:"id"`
	WABAID          string          `json:"-"`
	Name            string          `json:"name"`
	Language        string          `json:"language"`
	Category        string          `json:"category"`
	Status          string          `json:"status"` // APPROVED | PENDING | REJECTED | PAUSED | DISABLED
	ParameterFormat string          `json:"parameter_format,omitempty"`
	Components      json.RawMessage `json:"components"`
	RejectedReason  string          `json:"rejected_reason,omitempty"`
	Created         time.Time       `json:"-"`
}

// TemplateStore keeps templates.
type TemplateStore interface {
	CreateTemplate(ctx context.Context, t Template) error // ErrExists for the same (business, name, language)
	Templates(ctx context.Context, wabaID string) ([]Template, error)
	Template(ctx context.Context, id string) (Template, error) // ErrNotFound
	DeleteTemplate(ctx context.Context, id string) error
}

// Consent is a customer's opt-in state towards one business number.
type Consent struct {
	OptedIn         bool // may receive business-initiated (template) messages
	MarketingOptOut bool // asked to stop marketing messages
	Updated         time.Time
}

// Conversations is the messaging-policy state: customer service windows,
// consent, who was reached outside a window (for the messaging limit), and
// which customer an order reference belongs to.
type Conversations interface {
	LastInbound(ctx context.Context, phoneNumberID, waID string) (time.Time, error) // zero: never
	RecordInbound(ctx context.Context, phoneNumberID, waID string, at time.Time) error
	Consent(ctx context.Context, phoneNumberID, waID string) (Consent, error)
	SetConsent(ctx context.Context, phoneNumberID, waID string, c Consent) error
	// Reached reports how many distinct customers the business reached
	// outside a window since the given time, and whether waID is one.
	Reached(ctx context.Context, wabaID, waID string, since time.Time) (n int, includes bool, err error)
	RecordReached(ctx context.Context, wabaID, waID string, at time.Time) error
	// ClaimReference binds an order reference_id to a customer on first
	// use and returns the customer it is bound to.
	ClaimReference(ctx context.Context, wabaID, referenceID, waID string) (owner string, err error)
	// Reference returns the customer a reference_id is bound to (ErrNotFound).
	Reference(ctx context.Context, wabaID, referenceID string) (owner string, err error)
}

// Product is a catalog item as the API sees it; prices in minor units.
type Product struct {
	ID                     string
	CatalogID              string
	RetailerID             string
	Name                   string
	Description            string
	Brand                  string
	URL                    string
	ImageURL               string
	Price                  int64 // minor units
	SalePrice              int64 // minor units; 0: none
	Currency               string
	Availability           string // in stock | out of stock | ...
	Inventory              *int64 // nil: not tracked
	Condition              string
	Category               string
	RetailerProductGroupID string
}

// ProductUpdate changes the non-nil fields of a product.
type ProductUpdate struct {
	Name, Description, Brand, URL, ImageURL *string
	Price, SalePrice                        *int64
	Currency, Availability, Condition       *string
	Inventory                               *int64
	Category, RetailerProductGroupID        *string
}

// Catalog is the commerce side: the agent wires it to
// internal/business/commerce.
type Catalog interface {
	Products(ctx context.Context, catalogID string) ([]Product, error)
	CreateProduct(ctx context.Context, catalogID string, p Product) (Product, error) // ErrExists: retailer_id taken
	Product(ctx context.Context, productItemID string) (Product, error)              // ErrNotFound
	ProductByRetailerID(ctx context.Context, catalogID, retailerID string) (Product, error)
	UpdateProduct(ctx context.Context, productItemID string, u ProductUpdate) (Product, error)
	DeleteProduct(ctx context.Context, productItemID string) error
}

// Profile is a number's business profile as the Cloud API shows it.
type Profile struct {
	About             string
	Address           string
	Description       string
	Email             string
	ProfilePictureURL string
	Websites          []string
	Vertical          string
}

// ProfileUpdate changes the non-nil fields.
type ProfileUpdate struct {
	About, Address, Description, Email *string
	ProfilePictureURL                  *string
	ProfilePictureHandle               *string
	Websites                           *[]string
	Vertical                           *string
}

// Profiles keeps business profiles (commerce in the agent).
type Profiles interface {
	Profile(ctx context.Context, phoneNumberID string) (Profile, error)
	UpdateProfile(ctx context.Context, phoneNumberID string, u ProfileUpdate) error
}

// Config wires a Handler. Directory, Tokens and Messenger are required; a
// nil store disables its endpoints (they answer as unknown paths).
type Config struct {
	Directory     Directory
	Tokens        TokenStore
	Messenger     Messenger
	Media         MediaStore
	Templates     TemplateStore
	Conversations Conversations
	Catalog       Catalog
	Profiles      Profiles
	Events        Events
	Log           *slog.Logger
	Now           func() time.Time

	// Throughput is messages per second per number (Meta: 80); 0: 80.
	Throughput int
	// PairInterval is the sustained pace of messages from one number to one
	// customer (Meta: about one per 6 s); PairBurst how many may come at
	// once. 0: 6 s and 45.
	PairInterval time.Duration
	PairBurst    int
	// Window is the customer service window; 0: 24 h.
	Window time.Duration
	// SyncPolicyErrors answers 131047/131050/131026 policy refusals with
	// an error instead of an accepted send and a failed status.
	SyncPolicyErrors bool
	// MessengerFillsPayment lets an order_details of payment_type br or upi
	// leave out payment_settings: the Messenger fills them in (the agent
	// asks its payment provider for a charge: a Pix code or a UPI link).
	MessengerFillsPayment bool
	// ReviewTemplate decides a new template's status and reason; nil
	// approves every valid template.
	ReviewTemplate func(Template) (status, reason string)
	// MediaURLTTL is how long a media download URL works; 0: 5 min.
	MediaURLTTL time.Duration
	// MediaKey signs download URLs; nil: a random key (URLs die with the
	// process, which their 5 minutes allow).
	MediaKey []byte
	// MaxUpload bounds an upload; 0: 100 MiB.
	MaxUpload int64
	// PublicURL is the base of media download URLs, e.g.
	// "https://biz.example"; "": from the request's Host.
	PublicURL string
}

func randomKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
