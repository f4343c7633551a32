// Package config is the one description of how a Parley server runs. Every
// field's zero value means "the default", which Defaults fills in and which is
// documented beside the field; Validate reports every problem at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config configures `parley serve`.
type Config struct {
	// Listen is the address of the HTTP and WebSocket listener. Default 127.0.0.1:8080.
	Listen string
	// TLSCert and TLSKey are PEM files; with both set the listener speaks TLS.
	TLSCert, TLSKey string
	// Store is the database: a SQLite path (sqlite:PATH or a bare path) or a
	// postgres:// URL. Default sqlite:./parley-data/parley.db.
	Store string
	// NATS is the URL of an external NATS cluster; empty runs one in-process.
	NATS string
	// NodeName names this node in logs and NATS. Default: the host name.
	NodeName string
	// NodeTimeout is how long a node of a cluster may be silent on the bus
	// before the others take it for dead and tell those watching its
	// devices' presence that they went offline. Nodes send a heartbeat
	// every NodeTimeout/5. Default 5s.
	NodeTimeout time.Duration

	// CodeSender says how one-time codes reach people: "log" (default: the
	// server log, for development), "webhook" (POST to CodeWebhookURL), or
	// "fixed" (always FixedCode; allowed only when Listen is loopback).
	CodeSender string
	// CodeWebhookURL receives {phone, code, transport, locale} as JSON.
	CodeWebhookURL string
	// CodeWebhookSecret signs webhook bodies (X-Parley-Signature: sha256=HMAC).
	CodeWebhookSecret string
	// CodeSecret keys the hashes under which codes are stored; every node of
	// a cluster must share it. Empty uses a built-in key.
	CodeSecret string
	// FixedCode is the code the fixed sender accepts. Default 123456.
	FixedCode string

	// CodeInterval is the least time between two codes for one number.
	// Default 1 minute (and at most 5 codes per number and hour).
	CodeInterval time.Duration
	// IPRateLimit is how many code requests, registrations and links one IP
	// address may make per hour, each. Default 100; negative turns the
	// per-address limit off (load tests on loopback). Per-number limits stay.
	IPRateLimit int
	// LookupRateLimit is how many phone numbers one account may look up in
	// the directory per hour (LookupPhone). Default 1000.
	LookupRateLimit int

	// MaxFrameBytes bounds one WebSocket frame. Default 256 KiB.
	MaxFrameBytes int
	// KeepAlive is how often the server pings an idle connection. Default 30s.
	KeepAlive time.Duration
	// Readiness is how idle connections wait for bytes: "goroutine" (the
	// default, any system) or "epoll" (Linux; no goroutine per idle
	// connection, less memory).
	Readiness string
	// MaxDevices is the number of devices per account, primary included. Default 5.
	MaxDevices int
	// MailboxMaxQueue bounds the envelopes queued per device. Default 50 000.
	MailboxMaxQueue int
	// MaxGroupMembers bounds the members of one group. Default 1024.
	MaxGroupMembers int
	// MailboxTTL is how long an undelivered envelope is kept. Default 30 days.
	MailboxTTL time.Duration
	// DedupWindow is how long a message id is remembered to drop resends. Default 7 days.
	DedupWindow time.Duration
	// PreKeyLowThreshold: below this many one-time prekeys the device is told
	// to upload more. Default 10.
	PreKeyLowThreshold int
	// ShutdownTimeout bounds a graceful shutdown. Default 15s.
	ShutdownTimeout time.Duration

	// MediaBackend is where media blobs are kept: "files" (under MediaDir)
	// or "nats" (a JetStream object store on the NATS cluster, which needs
	// JetStream and an external NATS). Default: "nats" when NATS is set,
	// else "files".
	MediaBackend string
	// MediaDir is the directory of the files backend. Default: "media"
	// beside the SQLite database, or ./parley-data/media with PostgreSQL.
	MediaDir string
	// MaxMediaBytes bounds one media blob (encrypted). Default 100 MiB.
	MaxMediaBytes int
	// MediaChunkBytes is the size of every upload chunk (PATCH) but the
	// last. Default 4 MiB.
	MediaChunkBytes int
	// MediaTTL is how long an uploaded blob is kept at most, fetched by
	// all its recipients or not. Default 30 days.
	MediaTTL time.Duration
	// MediaQuota is how many bytes of media one account may upload per
	// day. Default 1 GiB; negative turns the quota off.
	MediaQuota int
	// MediaSecret keys the media upload and download tokens; every node of
	// a cluster must share it. Empty: a random key kept in the database,
	// which every node sharing the database uses.
	MediaSecret string

	// LogLevel is debug, info (default), warn or error; LogFormat text (default) or json.
	LogLevel, LogFormat string
}

