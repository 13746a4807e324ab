package e2e_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
)

// Crypto-shredding seen from outside: the personal data in the events
// opens only with the user's data key, which sso hands out sealed under
// the ring (as the notifier gets it) until the account is deleted.

// dataKey asks the system's sso for the user's data key, over gRPC as the
// notifier does, and opens it with the run's ring. The error is sso's.
func (s *system) dataKey(t *testing.T, userID string, version uint32) ([]byte, error) {
	t.Helper()
	conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := ssov1.NewUserDataKeyServiceClient(conn).GetUserDataKey(ctx, &ssov1.GetUserDataKeyRequest{UserId: userID, KeyVersion: version})
	if err != nil {
		return nil, err
	}
	key, err := s.ring.UnwrapDataKey(userID, resp.GetKeyVersion(), resp.GetSealedKey())
	if err != nil {
		t.Fatalf("the data key of %s does not open with the ring: %v", userID, err)
	}
	return key, nil
}

// personal opens the personal data sealed in the user's event eventID.
func (s *system) personal(t *testing.T, userID, eventID string, sealed *eventsv1.SealedPersonal) *eventsv1.PersonalData {
	t.Helper()
	if sealed == nil {
		t.Fatalf("event %s carries no sealed personal data", eventID)
	}
	key, err := s.dataKey(t, userID, sealed.GetKeyVersion())
	if err != nil {
		t.Fatalf("data key of %s: %v", userID, err)
	}
	p, err := sealbox.OpenPersonal(key, userID, eventID, sealed)
	if err != nil {
		t.Fatalf("open the personal data of event %s: %v", eventID, err)
	}
	return p
}

// topicMessage is a message of one of the run's topics, with the sealed
// personal data of the event it carries, if any.
type topicMessage struct {
	topic    string
	msg      *kafka.Message
	userID   string
	eventID  string
	personal *eventsv1.SealedPersonal
}

// allMessages reads every message of every topic of the run, from the
// start: the registration and account topics and every dead-letter topic
// the consumers made for them. A dead letter is decoded as a message of
// the topic it came from.
func (s *system) allMessages(t *testing.T) []topicMessage {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	md, err := admin.GetMetadata(nil, true, 10_000)
	admin.Close()
	if err != nil {
		t.Fatal(err)
	}
	var topics []string
	for name := range md.Topics {
		// The audit topic too: its events must name nobody but by id.
		for _, base := range []string{s.topic, s.accountTopic, s.auditTopic} {
			if name == base || strings.HasPrefix(name, base+".") {
				topics = append(topics, name)
			}
		}
	}
	if len(topics) < 2 {
		t.Fatalf("topics of the run: %v, want at least the two event topics", topics)
	}
	t.Logf("scanning topics %v", topics)
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	defer registry.Close()
	deser, err := protobuf.NewDeserializer(registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out []topicMessage
	for _, topic := range topics {
		for _, m := range readAll(t, topic, 1500*time.Millisecond) {
			tm := topicMessage{topic: topic, msg: m}
			origin := topic
			if o := header(m, "dlq.original.topic"); o != "" {
				origin = o
			}
			var ev proto.Message = new(eventsv1.AccountEvent)
			switch origin {
			case s.topic:
				ev = new(eventsv1.UserRegistered)
			case s.auditTopic:
				ev = new(eventsv1.AuditEvent)
			}
			// A message that does not decode (a test's poison pill) is
			// still scanned as bytes.
			if err := deser.DeserializeInto(origin, m.Value, ev); err == nil {
				switch e := ev.(type) {
				case *eventsv1.UserRegistered:
					tm.userID, tm.eventID, tm.personal = e.GetUserId(), e.GetEventId(), e.GetPersonal()
				case *eventsv1.AccountEvent:
					tm.userID, tm.eventID, tm.personal = e.GetUserId(), e.GetEventId(), accountPersonal(e)
				}
			}
			out = append(out, tm)
		}
	}
	return out
}

func accountPersonal(e *eventsv1.AccountEvent) *eventsv1.SealedPersonal {
	switch {
	case e.GetEmailVerificationRequested() != nil:
		return e.GetEmailVerificationRequested().GetPersonal()
	case e.GetEmailVerified() != nil:
		return e.GetEmailVerified().GetPersonal()
	case e.GetPasswordResetRequested() != nil:
		return e.GetPasswordResetRequested().GetPersonal()
	case e.GetPasswordChanged() != nil:
		return e.GetPasswordChanged().GetPersonal()
	}
	return nil
}

// containsAny reports which of needles m carries anywhere: key, value or
// a header.
func containsAny(m *kafka.Message, needles ...string) []string {
	var found []string
	for _, n := range needles {
		in := bytes.Contains(m.Key, []byte(n)) || bytes.Contains(m.Value, []byte(n))
		for _, h := range m.Headers {
			in = in || bytes.Contains(h.Value, []byte(n))
		}
		if in {
			found = append(found, n)
		}
	}
	return found
}
