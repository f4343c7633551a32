package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/business/agent"
	"github.com/parley-im/parley/internal/business/bizstore"
	"github.com/parley-im/parley/internal/business/cloudapi"
	"github.com/parley-im/parley/internal/business/commerce"
	"github.com/parley-im/parley/internal/business/payment/sandbox"
	"github.com/parley-im/parley/internal/business/webhook"
)

// The business commands work on a business's profile: a registered profile
// (parley register) whose directory also holds the business database,
// business.db. Only `business serve` opens the encrypted client store (and
// asks for its passphrase); the others edit the business database, which
// is the business's own shop window and order book and is not encrypted.

const businessHelp = "The business's profile is the directory given by --profile, else " + envProfile +
	": a profile registered with 'parley register' for the business's number. Its business " +
	"database (business.db, beside the encrypted client store) holds the profile, hours, " +
	"catalog, FAQ, orders, access tokens and settings; only 'parley business serve' needs " +
	"the passphrase."

var businessCmd = &command{
	name:    "business",
	summary: "run a business's agent: the WhatsApp-compatible API, catalog, orders, payments",
	help: "Business turns a registered profile into a business: 'business serve' runs its " +
		"agent, a device of the business's account that serves a WhatsApp Cloud API " +
		"compatible REST API and webhooks on the business's own machine (the chats stay " +
		"end-to-end encrypted up to it), takes carts as orders, asks the payment " +
		"provider for Pix codes and UPI links and, if turned on, answers customers with " +
		"the embedded assistant. The other commands set up what it serves.\n\n" + businessHelp,
	subcommands: []*command{
		businessServeCmd,
		businessProfileCmd,
		businessSettingsCmd,
		businessCatalogCmd,
		businessFAQCmd,
		businessTokenCmd,
		businessWebhookCmd,
		businessOrdersCmd,
	},
}

// openBusiness opens the business database of a registered profile.
func (e *env) openBusiness(ctx context.Context, flagValue string) (*bizstore.Store, *agent.State, error) {
	dir, err := e.profileDir(flagValue)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, client.DatabaseFile)); err != nil {
		return nil, nil, fmt.Errorf("no profile in %s: register the business's number with 'parley register' first, or give --profile", dir)
	}
	st, state, err := agent.OpenDatabase(ctx, dir, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("open the business database in %s: %w", dir, err)
	}
	return st, state, nil
}

// businessRun opens the database, runs fn and closes it.
func (e *env) businessRun(ctx context.Context, name, profile string, fn func(st *bizstore.Store, state *agent.State) error) int {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, state, err := e.openBusiness(ctx, profile)
	if err != nil {
		return e.fail(name, err)
	}
	defer st.Close()
	if err := fn(st, state); err != nil {
		return e.fail(name, err)
	}
	return exitOK
}

func (e *env) printJSON(v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	e.stdout.Write(append(b, '\n'))
}

// stringsFlag is a flag that may be given several times.
type stringsFlag struct {
	vals []string
	set  bool
}

func (f *stringsFlag) String() string { return strings.Join(f.vals, ",") }
func (f *stringsFlag) Set(s string) error {
	f.vals, f.set = append(f.vals, s), true
	return nil
}

// setFlags reports which flags were given.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// --- profile ---------------------------------------------------------------

var businessProfileCmd = &command{
	name:    "profile",
	args:    "[--name N] [--about A] [--hours SPEC --timezone ZONE] [flags]",
	summary: "show or change the business profile and opening hours",
	help: "Profile shows the business profile customers see (name, about, description, " +
		"address, e-mail, websites, vertical) and the opening hours, after applying the " +
		"flags given. Hours are a time zone and weekly ranges, e.g. --timezone " +
		"America/Sao_Paulo --hours 'mon-fri 09:00-18:00; sat 10:00-14:00' (a day may have " +
		"several ranges; 22:00-02:00 runs past midnight); --holiday 2026-12-25=Christmas " +
		"closes a date (repeatable; --no-holidays clears them). The assistant answers " +
		"'are you open?' from them, in the business's time zone.\n\n" + businessHelp,
	run: runBusinessProfile,
}

