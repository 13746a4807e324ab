// Package service assembles the loyalty-points process: the one place where
// configuration, adapters, use cases, the event consumer and the API are
// built and connected. cmd/loyalty-points and the end-to-end tests both use
// it.
package service

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver for database/sql.

	"github.com/ssokit/platform/libs/kafkahealth"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
)

// Name is the service name in logs, traces and metrics.
const Name = "loyalty-points"

// New builds the loyalty-points process. It listens on the configured ports
// but serves nothing until the returned Process runs.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server.Process, err error) {
	health := server.NewHealth(cfg.ShutdownTimeout)
	p := server.NewProcess(log, health, cfg.ShutdownTimeout)
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()

	db, err := sqlx.Open("postgres", cfg.DBDSN)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	p.Defer(db.Close)
	kafka, err := kafkahealth.New(cfg.Kafka.Brokers)
	if err != nil {
		return nil, err
	}
	p.Defer(kafka.Close)
	health.Add("postgres", db.PingContext)
	health.Add("kafka", kafka.Check)

	grpcSrv, grpcHealth := server.NewGRPCServer(log, nil)
	g, err := server.NewGRPC("grpc", cfg.GRPCAddr, grpcSrv, grpcHealth)
	if err != nil {
		return nil, err
	}
	p.Serve(g)
	h, err := server.NewHTTP("http", cfg.HTTPAddr, server.NewMux(health, server.NewRegistry()))
	if err != nil {
		return nil, err
	}
	p.Serve(h)
	return p, nil
}
