package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
	"github.com/ssokit/platform/services/welcome-notifier/internal/service"
)

// TestNotifierEndToEnd runs the whole notifier, built by service.New as
// cmd/welcome-notifier builds it, against the real Kafka, Schema Registry,
// PostgreSQL and Mailpit, on a topic, group and database of its own, and
// drives it as the sso outbox relay does: UserRegistered values serialized
// through the registry.
func TestNotifierEndToEnd(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL),
		testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL), testenv.HostPort(testenv.PGPrimaryDSN))
	cfg := testConfig(t)
	topic, dlq := cfg.Kafka.Topic, cfg.Kafka.DeadLetterTopic
	baseURL, stop := start(t, cfg)

	ready := readiness(t, baseURL)
	if ready.Status != "ok" {
		t.Fatalf("readiness = %+v, want ok", ready)
	}
	for _, check := range []string{"kafka", "postgres", "smtp"} {
		if ready.Checks[check] != "ok" {
			t.Fatalf("readiness %s = %q, want ok (%+v)", check, ready.Checks[check], ready)
		}
	}

	p := newProducer(t, topic)
	ada := &eventsv1.UserRegistered{
		EventId:      uuid.NewString(),
		UserId:       uuid.NewString(),
		Email:        testenv.Mailbox(t, "ada"),
		FullName:     "Ada Lovelace",
		RegisteredAt: timestamppb.Now(),
	}
	p.send(t, ada.UserId, p.serialize(t, ada))
	found, err := testenv.AwaitMails(ada.Email, 1, time.Minute) // the first poll waits for the group to form
	if err != nil || len(found) != 1 {
		t.Fatalf("mails to %s = %d (%v), want 1", ada.Email, len(found), err)
	}
	if found[0].Subject != cfg.Mail.Subject || found[0].From.Address != "welcome@ssokit.local" {
		t.Errorf("mail = %q from %+v, want the configured subject and sender", found[0].Subject, found[0].From)
	}
	if want := mail.Welcome.MessageID(ada.UserId, "ssokit.local"); found[0].MessageID != want {
		t.Errorf("Message-ID = %q, want %q", found[0].MessageID, want)
	}
	if text, err := testenv.MailBody(found[0].ID); err != nil || !strings.HasPrefix(text, "Hello,") || strings.Contains(text, "Lovelace") {
		t.Errorf("body = %q (%v), want a greeting without the registrant's name", text, err)
	}
	if to := found[0].To; len(to) != 1 || to[0].Name != "" {
		t.Errorf("To = %+v, want the bare address", to)
	}

	// The same event again, a value that is not a registry-framed
	// protobuf, then a valid event for another user. The partition is
	// processed in order, so once grace's mail is there, the two before it
	// have been dealt with.
	p.send(t, ada.UserId, p.serialize(t, ada))
	poison := []byte("definitely not a UserRegistered")
	p.send(t, "poison", poison)
	grace := &eventsv1.UserRegistered{
		EventId:      uuid.NewString(),
		UserId:       uuid.NewString(),
		Email:        testenv.Mailbox(t, "grace"),
		FullName:     "",
		RegisteredAt: timestamppb.Now(),
	}
	p.send(t, grace.UserId, p.serialize(t, grace))
	if found, err := testenv.AwaitMails(grace.Email, 1, time.Minute); err != nil || len(found) != 1 {
		t.Fatalf("mails to %s = %d (%v), want 1: a poison message must not block the partition", grace.Email, len(found), err)
	}
	if found, err := testenv.MailsTo(ada.Email); err != nil || len(found) != 1 {
		t.Fatalf("mails to %s after the redelivery = %d (%v), want still 1", ada.Email, len(found), err)
	}

	dead := readOne(t, dlq)
	if string(dead.Value) != string(poison) {
		t.Errorf("dead-lettered value = %q, want the poison bytes", dead.Value)
	}
	if h := header(dead, consumer.HeaderError); h == "" {
		t.Errorf("dead-lettered message has no %s header: %v", consumer.HeaderError, dead.Headers)
	}
	if h := header(dead, consumer.HeaderReason); h != consumer.ReasonPoison {
		t.Errorf("%s = %q, want %q", consumer.HeaderReason, h, consumer.ReasonPoison)
	}
	if h := header(dead, consumer.HeaderOriginalTopic); h != topic {
		t.Errorf("%s = %q, want %q", consumer.HeaderOriginalTopic, h, topic)
	}

	metrics := scrape(t, baseURL)
	for _, want := range []string{
		`welcome_notifier_mails_total{outcome="sent"} 2`,
		`welcome_notifier_mails_total{outcome="duplicate"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestNotifierWaitsForSMTPAndSendsWhenItIsBack shows that an SMTP outage
// loses no mail and dead-letters nothing: with the mail server unreachable
// (connections refused) for many times the attempts the old retry budget
// allowed, a valid event is retried with the consumer paused, while an
// event no retry can fix is dead-lettered at once; once the real Mailpit
// is reachable again, the mail goes out, and the dead-letter topic holds
// only the invalid event.
func TestNotifierWaitsForSMTPAndSendsWhenItIsBack(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL), testenv.HostPort(testenv.PGPrimaryDSN),
		testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL))
	smtp := testenv.NewOutage(t, testenv.SMTPAddr) // the shared Mailpit stays up
	smtp.Down()
	cfg := testConfig(t)
	cfg.SMTP.Addr = smtp.Addr
	cfg.SMTP.Timeout = 2 * time.Second
	cfg.Kafka.MaxAttempts = 2
	baseURL, _ := start(t, cfg)

	if r := readiness(t, baseURL); r.Status != "unavailable" || r.Checks["smtp"] == "ok" || r.Checks["postgres"] != "ok" {
		t.Fatalf("readiness with SMTP down = %+v, want unavailable because of smtp only", r)
	}

	p := newProducer(t, cfg.Kafka.Topic)
	invalid := &eventsv1.UserRegistered{EventId: uuid.NewString(), UserId: uuid.NewString(), Email: "not an address"}
	ev := &eventsv1.UserRegistered{
		EventId:      uuid.NewString(),
		UserId:       uuid.NewString(),
		Email:        testenv.Mailbox(t, "patient"),
		FullName:     "Patient Reader",
		RegisteredAt: timestamppb.Now(),
	}
	for _, e := range []*eventsv1.UserRegistered{invalid, ev} {
		p.send(t, e.UserId, p.serialize(t, e))
	}

	dead := readOne(t, cfg.Kafka.DeadLetterTopic)
	if string(dead.Key) != invalid.UserId || header(dead, consumer.HeaderReason) != consumer.ReasonPermanent ||
		header(dead, consumer.HeaderAttempts) != "1" || !strings.Contains(header(dead, consumer.HeaderError), "invalid event") {
		t.Errorf("dead letter: key %q headers %v; want the invalid event, permanent, after 1 attempt", dead.Key, dead.Headers)
	}

	db, err := sqlx.Open("postgres", cfg.DB.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ledger := postgres.NewLedger(db)
	// Five failed sends, more than twice MaxAttempts: the old consumer had
	// dead-lettered the event after two.
	const outageAttempts = 5
	var rec postgres.Record
	if !testenv.Eventually(time.Minute, 100*time.Millisecond, func() bool {
		rec, err = ledger.Get(testenv.Context(t, 10*time.Second), ev.UserId)
		return err == nil && rec.Attempts >= outageAttempts
	}) {
		t.Fatalf("ledger = %+v, %v; want at least %d failed attempts while SMTP is down", rec, err, outageAttempts)
	}
	if rec.Status != "sending" || rec.LastError == nil || !strings.Contains(*rec.LastError, "smtp connect") {
		t.Errorf("ledger during the outage = %+v, want failed sends with the SMTP error", rec)
	}
	metrics := scrape(t, baseURL)
	for _, want := range []string{
		`kafka_consumer_paused{group="` + cfg.Kafka.GroupID + `",topic="` + cfg.Kafka.Topic + `"} 1`,
		`kafka_consumer_dead_lettered_total{group="` + cfg.Kafka.GroupID + `",reason="exhausted",topic="` + cfg.Kafka.Topic + `"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics during the outage lack %s", want)
		}
	}

	smtp.Up(t)
	if found, err := testenv.AwaitMails(ev.Email, 1, time.Minute); err != nil || len(found) != 1 {
		t.Fatalf("mails to %s after SMTP came back = %d (%v), want 1", ev.Email, len(found), err)
	}
	if !testenv.Eventually(30*time.Second, 100*time.Millisecond, func() bool {
		rec, err = ledger.Get(testenv.Context(t, 10*time.Second), ev.UserId)
		return err == nil && rec.Status == "sent"
	}) {
		t.Fatalf("ledger after SMTP came back = %+v, %v; want sent", rec, err)
	}
	if _, err := ledger.Get(testenv.Context(t, 10*time.Second), invalid.UserId); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("ledger for the invalid event = %v, want no row", err)
	}
	if n := topicSize(t, cfg.Kafka.DeadLetterTopic); n != 1 {
		t.Errorf("dead-letter topic holds %d messages, want only the invalid event", n)
	}
	if !testenv.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		return strings.Contains(scrape(t, baseURL), `kafka_consumer_paused{group="`+cfg.Kafka.GroupID+`",topic="`+cfg.Kafka.Topic+`"} 0`)
	}) {
		t.Error("kafka_consumer_paused still 1 after the mail went out")
	}
}

