package service

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/schemas"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/outbox"
)

// RegisterSchemas is `sso schemas register`, the deploy step that gives the
// subjects of sso's event topics their compatibility level and registers
// the schemas this build writes. It must run before a new build publishes:
// the relay registers nothing itself. It fails, naming the subject and the
// registry's reason, when a schema breaks compatibility with a version
// already registered.
func RegisterSchemas(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	client, err := schemaregistry.NewClient(schemaregistry.NewConfig(cfg.Kafka.SchemaRegistryURL))
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	defer client.Close()
	subjects := append(schemas.Events(cfg.Events.Topic, cfg.Events.AccountTopic),
		schemas.ValueSubject(cfg.Audit.Topic, eventsv1.File_events_v1_audit_event_proto))
	done, err := schemas.Register(client, subjects)
	for _, r := range done {
		log.InfoContext(ctx, "schema registered", slog.String("subject", r.Subject), slog.Int("version", r.Version),
			slog.Int("id", r.ID), slog.String("compatibility", schemas.Compatibility))
	}
	return err
}

// registeredSchemas tells, in the error the relay stores and logs, what to
// run when a schema sso writes is missing from the registry. The row stays
// in the outbox and is retried, so registering it is all it takes.
type registeredSchemas struct{ outbox.Serializer }

func (s registeredSchemas) Serialize(topic string, msg any) ([]byte, error) {
	b, err := s.Serializer.Serialize(topic, msg)
	if schemas.IsNotRegistered(err) {
		return nil, fmt.Errorf("schema for topic %s is not registered (run `sso schemas register`): %w", topic, err)
	}
	return b, err
}