func runBusinessProfile(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "profile")
	name := fs.String("name", "", "the business's `name`")
	about := fs.String("about", "", "the About `text` (≤139 characters)")
	desc := fs.String("description", "", "the `description` (≤256 characters)")
	addr := fs.String("address", "", "the street `address`")
	email := fs.String("email", "", "the e-mail `address`")
	var websites, holidays stringsFlag
	fs.Var(&websites, "website", "a website `URL` (at most 2; repeat the flag)")
	vertical := fs.String("vertical", "", "the `industry`: RETAIL, RESTAURANT, EDU, GROCERY, ...")
	verified := fs.Bool("verified", false, "show the business as verified")
	tz := fs.String("timezone", "", "the IANA time `zone` of the hours, e.g. America/Sao_Paulo")
	hours := fs.String("hours", "", "the weekly opening `hours`, e.g. 'mon-fri 09:00-18:00; sat 10:00-14:00'")
	fs.Var(&holidays, "holiday", "a `date[=note]` the business is closed, e.g. 2026-12-25=Christmas (repeatable)")
	noHolidays := fs.Bool("no-holidays", false, "forget the holidays")
	asJSON := fs.Bool("json", false, "print the profile and hours as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	set := setFlags(fs)
	var weekly []commerce.WeeklyRange
	if set["hours"] {
		var err error
		if weekly, err = parseHours(*hours); err != nil {
			return e.usageError("business profile", "--hours: %v", err)
		}
	}
	var special []commerce.SpecialDay
	for _, h := range holidays.vals {
		d, note, _ := strings.Cut(h, "=")
		date, err := commerce.ParseDate(strings.TrimSpace(d))
		if err != nil {
			return e.usageError("business profile", "--holiday %q: want YYYY-MM-DD[=note]", h)
		}
		special = append(special, commerce.SpecialDay{Date: date, Closed: true, Note: strings.TrimSpace(note)})
	}
	return e.businessRun(ctx, "business profile", *profile, func(st *bizstore.Store, _ *agent.State) error {
		b := commerce.NewBusiness(st)
		p, err := b.Profile(ctx)
		if err != nil {
			return err
		}
		changed := false
		for _, f := range []struct {
			flag    string
			dst, of *string
		}{{"name", &p.Name, name}, {"about", &p.About, about}, {"description", &p.Description, desc}, {"address", &p.Address, addr}, {"email", &p.Email, email}} {
			if set[f.flag] {
				*f.dst, changed = strings.TrimSpace(*f.of), true
			}
		}
		if websites.set {
			p.Websites, changed = websites.vals, true
		}
		if set["vertical"] {
			p.Vertical, changed = commerce.Vertical(strings.ToUpper(*vertical)), true
		}
		if set["verified"] {
			p.Verified, changed = *verified, true
		}
		if changed {
			if p, err = b.SetProfile(ctx, p); err != nil {
				return err
			}
		}
		h, err := b.Hours(ctx)
		if err != nil && !errors.Is(err, commerce.ErrNotFound) {
			return err
		}
		hoursChanged := set["timezone"] || set["hours"] || holidays.set || *noHolidays
		if set["timezone"] {
			h.TimeZone = *tz
		}
		if set["hours"] {
			h.Weekly = weekly
		}
		if *noHolidays {
			h.Special = nil
		}
		for _, sd := range special {
			h.Special = slices.DeleteFunc(h.Special, func(x commerce.SpecialDay) bool { return x.Date == sd.Date })
			h.Special = append(h.Special, sd)
		}
		if hoursChanged {
			if h.TimeZone == "" {
				return errors.New("give --timezone with the hours (an IANA zone such as America/Sao_Paulo)")
			}
			if err := b.SetHours(ctx, h); err != nil {
				return err
			}
		}
		if *asJSON {
			e.printJSON(map[string]any{"profile": p, "hours": h})
			return nil
		}
		printProfile(e.stdout, p, h)
		return nil
	})
}

func printProfile(w io.Writer, p commerce.Profile, h commerce.Hours) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, kv := range [][2]string{{"Name", p.Name}, {"About", p.About}, {"Description", p.Description}, {"Address", p.Address},
		{"E-mail", p.Email}, {"Websites", strings.Join(p.Websites, " ")}, {"Vertical", string(p.Vertical)}} {
		if kv[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", kv[0], strings.ReplaceAll(kv[1], "\n", " "))
		}
	}
	if p.Verified {
		fmt.Fprintf(tw, "Verified:\tyes\n")
	}
	if h.TimeZone != "" {
		fmt.Fprintf(tw, "Hours:\t%s (%s)\n", formatHours(h.Weekly), h.TimeZone)
		for _, sd := range h.Special {
			fmt.Fprintf(tw, "Closed:\t%s %s\n", sd.Date, sd.Note)
		}
	}
	tw.Flush()
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseHours reads "mon-fri 09:00-18:00; sat 10:00-14:00": groups split by
// ";", each a day, a day range or a comma list of them, and time ranges.
func parseHours(spec string) ([]commerce.WeeklyRange, error) {
	var out []commerce.WeeklyRange
	for _, group := range strings.Split(spec, ";") {
		fields := strings.Fields(group)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("%q: want days and at least one range such as 09:00-18:00", strings.TrimSpace(group))
		}
		var days []time.Weekday
		for _, part := range strings.Split(strings.ToLower(fields[0]), ",") {
			from, to, isRange := strings.Cut(part, "-")
			a, b := slices.Index(dayNames, from), slices.Index(dayNames, to)
			if !isRange {
				b = a
			}
			if a < 0 || b < 0 {
				return nil, fmt.Errorf("%q is not a day (mon, tue, ..., sun) or a range of them (mon-fri)", part)
			}
			for d := a; ; d = (d + 1) % 7 {
				days = append(days, time.Weekday(d))
				if d == b {
					break
				}
			}
		}
		for _, r := range fields[1:] {
			o, c, ok := strings.Cut(r, "-")
			open, err1 := commerce.ParseTimeOfDay(o)
			close, err2 := commerce.ParseTimeOfDay(c)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%q is not a range such as 09:00-18:00", r)
			}
			for _, d := range days {
				out = append(out, commerce.WeeklyRange{Day: commerce.Weekday(d), Range: commerce.Range{Open: open, Close: close}})
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no opening ranges")
	}
	return out, nil
}

// formatHours writes weekly ranges back in parseHours' form, one group per
// day.
func formatHours(ws []commerce.WeeklyRange) string {
	var groups []string
	for d := 1; d <= 7; d++ {
		day := time.Weekday(d % 7)
		var rs []string
		for _, w := range ws {
			if time.Weekday(w.Day) == day {
				rs = append(rs, w.Open.String()+"-"+w.Close.String())
			}
		}
		if len(rs) > 0 {
			groups = append(groups, dayNames[day]+" "+strings.Join(rs, " "))
		}
	}
	if len(groups) == 0 {
		return "closed"
	}
	return strings.Join(groups, "; ")
}