// topicSize returns how many messages topic holds: the sum of its
// partitions' high watermarks (nothing is deleted from a test's topic).
func topicSize(t *testing.T, topic string) int64 {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := testenv.Context(t, 10*time.Second)
	md, err := admin.GetMetadata(&topic, false, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	specs := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, p := range md.Topics[topic].Partitions {
		specs[kafka.TopicPartition{Topic: &topic, Partition: p.ID}] = kafka.LatestOffsetSpec
	}
	res, err := admin.ListOffsets(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range res.ResultInfos {
		n += int64(r.Offset)
	}
	return n
}

// TestDeadLetterReplayCommandSendsTheMail runs `welcome-notifier dlq replay`
// as the binary does (bootstrap.Program with the service's configuration)
// against a dead letter a notifier left behind when its mail server
// failed: the command moves it back, the running notifier sends the mail,
// and a second replay finds nothing left.
func TestDeadLetterReplayCommandSendsTheMail(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL), testenv.HostPort(testenv.PGPrimaryDSN),
		testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL))
	cfg := testConfig(t)
	deleteGroupsAtEnd(t, consumer.ReplayGroup(cfg.Kafka.GroupID))
	start(t, cfg)

	src := newProducer(t, cfg.Kafka.Topic)
	ev := &eventsv1.UserRegistered{
		EventId:      uuid.NewString(),
		UserId:       uuid.NewString(),
		Email:        testenv.Mailbox(t, "replayed"),
		FullName:     "Re Played",
		RegisteredAt: timestamppb.Now(),
	}
	dlq := cfg.Kafka.DeadLetterTopic
	delivered := make(chan kafka.Event, 1)
	if err := src.p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &dlq, Partition: 0},
		Key:            []byte(ev.UserId),
		Value:          src.serialize(t, ev),
		Headers: []kafka.Header{
			{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
			{Key: consumer.HeaderReason, Value: []byte(consumer.ReasonExhausted)},
			{Key: consumer.HeaderError, Value: []byte("smtp data: 554 5.3.0 relay misconfigured")},
			{Key: consumer.HeaderOriginalTopic, Value: []byte(cfg.Kafka.Topic)},
			{Key: consumer.HeaderOriginalPartition, Value: []byte("0")},
			{Key: consumer.HeaderOriginalOffset, Value: []byte("41")},
			{Key: consumer.HeaderAttempts, Value: []byte("8")},
		},
	}, delivered); err != nil {
		t.Fatal(err)
	}
	if m := (<-delivered).(*kafka.Message); m.TopicPartition.Error != nil {
		t.Fatal(m.TopicPartition.Error)
	}

	program := bootstrap.Program[config.Config]{
		Name:     service.Name,
		Load:     func() (config.Config, error) { return cfg, nil },
		Start:    service.New,
		Commands: service.Commands(),
	}
	replay := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := program.Run(testenv.Context(t, time.Minute), append([]string{"dlq", "replay"}, args...), &out); err != nil {
			t.Fatalf("dlq replay %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if out := replay("--dry-run"); !strings.Contains(out, `"moved":1`) || !strings.Contains(out, "relay misconfigured") {
		t.Errorf("dry run logged %s, want the dead letter listed with its error and 1 to move", out)
	}
	if out := replay("--limit", "10"); !strings.Contains(out, `"msg":"dead letters replayed"`) || !strings.Contains(out, `"moved":1`) {
		t.Errorf("replay logged %s, want 1 moved", out)
	}
	if found, err := testenv.AwaitMails(ev.Email, 1, time.Minute); err != nil || len(found) != 1 {
		t.Fatalf("mails to %s after the replay = %d (%v), want 1", ev.Email, len(found), err)
	}
	if out := replay(); !strings.Contains(out, "no dead letters to replay") {
		t.Errorf("second replay logged %s, want nothing to replay", out)
	}
}

