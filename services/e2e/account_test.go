package e2e_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/jmoiron/sqlx"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
)

// The account life cycle through the real sso, Kafka and the registry:
// tokens are read the way the mail sender reads them, by opening the
// sealed token of the event with the shared key ring.

// accountEvent is one event of the account topic, decoded through the
// registry, with the raw message it came in.
type accountEvent struct {
	msg *kafka.Message
	ev  *eventsv1.AccountEvent
}

// waitAccountEvents reads the account topic until the user's events
// satisfy done, and returns them in order.
func (s *system) waitAccountEvents(t *testing.T, userID string, done func([]accountEvent) bool) []accountEvent {
	t.Helper()
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	defer registry.Close()
	deser, err := protobuf.NewDeserializer(registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var got []accountEvent
	if !testenv.Eventually(60*time.Second, 0, func() bool {
		got = got[:0]
		for _, m := range readAll(t, s.accountTopic, 1500*time.Millisecond) {
			if string(m.Key) != userID {
				continue
			}
			ev := new(eventsv1.AccountEvent)
			if err := deser.DeserializeInto(s.accountTopic, m.Value, ev); err != nil {
				t.Fatalf("deserialize an account event: %v", err)
			}
			got = append(got, accountEvent{m, ev})
		}
		return done(got)
	}) {
		t.Fatalf("account events of %s: %d events, not the ones awaited", userID, len(got))
	}
	return got
}

// count returns how many of events pass is.
func count(events []accountEvent, is func(*eventsv1.AccountEvent) bool) int {
	n := 0
	for _, e := range events {
		if is(e.ev) {
			n++
		}
	}
	return n
}

func isVerification(e *eventsv1.AccountEvent) bool { return e.GetEmailVerificationRequested() != nil }
func isReset(e *eventsv1.AccountEvent) bool        { return e.GetPasswordResetRequested() != nil }

// openToken opens the sealed token of the newest event that passes is,
// checks that the token's clear text appears nowhere in the message, and
// returns it.
func (s *system) openToken(t *testing.T, events []accountEvent, is func(*eventsv1.AccountEvent) bool) string {
	t.Helper()
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if !is(e.ev) {
			continue
		}
		sealed, purpose := e.ev.GetEmailVerificationRequested().GetToken(), "email-verification"
		if r := e.ev.GetPasswordResetRequested(); r != nil {
			sealed, purpose = r.GetToken(), "password-reset"
		}
		raw, err := s.ring.Open(sealed, sealbox.AAD(purpose, e.ev.GetUserId(), e.ev.GetEventId()))
		if err != nil {
			t.Fatalf("open the sealed token: %v", err)
		}
		if len(raw) != 43 {
			t.Fatalf("token of %d characters, want 43", len(raw))
		}
		if bytes.Contains(e.msg.Value, raw) || bytes.Contains(e.msg.Key, raw) {
			t.Fatal("the token is in the topic in clear")
		}
		for _, h := range e.msg.Headers {
			if bytes.Contains(h.Value, raw) {
				t.Fatalf("the token is in header %s in clear", h.Key)
			}
		}
		// Bound to its event: under another event id it does not open.
		if _, err := s.ring.Open(sealed, sealbox.AAD(purpose, e.ev.GetUserId(), "another-event")); err == nil {
			t.Fatal("the sealed token opens under another event id")
		}
		if header(e.msg, "event_id") != e.ev.GetEventId() {
			t.Errorf("event_id header %q, event %q", header(e.msg, "event_id"), e.ev.GetEventId())
		}
		return string(raw)
	}
	t.Fatal("no event with a token")
	return ""
}

func (s *system) url(path string) string { return "http://" + s.ssoHTTP + path }

