package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/oidc"
)

// SignIns are the use cases behind the hosted login.
type SignIns interface {
	// SignIn checks a password as Login does and opens an sso session.
	SignIn(ctx context.Context, c auth.Credentials) (auth.SignedIn, error)
	// SessionLive reports whether a session has not ended.
	SessionLive(ctx context.Context, sid string) (bool, error)
	// EndBrowserSession ends a session.
	EndBrowserSession(ctx context.Context, sid string) error
	// SignUp registers as Register does (policy, throttle, verification
	// mail, user.ErrEmailTaken) and opens an sso session as SignIn does.
	SignUp(ctx context.Context, r auth.Registration) (auth.SignedIn, error)
	// ForgotPassword mails a reset link as the API's forgot call does,
	// answering alike for known and unknown addresses.
	ForgotPassword(ctx context.Context, email, clientIP string) error
}

// LoginCookies keep what a session cookie stands for, by the hash of its
// value, and the key CSRF tokens are signed with.
type LoginCookies interface {
	Put(ctx context.Context, hash, sid, userID string, authTime time.Time, ttl time.Duration) error
	Get(ctx context.Context, hash string) (sid, userID string, authTime time.Time, found bool, err error)
	Delete(ctx context.Context, hash string) error
	CSRFKey(ctx context.Context) ([]byte, error)
}

// LoginConfig tunes the hosted login pages.
type LoginConfig struct {
	// TrustedProxies, as for PagesConfig.
	TrustedProxies []netip.Prefix
	// PasswordMinLength and PasswordMaxLength are the password policy's
	// bounds, set on the password fields.
	PasswordMinLength, PasswordMaxLength int
	// InsecureCookies drops the Secure attribute and the __Host- prefix
	// from the cookies: only for an issuer on loopback plain http, where a
	// browser would not send a Secure cookie back.
	InsecureCookies bool
	// SessionTTL is how long a session cookie is kept: the lifetime of the
	// sso session it stands for. A session ended earlier ends the cookie
	// with it.
	SessionTTL time.Duration
	// RegisterURL and ResetURL, when set, are linked from the login form
	// instead of the hosted /signup and /forgot-password pages, for those
	// who have pages of their own.
	RegisterURL, ResetURL string
	// Throttle, when set, counts each client address's requests to the
	// pages, AddressLimit a minute (default 300), beside the sign-in's
	// own per-account and per-address limits on passwords.
	Throttle     auth.Throttle
	AddressLimit int
}

// Hosted login routes.
const (
	loginPath       = "/login"
	consentPath     = oidc.ConsentPath
	logoutPath      = "/logout"
	requestIDField  = "authRequestID"
	csrfField       = "csrf_token"
	maxRequestIDLen = 256
	// maxEmailField is the e-mail field's maxlength (RFC 5321's bound).
	maxEmailField = 320
)

// LoginPages serves the hosted login of the OpenID Connect provider,
// server-rendered and without JavaScript:
//
//	GET  /login?authRequestID=...  the sign-in form (or, signed in, straight on)
//	POST /login                    (form: authRequestID, csrf_token, email, password)
//	GET  /consent?authRequestID=... the consent page, for the signed-in user
//	POST /consent                  (form: authRequestID, csrf_token, decision=approve|deny)
//	GET  /logout                   a sign-out button while signed in, else "signed out"
//	POST /logout                   (form: csrf_token) ends the session
//	GET  /signup[?authRequestID=...] the create-account form
//	POST /signup                   (form: [authRequestID], csrf_token, email, password, name)
//	GET  /forgot-password[?authRequestID=...] the ask-for-a-reset-link form
//	POST /forgot-password          (form: [authRequestID], csrf_token, email)
//
// A successful sign-in sets the session cookie: a random value whose hash
// maps, in LoginCookies, to the sso session opened; a later request with it
// skips the password while that session lives (not with prompt=login or a
// max_age it exceeds). Every form carries a CSRF token, an HMAC of a
// random cookie's value, and posts are taken only as small forms from this
// origin, like the account pages'.
func LoginPages(mux *http.ServeMux, flows oidc.Flows, signIns SignIns, cookies LoginCookies, cfg LoginConfig, log *slog.Logger) {
	l := &login{flows: flows, signIns: signIns, cookies: cookies, cfg: cfg, log: log,
		pages: &pages{cfg: PagesConfig{TrustedProxies: cfg.TrustedProxies}, log: log}}
	l.sessionCookie, l.csrfCookie = "__Host-ssokit_session", "__Host-ssokit_csrf"
	if cfg.InsecureCookies {
		l.sessionCookie, l.csrfCookie = "ssokit_session", "ssokit_csrf"
	}
	// A form's post is answered by a redirect to the provider's callback,
	// and from there to the client's redirect URI, which a browser checks
	// against form-action as well: the pages allow any https target (and
	// plain http beside a loopback issuer) there, the client's URI being
	// one the provider matched exactly.
	formAction := "'self' https:"
	if cfg.InsecureCookies {
		formAction += " http:"
	}
	l.csp = strings.Replace(pageCSP, "form-action 'self'", "form-action "+formAction, 1)
	if l.cfg.AddressLimit <= 0 {
		l.cfg.AddressLimit = 300
	}
	mux.Handle("GET "+loginPath, l.throttled(l.show))
	mux.Handle("POST "+loginPath, l.throttled(l.signIn))
	mux.Handle("GET "+consentPath, l.throttled(l.showConsent))
	mux.Handle("POST "+consentPath, l.throttled(l.consent))
	mux.Handle("GET "+logoutPath, l.throttled(l.showLogout))
	mux.Handle("POST "+logoutPath, l.throttled(l.logout))
	mux.Handle("GET "+signupPath, l.throttled(l.showSignup))
	mux.Handle("POST "+signupPath, l.throttled(l.signup))
	mux.Handle("GET "+forgotPath, l.throttled(l.showForgot))
	mux.Handle("POST "+forgotPath, l.throttled(l.forgot))
}

