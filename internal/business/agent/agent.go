// Package agent is the business agent: a Parley device of a business's
// account that bridges its end-to-end encrypted chats with customers to the
// WhatsApp-Cloud-API-compatible REST API (internal/business/cloudapi) and
// the webhooks (internal/business/webhook), on the business's own machine,
// so the plaintext exists nowhere else (docs/business-api.md).
//
// What it does:
//
//   - It is cloudapi's Messenger: a Cloud API message becomes Parley content
//     (text → Text, reaction → Reaction, everything else → BusinessMessage
//     {type, json}, Meta's object unchanged) sent with the client SDK to the
//     account behind the wa_id (the directory's phone lookup). Message ids
//     are "wamid." + base64url(author account ‖ Parley message id).
//   - Customers' messages become webhook message events (text, reactions,
//     interactive replies, carts, locations, contacts, ...) and open the
//     24-hour customer service window; the client's sent, receipt and
//     failure events become sent, delivered, read and failed statuses.
//   - Carts (BusinessMessage "order") are placed as commerce orders, which
//     reserves their stock, unless an Assistant answers the customer (then
//     the assistant places the order once the customer confirmed it). A cart
//     that cannot be ordered is refused to the customer and reserves nothing.
//   - An order_details with payment_type br or upi and no payment_settings
//     gets a charge from the payment provider (the sandbox by default): its
//     Pix code or UPI link is filled in. The provider's notifications update
//     the order, go to the webhook as a payment status and reach the
//     customer as an order_status message.
//   - An optional Assistant (the embedded bot, internal/business/bot) gets
//     every customer message and its replies are sent through the same API
//     path as the business's own, with the same rules.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/client/clientstore"
	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/commerceapi"
	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/payment/sandbox"
	"github.com/parley-im/parley/internal/business/webhook"
)

// Config wires an Agent. Client, Store and State are required.
type Config struct {
	// Client is the business's device, registered; Run connects it.
	Client *client.Client
	// Store is the business database (catalog, orders, profile, FAQ).
	Store *bizstore.Store
	// State is the agent's own part of it (settings, tokens, sent messages).
	State *State
	// WebhookQueue keeps events until delivered; nil: the business
	// database's.
	WebhookQueue webhook.Queue
	// Webhook tunes the sender (back-off, timeouts); its Queue, Client,
	// Log and Now are set here.
	Webhook webhook.Config
	// HTTPClient makes the webhook handshake and deliveries; nil: a
	// default client.
	HTTPClient *http.Client
	// Payments is the payment provider; nil: the sandbox with the Pix and
	// UPI accounts of the settings. Its notifications must reach
	// PaymentChanged (the sandbox's are wired here).
	Payments payment.Provider
	// Assistant answers customers; nil: the embedded bot when the settings
	// turn it on, else none.
	Assistant Assistant
	// API tunes the Cloud API handler (rate limits, policy answers); the
	// stores and the Messenger are set here.
	API cloudapi.Config
	// ReservationTTL is how long an unpaid order holds its stock; 0: the
	// commerce default (30 minutes).
	ReservationTTL time.Duration
	// AcceptIdentityChanges sends on when a customer's safety number
	// changed (a new phone): a business cannot compare numbers with every
	// customer. The change is logged.
	AcceptIdentityChanges bool
	Log                   *slog.Logger
	Now                   func() time.Time
}

// Agent is a running business agent.
type Agent struct {
	cfg   Config
	c     *client.Client
	st    *bizstore.Store
	state *State
	log   *slog.Logger
	now   func() time.Time

	settings Settings // as at New; ids never change
	self     clientstore.Account

	Catalogs *commerce.Catalogs
	Orders   *commerce.Orders
	Business *commerce.Business
	FAQs     *commerce.FAQs

	api           *cloudapi.Handler
	hooks         *webhook.Sender
	conversations cloudapi.Conversations
	catalogAPI    cloudapi.Catalog
	pay           payment.Provider
	sandbox       *sandbox.Provider // nil unless the provider is the sandbox
	assistant     Assistant

	// sendMu makes a send and its record one step for the event loop: a
	// status for a message is handled only once the message is recorded.
	sendMu sync.Mutex

	// cursor is, per conversation, the newest message bridged; the
	// event loop's alone.
	cursor map[clientstore.ConversationID]int64

	mu       sync.Mutex
	workers  map[string]*worker // customer → assistant queue
	runCtx   context.Context    // Run's, for the workers
	stopping bool               // Run is returning: start no worker
	wg       sync.WaitGroup
}

