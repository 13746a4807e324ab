package outbox_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
)

// TestDeletionWhileKafkaIsDownIsDeliveredWhenItReturns deletes an account
// while no broker can be reached, as TestKafkaDownThenUp registers: the
// deletion succeeds at once, its UserDeleted event waits in the outbox,
// failed and retried, and reaches the topic exactly once when a relay can
// reach Kafka again. The user's undelivered UserRegistered is dropped with
// its personal data and never published.
func TestDeletionWhileKafkaIsDownIsDeliveredWhenItReturns(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	cfg := outbox.Config{
		StaleAfter:     3 * time.Second,
		SweepInterval:  50 * time.Millisecond,
		InitialBackoff: 200 * time.Millisecond,
		MaxBackoff:     400 * time.Millisecond,
		MessageTimeout: time.Second,
		FlushTimeout:   3 * time.Second,
	}
	down := outbox.NewRelay(db, newProducer(t, "127.0.0.1:1", cfg.MessageTimeout), k.ser, cfg, quietLog())
	// Registrations and account events on one topic would need two schemas
	// under one subject; the registration is never delivered anyway.
	regTopic := k.topic + "-registered"
	t.Cleanup(func() {
		if _, err := k.registry.DeleteSubject(regTopic+"-value", false); err == nil {
			_, _ = k.registry.DeleteSubject(regTopic+"-value", true)
		}
	})
	users := postgres.NewUsers(db, nil, outbox.UserRegistered(regTopic), postgres.OnCommitted(down.Enqueue),
		postgres.WithAccountEvents(outbox.AccountEvents(k.topic, nil)), withKeys)
	stopDown := start(t, down)

	u, _ := register(t, users)
	began := time.Now()
	if err := users.Delete(t.Context(), u.ID, audit.Self(u.ID)); err != nil {
		t.Fatalf("delete while Kafka is down: %v", err)
	}
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("deletion took %v while Kafka is down", d)
	}
	var ids []string
	if err := db.Select(&ids, "SELECT id FROM outbox WHERE aggregate_id = $1", u.ID); err != nil || len(ids) != 1 {
		t.Fatalf("outbox rows of the deleted user %v, %v: want its UserDeleted alone", ids, err)
	}
	deleted := ids[0]
	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		r := rowByID(t, db, deleted)
		return r.Status == "failed" && r.Attempts >= 2
	}) {
		t.Fatalf("UserDeleted never failed twice: %+v", rowByID(t, db, deleted))
	}
	if err := stopDown(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	up := outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, 10*time.Second), k.ser,
		outbox.Config{StaleAfter: time.Minute, SweepInterval: 50 * time.Millisecond}, quietLog())
	start(t, up)
	awaitStatus(t, db, 15*time.Second, "successful", deleted)

	deser, err := protobuf.NewDeserializer(k.registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	msgs := consume(t, k.topic, 1, time.Second)
	if len(msgs) != 1 || header(msgs[0], outbox.HeaderEventID) != deleted || string(msgs[0].Key) != u.ID {
		t.Fatalf("%d messages on the topic, want the one UserDeleted keyed by the user", len(msgs))
	}
	if bytes.Contains(msgs[0].Value, []byte(u.Email)) || bytes.Contains(msgs[0].Value, []byte(u.FullName)) {
		t.Fatal("the UserDeleted message carries personal data")
	}
	ev := new(eventsv1.AccountEvent)
	if err := deser.DeserializeInto(k.topic, msgs[0].Value, ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetUserDeleted() == nil || ev.GetUserId() != u.ID || ev.GetEventId() != deleted {
		t.Fatalf("event = %+v, want UserDeleted of %s", ev, u.ID)
	}
}
