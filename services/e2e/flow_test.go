package e2e_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/ssokit/platform/libs/testenv"
)

const successful = "REGISTRATION_EVENT_STATUS_SUCCESSFUL"

// eventStatus is the registration_event_status sso reports for a user.
func (s *system) eventStatus(t *testing.T, access string) string {
	return call(t, http.MethodGet, "http://"+s.ssoHTTP+"/v1/users/me", access, nil, nil).str("registration_event_status")
}

// balance is the user's loyalty balance, or -1 while there is no account.
func (s *system) balance(t *testing.T, userID, access string) int64 {
	r := call(t, http.MethodGet, "http://"+s.loyHTTP+"/v1/loyalty/accounts/"+userID, access, nil, nil)
	if r.Status != http.StatusOK {
		return -1
	}
	n, err := strconv.ParseInt(fmt.Sprint(r.Body["balance"]), 10, 64)
	if err != nil {
		t.Fatalf("balance %v: %v", r.Body["balance"], err)
	}
	return n
}

// mailCount is how many mails of any kind reached addr.
func mailCount(t *testing.T, addr string) int {
	mails, err := testenv.MailsTo(addr)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	return len(mails)
}

// welcomeMailCount is how many welcome mails reached addr; a registration
// also causes a verification mail, which it leaves out.
func welcomeMailCount(t *testing.T, addr string) int {
	mails, err := testenv.MailsTo(addr)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	n := 0
	for _, m := range mails {
		if strings.HasPrefix(m.MessageID, "welcome.") {
			n++
		}
	}
	return n
}

func cleanupMails(t *testing.T, addrs ...string) {
	t.Cleanup(func() {
		for _, a := range addrs {
			if mails, err := testenv.MailsTo(a); err == nil {
				_ = testenv.DeleteMails(mails)
			}
		}
	})
}

// TestRegistrationReachesBothConsumersInOneTrace follows one registration
// from the REST call through the outbox and Kafka into both consumers.
func TestRegistrationReachesBothConsumersInOneTrace(t *testing.T) {
	s := theSystem(t)
	addr := s.email(t)
	cleanupMails(t, addr)
	traceID := randomHex(16)
	userID, access := s.register(t, addr, map[string]string{
		"traceparent": "00-" + traceID + "-" + randomHex(8) + "-01",
	})

	if !testenv.Eventually(20*time.Second, 200*time.Millisecond, func() bool {
		return s.eventStatus(t, access) == successful && welcomeMailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("after 20s: status %q, %d mails, balance %d\nsso:\n%s\nnotifier:\n%s\nloyalty:\n%s",
			s.eventStatus(t, access), welcomeMailCount(t, addr), s.balance(t, userID, access),
			s.logs("sso"), s.logs("welcome-notifier"), s.logs("loyalty-points"))
	}
	mails, _ := testenv.MailsTo(addr)
	if mails[0].Subject == "" {
		t.Errorf("welcome mail has no subject: %+v", mails[0])
	}

	r := call(t, http.MethodGet, testenv.SchemaRegistryURL+"/subjects/"+s.topic+"-value/versions/latest", "", nil, nil)
	if r.Status != http.StatusOK || r.str("schemaType") != "PROTOBUF" {
		t.Fatalf("registry subject %s-value: %d %s", s.topic, r.Status, r.Raw)
	}

	// Spans are exported in batches every few seconds.
	want := []struct {
		service string
		kind    tracepb.Span_SpanKind
	}{
		{"sso", tracepb.Span_SPAN_KIND_SERVER},              // the REST call and the gRPC Register
		{"sso", tracepb.Span_SPAN_KIND_PRODUCER},            // the outbox publish
		{"loyalty-points", tracepb.Span_SPAN_KIND_CONSUMER}, // the credit
		{"welcome-notifier", tracepb.Span_SPAN_KIND_CONSUMER},
	}
	has := func(spans []testenv.Span, service string, kind tracepb.Span_SpanKind) bool {
		for _, sp := range spans {
			if sp.Service == service && sp.Kind == kind {
				return true
			}
		}
		return false
	}
	if !testenv.Eventually(20*time.Second, 250*time.Millisecond, func() bool {
		spans := s.spans.Trace(traceID)
		for _, w := range want {
			if !has(spans, w.service, w.kind) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("trace %s lacks spans; got %+v", traceID, s.spans.Trace(traceID))
	}

	// Nothing more arrives once both consumers have caught up: one mail,
	// one credit.
	s.settled(t)
	if n := welcomeMailCount(t, addr); n != 1 {
		t.Fatalf("%d welcome mails, want 1", n)
	}
	if b := s.balance(t, userID, access); b != s.bonus {
		t.Fatalf("balance %d, want %d", b, s.bonus)
	}
}

// TestRedeliveredEventIsHandledOnce replays a registration's event, byte
// for byte, as Kafka does after a consumer crash: no second mail, no second
// credit.
func TestRedeliveredEventIsHandledOnce(t *testing.T) {
	s := theSystem(t)
	addr := s.email(t)
	cleanupMails(t, addr)
	userID, access := s.register(t, addr, nil)
	if !testenv.Eventually(20*time.Second, 200*time.Millisecond, func() bool {
		return welcomeMailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("first delivery never completed: %d mails, balance %d", welcomeMailCount(t, addr), s.balance(t, userID, access))
	}

	var replayed bool
	for _, m := range readAll(t, s.topic, 2*time.Second) {
		if string(m.Key) == userID {
			produce(t, s.topic, m.Key, m.Value, m.Headers)
			produce(t, s.topic, m.Key, m.Value, m.Headers)
			replayed = true
		}
	}
	if !replayed {
		t.Fatalf("the event of user %s is not on topic %s", userID, s.topic)
	}
	s.settled(t)
	if n := welcomeMailCount(t, addr); n != 1 {
		t.Fatalf("%d mails after redelivery, want 1", n)
	}
	if b := s.balance(t, userID, access); b != s.bonus {
		t.Fatalf("balance %d after redelivery, want %d", b, s.bonus)
	}
}

// TestPoisonMessageIsDeadLettered puts bytes on the topic that were never
// serialized through the registry: each consumer moves them to its
// dead-letter topic and goes on with the next message.
func TestPoisonMessageIsDeadLettered(t *testing.T) {
	s := theSystem(t)
	produce(t, s.topic, []byte("poison"), []byte("definitely not a registry-framed protobuf"), nil)

	addr := s.email(t)
	cleanupMails(t, addr)
	userID, access := s.register(t, addr, nil)
	if !testenv.Eventually(30*time.Second, 200*time.Millisecond, func() bool {
		return welcomeMailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("the event after the poison message was not handled: %d mails, balance %d", welcomeMailCount(t, addr), s.balance(t, userID, access))
	}
	for _, group := range []string{"e2e-loyalty-" + s.suffix, "e2e-notifier-" + s.suffix} {
		dlq := s.topic + "." + group + ".dlq"
		var found bool
		for _, m := range readAll(t, dlq, 3*time.Second) {
			if string(m.Key) == "poison" {
				found = true
				if header(m, "dlq.error") == "" || header(m, "dlq.original.topic") != s.topic {
					t.Errorf("%s: headers %v", dlq, m.Headers)
				}
			}
		}
		if !found {
			t.Errorf("poison message not in %s", dlq)
		}
	}
}
