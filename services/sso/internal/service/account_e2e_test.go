package service_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
)

// verificationToken opens the token of the user's newest verification
// request from its outbox row, with the process's key ring, as the mail
// sender would from the topic.
func (h *harness) verificationToken(t *testing.T, ringFile, userID string) string {
	t.Helper()
	ring, err := sealbox.Load(ringFile)
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		return h.primary.Get(&payload, `SELECT payload FROM outbox
			WHERE aggregate_id = $1 AND event_type = 'EmailVerificationRequested'
			ORDER BY created_at DESC LIMIT 1`, userID) == nil
	}) {
		t.Fatal("no verification request in the outbox")
	}
	ev := new(eventsv1.AccountEvent)
	if err := proto.Unmarshal(payload, ev); err != nil {
		t.Fatal(err)
	}
	raw, err := ring.Open(ev.GetEmailVerificationRequested().GetToken(), sealbox.AAD("email-verification", userID, ev.GetEventId()))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestLoginCanRequireAVerifiedAddress runs sso with
// SSO_LOGIN_REQUIRES_VERIFIED_EMAIL: registration still signs in, a wrong
// password is the usual 401, the right one 400 FAILED_PRECONDITION until
// the address is verified, and then a token with email_verified.
func TestLoginCanRequireAVerifiedAddress(t *testing.T) {
	t.Parallel()
	base := sso(t)
	h := base.spawn(t, func(c *config.Config) { c.Account.RequireVerifiedEmail = true })
	addr := email(t)
	reg := h.rest(t, http.MethodPost, "/v1/auth/register", "", map[string]string{"email": addr, "password": goodPassword})
	if reg.Status != http.StatusOK || reg.str("access_token") == "" {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	login := func(pw string) restResponse {
		return h.rest(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"email": addr, "password": pw})
	}
	if r := login("not the password"); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s, want 401", r.Status, r.Raw)
	}
	if r := login(goodPassword); r.Status != http.StatusBadRequest || r.str("status") != "FAILED_PRECONDITION" {
		t.Fatalf("unverified: %d %s, want 400 FAILED_PRECONDITION", r.Status, r.Raw)
	}
	token := h.verificationToken(t, base.cfg.Events.SealingKeysFile, reg.str("user_id"))
	if r := h.rest(t, http.MethodPost, "/v1/auth/email/verify", "", map[string]string{"token": token}); r.Status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.Status, r.Raw)
	}
	r := login(goodPassword)
	if r.Status != http.StatusOK {
		t.Fatalf("verified: %d %s", r.Status, r.Raw)
	}
	v := h.rest(t, http.MethodPost, "/v1/auth/validate", "", map[string]string{"token": r.str("access_token")})
	if v.Status != http.StatusOK || v.Body["valid"] != true {
		t.Fatalf("validate: %d %s", v.Status, v.Raw)
	}
	if c := claims(t, r.str("access_token")); c["email_verified"] != true {
		t.Errorf("claims = %v, want email_verified true", c)
	}
}

// claims decodes the payload of a JWT without checking it.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