// Defaults returns c with every unset field at its default.
func (c Config) Defaults() Config {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Listen, "127.0.0.1:8080")
	set(&c.Store, "sqlite:./parley-data/parley.db")
	set(&c.CodeSender, "log")
	set(&c.FixedCode, "123456")
	set(&c.LogLevel, "info")
	set(&c.LogFormat, "text")
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = 256 << 10
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.Readiness == "" {
		c.Readiness = "goroutine"
	}
	if c.CodeInterval == 0 {
		c.CodeInterval = time.Minute
	}
	if c.IPRateLimit == 0 {
		c.IPRateLimit = 100
	}
	if c.LookupRateLimit == 0 {
		c.LookupRateLimit = 1000
	}
	if c.MaxDevices == 0 {
		c.MaxDevices = 5
	}
	if c.MailboxMaxQueue == 0 {
		c.MailboxMaxQueue = 50_000
	}
	if c.MaxGroupMembers == 0 {
		c.MaxGroupMembers = 1024
	}
	if c.MailboxTTL == 0 {
		c.MailboxTTL = 30 * 24 * time.Hour
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = 7 * 24 * time.Hour
	}
	if c.PreKeyLowThreshold == 0 {
		c.PreKeyLowThreshold = 10
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.NodeTimeout == 0 {
		c.NodeTimeout = 5 * time.Second
	}
	if c.MediaBackend == "" {
		c.MediaBackend = "files"
		if c.NATS != "" {
			c.MediaBackend = "nats"
		}
	}
	if c.MediaDir == "" {
		c.MediaDir = filepath.Join(c.DataDir(), "media")
	}
	if c.MaxMediaBytes == 0 {
		c.MaxMediaBytes = 100 << 20
	}
	if c.MediaChunkBytes == 0 {
		c.MediaChunkBytes = 4 << 20
	}
	if c.MediaTTL == 0 {
		c.MediaTTL = 30 * 24 * time.Hour
	}
	if c.MediaQuota == 0 {
		c.MediaQuota = 1 << 30
	}
	return c
}

// DataDir is the directory of the SQLite database, or ./parley-data when
// the store is PostgreSQL (or SQLite in memory).
func (c Config) DataDir() string {
	if strings.HasPrefix(c.Store, "postgres") {
		return "parley-data"
	}
	p := strings.TrimPrefix(c.Store, "sqlite:")
	if p == "" || p == ":memory:" {
		return "parley-data"
	}
	return filepath.Dir(p)
}

// Validate returns every problem with c, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		bad("listen: %q is not host:port", c.Listen)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls: set both the certificate and the key, or neither")
	}
	if strings.HasPrefix(c.Store, "postgres") {
		if _, err := url.Parse(c.Store); err != nil {
			bad("store: bad PostgreSQL URL")
		}
	}
	if c.NATS != "" {
		for _, u := range strings.Split(c.NATS, ",") {
			if pu, err := url.Parse(strings.TrimSpace(u)); err != nil || pu.Host == "" {
				bad("nats: %q is not a URL", u)
			}
		}
	}
	switch c.CodeSender {
	case "log":
	case "webhook":
		if u, err := url.Parse(c.CodeWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("code sender webhook: needs an http(s) URL")
		}
	case "fixed":
		if err == nil && !IsLoopback(host) {
			bad("code sender fixed: allowed only when listening on a loopback address, not %q", host)
		}
		if len(c.FixedCode) != 6 || strings.Trim(c.FixedCode, "0123456789") != "" {
			bad("fixed code: must be 6 digits")
		}
	default:
		bad("code sender: %q is not log, webhook or fixed", c.CodeSender)
	}
	if c.MaxFrameBytes < 4<<10 || c.MaxFrameBytes > 16<<20 {
		bad("max frame bytes: %d is outside 4 KiB..16 MiB", c.MaxFrameBytes)
	}
	if c.KeepAlive < time.Second {
		bad("keepalive: %v is below 1s", c.KeepAlive)
	}
	if c.Readiness != "goroutine" && c.Readiness != "epoll" {
		bad("readiness: %q is not goroutine or epoll", c.Readiness)
	}
	if c.LookupRateLimit < 1 {
		bad("lookup rate limit: %d is not positive", c.LookupRateLimit)
	}
	if c.MaxDevices < 1 || c.MaxDevices > 16 {
		bad("max devices: %d is outside 1..16", c.MaxDevices)
	}
	if c.MailboxMaxQueue < 1 {
		bad("mailbox max queue: must be positive")
	}
	if c.MaxGroupMembers < 2 || c.MaxGroupMembers > 4096 {
		bad("max group members: %d is outside 2..4096", c.MaxGroupMembers)
	}
	if c.MailboxTTL < time.Minute {
		bad("mailbox ttl: %v is below a minute", c.MailboxTTL)
	}
	if c.DedupWindow < time.Minute {
		bad("dedup window: %v is below a minute", c.DedupWindow)
	}
	if c.NodeTimeout < 500*time.Millisecond || c.NodeTimeout > 10*time.Minute {
		bad("node timeout: %v is outside 500ms..10m", c.NodeTimeout)
	}
	switch c.MediaBackend {
	case "files":
	case "nats":
		if c.NATS == "" {
			bad("media backend nats: needs an external NATS with JetStream (--nats); the in-process one keeps no blobs")
		}
	default:
		bad("media backend: %q is not files or nats", c.MediaBackend)
	}
	if c.MaxMediaBytes < 1<<10 {
		bad("max media bytes: %d is below 1 KiB", c.MaxMediaBytes)
	}
	if c.MediaChunkBytes < 64<<10 || c.MediaChunkBytes > 64<<20 {
		bad("media chunk bytes: %d is outside 64 KiB..64 MiB", c.MediaChunkBytes)
	}
	if c.MediaTTL < time.Minute {
		bad("media ttl: %v is below a minute", c.MediaTTL)
	}
	if c.MediaQuota > 0 && c.MediaQuota < c.MaxMediaBytes {
		bad("media quota: %d bytes a day is less than one blob of max media bytes (%d)", c.MediaQuota, c.MaxMediaBytes)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log level: %q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log format: %q is not text or json", c.LogFormat)
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether host (a name or an address, no port) can only
// be reached from this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