// --- settings --------------------------------------------------------------

var businessSettingsCmd = &command{
	name:    "settings",
	args:    "[--currency BRL] [--pix-key KEY] [--assistant=true] [flags]",
	summary: "show or change how the business sells: currency, payments, delivery, assistant",
	help: "Settings shows how the agent sells, after applying the flags given: the " +
		"currency and country (BRL is paid with Pix, INR with UPI), the sandbox payment " +
		"provider's Pix account (--pix-key, --pix-name, --pix-city) and UPI account " +
		"(--upi-vpa, --upi-name), whether orders are delivered or picked up and the " +
		"delivery fee, the assistant's language and whether the embedded assistant " +
		"answers customers. It also shows the ids the Cloud API knows the business by " +
		"(waba_id, phone_number_id). The sandbox moves no money: 'parley business orders " +
		"confirm' settles its payments. A running 'parley business serve' takes changed " +
		"payment accounts and the assistant switch when it restarts.\n\n" + businessHelp,
	run: runBusinessSettings,
}

func runBusinessSettings(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "settings")
	currency := fs.String("currency", "", "the ISO 4217 `code` prices are in: BRL, INR, ...")
	country := fs.String("country", "", "the ISO 3166 `code` of the business's country: BR, IN, ...")
	language := fs.String("language", "", "the assistant's `language` until a customer's is clear: en, pt, de, id")
	pixKey := fs.String("pix-key", "", "the Pix `key` payments go to (e-mail, phone, CPF, CNPJ or random key)")
	pixName := fs.String("pix-name", "", "the merchant `name` on Pix codes (default: the business's name)")
	pixCity := fs.String("pix-city", "", "the merchant `city` on Pix codes")
	upiVPA := fs.String("upi-vpa", "", "the UPI `VPA` (handle@psp) payments go to")
	upiName := fs.String("upi-name", "", "the payee `name` of UPI links (default: the business's name)")
	delivery := fs.Bool("delivery", false, "orders can be delivered")
	pickup := fs.Bool("pickup", false, "orders can be picked up")
	fee := fs.String("delivery-fee", "", "the delivery fee, e.g. 10.00 (`amount` in the currency)")
	assistant := fs.Bool("assistant", false, "the embedded assistant answers customers")
	asJSON := fs.Bool("json", false, "print the settings as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	set := setFlags(fs)
	return e.businessRun(ctx, "business settings", *profile, func(st *bizstore.Store, state *agent.State) error {
		name, _ := commerce.NewBusiness(st).Profile(ctx)
		err := state.UpdateSettings(ctx, func(s *agent.Settings) error {
			if set["currency"] {
				c, err := commerce.ParseCurrency(strings.ToUpper(*currency))
				if err != nil {
					return err
				}
				s.Currency = string(c)
			}
			if set["country"] {
				s.Country = strings.ToUpper(*country)
			}
			if set["language"] {
				s.Language = *language
			}
			if set["pix-key"] || set["pix-name"] || set["pix-city"] {
				p := sandbox.PixAccount{}
				if s.Pix != nil {
					p = *s.Pix
				}
				for f, dst := range map[string]*string{"pix-key": &p.Key, "pix-name": &p.MerchantName, "pix-city": &p.MerchantCity} {
					if set[f] {
						*dst = map[string]string{"pix-key": *pixKey, "pix-name": *pixName, "pix-city": *pixCity}[f]
					}
				}
				if p.MerchantName == "" {
					p.MerchantName = name.Name
				}
				if _, err := sandbox.New(sandbox.Config{Pix: &p}); err != nil {
					return err
				}
				s.Pix = &p
			}
			if set["upi-vpa"] || set["upi-name"] {
				u := sandbox.UPIAccount{}
				if s.UPI != nil {
					u = *s.UPI
				}
				if set["upi-vpa"] {
					u.VPA = *upiVPA
				}
				if set["upi-name"] {
					u.PayeeName = *upiName
				}
				if u.PayeeName == "" {
					u.PayeeName = name.Name
				}
				if _, err := sandbox.New(sandbox.Config{UPI: &u}); err != nil {
					return err
				}
				s.UPI = &u
			}
			if set["delivery"] {
				s.Delivery = *delivery
			}
			if set["pickup"] {
				s.Pickup = *pickup
			}
			if set["delivery-fee"] {
				if s.Currency == "" {
					return errors.New("set --currency before --delivery-fee")
				}
				v, err := commerce.ParseDecimal(*fee, commerce.Currency(s.Currency))
				if err != nil {
					return fmt.Errorf("--delivery-fee: %w", err)
				}
				s.DeliveryFee = v
			}
			if set["assistant"] {
				s.Assistant = *assistant
			}
			return nil
		})
		if err != nil {
			return err
		}
		s, err := state.Settings(ctx)
		if err != nil {
			return err
		}
		s.Webhook = nil // its secret is not shown; 'business webhook' shows the URL
		if *asJSON {
			e.printJSON(s)
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "WABA id:\t%s\nPhone number id:\t%s\n", s.WABAID, s.PhoneNumberID)
		fmt.Fprintf(tw, "Currency:\t%s\nCountry:\t%s\nLanguage:\t%s\n", orDash(s.Currency), orDash(s.Country), orDash(s.Language))
		if s.Pix != nil {
			fmt.Fprintf(tw, "Pix:\t%s (%s, %s)\n", s.Pix.Key, s.Pix.MerchantName, s.Pix.MerchantCity)
		}
		if s.UPI != nil {
			fmt.Fprintf(tw, "UPI:\t%s (%s)\n", s.UPI.VPA, s.UPI.PayeeName)
		}
		fee := "-"
		if s.Currency != "" {
			fee = commerce.FormatDecimal(s.DeliveryFee, commerce.Currency(s.Currency))
		}
		fmt.Fprintf(tw, "Delivery:\t%v (fee %s)\nPickup:\t%v\nAssistant:\t%v\n", s.Delivery, fee, s.Pickup, s.Assistant)
		return tw.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// --- catalog ---------------------------------------------------------------

var businessCatalogCmd = &command{
	name:    "catalog",
	summary: "add, list and update the products the business sells",
	help: "Catalog keeps the business's products: each has a retailer id (the SKU carts " +
		"and messages name it by), a name, a price in the business's currency and, if " +
		"counted, a stock. Orders reserve stock when placed and take it when paid; a " +
		"product without free stock shows as out of stock.\n\n" + businessHelp,
	subcommands: []*command{businessCatalogAddCmd, businessCatalogListCmd, businessCatalogUpdateCmd, businessCatalogStockCmd},
}

var businessCatalogAddCmd = &command{
	name:    "add",
	args:    "--id SKU --name NAME --price 39.90 [--stock N] [flags]",
	summary: "add a product",
	help:    "Add adds a product to the catalog (made on first use).\n\n" + businessHelp,
	run:     runCatalogAdd,
}

var businessCatalogListCmd = &command{
	name:    "list",
	args:    "[--search WORDS] [--json]",
	summary: "list the products with price and stock",
	help:    "List prints the products: retailer id, name, price, free stock (of the stock on hand) and availability.\n\n" + businessHelp,
	run:     runCatalogList,
}

var businessCatalogUpdateCmd = &command{
	name:    "update",
	args:    "--id SKU [--name N] [--price P] [flags]",
	summary: "change a product",
	help: "Update changes the fields given of the product with that retailer id. --stock " +
		"untracked stops counting its stock; --availability sets it by hand ('in stock', " +
		"'out of stock', preorder, 'available for order', discontinued; '' derives it from " +
		"the stock again).\n\n" + businessHelp,
	run: runCatalogUpdate,
}

var businessCatalogStockCmd = &command{
	name:    "stock",
	args:    "--id SKU (--set N | --add N)",
	summary: "set or add to a product's stock",
	help:    "Stock sets a product's stock on hand (--set) or adds to it (--add, negative to take away).\n\n" + businessHelp,
	run:     runCatalogStock,
}

// catalogID is the business's catalog, made if there is none.
func businessCatalog(ctx context.Context, st *bizstore.Store, state *agent.State, create bool) (string, error) {
	s, err := state.Settings(ctx)
	if err != nil {
		return "", err
	}
	if s.CatalogID != "" {
		return s.CatalogID, nil
	}
	cats := commerce.NewCatalogs(st, nil)
	all, err := cats.Catalogs(ctx)
	if err != nil {
		return "", err
	}
	var id string
	switch {
	case len(all) > 0:
		id = all[0].ID
	case !create:
		return "", errors.New("the catalog is empty: add a product with 'parley business catalog add'")
	default:
		p, _ := commerce.NewBusiness(st).Profile(ctx)
		name := strings.TrimSpace(p.Name + " catalog")
		c, err := cats.CreateCatalog(ctx, name)
		if err != nil {
			return "", err
		}
		id = c.ID
	}
	return id, state.UpdateSettings(ctx, func(s *agent.Settings) error { s.CatalogID = id; return nil })
}

// productFlags are the flags add and update share.
type productFlags struct {
	id, name, desc, brand, url, image, price, sale, currency, stock, availability *string
}

func bindProductFlags(fs *flag.FlagSet) productFlags {
	return productFlags{
		id:           fs.String("id", "", "the retailer `id` (SKU) carts name the product by"),
		name:         fs.String("name", "", "the product's `name`"),
		desc:         fs.String("description", "", "the `description`"),
		brand:        fs.String("brand", "", "the `brand` (for books: the author)"),
		url:          fs.String("url", "", "the product page's `URL`"),
		image:        fs.String("image", "", "the image's `URL`"),
		price:        fs.String("price", "", "the price, e.g. 39.90 (`amount` in the currency)"),
		sale:         fs.String("sale-price", "", "a sale price `amount`, charged while set ('' ends the sale)"),
		currency:     fs.String("currency", "", "the price's `currency` (default: the business's)"),
		stock:        fs.String("stock", "", "the `stock` on hand, or untracked"),
		availability: fs.String("availability", "", "set the `availability` by hand"),
	}
}

// apply sets p's fields from the flags given.
func (f productFlags) apply(p *commerce.Product, set map[string]bool, defCurrency string) error {
	for _, x := range []struct {
		flag    string
		dst, of *string
	}{{"name", &p.Name, f.name}, {"description", &p.Description, f.desc}, {"brand", &p.Brand, f.brand}, {"url", &p.URL, f.url}, {"image", &p.ImageURL, f.image}} {
		if set[x.flag] {
			*x.dst = *x.of
		}
	}
	if set["currency"] {
		p.Currency = commerce.Currency(strings.ToUpper(*f.currency))
	}
	if p.Currency == "" {
		p.Currency = commerce.Currency(defCurrency)
	}
	if (set["price"] || set["sale-price"]) && p.Currency == "" {
		return errors.New("no currency: give --currency or set the business's with 'parley business settings --currency'")
	}
	if set["price"] {
		v, err := commerce.ParseDecimal(*f.price, p.Currency)
		if err != nil {
			return fmt.Errorf("--price: %w", err)
		}
		p.Price = v
	}
	if set["sale-price"] {
		p.SalePrice = nil
		if *f.sale != "" {
			v, err := commerce.ParseDecimal(*f.sale, p.Currency)
			if err != nil {
				return fmt.Errorf("--sale-price: %w", err)
			}
			p.SalePrice = &v
		}
	}
	if set["stock"] {
		if *f.stock == "untracked" {
			p.Inventory = nil
		} else {
			n, err := strconv.ParseInt(*f.stock, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("--stock %q: want a number of items or untracked", *f.stock)
			}
			p.Inventory = &n
		}
	}
	if set["availability"] {
		p.SetAvailability = commerce.Availability(*f.availability)
	}
	return nil
}

func runCatalogAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "catalog", "add")
	pf := bindProductFlags(fs)
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	set := setFlags(fs)
	if *pf.id == "" || *pf.name == "" || *pf.price == "" {
		return e.usageError("business catalog add", "give --id, --name and --price")
	}
	return e.businessRun(ctx, "business catalog add", *profile, func(st *bizstore.Store, state *agent.State) error {
		s, err := state.Settings(ctx)
		if err != nil {
			return err
		}
		p := commerce.Product{RetailerID: *pf.id}
		if err := pf.apply(&p, set, s.Currency); err != nil {
			return err
		}
		cat, err := businessCatalog(ctx, st, state, true)
		if err != nil {
			return err
		}
		p, err = commerce.NewCatalogs(st, nil).CreateProduct(ctx, cat, p)
		if errors.Is(err, commerce.ErrExists) {
			return fmt.Errorf("the catalog already has %q: change it with 'parley business catalog update'", *pf.id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Added %s: %s, %s.\n", p.RetailerID, p.Name, productLine(p))
		return nil
	})
}

// productLine is a product's price and stock for people.
func productLine(p commerce.Product) string {
	s := p.UnitPrice().String()
	if n, ok := p.Free(); ok {
		s += fmt.Sprintf(", %d in stock", n)
		if p.Reserved > 0 {
			s += fmt.Sprintf(" (%d more reserved)", p.Reserved)
		}
	}
	return s + ", " + string(p.Availability())
}

func runCatalogList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "catalog", "list")
	search := fs.String("search", "", "only products matching these `words`")
	asJSON := fs.Bool("json", false, "print the products as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	return e.businessRun(ctx, "business catalog list", *profile, func(st *bizstore.Store, state *agent.State) error {
		cat, err := businessCatalog(ctx, st, state, false)
		if err != nil {
			return err
		}
		ps, err := commerce.NewCatalogs(st, nil).Search(ctx, cat, *search, commerce.MaxPage)
		if err != nil {
			return err
		}
		if *search == "" {
			slices.SortFunc(ps, func(a, b commerce.Product) int { return strings.Compare(a.RetailerID, b.RetailerID) })
		}
		if *asJSON {
			type item struct {
				commerce.Product
				Free         *int64 `json:"free,omitempty"`
				Availability string `json:"availability"`
			}
			out := []item{}
			for _, p := range ps {
				it := item{Product: p, Availability: string(p.Availability())}
				if n, ok := p.Free(); ok {
					it.Free = &n
				}
				out = append(out, it)
			}
			e.printJSON(out)
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPRICE\tSTOCK\tAVAILABILITY")
		for _, p := range ps {
			stock := "untracked"
			if n, ok := p.Free(); ok {
				stock = strconv.FormatInt(n, 10)
				if p.Reserved > 0 {
					stock += fmt.Sprintf(" (+%d reserved)", p.Reserved)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.RetailerID, p.Name, p.UnitPrice(), stock, p.Availability())
		}
		return tw.Flush()
	})
}

func runCatalogUpdate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "catalog", "update")
	pf := bindProductFlags(fs)
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	set := setFlags(fs)
	if *pf.id == "" {
		return e.usageError("business catalog update", "give --id")
	}
	return e.businessRun(ctx, "business catalog update", *profile, func(st *bizstore.Store, state *agent.State) error {
		p, cats, err := findProduct(ctx, st, state, *pf.id)
		if err != nil {
			return err
		}
		p, err = cats.UpdateProduct(ctx, p.ID, func(q *commerce.Product) error { return pf.apply(q, set, "") })
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Updated %s: %s, %s.\n", p.RetailerID, p.Name, productLine(p))
		return nil
	})
}

