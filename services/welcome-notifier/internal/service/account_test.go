package service_test

import (
	"bytes"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
	"github.com/ssokit/platform/services/welcome-notifier/internal/service"
)

// syncBuffer collects the notifier's log across its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// accountEvent builds an AccountEvent for a new user and event.
func accountEvent() *eventsv1.AccountEvent {
	return &eventsv1.AccountEvent{EventId: uuid.NewString(), UserId: uuid.NewString(), OccurredAt: timestamppb.Now()}
}

// newToken is shaped like sso's one-time tokens: 32 random bytes in
// base64url; the tail adds characters a query string must escape.
func newToken() string { return strings.ReplaceAll(uuid.NewString(), "-", "_") + "-+/=" }

// linkIn returns the one link of the mail body that starts with base.
func linkIn(t *testing.T, body, base string) *url.URL {
	t.Helper()
	links := regexp.MustCompile(regexp.QuoteMeta(base)+`\S*`).FindAllString(body, -1)
	if len(links) != 1 {
		t.Fatalf("body has %d links under %s, want 1:\n%s", len(links), base, body)
	}
	u, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAccountMailsEndToEnd runs the notifier as cmd/welcome-notifier does
// against the real Kafka, Schema Registry, PostgreSQL and Mailpit, and
// produces AccountEvents as sso does: serialized through the registry,
// tokens sealed with the ring the notifier reads. Each mail arrives once
// with the sealed token in its link; a redelivered event sends nothing; a
// token sealed with another ring is dead-lettered and sends nothing;
// EmailVerified and a kind added to the schema later send nothing and
// block nothing; the log carries no token, link or address.
func TestAccountMailsEndToEnd(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL),
		testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL), testenv.HostPort(testenv.PGPrimaryDSN))
	cfg := testConfig(t)
	const base = "http://127.0.0.1:18300/sso"
	cfg.Account.LinkBase = base
	r, err := sealbox.Load(cfg.Account.SealingKeysFile)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	baseURL, stop := startLogging(t, cfg, &logs)
	p := newProducer(t, cfg.Account.Topic)
	expires := time.Now().Add(24 * time.Hour).Truncate(time.Second)

	sealed := func(ring *sealbox.Ring, purpose string, ev *eventsv1.AccountEvent, token string) *eventsv1.SealedSecret {
		s, err := ring.Seal([]byte(token), sealbox.AAD(purpose, ev.UserId, ev.EventId))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	verify, verifyToken := accountEvent(), newToken()
	verifyTo := testenv.Mailbox(t, "verify")
	verify.Kind = &eventsv1.AccountEvent_EmailVerificationRequested{EmailVerificationRequested: &eventsv1.EmailVerificationRequested{
		Email: verifyTo, Token: sealed(r, "email-verification", verify, verifyToken), ExpiresAt: timestamppb.New(expires)}}

	reset, resetToken := accountEvent(), newToken()
	resetTo := testenv.Mailbox(t, "reset")
	reset.Kind = &eventsv1.AccountEvent_PasswordResetRequested{PasswordResetRequested: &eventsv1.PasswordResetRequested{
		Email: resetTo, Token: sealed(r, "password-reset", reset, resetToken), ExpiresAt: timestamppb.New(expires)}}

	other, err := sealbox.Parse([]byte(mustKeyLine(t, "test"))) // same key id, another key
	if err != nil {
		t.Fatal(err)
	}
	foreign, foreignToken := accountEvent(), newToken()
	foreignTo := testenv.Mailbox(t, "foreign")
	foreign.Kind = &eventsv1.AccountEvent_PasswordResetRequested{PasswordResetRequested: &eventsv1.PasswordResetRequested{
		Email: foreignTo, Token: sealed(other, "password-reset", foreign, foreignToken), ExpiresAt: timestamppb.New(expires)}}

	verifiedTo := testenv.Mailbox(t, "verified")
	verified := accountEvent()
	verified.Kind = &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Email: verifiedTo}}

	// A kind a later schema adds as field 99 of the oneof: this build
	// decodes the envelope and finds no kind it knows.
	unknown := accountEvent()
	unknown.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 99, protowire.BytesType),
		protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), verifiedTo)))

	changedTo := testenv.Mailbox(t, "changed")
	byReset, byChange := accountEvent(), accountEvent()
	byReset.Kind = &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{
		Email: changedTo, Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET}}
	byChange.Kind = &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{
		Email: changedTo, Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE}}

	// One partition, handled in order: once the last event's mail is in,
	// every event before it has been dealt with.
	verifyValue := p.serialize(t, verify)
	for _, m := range []struct {
		key   string
		value []byte
	}{
		{verify.UserId, verifyValue}, {reset.UserId, p.serialize(t, reset)}, {foreign.UserId, p.serialize(t, foreign)},
		{verified.UserId, p.serialize(t, verified)}, {unknown.UserId, p.serialize(t, unknown)},
		{verify.UserId, verifyValue}, // redelivered
		{byReset.UserId, p.serialize(t, byReset)}, {byChange.UserId, p.serialize(t, byChange)},
	} {
		p.send(t, m.key, m.value)
	}
	changed, err := testenv.AwaitMails(changedTo, 2, time.Minute)
	if err != nil || len(changed) != 2 {
		t.Fatalf("mails to %s = %d (%v), want 2", changedTo, len(changed), err)
	}

	for _, tt := range []struct {
		to, path, token, subject string
		ev                       *eventsv1.AccountEvent
		kind                     mail.Kind
	}{
		{verifyTo, "/sso/account/verify-email", verifyToken, "Confirm your e-mail address for ssokit", verify, mail.VerifyEmail},
		{resetTo, "/sso/account/reset-password", resetToken, "Reset your ssokit password", reset, mail.PasswordReset},
	} {
		found, err := testenv.MailsTo(tt.to)
		if err != nil || len(found) != 1 {
			t.Fatalf("mails to %s = %d (%v), want exactly 1", tt.to, len(found), err)
		}
		got := found[0]
		if got.Subject != tt.subject || got.MessageID != tt.kind.MessageID(tt.ev.EventId, "ssokit.local") {
			t.Errorf("%s: subject %q, Message-ID %q", tt.kind, got.Subject, got.MessageID)
		}
		body, err := testenv.MailBody(got.ID)
		if err != nil {
			t.Fatal(err)
		}
		link := linkIn(t, body, base)
		if link.Path != tt.path || link.Query().Get("token") != tt.token || len(link.Query()) != 1 {
			t.Errorf("%s link = %s, want %s with the sealed token %q", tt.kind, link, tt.path, tt.token)
		}
		if !strings.Contains(body, expires.UTC().Format("2 January 2006, 15:04 MST")) {
			t.Errorf("%s body does not say when the link expires:\n%s", tt.kind, body)
		}
	}
	var methods []string
	for _, m := range changed {
		body, err := testenv.MailBody(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(body, "token=") || !strings.Contains(body, "If this was not you, reset your password") {
			t.Errorf("password-changed body:\n%s", body)
		}
		switch {
		case strings.Contains(body, "was reset through"):
			methods = append(methods, "reset")
		case strings.Contains(body, "knew the old password"):
			methods = append(methods, "change")
		}
	}
	if len(methods) != 2 || methods[0] == methods[1] {
		t.Errorf("password-changed mails say %v, want one reset and one change", methods)
	}
	for _, to := range []string{foreignTo, verifiedTo} {
		if found, err := testenv.MailsTo(to); err != nil || len(found) != 0 {
			t.Errorf("mails to %s = %d (%v), want none", to, len(found), err)
		}
	}

	dead := readOne(t, cfg.Account.DeadLetterTopic)
	if string(dead.Key) != foreign.UserId || header(dead, consumer.HeaderReason) != consumer.ReasonPermanent ||
		!strings.Contains(header(dead, consumer.HeaderError), "cannot be opened") {
		t.Errorf("dead letter: key %q headers %v; want the foreign-sealed event, permanent", dead.Key, dead.Headers)
	}
	if n := topicSize(t, cfg.Account.DeadLetterTopic); n != 1 {
		t.Errorf("account dead-letter topic holds %d messages, want only the foreign-sealed event", n)
	}

	db, err := sqlx.Open("postgres", cfg.DB.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ledger := postgres.NewLedger(db)
	rec, err := ledger.GetAccountMail(testenv.Context(t, 10*time.Second), verify.EventId)
	if err != nil || rec.Status != "sent" || rec.Attempts != 1 || rec.Kind != string(mail.VerifyEmail) {
		t.Errorf("ledger of the verification = %+v, %v; want sent on the first attempt", rec, err)
	}
	if _, err := ledger.GetAccountMail(testenv.Context(t, 10*time.Second), foreign.EventId); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("ledger of the foreign-sealed event = %v, want no row", err)
	}

	metrics := scrape(t, baseURL)
	for _, want := range []string{
		`welcome_notifier_account_events_total{kind="email_verification_requested",outcome="sent"} 1`,
		`welcome_notifier_account_events_total{kind="email_verification_requested",outcome="duplicate"} 1`,
		`welcome_notifier_account_events_total{kind="password_reset_requested",outcome="sent"} 1`,
		`welcome_notifier_account_events_total{kind="password_reset_requested",outcome="rejected"} 1`,
		`welcome_notifier_account_events_total{kind="password_changed",outcome="sent"} 2`,
		`welcome_notifier_account_events_total{kind="email_verified",outcome="ignored"} 1`,
		`welcome_notifier_account_events_total{kind="unknown",outcome="skipped"} 1`,
		`kafka_consumer_dead_lettered_total{group="` + cfg.Account.GroupID + `",reason="permanent",topic="` + cfg.Account.Topic + `"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := readiness(t, baseURL); r.Checks["kafka_account"] != "ok" {
		t.Errorf("readiness = %+v, want kafka_account ok", r)
	}

	// `dlq replay account` finds the account consumer's dead letter (and
	// only it); the dry run moves nothing.
	program := bootstrap.Program[config.Config]{
		Name: service.Name, Load: func() (config.Config, error) { return cfg, nil }, Start: service.New, Commands: service.Commands(),
	}
	deleteGroupsAtEnd(t, consumer.ReplayGroup(cfg.Account.GroupID))
	var out bytes.Buffer
	if err := program.Run(testenv.Context(t, time.Minute), []string{"dlq", "replay", "account", "--dry-run"}, &out); err != nil {
		t.Fatalf("dlq replay account: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"moved":1`) || !strings.Contains(out.String(), cfg.Account.DeadLetterTopic) {
		t.Errorf("dlq replay account --dry-run logged %s, want the account dead letter", out.String())
	}

	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	logged := logs.String() + out.String()
	if !strings.Contains(logged, "account mail sent") {
		t.Fatalf("the notifier's log lacks the sent account mails:\n%s", logged)
	}
	for _, secret := range []string{verifyToken, resetToken, foreignToken, url.QueryEscape(verifyToken), base, "@example.test"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
}

func mustKeyLine(t *testing.T, id string) string {
	t.Helper()
	line, err := sealbox.NewKeyLine(id)
	if err != nil {
		t.Fatal(err)
	}
	return line
}
