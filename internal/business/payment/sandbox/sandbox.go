// Package sandbox is the default payment provider: it issues real, payable
// looking codes (a static Pix BR Code with the amount and the charge id as
// txid, a UPI intent link with the order reference as tr) but moves no
// money. Charges stay pending until an operator or a test confirms or fails
// them, which is how development setups and the end-to-end tests drive the
// order flow without a PSP.
package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-im/parley/internal/business/payment"
	"github.com/parley-im/parley/internal/business/payment/pix"
	"github.com/parley-im/parley/internal/business/payment/upi"
)

// PixAccount is where BRL charges are paid.
type PixAccount struct {
	Key          string // any Pix key; normalised with pix.NormalizeKey
	MerchantName string // normalised to upper-case ASCII; at most 25 characters after that
	MerchantCity string // likewise, at most 15
	MCC          string // merchant category code; "" is 0000
}

// UPIAccount is where INR charges are paid.
type UPIAccount struct {
	VPA       string
	PayeeName string
	MCC       string // merchant category code, four digits (optional)
	Mode      string // UPI initiation mode, two digits (optional)
	Purpose   string // UPI purpose code, two digits (optional)
}

// Config is a sandbox's setup; a nil account refuses that currency.
type Config struct {
	Pix *PixAccount
	UPI *UPIAccount
	// Store keeps the charges; nil keeps them in memory.
	Store payment.Store
	// Notify hears every status change, exactly once each; nil hears none.
	Notify payment.Notify
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Provider is the sandbox provider.
type Provider struct {
	pix    *PixAccount
	upi    *UPIAccount
	store  payment.Store
	notify payment.Notify
	now    func() time.Time
}

var _ payment.Provider = (*Provider)(nil)

// New checks cfg's accounts and returns a provider.
func New(cfg Config) (*Provider, error) {
	p := &Provider{store: cfg.Store, notify: cfg.Notify, now: cfg.Now}
	if p.store == nil {
		p.store = payment.NewMemStore()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if a := cfg.Pix; a != nil {
		acc := PixAccount{Key: pix.NormalizeKey(a.Key), MerchantName: pix.NormalizeName(a.MerchantName), MerchantCity: pix.NormalizeCity(a.MerchantCity), MCC: a.MCC}
		// A code for the smallest amount proves the account can make codes.
		if _, err := pix.Encode(pix.Code{Key: acc.Key, Name: acc.MerchantName, City: acc.MerchantCity, MCC: acc.MCC, Amount: 1}); err != nil {
			return nil, fmt.Errorf("sandbox: Pix account: %w", err)
		}
		p.pix = &acc
	}
	if a := cfg.UPI; a != nil {
		acc := *a
		if _, err := upi.Encode(upi.Link{VPA: acc.VPA, Name: acc.PayeeName, MCC: acc.MCC, Mode: acc.Mode, Purpose: acc.Purpose}); err != nil {
			return nil, fmt.Errorf("sandbox: UPI account: %w", err)
		}
		p.upi = &acc
	}
	return p, nil
}

// CreateCharge implements payment.Provider.
func (p *Provider) CreateCharge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	if err := payment.ValidReference(req.Reference); err != nil {
		return payment.Charge{}, err
	}
	if err := req.Amount.Validate(); err != nil {
		return payment.Charge{}, err
	}
	if live, err := p.store.LiveCharge(ctx, req.Reference); err == nil {
		return sameOrConflict(live, req)
	} else if !errors.Is(err, payment.ErrNotFound) {
		return payment.Charge{}, err
	}
	id, err := newID()
	if err != nil {
		return payment.Charge{}, err
	}
	now := p.now()
	c := payment.Charge{ID: id, Reference: req.Reference, Amount: req.Amount, Status: payment.StatusPending, CreatedAt: now, UpdatedAt: now}
	switch req.Amount.Currency {
	case payment.BRL:
		if p.pix == nil {
			return payment.Charge{}, fmt.Errorf("%w: BRL (no Pix account configured)", payment.ErrUnsupportedCurrency)
		}
		c.Method = payment.MethodPix
		if c.Pix, err = p.pixPayment(id, req); err != nil {
			return payment.Charge{}, err
		}
	case payment.INR:
		if p.upi == nil {
			return payment.Charge{}, fmt.Errorf("%w: INR (no UPI account configured)", payment.ErrUnsupportedCurrency)
		}
		c.Method = payment.MethodUPI
		if c.UPI, err = p.upiPayment(req); err != nil {
			return payment.Charge{}, err
		}
	default:
		return payment.Charge{}, fmt.Errorf("%w: %s", payment.ErrUnsupportedCurrency, req.Amount.Currency)
	}
	if err := p.store.InsertCharge(ctx, c); err != nil {
		if !errors.Is(err, payment.ErrConflict) {
			return payment.Charge{}, err
		}
		// A concurrent request for the same order won the insert.
		live, lerr := p.store.LiveCharge(ctx, req.Reference)
		if lerr != nil {
			return payment.Charge{}, err
		}
		return sameOrConflict(live, req)
	}
	return c, nil
}

func sameOrConflict(live payment.Charge, req payment.ChargeRequest) (payment.Charge, error) {
	if live.Amount != req.Amount {
		return payment.Charge{}, fmt.Errorf("%w: order %s has charge %s for %s", payment.ErrConflict, req.Reference, live.ID, live.Amount)
	}
	return live, nil
}

// pixPayment makes a static code: the sandbox is no PSP, so it cannot host
// the signed payload a dynamic code points at. The charge id is the txid, so
// a payment can be matched to its charge.
func (p *Provider) pixPayment(id payment.ChargeID, req payment.ChargeRequest) (payment.PixPayment, error) {
	c := pix.Code{Key: p.pix.Key, Name: p.pix.MerchantName, City: p.pix.MerchantCity, MCC: p.pix.MCC, Amount: req.Amount.Minor, TxID: string(id)}
	if c.Amount > pix.MaxAmount {
		return payment.PixPayment{}, fmt.Errorf("%w: %s is above what a BR Code holds", payment.ErrInvalidRequest, req.Amount)
	}
	// The message shares field 26's 99 characters with the GUI and the key.
	room := 99 - (4 + len(pix.GUI)) - (4 + len(c.Key)) - 4
	c.Info = strings.TrimSpace(truncate(pix.NormalizeText(req.Description), max(room, 0)))
	code, err := pix.Encode(c)
	if err != nil {
		return payment.PixPayment{}, fmt.Errorf("sandbox: %w", err)
	}
	kt, _ := pix.KeyTypeOf(c.Key) // New checked the key
	return payment.PixPayment{Code: code, MerchantName: c.Name, Key: c.Key, KeyType: kt.String()}, nil
}

// upiPayment makes an intent link whose tr is the order reference, as
// WhatsApp's UPI intent flow expects.
func (p *Provider) upiPayment(req payment.ChargeRequest) (payment.UPIPayment, error) {
	note := truncate(req.Description, upi.MaxNote)
	if note == "" {
		note = req.Reference
	}
	link, err := upi.Encode(upi.Link{
		VPA: p.upi.VPA, Name: p.upi.PayeeName, MCC: p.upi.MCC, Mode: p.upi.Mode, Purpose: p.upi.Purpose,
		Ref: req.Reference, Amount: req.Amount.Minor, Note: note,
	})
	if err != nil {
		return payment.UPIPayment{}, fmt.Errorf("sandbox: %w", err)
	}
	return payment.UPIPayment{Link: link}, nil
}

// truncate cuts s to at most n characters, never inside a character, and
// drops control characters a note may not carry.
func truncate(s string, n int) string {
	out := make([]rune, 0, n)
	for _, r := range s {
		if len(out) == n {
			break
		}
		if r < 0x20 || r == 0x7F || r >= 0x80 && r < 0xA0 || r == utf8.RuneError {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

// Charge implements payment.Provider.
func (p *Provider) Charge(ctx context.Context, id payment.ChargeID) (payment.Charge, error) {
	return p.store.Charge(ctx, id)
}

// Confirm marks a pending charge captured, as if the customer had paid.
// Confirming a captured charge again changes nothing and notifies nobody;
// confirming a failed one is payment.ErrConflict.
func (p *Provider) Confirm(ctx context.Context, id payment.ChargeID) (payment.Charge, error) {
	return p.settle(ctx, id, payment.StatusCaptured, "")
}

// Fail marks a pending charge failed with reason, which frees its order for
// a new charge. Failing a failed charge again changes nothing; failing a
// captured one is payment.ErrConflict.
func (p *Provider) Fail(ctx context.Context, id payment.ChargeID, reason string) (payment.Charge, error) {
	return p.settle(ctx, id, payment.StatusFailed, reason)
}

func (p *Provider) settle(ctx context.Context, id payment.ChargeID, to payment.Status, reason string) (payment.Charge, error) {
	c, changed, err := p.store.SettleCharge(ctx, id, to, reason, p.now())
	if err != nil {
		return c, err
	}
	if changed && p.notify != nil {
		p.notify(ctx, payment.Event{Charge: c, From: payment.StatusPending})
	}
	return c, nil
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID makes a charge id that is also a valid Pix txid: 25 letters and
// digits, "sbx" and 22 random characters (about 131 bits).
func newID() (payment.ChargeID, error) {
	var raw [22]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	b := []byte("sbx")
	for _, r := range raw {
		// 256 = 4*62 + 8: the slight bias towards the first 8 characters
		// does not matter for an identifier that only must not collide.
		b = append(b, idAlphabet[int(r)%len(idAlphabet)])
	}
	return payment.ChargeID(b), nil
}
