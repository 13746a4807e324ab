// Package service assembles the sso process: it is the one place where
// configuration, adapters, use cases and transports are built and connected.
// cmd/sso calls it, and so do the end-to-end tests, so what is tested is
// what runs.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/gateway"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/schemas"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/grpcapi"
	"github.com/ssokit/platform/services/sso/internal/httpapi"
	"github.com/ssokit/platform/services/sso/internal/oidc"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/password"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	ssoredis "github.com/ssokit/platform/services/sso/internal/redis"
	"github.com/ssokit/platform/services/sso/internal/token"
)

// Name is the service name in logs, traces and metrics.
const Name = "sso"

// Migrate applies the database migrations on the primary; New does it too,
// and `sso migrate` runs only this.
func Migrate(ctx context.Context, cfg config.Config) error {
	db, err := bootstrap.OpenDB(cfg.DB.PrimaryDSN, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	return postgres.Migrate(ctx, db, cfg.DB.UserPartitions)
}

// New connects to the dependencies, migrates the database and builds the
// servers of the sso process. It listens on the configured ports but serves
// nothing until the returned Process runs.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server.Process, err error) {
	health := server.NewHealth(cfg.ShutdownTimeout)
	p := server.NewProcess(log, health, cfg.ShutdownTimeout)
	defer func() {
		if err != nil {
			_ = p.Close()
		}
	}()

	primary, err := bootstrap.OpenDB(cfg.DB.PrimaryDSN, cfg.DB.MaxOpenConns)
	if err != nil {
		return nil, fmt.Errorf("primary database: %w", err)
	}
	p.Defer(primary.Close)
	replica, err := bootstrap.OpenDB(cfg.DB.ReplicaDSN, cfg.DB.MaxOpenConns)
	if err != nil {
		return nil, fmt.Errorf("replica database: %w", err)
	}
	p.Defer(replica.Close)
	if err := postgres.Migrate(ctx, primary, cfg.DB.UserPartitions); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	rdb := newRedis(cfg.Redis)
	p.Defer(rdb.Close)
	// Every metric of the process goes to one registry, served at /metrics.
	metrics := server.NewRegistry()

	// Readiness follows the dependencies a request cannot do without: the
	// primary takes every write and Redis holds token state. A lagging or
	// missing replica only degrades reads to the primary.
	health.Add("postgres-primary", primary.PingContext)
	health.Add("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	// Kafka is deliberately not a readiness check: registrations keep
	// working while it is down, their events waiting in the outbox.
	relay, err := newRelay(cfg, primary, p, metrics, log)
	if err != nil {
		return nil, err
	}
	p.Go("outbox relay", relay.Run)

	ring, err := sealbox.Load(cfg.Events.SealingKeysFile)
	if err != nil {
		return nil, fmt.Errorf("sealing keys (SSO_SEALING_KEYS_FILE): %w", err)
	}
	users := postgres.NewUsers(primary, replica, outbox.UserRegistered(cfg.Events.Topic),
		postgres.OnCommitted(relay.Enqueue), postgres.WithAccountEvents(outbox.AccountEvents(cfg.Events.AccountTopic, ring)),
		postgres.WithDataKeys(ring), postgres.WithAuditEvents(outbox.AuditEvents(cfg.Audit.Topic)))
	auditLog := postgres.NewAuditLog(primary, replica)
	svc, keys, err := newAuth(cfg, users, auditLog, rdb, metrics, log)
	if err != nil {
		return nil, err
	}
	if err := startAuditLog(cfg, auditLog, p, metrics, log); err != nil {
		return nil, err
	}
	provider, err := newProvider(cfg, primary, users, rdb, log)
	if err != nil {
		return nil, err
	}
	p.Go("token cleanup", func(ctx context.Context) error { return cleanTokens(ctx, users, log) })
	// Reset requests still being stored finish before the pools close.
	p.Defer(func() error { svc.Drain(); return nil })

	dataKeys := grpcapi.NewDataKeyServer(users, metrics, log)
	err = gateway.ServeAPI(ctx, p, gateway.API{
		GRPCAddr: cfg.GRPCAddr,
		Register: func(s grpc.ServiceRegistrar) {
			ssov1.RegisterAuthServiceServer(s, grpcapi.NewAuthServer(svc, log))
			ssov1.RegisterUserServiceServer(s, grpcapi.NewUserServer(svc, log))
			ssov1.RegisterAccountServiceServer(s, grpcapi.NewAccountServer(svc, log))
			ssov1.RegisterSessionServiceServer(s, grpcapi.NewSessionServer(svc, log))
			ssov1.RegisterAdminServiceServer(s, grpcapi.NewAdminServer(svc, log).WithClients(oidc.NewAdmin(provider.Clients(), svc.AuthorizeAdmin)))
			// Internal: no REST handler below. Its answers open only
			// with the sealing ring.
			ssov1.RegisterUserDataKeyServiceServer(s, dataKeys)
		},
		Handlers: []gateway.RegisterFunc{
			ssov1.RegisterAuthServiceHandler, ssov1.RegisterUserServiceHandler, ssov1.RegisterAccountServiceHandler,
			ssov1.RegisterSessionServiceHandler, ssov1.RegisterAdminServiceHandler,
		},
		Title:          "sso API",
		Spec:           "sso.swagger.json",
		TrustedProxies: cfg.Proxies(),
		HTTP: server.HTTPConfig{
			Addr:      cfg.HTTPAddr,
			PprofAddr: cfg.PprofAddr,
			Metrics:   metrics,
			Routes: func(mux *http.ServeMux) error {
				// One key set: the EdDSA keys of the API's tokens and the
				// provider's RS256 key, which discovery points at.
				mux.Handle("GET "+oidc.JWKSPath, httpapi.JWKS(keys, provider.Key().JWK()))
				provider.Routes(mux, cfg.Proxies())
				httpapi.AccountPages(mux, accountPages{svc}, httpapi.PagesConfig{
					TrustedProxies:    cfg.Proxies(),
					PasswordMinLength: cfg.Password.MinLength,
					PasswordMaxLength: cfg.Password.MaxLength,
				}, log)
				httpapi.LoginPages(mux, provider, hostedLogin{svc, provider}, ssoredis.NewLoginCookies(rdb, cfg.Redis.KeyPrefix), httpapi.LoginConfig{
					TrustedProxies:    cfg.Proxies(),
					PasswordMinLength: cfg.Password.MinLength,
					PasswordMaxLength: cfg.Password.MaxLength,
					// The configuration allows plain http only for a
					// loopback issuer.
					InsecureCookies: strings.HasPrefix(cfg.OIDC.PublicURL, "http://"),
					// The sign-in's session is never refreshed itself, so
					// it lasts its idle lifetime (at most the family's).
					SessionTTL:  cfg.Tokens.RefreshTTL,
					RegisterURL: cfg.OIDC.RegisterURL,
					ResetURL:    cfg.OIDC.ResetURL,
					Throttle:    ssoredis.NewThrottle(rdb, cfg.Redis.KeyPrefix),
				}, log)
				return nil
			},
			Limits: bootstrap.HTTPLimits(cfg.Process),
		},
		MaxBodyBytes:   cfg.MaxBodyBytes,
		AllowedOrigins: cfg.CORSAllowedOrigins,
		GRPCMaxConns:   cfg.GRPCMaxConns,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// newRelay builds the outbox relay and its Kafka producer and Schema
// Registry client, which p releases after the relay has stopped, and
// registers the outbox metrics on reg. Neither client connects here, so sso
// starts while Kafka or the registry is down.
func newRelay(cfg config.Config, primary *sqlx.DB, p *server.Process, reg prometheus.Registerer, log *slog.Logger) (*outbox.Relay, error) {
	relayMetrics, err := outbox.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	if _, err := outbox.NewBacklog(reg, outbox.QueryBacklog(primary), 0, 0, log); err != nil {
		return nil, err
	}
	producer, err := outbox.NewProducer(cfg.Kafka.Brokers, cfg.Kafka.MessageTimeout)
	if err != nil {
		return nil, err
	}
	p.Defer(func() error { producer.Close(); return nil })
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(cfg.Kafka.SchemaRegistryURL))
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	p.Defer(registry.Close)
	// The serializer only looks up the schema of each event: the deploy
	// step (RegisterSchemas) registers it.
	ser, err := protobuf.NewSerializer(registry, serde.ValueSerde, schemas.SerializerConfig())
	if err != nil {
		return nil, fmt.Errorf("protobuf serializer: %w", err)
	}
	return outbox.NewRelay(primary, producer, registeredSchemas{ser}, outbox.Config{
		StaleAfter:     cfg.Outbox.StaleAfter,
		SweepInterval:  cfg.Outbox.SweepInterval,
		BatchSize:      cfg.Outbox.BatchSize,
		InitialBackoff: cfg.Outbox.InitialBackoff,
		MaxBackoff:     cfg.Outbox.MaxBackoff,
		MessageTimeout: cfg.Kafka.MessageTimeout,
		FlushTimeout:   cfg.ShutdownTimeout,
	}, log, outbox.WithMetrics(relayMetrics)), nil
}

// newAuth builds the use cases over their adapters, with their metrics on
// reg.
func newAuth(cfg config.Config, users *postgres.Users, auditLog *postgres.AuditLog, rdb goredis.UniversalClient,
	reg prometheus.Registerer, log *slog.Logger) (*auth.Service, *token.KeySet, error) {
	hashMetrics, err := password.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	authMetrics, err := auth.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	hasher, err := password.NewHasher(cfg.Password.HashParams(), password.WithMetrics(hashMetrics))
	if err != nil {
		return nil, nil, err
	}
	policy := password.Policy{MinLength: cfg.Password.MinLength, MaxLength: cfg.Password.MaxLength}
	if err := policy.Validate(); err != nil {
		return nil, nil, err
	}
	keys, err := loadKeys(cfg.Tokens)
	if err != nil {
		return nil, nil, fmt.Errorf("signing keys: %w", err)
	}
	tokenOpts := []token.IssuerOption{token.WithAudience(cfg.Tokens.Audience...)}
	if n := cfg.Tokens.VerifiedCacheSize; n > 0 {
		verified, err := token.NewVerifiedCache(n, reg)
		if err != nil {
			return nil, nil, err
		}
		tokenOpts = append(tokenOpts, token.WithVerifiedCache(verified))
	}
	svc, err := auth.NewService(auth.Deps{
		Users:     users,
		Accounts:  users,
		Sessions:  ssoredis.NewSessions(rdb, cfg.Redis.KeyPrefix, ssoredis.WaitForReplica(cfg.Redis.ReplicaAckTimeout)),
		Throttle:  ssoredis.NewThrottle(rdb, cfg.Redis.KeyPrefix, ssoredis.WaitForReplica(cfg.Redis.ReplicaAckTimeout)),
		Hasher:    hasher,
		Signer:    token.NewIssuer(keys, cfg.Tokens.Issuer, cfg.Tokens.AccessTTL, tokenOpts...),
		Policy:    policy,
		Directory: users,
		Audit:     users,
		AuditLog:  auditLog,
	}, auth.Config{AccessTTL: cfg.Tokens.AccessTTL, RefreshTTL: cfg.Tokens.RefreshTTL,
		FamilyTTL: cfg.Tokens.RefreshFamilyTTL, Limits: cfg.Limits(), Account: cfg.AccountConfig()}, log, auth.WithMetrics(authMetrics))
	return svc, keys, err
}

// newProvider builds the OpenID Connect provider over the same users,
// sessions (auth.Sessions families) and throttle store as the API.
func newProvider(cfg config.Config, primary *sqlx.DB, users *postgres.Users, rdb goredis.UniversalClient, log *slog.Logger) (*oidc.Provider, error) {
	key, err := oidc.LoadKey(cfg.OIDC.KeyFile, cfg.OIDC.CreateKey)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect key (SSO_OIDC_KEY_FILE): %w", err)
	}
	durable := ssoredis.WaitForReplica(cfg.Redis.ReplicaAckTimeout)
	return oidc.New(oidc.Config{
		Issuer:       cfg.OIDC.PublicURL,
		KeyPrefix:    cfg.Redis.KeyPrefix,
		AccessTTL:    cfg.Tokens.AccessTTL,
		IDTokenTTL:   cfg.OIDC.IDTokenTTL,
		CodeTTL:      cfg.OIDC.CodeTTL,
		AddressLimit: cfg.OIDC.AddressLimit,
		Lifetime:     auth.Lifetime{Idle: cfg.Tokens.RefreshTTL, Absolute: cfg.Tokens.RefreshFamilyTTL},
	}, oidc.Deps{
		Clients:  oidc.NewClients(primary),
		Sessions: ssoredis.NewSessions(rdb, cfg.Redis.KeyPrefix, durable),
		Users:    users,
		Redis:    rdb,
		Throttle: ssoredis.NewThrottle(rdb, cfg.Redis.KeyPrefix, durable),
		Key:      key,
		Audit:    users,
	}, log)
}

// Expired one-time tokens are deleted in batches this often; they are
// harmless (they no longer work), so a slow pace is enough.
const (
	tokenCleanupInterval = 10 * time.Minute
	tokenCleanupBatch    = 1000
)

// cleanTokens deletes expired one-time tokens until ctx ends. Every
// replica runs it; concurrent deletes of a batch only overlap.
func cleanTokens(ctx context.Context, users *postgres.Users, log *slog.Logger) error {
	tick := time.NewTicker(tokenCleanupInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for ctx.Err() == nil {
			n, err := users.DeleteExpiredTokens(ctx, tokenCleanupBatch)
			if err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, "delete expired one-time tokens", slog.Any("error", err))
				}
				break
			}
			if n < tokenCleanupBatch {
				break
			}
		}
	}
}

