package service_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/service"
)

// TestDatabaseOutageDelaysTheBonusAndDeadLettersNothing runs a second
// process whose database goes away (for it alone: it reaches PostgreSQL
// through a testenv.Outage) while a registration arrives. The consumer
// retries, paused, for more attempts than MaxAttempts allows, and once the
// database is back the bonus is credited once and nothing was
// dead-lettered.
func TestDatabaseOutageDelaysTheBonusAndDeadLettersNothing(t *testing.T) {
	h := loyalty(t)
	cfg := h.cfg
	// The DSN may list several nodes (a Patroni cluster) and let libpq pick
	// the primary; the outage must stand between the process and that
	// primary, so the process gets a DSN naming the outage's address alone.
	db := testenv.NewOutage(t, primaryAddr(t, cfg.DB.DSN))
	dsn, err := url.Parse(cfg.DB.DSN)
	if err != nil {
		t.Fatal(err)
	}
	q := dsn.Query()
	q.Del("host")
	q.Del("port")
	q.Del("target_session_attrs")
	dsn.RawQuery = q.Encode()
	dsn.Host = db.Addr
	cfg.DB.DSN = dsn.String()
	cfg.Consumer.Topic, cfg.Consumer.GroupID = testenv.Name(t, "loyalty_dbdown"), testenv.Name(t, "loyalty_dbdown")
	cfg.AccountEvents.Topic, cfg.AccountEvents.GroupID = testenv.Name(t, "loyalty_dbdown_acc"), testenv.Name(t, "loyalty_dbdown_acc")
	ctx := testenv.Context(t, 2*time.Minute)
	for _, tp := range []string{cfg.Consumer.Topic, cfg.AccountEvents.Topic} {
		if err := h.createTopic(ctx, tp); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.kafka.DeleteConsumerGroups(ctx, []string{cfg.Consumer.GroupID, consumer.ReplayGroup(cfg.Consumer.GroupID), cfg.AccountEvents.GroupID})
		_, _ = h.kafka.DeleteTopics(ctx, []string{cfg.Consumer.Topic, consumer.DefaultDeadLetterTopic(cfg.Consumer.Topic, cfg.Consumer.GroupID), cfg.AccountEvents.Topic})
		if registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL)); err == nil {
			_, _ = registry.DeleteSubject(cfg.Consumer.Topic+"-value", false)
			_, _ = registry.DeleteSubject(cfg.Consumer.Topic+"-value", true)
			_ = registry.Close()
		}
	})

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
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the process did not stop")
		}
	})
	metrics := func() string {
		resp, err := http.Get("http://" + proc.Addr("http") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	labels := `group="` + cfg.Consumer.GroupID + `",topic="` + cfg.Consumer.Topic + `"`
	transientRetries := func() int {
		prefix := `kafka_consumer_retried_total{group="` + cfg.Consumer.GroupID + `",kind="transient",topic="` + cfg.Consumer.Topic + `"} `
		for _, line := range strings.Split(metrics(), "\n") {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
		return -1
	}

	db.Down()
	user := uuid.NewString()
	h.publishTo(t, cfg.Consumer.Topic, &eventsv1.UserRegistered{
		EventId: uuid.NewString(), UserId: user, Email: "outage@example.test", RegisteredAt: timestamppb.Now(),
	})
	// Twice MaxAttempts (3) failures: the old consumer gave up after three.
	want := 2 * cfg.Consumer.MaxAttempts
	if !testenv.Eventually(time.Minute, 100*time.Millisecond, func() bool { return transientRetries() >= want }) {
		t.Fatalf("transient retries = %d, want at least %d while the database is down", transientRetries(), want)
	}
	if m := metrics(); !strings.Contains(m, `kafka_consumer_paused{`+labels+`} 1`) {
		t.Error("kafka_consumer_paused is not 1 while the database is down")
	}

	db.Up(t)
	var balance int64
	if !testenv.Eventually(time.Minute, 100*time.Millisecond, func() bool {
		return h.db.Get(&balance, `SELECT balance FROM accounts WHERE user_id = $1`, user) == nil
	}) {
		t.Fatal("no bonus credited after the database came back")
	}
	if balance != welcomeBonus {
		t.Errorf("balance = %d, want one bonus of %d", balance, welcomeBonus)
	}
	if m := metrics(); !strings.Contains(m, `kafka_consumer_dead_lettered_total{group="`+cfg.Consumer.GroupID+`",reason="exhausted",topic="`+cfg.Consumer.Topic+`"} 0`) {
		t.Error("a message was dead-lettered as exhausted during the outage")
	}
	// The replay command's dry run sees no dead letter either.
	res, err := consumer.Replay(ctx, func() consumer.ReplayConfig {
		rc := service.ReplayConfig(cfg)
		rc.DryRun = true
		return rc
	}(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil || res.Moved != 0 {
		t.Errorf("dead letters after the outage = %+v, %v; want none", res, err)
	}
	if !testenv.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		return strings.Contains(metrics(), `kafka_consumer_paused{`+labels+`} 0`)
	}) {
		t.Error("kafka_consumer_paused still 1 after the bonus was credited")
	}
}

// primaryAddr returns the host:port of the server that dsn connects to for
// writes: with a multi-host DSN, whichever node leads now.
func primaryAddr(t *testing.T, dsn string) string {
	t.Helper()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var host string
	var port int
	if err := db.QueryRowContext(testenv.Context(t, 10*time.Second),
		"SELECT host(inet_server_addr()), inet_server_port()").Scan(&host, &port); err != nil {
		t.Fatalf("find the primary: %v", err)
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
