package cloudapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Handler is the Cloud API http.Handler.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	limits *limiter
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Throughput <= 0 {
		cfg.Throughput = 80
	}
	if cfg.PairInterval <= 0 {
		cfg.PairInterval = 6 * time.Second
	}
	if cfg.PairBurst <= 0 {
		cfg.PairBurst = 45
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.MediaURLTTL <= 0 {
		cfg.MediaURLTTL = 5 * time.Minute
	}
	if len(cfg.MediaKey) == 0 {
		cfg.MediaKey = randomKey()
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 100 << 20
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Handler{cfg: cfg, log: log, now: cfg.Now, limits: newLimiter()}
}

// NewToken makes a fresh access token and the hash a TokenStore keeps.
// Tokens look like Meta's ("EAA…") so that tools that sniff them are happy.
func NewToken() (token string, hash [32]byte) {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	token = "EAAP" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is what a TokenStore is keyed by.
func HashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// NewID is a fresh opaque object id: 16 random decimal digits, never
// starting with 0, as Meta's ids look.
func NewID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e15))
	return strconv.FormatInt(n.Int64()+1e15, 10)
}

var (
	versionRE = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,3}$`)
	idRE      = regexp.MustCompile(`^[0-9]{1,32}$`)
)

// request is one API call after routing and authentication.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	token  Token
	id     string // the object id
	edge   string // "" for the object itself
	sub    string // third segment ({waba}/message_templates/{id})
	method string
}

// ServeHTTP routes /{vN.M}/{id}[/{edge}[/{id}]] and the same without a
// version, and the media download path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("cloudapi: panic serving a request", "panic", p)
			writeError(w, &Error{Spec: ErrInternal})
		}
	}()
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && versionRE.MatchString(segs[0]) {
		segs = segs[1:]
	}
	if len(segs) == 0 || segs[0] == "" {
		writeError(w, fail(ErrUnknownPath, "no object id in the path"))
		return
	}
	if segs[0] == downloadSegment {
		h.download(w, r, segs[1:])
		return
	}
	if len(segs) > 3 {
		writeError(w, fail(ErrUnknownPath, "Unknown path components: /%s", strings.Join(segs[1:], "/")))
		return
	}
	tok, err := h.authenticate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	q := &request{w: w, r: r, ctx: r.Context(), token: tok, id: segs[0], method: r.Method}
	if len(segs) > 1 {
		q.edge = segs[1]
	}
	if len(segs) > 2 {
		q.sub = segs[2]
	}
	if !idRE.MatchString(q.id) {
		writeError(w, unknownObject(q))
		return
	}
	if err := h.route(q); err != nil {
		if !errors.As(err, new(*Error)) && !errors.As(err, new(*Spec)) {
			h.log.Error("cloudapi: request failed", "method", r.Method, "edge", q.edge, "err", err)
		}
		writeError(w, err)
	}
}

func unknownObject(q *request) *Error {
	return fail(ErrUnknownObject, "Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
		strings.ToLower(q.method), q.id)
}

// authenticate checks the bearer token (or access_token parameter).
func (h *Handler) authenticate(r *http.Request) (Token, error) {
	raw := ""
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, rest, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "OAuth") {
			return Token{}, fail(ErrInvalidToken, "the Authorization header must be Bearer <token>")
		}
		raw = strings.TrimSpace(rest)
	} else {
		raw = r.URL.Query().Get("access_token")
	}
	if raw == "" {
		return Token{}, &Error{Spec: ErrMissingToken}
	}
	tok, err := h.cfg.Tokens.Token(r.Context(), HashToken(raw))
	if errors.Is(err, ErrNotFound) {
		return Token{}, &Error{Spec: ErrInvalidToken}
	}
	if err != nil {
		return Token{}, err
	}
	if !tok.Expires.IsZero() && !h.now().Before(tok.Expires) {
		return Token{}, &Error{Spec: ErrExpiredToken}
	}
	return tok, nil
}

func need(q *request, s Scope) error {
	if !q.token.Has(s) {
		return fail(ErrPermission, "the access token lacks the %s scope", s)
	}
	return nil
}

// route finds what the id names, among the token's business's objects, and
// dispatches on it. An object of another business is as unknown as one that
// does not exist.
func (h *Handler) route(q *request) error {
	ctx := q.ctx
	if pn, err := h.cfg.Directory.PhoneNumber(ctx, q.id); err == nil && pn.WABAID == q.token.WABAID {
		return h.phoneRoute(q, pn)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if b, err := h.cfg.Directory.Business(ctx, q.id); err == nil && b.ID == q.token.WABAID {
		return h.businessRoute(q, b)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	biz, err := h.cfg.Directory.Business(ctx, q.token.WABAID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return unknownObject(q)
		}
		return err
	}
	if slices.Contains(biz.CatalogIDs, q.id) && h.cfg.Catalog != nil {
		return h.catalogRoute(q, biz)
	}
	if h.cfg.Media != nil {
		if m, err := h.cfg.Media.Media(ctx, q.id); err == nil && slices.Contains(biz.PhoneNumberIDs, m.PhoneNumberID) {
			return h.mediaRoute(q, m)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if h.cfg.Templates != nil {
		if t, err := h.cfg.Templates.Template(ctx, q.id); err == nil && t.WABAID == biz.ID {
			return h.templateRoute(q, t)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if h.cfg.Catalog != nil {
		if p, err := h.cfg.Catalog.Product(ctx, q.id); err == nil && slices.Contains(biz.CatalogIDs, p.CatalogID) {
			return h.productRoute(q, p)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return unknownObject(q)
}

func unknownEdge(q *request) error {
	if q.edge == "" {
		return unknownObject(q)
	}
	return fail(ErrUnknownPath, "Unknown path components: /%s", strings.Trim(q.edge+"/"+q.sub, "/"))
}

func (h *Handler) phoneRoute(q *request, pn PhoneNumber) error {
	if q.sub != "" {
		return unknownEdge(q)
	}
	switch q.edge {
	case "":
		if q.method == http.MethodGet {
			return h.getPhoneNumber(q, pn)
		}
	case "messages":
		if q.method == http.MethodPost {
			return h.postMessages(q, pn)
		}
	case "media":
		if q.method == http.MethodPost && h.cfg.Media != nil {
			return h.upload(q, pn)
		}
	case "whatsapp_business_profile":
		if h.cfg.Profiles != nil {
			switch q.method {
			case http.MethodGet:
				return h.getProfile(q, pn)
			case http.MethodPost:
				return h.postProfile(q, pn)
			}
		}
	case "whatsapp_commerce_settings":
		switch q.method {
		case http.MethodGet:
			return h.getCommerceSettings(q, pn)
		case http.MethodPost:
			return h.postCommerceSettings(q, pn)
		}
	case "opt_ins":
		// Parley's extension: the business records a customer's consent
		// (collected on its website, at the till, ...) over the API.
		if h.cfg.Conversations != nil {
			switch q.method {
			case http.MethodGet:
				return h.getOptIn(q, pn)
			case http.MethodPost:
				return h.postOptIn(q, pn)
			}
		}
	case "register", "deregister", "request_code", "verify_code":
		// The agent's numbers are registered when the agent is set up;
		// clients that call these during onboarding get Meta's success.
		if q.method == http.MethodPost {
			if err := need(q, ScopeAdmin); err != nil {
				return err
			}
			writeJSON(q.w, http.StatusOK, map[string]bool{"success": true})
			return nil
		}
	default:
		return unknownEdge(q)
	}
	return unknownObject(q)
}

func (h *Handler) businessRoute(q *request, b Business) error {
	switch q.edge {
	case "":
		if q.method == http.MethodGet && q.sub == "" {
			return h.getBusiness(q, b)
		}
	case "phone_numbers":
		if q.method == http.MethodGet && q.sub == "" {
			return h.listPhoneNumbers(q, b)
		}
	case "message_templates":
		if h.cfg.Templates == nil {
			return unknownEdge(q)
		}
		if q.sub != "" {
			t, err := h.cfg.Templates.Template(q.ctx, q.sub)
			if err != nil || t.WABAID != b.ID {
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				q.id = q.sub
				return unknownObject(q)
			}
			if q.method == http.MethodGet {
				return h.getTemplate(q, t)
			}
			return unknownObject(q)
		}
		switch q.method {
		case http.MethodGet:
			return h.listTemplates(q, b)
		case http.MethodPost:
			return h.createTemplate(q, b)
		case http.MethodDelete:
			return h.deleteTemplates(q, b)
		}
	default:
		return unknownEdge(q)
	}
	return unknownObject(q)
}

func (h *Handler) catalogRoute(q *request, b Business) error {
	if q.sub != "" {
		return unknownEdge(q)
	}
	switch q.edge {
	case "products":
		switch q.method {
		case http.MethodGet:
			return h.listProducts(q)
		case http.MethodPost:
			return h.createProduct(q)
		}
	case "":
		if q.method == http.MethodGet {
			if err := need(q, ScopeCatalog); err != nil {
				return err
			}
			writeJSON(q.w, http.StatusOK, map[string]string{"id": q.id, "name": b.Name + " catalog"})
			return nil
		}
	default:
		return unknownEdge(q)
	}
	return unknownObject(q)
}

func (h *Handler) mediaRoute(q *request, m Media) error {
	if q.edge != "" {
		return unknownEdge(q)
	}
	if pid := q.r.URL.Query().Get("phone_number_id"); pid != "" && pid != m.PhoneNumberID {
		return unknownObject(q)
	}
	switch q.method {
	case http.MethodGet:
		return h.getMedia(q, m)
	case http.MethodDelete:
		return h.deleteMedia(q, m)
	}
	return unknownObject(q)
}

func (h *Handler) templateRoute(q *request, t Template) error {
	if q.edge != "" {
		return unknownEdge(q)
	}
	if q.method == http.MethodGet {
		return h.getTemplate(q, t)
	}
	return unknownObject(q)
}

func (h *Handler) productRoute(q *request, p Product) error {
	if q.edge != "" {
		return unknownEdge(q)
	}
	switch q.method {
	case http.MethodGet:
		return h.getProduct(q, p)
	case http.MethodPost:
		return h.updateProduct(q, p)
	case http.MethodDelete:
		return h.deleteProduct(q, p)
	}
	return unknownObject(q)
}

func itoa(n int) string { return strconv.Itoa(n) }