func findProduct(ctx context.Context, st *bizstore.Store, state *agent.State, rid string) (commerce.Product, *commerce.Catalogs, error) {
	cat, err := businessCatalog(ctx, st, state, false)
	if err != nil {
		return commerce.Product{}, nil, err
	}
	cats := commerce.NewCatalogs(st, nil)
	p, err := cats.ProductByRetailerID(ctx, cat, rid)
	if errors.Is(err, commerce.ErrNotFound) {
		return p, nil, fmt.Errorf("no product %q in the catalog", rid)
	}
	return p, cats, err
}

func runCatalogStock(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "catalog", "stock")
	id := fs.String("id", "", "the product's retailer `id`")
	setN := fs.Int64("set", 0, "the stock on hand is `n`")
	addN := fs.Int64("add", 0, "add `n` to the stock (negative to take away)")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	set := setFlags(fs)
	if *id == "" || set["set"] == set["add"] {
		return e.usageError("business catalog stock", "give --id and one of --set or --add")
	}
	if set["set"] && *setN < 0 {
		return e.usageError("business catalog stock", "--set must not be negative")
	}
	return e.businessRun(ctx, "business catalog stock", *profile, func(st *bizstore.Store, state *agent.State) error {
		p, cats, err := findProduct(ctx, st, state, *id)
		if err != nil {
			return err
		}
		if set["set"] {
			p, err = cats.SetInventory(ctx, p.ID, setN)
		} else {
			p, err = cats.AddInventory(ctx, p.ID, *addN)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: %s.\n", p.RetailerID, productLine(p))
		return nil
	})
}

