package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for Config's zero fields.
const (
	DefaultMinBackoff  = 5 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultMaxAge      = 7 * 24 * time.Hour
	DefaultConcurrency = 8
	DefaultTimeout     = 20 * time.Second
)

// ErrVerification is returned by Register when the callback does not
// answer the handshake with 200 and the challenge.
var ErrVerification = errors.New("webhook: callback verification failed")

// Target is where events go: the callback URL, the app secret that signs
// them and the verify token of the handshake.
type Target struct {
	URL         string
	AppSecret   string
	VerifyToken string
}

// Config configures a Sender.
type Config struct {
	Queue       Queue        // required
	Client      *http.Client // nil: a client with Timeout per attempt
	Log         *slog.Logger // nil: slog.Default()
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	MaxAge      time.Duration // an event older than this after a failure is dropped
	Concurrency int           // deliveries in flight, each to a different customer
	Timeout     time.Duration // one attempt
	Now         func() time.Time
}

// Sender delivers queued events to the registered target. Enqueue may be
// called at any time; Run delivers until its context ends.
type Sender struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	mu     sync.Mutex
	target *Target
}

// New returns a Sender; call Run to deliver.
func New(cfg Config) *Sender {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Sender{cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

// Register verifies t's callback with Meta's handshake (GET
// ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…, which must answer
// 200 with the challenge as its body) and, if it passes, sends events there
// from now on.
func (s *Sender) Register(ctx context.Context, t Target) error {
	if err := Verify(ctx, s.cfg.Client, t); err != nil {
		return err
	}
	s.SetTarget(t)
	return nil
}

// SetTarget sends events to t without a handshake: for a target verified
// before, restored after a restart.
func (s *Sender) SetTarget(t Target) {
	s.mu.Lock()
	s.target = &t
	s.mu.Unlock()
	s.poke()
}

func (s *Sender) currentTarget() *Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.target
}

// Verify performs the verification handshake against t.
func Verify(ctx context.Context, client *http.Client, t Target) error {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: callback URL must be an http(s) URL", ErrVerification)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1e15))
	if err != nil {
		return err
	}
	challenge := n.String()
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", t.VerifyToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrVerification, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: callback answered %d", ErrVerification, resp.StatusCode)
	}
	if strings.TrimSpace(string(body)) != challenge {
		return fmt.Errorf("%w: callback did not echo the challenge", ErrVerification)
	}
	return nil
}

// Enqueue queues ev for delivery. It returns false for a replay: an event
// with the same id queued or delivered before.
func (s *Sender) Enqueue(ctx context.Context, ev Event) (bool, error) {
	if len(ev.Body) > MaxBody {
		return false, ErrTooLarge
	}
	if ev.ID == "" {
		return false, ErrInvalid
	}
	added, err := s.cfg.Queue.Add(ctx, ev, s.cfg.Now())
	if err != nil {
		return false, err
	}
	if added {
		s.poke()
	}
	return added, nil
}

// EnqueueMessage builds and queues an inbound message event.
func (s *Sender) EnqueueMessage(ctx context.Context, wabaID string, meta Metadata, contact *Contact, m Message) error {
	ev, err := MessageEvent(wabaID, meta, contact, m)
	if err != nil {
		return err
	}
	_, err = s.Enqueue(ctx, ev)
	return err
}

// EnqueueStatus builds and queues a status event.
func (s *Sender) EnqueueStatus(ctx context.Context, wabaID string, meta Metadata, st Status) error {
	ev, err := StatusEvent(wabaID, meta, st)
	if err != nil {
		return err
	}
	_, err = s.Enqueue(ctx, ev)
	return err
}

func (s *Sender) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// lease is how long a claimed event is hidden from other claims; a crash
// mid-delivery retries the event after it.
const lease = time.Minute

// Run delivers events until ctx ends; it returns ctx's error, or a queue
// error that it could not get past.
func (s *Sender) Run(ctx context.Context) error {
	inflight := 0
	done := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastForget := time.Time{}
	for {
		now := s.cfg.Now()
		if now.Sub(lastForget) > time.Hour {
			// Replays are refused while the id is remembered: as long as
			// an event could still be retried, and a day more.
			if err := s.cfg.Queue.Forget(ctx, now.Add(-s.cfg.MaxAge-24*time.Hour)); err != nil && ctx.Err() == nil {
				s.log.Warn("webhook: forgetting delivered ids failed", "err", err)
			}
			lastForget = now
		}
		target := s.currentTarget()
		wait := time.Hour
		if target != nil && inflight < s.cfg.Concurrency {
			claimed, err := s.cfg.Queue.Claim(ctx, now, s.cfg.Concurrency-inflight, now.Add(lease))
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.Error("webhook: queue claim failed", "err", err)
				wait = time.Second
			}
			for _, q := range claimed {
				inflight++
				wg.Add(1)
				go func(q Queued) {
					defer wg.Done()
					s.attempt(ctx, *target, q)
					done <- struct{}{}
				}(q)
			}
			if err == nil {
				if next, ok, err := s.cfg.Queue.NextDue(ctx); err != nil {
					wait = time.Second
				} else if ok {
					wait = max(next.Sub(s.cfg.Now()), time.Millisecond)
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			inflight--
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// attempt POSTs one event and records the outcome.
func (s *Sender) attempt(ctx context.Context, t Target, q Queued) {
	err := s.post(ctx, t, q.Body)
	now := s.cfg.Now()
	if err == nil {
		if rerr := s.cfg.Queue.Remove(ctx, q.ID, now); rerr != nil && ctx.Err() == nil {
			s.log.Error("webhook: removing a delivered event failed", "err", rerr)
		}
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lease expires and the event is retried
	}
	attempts := q.Attempts + 1
	next := now.Add(s.backoff(attempts))
	if next.Sub(q.Enqueued) > s.cfg.MaxAge {
		// Ids and counts only: the body is the customer's content.
		s.log.Warn("webhook: event dropped after retrying for the maximum age",
			"event", shortID(q.ID), "attempts", attempts, "age", now.Sub(q.Enqueued).Round(time.Second), "last_error", err.Error())
		if rerr := s.cfg.Queue.Remove(ctx, q.ID, now); rerr != nil {
			s.log.Error("webhook: removing a dropped event failed", "err", rerr)
		}
		return
	}
	if rerr := s.cfg.Queue.Retry(ctx, q.ID, attempts, next); rerr != nil {
		s.log.Error("webhook: recording a failed attempt failed", "err", rerr)
	}
}

// backoff is MinBackoff·2^(attempts-1), at most MaxBackoff, scaled by a
// random factor in [0.5, 1.5) so that many failing events do not retry in
// lockstep.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return time.Duration(float64(d) * (0.5 + mrand.Float64()))
}

// shortID names an event in logs without its ids, which may embed a
// customer's number.
func shortID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:6])
}

// statusError is a delivery attempt the receiver refused.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("receiver answered %d", int(e)) }

func (s *Sender) post(ctx context.Context, t Target, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", Signature(t.AppSecret, body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp.StatusCode)
	}
	return nil
}
