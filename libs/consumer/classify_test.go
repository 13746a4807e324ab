package consumer

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
)

// TestRegistryUnavailableTellsOutagesFromPoison runs the real deserializer
// against fake registries: only answers that say "the registry is not
// working" are waited for; anything that says "this value is bad" is poison.
func TestRegistryUnavailableTellsOutagesFromPoison(t *testing.T) {
	framed := []byte{0, 0, 0, 0, 7, 0, 0x0a, 0x01, 'x'} // magic, schema id 7, message index 0, payload
	tests := []struct {
		name        string
		status      int
		body        string
		closed      bool
		payload     []byte
		unavailable bool
	}{
		{"schema not found", http.StatusNotFound, `{"error_code":40403,"message":"Schema 7 not found"}`, false, framed, false},
		{"registry internal error", http.StatusInternalServerError, `{"error_code":50001,"message":"store"}`, false, framed, true},
		{"plain 503", http.StatusServiceUnavailable, `{"error_code":503,"message":"down"}`, false, framed, true},
		{"proxy error page", http.StatusBadGateway, `<html>bad gateway</html>`, false, framed, true},
		{"unauthorized", http.StatusUnauthorized, `{"error_code":401,"message":"no"}`, false, framed, true},
		{"connection refused", 0, "", true, framed, true},
		{"not registry framed", http.StatusOK, `{}`, false, []byte("plain text, no magic byte"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			if tt.closed {
				srv.Close()
			} else {
				t.Cleanup(srv.Close)
			}
			conf := schemaregistry.NewConfig(srv.URL)
			conf.MaxRetries = 0
			client, err := schemaregistry.NewClient(conf)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Close() })
			deser, err := protobuf.NewDeserializer(client, serde.ValueSerde, protobuf.NewDeserializerConfig())
			if err != nil {
				t.Fatal(err)
			}
			err = deser.DeserializeInto("t", tt.payload, &eventsv1.UserRegistered{})
			if err == nil {
				t.Fatal("deserialize succeeded against a failing registry")
			}
			if got := registryUnavailable(err); got != tt.unavailable {
				t.Errorf("registryUnavailable(%v) = %v, want %v", err, got, tt.unavailable)
			}
		})
	}
}
