package httpapi

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/oidc"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Routes of the pages for people without a password to sign in with.
const (
	signupPath = "/signup"
	forgotPath = "/forgot-password"
	// maxNameField is the name field's maxlength, the API's bound.
	maxNameField = 200
)

const (
	signupTitle  = "Create your account"
	createdTitle = "Account created"
	forgotTitle  = "Forgot your password?"
	sentTitle    = "Check your mail"
	emailTaken   = "An account with this e-mail address exists already. Sign in, or choose a new password if you forgot it."
	tooMany      = "Too many attempts. Try again later."
)

// signupForm is what the sign-up page shows: the request it continues
// (nil without one), the values to show back, and at most one error,
// tied to its field ("" for the whole form).
type signupForm struct {
	req                *oidc.LoginRequest
	email, name        string
	field, msg         string
	taken              bool
	status             int
	requestID, backURL string
}

// showSignup serves GET /signup: the form, for an authorization request
// or on its own.
func (l *login) showSignup(w http.ResponseWriter, r *http.Request) {
	f := signupForm{status: http.StatusOK}
	if id := r.URL.Query().Get(requestIDField); id != "" {
		req, ok := l.request(w, r, id)
		if !ok {
			return
		}
		f.req = &req
		f.email = req.LoginHint
		if len(f.email) > maxEmailField {
			f.email = ""
		}
	}
	l.renderSignup(w, r, f)
}

// signup serves POST /signup: the API's registration (its checks, policy,
// throttle and verification mail), then the person is signed in as by
// /login and the authorization request goes on, or, without one, the page
// says the account is ready.
//
// A taken address is said so, as the API's Register answers 409: the page
// enumerates accounts exactly as much as that call does, and is counted
// against the same per-address registration quota, taken or not.
func (l *login) signup(w http.ResponseWriter, r *http.Request) {
	form, ok := l.readForm(w, r)
	if !ok {
		return
	}
	f := signupForm{email: form.Get("email"), name: form.Get("name")}
	if id := form.Get(requestIDField); id != "" {
		req, ok := l.request(w, r, id)
		if !ok {
			return
		}
		f.req = &req
	}
	var ip string
	if a, ok := gateway.ClientAddr(r, l.cfg.TrustedProxies); ok {
		ip = a.String()
	}
	in, err := l.signIns.SignUp(r.Context(), auth.Registration{Email: f.email, Password: form.Get("password"),
		FullName: f.name, ClientIP: ip, UserAgent: r.UserAgent()})
	if err != nil {
		var (
			invalid   *auth.InvalidArgumentError
			throttled *auth.ThrottledError
		)
		switch {
		case errors.Is(err, user.ErrEmailTaken):
			f.status, f.taken, f.msg = http.StatusConflict, true, emailTaken
		case errors.As(err, &invalid):
			f.status, f.field, f.msg = http.StatusBadRequest, invalid.Field, sentence(invalid.Reason)
			if f.field != "email" && f.field != "password" && f.field != "full_name" {
				f.field = ""
			}
		case errors.As(err, &throttled):
			retryAfter(w, throttled.RetryAfter)
			f.status, f.msg = http.StatusTooManyRequests, tooMany
		default:
			l.fail(w, r, err)
			return
		}
		l.renderSignup(w, r, f)
		return
	}
	sess, err := l.startCookie(w, r, in)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	if f.req != nil {
		l.proceed(w, r, *f.req, sess)
		return
	}
	var b strings.Builder
	writeHead(&b, createdTitle)
	b.WriteString(`<p class="ok" role="status">Your account is ready and you are signed in. We sent you a mail: follow its link to verify your e-mail address.</p>
`)
	l.write(w, http.StatusOK, &b)
}

// showForgot serves GET /forgot-password; an authorization request id, if
// it may be one, is kept only to link back to its sign-in.
func (l *login) showForgot(w http.ResponseWriter, r *http.Request) {
	l.renderForgot(w, r, http.StatusOK, keptRequestID(r.URL.Query().Get(requestIDField)), "", "")
}

// forgot serves POST /forgot-password through the API's forgot use case:
// the same page whether or not the address has an account, and the same
// per-address and per-account throttles, which answer alike for both.
func (l *login) forgot(w http.ResponseWriter, r *http.Request) {
	form, ok := l.readForm(w, r)
	if !ok {
		return
	}
	id, email := keptRequestID(form.Get(requestIDField)), form.Get("email")
	var ip string
	if a, ok := gateway.ClientAddr(r, l.cfg.TrustedProxies); ok {
		ip = a.String()
	}
	err := l.signIns.ForgotPassword(r.Context(), email, ip)
	var (
		invalid   *auth.InvalidArgumentError
		throttled *auth.ThrottledError
	)
	switch {
	case err == nil:
	case errors.As(err, &invalid):
		// Said of the address as typed, never of an account.
		if len(email) > maxEmailField {
			email = ""
		}
		l.renderForgot(w, r, http.StatusBadRequest, id, email, sentence(invalid.Reason))
		return
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		l.renderForgot(w, r, http.StatusTooManyRequests, id, "", tooMany)
		return
	default:
		l.fail(w, r, err)
		return
	}
	var b strings.Builder
	writeHead(&b, sentTitle)
	b.WriteString(`<p class="ok" role="status">If an account uses this e-mail address, we sent it a mail with a link to choose a new password. The link works once and expires soon. Nothing arrived? Check the address and your spam folder, then ask again.</p>
`)
	if id != "" {
		b.WriteString(`<nav class="links" aria-label="Account"><a href="` + withRequest(loginPath, id) + `">Back to sign in</a></nav>
`)
	}
	l.write(w, http.StatusOK, &b)
}