func TestVerificationLinkWorksOnce(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	addr := s.email(t)
	registerTrace, verifyTrace := randomHex(16), randomHex(16)
	userID, access := s.register(t, addr, map[string]string{"traceparent": "00-" + registerTrace + "-" + randomHex(8) + "-01"})

	events := s.waitAccountEvents(t, userID, func(es []accountEvent) bool { return count(es, isVerification) == 1 })
	// The event continues the trace of the request that caused it.
	if tp := header(events[0].msg, "traceparent"); !strings.Contains(tp, registerTrace) {
		t.Errorf("traceparent of the verification request = %q, want trace %s", tp, registerTrace)
	}
	req := events[0].ev.GetEmailVerificationRequested()
	if req.GetEmail() != "" || s.personal(t, events[0].ev.GetUserId(), events[0].ev.GetEventId(), req.GetPersonal()).GetEmail() != addr ||
		time.Until(req.GetExpiresAt().AsTime()) < 23*time.Hour {
		t.Fatalf("verification request = %v", events[0].ev)
	}
	if typ := header(events[0].msg, "event_type"); typ != "EmailVerificationRequested" {
		t.Errorf("event_type header = %q", typ)
	}
	token := s.openToken(t, events, isVerification)

	if r := call(t, http.MethodGet, s.url("/v1/users/me"), access, nil, nil); r.Status != http.StatusOK || r.Body["email_verified"] != false {
		t.Fatalf("me before verifying: %d %s", r.Status, r.Raw)
	}
	forged := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify"), "", map[string]string{"token": forged}, nil); r.Status != http.StatusBadRequest || r.str("message") != "invalid or expired token" {
		t.Fatalf("forged token: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify"), "", map[string]string{"token": token},
		map[string]string{"traceparent": "00-" + verifyTrace + "-" + randomHex(8) + "-01"}); r.Status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodGet, s.url("/v1/users/me"), access, nil, nil); r.Status != http.StatusOK || r.Body["email_verified"] != true {
		t.Fatalf("me after verifying: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify"), "", map[string]string{"token": token}, nil); r.Status != http.StatusBadRequest || r.str("message") != "invalid or expired token" {
		t.Fatalf("reused token: %d %s", r.Status, r.Raw)
	}
	verified := s.waitAccountEvents(t, userID, func(es []accountEvent) bool {
		return count(es, func(e *eventsv1.AccountEvent) bool {
			return e.GetEmailVerified() != nil && s.personal(t, e.GetUserId(), e.GetEventId(), e.GetEmailVerified().GetPersonal()).GetEmail() == addr
		}) == 1
	})
	if tp := header(verified[len(verified)-1].msg, "traceparent"); !strings.Contains(tp, verifyTrace) {
		t.Errorf("traceparent of EmailVerified = %q, want trace %s", tp, verifyTrace)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify/resend"), access, map[string]string{}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("resend once verified: %d %s, want 400 (FAILED_PRECONDITION)", r.Status, r.Raw)
	}
}

func TestExpiredAndSupersededVerificationLinksAreRefused(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	userID, access := s.register(t, s.email(t), nil)
	first := s.openToken(t, s.waitAccountEvents(t, userID, func(es []accountEvent) bool { return count(es, isVerification) == 1 }), isVerification)
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify/resend"), access, map[string]string{}, nil); r.Status != http.StatusOK {
		t.Fatalf("resend: %d %s", r.Status, r.Raw)
	}
	second := s.openToken(t, s.waitAccountEvents(t, userID, func(es []accountEvent) bool { return count(es, isVerification) == 2 }), isVerification)
	if first == second {
		t.Fatal("the resent link carries the first token")
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify"), "", map[string]string{"token": first}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("superseded token: %d %s", r.Status, r.Raw)
	}
	// Time passes in the database: the token's expiry moves into the past.
	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs["sso"]))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND used_at IS NULL", userID); err != nil {
		t.Fatal(err)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/email/verify"), "", map[string]string{"token": second}, nil); r.Status != http.StatusBadRequest || r.str("message") != "invalid or expired token" {
		t.Fatalf("expired token: %d %s", r.Status, r.Raw)
	}
	// Three resends an hour per account by default: the fourth is refused.
	for i := range 3 {
		r := call(t, http.MethodPost, s.url("/v1/auth/email/verify/resend"), access, map[string]string{}, nil)
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if r.Status != want {
			t.Fatalf("resend %d: %d %s, want %d", i+2, r.Status, r.Raw, want)
		}
	}
}

