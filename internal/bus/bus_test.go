package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/parley-im/parley/internal/bus"
	"github.com/parley-im/parley/internal/testserver"
	"github.com/parley-im/parley/types"
)

func TestBus(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"embedded", func(*testing.T) string { return "" }},
		{"external", func(t *testing.T) string { return testserver.ExternalNATS(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b, err := bus.Open(ctx, bus.Config{URL: tc.url(t), Name: "test"}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got, want := b.Embedded(), tc.name == "embedded"; got != want {
				t.Errorf("Embedded() = %v, want %v", got, want)
			}
			addr := types.Address{Account: types.NewAccountID(), Device: 2}
			ch := make(chan *nats.Msg, 4)
			sub, err := b.Subscribe(bus.DeviceSubject(addr), ch)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(bus.DeviceSubject(addr), []byte("hi")); err != nil {
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
			if _, err := b.Request(rctx, bus.ProbeSubject(acct), nil); !errors.Is(err, bus.ErrNoResponders) {
				t.Fatalf("probe without responders: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("no-responders took %v", d)
			}
			h, err := b.Handle(bus.ProbeSubject(acct), func(m *nats.Msg) { _ = m.Respond([]byte("yes")) })
			if err != nil {
				t.Fatal(err)
			}
			defer h.Unsubscribe()
			_ = b.Flush(ctx)
			got, err := b.Request(rctx, bus.ProbeSubject(acct), nil)
			if err != nil || string(got) != "yes" {
				t.Fatalf("probe: %q %v", got, err)
			}
			if err := b.Ping(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
