package httpapi

import (
	"context"
	"crypto/sha256"
	_ "embed" // the style sheet
	"encoding/base64"
	"errors"
	"html"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// AccountActions are the use cases behind the account pages: what the
// links in sso's mails lead to.
type AccountActions interface {
	// VerifyEmail marks the address of the token's account verified.
	VerifyEmail(ctx context.Context, token string) error
	// ResetPassword sets a new password through a reset token.
	ResetPassword(ctx context.Context, token, newPassword, clientIP string) error
}

// PagesConfig tunes the account pages.
type PagesConfig struct {
	// TrustedProxies name the proxies whose X-Forwarded-For is believed
	// when finding the client's address, as for the REST gateway.
	TrustedProxies []netip.Prefix
	// PasswordMinLength and PasswordMaxLength are the password policy's
	// bounds, shown to the user and set on the form's field.
	PasswordMinLength, PasswordMaxLength int
}

// maxFormBytes bounds a page's form: a token and two passwords.
const maxFormBytes = 8 << 10

// maxTokenLen bounds a token read from a link or a form; sso's tokens are
// 43 characters.
const maxTokenLen = 128

// pageCSS is the pages' one style sheet, inlined in each page and allowed
// by its hash in the Content-Security-Policy, so the pages load nothing
// from anywhere and run no script.
//
//go:embed pages/style.css
var pageCSS string

var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// pageData is what a page shows: a title, at most one of an error and a
// success message, and its form when Token is set.
type pageData struct {
	Title, Error, Done   string
	Token                string // empty: no form
	MinLength, MaxLength int
}

// A page's form, written into the layout. The pages are built with
// html.EscapeString rather than html/template: that package brings
// text/template into the binary, whose reflective method calls keep every
// exported method of every type linked in (see cmd/sso's
// TestBinaryLeavesOutTextTemplate); four small pages do not need it.
type form func(b *strings.Builder, d pageData)

func verifyForm(b *strings.Builder, d pageData) {
	b.WriteString(`<p>Confirm that this e-mail address is yours.</p>
<form method="post" action="/account/verify-email">
<input type="hidden" name="token" value="` + html.EscapeString(d.Token) + `">
<button type="submit">Verify my e-mail address</button>
</form>
`)
}

func resetForm(b *strings.Builder, d pageData) {
	minLen, maxLen := strconv.Itoa(d.MinLength), strconv.Itoa(d.MaxLength)
	b.WriteString(`<form method="post" action="/account/reset-password">
<input type="hidden" name="token" value="` + html.EscapeString(d.Token) + `">
<label for="new_password">New password</label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" required minlength="` + minLen + `" maxlength="` + maxLen + `" aria-describedby="password-hint">
<p class="hint" id="password-hint">At least ` + minLen + ` characters. Every device signed in to your account will be signed out.</p>
<label for="confirm_password">Repeat the new password</label>
<input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" required maxlength="` + maxLen + `">
<button type="submit">Set the new password</button>
</form>
`)
}

// page writes the whole document: the layout around form, which appears
// only while d has a token.
func page(d pageData, f form) string {
	var b strings.Builder
	writeHead(&b, d.Title)
	if d.Error != "" {
		b.WriteString(`<p class="error" role="alert">` + html.EscapeString(d.Error) + "</p>\n")
	}
	if d.Done != "" {
		b.WriteString(`<p class="ok" role="status">` + html.EscapeString(d.Done) + "</p>\n")
	}
	if d.Token != "" {
		f(&b, d)
	}
	b.WriteString("</main>\n</body>\n</html>\n")
	return b.String()
}

// writeHead starts a page: the document's head with the inlined style
// sheet, and the main heading.
func writeHead(b *strings.Builder, title string) {
	b.WriteString(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>` + html.EscapeString(title) + ` · ssokit</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
<h1>` + html.EscapeString(title) + `</h1>
`)
}

// AccountPages serves the pages the mails link to, server-rendered and
// without JavaScript:
//
//	GET  /account/verify-email?token=...    a button that verifies
//	POST /account/verify-email              (form: token)
//	GET  /account/reset-password?token=...  a new-password form
//	POST /account/reset-password            (form: token, new_password, confirm_password)
//
// A GET never acts: mail scanners and link previews fetch links, and a
// verification or reset must be the user's deliberate step. Posts take
// only forms of at most maxFormBytes from this origin (a browser's
// cross-site post is refused by its Origin or Sec-Fetch-Site header), and
// the token itself, a secret only the mail's reader has, is what
// authorizes them. Pages are never cached, never framed, and send no
// Referer, so the token in the link's query goes nowhere else.
func AccountPages(mux *http.ServeMux, actions AccountActions, cfg PagesConfig, log *slog.Logger) {
	p := &pages{actions: actions, cfg: cfg, log: log}
	mux.HandleFunc("GET /account/verify-email", p.showVerify)
	mux.HandleFunc("POST /account/verify-email", p.verify)
	mux.HandleFunc("GET /account/reset-password", p.showReset)
	mux.HandleFunc("POST /account/reset-password", p.reset)
}

type pages struct {
	actions AccountActions
	cfg     PagesConfig
	log     *slog.Logger
}

const (
	verifyTitle = "Verify your e-mail address"
	resetTitle  = "Choose a new password"
	badLink     = "This link is invalid, has expired or was already used. Ask for a new one."
)

func (p *pages) showVerify(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if !plausibleToken(tok) {
		p.render(w, r, http.StatusBadRequest, verifyForm, pageData{Title: verifyTitle, Error: badLink})
		return
	}
	p.render(w, r, http.StatusOK, verifyForm, pageData{Title: verifyTitle, Token: tok})
}

func (p *pages) verify(w http.ResponseWriter, r *http.Request) {
	form, status := p.readForm(w, r)
	if status != 0 {
		p.render(w, r, status, verifyForm, pageData{Title: verifyTitle, Error: http.StatusText(status)})
		return
	}
	tok := form.Get("token")
	if !plausibleToken(tok) {
		p.render(w, r, http.StatusBadRequest, verifyForm, pageData{Title: verifyTitle, Error: badLink})
		return
	}
	if err := p.actions.VerifyEmail(r.Context(), tok); err != nil {
		status, msg, _ := p.explain(w, r, err)
		p.render(w, r, status, verifyForm, pageData{Title: verifyTitle, Error: msg})
		return
	}
	p.render(w, r, http.StatusOK, verifyForm, pageData{Title: verifyTitle, Done: "Your e-mail address is verified. You can close this page."})
}

func (p *pages) showReset(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if !plausibleToken(tok) {
		p.render(w, r, http.StatusBadRequest, resetForm, p.resetData("", badLink))
		return
	}
	p.render(w, r, http.StatusOK, resetForm, p.resetData(tok, ""))
}

func (p *pages) reset(w http.ResponseWriter, r *http.Request) {
	form, status := p.readForm(w, r)
	if status != 0 {
		p.render(w, r, status, resetForm, p.resetData("", http.StatusText(status)))
		return
	}
	tok, pw := form.Get("token"), form.Get("new_password")
	if !plausibleToken(tok) {
		p.render(w, r, http.StatusBadRequest, resetForm, p.resetData("", badLink))
		return
	}
	if pw != form.Get("confirm_password") {
		p.render(w, r, http.StatusBadRequest, resetForm, p.resetData(tok, "The two passwords differ."))
		return
	}
	var ip string
	if a, ok := gateway.ClientAddr(r, p.cfg.TrustedProxies); ok {
		ip = a.String()
	}
	if err := p.actions.ResetPassword(r.Context(), tok, pw, ip); err != nil {
		status, msg, retry := p.explain(w, r, err)
		if !retry {
			tok = "" // the link is spent: no form to try again with
		}
		p.render(w, r, status, resetForm, p.resetData(tok, msg))
		return
	}
	p.render(w, r, http.StatusOK, resetForm, pageData{Title: resetTitle,
		Done: "Your password was changed and every session of your account was signed out. Sign in with the new password."})
}

func (p *pages) resetData(tok, msg string) pageData {
	return pageData{Title: resetTitle, Token: tok, Error: msg,
		MinLength: p.cfg.PasswordMinLength, MaxLength: p.cfg.PasswordMaxLength}
}

// readForm checks a post is a small same-origin form and parses it; a
// non-zero status refuses it.
func (p *pages) readForm(w http.ResponseWriter, r *http.Request) (url.Values, int) {
	if !sameOrigin(r) {
		return nil, http.StatusForbidden
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, http.StatusUnsupportedMediaType
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	return r.PostForm, 0
}

// sameOrigin refuses what a browser marks as sent from another site. A
// client that is not a browser sends neither header and is let through:
// it gains nothing a direct API call would not give it.
//
// The pages' own referrer policy, no-referrer, makes a browser send
// "Origin: null" with their posts (the Fetch standard serializes the
// origin so under that policy): such a post is taken only when
// Sec-Fetch-Site vouches for it.
func sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	switch origin {
	case "":
		return true
	case "null":
		return site == "same-origin"
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// explain turns a use case's error into the page's status and message;
// retry says whether the same token may be tried again (the input, not
// the token, was wrong).
func (p *pages) explain(w http.ResponseWriter, r *http.Request, err error) (status int, msg string, retry bool) {
	var (
		invalid   *auth.InvalidArgumentError
		throttled *auth.ThrottledError
	)
	switch {
	case errors.Is(err, user.ErrTokenInvalid), errors.Is(err, auth.ErrInvalidToken),
		errors.As(err, &invalid) && invalid.Field == "token":
		return http.StatusBadRequest, badLink, false
	case errors.As(err, &invalid):
		return http.StatusBadRequest, invalid.Reason, true
	case errors.As(err, &throttled):
		secs := int64(throttled.RetryAfter.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		return http.StatusTooManyRequests, "Too many attempts. Try again later.", true
	default:
		p.log.ErrorContext(r.Context(), "account page", slog.String("path", r.URL.Path), slog.Any("error", err))
		return http.StatusServiceUnavailable, "The service is unavailable right now. Try again in a minute.", true
	}
}

func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, f form, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, page(d, f)) // a client gone mid-page is not news
}

// plausibleToken rejects what cannot be a token before any work: empty,
// overlong, or outside base64url.
func plausibleToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
