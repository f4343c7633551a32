package bot

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Conversation is what the bot remembers of one customer. It is plain data
// that survives a JSON round trip, so a store can keep it as one JSON column.
type Conversation struct {
	Customer string `json:"customer"`
	// Lang is the customer's language as last detected with confidence.
	Lang Lang `json:"lang,omitempty"`
	// Cart is built from the conversation or a cart message.
	Cart       []CartLine `json:"cart,omitempty"`
	Fulfilment Fulfilment `json:"fulfilment,omitempty"`
	Address    string     `json:"address,omitempty"`
	// Pending is the question the bot asked and awaits an answer to.
	Pending Pending `json:"pending,omitempty"`
	// Quote is what the customer is asked to confirm (Pending ==
	// PendingConfirm): the engine creates exactly this order or none.
	Quote *Quote `json:"quote,omitempty"`
	// CancelRef is the order the customer is asked to confirm canceling.
	CancelRef string `json:"cancel_ref,omitempty"`
	// Handoff is set while a person answers instead of the bot.
	Handoff *HandoffState `json:"handoff,omitempty"`
	// Misses counts consecutive messages the bot did not understand.
	Misses int `json:"misses,omitempty"`
	// LastOrder is the reference of the customer's latest order here.
	LastOrder string `json:"last_order,omitempty"`
	// Shown are the products last shown, for "two of those".
	Shown []string `json:"shown,omitempty"`
	// History is the recent conversation, for the model and the handoff
	// transcript (at most Options.HistoryTurns).
	History []Turn `json:"history,omitempty"`
	// Seen are the ids of the latest messages, to ignore redelivered ones.
	Seen    []string  `json:"seen,omitempty"`
	Updated time.Time `json:"updated"`
	// Version is the store's optimistic-concurrency counter.
	Version int64 `json:"version"`
}

// CartLine is one line of the cart, priced when it was added and repriced
// from the catalog before the customer confirms.
type CartLine struct {
	RetailerID string `json:"retailer_id"`
	Name       string `json:"name"`
	Quantity   int    `json:"quantity"`
	UnitPrice  int64  `json:"unit_price"`
	Currency   string `json:"currency"`
}

// Quote is the order the customer is asked to confirm.
type Quote struct {
	Lines      []CartLine `json:"lines"`
	Currency   string     `json:"currency"`
	Total      int64      `json:"total"`
	Fulfilment Fulfilment `json:"fulfilment,omitempty"`
	Address    string     `json:"address,omitempty"`
}

// Pending is a question awaiting the customer's answer.
type Pending string

// The questions the engine asks.
const (
	PendingNone       Pending = ""
	PendingFulfilment Pending = "fulfilment"
	PendingAddress    Pending = "address"
	PendingConfirm    Pending = "confirm"
	PendingCancel     Pending = "cancel"
)

// HandoffState is an active handoff.
type HandoffState struct {
	Since  time.Time     `json:"since"`
	Reason HandoffReason `json:"reason"`
}

// Turn is one message of the conversation, for context and transcripts.
type Turn struct {
	From string    `json:"from"` // "customer" or "bot"
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// StateStore keeps conversations. Load returns a new Conversation (Version
// 0) for an unknown customer. Save stores c if nobody saved since c was
// loaded (c.Version equals the stored version) and increments c.Version,
// else returns ErrConflict.
//
// A SQLite implementation (bizstore) needs one table:
//
//	CREATE TABLE bot_conversations (
//	    customer   TEXT PRIMARY KEY,   -- wa_id
//	    state      BLOB NOT NULL,      -- json.Marshal(Conversation)
//	    version    INTEGER NOT NULL,
//	    updated_at INTEGER NOT NULL    -- unix seconds, for expiry
//	);
//
// with Save as INSERT when c.Version is 0 (a primary key violation is
// ErrConflict) and otherwise UPDATE ... SET state=?, version=version+1
// WHERE customer=? AND version=? (no row changed is ErrConflict), and a
// periodic DELETE of conversations idle for long (they hold transcripts).
type StateStore interface {
	Load(ctx context.Context, customer string) (*Conversation, error)
	Save(ctx context.Context, c *Conversation) error
}

// MemoryStore is a StateStore in memory. It keeps conversations as JSON,
// exactly as a database would, so nothing that does not survive storage can
// slip through tests.
type MemoryStore struct {
	mu   sync.Mutex
	data map[string][]byte
}

var _ StateStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{data: map[string][]byte{}} }

// Load implements StateStore.
func (m *MemoryStore) Load(ctx context.Context, customer string) (*Conversation, error) {
	m.mu.Lock()
	b, ok := m.data[customer]
	m.mu.Unlock()
	if !ok {
		return &Conversation{Customer: customer}, nil
	}
	c := new(Conversation)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Save implements StateStore.
func (m *MemoryStore) Save(ctx context.Context, c *Conversation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.data[c.Customer]; ok {
		var old struct {
			Version int64 `json:"version"`
		}
		if err := json.Unmarshal(b, &old); err != nil {
			return err
		}
		if old.Version != c.Version {
			return ErrConflict
		}
	} else if c.Version != 0 {
		return ErrConflict
	}
	c.Version++
	b, err := json.Marshal(c)
	if err != nil {
		c.Version--
		return err
	}
	m.data[c.Customer] = b
	return nil
}
