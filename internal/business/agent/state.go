package agent

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/payment/sandbox"
	"github.com/parley-im/parley/internal/business/webhook"
)

// State is what the agent keeps of its own in the business database
// (bizstore), beside what bizstore keeps for the API: its settings (the
// ids it assigned itself, the webhook target, the payment accounts, how it
// sells) and a record of every message it sent through the API (for the
// statuses that follow). Its two tables are prefixed agent_ and created
// here, so that they need no migration number of bizstore's. Access tokens
// are bizstore's; State issues them for the agent's business.
type State struct {
	st  *bizstore.Store
	now func() time.Time
}

const stateSchema = `
CREATE TABLE IF NOT EXISTS agent_settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_outbound (
	wamid      TEXT PRIMARY KEY,
	recipient  TEXT NOT NULL,
	biz_opaque TEXT NOT NULL,
	pricing    TEXT NOT NULL,
	status     INTEGER NOT NULL,
	reference  TEXT NOT NULL,
	created    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_outbound_reference ON agent_outbound (reference, created);
CREATE TABLE IF NOT EXISTS agent_cursors (
	conversation INTEGER PRIMARY KEY,
	seq          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_outbound_created ON agent_outbound (created);
`

// OpenState creates the agent's tables in st if they are missing.
func OpenState(ctx context.Context, st *bizstore.Store, now func() time.Time) (*State, error) {
	if now == nil {
		now = time.Now
	}
	if _, err := st.Querier(ctx).ExecContext(ctx, stateSchema); err != nil {
		return nil, fmt.Errorf("agent: create state tables: %w", err)
	}
	return &State{st: st, now: now}, nil
}

// Settings are the agent's configuration that the `parley business`
// commands set and `parley business serve` reads.
type Settings struct {
	// WABAID and PhoneNumberID are the ids the API knows the business and
	// its number by, assigned once (random 16-digit decimals).
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	// CatalogID is the catalog the agent's commands and assistant use.
	CatalogID string `json:"catalog_id,omitempty"`
	// Currency (ISO 4217) and Country (ISO 3166-1 alpha-2) of the business:
	// they choose the payment method (BRL: Pix, INR: UPI).
	Currency string `json:"currency,omitempty"`
	Country  string `json:"country,omitempty"`
	// Language is the assistant's language until a customer's is clear.
	Language string `json:"language,omitempty"`
	// Delivery and Pickup say how orders reach customers (neither: both);
	// DeliveryFee is charged on deliveries, in minor units.
	Delivery    bool  `json:"delivery,omitempty"`
	Pickup      bool  `json:"pickup,omitempty"`
	DeliveryFee int64 `json:"delivery_fee,omitempty"`
	// Assistant turns the embedded assistant on.
	Assistant bool `json:"assistant,omitempty"`
	// CartDisabled and CatalogHidden are the whatsapp_commerce_settings,
	// inverted so that the zero value is Meta's default (both on).
	CartDisabled  bool `json:"cart_disabled,omitempty"`
	CatalogHidden bool `json:"catalog_hidden,omitempty"`
	// Webhook is where events go, verified with the handshake when set.
	Webhook *webhook.Target `json:"webhook,omitempty"`
	// Pix and UPI are the sandbox payment provider's accounts.
	Pix *sandbox.PixAccount `json:"pix,omitempty"`
	UPI *sandbox.UPIAccount `json:"upi,omitempty"`
	// Listen is where `parley business serve` last listened, so that the
	// other commands find it (sandbox payments are settled there).
	Listen string `json:"listen,omitempty"`
}

const settingsKey = "settings"

func (s Settings) commerce() cloudapi.CommerceSettings {
	return cloudapi.CommerceSettings{CartEnabled: !s.CartDisabled, CatalogVisible: !s.CatalogHidden}
}

// Settings returns the settings, assigning the business's ids the first
// time.
func (s *State) Settings(ctx context.Context) (Settings, error) {
	var out Settings
	err := s.UpdateSettings(ctx, func(*Settings) error { return nil })
	if err != nil {
		return out, err
	}
	return s.readSettings(ctx)
}

