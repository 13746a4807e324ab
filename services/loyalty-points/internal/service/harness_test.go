package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	loyaltyv1 "github.com/ssokit/platform/libs/gen/loyalty/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
	"github.com/ssokit/platform/services/loyalty-points/internal/service"
)

// The end-to-end tests run the real loyalty-points process, built by
// service.New as cmd/loyalty-points builds it, in a database of its own and
// on a topic and consumer group of its own, against the real PostgreSQL,
// Kafka and Schema Registry, and the real sso that deploy/local runs (its
// gRPC API authenticates every call). They drive it as clients do: users
// register with sso, UserRegistered events arrive through Kafka, and the
// API is called over REST and gRPC.
//
// Users created in sso for the tests are deleted from sso's database when
// their test ends; nothing else of sso's state is touched.

// welcomeBonus is the bonus of the test process: not the default, so the
// setting is seen to apply.
const welcomeBonus = 150

// ssoDatabase is the database of the running sso, where the tests promote
// their administrator.
const ssoDatabase = "sso"

type harness struct {
	cfg     config.Config
	baseURL string
	loyalty loyaltyv1.LoyaltyServiceClient
	auth    ssov1.AuthServiceClient
	db      *sqlx.DB // the test process's database
	ssoDB   *sqlx.DB
	kafka   *kafka.AdminClient
	prod    *kafka.Producer
	ser     *protobuf.Serializer
}

var (
	setupOnce sync.Once
	shared    *harness
	setupErr  error
	teardown  []func()
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for i := len(teardown) - 1; i >= 0; i-- {
		teardown[i]()
	}
	os.Exit(code)
}

// loyalty returns the running test process, starting it on first use.
// Under -short the calling test is skipped; without the stack or sso it
// fails.
func loyalty(t *testing.T) *harness {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN), testenv.HostPort(testenv.PGReplicaDSN), testenv.KafkaBrokers,
		testenv.HostPort(testenv.SchemaRegistryURL))
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", cfg.SSO.Addr, 2*time.Second); err != nil {
		t.Fatalf("sso does not answer on %s (%v): start it with `deploy/local/services up sso`", cfg.SSO.Addr, err)
	} else {
		c.Close()
	}
	setupOnce.Do(func() { shared, setupErr = start(cfg) })
	if setupErr != nil {
		t.Fatalf("start loyalty-points: %v", setupErr)
	}
	return shared
}

func start(cfg config.Config) (*harness, error) {
	ctx := context.Background()
	h := &harness{}

	// The process's own database.
	dbName, dropDB, err := testenv.CreateDatabase(ctx, "loyalty_e2e")
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() {
		if err := dropDB(); err != nil {
			fmt.Fprintln(os.Stderr, "drop test database:", err)
		}
	})
	suffix := strings.TrimPrefix(dbName, "loyalty_e2e_")

	// Its own topic and consumer group; the dead-letter topic is created
	// by the consumer on first use.
	topic, group := "loyalty_e2e_"+suffix, "loyalty_e2e_"+suffix
	accTopic, accGroup := "loyalty_e2e_acc_"+suffix, "loyalty_e2e_acc_"+suffix
	if h.kafka, err = kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers}); err != nil {
		return nil, err
	}
	teardown = append(teardown, h.kafka.Close)
	for _, tp := range []string{topic, accTopic} {
		if err := h.createTopic(ctx, tp); err != nil {
			return nil, err
		}
	}
	teardown = append(teardown, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.kafka.DeleteConsumerGroups(ctx, []string{group, accGroup})
		_, _ = h.kafka.DeleteTopics(ctx, []string{topic, consumer.DefaultDeadLetterTopic(topic, group),
			accTopic, consumer.DefaultDeadLetterTopic(accTopic, accGroup)})
	})

	// The producer side: sso's role in production.
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() {
		for _, tp := range []string{topic, accTopic} {
			_, _ = registry.DeleteSubject(tp+"-value", false)
			_, _ = registry.DeleteSubject(tp+"-value", true)
		}
		_ = registry.Close()
	})
	if h.ser, err = protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig()); err != nil {
		return nil, err
	}
	if h.prod, err = kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers": testenv.KafkaBrokers, "enable.idempotence": true, "acks": "all",
	}); err != nil {
		return nil, err
	}
	teardown = append(teardown, h.prod.Close)

	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB.DSN = testenv.WithDatabase(testenv.PGPrimaryDSN, dbName)
	cfg.Kafka.Brokers, cfg.Kafka.SchemaRegistryURL = testenv.KafkaBrokers, testenv.SchemaRegistryURL
	cfg.Consumer.Topic, cfg.Consumer.GroupID, cfg.Consumer.DeadLetterTopic = topic, group, ""
	cfg.AccountEvents.Topic, cfg.AccountEvents.GroupID, cfg.AccountEvents.DeadLetterTopic = accTopic, accGroup, ""
	cfg.Consumer.MaxAttempts, cfg.Consumer.InitialBackoff, cfg.Consumer.MaxBackoff = 3, 50*time.Millisecond, 200*time.Millisecond
	cfg.WelcomeBonus = welcomeBonus
	cfg.ShutdownTimeout = 5 * time.Second
	h.cfg = cfg

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if os.Getenv("LOYALTY_E2E_LOG") != "" {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	runCtx, cancel := context.WithCancel(ctx)
	proc, err := service.New(runCtx, cfg, log)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	teardown = append(teardown, func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "loyalty-points stopped with:", err)
		}
	})
	h.baseURL = "http://" + proc.Addr("http")

	conn, err := grpc.NewClient(proc.Addr("grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { conn.Close() })
	h.loyalty = loyaltyv1.NewLoyaltyServiceClient(conn)
	ssoConn, err := grpc.NewClient(cfg.SSO.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { ssoConn.Close() })
	h.auth = ssov1.NewAuthServiceClient(ssoConn)

	if h.db, err = sqlx.Open("postgres", cfg.DB.DSN); err != nil {
		return nil, err
	}
	if h.ssoDB, err = sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, ssoDatabase)); err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { h.db.Close(); h.ssoDB.Close() })

	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(h.baseURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		return nil, fmt.Errorf("loyalty-points never became ready")
	}
	return h, nil
}