// --- faq -------------------------------------------------------------------

var businessFAQCmd = &command{
	name:    "faq",
	summary: "add, list and remove the questions the assistant answers",
	help: "FAQ keeps the business's own questions and answers, which the assistant " +
		"retrieves to answer customers (by the question's words, its keywords and " +
		"language).\n\n" + businessHelp,
	subcommands: []*command{
		{name: "add", args: "--question Q --answer A [--language en] [--keywords a,b]", summary: "add an entry",
			help: "Add adds a question and its answer.\n\n" + businessHelp, run: runFAQAdd},
		{name: "list", args: "[--language L] [--json]", summary: "list the entries",
			help: "List prints the entries with their ids.\n\n" + businessHelp, run: runFAQList},
		{name: "remove", args: "ID", summary: "remove an entry",
			help: "Remove deletes the entry with that id (see list).\n\n" + businessHelp, run: runFAQRemove},
	},
}

func runFAQAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "faq", "add")
	q := fs.String("question", "", "the `question`")
	a := fs.String("answer", "", "the `answer`")
	lang := fs.String("language", "", "the entry's `language` (BCP 47: en, pt-BR, ...); none: any")
	kw := fs.String("keywords", "", "comma-separated `words` customers use for it")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if *q == "" || *a == "" {
		return e.usageError("business faq add", "give --question and --answer")
	}
	var keywords []string
	for _, k := range strings.Split(*kw, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keywords = append(keywords, k)
		}
	}
	return e.businessRun(ctx, "business faq add", *profile, func(st *bizstore.Store, _ *agent.State) error {
		f, err := commerce.NewFAQs(st).Add(ctx, commerce.FAQ{Question: *q, Answer: *a, Language: *lang, Keywords: keywords})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Added FAQ %d.\n", f.ID)
		return nil
	})
}