func (s *State) readSettings(ctx context.Context) (Settings, error) {
	var v string
	var out Settings
	err := s.st.Querier(ctx).QueryRowContext(ctx, `SELECT value FROM agent_settings WHERE key = ?`, settingsKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("agent: read settings: %w", err)
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return out, fmt.Errorf("agent: settings are corrupt: %w", err)
	}
	return out, nil
}

// UpdateSettings changes the settings with edit in one transaction.
func (s *State) UpdateSettings(ctx context.Context, edit func(*Settings) error) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.readSettings(ctx)
		if err != nil {
			return err
		}
		next := cur
		if err := edit(&next); err != nil {
			return err
		}
		if next.WABAID == "" {
			if next.WABAID, err = s.st.NewObjectID(ctx, "waba"); err != nil {
				return err
			}
		}
		if next.PhoneNumberID == "" {
			if next.PhoneNumberID, err = s.st.NewObjectID(ctx, "phone_number"); err != nil {
				return err
			}
		}
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		old, _ := json.Marshal(cur)
		if string(b) == string(old) {
			return nil
		}
		_, err = s.st.Querier(ctx).ExecContext(ctx,
			`INSERT INTO agent_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			settingsKey, string(b))
		return err
	})
}

// TokenInfo describes an access token (never the token itself).
type TokenInfo = bizstore.TokenInfo

// validScopes are the scopes a token may have.
var validScopes = []cloudapi.Scope{cloudapi.ScopeMessages, cloudapi.ScopeMedia, cloudapi.ScopeProfile,
	cloudapi.ScopeTemplates, cloudapi.ScopeCatalog, cloudapi.ScopeAdmin}

// ParseScopes reads a comma-separated scope list.
func ParseScopes(s string) ([]cloudapi.Scope, error) {
	var out []cloudapi.Scope
	for _, f := range strings.Split(s, ",") {
		sc := cloudapi.Scope(strings.TrimSpace(f))
		if sc == "" {
			continue
		}
		if !slices.Contains(validScopes, sc) {
			return nil, fmt.Errorf("unknown scope %q (scopes: messages, media, profile, templates, catalog, admin)", string(sc))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scopes")
	}
	return out, nil
}

// CreateToken issues an access token for the agent's business with scopes
// that expires at expires (zero: never) and returns it, the only time it
// is seen.
func (s *State) CreateToken(ctx context.Context, label string, scopes []cloudapi.Scope, expires time.Time) (string, TokenInfo, error) {
	set, err := s.Settings(ctx)
	if err != nil {
		return "", TokenInfo{}, err
	}
	return s.st.IssueToken(ctx, cloudapi.Token{WABAID: set.WABAID, Scopes: scopes, Expires: expires}, label)
}

// Tokens lists the tokens, oldest first.
func (s *State) Tokens(ctx context.Context) ([]TokenInfo, error) { return s.st.Tokens(ctx) }

// errNoToken: revoke of a token id that is not there.
var errNoToken = errors.New("no token with that id")

// RevokeToken deletes a token by its id.
func (s *State) RevokeToken(ctx context.Context, id string) error {
	err := s.st.RevokeToken(ctx, id)
	if errors.Is(err, bizstore.ErrNotFound) {
		return errNoToken
	}
	return err
}

// Status levels of a sent message: statuses only move forward.
const (
	levelQueued = iota
	levelSent
	levelDelivered
	levelRead
	levelFailed
)

var levelNames = [...]string{"", "sent", "delivered", "read", "failed"}

// sentRecord is what the statuses of a message the API sent need.
type sentRecord struct {
	WAMID     string
	Recipient string // wa_id
	BizOpaque string
	Pricing   webhook.Pricing
	Reference string // an order_details message's reference_id
	Level     int
}

func (s *State) recordSent(ctx context.Context, r sentRecord) error {
	p, _ := json.Marshal(r.Pricing)
	_, err := s.st.Querier(ctx).ExecContext(ctx, `INSERT INTO agent_outbound (wamid, recipient, biz_opaque, pricing, status, reference, created)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (wamid) DO NOTHING`,
		r.WAMID, r.Recipient, r.BizOpaque, string(p), levelQueued, r.Reference, s.now().UnixMilli())
	return err
}

// advance moves a sent message's status up to level and returns the record
// as it was; ok is false for a message the API did not send.
func (s *State) advance(ctx context.Context, wamid string, level int) (r sentRecord, ok bool, err error) {
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		q := s.st.Querier(ctx)
		var p string
		err := q.QueryRowContext(ctx, `SELECT recipient, biz_opaque, pricing, reference, status FROM agent_outbound WHERE wamid = ?`, wamid).
			Scan(&r.Recipient, &r.BizOpaque, &p, &r.Reference, &r.Level)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok, r.WAMID = true, wamid
		_ = json.Unmarshal([]byte(p), &r.Pricing)
		if level > r.Level && r.Level != levelFailed {
			_, err = q.ExecContext(ctx, `UPDATE agent_outbound SET status = ? WHERE wamid = ?`, level, wamid)
		}
		return err
	})
	return r, ok, err
}

// orderDetailsMessage is the newest order_details message sent for an
// order reference ("" if none).
func (s *State) orderDetailsMessage(ctx context.Context, reference string) (string, error) {
	var w string
	err := s.st.Querier(ctx).QueryRowContext(ctx, `SELECT wamid FROM agent_outbound WHERE reference = ? ORDER BY created DESC LIMIT 1`, reference).Scan(&w)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return w, err
}

// cursors are, per conversation of the business's device, the newest
// message bridged to the webhook; started says whether the agent ever ran
// (a conversation without a cursor is then bridged from its start).
func (s *State) cursors(ctx context.Context) (map[int64]int64, bool, error) {
	rows, err := s.st.Querier(ctx).QueryContext(ctx, `SELECT conversation, seq FROM agent_cursors`)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var c, seq int64
		if err := rows.Scan(&c, &seq); err != nil {
			return nil, false, err
		}
		out[c] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	var started int
	err = s.st.Querier(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM agent_settings WHERE key = 'bridging'`).Scan(&started)
	return out, started > 0, err
}

