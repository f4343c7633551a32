package gateway_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/proto/wirepb"
)

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lookupFrame(phones ...string) *wirepb.ClientFrame {
	return &wirepb.ClientFrame{Body: &wirepb.ClientFrame_LookupPhone{LookupPhone: &wirepb.LookupPhone{Phones: phones}}}
}

func TestLookupPhone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testserver.Backend) {
		var logs syncBuffer
		srv := testserver.Start(t, testserver.Options{Backend: b,
			Log:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Config: func(c *config.Config) { c.LookupRateLimit = 5 }})
		ac, bc := srv.Dial(t), srv.Dial(t)
		alice, bob := testserver.Register(t, ac), testserver.Register(t, bc)
		nobody := testserver.NewPhone()

		// Formatting is normalised; numbers nobody has are left out; a
		// number asked twice counts once.
		spaced := bob.Phone[:4] + " " + bob.Phone[4:]
		res := call(t, ac, lookupFrame(spaced, nobody, bob.Phone)).GetLookup()
		if len(res.GetMatches()) != 1 || res.Matches[0].Phone != bob.Phone || !bytes.Equal(res.Matches[0].AccountId, bob.Addr.Account[:]) {
			t.Fatalf("lookup = %v, want only %s -> %s", res, bob.Phone, bob.Addr.Account)
		}
		res = call(t, bc, lookupFrame(alice.Phone)).GetLookup()
		if len(res.GetMatches()) != 1 || !bytes.Equal(res.Matches[0].AccountId, alice.Addr.Account[:]) {
			t.Fatalf("bob's lookup of alice = %v", res)
		}
		if res := call(t, ac, lookupFrame(nobody)).GetLookup(); len(res.GetMatches()) != 0 {
			t.Fatalf("lookup of an unregistered number = %v, want no match", res)
		}

		// Alice has looked up 3 numbers of her 5 an hour: 3 more is over,
		// and nothing is answered; Bob's budget is his own.
		e := callErr(t, ac, lookupFrame(testserver.NewPhone(), testserver.NewPhone(), bob.Phone), wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED)
		if e.RetryAfterSeconds == 0 || e.RetryAfterSeconds > 3600 {
			t.Errorf("retry after %d s, want within the hour", e.RetryAfterSeconds)
		}
		call(t, bc, lookupFrame(alice.Phone, testserver.NewPhone()))

		// Malformed requests, and unauthenticated ones.
		for _, f := range []*wirepb.ClientFrame{lookupFrame(), lookupFrame("12345"), lookupFrame(make([]string, 257)...)} {
			callErr(t, bc, f, wirepb.ErrorCode_ERROR_CODE_BAD_REQUEST)
		}
		callErr(t, srv.Dial(t), lookupFrame(bob.Phone), wirepb.ErrorCode_ERROR_CODE_NOT_AUTHENTICATED)

		srv.Stop()
		for _, p := range []string{alice.Phone, bob.Phone, nobody, strings.TrimPrefix(bob.Phone, "+")} {
			if strings.Contains(logs.String(), p) {
				t.Errorf("the server log contains the looked-up number %s", p)
			}
		}
		if logs.String() == "" {
			t.Error("the server logged nothing at all: the check above proves nothing")
		}
	})
}
