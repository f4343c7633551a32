// Package prekey is the prekey directory: devices upload and rotate their
// signed EC prekeys, last-resort and one-time Kyber prekeys and one-time EC
// prekeys; senders fetch a bundle per device, which hands each one-time key
// out exactly once; and a device running low is told to upload more.
//
// The server checks key encodings (libsignal's 0x05 and 0x08 type bytes and
// lengths) and the XEdDSA signatures of signed keys under the device's
// identity key, so a broken client cannot poison the directory with keys
// every sender would reject. Recipients of a bundle check again: the server
// is not trusted with that.
package prekey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/parley-im/parley/e2ee/curve"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/types"
)

// Key encodings, as libsignal serialises them.
const (
	ECKeyType       = 0x05
	ECKeyLen        = 33
	KyberKeyType    = 0x08
	KyberKeyLen     = 1569
	SignatureLen    = 64
	MaxOneTimeBatch = 200 // one-time keys per upload and kind
)

// Errors the gateway turns into wire error codes.
var (
	ErrInvalidKey = errors.New("prekey: invalid key")
	ErrNotFound   = errors.New("prekey: no such device")
)

// CheckECKey checks a serialised Curve25519 public key.
func CheckECKey(b []byte) error {
	if len(b) != ECKeyLen || b[0] != ECKeyType {
		return fmt.Errorf("%w: EC public key must be 0x05 followed by 32 bytes", ErrInvalidKey)
	}
	return nil
}

// CheckKyberKey checks a serialised Kyber1024 public key.
func CheckKyberKey(b []byte) error {
	if len(b) != KyberKeyLen || b[0] != KyberKeyType {
		return fmt.Errorf("%w: Kyber public key must be 0x08 followed by 1568 bytes", ErrInvalidKey)
	}
	return nil
}

// CheckSigned checks a prekey of the given kind: its encoding, and that the
// kinds that carry a signature have one of the right length.
func CheckSigned(kind store.PreKeyKind, k store.PreKey) error {
	var err error
	switch kind {
	case store.SignedEC, store.OneTimeEC:
		err = CheckECKey(k.Public)
	case store.LastResortKyber, store.OneTimeKyber:
		err = CheckKyberKey(k.Public)
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidKey, kind)
	}
	if err != nil {
		return err
	}
	if kind == store.OneTimeEC {
		if len(k.Signature) != 0 {
			return fmt.Errorf("%w: one-time EC prekeys carry no signature", ErrInvalidKey)
		}
		return nil
	}
	if len(k.Signature) != SignatureLen {
		return fmt.Errorf("%w: signature must be %d bytes", ErrInvalidKey, SignatureLen)
	}
	return nil
}

// VerifySigned checks k's XEdDSA signature over its serialized public key,
// made with the identity key (0x05‖32) of its device.
func VerifySigned(identity []byte, k store.PreKey) error {
	id, err := curve.ParsePublicKey(identity)
	if err != nil {
		return fmt.Errorf("%w: identity key: %v", ErrInvalidKey, err)
	}
	if !id.Verify(k.Public, k.Signature) {
		return fmt.Errorf("%w: signature does not verify under the device's identity key", ErrInvalidKey)
	}
	return nil
}

