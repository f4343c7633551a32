package bus

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/parley-im/parley/types"
)

// NATSURL returns the external NATS to test against, failing under CI when
// none is configured and skipping otherwise.
func natsURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_NATS")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PARLEY_TEST_NATS is not set; CI must test against a real NATS")
		}
		t.Skip("PARLEY_TEST_NATS not set")
	}
	return u
}

func TestBus(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"external", natsURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b, err := Open(ctx, Config{URL: tc.url(t), Name: "test"}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got, want := b.Embedded(), tc.name == "embedded"; got != want {
				t.Errorf("Embedded() = %v, want %v", got, want)
			}
			addr := types.Address{Account: types.NewAccountID(), Device: 2}
			ch := make(chan *nats.Msg, 4)
			sub, err := b.Subscribe(DeviceSubject(addr), ch)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(DeviceSubject(addr), []byte("hi")); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-ch:
				if string(m.Data) != "hi" {
					t.Errorf("got %q", m.Data)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no message")
			}

			// Nobody holds the account: the probe answers at once, not after a timeout.
			acct := types.NewAccountID()
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			start := time.Now()
			if _, err := b.Request(rctx, ProbeSubject(acct), nil); !errors.Is(err, ErrNoResponders) {
				t.Fatalf("probe without responders: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("no-responders took %v", d)
			}
			h, err := b.Handle(ProbeSubject(acct), func(m *nats.Msg) { _ = m.Respond([]byte("yes")) })
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unsubscribe()
			_ = b.Flush(ctx)
			got, err := b.Request(rctx, ProbeSubject(acct), nil)
			if err != nil || string(got) != "yes" {
				t.Fatalf("probe: %q %v", got, err)
			}
			if err := b.Ping(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
