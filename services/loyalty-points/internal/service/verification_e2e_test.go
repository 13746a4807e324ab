package service_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
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
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/schemas"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
	"github.com/ssokit/platform/services/loyalty-points/internal/service"
)

// verifying is a loyalty-points process with LOYALTY_WELCOME_BONUS_ON=
// verification on a database, topics, groups and subjects of its own. It
// needs no sso: nothing here calls the API.
type verifying struct {
	cfg      config.Config
	baseURL  string
	db       *sqlx.DB
	prod     *kafka.Producer
	registry schemaregistry.Client
	ser      *protobuf.Serializer
}

func startVerifying(t *testing.T) *verifying {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN), testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	ctx := testenv.Context(t, 60*time.Second)
	v := &verifying{}

	dbName, drop, err := testenv.CreateDatabase(ctx, "loyalty_verify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop %s: %v", dbName, err)
		}
	})
	users, accounts := testenv.Name(t, "lv_users"), testenv.Name(t, "lv_accounts")
	usersGroup, accountsGroup := users+"_g", accounts+"_g"
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{
		{Topic: users, NumPartitions: 1, ReplicationFactor: 1}, {Topic: accounts, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			t.Fatalf("create topic %s: %v", r.Topic, r.Error)
		}
	}
	if v.registry, err = schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.DeleteConsumerGroups(ctx, []string{usersGroup, accountsGroup})
		_, _ = admin.DeleteTopics(ctx, []string{users, accounts,
			consumer.DefaultDeadLetterTopic(users, usersGroup), consumer.DefaultDeadLetterTopic(accounts, accountsGroup)})
		for _, topic := range []string{users, accounts} {
			if _, err := v.registry.DeleteSubject(topic+"-value", false); err == nil {
				_, _ = v.registry.DeleteSubject(topic+"-value", true)
			}
		}
		_ = v.registry.Close()
	})

	// sso's side: the deploy step registers the schemas, the producer
	// only looks them up.
	if _, err := schemas.Register(v.registry, schemas.Events(users, accounts)); err != nil {
		t.Fatal(err)
	}
	if v.ser, err = protobuf.NewSerializer(v.registry, serde.ValueSerde, schemas.SerializerConfig()); err != nil {
		t.Fatal(err)
	}
	if v.prod, err = kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers": testenv.KafkaBrokers, "enable.idempotence": true, "acks": "all",
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.prod.Close)

	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB.DSN = testenv.WithDatabase(testenv.PGPrimaryDSN, dbName)
	cfg.Kafka.Brokers, cfg.Kafka.SchemaRegistryURL = testenv.KafkaBrokers, testenv.SchemaRegistryURL
	cfg.Consumer.Topic, cfg.Consumer.GroupID, cfg.Consumer.DeadLetterTopic = users, usersGroup, ""
	cfg.Consumer.MaxAttempts, cfg.Consumer.InitialBackoff, cfg.Consumer.MaxBackoff = 3, 50*time.Millisecond, 200*time.Millisecond
	cfg.WelcomeBonusOn = config.BonusOnVerification
	cfg.AccountEvents = config.AccountEvents{Topic: accounts, GroupID: accountsGroup}
	cfg.WelcomeBonus = welcomeBonus
	cfg.ShutdownTimeout = 5 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	v.cfg = cfg

	runCtx, cancel := context.WithCancel(context.Background())
	proc, err := service.New(runCtx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loyalty-points stopped with: %v", err)
		}
	})
	v.baseURL = "http://" + proc.Addr("http")
	if v.db, err = sqlx.Open("postgres", cfg.DB.DSN); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.db.Close() })
	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(v.baseURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("loyalty-points never became ready")
	}
	return v
}