func (l *login) renderSignup(w http.ResponseWriter, r *http.Request, f signupForm) {
	tok, err := l.formToken(w, r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	id := ""
	if f.req != nil {
		id = f.req.ID
	}
	minLen, maxLen := strconv.Itoa(max(l.cfg.PasswordMinLength, 1)), strconv.Itoa(max(l.cfg.PasswordMaxLength, 1))
	var b strings.Builder
	writeHead(&b, signupTitle)
	// A field's error is announced and tied to its field; one about the
	// whole form to both fields a person would change.
	describe := func(field string, ids ...string) string {
		if f.msg != "" && (f.field == field || f.field == "" && field != "full_name") {
			ids = append(ids, "form-error")
			if f.field == field {
				return ` aria-invalid="true" aria-describedby="` + strings.Join(ids, " ") + `"`
			}
		}
		if len(ids) == 0 {
			return ""
		}
		return ` aria-describedby="` + strings.Join(ids, " ") + `"`
	}
	if f.msg != "" {
		b.WriteString(`<p class="error" role="alert" id="form-error">` + html.EscapeString(f.msg) + "</p>\n")
	}
	if f.taken {
		b.WriteString(`<nav class="links" aria-label="Existing account">`)
		if id != "" {
			b.WriteString(`<a href="` + withRequest(loginPath, id) + `">Sign in</a>`)
		}
		b.WriteString(`<a href="` + withRequest(forgotPath, id) + `">Forgot your password?</a></nav>
`)
	}
	if f.req != nil {
		b.WriteString(`<p>to continue to <span class="client">` + html.EscapeString(clientName(*f.req)) + "</span></p>\n")
	}
	email, name := f.email, f.name
	if len(email) > maxEmailField {
		email = ""
	}
	if utf8.RuneCountInString(name) > maxNameField || !utf8.ValidString(name) {
		name = ""
	}
	b.WriteString(`<form method="post" action="` + signupPath + `">
`)
	if id != "" {
		b.WriteString(`<input type="hidden" name="` + requestIDField + `" value="` + html.EscapeString(id) + `">
`)
	}
	b.WriteString(`<input type="hidden" name="` + csrfField + `" value="` + tok + `">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" autocomplete="email" required maxlength="` + strconv.Itoa(maxEmailField) + `" value="` + html.EscapeString(email) + `"` + describe("email") + `>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="new-password" required minlength="` + minLen + `" maxlength="` + maxLen + `"` + describe("password", "password-hint") + `>
<p class="hint" id="password-hint">At least ` + minLen + ` characters; not your e-mail address nor a common password.</p>
<label for="name">Name <span class="hint">(optional)</span></label>
<input type="text" id="name" name="name" autocomplete="name" maxlength="` + strconv.Itoa(maxNameField) + `" value="` + html.EscapeString(name) + `"` + describe("full_name") + `>
<button type="submit">Create account</button>
</form>
`)
	if id != "" && !f.taken {
		b.WriteString(`<nav class="links" aria-label="Account"><a href="` + withRequest(loginPath, id) + `">I have an account: sign in</a></nav>
`)
	}
	status := f.status
	if status == 0 {
		status = http.StatusOK
	}
	l.write(w, status, &b)
}

func (l *login) renderForgot(w http.ResponseWriter, r *http.Request, status int, id, email, msg string) {
	tok, err := l.formToken(w, r)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	var b strings.Builder
	writeHead(&b, forgotTitle)
	describedBy := ` aria-describedby="forgot-hint"`
	if msg != "" {
		b.WriteString(`<p class="error" role="alert" id="form-error">` + html.EscapeString(msg) + "</p>\n")
		describedBy = ` aria-invalid="true" aria-describedby="form-error forgot-hint"`
	}
	b.WriteString(`<form method="post" action="` + forgotPath + `">
`)
	if id != "" {
		b.WriteString(`<input type="hidden" name="` + requestIDField + `" value="` + html.EscapeString(id) + `">
`)
	}
	b.WriteString(`<input type="hidden" name="` + csrfField + `" value="` + tok + `">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" autocomplete="email" required maxlength="` + strconv.Itoa(maxEmailField) + `" value="` + html.EscapeString(email) + `"` + describedBy + `>
<p class="hint" id="forgot-hint">We mail a link to choose a new password to this address if it has an account.</p>
<button type="submit">Send the link</button>
</form>
`)
	if id != "" {
		b.WriteString(`<nav class="links" aria-label="Account"><a href="` + withRequest(loginPath, id) + `">Back to sign in</a></nav>
`)
	}
	l.write(w, status, &b)
}

// registerLink and resetLink are the sign-in form's links: the configured
// pages, or the hosted ones, carrying the request to come back to.
func (l *login) registerLink(id string) string {
	if l.cfg.RegisterURL != "" {
		return html.EscapeString(l.cfg.RegisterURL)
	}
	return withRequest(signupPath, id)
}

func (l *login) resetLink(id string) string {
	if l.cfg.ResetURL != "" {
		return html.EscapeString(l.cfg.ResetURL)
	}
	return withRequest(forgotPath, id)
}

// withRequest is path with the request id in its query, escaped for an
// attribute; without an id, path alone.
func withRequest(path, id string) string {
	if id == "" {
		return path
	}
	return html.EscapeString(path + "?" + url.Values{requestIDField: {id}}.Encode())
}

// keptRequestID is id if it may be a request id, else "": a page that
// only links back to the sign-in does not look it up.
func keptRequestID(id string) string {
	if !plausibleRequestID(id) {
		return ""
	}
	return id
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int64(d.Round(time.Second) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
}

// sentence makes a use case's lowercase reason ("password must be at
// least 8 characters") read as a sentence on the page.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}