func loadKeys(c config.Tokens) (*token.KeySet, error) {
	if c.CreateKeys {
		return token.EnsureDir(c.KeysDir)
	}
	return token.LoadDir(c.KeysDir)
}

// Buffer sizes of each Redis connection. The client's defaults (32 KiB per
// connection, 128 KiB on pipeline connections, each way) are sized for large
// values; sso sends short keys and Lua calls and reads integers and tokens,
// and the largest thing it writes is a batch of revocation checks (256
// EXISTS, about 18 KiB). With the defaults the buffers were 4 MB of sso's
// steady heap, which the GC target then multiplies.
const (
	redisBuffer              = 4 << 10
	redisPipelineWriteBuffer = 32 << 10
)

func newRedis(c config.Redis) goredis.UniversalClient {
	o := &goredis.UniversalOptions{
		Addrs:    []string{c.Addr},
		Password: c.Password,
		DB:       c.DB,

		ReadBufferSize:          redisBuffer,
		WriteBufferSize:         redisBuffer,
		PipelineReadBufferSize:  redisBuffer,
		PipelineWriteBufferSize: redisPipelineWriteBuffer,
	}
	if len(c.SentinelAddrs) > 0 {
		// A master name makes it a Sentinel-backed failover client.
		o.Addrs, o.MasterName = c.SentinelAddrs, c.SentinelMaster
	}
	return goredis.NewUniversalClient(o)
}

// accountPages lets the account pages call the use cases.
type accountPages struct{ svc *auth.Service }

func (a accountPages) VerifyEmail(ctx context.Context, token string) error {
	return a.svc.VerifyEmail(ctx, token)
}

func (a accountPages) ResetPassword(ctx context.Context, token, newPassword, clientIP string) error {
	return a.svc.ResetPassword(ctx, auth.PasswordReset{Token: token, NewPassword: newPassword, ClientIP: clientIP})
}

// hostedLogin is what the hosted login pages use: sso's sign-in, and the
// provider's end of a session, which ends the applications' refresh
// families issued from it as well.
type hostedLogin struct {
	*auth.Service
	provider *oidc.Provider
}

func (h hostedLogin) EndBrowserSession(ctx context.Context, sid string) error {
	return h.provider.EndSession(ctx, sid)
}