// setCursor moves a conversation's cursor forward to seq.
func (s *State) setCursor(ctx context.Context, conversation, seq int64) error {
	_, err := s.st.Querier(ctx).ExecContext(ctx, `INSERT INTO agent_cursors (conversation, seq) VALUES (?, ?)
		ON CONFLICT (conversation) DO UPDATE SET seq = MAX(seq, excluded.seq)`, conversation, seq)
	return err
}

// markStarted records that the agent bridges from now on.
func (s *State) markStarted(ctx context.Context) error {
	_, err := s.st.Querier(ctx).ExecContext(ctx, `INSERT INTO agent_settings (key, value) VALUES ('bridging', '1') ON CONFLICT (key) DO NOTHING`)
	return err
}

// forgetSent drops the records of messages sent before the given time:
// statuses come within days.
func (s *State) forgetSent(ctx context.Context, before time.Time) error {
	_, err := s.st.Querier(ctx).ExecContext(ctx, `DELETE FROM agent_outbound WHERE created < ?`, before.UnixMilli())
	return err
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

// DatabaseFile is the business database's file name in the business's
// profile directory, beside the client's store.
const DatabaseFile = "business.db"

// OpenDatabase opens (creating it if needed) the business database of the
// profile in dir and the agent's state in it.
func OpenDatabase(ctx context.Context, dir string, now func() time.Time) (*bizstore.Store, *State, error) {
	st, err := bizstore.Open(ctx, filepath.Join(dir, DatabaseFile), nil)
	if err != nil {
		return nil, nil, err
	}
	state, err := OpenState(ctx, st, now)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, state, nil
}
