package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// readAll returns every message on topic from the beginning that arrives
// before the topic has been quiet for idle.
func readAll(t *testing.T, topic string, idle time.Duration) []*kafka.Message {
	t.Helper()
	c := kafkatest.Reader(t, "e2e-reader-"+randomHex(4), topic)
	defer c.Close()
	var out []*kafka.Message
	deadline := time.Now().Add(30 * time.Second)
	last := time.Now()
	for time.Now().Before(deadline) && time.Since(last) < idle {
		m, err := c.ReadMessage(500 * time.Millisecond)
		var kerr kafka.Error
		if errors.As(err, &kerr) && (kerr.IsTimeout() || kerr.Code() == kafka.ErrUnknownTopicOrPart) {
			continue
		}
		if err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		out = append(out, m)
		last = time.Now()
	}
	return out
}

// produce writes raw bytes to a topic, as a misbehaving or replaying
// producer would.
func produce(t *testing.T, topic string, key, value []byte, headers []kafka.Header) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers, "acks": "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan kafka.Event, 1)
	if err := p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            key, Value: value, Headers: headers,
	}, done); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-done:
		if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatalf("produce: %v", m.TopicPartition.Error)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("produce: no delivery report")
	}
}

func header(m *kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// deleteTopicAndSubjects removes what a run created in Kafka and the
// registry: the event topic, its dead-letter topics and the value subject.
func deleteTopicAndSubjects(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers}); err == nil {
		md, err := admin.GetMetadata(nil, true, 10_000)
		if err == nil {
			var doomed []string
			for name := range md.Topics {
				if name == topic || len(name) > len(topic) && name[:len(topic)+1] == topic+"." {
					doomed = append(doomed, name)
				}
			}
			if len(doomed) > 0 {
				_, _ = admin.DeleteTopics(ctx, doomed)
			}
		}
		admin.Close()
	}
	for _, permanent := range []string{"", "?permanent=true"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodDelete,
			testenv.SchemaRegistryURL+"/subjects/"+topic+"-value"+permanent, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}

// stack runs deploy/local/stack to stop or start one shared component, the
// way an operator would; the component is always started again when the
// test ends.
func stack(t *testing.T, verb, component string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(), "deploy", "local", "stack"), verb, component)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stack %s %s: %v\n%s", verb, component, err, out)
	}
}

// stopped stops a shared component for the rest of the test.
func stopped(t *testing.T, component string) {
	t.Helper()
	stack(t, "down", component)
	t.Cleanup(func() { stack(t, "up", component) })
}

var _ = fmt.Sprint

// settled waits until both consumers have handled and committed everything
// on the system's topic, so that a test can then check that nothing more
// happened (no second mail, no second credit) without guessing a sleep.
func (s *system) settled(t *testing.T) {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, group := range []string{"e2e-loyalty-" + s.suffix, "e2e-notifier-" + s.suffix} {
		var lag int64
		if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
			lag, err = kafkatest.Lag(ctx, admin, group, s.topic)
			return err == nil && lag == 0
		}) {
			t.Fatalf("group %s never caught up on %s: lag %d, %v", group, s.topic, lag, err)
		}
	}
}
