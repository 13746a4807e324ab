package otelkafka

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier adapts the headers of a confluent-kafka-go message to a
// propagation.TextMapCarrier. Headers points at the message's slice so Set
// can grow it; use HeaderCarrier{Headers: &msg.Headers}.
type HeaderCarrier struct {
	Headers *[]kafka.Header
}

var _ propagation.TextMapCarrier = HeaderCarrier{}

// Get returns the value of the first header named key, or "" when there is
// none.
func (c HeaderCarrier) Get(key string) string {
	if c.Headers == nil {
		return ""
	}
	for _, h := range *c.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set stores value under key, replacing every header already named key, so
// a message re-published with a new trace context never carries two
// traceparent headers.
func (c HeaderCarrier) Set(key, value string) {
	if c.Headers == nil {
		return
	}
	hs := (*c.Headers)[:0:0]
	for _, h := range *c.Headers {
		if h.Key != key {
			hs = append(hs, h)
		}
	}
	*c.Headers = append(hs, kafka.Header{Key: key, Value: []byte(value)})
}

// Keys returns the distinct header names, in order of first appearance.
func (c HeaderCarrier) Keys() []string {
	if c.Headers == nil {
		return nil
	}
	keys := make([]string, 0, len(*c.Headers))
	seen := make(map[string]bool, len(*c.Headers))
	for _, h := range *c.Headers {
		if !seen[h.Key] {
			seen[h.Key] = true
			keys = append(keys, h.Key)
		}
	}
	return keys
}
