// Package service assembles the welcome-notifier process: the one place
// where configuration, adapters and the two event consumers
// (UserRegistered, AccountEvent) are built and connected. cmd/welcome-notifier and the end-to-end tests both use it.
package service

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/events"
	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
	"github.com/ssokit/platform/services/welcome-notifier/internal/smtp"
	"github.com/ssokit/platform/services/welcome-notifier/internal/sso"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Name is the service name in logs, traces and metrics.
const Name = "welcome-notifier"

// maxDBConns caps the pool: each of the two consumers handles one message
// at a time, holding one connection for its ledger transaction; the rest
// serve readiness checks.
const maxDBConns = 5

// New reads the sealing key ring, connects to the database and migrates
// it, then builds the two consumers (UserRegistered, AccountEvent) and the
// health and metrics server of the welcome-notifier process. It listens on
// the configured port but consumes nothing until the returned Process
// runs.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server.Process, err error) {
	// First: without the ring no link can be mailed, and an account event
	// handled without it would be dead-lettered for nothing.
	ring, err := sealbox.Load(cfg.Account.SealingKeysFile)
	if err != nil {
		return nil, fmt.Errorf("NOTIFIER_SEALING_KEYS_FILE: %w", err)
	}
	health := server.NewHealth(cfg.ShutdownTimeout)
	p := server.NewProcess(log, health, cfg.ShutdownTimeout)
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()

	db, err := bootstrap.OpenDB(cfg.DB.DSN, maxDBConns)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	p.Defer(db.Close)
	if err := postgres.Migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}

	sender, err := smtp.NewSender(smtp.Config{
		Addr:     cfg.SMTP.Addr,
		Username: cfg.SMTP.Username,
		Password: cfg.SMTP.Password,
		TLS:      cfg.SMTP.TLS,
		Timeout:  cfg.SMTP.Timeout,
	})
	if err != nil {
		return nil, err
	}
	// Every metric of the process goes to one registry, served at /metrics.
	metrics := server.NewRegistry()
	ledger := postgres.NewLedger(db)
	notifier, err := newWelcome(cfg.Mail, ledger, sender)
	if err != nil {
		return nil, err
	}
	// sso hands out the data keys that open the addresses in the events.
	// It is not a readiness check: while it is down the events wait
	// (retried as an outage), nothing is lost or dead-lettered.
	ssoConn, err := grpc.NewClient(cfg.SSO.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	)
	if err != nil {
		return nil, fmt.Errorf("sso connection: %w", err)
	}
	p.Defer(ssoConn.Close)
	keys, err := sso.NewKeys(ssoConn, ring, cfg.SSO.Timeout, metrics)
	if err != nil {
		return nil, err
	}
	handler, err := events.NewHandler(notifier, keys, metrics, log)
	if err != nil {
		return nil, err
	}
	consumerMetrics, err := consumer.NewMetrics(metrics)
	if err != nil {
		return nil, err
	}

	c, err := consumer.New(consumer.Config{
		Brokers:           cfg.Kafka.Brokers,
		GroupID:           cfg.Kafka.GroupID,
		Topic:             cfg.Kafka.Topic,
		SchemaRegistryURL: cfg.Kafka.SchemaRegistryURL,
		DeadLetterTopic:   cfg.Kafka.DeadLetterTopic,
		MaxAttempts:       cfg.Kafka.MaxAttempts,
		InitialBackoff:    cfg.Kafka.InitialBackoff,
		MaxBackoff:        cfg.Kafka.MaxBackoff,
		Observer:          consumerMetrics.Observer(cfg.Kafka.GroupID, cfg.Kafka.Topic),
	}, func() *eventsv1.UserRegistered { return &eventsv1.UserRegistered{} }, handler.UserRegistered, log)
	if err != nil {
		return nil, err
	}
	p.Defer(c.Close) // a no-op once Run has returned: Run closes the consumer
	p.Go("consumer", c.Run)

	from, err := netmail.ParseAddress(cfg.Mail.From)
	if err != nil {
		return nil, fmt.Errorf("mail sender %q: %w", cfg.Mail.From, err)
	}
	accountMails, err := welcome.NewAccountService(ledger, sender, welcome.AccountConfig{From: *from, LinkBase: cfg.Account.LinkBase})
	if err != nil {
		return nil, err
	}
	accountHandler, err := events.NewAccountHandler(accountMails, ring, keys, metrics, log)
	if err != nil {
		return nil, err
	}
	ac, err := consumer.New(consumer.Config{
		Brokers:           cfg.Kafka.Brokers,
		GroupID:           cfg.Account.GroupID,
		Topic:             cfg.Account.Topic,
		SchemaRegistryURL: cfg.Kafka.SchemaRegistryURL,
		DeadLetterTopic:   cfg.Account.DeadLetterTopic,
		MaxAttempts:       cfg.Kafka.MaxAttempts,
		InitialBackoff:    cfg.Kafka.InitialBackoff,
		MaxBackoff:        cfg.Kafka.MaxBackoff,
		Observer:          consumerMetrics.Observer(cfg.Account.GroupID, cfg.Account.Topic),
	}, func() *eventsv1.AccountEvent { return &eventsv1.AccountEvent{} }, accountHandler.AccountEvent, log)
	if err != nil {
		return nil, err
	}
	p.Defer(ac.Close)
	p.Go("account consumer", ac.Run)

	// Readiness follows what handling an event needs: Kafka to read it
	// (both consumers), PostgreSQL to know whether its mail went out, SMTP
	// to send it.
	health.Add("kafka", c.Check)
	health.Add("kafka_account", ac.Check)
	health.Add("postgres", db.PingContext)
	health.Add("smtp", sender.Check)

	if err := p.ServeHTTP(server.HTTPConfig{Addr: cfg.HTTPAddr, PprofAddr: cfg.PprofAddr, Metrics: metrics,
		Limits: bootstrap.HTTPLimits(cfg.Process)}); err != nil {
		return nil, err
	}
	return p, nil
}

