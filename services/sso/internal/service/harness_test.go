package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
)

// The end-to-end tests run the real sso process, built by service.New as
// cmd/sso builds it, against the real PostgreSQL primary and replica and
// Redis, in a database of their own, and drive it as clients do: over REST
// and gRPC.

// Throttle settings of the test process: a small per-account limit and a
// short window, so the throttle can be seen opening again; a per-address
// limit high enough that the suite's own failed logins (all from
// 127.0.0.1) never trip it.
const (
	loginLimit  = 3
	loginWindow = 3 * time.Second
)

type harness struct {
	cfg      config.Config
	baseURL  string
	grpcAddr string
	conn     *grpc.ClientConn
	auth     ssov1.AuthServiceClient
	users    ssov1.UserServiceClient
	primary  *sqlx.DB
	replica  *sqlx.DB
	// registry reaches the Schema Registry the event schemas are
	// registered in.
	registry schemaregistry.Client
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

// sso returns the running test process, starting it on first use. Under
// -short the calling test is skipped; without the stack it fails.
func sso(t *testing.T) *harness {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN), testenv.HostPort(testenv.PGReplicaDSN), testenv.RedisAddrs()[0],
		testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	setupOnce.Do(func() { shared, setupErr = start() })
	if setupErr != nil {
		t.Fatalf("start sso: %v", setupErr)
	}
	return shared
}

func start() (*harness, error) {
	ctx := context.Background()
	// The run's database; it is on the replica too before the service
	// reads from it.
	dbName, dropDB, err := testenv.CreateDatabase(ctx, "sso_e2e")
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() {
		if err := dropDB(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	})
	suffix := strings.TrimPrefix(dbName, "sso_e2e_")

	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB.PrimaryDSN = testenv.WithDatabase(testenv.PGPrimaryDSN, dbName)
	cfg.DB.ReplicaDSN = testenv.WithDatabase(testenv.PGReplicaDSN, dbName)
	cfg.Redis.Addr = testenv.RedisAddr
	cfg.Redis.SentinelAddrs, cfg.Redis.SentinelMaster = testenv.RedisSentinelAddrs, testenv.RedisSentinelMaster
	cfg.Redis.KeyPrefix = "sso-e2e-" + suffix + ":"
	cfg.Tokens.KeysDir, err = os.MkdirTemp("", "sso-e2e-keys-")
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { os.RemoveAll(cfg.Tokens.KeysDir) })
	// The provider's RSA key, generated at start; not among the EdDSA
	// keys, whose directory holds nothing else.
	oidcDir, err := os.MkdirTemp("", "sso-e2e-oidc-")
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { os.RemoveAll(oidcDir) })
	cfg.OIDC.KeyFile = filepath.Join(oidcDir, "rsa.pem")
	cfg.Login.Limit, cfg.Login.IPLimit, cfg.Login.Window = loginLimit, 10_000, loginWindow
	// Every test registers from 127.0.0.1; the limit is tested on
	// processes of its own (see spawn).
	cfg.Register.IPLimit = 100_000
	cfg.ShutdownTimeout = 5 * time.Second

	// Events go to topics of this run, and their schemas to their
	// subjects; all are deleted afterwards.
	cfg.Kafka.Brokers = testenv.KafkaBrokers
	cfg.Kafka.SchemaRegistryURL = testenv.SchemaRegistryURL
	cfg.Events.Topic = "sso_e2e_" + suffix + "_user_registered"
	cfg.Events.AccountTopic = "sso_e2e_" + suffix + "_account_events"
	registry, err := createTopic(ctx, cfg.Events.Topic)
	if err != nil {
		return nil, err
	}
	if _, err := createTopic(ctx, cfg.Events.AccountTopic); err != nil {
		return nil, err
	}
	// The audit log's topic and consumer group are this run's too: the
	// shared defaults belong to the stack's own sso.
	cfg.Audit.Topic = "sso_e2e_" + suffix + "_audit_events"
	cfg.Audit.GroupID = "sso_e2e_" + suffix + "_audit"
	if _, err := createTopic(ctx, cfg.Audit.Topic); err != nil {
		return nil, err
	}
	// The key ring that seals one-time tokens into account events.
	secrets, err := os.MkdirTemp("", "sso-e2e-secrets-")
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { os.RemoveAll(secrets) })
	line, err := sealbox.NewKeyLine("e2e")
	if err != nil {
		return nil, err
	}
	cfg.Events.SealingKeysFile = filepath.Join(secrets, "sealing-keys")
	if err := os.WriteFile(cfg.Events.SealingKeysFile, []byte(line+"\n"), 0o600); err != nil {
		return nil, err
	}

	// Tracing as cmd/sso installs it (no exporter): requests get spans, and
	// their context reaches the outbox rows and the Kafka headers.
	stopTracing, err := telemetry.SetupTracing(ctx, telemetry.TraceConfig{Service: service.Name, SampleRatio: 1})
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { _ = stopTracing(context.Background()) })

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if os.Getenv("SSO_E2E_LOG") != "" {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	// The deploy step, as before every release: the relay registers no
	// schema itself.
	if err := service.RegisterSchemas(ctx, cfg, log); err != nil {
		return nil, err
	}
	h := &harness{registry: registry}
	stop, err := h.run(ctx, cfg, log)
	teardown = append(teardown, stop)
	if err != nil {
		return nil, err
	}
	if h.primary, err = sqlx.Open("postgres", cfg.DB.PrimaryDSN); err != nil {
		return nil, err
	}
	if h.replica, err = sqlx.Open("postgres", cfg.DB.ReplicaDSN); err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { h.primary.Close(); h.replica.Close() })
	return h, nil
}