// New builds an agent; Run starts it.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Client == nil || cfg.Store == nil || cfg.State == nil {
		return nil, errors.New("agent: Client, Store and State are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	self := cfg.Client.Account()
	if self.ID.IsZero() || self.Phone == "" {
		return nil, errors.New("agent: the business's profile is not registered")
	}
	settings, err := cfg.State.Settings(ctx)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, c: cfg.Client, st: cfg.Store, state: cfg.State, log: cfg.Log.With("component", "business-agent"),
		now: cfg.Now, settings: settings, self: self, workers: map[string]*worker{},
		cursor: map[clientstore.ConversationID]int64{}}
	a.Catalogs = commerce.NewCatalogs(cfg.Store, &commerce.CatalogOptions{Now: cfg.Now})
	a.Orders = commerce.NewOrders(cfg.Store, &commerce.OrderOptions{ReservationTTL: cfg.ReservationTTL, Now: cfg.Now, Logger: a.log})
	a.Business = commerce.NewBusiness(cfg.Store)
	a.FAQs = commerce.NewFAQs(cfg.Store)

	q := cfg.WebhookQueue
	if q == nil {
		// In the business database: an event queued with the change it
		// reports commits with it, and a restart loses nothing.
		q = cfg.Store.WebhookQueue()
	}
	wc := cfg.Webhook
	wc.Queue, wc.Client, wc.Log, wc.Now = q, cfg.HTTPClient, a.log, cfg.Now
	a.hooks = webhook.New(wc)
	if t := settings.Webhook; t != nil && t.URL != "" {
		a.hooks.SetTarget(*t) // verified when it was set
	}

	a.pay = cfg.Payments
	if a.pay == nil {
		a.sandbox, err = sandbox.New(sandbox.Config{Pix: settings.Pix, UPI: settings.UPI, Now: cfg.Now, Store: cfg.Store,
			Notify: func(ctx context.Context, ev payment.Event) { a.PaymentChanged(ctx, ev) }})
		if err != nil {
			return nil, err
		}
		a.pay = a.sandbox
	}

	// The API's data is the business database's; its catalog and profile
	// are commerce's, which the assistant sells from.
	a.conversations = cfg.Store
	a.catalogAPI = commerceapi.NewCatalog(a.Catalogs)
	api := cfg.API
	api.Directory = directory{a}
	api.Tokens = cfg.Store
	api.Messenger = a
	api.Media = cfg.Store
	api.Templates = cfg.Store
	api.Conversations = cfg.Store
	api.Catalog = a.catalogAPI
	api.Profiles = commerceapi.NewProfiles(a.Business, cfg.Store)
	api.Events = a.hooks
	api.Log = a.log
	api.Now = cfg.Now
	api.MessengerFillsPayment = true
	a.api = cloudapi.New(api)

	a.assistant = cfg.Assistant
	if a.assistant == nil && settings.Assistant {
		if a.assistant, err = NewBot(a, nil); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Settings are the settings the agent started with.
func (a *Agent) Settings() Settings { return a.settings }

// API is the Cloud API handler, for the agent's own sends in tests and
// tools.
func (a *Agent) API() *cloudapi.Handler { return a.api }

// Sandbox is the sandbox payment provider, nil if another is configured.
func (a *Agent) Sandbox() *sandbox.Provider { return a.sandbox }

// Handler serves the Cloud API and the agent's own endpoints (/parley/).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/parley/", a.adminHandler())
	mux.Handle("/", a.api)
	return mux
}

// RegisterWebhook verifies t with the handshake, stores it and sends the
// events there from now on.
func (a *Agent) RegisterWebhook(ctx context.Context, t webhook.Target) error {
	if err := a.hooks.Register(ctx, t); err != nil {
		return err
	}
	return a.state.UpdateSettings(ctx, func(s *Settings) error { s.Webhook = &t; return nil })
}

// errFatal wraps the connection errors that end the agent.
var errFatal = errors.New("agent: the business's device cannot connect any more")

// Run connects the business's device and bridges until ctx ends: it
// delivers webhooks, expires unpaid orders, and turns the device's events
// into webhook events and statuses. It returns nil when ctx ends, or why
// the device cannot go on (removed by the server, replaced by another
// process of the same profile).
func (a *Agent) Run(ctx context.Context) error {
	if name, err := a.businessName(ctx); err == nil && name != "" && name != a.c.ProfileName() {
		// Customers see the business's name beside its number.
		if err := a.c.SetProfileName(ctx, name); err != nil {
			a.log.Warn("profile name not set", "err", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	a.mu.Lock()
	a.runCtx, a.stopping = ctx, false
	a.mu.Unlock()
	defer func() {
		cancel()
		a.mu.Lock()
		a.stopping = true // no more assistant workers
		a.mu.Unlock()
		a.wg.Wait()
	}()
	a.wg.Add(2)
	go func() { defer a.wg.Done(); _ = a.hooks.Run(ctx) }()
	go func() { defer a.wg.Done(); _ = a.Orders.Run(ctx) }()
	if err := a.catchUp(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while catching up: the next start goes on
		}
		return fmt.Errorf("agent: bridging what arrived before: %w", err)
	}
	if err := a.c.Connect(); err != nil {
		return err
	}
	defer a.c.Disconnect()
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := a.state.forgetSent(ctx, a.now().Add(-30*24*time.Hour)); err != nil && ctx.Err() == nil {
				a.log.Warn("forgetting old sent messages failed", "err", err)
			}
		case ev, ok := <-a.c.Events():
			if !ok {
				return nil
			}
			if err := a.event(ctx, ev); err != nil {
				if errors.Is(err, errFatal) {
					return err
				}
				if ctx.Err() == nil {
					a.log.Warn("event not bridged", "err", err)
				}
			}
		}
	}
}

