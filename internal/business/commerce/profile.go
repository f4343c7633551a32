package commerce

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Vertical is the Cloud API's business industry enum.
type Vertical string

// verticals are the values of WhatsAppBusinessVertical in Meta's OpenAPI
// file (v23.0), and UNDEFINED, which the live API reports for a profile
// without one (internal/business/cloudapi accepts it too).
var verticals = strings.Fields("OTHER AUTO BEAUTY APPAREL EDU ENTERTAIN EVENT_PLAN FINANCE GROCERY GOVT HOTEL " +
	"HEALTH NONPROFIT PROF_SERVICES RETAIL TRAVEL RESTAURANT ALCOHOL ONLINE_GAMBLING PHYSICAL_GAMBLING OTC_DRUGS UNDEFINED")

// Valid reports whether v is one of Meta's verticals.
func (v Vertical) Valid() bool {
	for _, x := range verticals {
		if string(v) == x {
			return true
		}
	}
	return false
}

// Profile is the business profile: the Cloud API's fields
// (whatsapp_business_profile) plus the name and the verified flag, which
// Parley shows to customers.
type Profile struct {
	// Name is the business's display name (Meta's account_name, ≤75).
	Name string `json:"name"`
	// About is the profile's About text, ≤139 characters.
	About string `json:"about"`
	// Address, ≤256 characters.
	Address string `json:"address"`
	// Description, ≤256 characters.
	Description string `json:"description"`
	// Email, ≤128 characters.
	Email string `json:"email"`
	// Websites, at most 2 http(s) URLs of ≤256 characters.
	Websites []string `json:"websites"`
	// Vertical is the industry ("" for not set).
	Vertical Vertical `json:"vertical"`
	// ProfilePictureHandle is the upload handle the picture was set from;
	// ProfilePictureURL is where the agent serves it.
	ProfilePictureHandle string `json:"profile_picture_handle,omitempty"`
	ProfilePictureURL    string `json:"profile_picture_url,omitempty"`
	// Verified is shown to customers as a verified business.
	Verified  bool      `json:"verified"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits of Profile, from Meta's OpenAPI file.
const (
	MaxAbout       = 139
	MaxAddress     = 256
	MaxDescription = 256
	MaxEmail       = 128
	MaxWebsites    = 2
	MaxWebsiteLen  = 256
	MaxName        = 75
)

// Validate checks p against the Cloud API's limits. About may be empty (not
// set); Meta requires 1..139 characters only when it is sent.
func (p Profile) Validate() error {
	var errs []string
	check := func(field, v string, maxLen int, multiline bool) {
		if err := checkText(v, 0, maxLen, multiline); err != nil {
			errs = append(errs, field+" "+err.Error())
		}
	}
	check("name", p.Name, MaxName, false)
	check("about", p.About, MaxAbout, false)
	check("address", p.Address, MaxAddress, true)
	check("description", p.Description, MaxDescription, true)
	check("email", p.Email, MaxEmail, false)
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			errs = append(errs, fmt.Sprintf("email %q is not an address", clip(p.Email)))
		}
	}
	if len(p.Websites) > MaxWebsites {
		errs = append(errs, fmt.Sprintf("more than %d websites", MaxWebsites))
	}
	for _, w := range p.Websites {
		if len(w) > MaxWebsiteLen {
			errs = append(errs, fmt.Sprintf("website is longer than %d characters", MaxWebsiteLen))
		} else if err := checkURL(w); err != nil {
			errs = append(errs, "website "+err.Error())
		}
	}
	if p.Vertical != "" && !p.Vertical.Valid() {
		errs = append(errs, fmt.Sprintf("vertical %q is not one of Meta's", clip(string(p.Vertical))))
	}
	check("profile_picture_handle", p.ProfilePictureHandle, 1024, false)
	if p.ProfilePictureURL != "" {
		if err := checkURL(p.ProfilePictureURL); err != nil {
			errs = append(errs, "profile_picture_url "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// BusinessStore is what Business keeps the profile and hours in. Profile
// and Hours return an error matching ErrNotFound until they are first set.
type BusinessStore interface {
	Profile(ctx context.Context) (Profile, error)
	PutProfile(ctx context.Context, p Profile) error
	Hours(ctx context.Context) (Hours, error)
	// PutHours replaces the hours (weekly and special days) in one go.
	PutHours(ctx context.Context, h Hours) error
}

// Business manages the business profile and opening hours.
type Business struct {
	st  BusinessStore
	now func() time.Time
}

// NewBusiness returns the profile service over st.
func NewBusiness(st BusinessStore) *Business { return &Business{st: st, now: time.Now} }

// Profile returns the profile; an empty one if it was never set.
func (b *Business) Profile(ctx context.Context) (Profile, error) {
	p, err := b.st.Profile(ctx)
	if isNotFound(err) {
		return Profile{}, nil
	}
	return p, err
}

// SetProfile validates and stores p.
func (b *Business) SetProfile(ctx context.Context, p Profile) (Profile, error) {
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	p.UpdatedAt = b.now().UTC().Truncate(time.Millisecond)
	if err := b.st.PutProfile(ctx, p); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// Hours returns the opening hours; ErrNotFound if none were set.
func (b *Business) Hours(ctx context.Context) (Hours, error) { return b.st.Hours(ctx) }

// SetHours validates and stores h.
func (b *Business) SetHours(ctx context.Context, h Hours) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return b.st.PutHours(ctx, h)
}

// Schedule returns the stored hours ready for IsOpen, ClosesAt and
// NextOpening; ErrNotFound if none were set.
func (b *Business) Schedule(ctx context.Context) (*Schedule, error) {
	h, err := b.st.Hours(ctx)
	if err != nil {
		return nil, err
	}
	return h.Schedule()
}