// throttled counts the request against its client address's quota, or
// refuses it (429) once the quota is used up: every page costs Redis
// round trips, which nobody gets without bound.
func (l *login) throttled(next http.HandlerFunc) http.Handler {
	if l.cfg.Throttle == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, ok := gateway.ClientAddr(r, l.cfg.TrustedProxies)
		if !ok {
			next(w, r)
			return
		}
		res, err := l.cfg.Throttle.Reserve(r.Context(), auth.Quota{Key: "login-pages:address:" + addr.String(),
			Limit: l.cfg.AddressLimit, Window: time.Minute})
		if err != nil {
			l.fail(w, r, err)
			return
		}
		if res.Refused >= 0 {
			secs := int64(res.RetryAfter.Round(time.Second) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			l.renderError(w, r, http.StatusTooManyRequests, errorTitle, "Too many attempts. Try again later.")
			return
		}
		next(w, r)
	})
}

type login struct {
	flows                     oidc.Flows
	signIns                   SignIns
	cookies                   LoginCookies
	cfg                       LoginConfig
	log                       *slog.Logger
	pages                     *pages
	sessionCookie, csrfCookie string
	csp                       string

	keyMu sync.Mutex
	key   []byte
}

// Page titles and messages.
const (
	signInTitle    = "Sign in"
	consentTitle   = "Allow access"
	logoutTitle    = "Sign out"
	signedOutTitle = "You are signed out"
	errorTitle     = "Sign-in problem"
	badRequest     = "This sign-in request is unknown or has expired. Go back to the application and sign in again."
	badForm        = "This form has expired. Go back to the application and sign in again."
	unavailable    = "The service is unavailable right now. Try again in a minute."
	sessionEnded   = "Your session has ended. Go back to the application and sign in again."
)

// session is the browser's sign-in as its cookie tells it.
type session struct {
	hash, sid, userID string
	authTime          time.Time
}

