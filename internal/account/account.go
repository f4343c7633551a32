// Package account registers phone numbers, links and removes devices, moves
// accounts to a new number, deletes them, and checks the proof a device gives
// when it connects.
//
// Codes are never stored in the clear: the store keeps an HMAC of each, keyed
// with the operator's code secret when one is configured (every node of a
// cluster must share it), so a copy of the database alone does not give away
// a live code.
package account

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/prekey"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/proto/wirepb"
	"github.com/parley-im/parley/types"
)

// Errors the gateway turns into wire error codes.
var (
	ErrInvalidCode  = errors.New("account: invalid or expired code")
	ErrNumberTaken  = errors.New("account: number belongs to another account")
	ErrDeviceLimit  = errors.New("account: device limit reached")
	ErrForbidden    = errors.New("account: not allowed for this device")
	ErrAuthFailed   = errors.New("account: device proof failed")
	ErrNotFound     = errors.New("account: not found")
	ErrInvalidInput = errors.New("account: invalid input")
)

// RateLimitedError says how long to wait before asking again.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("account: rate limited, retry after %v", e.RetryAfter.Round(time.Second))
}

// Limits of the registration flow; docs/protocol.md states them to clients.
const (
	CodeTTL      = 10 * time.Minute
	CodeAttempts = 5
	LinkCodeTTL  = 10 * time.Minute
	codesPerHour = 5
)

// Config is what the service needs besides its store.
type Config struct {
	MaxDevices int
	// IPLimit is the code requests, registrations and links per IP address
	// and hour, each; negative means no per-address limit.
	IPLimit int
	// LookupLimit is how many phone numbers one account may look up in the
	// directory per hour; 0 means DefaultLookupLimit.
	LookupLimit int
	// CodeInterval is the least time between codes for one number.
	CodeInterval time.Duration
	Sender       CodeSender
	// FixedCode, when set, replaces random codes (tests on loopback only;
	// config.Validate enforces that).
	FixedCode string
	// CodeSecret keys the code hashes; empty uses a built-in key.
	CodeSecret []byte
	Now        func() time.Time
}

// Service runs the account flows.
type Service struct {
	st      store.Store
	cfg     Config
	log     *slog.Logger
	hmacKey [32]byte // derived from Config.CodeSecret
}

// New returns a Service over st.
func New(st store.Store, cfg Config, log *slog.Logger) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CodeInterval == 0 {
		cfg.CodeInterval = time.Minute
	}
	s := &Service{st: st, cfg: cfg, log: log}
	s.hmacKey = sha256.Sum256(append([]byte("parley-code-v1\x00"), cfg.CodeSecret...))
	return s
}

func (s *Service) hash(purpose, key, code string) []byte {
	m := hmac.New(sha256.New, s.hmacKey[:])
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// RequestCode sends a registration code to phone. remote is the client's IP
// address, for the per-address limit.
func (s *Service) RequestCode(ctx context.Context, phone, transport, locale, remote string) (expiresIn, nextIn time.Duration, err error) {
	phone, err = types.ParsePhone(phone)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	switch transport {
	case "":
		transport = "sms"
	case "sms", "voice":
	default:
		return 0, 0, fmt.Errorf("%w: transport must be sms or voice", ErrInvalidInput)
	}
	if len(locale) > 35 {
		return 0, 0, fmt.Errorf("%w: locale too long", ErrInvalidInput)
	}
	now := s.cfg.Now()
	if err := s.ipLimit(ctx, "code-ip:", remote, now); err != nil {
		return 0, 0, err
	}
	for _, l := range []struct {
		key    string
		n      int
		window time.Duration
	}{
		{"code-gap:" + phone, 1, s.cfg.CodeInterval},
		{"code-hour:" + phone, codesPerHour, time.Hour},
	} {
		ok, retry, err := s.st.Allow(ctx, l.key, l.n, l.window, now)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, &RateLimitedError{RetryAfter: retry}
		}
	}
	code := s.cfg.FixedCode
	if code == "" {
		code = randomDigits(6)
	}
	if err := s.st.PutCode(ctx, store.Code{
		Purpose: store.PurposeRegister, Key: phone, Hash: s.hash("register", phone, code), ExpiresAt: now.Add(CodeTTL),
	}); err != nil {
		return 0, 0, err
	}
	if err := s.cfg.Sender.SendCode(ctx, CodeMessage{Phone: phone, Code: code, Transport: transport, Locale: locale}); err != nil {
		return 0, 0, fmt.Errorf("account: sending code: %w", err)
	}
	return CodeTTL, s.cfg.CodeInterval, nil
}

// ipLimit counts one request of a kind from the address remote.
func (s *Service) ipLimit(ctx context.Context, kind, remote string, now time.Time) error {
	if s.cfg.IPLimit < 0 {
		return nil
	}
	ok, retry, err := s.st.Allow(ctx, kind+remote, s.cfg.IPLimit, time.Hour, now)
	if err != nil {
		return err
	}
	if !ok {
		return &RateLimitedError{RetryAfter: retry}
	}
	return nil
}

