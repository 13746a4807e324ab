// Package service assembles the loyalty-points process: the one place where
// configuration, adapters, use cases, the event consumer and the API are
// built and connected. cmd/loyalty-points and the end-to-end tests both use
// it, so what is tested is what runs.
package service

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/consumer"
	"github.com/ssokit/platform/libs/gateway"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	loyaltyv1 "github.com/ssokit/platform/libs/gen/loyalty/v1"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
	"github.com/ssokit/platform/services/loyalty-points/internal/events"
	"github.com/ssokit/platform/services/loyalty-points/internal/grpcapi"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
	"github.com/ssokit/platform/services/loyalty-points/internal/sso"
)

// Name is the service name in logs, traces and metrics.
const Name = "loyalty-points"

// Migrate applies the database migrations; New does it too, and
// `loyalty-points migrate` runs only this.
func Migrate(ctx context.Context, cfg config.Config) error {
	db, err := bootstrap.OpenDB(cfg.DB.DSN, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	return postgres.Migrate(ctx, db)
}

// ReplayConfig says whose dead letters `loyalty-points dlq replay` moves
// back: the configured group's, to the topic it consumes.
func ReplayConfig(cfg config.Config) consumer.ReplayConfig {
	return consumer.ReplayConfig{
		Brokers:         cfg.Kafka.Brokers,
		GroupID:         cfg.Consumer.GroupID,
		Topic:           cfg.Consumer.Topic,
		DeadLetterTopic: cfg.Consumer.DeadLetterTopic,
	}
}

// AccountEventsReplayConfig says whose dead letters `loyalty-points
// account-events dlq replay` moves back: the AccountEvents consumer's, to
// the account events topic.
func AccountEventsReplayConfig(cfg config.Config) consumer.ReplayConfig {
	return consumer.ReplayConfig{
		Brokers:         cfg.Kafka.Brokers,
		GroupID:         cfg.AccountEvents.GroupID,
		Topic:           cfg.AccountEvents.Topic,
		DeadLetterTopic: cfg.AccountEvents.DeadLetterTopic,
	}
}

// New connects to the dependencies, migrates the database and builds the
// servers and the event consumer of the loyalty-points process. It listens
// on the configured ports but serves and consumes nothing until the
// returned Process runs.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server.Process, err error) {
	health := server.NewHealth(cfg.ShutdownTimeout)
	p := server.NewProcess(log, health, cfg.ShutdownTimeout)
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()

	db, err := bootstrap.OpenDB(cfg.DB.DSN, cfg.DB.MaxOpenConns)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	p.Defer(db.Close)
	if err := postgres.Migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}

	// sso authenticates every API call. It is deliberately not a readiness
	// check: while it is down the API answers UNAVAILABLE, but the welcome
	// bonuses keep being credited.
	ssoConn, err := grpc.NewClient(cfg.SSO.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	)
	if err != nil {
		return nil, fmt.Errorf("sso connection: %w", err)
	}
	p.Defer(ssoConn.Close)

	// Every metric of the process goes to one registry, served at /metrics.
	metrics := server.NewRegistry()
	ledgerMetrics, err := ledger.NewMetrics(metrics)
	if err != nil {
		return nil, err
	}
	svc, err := ledger.NewService(postgres.NewLedger(db), sso.NewAuthenticator(ssoConn, cfg.SSO.Timeout),
		ledger.Config{WelcomeBonus: cfg.WelcomeBonus}, ledger.WithMetrics(ledgerMetrics))
	if err != nil {
		return nil, err
	}

	welcome, err := events.NewHandler(svc, events.BonusOn(cfg.WelcomeBonusOn), metrics, log)
	if err != nil {
		return nil, err
	}
	consumerMetrics, err := consumer.NewMetrics(metrics)
	if err != nil {
		return nil, err
	}
	// UserRegistered is consumed in both settings, so that its group's
	// offsets keep up and switching back to "registration" does not credit
	// the backlog of the time in between.
	c, err := consumer.New(consumer.Config{
		Brokers:           cfg.Kafka.Brokers,
		GroupID:           cfg.Consumer.GroupID,
		Topic:             cfg.Consumer.Topic,
		SchemaRegistryURL: cfg.Kafka.SchemaRegistryURL,
		DeadLetterTopic:   cfg.Consumer.DeadLetterTopic,
		MaxAttempts:       cfg.Consumer.MaxAttempts,
		InitialBackoff:    cfg.Consumer.InitialBackoff,
		MaxBackoff:        cfg.Consumer.MaxBackoff,
		Observer:          consumerMetrics.Observer(cfg.Consumer.GroupID, cfg.Consumer.Topic),
	}, func() *eventsv1.UserRegistered { return &eventsv1.UserRegistered{} }, welcome.UserRegistered, log)
	if err != nil {
		return nil, err
	}
	// Run closes the consumer when it returns; Close covers a process that
	// fails to build further down and never runs.
	p.Defer(c.Close)
	p.Go("consumer", c.Run)

	health.Add("postgres", db.PingContext)
	health.Add("kafka", c.Check)

	// AccountEvents are consumed in both settings: a UserDeleted closes the
	// account whichever event credits the bonus.
	{
		ac, err := consumer.New(consumer.Config{
			Brokers:           cfg.Kafka.Brokers,
			GroupID:           cfg.AccountEvents.GroupID,
			Topic:             cfg.AccountEvents.Topic,
			SchemaRegistryURL: cfg.Kafka.SchemaRegistryURL,
			DeadLetterTopic:   cfg.AccountEvents.DeadLetterTopic,
			MaxAttempts:       cfg.Consumer.MaxAttempts,
			InitialBackoff:    cfg.Consumer.InitialBackoff,
			MaxBackoff:        cfg.Consumer.MaxBackoff,
			Observer:          consumerMetrics.Observer(cfg.AccountEvents.GroupID, cfg.AccountEvents.Topic),
		}, func() *eventsv1.AccountEvent { return &eventsv1.AccountEvent{} }, welcome.AccountEvent, log)
		if err != nil {
			return nil, err
		}
		p.Defer(ac.Close)
		p.Go("account events consumer", ac.Run)
		health.Add("kafka-account-events", ac.Check)
	}

	err = gateway.ServeAPI(ctx, p, gateway.API{
		GRPCAddr: cfg.GRPCAddr,
		Register: func(s grpc.ServiceRegistrar) {
			loyaltyv1.RegisterLoyaltyServiceServer(s, grpcapi.NewLoyaltyServer(svc, log))
		},
		Handlers: []gateway.RegisterFunc{loyaltyv1.RegisterLoyaltyServiceHandler},
		// Every call needs a token: a caller without one gets 401 before
		// its body is looked at, as the API document promises.
		Options: []gateway.Option{gateway.WithBearerRequired()},
		Title:   "Loyalty API",
		Spec:    "loyalty.swagger.json",
		HTTP: server.HTTPConfig{Addr: cfg.HTTPAddr, PprofAddr: cfg.PprofAddr, Metrics: metrics,
			Limits: bootstrap.HTTPLimits(cfg.Process)},
		MaxBodyBytes:   cfg.MaxBodyBytes,
		AllowedOrigins: cfg.CORSAllowedOrigins,
		GRPCMaxConns:   cfg.GRPCMaxConns,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
