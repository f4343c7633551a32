package commerce

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FAQ is one question the business answers the same way every time. The
// bot retrieves entries by question, keywords and language.
type FAQ struct {
	ID       int64  `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// Language is a BCP 47 tag ("pt-BR", "de"), or "" for any.
	Language string `json:"language,omitempty"`
	// Keywords help retrieval find the entry ("frete", "delivery").
	Keywords  []string  `json:"keywords,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FAQ limits. An answer is sent as one text message (4096 characters).
const (
	maxQuestion = 1000
	maxAnswer   = 4096
	maxKeywords = 50
	maxKeyword  = 100
)

var languageTag = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

func (f FAQ) validate() error {
	if err := checkText(strings.TrimSpace(f.Question), 1, maxQuestion, true); err != nil {
		return fmt.Errorf("%w: question %v", ErrInvalid, err)
	}
	if err := checkText(strings.TrimSpace(f.Answer), 1, maxAnswer, true); err != nil {
		return fmt.Errorf("%w: answer %v", ErrInvalid, err)
	}
	if f.Language != "" && (len(f.Language) > 35 || !languageTag.MatchString(f.Language)) {
		return fmt.Errorf("%w: language %q is not a BCP 47 tag", ErrInvalid, clip(f.Language))
	}
	if len(f.Keywords) > maxKeywords {
		return fmt.Errorf("%w: more than %d keywords", ErrInvalid, maxKeywords)
	}
	for _, k := range f.Keywords {
		if err := checkText(k, 1, maxKeyword, false); err != nil {
			return fmt.Errorf("%w: keyword %v", ErrInvalid, err)
		}
	}
	return nil
}

// FAQStore is what FAQs keeps entries in. Get, Update and Delete of a
// missing id return an error matching ErrNotFound.
type FAQStore interface {
	// InsertFAQ stores a new entry and returns its id.
	InsertFAQ(ctx context.Context, f FAQ) (int64, error)
	UpdateFAQ(ctx context.Context, f FAQ) error
	DeleteFAQ(ctx context.Context, id int64) error
	FAQ(ctx context.Context, id int64) (FAQ, error)
	// FAQs lists every entry by id.
	FAQs(ctx context.Context) ([]FAQ, error)
}

// FAQs manages the FAQ entries.
type FAQs struct {
	st  FAQStore
	now func() time.Time
}

// NewFAQs returns the FAQ service over st.
func NewFAQs(st FAQStore) *FAQs { return &FAQs{st: st, now: time.Now} }

// Add stores a new entry and returns it with its id.
func (s *FAQs) Add(ctx context.Context, f FAQ) (FAQ, error) {
	if err := f.validate(); err != nil {
		return FAQ{}, err
	}
	f.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	f.UpdatedAt = f.CreatedAt
	id, err := s.st.InsertFAQ(ctx, f)
	if err != nil {
		return FAQ{}, err
	}
	f.ID = id
	return f, nil
}

// Update replaces the entry with f.ID.
func (s *FAQs) Update(ctx context.Context, f FAQ) (FAQ, error) {
	if err := f.validate(); err != nil {
		return FAQ{}, err
	}
	old, err := s.st.FAQ(ctx, f.ID)
	if err != nil {
		return FAQ{}, err
	}
	f.CreatedAt = old.CreatedAt
	f.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	if err := s.st.UpdateFAQ(ctx, f); err != nil {
		return FAQ{}, err
	}
	return f, nil
}

// Delete removes an entry.
func (s *FAQs) Delete(ctx context.Context, id int64) error { return s.st.DeleteFAQ(ctx, id) }

// Get returns one entry.
func (s *FAQs) Get(ctx context.Context, id int64) (FAQ, error) { return s.st.FAQ(ctx, id) }

// List returns the entries for a language ("" for all; otherwise that
// language's, matched by its primary subtag too, and those without one).
func (s *FAQs) List(ctx context.Context, language string) ([]FAQ, error) {
	if language != "" && !languageTag.MatchString(language) {
		return nil, fmt.Errorf("%w: language %q", ErrInvalid, clip(language))
	}
	all, err := s.st.FAQs(ctx)
	if err != nil || language == "" {
		return all, err
	}
	primary, _, _ := strings.Cut(strings.ToLower(language), "-")
	var out []FAQ
	for _, f := range all {
		fp, _, _ := strings.Cut(strings.ToLower(f.Language), "-")
		if f.Language == "" || strings.EqualFold(f.Language, language) || fp == primary {
			out = append(out, f)
		}
	}
	return out, nil
}