// ReplayConfig says whose dead letters `welcome-notifier dlq replay`
// moves back: the configured group's, to the topic it consumes.
func ReplayConfig(cfg config.Config) consumer.ReplayConfig {
	return consumer.ReplayConfig{
		Brokers:         cfg.Kafka.Brokers,
		GroupID:         cfg.Kafka.GroupID,
		Topic:           cfg.Kafka.Topic,
		DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
	}
}

// AccountReplayConfig says whose dead letters `welcome-notifier dlq replay
// account` moves back: the account consumer's, to the account topic.
func AccountReplayConfig(cfg config.Config) consumer.ReplayConfig {
	return consumer.ReplayConfig{
		Brokers:         cfg.Kafka.Brokers,
		GroupID:         cfg.Account.GroupID,
		Topic:           cfg.Account.Topic,
		DeadLetterTopic: cfg.Account.DeadLetterTopic,
	}
}

// Commands are the subcommands of the binary: `dlq replay` for the
// UserRegistered consumer's dead letters, `dlq replay account` for the
// account consumer's. The longer name comes first: commands match by
// prefix.
func Commands() []bootstrap.Command[config.Config] {
	account := bootstrap.DeadLetterReplay(AccountReplayConfig)
	account.Name = "dlq replay account"
	return []bootstrap.Command[config.Config]{account, bootstrap.DeadLetterReplay(ReplayConfig)}
}

// newWelcome builds the use case from the mail settings.
func newWelcome(cfg config.Mail, ledger welcome.Ledger, sender welcome.Sender) (*welcome.Service, error) {
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail sender %q: %w", cfg.From, err)
	}
	body, err := mail.LoadTemplate(mail.Welcome, cfg.TemplateFile)
	if err != nil {
		return nil, err
	}
	return welcome.NewService(ledger, sender, welcome.Config{
		From:    *from,
		Subject: cfg.Subject,
		Body:    body,
	})
}
