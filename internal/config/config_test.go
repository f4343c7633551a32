package config

import (
	"strings"
	"testing"
)

func TestDefaultsValidate(t *testing.T) {
	if err := (Config{}).Defaults().Validate(); err != nil {
		t.Fatalf("the default config is invalid: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string // every substring must appear: Validate reports all problems at once
	}{
		{"fixed code off loopback", func(c *Config) { c.CodeSender, c.Listen = "fixed", "0.0.0.0:8080" }, []string{"loopback"}},
		{"fixed code on loopback", func(c *Config) { c.CodeSender, c.Listen = "fixed", "127.0.0.1:0" }, nil},
		{"fixed code on localhost", func(c *Config) { c.CodeSender, c.Listen = "fixed", "localhost:9" }, nil},
		{"fixed code on ::1", func(c *Config) { c.CodeSender, c.Listen = "fixed", "[::1]:9" }, nil},
		{"webhook without url", func(c *Config) { c.CodeSender = "webhook" }, []string{"webhook"}},
		{"webhook with url", func(c *Config) { c.CodeSender, c.CodeWebhookURL = "webhook", "https://sms.example/send" }, nil},
		{"half tls", func(c *Config) { c.TLSCert = "c.pem" }, []string{"tls"}},
		{"several problems", func(c *Config) { c.Listen, c.LogLevel, c.MaxDevices = "nope", "loud", 99 },
			[]string{"listen", "log level", "max devices"}},
		{"bad nats", func(c *Config) { c.NATS = "::" }, []string{"nats"}},
		{"unknown sender", func(c *Config) { c.CodeSender = "pigeon" }, []string{"pigeon"}},
		{"tiny frames", func(c *Config) { c.MaxFrameBytes = 10 }, []string{"frame"}},
		{"nats media without nats", func(c *Config) { c.MediaBackend = "nats" }, []string{"media backend nats"}},
		{"unknown media backend", func(c *Config) { c.MediaBackend = "s3" }, []string{"media backend"}},
		{"media chunks", func(c *Config) { c.MediaChunkBytes = 100 }, []string{"media chunk"}},
		{"quota below a blob", func(c *Config) { c.MediaQuota = 1 << 20 }, []string{"media quota"}},
		{"quota off", func(c *Config) { c.MediaQuota = -1 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{}.Defaults()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestMediaDefaults(t *testing.T) {
	for _, tc := range []struct {
		store, nats  string
		backend, dir string
	}{
		{"", "", "files", "parley-data/media"},
		{"sqlite:/var/lib/parley/parley.db", "", "files", "/var/lib/parley/media"},
		{"/srv/p.db", "", "files", "/srv/media"},
		{"postgres://db/parley", "nats://n:4222", "nats", "parley-data/media"},
	} {
		c := Config{Store: tc.store, NATS: tc.nats}.Defaults()
		if c.MediaBackend != tc.backend || c.MediaDir != tc.dir {
			t.Errorf("store %q, nats %q: backend %q, dir %q; want %q, %q", tc.store, tc.nats, c.MediaBackend, c.MediaDir, tc.backend, tc.dir)
		}
	}
}