// event bridges one event of the business's device.
func (a *Agent) event(ctx context.Context, ev client.Event) error {
	switch ev := ev.(type) {
	case client.MessageEvent:
		return a.inbound(ctx, ev.Message)
	case client.UpdateEvent:
		if ev.Kind == client.Reacted && ev.By.Account != a.self.ID {
			return a.reaction(ctx, ev)
		}
	case client.SentEvent:
		return a.status(ctx, ev.ID, levelSent, nil)
	case client.ReceiptEvent:
		level := levelDelivered
		if ev.Status == clientstore.StatusRead {
			level = levelRead
		}
		for _, id := range ev.IDs {
			if err := a.status(ctx, id, level, nil); err != nil {
				return err
			}
		}
	case client.SendFailedEvent:
		return a.status(ctx, ev.ID, levelFailed, ev.Err)
	case client.IdentityChangedEvent:
		if a.cfg.AcceptIdentityChanges {
			a.log.Info("a customer's safety number changed; accepted", "account_id", ev.Account.String())
			return a.c.AcknowledgeIdentity(ctx, ev.Account)
		}
		a.log.Warn("a customer's safety number changed; messages to them wait until it is verified", "account_id", ev.Account.String())
	case client.ConnectionEvent:
		if errors.Is(ev.Err, client.ErrDeviceGone) || errors.Is(ev.Err, client.ErrReplaced) {
			return fmt.Errorf("%w: %v", errFatal, ev.Err)
		}
		if ev.State == client.Connected {
			a.log.Info("connected")
		}
	}
	return nil
}

// businessName is the profile's name, for the directory and the device.
func (a *Agent) businessName(ctx context.Context) (string, error) {
	p, err := a.Business.Profile(ctx)
	return p.Name, err
}

// meta is the webhook metadata of the business's number.
func (a *Agent) meta() webhook.Metadata {
	return webhook.Metadata{DisplayPhoneNumber: waID(a.self.Phone), PhoneNumberID: a.settings.PhoneNumberID}
}

// directory is cloudapi's Directory over the agent's one business and
// number: ids from the settings, the name and time zone from the profile,
// the catalogs from the store.
type directory struct{ a *Agent }

func (d directory) Business(ctx context.Context, id string) (cloudapi.Business, error) {
	a := d.a
	if id != a.settings.WABAID {
		return cloudapi.Business{}, cloudapi.ErrNotFound
	}
	name, err := a.businessName(ctx)
	if err != nil {
		return cloudapi.Business{}, err
	}
	b := cloudapi.Business{ID: id, Name: name, Currency: a.settings.Currency, PhoneNumberIDs: []string{a.settings.PhoneNumberID},
		// A self-hosted business's reach is its own to decide: the limit
		// protects Meta's network, not a business's own agent.
		Tier: cloudapi.TierUnlimited}
	if h, err := a.Business.Hours(ctx); err == nil {
		b.TimezoneID = h.TimeZone
	}
	cats, err := a.Catalogs.Catalogs(ctx)
	if err != nil {
		return cloudapi.Business{}, err
	}
	for _, c := range cats {
		b.CatalogIDs = append(b.CatalogIDs, c.ID)
	}
	return b, nil
}

func (d directory) PhoneNumber(ctx context.Context, id string) (cloudapi.PhoneNumber, error) {
	a := d.a
	if id != a.settings.PhoneNumberID {
		return cloudapi.PhoneNumber{}, cloudapi.ErrNotFound
	}
	name, err := a.businessName(ctx)
	if err != nil {
		return cloudapi.PhoneNumber{}, err
	}
	s, err := a.state.Settings(ctx)
	if err != nil {
		return cloudapi.PhoneNumber{}, err
	}
	return cloudapi.PhoneNumber{ID: id, WABAID: a.settings.WABAID, DisplayPhoneNumber: a.self.Phone, WaID: waID(a.self.Phone),
		VerifiedName: name, QualityRating: "GREEN", Commerce: s.commerce()}, nil
}

func (d directory) SetCommerceSettings(ctx context.Context, id string, cs cloudapi.CommerceSettings) error {
	if id != d.a.settings.PhoneNumberID {
		return cloudapi.ErrNotFound
	}
	return d.a.state.UpdateSettings(ctx, func(s *Settings) error {
		s.CartDisabled, s.CatalogHidden = !cs.CartEnabled, !cs.CatalogVisible
		return nil
	})
}