// checkCode verifies a registration code for phone and uses it up.
func (s *Service) checkCode(ctx context.Context, phone, code string) error {
	c, err := s.st.CheckCode(ctx, store.PurposeRegister, phone, CodeAttempts, s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCodeAttempts) {
		return ErrInvalidCode
	}
	if err != nil {
		return err
	}
	if !hmac.Equal(c.Hash, s.hash("register", phone, code)) {
		return ErrInvalidCode
	}
	return s.st.DeleteCode(ctx, store.PurposeRegister, phone)
}

// NewDevice is what a registering or linking device brings.
type NewDevice struct {
	AuthKey        []byte
	IdentityKey    []byte
	RegistrationID uint32
	Name           []byte
	SignedPreKey   store.PreKey
	LastResort     store.PreKey
}

func (d NewDevice) validate() error {
	if len(d.AuthKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: auth key must be %d bytes", ErrInvalidInput, ed25519.PublicKeySize)
	}
	if err := prekey.CheckECKey(d.IdentityKey); err != nil {
		return fmt.Errorf("%w: identity key: %v", ErrInvalidInput, err)
	}
	if d.RegistrationID < 1 || d.RegistrationID > 16380 {
		return fmt.Errorf("%w: registration id must be 1..16380", ErrInvalidInput)
	}
	if len(d.Name) > 256 {
		return fmt.Errorf("%w: device name longer than 256 bytes", ErrInvalidInput)
	}
	sp, lr := d.SignedPreKey, d.LastResort
	if err := prekey.CheckSet(d.IdentityKey, store.PreKeySet{SignedEC: &sp, LastResortKyber: &lr}); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return nil
}

func (d NewDevice) device(acct types.AccountID, now time.Time) (store.Device, store.PreKeySet) {
	spk, lr := d.SignedPreKey, d.LastResort
	return store.Device{
			Account: acct, ID: types.PrimaryDevice, AuthKey: d.AuthKey, IdentityKey: d.IdentityKey,
			RegistrationID: d.RegistrationID, Name: d.Name, CreatedAt: now, LastSeen: now,
		}, store.PreKeySet{
			SignedEC: &spk, LastResortKyber: &lr,
		}
}

// Registered is the outcome of Register.
type Registered struct {
	Account types.AccountID
	Device  types.DeviceID
	// Reregistered means the number had an account whose old devices, keys
	// and queued envelopes are now gone. RemovedDevices lists them so their
	// connections can be closed.
	Reregistered   bool
	RemovedDevices []types.DeviceID
}

