package bus

import (
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/parley-im/parley/types"
)

// startServer runs a NATS server on port (0: any free one) and returns it
// with its port.
func startServer(t *testing.T, port int) (*natsserver.Server, int) {
	t.Helper()
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server did not start")
	}
	return srv, srv.Addr().(*net.TCPAddr).Port
}

// After its NATS server went away and came back, the bus names the device
// subjects it published to since NATS last confirmed what it received,
// and only those: their notices may have died with the server.
func TestOnLost(t *testing.T) {
	srv, port := startServer(t, 0)
	b, err := Open(t.Context(), Config{URL: srv.ClientURL(), Name: "lost-test", confirmEvery: time.Hour}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lost := make(chan []string, 4)
	b.OnLost(func(s []string) { lost <- s })

	confirmed := DeviceSubject(types.Address{Account: types.NewAccountID(), Device: 1})
	unconfirmed := DeviceSubject(types.Address{Account: types.NewAccountID(), Device: 2})
	for _, subj := range []string{confirmed, AccountSubject(types.NewAccountID())} {
		if err := b.Publish(subj, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	b.confirmOnce()
	if err := b.Publish(unconfirmed, []byte("y")); err != nil {
		t.Fatal(err)
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	srv, _ = startServer(t, port)
	defer srv.Shutdown()
	select {
	case got := <-lost:
		if !slices.Equal(got, []string{unconfirmed}) {
			t.Errorf("lost %v, want only the device subject published after the last confirmation", got)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the bus did not report what it may have lost after reconnecting")
	}
	if err := b.Ping(); err != nil {
		t.Fatal(err)
	}
}

// Only delivery notices' subjects are kept until confirmed.
func TestIsDeviceSubject(t *testing.T) {
	acct := types.NewAccountID()
	for subj, want := range map[string]bool{
		DeviceSubject(types.Address{Account: acct, Device: 1}):   true,
		DeviceSubject(types.Address{Account: acct, Device: 123}): true,
		AccountSubject(acct):    false,
		ProbeSubject(acct):      false,
		PresenceSubject(acct):   false,
		ProvisionSubject("abc"): false,
		NodeHeartbeatSubject:    false,
		NodeReleasedSubject:     false,
	} {
		if got := isDeviceSubject(subj); got != want {
			t.Errorf("isDeviceSubject(%q) = %v, want %v", subj, got, want)
		}
	}
}