func (l *login) show(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(requestIDField)
	req, ok := l.request(w, r, id)
	if !ok {
		return
	}
	sess, ok, err := l.session(r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	if ok && l.reusable(req, sess) {
		l.proceed(w, r, req, sess)
		return
	}
	if slices.Contains(req.Prompt, "none") {
		l.endWith(w, r, req.ID, "login_required")
		return
	}
	l.renderSignIn(w, r, http.StatusOK, req, req.LoginHint, "")
}

// reusable reports whether an existing sign-in may answer req without a
// password: not when the client asked for a fresh one (prompt=login or
// select_account) or for one more recent than the session's (max_age).
func (l *login) reusable(req oidc.LoginRequest, s session) bool {
	if slices.Contains(req.Prompt, "login") || slices.Contains(req.Prompt, "select_account") {
		return false
	}
	return req.MaxAge == nil || time.Since(s.authTime) <= *req.MaxAge
}

func (l *login) signIn(w http.ResponseWriter, r *http.Request) {
	form, ok := l.readForm(w, r)
	if !ok {
		return
	}
	req, ok := l.request(w, r, form.Get(requestIDField))
	if !ok {
		return
	}
	email := form.Get("email")
	var ip string
	if a, ok := gateway.ClientAddr(r, l.cfg.TrustedProxies); ok {
		ip = a.String()
	}
	in, err := l.signIns.SignIn(r.Context(), auth.Credentials{Email: email, Password: form.Get("password"), ClientIP: ip, UserAgent: r.UserAgent()})
	if err != nil {
		status, msg, known := l.signInError(w, err)
		if !known {
			l.fail(w, r, err)
			return
		}
		// Shown again in the field, as long as the field takes.
		if len(email) > maxEmailField {
			email = ""
		}
		l.renderSignIn(w, r, status, req, email, msg)
		return
	}
	sess, err := l.startCookie(w, r, in)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	l.proceed(w, r, req, sess)
}

// signInError turns SignIn's refusal into the form's status and message;
// known is false for a failure that is not the user's.
func (l *login) signInError(w http.ResponseWriter, err error) (status int, msg string, known bool) {
	var (
		invalid   *auth.InvalidArgumentError
		throttled *auth.ThrottledError
	)
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		return http.StatusBadRequest, "The e-mail address or the password is wrong.", true
	case errors.Is(err, auth.ErrEmailNotVerified):
		return http.StatusForbidden, "Verify your e-mail address first: follow the link in the mail we sent you.", true
	case errors.As(err, &invalid):
		return http.StatusBadRequest, "Enter your e-mail address and your password.", true
	case errors.As(err, &throttled):
		secs := int64(throttled.RetryAfter.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		return http.StatusTooManyRequests, "Too many attempts. Try again later.", true
	}
	return 0, "", false
}

// proceed goes on with a signed-in browser: the request is bound to the
// session, and the provider answers where to go, its callback or, for a
// third-party client without the user's remembered consent, the consent
// page (oidc.ConsentPath), which this sends the browser to with a GET so
// that reloading it posts no password again. prompt=consent asks for the
// consent of a third-party client even when one is remembered;
// prompt=none that would need the consent page ends with consent_required.
func (l *login) proceed(w http.ResponseWriter, r *http.Request, req oidc.LoginRequest, s session) {
	to, ok := l.complete(w, r, req.ID, s)
	if !ok {
		return
	}
	// Before the request is bound, NeedsConsent says the client is a
	// third party.
	ask := strings.HasPrefix(to, oidc.ConsentPath+"?") || req.NeedsConsent && slices.Contains(req.Prompt, "consent")
	switch {
	case ask && slices.Contains(req.Prompt, "none"):
		l.endWith(w, r, req.ID, "consent_required")
	case ask:
		http.Redirect(w, r, oidc.ConsentPath+"?"+url.Values{requestIDField: {req.ID}}.Encode(), http.StatusSeeOther)
	default:
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// complete binds request id to session s and returns where the provider
// sends the browser next; false means a page was written.
func (l *login) complete(w http.ResponseWriter, r *http.Request, id string, s session) (string, bool) {
	to, err := l.flows.CompleteLogin(r.Context(), id, s.userID, s.sid, s.authTime, []string{"pwd"})
	switch {
	case errors.Is(err, oidc.ErrRequestNotFound):
		l.renderError(w, r, http.StatusBadRequest, errorTitle, badRequest)
		return "", false
	case errors.Is(err, auth.ErrInvalidToken):
		// The session ended between its check and the binding.
		l.renderError(w, r, http.StatusForbidden, errorTitle, sessionEnded)
		return "", false
	case err != nil:
		l.fail(w, r, err)
		return "", false
	}
	return to, true
}

// consentSession reads the request and the browser's sign-in for the
// consent page; false means a page was written. Consent is given only by
// the signed-in user, never by a user named in a form.
func (l *login) consentSession(w http.ResponseWriter, r *http.Request, id string) (oidc.LoginRequest, session, bool) {
	req, ok := l.request(w, r, id)
	if !ok {
		return req, session{}, false
	}
	sess, ok, err := l.session(r)
	if err != nil {
		l.fail(w, r, err)
		return req, session{}, false
	}
	if !ok {
		l.renderError(w, r, http.StatusForbidden, errorTitle, sessionEnded)
		return req, session{}, false
	}
	return req, sess, true
}

func (l *login) showConsent(w http.ResponseWriter, r *http.Request) {
	req, _, ok := l.consentSession(w, r, r.URL.Query().Get(requestIDField))
	if !ok {
		return
	}
	l.renderConsent(w, r, req)
}

func (l *login) consent(w http.ResponseWriter, r *http.Request) {
	form, ok := l.readForm(w, r)
	if !ok {
		return
	}
	req, sess, ok := l.consentSession(w, r, form.Get(requestIDField))
	if !ok {
		return
	}
	switch form.Get("decision") {
	case "approve":
		err := l.flows.GrantConsent(r.Context(), req.ID, sess.userID)
		if errors.Is(err, oidc.ErrRequestNotFound) {
			l.renderError(w, r, http.StatusBadRequest, errorTitle, badRequest)
			return
		}
		if err != nil {
			l.fail(w, r, err)
			return
		}
		if to, ok := l.complete(w, r, req.ID, sess); ok {
			http.Redirect(w, r, to, http.StatusSeeOther)
		}
	case "deny":
		to, err := l.flows.Deny(r.Context(), req.ID)
		l.redirect(w, r, to, err)
	default:
		l.renderConsent(w, r, req)
	}
}

// showLogout is also where the provider's end_session sends a browser
// that named no post_logout_redirect_uri: with an id_token_hint the
// session has ended already and the page says so (forgetting the cookie);
// without one, or reached by a mere link, a live session gets the sign-out
// button rather than being ended by a GET.
func (l *login) showLogout(w http.ResponseWriter, r *http.Request) {
	_, ok, err := l.session(r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	if !ok {
		l.clearSession(w, r)
		l.renderSignedOut(w, r)
		return
	}
	l.renderLogout(w, r)
}

func (l *login) logout(w http.ResponseWriter, r *http.Request) {
	if _, ok := l.readForm(w, r); !ok {
		return
	}
	sess, ok, err := l.session(r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	if ok {
		if err := l.signIns.EndBrowserSession(r.Context(), sess.sid); err != nil {
			l.fail(w, r, err)
			return
		}
	}
	l.clearSession(w, r)
	l.renderSignedOut(w, r)
}

// request reads and looks up the authorization request id; false means a
// page was written.
func (l *login) request(w http.ResponseWriter, r *http.Request, id string) (oidc.LoginRequest, bool) {
	if !plausibleRequestID(id) {
		l.renderError(w, r, http.StatusBadRequest, errorTitle, badRequest)
		return oidc.LoginRequest{}, false
	}
	req, err := l.flows.LoginRequest(r.Context(), id)
	switch {
	case errors.Is(err, oidc.ErrRequestNotFound):
		l.renderError(w, r, http.StatusBadRequest, errorTitle, badRequest)
		return oidc.LoginRequest{}, false
	case err != nil:
		l.fail(w, r, err)
		return oidc.LoginRequest{}, false
	}
	return req, true
}

// endWith ends the request with an OpenID Connect error sent back to the
// client (prompt=none that cannot be answered silently).
func (l *login) endWith(w http.ResponseWriter, r *http.Request, id, code string) {
	to, err := l.flows.Fail(r.Context(), id, code)
	l.redirect(w, r, to, err)
}

// redirect sends the browser where ending a request led (to, the
// client's redirect URL), or shows why it could not be ended.
func (l *login) redirect(w http.ResponseWriter, r *http.Request, to string, err error) {
	if errors.Is(err, oidc.ErrRequestNotFound) {
		l.renderError(w, r, http.StatusBadRequest, errorTitle, badRequest)
		return
	}
	if err != nil {
		l.fail(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// readForm checks a post as the account pages do, and its CSRF token;
// false means an error page was written.
func (l *login) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	form, status := l.pages.readForm(w, r)
	if status != 0 {
		l.renderError(w, r, status, errorTitle, http.StatusText(status))
		return nil, false
	}
	c, err := r.Cookie(l.csrfCookie)
	if err != nil {
		l.renderError(w, r, http.StatusForbidden, errorTitle, badForm)
		return nil, false
	}
	want, err := l.csrfToken(r.Context(), c.Value)
	if err != nil {
		l.fail(w, r, err)
		return nil, false
	}
	if got := form.Get(csrfField); got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		l.renderError(w, r, http.StatusForbidden, errorTitle, badForm)
		return nil, false
	}
	return form, true
}

// csrfToken is the token a form carries for the CSRF cookie value v: an
// HMAC of it under the shared key, so a value planted in the cookie (by a
// sibling subdomain, say) is useless without the token only sso can make.
func (l *login) csrfToken(ctx context.Context, v string) (string, error) {
	key, err := l.csrfKey(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ssokit login csrf\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// csrfKey fetches the key once; until Redis answers, every form fails.
func (l *login) csrfKey(ctx context.Context) ([]byte, error) {
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	if l.key != nil {
		return l.key, nil
	}
	k, err := l.cookies.CSRFKey(ctx)
	if err != nil {
		return nil, err
	}
	l.key = k
	return k, nil
}

// formToken returns the CSRF token for the page being written, setting
// the CSRF cookie if the browser has none.
func (l *login) formToken(w http.ResponseWriter, r *http.Request) (string, error) {
	v := ""
	if c, err := r.Cookie(l.csrfCookie); err == nil && len(c.Value) == 43 {
		v = c.Value
	} else {
		v = randomValue()
		l.setCookie(w, l.csrfCookie, v, 0)
	}
	return l.csrfToken(r.Context(), v)
}

// session returns the browser's live sign-in, if its cookie names one. A
// cookie whose session has ended is forgotten.
func (l *login) session(r *http.Request) (session, bool, error) {
	c, err := r.Cookie(l.sessionCookie)
	if err != nil || len(c.Value) != 43 {
		return session{}, false, nil
	}
	hash := hashValue(c.Value)
	sid, userID, at, found, err := l.cookies.Get(r.Context(), hash)
	if err != nil || !found {
		return session{}, false, err
	}
	live, err := l.signIns.SessionLive(r.Context(), sid)
	if err != nil {
		return session{}, false, err
	}
	if !live {
		if err := l.cookies.Delete(r.Context(), hash); err != nil {
			l.log.WarnContext(r.Context(), "forget login cookie", slog.Any("error", err))
		}
		return session{}, false, nil
	}
	return session{hash: hash, sid: sid, userID: userID, authTime: at}, true, nil
}

// startCookie gives the browser a new session cookie for in, replacing
// any it had (a new value at each sign-in, so a value known before it, by
// fixation, signs nobody in).
func (l *login) startCookie(w http.ResponseWriter, r *http.Request, in auth.SignedIn) (session, error) {
	if old, err := r.Cookie(l.sessionCookie); err == nil && len(old.Value) == 43 {
		if err := l.cookies.Delete(r.Context(), hashValue(old.Value)); err != nil {
			return session{}, err
		}
	}
	v := randomValue()
	s := session{hash: hashValue(v), sid: in.SessionID, userID: in.UserID, authTime: in.AuthTime}
	if err := l.cookies.Put(r.Context(), s.hash, s.sid, s.userID, s.authTime, l.cfg.SessionTTL); err != nil {
		return session{}, err
	}
	l.setCookie(w, l.sessionCookie, v, l.cfg.SessionTTL)
	return s, nil
}

// clearSession forgets the browser's session cookie, here and in Redis.
func (l *login) clearSession(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(l.sessionCookie)
	if err != nil {
		return
	}
	if len(c.Value) == 43 {
		if err := l.cookies.Delete(r.Context(), hashValue(c.Value)); err != nil {
			l.log.WarnContext(r.Context(), "forget login cookie", slog.Any("error", err))
		}
	}
	l.setCookie(w, l.sessionCookie, "", -1)
}

// setCookie sets a host-only, HttpOnly, SameSite=Lax cookie on path /:
// Lax, so the session travels with the top-level redirect a client sends
// the browser with, but not with another site's post or subrequest.
// ttl 0 makes a browser-session cookie, negative deletes it.
func (l *login) setCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: !l.cfg.InsecureCookies}
	switch {
	case ttl < 0:
		c.MaxAge = -1
	case ttl > 0:
		c.MaxAge = int(ttl / time.Second)
	}
	http.SetCookie(w, c)
}

// randomValue is 32 random bytes, base64url: 43 characters.
func randomValue() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand's contract since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// plausibleRequestID rejects what cannot be a request id before any
// lookup: empty, overlong or outside the URL-safe characters.
func plausibleRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0) {
			return false
		}
	}
	return true
}

// fail answers a failure that is not the user's: logged, and a page
// that says to try later, without internals.
func (l *login) fail(w http.ResponseWriter, r *http.Request, err error) {
	l.log.ErrorContext(r.Context(), "login page", slog.String("path", r.URL.Path), slog.Any("error", err))
	l.renderError(w, r, http.StatusServiceUnavailable, errorTitle, unavailable)
}

// The pages. Every value written is escaped; the forms work without
// script; an error is announced (role=alert) and tied to the fields it is
// about with aria-describedby.

func (l *login) renderSignIn(w http.ResponseWriter, r *http.Request, status int, req oidc.LoginRequest, email, msg string) {
	tok, err := l.formToken(w, r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	var b strings.Builder
	writeHead(&b, signInTitle)
	describedBy := ""
	if msg != "" {
		b.WriteString(`<p class="error" role="alert" id="form-error">` + html.EscapeString(msg) + "</p>\n")
		describedBy = ` aria-describedby="form-error"`
	}
	b.WriteString(`<p>to continue to <span class="client">` + html.EscapeString(clientName(req)) + `</span></p>
<form method="post" action="` + loginPath + `">
<input type="hidden" name="` + requestIDField + `" value="` + html.EscapeString(req.ID) + `">
<input type="hidden" name="` + csrfField + `" value="` + tok + `">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" autocomplete="username" required maxlength="` + strconv.Itoa(maxEmailField) + `" value="` + html.EscapeString(email) + `"` + describedBy + `>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="` + strconv.Itoa(max(l.cfg.PasswordMaxLength, 1)) + `"` + describedBy + `>
<button type="submit">Sign in</button>
</form>
`)
	b.WriteString(`<nav class="links" aria-label="Account"><a href="` + l.registerLink(req.ID) + `">Create an account</a><a href="` +
		l.resetLink(req.ID) + `">Forgot your password?</a></nav>
`)
	l.write(w, status, &b)
}

// scopeText says what a scope lets the client see, in the user's words.
var scopeText = map[string]string{
	"openid":         "Know that it is you (your account id)",
	"profile":        "Your name",
	"email":          "Your e-mail address and whether it is verified",
	"offline_access": "Keep access while you are not using it",
}

func (l *login) renderConsent(w http.ResponseWriter, r *http.Request, req oidc.LoginRequest) {
	tok, err := l.formToken(w, r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	var b strings.Builder
	writeHead(&b, consentTitle)
	b.WriteString(`<p id="consent-what"><span class="client">` + html.EscapeString(clientName(req)) + `</span> asks to:</p>
<ul class="scopes" aria-labelledby="consent-what">
`)
	for _, s := range req.Scopes {
		text, ok := scopeText[s]
		if !ok {
			text = "Use “" + s + "”"
		}
		b.WriteString("<li>" + html.EscapeString(text) + "</li>\n")
	}
	b.WriteString(`</ul>
<form method="post" action="` + consentPath + `">
<input type="hidden" name="` + requestIDField + `" value="` + html.EscapeString(req.ID) + `">
<input type="hidden" name="` + csrfField + `" value="` + tok + `">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
<p class="hint">Once you allow it, this application does not ask again for these.</p>
`)
	l.write(w, http.StatusOK, &b)
}

func (l *login) renderLogout(w http.ResponseWriter, r *http.Request) {
	tok, err := l.formToken(w, r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	var b strings.Builder
	writeHead(&b, logoutTitle)
	b.WriteString(`<p>Sign out of ssokit? Every application you signed in to through it is signed out too.</p>
<form method="post" action="` + logoutPath + `">
<input type="hidden" name="` + csrfField + `" value="` + tok + `">
<button type="submit">Sign out</button>
</form>
`)
	l.write(w, http.StatusOK, &b)
}

func (l *login) renderSignedOut(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	writeHead(&b, signedOutTitle)
	b.WriteString(`<p class="ok" role="status">You are signed out of ssokit and of the applications you used it for. You can close this page.</p>
`)
	l.write(w, http.StatusOK, &b)
}

func (l *login) renderError(w http.ResponseWriter, _ *http.Request, status int, title, msg string) {
	var b strings.Builder
	writeHead(&b, title)
	b.WriteString(`<p class="error" role="alert">` + html.EscapeString(msg) + "</p>\n")
	l.write(w, status, &b)
}

func (l *login) write(w http.ResponseWriter, status int, b *strings.Builder) {
	b.WriteString("</main>\n</body>\n</html>\n")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", l.csp)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String()) // a client gone mid-page is not news
}

func clientName(req oidc.LoginRequest) string {
	if req.ClientName != "" {
		return req.ClientName
	}
	return req.ClientID
}