// send produces msg to topic keyed by userID, serialized as sso's relay
// does, and waits for its delivery.
func (v *verifying) send(t *testing.T, topic, userID string, msg proto.Message) {
	t.Helper()
	value, err := v.ser.Serialize(topic, msg)
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	delivered := make(chan kafka.Event, 1)
	if err := v.prod.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(userID),
		Value:          value,
	}, delivered); err != nil {
		t.Fatalf("produce: %v", err)
	}
	select {
	case e := <-delivered:
		if m := e.(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery report")
	}
}

// metric is the value of series on the process's /metrics; a series it
// does not export fails the test.
func (v *verifying) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(v.baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return 0
}

// awaitMetric waits until series reaches want.
func (v *verifying) awaitMetric(t *testing.T, series string, want float64) {
	t.Helper()
	if !testenv.Eventually(30*time.Second, 50*time.Millisecond, func() bool { return v.metric(t, series) >= want }) {
		t.Fatalf("%s = %v, want %v", series, v.metric(t, series), want)
	}
	if got := v.metric(t, series); got != want {
		t.Fatalf("%s = %v, want %v", series, got, want)
	}
}

func (v *verifying) balance(t *testing.T, userID string) (balance int64, transactions int) {
	t.Helper()
	if err := v.db.Get(&transactions, `SELECT count(*) FROM transactions WHERE user_id = $1`, userID); err != nil {
		t.Fatal(err)
	}
	if transactions > 0 {
		if err := v.db.Get(&balance, `SELECT balance FROM accounts WHERE user_id = $1`, userID); err != nil {
			t.Fatal(err)
		}
	}
	return balance, transactions
}

func emailVerified(userID, eventID string) *eventsv1.AccountEvent {
	return &eventsv1.AccountEvent{EventId: eventID, UserId: userID, OccurredAt: timestamppb.Now(),
		Kind: &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Email: "v@example.test"}}}
}

// newerAccountEvent is an AccountEvent of a kind this build does not know:
// the current envelope with one more oneof member, registered as the next
// version of the subject (BACKWARD_TRANSITIVE accepts it).
func (v *verifying) newerAccountEvent(t *testing.T, userID string) proto.Message {
	t.Helper()
	fdp := protodesc.ToFileDescriptorProto(eventsv1.File_events_v1_account_event_proto)
	for _, m := range fdp.MessageType {
		if m.GetName() == "AccountEvent" {
			m.Field = append(m.Field, &descriptorpb.FieldDescriptorProto{
				Name: proto.String("account_closed"), JsonName: proto.String("accountClosed"), Number: proto.Int32(99),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				OneofIndex: proto.Int32(0),
			})
		}
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schemas.Register(v.registry, []schemas.Subject{{Name: v.cfg.AccountEvents.Topic + "-value", File: fd}}); err != nil {
		t.Fatalf("register the newer envelope: %v", err)
	}
	md := fd.Messages().ByName("AccountEvent")
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("event_id"), protoreflect.ValueOfString(uuid.NewString()))
	m.Set(md.Fields().ByName("user_id"), protoreflect.ValueOfString(userID))
	m.Set(md.Fields().ByName("account_closed"), protoreflect.ValueOfString("by the user"))
	return m
}

