package cloudapi

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"slices"
	"sync"
	"time"
)

var reflectBool = reflect.TypeOf(false)

// In-memory implementations of the stores this package declares. The agent
// uses bizstore's SQLite versions; these serve tests and a throwaway agent.

// MemDirectory is a Directory over fixed businesses and numbers.
type MemDirectory struct {
	mu         sync.Mutex
	businesses map[string]Business
	numbers    map[string]PhoneNumber
}

// NewMemDirectory returns a directory of b and its numbers.
func NewMemDirectory() *MemDirectory {
	return &MemDirectory{businesses: map[string]Business{}, numbers: map[string]PhoneNumber{}}
}

// Add adds or replaces a business and its numbers (each number's WABAID
// is set to b.ID and its id added to b.PhoneNumberIDs).
func (d *MemDirectory) Add(b Business, numbers ...PhoneNumber) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range numbers {
		n.WABAID = b.ID
		d.numbers[n.ID] = n
		if !slices.Contains(b.PhoneNumberIDs, n.ID) {
			b.PhoneNumberIDs = append(b.PhoneNumberIDs, n.ID)
		}
	}
	d.businesses[b.ID] = b
}

// SetTier changes a business's messaging limit.
func (d *MemDirectory) SetTier(wabaID string, t Tier) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.businesses[wabaID]
	b.Tier = t
	d.businesses[wabaID] = b
}

func (d *MemDirectory) Business(_ context.Context, id string) (Business, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.businesses[id]
	if !ok {
		return Business{}, ErrNotFound
	}
	b.PhoneNumberIDs = slices.Clone(b.PhoneNumberIDs)
	b.CatalogIDs = slices.Clone(b.CatalogIDs)
	return b, nil
}

func (d *MemDirectory) PhoneNumber(_ context.Context, id string) (PhoneNumber, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.numbers[id]
	if !ok {
		return PhoneNumber{}, ErrNotFound
	}
	return n, nil
}

func (d *MemDirectory) SetCommerceSettings(_ context.Context, id string, cs CommerceSettings) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.numbers[id]
	if !ok {
		return ErrNotFound
	}
	n.Commerce = cs
	d.numbers[id] = n
	return nil
}

// MemTokens is a TokenStore in memory.
type MemTokens struct {
	mu     sync.Mutex
	tokens map[[32]byte]Token
}

// NewMemTokens returns an empty MemTokens.
func NewMemTokens() *MemTokens { return &MemTokens{tokens: map[[32]byte]Token{}} }

// Issue makes a token with grant t and returns it; only its hash is kept.
func (m *MemTokens) Issue(t Token) string {
	tok, h := NewToken()
	m.mu.Lock()
	m.tokens[h] = t
	m.mu.Unlock()
	return tok
}

// Revoke forgets a token.
func (m *MemTokens) Revoke(token string) {
	m.mu.Lock()
	delete(m.tokens, HashToken(token))
	m.mu.Unlock()
}

func (m *MemTokens) Token(_ context.Context, h [32]byte) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[h]
	if !ok {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// MemMedia is a MediaStore in memory.
type MemMedia struct {
	mu    sync.Mutex
	meta  map[string]Media
	bytes map[string][]byte
}

// NewMemMedia returns an empty MemMedia.
func NewMemMedia() *MemMedia { return &MemMedia{meta: map[string]Media{}, bytes: map[string][]byte{}} }

func (s *MemMedia) PutMedia(_ context.Context, m Media, r io.Reader) error {
	var b []byte
	if r != nil {
		var err error
		if b, err = io.ReadAll(r); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta[m.ID] = m
	if r != nil {
		s.bytes[m.ID] = b
	}
	return nil
}

func (s *MemMedia) Media(_ context.Context, id string) (Media, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.meta[id]
	if !ok {
		return Media{}, ErrNotFound
	}
	return m, nil
}

func (s *MemMedia) OpenMedia(_ context.Context, id string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bytes[id]
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *MemMedia) DeleteMedia(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.meta[id]; !ok {
		return ErrNotFound
	}
	delete(s.meta, id)
	delete(s.bytes, id)
	return nil
}

// MemTemplates is a TemplateStore in memory.
type MemTemplates struct {
	mu sync.Mutex
	ts map[string]Template
}

// NewMemTemplates returns an empty MemTemplates.
func NewMemTemplates() *MemTemplates { return &MemTemplates{ts: map[string]Template{}} }

func (s *MemTemplates) CreateTemplate(_ context.Context, t Template) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.ts {
		if x.WABAID == t.WABAID && x.Name == t.Name && x.Language == t.Language {
			return ErrExists
		}
	}
	s.ts[t.ID] = t
	return nil
}

func (s *MemTemplates) Templates(_ context.Context, wabaID string) ([]Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Template
	for _, t := range s.ts {
		if t.WABAID == wabaID {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *MemTemplates) Template(_ context.Context, id string) (Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ts[id]
	if !ok {
		return Template{}, ErrNotFound
	}
	return t, nil
}

// SetStatus changes a template's status (PAUSED, DISABLED, ...).
func (s *MemTemplates) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.ts[id]; ok {
		t.Status = status
		s.ts[id] = t
	}
}

func (s *MemTemplates) DeleteTemplate(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ts, id)
	return nil
}

// MemConversations is Conversations in memory.
type MemConversations struct {
	mu      sync.Mutex
	inbound map[string]time.Time            // phone/wa
	consent map[string]Consent              // phone/wa
	reached map[string]map[string]time.Time // waba → wa → last reached
	refs    map[string]string               // waba/ref → wa
}

// NewMemConversations returns an empty MemConversations.
func NewMemConversations() *MemConversations {
	return &MemConversations{inbound: map[string]time.Time{}, consent: map[string]Consent{},
		reached: map[string]map[string]time.Time{}, refs: map[string]string{}}
}

func (c *MemConversations) LastInbound(_ context.Context, phone, wa string) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inbound[phone+"/"+wa], nil
}

func (c *MemConversations) RecordInbound(_ context.Context, phone, wa string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at.After(c.inbound[phone+"/"+wa]) {
		c.inbound[phone+"/"+wa] = at
	}
	return nil
}

func (c *MemConversations) Consent(_ context.Context, phone, wa string) (Consent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.consent[phone+"/"+wa], nil
}

func (c *MemConversations) SetConsent(_ context.Context, phone, wa string, s Consent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consent[phone+"/"+wa] = s
	return nil
}

func (c *MemConversations) Reached(_ context.Context, waba, wa string, since time.Time) (int, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, at := range c.reached[waba] {
		if !at.Before(since) {
			n++
		} else {
			delete(c.reached[waba], id)
		}
	}
	at, ok := c.reached[waba][wa]
	return n, ok && !at.Before(since), nil
}

func (c *MemConversations) RecordReached(_ context.Context, waba, wa string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reached[waba] == nil {
		c.reached[waba] = map[string]time.Time{}
	}
	if at.After(c.reached[waba][wa]) {
		c.reached[waba][wa] = at
	}
	return nil
}

func (c *MemConversations) ClaimReference(_ context.Context, waba, ref, wa string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if owner, ok := c.refs[waba+"/"+ref]; ok {
		return owner, nil
	}
	c.refs[waba+"/"+ref] = wa
	return wa, nil
}

func (c *MemConversations) Reference(_ context.Context, waba, ref string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	owner, ok := c.refs[waba+"/"+ref]
	if !ok {
		return "", ErrNotFound
	}
	return owner, nil
}