func runFAQList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "faq", "list")
	lang := fs.String("language", "", "only entries for this `language`")
	asJSON := fs.Bool("json", false, "print the entries as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	return e.businessRun(ctx, "business faq list", *profile, func(st *bizstore.Store, _ *agent.State) error {
		fs, err := commerce.NewFAQs(st).List(ctx, *lang)
		if err != nil {
			return err
		}
		if *asJSON {
			if fs == nil {
				fs = []commerce.FAQ{}
			}
			e.printJSON(fs)
			return nil
		}
		for _, f := range fs {
			l := ""
			if f.Language != "" {
				l = " [" + f.Language + "]"
			}
			fmt.Fprintf(e.stdout, "%d%s %s\n    %s\n", f.ID, l, f.Question, strings.ReplaceAll(f.Answer, "\n", "\n    "))
		}
		return nil
	})
}

func runFAQRemove(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "faq", "remove")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError("business faq remove", "give the id of one entry")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil {
		return e.usageError("business faq remove", "%q is not an entry id", fs.Arg(0))
	}
	return e.businessRun(ctx, "business faq remove", *profile, func(st *bizstore.Store, _ *agent.State) error {
		err := commerce.NewFAQs(st).Delete(ctx, id)
		if errors.Is(err, commerce.ErrNotFound) {
			return fmt.Errorf("no FAQ entry %d", id)
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "Removed FAQ %d.\n", id)
		}
		return err
	})
}

// --- token -----------------------------------------------------------------

var businessTokenCmd = &command{
	name:    "token",
	summary: "create, list and revoke the API's access tokens",
	help: "Token manages the bearer tokens the Cloud API takes (Authorization: Bearer " +
		"TOKEN). A token has scopes (messages, media, profile, templates, catalog; admin " +
		"is all) and may expire; only its hash is kept, so create prints it once.\n\n" + businessHelp,
	subcommands: []*command{
		{name: "create", args: "--scopes messages,media [--expires 30d] [--label L]", summary: "create a token and print it once",
			help: "Create makes a token with the scopes given and prints it; it is not shown again.\n\n" + businessHelp, run: runTokenCreate},
		{name: "list", args: "[--json]", summary: "list the tokens (not their values)",
			help: "List prints each token's id, label, scopes and expiry.\n\n" + businessHelp, run: runTokenList},
		{name: "revoke", args: "ID", summary: "revoke a token",
			help: "Revoke deletes the token with that id (see list): requests with it fail from then on.\n\n" + businessHelp, run: runTokenRevoke},
	},
}

func runTokenCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "token", "create")
	scopes := fs.String("scopes", "", "comma-separated `scopes`: messages, media, profile, templates, catalog, admin")
	expires := fs.String("expires", "", "the token expires after this `duration` (e.g. 720h or 30d); default never")
	label := fs.String("label", "", "a `label` to recognise it by")
	asJSON := fs.Bool("json", false, "print the token and its grant as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	sc, err := agent.ParseScopes(*scopes)
	if err != nil {
		return e.usageError("business token create", "--scopes: %v", err)
	}
	var exp time.Time
	if *expires != "" {
		d, err := parseDuration(*expires)
		if err != nil || d <= 0 {
			return e.usageError("business token create", "--expires %q is not a duration such as 720h or 30d", *expires)
		}
		exp = time.Now().Add(d)
	}
	return e.businessRun(ctx, "business token create", *profile, func(_ *bizstore.Store, state *agent.State) error {
		tok, info, err := state.CreateToken(ctx, *label, sc, exp)
		if err != nil {
			return err
		}
		if *asJSON {
			e.printJSON(map[string]any{"token": tok, "info": info})
			return nil
		}
		fmt.Fprintf(e.stdout, "%s\n", tok)
		fmt.Fprintf(e.stderr, "Token %s created with scopes %s. It is shown only now: keep it in a secret store.\n", info.ID, *scopes)
		return nil
	})
}

func runTokenList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "token", "list")
	asJSON := fs.Bool("json", false, "print the tokens as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	return e.businessRun(ctx, "business token list", *profile, func(_ *bizstore.Store, state *agent.State) error {
		ts, err := state.Tokens(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			if ts == nil {
				ts = []agent.TokenInfo{}
			}
			e.printJSON(ts)
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tSCOPES\tEXPIRES\tCREATED")
		for _, t := range ts {
			exp := "never"
			if e := t.Grant.Expires; !e.IsZero() {
				exp = e.Local().Format(time.DateTime)
				if time.Now().After(e) {
					exp += " (expired)"
				}
			}
			sc := make([]string, len(t.Grant.Scopes))
			for i, s := range t.Grant.Scopes {
				sc[i] = string(s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, orDash(t.Label), strings.Join(sc, ","), exp, t.Created.Local().Format(time.DateTime))
		}
		return tw.Flush()
	})
}

func runTokenRevoke(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "token", "revoke")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError("business token revoke", "give the id of one token (see 'parley business token list')")
	}
	return e.businessRun(ctx, "business token revoke", *profile, func(_ *bizstore.Store, state *agent.State) error {
		if err := state.RevokeToken(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(e.stdout, "Revoked token %s.\n", fs.Arg(0))
		return nil
	})
}

// --- webhook ---------------------------------------------------------------

const envAppSecret = "PARLEY_APP_SECRET"

var businessWebhookCmd = &command{
	name:    "webhook",
	args:    "[--url URL --verify-token T] [--remove]",
	summary: "set where the webhooks go, after Meta's verification handshake",
	help: "Webhook sets the callback the agent POSTs events to (messages, statuses, " +
		"orders, payments), each signed with X-Hub-Signature-256 under the app secret. It " +
		"first runs Meta's handshake: GET URL?hub.mode=subscribe&hub.challenge=..." +
		"&hub.verify_token=T must answer 200 with the challenge. The app secret is read " +
		"from " + envAppSecret + " or the file given by --app-secret-file, never a flag. " +
		"Without flags it shows the URL set; --remove stops the webhooks. A running " +
		"'business serve' picks the change up when it restarts.\n\n" + businessHelp,
	run: runBusinessWebhook,
}

func runBusinessWebhook(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "webhook")
	url := fs.String("url", "", "the callback `URL`")
	verify := fs.String("verify-token", "", "the verify `token` the handshake sends")
	secretFile := fs.String("app-secret-file", "", "read the app secret from `file` (else "+envAppSecret+")")
	remove := fs.Bool("remove", false, "send no more webhooks")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	var secret string
	if *url != "" {
		if *verify == "" {
			return e.usageError("business webhook", "give --verify-token with --url")
		}
		var err error
		if *secretFile != "" {
			secret, err = readSecret(e, *secretFile)
		} else if v, _ := e.lookupEnv(envAppSecret); v != "" {
			secret = v
		} else {
			err = fmt.Errorf("set %s or give --app-secret-file", envAppSecret)
		}
		if err != nil {
			return e.usageError("business webhook", "the app secret: %v", err)
		}
	}
	return e.businessRun(ctx, "business webhook", *profile, func(_ *bizstore.Store, state *agent.State) error {
		switch {
		case *remove:
			if err := state.UpdateSettings(ctx, func(s *agent.Settings) error { s.Webhook = nil; return nil }); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "Webhooks off.")
		case *url != "":
			t := webhook.Target{URL: *url, VerifyToken: *verify, AppSecret: secret}
			if err := webhook.Verify(ctx, &http.Client{Timeout: 20 * time.Second}, t); err != nil {
				return err
			}
			if err := state.UpdateSettings(ctx, func(s *agent.Settings) error { s.Webhook = &t; return nil }); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Verified %s; events go there.\n", *url)
		default:
			s, err := state.Settings(ctx)
			if err != nil {
				return err
			}
			if s.Webhook == nil {
				fmt.Fprintln(e.stdout, "No webhook set.")
			} else {
				fmt.Fprintf(e.stdout, "Events go to %s.\n", s.Webhook.URL)
			}
		}
		return nil
	})
}

// --- orders ----------------------------------------------------------------

