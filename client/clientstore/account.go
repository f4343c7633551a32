package clientstore

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"unicode/utf8"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/e2ee/session"
	"github.com/parley-im/parley/types"
)

// MaxProfileName bounds a profile name (Account.ProfileName,
// Contact.ProfileName), in bytes.
const MaxProfileName = 128

// MaxRegistrationID is the largest registration id (libsignal's 14-bit
// range, as the server checks: 1..16380).
const MaxRegistrationID = 16380

// Account is this device's identity and where it is registered. It holds
// private keys: it renders redacted in logs.
type Account struct {
	ServerURL      string
	ID             types.AccountID // zero until registered
	Phone          string          // E.164
	Device         types.DeviceID  // zero until registered
	RegistrationID uint32          // 1..MaxRegistrationID
	AuthKey        ed25519.PrivateKey
	Identity       curve.KeyPair
	// LinkedBy and LinkSignature are set on a device that joined by the
	// QR-code flow: the identity key of the primary that approved it, and
	// the primary's XEdDSA signature vouching for this device's identity
	// key (the client defines what is signed). Zero on a primary.
	LinkedBy      curve.PublicKey
	LinkSignature []byte
	// ProfileName is the name the user shows others (sent inside the
	// encrypted content with every message); empty if none.
	ProfileName string
}

// NewAccount returns an account with fresh keys (identity, auth key,
// registration id) for serverURL and phone; ID and Device are set once the
// server has answered the registration.
func NewAccount(serverURL, phone string) (Account, error) {
	identity, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		return Account{}, err
	}
	_, auth, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Account{}, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(MaxRegistrationID))
	if err != nil {
		return Account{}, err
	}
	return Account{
		ServerURL:      serverURL,
		Phone:          phone,
		RegistrationID: uint32(n.Int64()) + 1,
		AuthKey:        auth,
		Identity:       identity,
	}, nil
}

// Address is the account's own session address: the account id in its UUID
// form, the name every Parley client files sessions under, and the device.
func (a Account) Address() session.Address {
	return session.Address{Name: a.ID.String(), DeviceID: uint32(a.Device)}
}

// LogValue implements slog.LogValuer: ids only, never keys or the phone.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account_id", a.ID.String()), slog.Uint64("device_id", uint64(a.Device)))
}

// String keeps private keys out of %v.
func (a Account) String() string {
	return "clientstore.Account{" + a.ID.String() + "." + a.Device.String() + "}"
}

// SaveAccount stores a, replacing the account on record.
func (s *Store) SaveAccount(ctx context.Context, a Account) error {
	if a.RegistrationID < 1 || a.RegistrationID > MaxRegistrationID {
		return fmt.Errorf("%w: registration id %d outside 1..%d", ErrInvalid, a.RegistrationID, MaxRegistrationID)
	}
	if a.AuthKey != nil && len(a.AuthKey) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: auth key of %d bytes", ErrInvalid, len(a.AuthKey))
	}
	if a.Identity.Private.PublicKey() != a.Identity.Public {
		return fmt.Errorf("%w: identity public key does not match the private key", ErrInvalid)
	}
	if len(a.ProfileName) > MaxProfileName || !utf8.ValidString(a.ProfileName) {
		return fmt.Errorf("%w: profile name longer than %d bytes or not UTF-8", ErrInvalid, MaxProfileName)
	}
	if a.Phone != "" {
		if p, err := types.ParsePhone(a.Phone); err != nil || p != a.Phone {
			return fmt.Errorf("%w: phone number is not E.164", ErrInvalid)
		}
	}
	sealed := s.keys.seal(encodeAccount(&a), labelAccount)
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO account (id, sealed) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed`, sealed)
		return err
	})
}

// Account returns the account on record, or ErrNoAccount.
func (s *Store) Account(ctx context.Context) (Account, error) {
	var sealed []byte
	err := s.read(ctx).QueryRowContext(ctx, `SELECT sealed FROM account WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNoAccount
	}
	if err != nil {
		return Account{}, fmt.Errorf("clientstore: read account: %w", err)
	}
	pt, err := s.keys.open(sealed, labelAccount)
	if err != nil {
		return Account{}, err
	}
	return decodeAccount(pt)
}

// Stores returns the e2ee stores, all backed by s, with the account's own
// address as Local. The account must be registered (ID and Device set).
func (s *Store) Stores(ctx context.Context) (session.Stores, error) {
	a, err := s.Account(ctx)
	if err != nil {
		return session.Stores{}, err
	}
	if a.ID.IsZero() || a.Device == 0 {
		return session.Stores{}, fmt.Errorf("%w: account is not registered yet", ErrNoAccount)
	}
	return session.Stores{Local: a.Address(), Identity: s, Sessions: s, PreKeys: s, SignedPreKeys: s, KyberPreKeys: s}, nil
}

// IdentityKeyPair implements session.IdentityStore.
func (s *Store) IdentityKeyPair(ctx context.Context) (curve.KeyPair, error) {
	a, err := s.Account(ctx)
	if err != nil {
		return curve.KeyPair{}, err
	}
	return a.Identity, nil
}

// LocalRegistrationID implements session.IdentityStore.
func (s *Store) LocalRegistrationID(ctx context.Context) (uint32, error) {
	a, err := s.Account(ctx)
	if err != nil {
		return 0, err
	}
	return a.RegistrationID, nil
}
