// Package service assembles the sso process: it is the one place where
// configuration, adapters, use cases and transports are built and connected.
// cmd/sso calls it, and so do the end-to-end tests, so what is tested is
// what runs.
package service

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver for database/sql.
	"github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/sso/internal/config"
)

// Name is the service name in logs, traces and metrics.
const Name = "sso"

// New connects to the dependencies and builds the servers of the sso
// process. It listens on the configured ports but serves nothing until the
// returned Process runs.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server.Process, err error) {
	health := server.NewHealth(cfg.ShutdownTimeout)
	p := server.NewProcess(log, health, cfg.ShutdownTimeout)
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()

	primary, err := openDB(cfg.DB.PrimaryDSN, cfg.DB.MaxOpenConns)
	if err != nil {
		return nil, fmt.Errorf("primary database: %w", err)
	}
	p.Defer(primary.Close)
	replica, err := openDB(cfg.DB.ReplicaDSN, cfg.DB.MaxOpenConns)
	if err != nil {
		return nil, fmt.Errorf("replica database: %w", err)
	}
	p.Defer(replica.Close)
	rdb := newRedis(cfg.Redis)
	p.Defer(rdb.Close)

	// Readiness follows the dependencies a request cannot do without: the
	// primary takes every write and Redis holds token state. A lagging or
	// missing replica only degrades reads to the primary.
	health.Add("postgres-primary", primary.PingContext)
	health.Add("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	reg := server.NewRegistry()
	grpcSrv, grpcHealth := server.NewGRPCServer(log, nil)
	mux := server.NewMux(health, reg)

	g, err := server.NewGRPC("grpc", cfg.GRPCAddr, grpcSrv, grpcHealth)
	if err != nil {
		return nil, err
	}
	p.Serve(g)
	h, err := server.NewHTTP("http", cfg.HTTPAddr, mux)
	if err != nil {
		return nil, err
	}
	p.Serve(h)
	return p, nil
}

// openDB opens a pool without connecting: the process starts even while the
// database is down, and readiness reports it.
func openDB(dsn string, maxOpen int) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	return db, nil
}

func newRedis(c config.Redis) *redis.Client {
	if len(c.SentinelAddrs) > 0 {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:    c.SentinelMaster,
			SentinelAddrs: c.SentinelAddrs,
			Password:      c.Password,
			DB:            c.DB,
		})
	}
	return redis.NewClient(&redis.Options{Addr: c.Addr, Password: c.Password, DB: c.DB})
}
