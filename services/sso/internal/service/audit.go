package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/sso/internal/auditfeed"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/postgres"
)

// startAuditLog runs the consumer that fills the audit log from the audit
// topic and the loop that prunes it. Like the relay, neither makes sso
// unready while Kafka is down: the entries wait in the outbox or the
// topic, and the log catches up when it is back.
func startAuditLog(cfg config.Config, store *postgres.AuditLog, p *server.Process, reg prometheus.Registerer, log *slog.Logger) error {
	handler, err := auditfeed.NewHandler(store, reg, log)
	if err != nil {
		return err
	}
	consumerMetrics, err := consumer.NewMetrics(reg)
	if err != nil {
		return err
	}
	c, err := consumer.New(consumer.Config{
		Brokers:           cfg.Kafka.Brokers,
		GroupID:           cfg.Audit.GroupID,
		Topic:             cfg.Audit.Topic,
		SchemaRegistryURL: cfg.Kafka.SchemaRegistryURL,
		DeadLetterTopic:   cfg.Audit.DeadLetterTopic,
		Observer:          consumerMetrics.Observer(cfg.Audit.GroupID, cfg.Audit.Topic),
	}, func() *eventsv1.AuditEvent { return &eventsv1.AuditEvent{} }, handler.AuditEvent, log)
	if err != nil {
		return err
	}
	p.Defer(c.Close) // a no-op once Run has returned: Run closes the consumer
	p.Go("audit consumer", c.Run)
	p.Go("audit retention", func(ctx context.Context) error {
		pruneAudit(ctx, store, cfg.Audit.Retention, cfg.Audit.PruneInterval, log)
		return nil
	})
	return nil
}

// auditPruneBatch bounds one delete, so pruning a large backlog never
// holds long locks or a long transaction.
const auditPruneBatch = 1000

// pruneAudit deletes entries older than retention every interval until ctx
// ends. Every replica runs it; concurrent deletes of a batch only overlap.
func pruneAudit(ctx context.Context, store *postgres.AuditLog, retention, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			n, err := store.Prune(ctx, time.Now().Add(-retention), auditPruneBatch)
			if err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, "prune audit log", slog.Any("error", err))
				}
				break
			}
			if n > 0 {
				log.InfoContext(ctx, "audit log pruned", slog.Int64("entries", n), slog.String("retention", retention.String()))
			}
			if n < auditPruneBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
