package testenv_test

import (
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// TestKafkaProtobufThroughSchemaRegistry proves the event path the services
// rely on: a UserRegistered value serialized by confluent-kafka-go's protobuf
// serializer against the real Schema Registry is produced to the real
// broker, and a second, independent client consumes and deserializes it.
func TestKafkaProtobufThroughSchemaRegistry(t *testing.T) {
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	ctx := testenv.Context(t, 60*time.Second)
	topic := testenv.Name(t, "probe")
	subject := topic + "-value"

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("create topic: %v %v", err, res)
	}
	t.Cleanup(func() { _, _ = admin.DeleteTopics(t.Context(), []string{topic}) })

	// Producer side: its own registry client and serializer.
	prodRegistry := newRegistryClient(t)
	ser, err := protobuf.NewSerializer(prodRegistry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = prodRegistry.DeleteSubject(subject, false)
		_, _ = prodRegistry.DeleteSubject(subject, true)
	})
	sent := &eventsv1.UserRegistered{
		EventId:      "0b6f6f5e-7a43-4b87-9d36-5f3c0d9f1a01",
		UserId:       "5d1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42",
		Email:        "ada@example.test",
		FullName:     "Ada Lovelace",
		RegisteredAt: timestamppb.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
	}
	value, err := ser.Serialize(topic, sent)
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	if value[0] != 0 {
		t.Fatalf("payload does not start with the wire-format magic byte: % x", value[:5])
	}

	producer, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":  testenv.KafkaBrokers,
		"enable.idempotence": true,
		"acks":               "all",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	delivered := make(chan kafka.Event, 1)
	if err := producer.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(sent.UserId),
		Value:          value,
	}, delivered); err != nil {
		t.Fatalf("produce: %v", err)
	}
	select {
	case ev := <-delivered:
		if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	case <-ctx.Done():
		t.Fatal("no delivery report")
	}

	subjects, err := prodRegistry.GetAllSubjects()
	if err != nil {
		t.Fatalf("list subjects: %v", err)
	}
	if !slices.Contains(subjects, subject) {
		t.Fatalf("subject %q not in the registry (have %v)", subject, subjects)
	}

	// Consumer side: a second registry client that knows nothing of the
	// producer's cache, so the schema is fetched from the registry by id.
	deser, err := protobuf.NewDeserializer(newRegistryClient(t), serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	consumer := kafkatest.Reader(t, topic, topic)
	t.Cleanup(func() { consumer.Close() })
	var msg *kafka.Message
	for msg == nil {
		if ctx.Err() != nil {
			t.Fatal("message never consumed")
		}
		m, err := consumer.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("consume: %v", err)
		}
		msg = m
	}
	if string(msg.Key) != sent.UserId {
		t.Errorf("key = %q, want %q", msg.Key, sent.UserId)
	}
	got := &eventsv1.UserRegistered{}
	if err := deser.DeserializeInto(topic, msg.Value, got); err != nil {
		t.Fatalf("deserialize: %v", err)
	}
	if !proto.Equal(got, sent) {
		t.Fatalf("got %v, want %v", got, sent)
	}
}

func newRegistryClient(t *testing.T) schemaregistry.Client {
	t.Helper()
	c, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
