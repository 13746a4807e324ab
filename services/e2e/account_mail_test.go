package e2e_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// produceAccountEvent serializes ev through the registry, as sso's outbox
// relay does, and produces it keyed by its user.
func (s *system) produceAccountEvent(t *testing.T, ev proto.Message, key string) []byte {
	t.Helper()
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	defer registry.Close()
	ser, err := protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	value, err := ser.Serialize(s.accountTopic, ev)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, s.accountTopic, []byte(key), value, nil)
	return value
}

// TestAccountMailLinksToSSO: a verification request sealed with the ring
// the notifier process was started with becomes one mail whose link leads
// to sso's HTTP address with the token; the same event redelivered sends
// no second mail.
func TestAccountMailLinksToSSO(t *testing.T) {
	s := theSystem(t)
	ring, err := sealbox.Load(s.ringFile)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.email(t)
	cleanupMails(t, addr)
	ev := &eventsv1.AccountEvent{EventId: newUUID(), UserId: newUUID(), OccurredAt: timestamppb.Now()}
	token := randomHex(32)
	sealed, err := ring.Seal([]byte(token), sealbox.AAD("email-verification", ev.UserId, ev.EventId))
	if err != nil {
		t.Fatal(err)
	}
	ev.Kind = &eventsv1.AccountEvent_EmailVerificationRequested{EmailVerificationRequested: &eventsv1.EmailVerificationRequested{
		Email: addr, Token: sealed, ExpiresAt: timestamppb.New(time.Now().Add(24 * time.Hour))}}
	value := s.produceAccountEvent(t, ev, ev.UserId)

	found, err := testenv.AwaitMails(addr, 1, time.Minute)
	if err != nil || len(found) != 1 {
		t.Fatalf("mails to %s = %d (%v), want 1; notifier log:\n%s", addr, len(found), err, s.logs("welcome-notifier"))
	}
	body, err := testenv.MailBody(found[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://\S+`).FindString(body)
	u, err := url.Parse(link)
	if err != nil || u.Host != s.ssoHTTP || u.Path != "/account/verify-email" || u.Query().Get("token") != token {
		t.Fatalf("link %q (%v), want http://%s/account/verify-email?token=%s", link, err, s.ssoHTTP, token)
	}

	produce(t, s.accountTopic, []byte(ev.UserId), value, nil)
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	group := "e2e-notifier-account-" + s.suffix
	var lag int64
	if !testenv.Eventually(time.Minute, 200*time.Millisecond, func() bool {
		lag, err = kafkatest.Lag(testenv.Context(t, 10*time.Second), admin, group, s.accountTopic)
		return err == nil && lag == 0
	}) {
		t.Fatalf("group %s never caught up: lag %d, %v", group, lag, err)
	}
	if n := mailCount(t, addr); n != 1 {
		t.Fatalf("%d mails after the redelivery, want 1", n)
	}
	if log := s.logs("welcome-notifier"); strings.Contains(log, token) || strings.Contains(log, addr) {
		t.Fatal("the notifier's log shows the token or the address")
	}
}

// newUUID returns a random (version 4) UUID in its 36-character form.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'             // version 4
	h[16] = "89ab"[h[16]%4] // RFC 4122 variant
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}