func TestForgotPasswordAnswersAlikeForKnownAndUnknownAddresses(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	known := s.email(t)
	userID, _ := s.register(t, known, nil)
	unknown := "nobody-" + known

	var answers []restResponse
	for _, addr := range []string{known, unknown} {
		answers = append(answers, call(t, http.MethodPost, s.url("/v1/auth/password/forgot"), "", map[string]string{"email": addr}, nil))
	}
	if answers[0].Status != http.StatusOK || answers[0].Status != answers[1].Status || answers[0].Raw != answers[1].Raw {
		t.Fatalf("known: %d %s; unknown: %d %s; want the same 200", answers[0].Status, answers[0].Raw, answers[1].Status, answers[1].Raw)
	}
	events := s.waitAccountEvents(t, userID, func(es []accountEvent) bool { return count(es, isReset) == 1 })
	last := events[len(events)-1].ev
	if r := last.GetPasswordResetRequested(); r.GetEmail() != "" || s.personal(t, last.GetUserId(), last.GetEventId(), r.GetPersonal()).GetEmail() != known ||
		time.Until(r.GetExpiresAt().AsTime()) > 30*time.Minute {
		t.Fatalf("reset request = %v", events[len(events)-1].ev)
	}
	s.openToken(t, events, isReset)

	// The two answers take about as long: the known address costs one
	// more write. Measured over fresh addresses, so no limit bites.
	const rounds = 5
	var knownTimes, unknownTimes []time.Duration
	for i := range rounds {
		k := fmt.Sprintf("timing-%d-%s", i, known)
		s.register(t, k, nil)
		for _, a := range []struct {
			addr  string
			times *[]time.Duration
		}{{k, &knownTimes}, {"nobody-" + k, &unknownTimes}} {
			start := time.Now()
			if r := call(t, http.MethodPost, s.url("/v1/auth/password/forgot"), "", map[string]string{"email": a.addr}, nil); r.Status != http.StatusOK {
				t.Fatalf("forgot %s: %d %s", a.addr, r.Status, r.Raw)
			}
			*a.times = append(*a.times, time.Since(start))
		}
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	mk, mu := median(knownTimes), median(unknownTimes)
	t.Logf("forgot password, median of %d: known address %v, unknown address %v", rounds, mk, mu)
	if diff := (mk - mu).Abs(); diff > 50*time.Millisecond {
		t.Errorf("known and unknown addresses differ by %v in median answer time", diff)
	}

	// Five requests an hour per address, known or not; the sixth is
	// refused alike.
	for _, addr := range []string{known, unknown} {
		var last restResponse
		for range 5 {
			last = call(t, http.MethodPost, s.url("/v1/auth/password/forgot"), "", map[string]string{"email": addr}, nil)
		}
		if last.Status != http.StatusTooManyRequests {
			t.Errorf("%s: sixth request %d %s, want 429", addr, last.Status, last.Raw)
		}
	}
}

func TestPasswordResetEndsEverySession(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	addr := s.email(t)
	reg := call(t, http.MethodPost, s.url("/v1/auth/register"), "", map[string]string{"email": addr, "password": password}, nil)
	if reg.Status != http.StatusOK {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	userID := reg.str("user_id")
	login := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": password}, nil)
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/password/forgot"), "", map[string]string{"email": addr}, nil); r.Status != http.StatusOK {
		t.Fatalf("forgot: %d %s", r.Status, r.Raw)
	}
	token := s.openToken(t, s.waitAccountEvents(t, userID, func(es []accountEvent) bool { return count(es, isReset) == 1 }), isReset)

	const newPassword = "a brand new passphrase"
	if r := call(t, http.MethodPost, s.url("/v1/auth/password/reset"), "", map[string]string{"token": "forged-token", "new_password": newPassword}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("forged reset token: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/password/reset"), "", map[string]string{"token": token, "new_password": newPassword}, nil); r.Status != http.StatusOK {
		t.Fatalf("reset: %d %s", r.Status, r.Raw)
	}
	for _, pair := range []restResponse{reg, login} {
		if r := call(t, http.MethodGet, s.url("/v1/users/me"), pair.str("access_token"), nil, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("old access token after reset: %d %s, want 401", r.Status, r.Raw)
		}
		if r := call(t, http.MethodPost, s.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": pair.str("refresh_token")}, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("old refresh token after reset: %d %s, want 401", r.Status, r.Raw)
		}
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": password}, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("old password: %d %s, want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": newPassword}, nil); r.Status != http.StatusOK {
		t.Errorf("new password: %d %s, want 200", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/password/reset"), "", map[string]string{"token": token, "new_password": "yet another passphrase"}, nil); r.Status != http.StatusBadRequest {
		t.Errorf("reused reset token: %d %s, want 400", r.Status, r.Raw)
	}
	s.waitAccountEvents(t, userID, func(es []accountEvent) bool {
		return count(es, func(e *eventsv1.AccountEvent) bool {
			return e.GetPasswordChanged().GetMethod() == eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET
		}) == 1
	})
}

func TestPasswordChangeEndsOtherSessionsAndReturnsAWorkingPair(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	addr := s.email(t)
	userID, access := s.register(t, addr, nil)
	other := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": password}, nil)
	if other.Status != http.StatusOK {
		t.Fatalf("login: %d %s", other.Status, other.Raw)
	}
	const newPassword = "a brand new passphrase"
	if r := call(t, http.MethodPost, s.url("/v1/users/me/password"), access,
		map[string]string{"current_password": "not the password", "new_password": newPassword}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("wrong current password: %d %s, want 400", r.Status, r.Raw)
	}
	fresh := call(t, http.MethodPost, s.url("/v1/users/me/password"), access,
		map[string]string{"current_password": password, "new_password": newPassword}, nil)
	if fresh.Status != http.StatusOK || fresh.str("user_id") != userID || fresh.str("access_token") == "" || fresh.str("refresh_token") == "" {
		t.Fatalf("change: %d %s", fresh.Status, fresh.Raw)
	}
	for _, at := range []string{access, other.str("access_token")} {
		if r := call(t, http.MethodGet, s.url("/v1/users/me"), at, nil, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("old access token after change: %d %s, want 401", r.Status, r.Raw)
		}
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": other.str("refresh_token")}, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("other session's refresh token after change: %d %s, want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodGet, s.url("/v1/users/me"), fresh.str("access_token"), nil, nil); r.Status != http.StatusOK {
		t.Errorf("new access token: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": fresh.str("refresh_token")}, nil); r.Status != http.StatusOK {
		t.Errorf("new refresh token: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": newPassword}, nil); r.Status != http.StatusOK {
		t.Errorf("new password: %d %s", r.Status, r.Raw)
	}
	s.waitAccountEvents(t, userID, func(es []accountEvent) bool {
		return count(es, func(e *eventsv1.AccountEvent) bool {
			return e.GetPasswordChanged().GetMethod() == eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE
		}) == 1
	})
}

// TestAccountServiceOverGRPC drives the flows over gRPC: a change of
// password with the bearer in metadata, a forged token refused as
// INVALID_ARGUMENT naming the token field, forgot answering alike.
func TestAccountServiceOverGRPC(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	addr := s.email(t)
	userID, access := s.register(t, addr, nil)
	conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accounts := ssov1.NewAccountServiceClient(conn)
	ctx := testenv.Context(t, 30*time.Second)

	_, err = accounts.VerifyEmail(ctx, &ssov1.VerifyEmailRequest{Token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || st.Message() != "invalid or expired token" {
		t.Fatalf("forged token: %v", err)
	}
	var field string
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok && len(b.GetFieldViolations()) > 0 {
			field = b.GetFieldViolations()[0].GetField()
		}
	}
	if field != "token" {
		t.Errorf("violated field = %q, want token", field)
	}
	for _, a := range []string{addr, "nobody-" + addr} {
		if _, err := accounts.ForgotPassword(ctx, &ssov1.ForgotPasswordRequest{Email: a}); err != nil {
			t.Fatalf("forgot %s: %v", a, err)
		}
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+access)
	if _, err := accounts.ChangePassword(authed, &ssov1.ChangePasswordRequest{CurrentPassword: "not it at all", NewPassword: "a brand new passphrase"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("wrong current password: %v, want INVALID_ARGUMENT", err)
	}
	pair, err := accounts.ChangePassword(authed, &ssov1.ChangePasswordRequest{CurrentPassword: password, NewPassword: "a brand new passphrase"})
	if err != nil || pair.GetUserId() != userID || pair.GetTokenType() != "Bearer" || pair.GetExpiresIn() <= 0 {
		t.Fatalf("change = %v, %v", pair, err)
	}
	users := ssov1.NewUserServiceClient(conn)
	if _, err := users.GetMe(authed, &ssov1.GetMeRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("old access token after change: %v, want UNAUTHENTICATED", err)
	}
	me, err := users.GetMe(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+pair.GetAccessToken()), &ssov1.GetMeRequest{})
	if err != nil || me.GetEmailVerified() {
		t.Errorf("GetMe with the new pair = %v, %v; want an unverified profile", me, err)
	}
}