var businessOrdersCmd = &command{
	name:    "orders",
	summary: "list and show orders; settle sandbox payments",
	help: "Orders shows the order book: the orders customers placed (from carts or with " +
		"the assistant), their status, payment and total. confirm and fail settle an " +
		"order's payment in the sandbox payment provider, as a bank would, through the " +
		"running 'parley business serve': the customer then gets the order's new status " +
		"and the webhook a payment status.\n\n" + businessHelp,
	subcommands: []*command{
		{name: "list", args: "[--limit N] [--json]", summary: "list the newest orders",
			help: "List prints the newest orders.\n\n" + businessHelp, run: runOrdersList},
		{name: "show", args: "[--json] REFERENCE", summary: "show one order",
			help: "Show prints an order with its items.\n\n" + businessHelp, run: runOrdersShow},
		{name: "confirm", args: "REFERENCE", summary: "the sandbox captures the order's payment",
			help: "Confirm tells the running agent's sandbox that the customer paid.\n\n" + businessHelp, run: runOrdersConfirm},
		{name: "fail", args: "[--reason R] REFERENCE", summary: "the sandbox fails the order's payment",
			help: "Fail tells the running agent's sandbox that the payment failed.\n\n" + businessHelp, run: runOrdersFail},
	},
}

func runOrdersList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "orders", "list")
	limit := fs.Int("limit", 20, "at most `n` orders")
	asJSON := fs.Bool("json", false, "print the orders as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if code, ok := e.noArgs(fs); !ok {
		return code
	}
	if *limit < 1 {
		return e.usageError("business orders list", "--limit must be positive")
	}
	return e.businessRun(ctx, "business orders list", *profile, func(st *bizstore.Store, _ *agent.State) error {
		os, err := st.RecentOrders(ctx, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			e.printJSON(os)
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REFERENCE\tCUSTOMER\tSTATUS\tPAYMENT\tTOTAL\tPLACED")
		for _, o := range os {
			fmt.Fprintf(tw, "%s\t+%s\t%s\t%s\t%s\t%s\n", o.ReferenceID, o.Customer, o.Status, o.Payment,
				commerce.Money{Amount: o.Total, Currency: o.Currency}, o.CreatedAt.Local().Format(time.DateTime))
		}
		return tw.Flush()
	})
}

func runOrdersShow(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "orders", "show")
	asJSON := fs.Bool("json", false, "print the order as JSON")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError("business orders show", "give one order reference")
	}
	return e.businessRun(ctx, "business orders show", *profile, func(st *bizstore.Store, _ *agent.State) error {
		o, err := st.Order(ctx, fs.Arg(0))
		if errors.Is(err, bizstore.ErrNotFound) {
			return fmt.Errorf("no order %s", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		if *asJSON {
			e.printJSON(o)
			return nil
		}
		m := func(v int64) string { return commerce.Money{Amount: v, Currency: o.Currency}.String() }
		fmt.Fprintf(e.stdout, "Order %s for +%s, placed %s\n", o.ReferenceID, o.Customer, o.CreatedAt.Local().Format(time.DateTime))
		fmt.Fprintf(e.stdout, "Status %s, payment %s, stock %s\n", o.Status, o.Payment, o.Stock)
		for _, it := range o.Items {
			fmt.Fprintf(e.stdout, "  %d × %s (%s) at %s\n", it.Quantity, it.Name, it.RetailerID, m(it.UnitPrice()))
		}
		if o.Charges.Shipping.Amount > 0 {
			fmt.Fprintf(e.stdout, "  shipping %s\n", m(o.Charges.Shipping.Amount))
		}
		fmt.Fprintf(e.stdout, "Total %s\n", m(o.Total))
		if o.Note != "" {
			fmt.Fprintf(e.stdout, "Note: %s\n", o.Note)
		}
		return nil
	})
}

func runOrdersConfirm(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "orders", "confirm")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError("business orders confirm", "give one order reference")
	}
	return e.settle(ctx, "business orders confirm", *profile, "confirm", fs.Arg(0), "")
}

func runOrdersFail(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("business", "orders", "fail")
	reason := fs.String("reason", "", "why the payment failed, as the bank would say (`text`)")
	profile := profileFlag(fs)
	if code, ok := e.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError("business orders fail", "give one order reference")
	}
	return e.settle(ctx, "business orders fail", *profile, "fail", fs.Arg(0), *reason)
}

// settle asks the running agent to confirm or fail ref's payment.
func (e *env) settle(ctx context.Context, name, profile, verb, ref, reason string) int {
	return e.businessRun(ctx, name, profile, func(_ *bizstore.Store, state *agent.State) error {
		s, err := state.Settings(ctx)
		if err != nil {
			return err
		}
		if s.Listen == "" {
			return errors.New("the agent is not running: start 'parley business serve' first")
		}
		tok, info, err := state.CreateToken(ctx, "parley business orders "+verb, []cloudapi.Scope{cloudapi.ScopeAdmin}, time.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		defer state.RevokeToken(context.WithoutCancel(ctx), info.ID) //nolint:errcheck // it expires in a minute anyway
		body, _ := json.Marshal(map[string]string{"reason": reason})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Listen+"/parley/v1/payments/"+ref+"/"+verb, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("the agent at %s does not answer (is 'parley business serve' running?): %w", s.Listen, err)
		}
		defer res.Body.Close()
		var out struct {
			agent.PaymentResult
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&out)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("order %s: %s", ref, out.Error.Message)
		}
		fmt.Fprintf(e.stdout, "Order %s: payment %s (charge %s).\n", out.ReferenceID, out.Status, out.ChargeID)
		return nil
	})
}