// Register verifies the code and gives the number an account with dev as its
// primary device; an existing account of the number moves to dev.
func (s *Service) Register(ctx context.Context, phone, code, remote string, dev NewDevice) (Registered, error) {
	phone, err := types.ParsePhone(phone)
	if err != nil {
		return Registered{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := dev.validate(); err != nil {
		return Registered{}, err
	}
	now := s.cfg.Now()
	if err := s.ipLimit(ctx, "register-ip:", remote, now); err != nil {
		return Registered{}, err
	}
	if err := s.checkCode(ctx, phone, code); err != nil {
		return Registered{}, err
	}
	existing, err := s.st.AccountByPhone(ctx, phone)
	switch {
	case err == nil:
		old, err := s.st.Devices(ctx, existing.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Registered{}, err
		}
		d, keys := dev.device(existing.ID, now)
		if err := s.st.ReplaceDevices(ctx, existing.ID, d, keys); err != nil {
			return Registered{}, err
		}
		r := Registered{Account: existing.ID, Device: types.PrimaryDevice, Reregistered: true}
		for _, o := range old {
			r.RemovedDevices = append(r.RemovedDevices, o.ID)
		}
		s.log.Info("account re-registered", "account_id", existing.ID)
		return r, nil
	case errors.Is(err, store.ErrNotFound):
		id := types.NewAccountID()
		d, keys := dev.device(id, now)
		err := s.st.CreateAccount(ctx, store.Account{ID: id, Phone: phone, CreatedAt: now}, d, keys)
		if errors.Is(err, store.ErrConflict) {
			// Two registrations of one number raced; the other won. The code
			// is used up, so the loser asks for a new one like any failure.
			return Registered{}, ErrInvalidCode
		}
		if err != nil {
			return Registered{}, err
		}
		s.log.Info("account registered", "account_id", id)
		return Registered{Account: id, Device: types.PrimaryDevice}, nil
	default:
		return Registered{}, err
	}
}

// CreateLinkCode gives the primary device a one-time code for a new device.
func (s *Service) CreateLinkCode(ctx context.Context, by types.Address) (string, error) {
	if by.Device != types.PrimaryDevice {
		return "", ErrForbidden
	}
	code := randomLinkCode()
	key := hex.EncodeToString(s.hash("link", "", code))
	err := s.st.PutCode(ctx, store.Code{
		Purpose: store.PurposeLink, Key: key, Hash: s.hash("link", "", code), Account: by.Account,
		ExpiresAt: s.cfg.Now().Add(LinkCodeTTL),
	})
	return code, err
}

// LinkDevice adds dev to the account the link code belongs to.
func (s *Service) LinkDevice(ctx context.Context, code, remote string, dev NewDevice) (types.Address, error) {
	if err := dev.validate(); err != nil {
		return types.Address{}, err
	}
	now := s.cfg.Now()
	if err := s.ipLimit(ctx, "link-ip:", remote, now); err != nil {
		return types.Address{}, err
	}
	code = normalizeLinkCode(code)
	key := hex.EncodeToString(s.hash("link", "", code))
	c, err := s.st.CheckCode(ctx, store.PurposeLink, key, 1, now)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCodeAttempts) {
		return types.Address{}, ErrInvalidCode
	}
	if err != nil {
		return types.Address{}, err
	}
	if err := s.st.DeleteCode(ctx, store.PurposeLink, key); err != nil {
		return types.Address{}, err
	}
	d, keys := dev.device(c.Account, now)
	id, err := s.st.AddDevice(ctx, d, keys, s.cfg.MaxDevices)
	switch {
	case errors.Is(err, store.ErrDeviceLimit):
		return types.Address{}, ErrDeviceLimit
	case errors.Is(err, store.ErrNotFound):
		return types.Address{}, ErrInvalidCode // the account was deleted meanwhile
	case err != nil:
		return types.Address{}, err
	}
	s.log.Info("device linked", "account_id", c.Account, "device_id", id)
	return types.Address{Account: c.Account, Device: id}, nil
}

// Devices lists the account's devices.
func (s *Service) Devices(ctx context.Context, acct types.AccountID) ([]store.Device, error) {
	return s.st.Devices(ctx, acct)
}

// RemoveDevice removes target; the primary may remove any linked device, a
// linked device only itself. The primary itself goes only with the account.
func (s *Service) RemoveDevice(ctx context.Context, by types.Address, target types.DeviceID) error {
	if target == types.PrimaryDevice || (by.Device != types.PrimaryDevice && by.Device != target) {
		return ErrForbidden
	}
	if _, err := s.st.Device(ctx, by.Account, target); errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	if err := s.st.RemoveDevice(ctx, by.Account, target); err != nil {
		return err
	}
	s.log.Info("device removed", "account_id", by.Account, "device_id", target)
	return nil
}

// ChangeNumber moves the account to phone, proven by a code sent to it.
func (s *Service) ChangeNumber(ctx context.Context, by types.Address, phone, code string) error {
	if by.Device != types.PrimaryDevice {
		return ErrForbidden
	}
	phone, err := types.ParsePhone(phone)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := s.checkCode(ctx, phone, code); err != nil {
		return err
	}
	err = s.st.ChangePhone(ctx, by.Account, phone)
	if errors.Is(err, store.ErrConflict) {
		return ErrNumberTaken
	}
	if err == nil {
		s.log.Info("account number changed", "account_id", by.Account)
	}
	return err
}

// DeleteAccount removes the account and everything held for it. It returns
// the devices it had, so their connections can be closed.
func (s *Service) DeleteAccount(ctx context.Context, by types.Address) ([]types.DeviceID, error) {
	if by.Device != types.PrimaryDevice {
		return nil, ErrForbidden
	}
	devs, err := s.st.Devices(ctx, by.Account)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := s.st.DeleteAccount(ctx, by.Account); err != nil {
		return nil, err
	}
	ids := make([]types.DeviceID, 0, len(devs))
	for _, d := range devs {
		ids = append(ids, d.ID)
	}
	s.log.Info("account deleted", "account_id", by.Account)
	return ids, nil
}

// Authenticate checks a device's signature over the connection's challenge.
// A signature is bound to one challenge, which the server makes fresh for
// every connection, so a recorded proof is worthless elsewhere.
func (s *Service) Authenticate(ctx context.Context, a types.Address, challenge, sig []byte) (store.Device, error) {
	d, err := s.st.Device(ctx, a.Account, a.Device)
	if errors.Is(err, store.ErrNotFound) {
		return store.Device{}, ErrAuthFailed
	}
	if err != nil {
		return store.Device{}, err
	}
	if len(sig) != ed25519.SignatureSize || len(d.AuthKey) != ed25519.PublicKeySize ||
		!ed25519.Verify(ed25519.PublicKey(d.AuthKey), wirepb.AuthMessage(challenge, a.Account, uint32(a.Device)), sig) {
		return store.Device{}, ErrAuthFailed
	}
	return d, nil
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// Link codes avoid letters people confuse (0/O, 1/I/L) since they may be typed.
const linkAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func randomLinkCode() string {
	var b strings.Builder
	for range 8 {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(linkAlphabet))))
		b.WriteByte(linkAlphabet[i.Int64()])
	}
	return b.String()
}

func normalizeLinkCode(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
}