// testConfig returns the notifier configuration for one test: a topic,
// dead-letter topic, group and database of its own (all removed when the
// test ends), the stack's addresses and quick retries.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	topic := testenv.Name(t, "registered")
	dlq := topic + ".dlq"
	account := testenv.Name(t, "account")
	accountDLQ := account + ".dlq"
	createTopics(t, topic, dlq, account, accountDLQ)
	deleteGroupsAtEnd(t, topic+"_group", dlq+"_reader", account+"_group", accountDLQ+"_reader")

	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.Kafka.Brokers = testenv.KafkaBrokers
	cfg.Kafka.SchemaRegistryURL = testenv.SchemaRegistryURL
	cfg.Kafka.Topic = topic
	cfg.Kafka.GroupID = topic + "_group"
	cfg.Kafka.DeadLetterTopic = dlq
	cfg.Account.Topic = account
	cfg.Account.GroupID = account + "_group"
	cfg.Account.DeadLetterTopic = accountDLQ
	cfg.Account.SealingKeysFile = testRing(t).path
	cfg.Kafka.MaxAttempts = 3
	cfg.Kafka.InitialBackoff, cfg.Kafka.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	cfg.SMTP.Addr = testenv.SMTPAddr
	cfg.DB.DSN = testenv.WithDatabase(testenv.PGPrimaryDSN, testenv.Database(t, "notifier_test"))
	return cfg
}