func (h *harness) createTopic(ctx context.Context, topic string) error {
	res, err := h.kafka.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	if res[0].Error.Code() != kafka.ErrNoError {
		return fmt.Errorf("create topic: %v", res[0].Error)
	}
	return nil
}

// user is an sso account created for a test.
type user struct {
	ID, Email, Token, Refresh string
}

const password = "correct horse battery staple"

// newUser registers a user with the real sso and, when admin is set,
// promotes it in sso's database and logs it in again, so that its token
// carries the admin claim. The user is deleted from sso when the test ends.
func (h *harness) newUser(t *testing.T, admin bool) user {
	t.Helper()
	ctx := testenv.Context(t, 30*time.Second)
	email := strings.ReplaceAll(testenv.Name(t, "loyalty"), "_", "-") + "@example.test"
	reg, err := h.auth.Register(ctx, &ssov1.RegisterRequest{Email: email, Password: password, FullName: "Loyalty Test"})
	if err != nil {
		t.Fatalf("sso register: %v", err)
	}
	t.Cleanup(func() {
		if _, err := h.ssoDB.Exec(`DELETE FROM users WHERE email = $1`, email); err != nil {
			t.Errorf("delete sso user %s: %v", email, err)
		}
	})
	u := user{ID: reg.GetUserId(), Email: email, Token: reg.GetAccessToken(), Refresh: reg.GetRefreshToken()}
	if !admin {
		return u
	}
	res, err := h.ssoDB.ExecContext(ctx, `UPDATE users SET is_admin = true WHERE email = $1`, email)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("promote %s: %v (%d rows)", email, err, n)
	}
	// sso reads users from its replica, so a login right after the update
	// may still see the old row: log in until the token says admin.
	if !testenv.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		login, err := h.auth.Login(ctx, &ssov1.LoginRequest{Email: email, Password: password})
		if err != nil {
			t.Fatalf("sso login: %v", err)
		}
		v, err := h.auth.Validate(ctx, &ssov1.ValidateRequest{Token: login.GetAccessToken()})
		if err != nil {
			t.Fatalf("sso validate: %v", err)
		}
		u.Token, u.Refresh = login.GetAccessToken(), login.GetRefreshToken()
		return v.GetIsAdmin()
	}) {
		t.Fatalf("sso never issued %s an admin token", email)
	}
	return u
}

// publish sends a UserRegistered event the way sso's relay does: keyed by
// the user id, its value serialized through the Schema Registry.
func (h *harness) publish(t *testing.T, ev *eventsv1.UserRegistered) {
	t.Helper()
	h.publishTo(t, h.cfg.Consumer.Topic, ev)
}

func (h *harness) publishTo(t *testing.T, topic string, ev *eventsv1.UserRegistered) {
	t.Helper()
	value, err := h.ser.Serialize(topic, ev)
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	delivered := make(chan kafka.Event, 1)
	if err := h.prod.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(ev.GetUserId()),
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

// registered returns the UserRegistered event of u, with a new event id.
func registered(u user) *eventsv1.UserRegistered {
	return &eventsv1.UserRegistered{
		EventId: uuid.NewString(), UserId: u.ID, Email: u.Email, FullName: "Loyalty Test",
		RegisteredAt: timestamppb.Now(),
	}
}

// welcomed publishes u's UserRegistered event and waits until the
// consumer has opened u's account.
func (h *harness) welcomed(t *testing.T, u user) {
	t.Helper()
	h.publish(t, registered(u))
	h.waitForAccount(t, u)
}

func (h *harness) waitForAccount(t *testing.T, u user) {
	t.Helper()
	if !testenv.Eventually(30*time.Second, 50*time.Millisecond, func() bool {
		var n int
		return h.db.Get(&n, `SELECT count(*) FROM accounts WHERE user_id = $1`, u.ID) == nil && n == 1
	}) {
		t.Fatalf("the account of %s was never opened", u.ID)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// restResponse is a decoded JSON response of the REST gateway.
type restResponse struct {
	Status int
	Body   map[string]any
	Raw    string
}

// rest sends body (marshalled to JSON) and decodes the JSON answer.
func (h *harness) rest(t *testing.T, method, path, bearer string, body any) restResponse {
	t.Helper()
	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(testenv.Context(t, 30*time.Second), method, h.baseURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := restResponse{Status: resp.StatusCode, Raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return out
}

// str returns a string field of a JSON body ("" if absent). int64 fields
// are strings in proto JSON.
func (r restResponse) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// withBearer returns a context carrying an access token for gRPC calls.
func withBearer(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