// TestWelcomeBonusOnVerification runs loyalty-points with the bonus on
// verification against the real Kafka, registry and PostgreSQL: an
// EmailVerified credits once however often it comes, a UserRegistered
// alone credits nothing, and other or unknown kinds are skipped and
// counted, not dead-lettered.
func TestWelcomeBonusOnVerification(t *testing.T) {
	v := startVerifying(t)
	accounts, users := v.cfg.AccountEvents.Topic, v.cfg.Consumer.Topic
	verified, registeredOnly, other := uuid.NewString(), uuid.NewString(), uuid.NewString()

	v.send(t, users, registeredOnly, &eventsv1.UserRegistered{EventId: uuid.NewString(), UserId: registeredOnly,
		Email: "r@example.test", RegisteredAt: timestamppb.Now()})
	v.send(t, users, verified, &eventsv1.UserRegistered{EventId: uuid.NewString(), UserId: verified,
		Email: "v@example.test", RegisteredAt: timestamppb.Now()})
	v.awaitMetric(t, `loyalty_points_events_skipped_total{kind="user_registered"}`, 2)

	// The same event twice (a redelivery), then a second verification of
	// the user (an address changed and verified again).
	first := emailVerified(verified, uuid.NewString())
	v.send(t, accounts, verified, first)
	v.send(t, accounts, verified, first)
	v.send(t, accounts, verified, emailVerified(verified, uuid.NewString()))
	v.send(t, accounts, other, &eventsv1.AccountEvent{EventId: uuid.NewString(), UserId: other, OccurredAt: timestamppb.Now(),
		Kind: &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{Email: "o@example.test"}}})
	v.send(t, accounts, other, v.newerAccountEvent(t, other))

	v.awaitMetric(t, `loyalty_points_welcome_bonuses_total{outcome="credited"}`, 1)
	v.awaitMetric(t, `loyalty_points_welcome_bonuses_total{outcome="duplicate"}`, 2)
	v.awaitMetric(t, `loyalty_points_events_skipped_total{kind="password_changed"}`, 1)
	v.awaitMetric(t, `loyalty_points_events_skipped_total{kind="unknown"}`, 1)

	if balance, n := v.balance(t, verified); balance != welcomeBonus || n != 1 {
		t.Errorf("verified user: balance %d in %d transactions, want %d in 1", balance, n, welcomeBonus)
	}
	for _, id := range []string{registeredOnly, other} {
		if balance, n := v.balance(t, id); n != 0 {
			t.Errorf("user %s credited %d in %d transactions, want nothing", id, balance, n)
		}
	}
	for _, group := range []struct{ group, topic string }{{v.cfg.AccountEvents.GroupID, accounts}, {v.cfg.Consumer.GroupID, users}} {
		for _, reason := range []string{consumer.ReasonPoison, consumer.ReasonPermanent, consumer.ReasonExhausted} {
			series := `kafka_consumer_dead_lettered_total{group="` + group.group + `",reason="` + reason + `",topic="` + group.topic + `"}`
			if n := v.metric(t, series); n != 0 {
				t.Errorf("%s = %v, want 0", series, n)
			}
		}
	}
	if n := v.metric(t, `loyalty_points_welcome_bonuses_total{outcome="rejected"}`) + v.metric(t, `loyalty_points_welcome_bonuses_total{outcome="failed"}`); n != 0 {
		t.Errorf("%v events rejected or failed", n)
	}
}

// TestAccountEventsDeadLettersAreTheirOwn: an EmailVerified that can never
// be credited goes to the AccountEvents consumer's own dead-letter topic,
// which `account-events dlq replay` reads.
func TestAccountEventsDeadLettersAreTheirOwn(t *testing.T) {
	v := startVerifying(t)
	accounts := v.cfg.AccountEvents.Topic
	t.Cleanup(func() {
		admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = admin.DeleteConsumerGroups(ctx, []string{consumer.ReplayGroup(v.cfg.AccountEvents.GroupID)})
	})

	v.send(t, accounts, "not-a-uuid", emailVerified("not-a-uuid", uuid.NewString()))
	v.awaitMetric(t, `kafka_consumer_dead_lettered_total{group="`+v.cfg.AccountEvents.GroupID+`",reason="permanent",topic="`+accounts+`"}`, 1)
	v.awaitMetric(t, `loyalty_points_welcome_bonuses_total{outcome="rejected"}`, 1)

	rc := service.AccountEventsReplayConfig(v.cfg)
	rc.DryRun = true
	res, err := consumer.Replay(testenv.Context(t, 60*time.Second), rc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if res.Moved != 1 {
		t.Errorf("replay --dry-run would move %d dead letters, want the 1 of %s", res.Moved, consumer.DefaultDeadLetterTopic(accounts, v.cfg.AccountEvents.GroupID))
	}
}