// start runs the notifier until the returned stop is called (or the test
// ends) and waits until it is live and its consumer has reached Kafka.
func start(t *testing.T, cfg config.Config) (baseURL string, stop func() error) {
	t.Helper()
	return startLogging(t, cfg, io.Discard)
}

// startLogging is start with the notifier's log written to w as well
// (w must be safe for concurrent writes).
func startLogging(t *testing.T, cfg config.Config, w io.Writer) (baseURL string, stop func() error) {
	t.Helper()
	if os.Getenv("NOTIFIER_E2E_LOG") != "" {
		w = io.MultiWriter(w, os.Stderr)
	}
	log := slog.New(slog.NewJSONHandler(w, nil))
	runCtx, cancel := context.WithCancel(context.Background())
	proc, err := service.New(runCtx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("service.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	stopped := false
	var runErr error
	stop = func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			runErr = errors.New("notifier did not stop within the shutdown timeout")
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })

	baseURL = "http://" + proc.Addr("http")
	if !testenv.Eventually(30*time.Second, 100*time.Millisecond, func() bool {
		r := readiness(t, baseURL)
		return r.Checks["kafka"] == "ok" && r.Checks["kafka_account"] == "ok"
	}) {
		t.Fatalf("notifier never reached Kafka: %+v", readiness(t, baseURL))
	}
	return baseURL, stop
}

type readyReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func readiness(t *testing.T, baseURL string) readyReport {
	t.Helper()
	resp, err := http.Get(baseURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readyReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func scrape(t *testing.T, baseURL string) string {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createTopics creates single-partition topics and deletes them when t
// ends.
func createTopics(t *testing.T, topics ...string) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	specs := make([]kafka.TopicSpecification, len(topics))
	for i, name := range topics {
		specs[i] = kafka.TopicSpecification{Topic: name, NumPartitions: 1, ReplicationFactor: 1}
	}
	res, err := admin.CreateTopics(testenv.Context(t, 30*time.Second), specs)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			t.Fatalf("create topic %s: %v", r.Topic, r.Error)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.DeleteTopics(ctx, topics); err != nil {
			t.Errorf("delete topics: %v", err)
		}
	})
}

// deleteGroupsAtEnd deletes the consumer groups when t ends, after the
// notifier (stopped by a cleanup registered later, so run earlier) has left
// its group.
func deleteGroupsAtEnd(t *testing.T, groups ...string) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := admin.DeleteConsumerGroups(ctx, groups)
		if err != nil {
			t.Errorf("delete consumer groups: %v", err)
			return
		}
		for _, r := range res.ConsumerGroupResults {
			if code := r.Error.Code(); code != kafka.ErrNoError && code != kafka.ErrGroupIDNotFound {
				t.Errorf("delete consumer group %s: %v", r.Group, r.Error)
			}
		}
	})
}

// producer writes to one topic the way the sso outbox relay does: values
// serialized through the Schema Registry, keyed by user id.
type producer struct {
	topic string
	p     *kafka.Producer
	ser   *protobuf.Serializer
}

func newProducer(t *testing.T, topic string) *producer {
	t.Helper()
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Only the subject this test created; the schemas it references
		// (google/protobuf/timestamp.proto) are shared.
		subject := topic + "-value"
		_, _ = registry.DeleteSubject(subject, false)
		_, _ = registry.DeleteSubject(subject, true)
		registry.Close()
	})
	ser, err := protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":  testenv.KafkaBrokers,
		"enable.idempotence": true,
		"acks":               "all",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &producer{topic: topic, p: p, ser: ser}
}

func (p *producer) serialize(t *testing.T, ev proto.Message) []byte {
	t.Helper()
	v, err := p.ser.Serialize(p.topic, ev)
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return v
}

// send produces one message and waits for the broker to acknowledge it.
func (p *producer) send(t *testing.T, key string, value []byte) {
	t.Helper()
	delivered := make(chan kafka.Event, 1)
	if err := p.p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &p.topic, Partition: kafka.PartitionAny},
		Key:            []byte(key),
		Value:          value,
	}, delivered); err != nil {
		t.Fatalf("produce: %v", err)
	}
	select {
	case ev := <-delivered:
		if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery report")
	}
}

// readOne returns the first message of topic, read by a group of its own.
func readOne(t *testing.T, topic string) *kafka.Message {
	t.Helper()
	return readN(t, topic, 1)[0]
}

// readN returns the first n messages of topic, read by a group of its own.
func readN(t *testing.T, topic string, n int) []*kafka.Message {
	t.Helper()
	c := kafkatest.Reader(t, topic+"_reader", topic)
	defer c.Close()
	var msgs []*kafka.Message
	deadline := time.Now().Add(time.Minute)
	for len(msgs) < n && time.Now().Before(deadline) {
		m, err := c.ReadMessage(time.Second)
		if err == nil {
			msgs = append(msgs, m)
			continue
		}
		var kerr kafka.Error
		if !errors.As(err, &kerr) || !kerr.IsTimeout() {
			t.Fatalf("read %s: %v", topic, err)
		}
	}
	if len(msgs) < n {
		t.Fatalf("%d messages in %s, want %d", len(msgs), topic, n)
	}
	return msgs
}

func header(m *kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