// run starts an sso process on cfg, points h's clients at it and waits
// until it is ready. stop ends the process and closes the clients; it is
// never nil.
func (h *harness) run(ctx context.Context, cfg config.Config, log *slog.Logger) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	proc, err := service.New(runCtx, cfg, log)
	if err != nil {
		cancel()
		return stop, err
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	stops = append(stops, func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "sso stopped with:", err)
		}
	})

	h.cfg, h.baseURL, h.grpcAddr = cfg, "http://"+proc.Addr("http"), proc.Addr("grpc")
	h.conn, err = grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return stop, err
	}
	stops = append(stops, func() { h.conn.Close() })
	h.auth = ssov1.NewAuthServiceClient(h.conn)
	h.users = ssov1.NewUserServiceClient(h.conn)

	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(h.baseURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		return stop, fmt.Errorf("sso never became ready")
	}
	return stop, nil
}

// spawn starts, for t alone, another sso process on the shared one's
// database and topic, with the configuration change makes to the shared
// one's, its own ports and its own Redis keys (so throttling counts start
// from zero). It stops when t ends.
func (h *harness) spawn(t *testing.T, change func(*config.Config)) *harness {
	t.Helper()
	cfg := h.cfg
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Redis.KeyPrefix = h.cfg.Redis.KeyPrefix + testenv.Name(t, "p") + ":"
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("spawn: %v", err)
	}
	s := &harness{primary: h.primary, replica: h.replica, registry: h.registry}
	// Each process registers its metrics on a registry of its own, but
	// the log and the tracer provider are shared.
	stop, err := s.run(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	t.Cleanup(stop)
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	return s
}

// createTopic creates the run's event topic and schedules its deletion,
// with the registry subject RegisterSchemas registers for it. It returns the
// registry client the teardown uses.
func createTopic(ctx context.Context, topic string) (schemaregistry.Client, error) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		return nil, err
	}
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}})
	if err == nil && res[0].Error.Code() != kafka.ErrNoError {
		err = res[0].Error
	}
	if err != nil {
		admin.Close()
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		admin.Close()
		return nil, err
	}
	teardown = append(teardown, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.DeleteTopics(ctx, []string{topic}); err != nil {
			fmt.Fprintf(os.Stderr, "delete topic %s: %v\n", topic, err)
		}
		admin.Close()
		subject := topic + "-value"
		// Soft delete first, as the API requires; it fails when no test
		// registered, and there is nothing to delete.
		if _, err := registry.DeleteSubject(subject, false); err == nil {
			if _, err := registry.DeleteSubject(subject, true); err != nil {
				fmt.Fprintf(os.Stderr, "delete subject %s: %v\n", subject, err)
			}
		}
		registry.Close()
	})
	return registry, nil
}

// email returns an address no other test uses.
func email(t *testing.T) string {
	return strings.ReplaceAll(testenv.Name(t, "u"), "_", "-") + "@example.test"
}

const goodPassword = "correct horse battery staple"

// restResponse is a decoded JSON response of the REST gateway.
type restResponse struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// rest sends body (a value marshalled to JSON, or a string sent as is) and
// decodes the JSON answer.
func (h *harness) rest(t *testing.T, method, path, bearer string, body any) restResponse {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
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
	out := restResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return out
}

// str returns a string field of a JSON body ("" if absent).
func (r restResponse) str(key string) string {
	s, _ := r.Body[key].(string)
	return s
}

// withBearer returns a context carrying an access token for gRPC calls.
func withBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// tokens is one register/login/refresh answer, whichever transport.
type tokens struct{ UserID, Access, Refresh string }

// transport runs the same scenario over REST and over gRPC.
type transport struct {
	name     string
	register func(t *testing.T, h *harness, email, pw string) tokens
	login    func(t *testing.T, h *harness, email, pw string) (tokens, int)
	refresh  func(t *testing.T, h *harness, refresh string) (tokens, int)
	logout   func(t *testing.T, h *harness, access, refresh string) int
	validate func(t *testing.T, h *harness, token string) bool
}