// CheckSet checks every key of an upload by a device with the given
// identity key: encodings, signatures, and that key ids are unique per kind.
func CheckSet(identity []byte, s store.PreKeySet) error {
	if s.SignedEC != nil {
		if err := checkSignedBy(identity, store.SignedEC, *s.SignedEC); err != nil {
			return fmt.Errorf("signed prekey: %w", err)
		}
	}
	if s.LastResortKyber != nil {
		if err := checkSignedBy(identity, store.LastResortKyber, *s.LastResortKyber); err != nil {
			return fmt.Errorf("last-resort kyber prekey: %w", err)
		}
	}
	for _, l := range []struct {
		kind store.PreKeyKind
		keys []store.PreKey
		name string
	}{{store.OneTimeEC, s.OneTimeEC, "one-time prekey"}, {store.OneTimeKyber, s.OneTimeKyber, "one-time kyber prekey"}} {
		if len(l.keys) > MaxOneTimeBatch {
			return fmt.Errorf("%w: more than %d %ss", ErrInvalidKey, MaxOneTimeBatch, l.name)
		}
		seen := make(map[uint32]bool, len(l.keys))
		for _, k := range l.keys {
			if err := checkSignedBy(identity, l.kind, k); err != nil {
				return fmt.Errorf("%s %d: %w", l.name, k.ID, err)
			}
			if seen[k.ID] {
				return fmt.Errorf("%w: %s id %d twice", ErrInvalidKey, l.name, k.ID)
			}
			seen[k.ID] = true
		}
	}
	return nil
}

// checkSignedBy checks a key's encoding and, for the kinds that carry one,
// its signature.
func checkSignedBy(identity []byte, kind store.PreKeyKind, k store.PreKey) error {
	if err := CheckSigned(kind, k); err != nil {
		return err
	}
	if kind == store.OneTimeEC {
		return nil
	}
	return VerifySigned(identity, k)
}

// LowNotifier tells a device that its one-time prekeys run low.
type LowNotifier interface {
	PreKeysLow(a types.Address, ec, kyber int)
}

// Directory serves prekeys.
type Directory struct {
	st        store.Store
	notify    LowNotifier
	threshold int
	log       *slog.Logger
}

// New returns a Directory that notifies through n when a device has fewer
// than threshold one-time keys of a kind left.
func New(st store.Store, n LowNotifier, threshold int, log *slog.Logger) *Directory {
	return &Directory{st: st, notify: n, threshold: threshold, log: log}
}

// Set stores a device's upload after checking it.
func (d *Directory) Set(ctx context.Context, a types.Address, keys store.PreKeySet) error {
	dev, err := d.st.Device(ctx, a.Account, a.Device)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := CheckSet(dev.IdentityKey, keys); err != nil {
		return err
	}
	return d.st.SetPreKeys(ctx, a.Account, a.Device, keys)
}

// Counts returns how many one-time EC and Kyber prekeys the device has left.
func (d *Directory) Counts(ctx context.Context, a types.Address) (ec, kyber int, err error) {
	return d.st.PreKeyCounts(ctx, a.Account, a.Device)
}

// Low reports whether counts are below the threshold.
func (d *Directory) Low(ec, kyber int) bool { return ec < d.threshold || kyber < d.threshold }

// Bundles claims a bundle for one device of acct, or for every device when
// dev is 0. ErrNotFound if there is no such account or device.
func (d *Directory) Bundles(ctx context.Context, acct types.AccountID, dev types.DeviceID) ([]store.Bundle, error) {
	var ids []types.DeviceID
	if dev != 0 {
		ids = []types.DeviceID{dev}
	} else {
		devs, err := d.st.Devices(ctx, acct)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		for _, x := range devs {
			ids = append(ids, x.ID)
		}
	}
	out := make([]store.Bundle, 0, len(ids))
	for _, id := range ids {
		b, err := d.st.ClaimBundle(ctx, acct, id)
		if errors.Is(err, store.ErrNotFound) {
			if dev != 0 {
				return nil, ErrNotFound
			}
			continue // removed meanwhile, or not yet keyed: skip it
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		if b.OneTime != nil || !b.KyberLastResort {
			d.checkLow(ctx, types.Address{Account: acct, Device: id})
		}
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

func (d *Directory) checkLow(ctx context.Context, a types.Address) {
	ec, kyber, err := d.st.PreKeyCounts(ctx, a.Account, a.Device)
	if err != nil {
		d.log.Warn("prekey count failed", "account_id", a.Account, "device_id", a.Device, "err", err)
		return
	}
	if d.Low(ec, kyber) && d.notify != nil {
		d.notify.PreKeysLow(a, ec, kyber)
	}
}
