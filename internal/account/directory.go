package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// MaxLookupBatch is the most numbers one lookup may carry.
const MaxLookupBatch = 256

// DefaultLookupLimit is how many numbers an account may look up per hour
// when the operator sets nothing: far more than a person adds contacts,
// few enough that walking the number space from one account is slow.
const DefaultLookupLimit = 1000

// Match is a phone number that has an account.
type Match struct {
	Phone   string
	Account types.AccountID
}

// LookupPhones says which of phones have an account. It is the server's
// phone directory, for authenticated devices of the account by. Numbers
// count against by's hourly limit (Config.LookupLimit), each distinct
// valid number once per request, whether or not it has an account, so the
// limit bounds enumeration. A malformed number fails the whole request,
// with an error that does not repeat it; numbers are never logged.
func (s *Service) LookupPhones(ctx context.Context, by types.AccountID, phones []string) ([]Match, error) {
	if len(phones) == 0 || len(phones) > MaxLookupBatch {
		return nil, fmt.Errorf("%w: give 1 to %d phone numbers", ErrInvalidInput, MaxLookupBatch)
	}
	seen := make(map[string]bool, len(phones))
	var uniq []string
	for i, p := range phones {
		n, err := types.ParsePhone(p)
		if err != nil {
			return nil, fmt.Errorf("%w: phone number %d of the request is not E.164", ErrInvalidInput, i+1)
		}
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	limit := s.cfg.LookupLimit
	if limit == 0 {
		limit = DefaultLookupLimit
	}
	ok, retry, err := s.st.AllowN(ctx, "lookup:"+by.String(), len(uniq), limit, time.Hour, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &RateLimitedError{RetryAfter: retry}
	}
	var out []Match
	for _, n := range uniq {
		a, err := s.st.AccountByPhone(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err // the store keeps numbers out of its errors
		}
		out = append(out, Match{Phone: n, Account: a.ID})
	}
	return out, nil
}
