package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
)

// pyRequirements installs what the Python reader needs; `go tool task test`
// runs it before the tests.
const pyRequirements = "deploy/tools/python-venv.sh -r services/e2e/pyclient/requirements.txt"

// pyEvent is one JSON line of services/e2e/pyclient/read_events.py.
type pyEvent struct {
	Topic         string             `json:"topic"`
	Key           string             `json:"key"`
	SchemaID      int                `json:"schema_id"`
	Type          string             `json:"type"`
	Oneofs        map[string]*string `json:"oneofs"`
	UnknownFields []int              `json:"unknown_fields"`
	Event         json.RawMessage    `json:"event"`
	// Personal is the sealed personal data as the reader opened it (or
	// could not); null for an event without any.
	Personal *struct {
		Email    string `json:"email"`
		FullName string `json:"full_name"`
		Sealed   bool   `json:"sealed"`
		Error    string `json:"error"`
	} `json:"personal"`
}

// newerKindField is a field number the kind oneof of AccountEvent does not
// use yet: a kind added after the registered schema.
const newerKindField = 99

// TestPythonClientReadsEveryEventType proves that a client in another
// language reads every event type with only what the registry holds: the Go
// serializer sso's relay uses registers each schema under <topic>-value and
// frames the values, and the Python reader, which has no code generated
// from our .proto files, fetches the schemas by the ids in the frames,
// compiles them and decodes every field. It also reads a value whose writer
// knew a kind the registered schema lacks (a producer rolled out before its
// schema, writing under the registered id): the reader reports the kind as
// unknown and goes on.
func TestPythonClientReadsEveryEventType(t *testing.T) {
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	python := pythonVenv(t)
	ctx := testenv.Context(t, 3*time.Minute)
	userTopic := testenv.Name(t, "py_user_registered")
	accountTopic := testenv.Name(t, "py_account_events")
	group := testenv.Name(t, "py_reader")
	for _, topic := range []string{userTopic, accountTopic} {
		createTopic(t, topic)
		t.Cleanup(func() { deleteTopicAndSubjects(topic) })
	}
	t.Cleanup(func() { deleteGroup(group) })

	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { registry.Close() })
	ser, err := protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}

	at := func(s string) *timestamppb.Timestamp {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return timestamppb.New(ts)
	}
	// Tokens sealed as sso seals them, so that opening what the reader
	// decoded proves its bytes exact.
	keyLine, err := sealbox.NewKeyLine("2026-12")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sealbox.Parse([]byte(keyLine))
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	sealed := func(purpose, userID, eventID string) *eventsv1.SealedSecret {
		token := "token-for-" + eventID
		s, err := ring.Seal([]byte(token), sealbox.AAD(purpose, userID, eventID))
		if err != nil {
			t.Fatal(err)
		}
		tokens[eventID] = token
		return s
	}
	const user = "7d0f3c1e-5b7a-4f61-9a44-2f6f4d1c8b10"
	// Personal data sealed as sso seals it, under the user's data key,
	// which the reader is given; an erased user's key it is not.
	dataKey, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	personal := func(userID, eventID string, key []byte) *eventsv1.SealedPersonal {
		p, err := sealbox.SealPersonal(key, sealbox.DataKeyVersion, userID, eventID, &eventsv1.PersonalData{Email: "grace@example.test", FullName: "Grace Hopper"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	registered := &eventsv1.UserRegistered{
		EventId: "e0000000-0000-4000-8000-000000000001", UserId: user,
		RegisteredAt: at("2026-12-01T10:00:00.123456Z"),
		Personal:     personal(user, "e0000000-0000-4000-8000-000000000001", dataKey),
	}
	const erasedUser = "7d0f3c1e-5b7a-4f61-9a44-2f6f4d1c8b11"
	goneKey, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	erased := &eventsv1.UserRegistered{
		EventId: "e0000000-0000-4000-8000-000000000008", UserId: erasedUser,
		RegisteredAt: at("2026-12-01T11:00:00Z"),
		Personal:     personal(erasedUser, "e0000000-0000-4000-8000-000000000008", goneKey),
	}
	account := []*eventsv1.AccountEvent{
		{EventId: "e0000000-0000-4000-8000-000000000002", UserId: user, OccurredAt: at("2026-12-01T10:00:01Z"),
			Kind: &eventsv1.AccountEvent_EmailVerificationRequested{EmailVerificationRequested: &eventsv1.EmailVerificationRequested{
				Email: "grace@example.test", Token: sealed("email-verification", user, "e0000000-0000-4000-8000-000000000002"), ExpiresAt: at("2026-12-02T10:00:01Z")}}},
		{EventId: "e0000000-0000-4000-8000-000000000003", UserId: user, OccurredAt: at("2026-12-01T10:05:00Z"),
			Kind: &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Personal: personal(user, "e0000000-0000-4000-8000-000000000003", dataKey)}}},
		{EventId: "e0000000-0000-4000-8000-000000000004", UserId: user, OccurredAt: at("2026-12-03T08:00:00Z"),
			Kind: &eventsv1.AccountEvent_PasswordResetRequested{PasswordResetRequested: &eventsv1.PasswordResetRequested{
				Email: "grace@example.test", Token: sealed("password-reset", user, "e0000000-0000-4000-8000-000000000004"), ExpiresAt: at("2026-12-03T08:30:00Z")}}},
		{EventId: "e0000000-0000-4000-8000-000000000005", UserId: user, OccurredAt: at("2026-12-03T08:10:00Z"),
			Kind: &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{
				Email: "grace@example.test", Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET}}},
		{EventId: "e0000000-0000-4000-8000-000000000006", UserId: user, OccurredAt: at("2026-12-04T09:00:00Z"),
			Kind: &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{
				Email: "grace@example.test", Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE}}},
	}
	wantKind := map[string]string{
		account[0].EventId: "email_verification_requested",
		account[1].EventId: "email_verified",
		account[2].EventId: "password_reset_requested",
		account[3].EventId: "password_changed",
		account[4].EventId: "password_changed",
	}
	// The newer kind: an envelope with no kind this schema knows, followed
	// by a field the registered schema does not have.
	newer := &eventsv1.AccountEvent{EventId: "e0000000-0000-4000-8000-000000000007", UserId: user, OccurredAt: at("2026-12-05T12:00:00Z")}

	want := map[string]proto.Message{registered.EventId: registered, erased.EventId: erased, newer.EventId: newer}
	produceFramed(t, userTopic, user, frame(t, ser, userTopic, registered))
	produceFramed(t, userTopic, erasedUser, frame(t, ser, userTopic, erased))
	for _, ev := range account {
		want[ev.EventId] = ev
		produceFramed(t, accountTopic, user, frame(t, ser, accountTopic, ev))
	}
	newerValue := frame(t, ser, accountTopic, newer)
	newerKind := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "grace@example.test")
	newerValue = protowire.AppendTag(newerValue, newerKindField, protowire.BytesType)
	newerValue = protowire.AppendBytes(newerValue, newerKind)
	produceFramed(t, accountTopic, user, newerValue)

	schemaIDs := map[string]int{}
	for _, topic := range []string{userTopic, accountTopic} {
		md, err := registry.GetLatestSchemaMetadata(topic + "-value")
		if err != nil {
			t.Fatalf("%s-value is not in the registry: %v", topic, err)
		}
		schemaIDs[topic] = md.ID
	}

	lines := runPythonReader(ctx, t, python, group, len(want), map[string][]byte{user: dataKey}, userTopic, accountTopic)
	got := map[string]pyEvent{}
	for _, line := range lines {
		var ev pyEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("reader printed %q: %v", line, err)
		}
		var ids struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(ev.Event, &ids); err != nil || ids.EventID == "" {
			t.Fatalf("reader printed an event without event_id: %s", line)
		}
		got[ids.EventID] = ev
	}
	if len(got) != len(want) {
		t.Fatalf("reader returned %d distinct events, want %d:\n%s", len(got), len(want), strings.Join(lines, "\n"))
	}

	for id, sent := range want {
		ev, ok := got[id]
		if !ok {
			t.Errorf("event %s not read", id)
			continue
		}
		topic, typ, key := accountTopic, "events.v1.AccountEvent", user
		switch id {
		case registered.EventId:
			topic, typ = userTopic, "events.v1.UserRegistered"
		case erased.EventId:
			topic, typ, key = userTopic, "events.v1.UserRegistered", erasedUser
		}
		if ev.Topic != topic || ev.Type != typ || ev.Key != key || ev.SchemaID != schemaIDs[topic] {
			t.Errorf("event %s: topic %q type %q key %q schema %d, want %q %q %q %d",
				id, ev.Topic, ev.Type, ev.Key, ev.SchemaID, topic, typ, key, schemaIDs[topic])
		}
		// The sealed personal data: opened with the key given, not without.
		switch p := ev.Personal; id {
		case registered.EventId, account[1].EventId:
			if p == nil || p.Email != "grace@example.test" || p.Sealed || id == registered.EventId && p.FullName != "Grace Hopper" {
				t.Errorf("event %s: personal data as read %+v, want grace@example.test, Grace Hopper", id, p)
			}
		case erased.EventId:
			if p == nil || !p.Sealed || p.Error == "" || p.Email != "" {
				t.Errorf("the erased user's event: personal data as read %+v, want sealed and unreadable", p)
			}
		default:
			if p != nil {
				t.Errorf("event %s carries no sealed data, the reader reports %+v", id, p)
			}
		}
		// Every field, through protobuf's JSON mapping, which both
		// languages implement: the Python decoding equals what Go sent.
		decoded := sent.ProtoReflect().New().Interface()
		if err := protojson.Unmarshal(ev.Event, decoded); err != nil {
			t.Errorf("event %s: reader's JSON does not fit the schema: %v\n%s", id, err, ev.Event)
		} else if !proto.Equal(decoded, sent) {
			t.Errorf("event %s: reader decoded\n%s\nwant\n%s", id, ev.Event, protojson.Format(sent))
		}
		if typ != "events.v1.AccountEvent" {
			continue
		}
		kind := ev.Oneofs["kind"]
		switch {
		case id == newer.EventId:
			if kind != nil || !slices.Equal(ev.UnknownFields, []int{newerKindField}) {
				t.Errorf("newer kind: reader reported kind %v and unknown fields %v, want none and [%d]",
					deref(kind), ev.UnknownFields, newerKindField)
			}
		case kind == nil || *kind != wantKind[id]:
			t.Errorf("event %s: kind %v, want %s", id, deref(kind), wantKind[id])
		case len(ev.UnknownFields) != 0:
			t.Errorf("event %s: unknown fields %v in an event of a known kind", id, ev.UnknownFields)
		}
	}

	// The sealed tokens, as a reader that passes them on to a mail sender
	// sees them: key id as text, nonce and ciphertext in standard base64,
	// which open to the very tokens sealed.
	for _, c := range []struct{ eventID, kind, purpose string }{
		{account[0].EventId, "email_verification_requested", "email-verification"},
		{account[2].EventId, "password_reset_requested", "password-reset"},
	} {
		var ev map[string]json.RawMessage
		var read struct {
			Email string `json:"email"`
			Token struct {
				KeyID      string `json:"key_id"`
				Nonce      string `json:"nonce"`
				Ciphertext string `json:"ciphertext"`
			} `json:"token"`
		}
		if err := json.Unmarshal(got[c.eventID].Event, &ev); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ev[c.kind], &read); err != nil {
			t.Fatalf("%s as read: %v", c.kind, err)
		}
		nonce, errN := base64.StdEncoding.DecodeString(read.Token.Nonce)
		ciphertext, errC := base64.StdEncoding.DecodeString(read.Token.Ciphertext)
		if read.Email != "grace@example.test" || read.Token.KeyID != "2026-12" || errN != nil || errC != nil {
			t.Errorf("%s as read: %+v", c.kind, read)
			continue
		}
		opened, err := ring.Open(&eventsv1.SealedSecret{KeyId: read.Token.KeyID, Nonce: nonce, Ciphertext: ciphertext},
			sealbox.AAD(c.purpose, user, c.eventID))
		if err != nil || string(opened) != tokens[c.eventID] {
			t.Errorf("%s: the token as read does not open to the one sealed (%v)", c.kind, err)
		}
	}
}

// TestPythonClientResolvesReferencesAndNestedMessages covers the parts of
// the recipe our events do not use yet: a schema that imports another file,
// registered as its own subject and named in the references, and a value
// whose message index path names a nested message.
func TestPythonClientResolvesReferencesAndNestedMessages(t *testing.T) {
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	python := pythonVenv(t)
	ctx := testenv.Context(t, 3*time.Minute)
	topic := testenv.Name(t, "py_refs")
	common := topic + "-common"
	group := testenv.Name(t, "py_reader")
	createTopic(t, topic)
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { registry.Close() })
	t.Cleanup(func() { deleteGroup(group) })
	t.Cleanup(func() {
		deleteTopicAndSubjects(topic) // the referring subject first
		_, _ = registry.DeleteSubject(common, false)
		_, _ = registry.DeleteSubject(common, true)
	})

	if _, err := registry.Register(common, schemaregistry.SchemaInfo{SchemaType: "PROTOBUF", Schema: `syntax = "proto3";
package demo.v1;
message Address { string city = 1; }
`}, false); err != nil {
		t.Fatalf("register %s: %v", common, err)
	}
	id, err := registry.Register(topic+"-value", schemaregistry.SchemaInfo{SchemaType: "PROTOBUF", Schema: `syntax = "proto3";
package demo.v1;
import "demo/v1/common.proto";
message Envelope {
  string id = 1;
  Address home = 2;
  message Inner { int64 n = 1; }
}
`, References: []schemaregistry.Reference{{Name: "demo/v1/common.proto", Subject: common, Version: 1}}}, false)
	if err != nil {
		t.Fatalf("register %s-value: %v", topic, err)
	}

	// The framing by hand: magic byte, schema id, zigzag varint count and
	// indexes ([0] is written as the single byte 0).
	framed := func(indexes []byte, payload []byte) []byte {
		v := []byte{0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
		return append(append(v, indexes...), payload...)
	}
	address := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "Arlington")
	envelope := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "env-1")
	envelope = protowire.AppendBytes(protowire.AppendTag(envelope, 2, protowire.BytesType), address)
	inner := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1<<40)
	produceFramed(t, topic, "k1", framed([]byte{0}, envelope))
	produceFramed(t, topic, "k2", framed([]byte{4, 0, 0}, inner)) // [0, 0]: Envelope.Inner

	lines := runPythonReader(ctx, t, python, group, 2, nil, topic)
	want := []string{
		`{"type":"demo.v1.Envelope","event":{"home":{"city":"Arlington"},"id":"env-1"}}`,
		`{"type":"demo.v1.Envelope.Inner","event":{"n":"1099511627776"}}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("reader printed %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		var ev pyEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("reader printed %q: %v", line, err)
		}
		got, _ := json.Marshal(struct {
			Type  string          `json:"type"`
			Event json.RawMessage `json:"event"`
		}{ev.Type, compactJSON(t, ev.Event)})
		if string(got) != want[i] || ev.SchemaID != id {
			t.Errorf("line %d: %s (schema %d), want %s (schema %d)", i, got, ev.SchemaID, want[i], id)
		}
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v) // keys sorted, no spaces
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegistrySerializedFormatIsNotBase64 pins down why the Python reader
// compiles the schema text itself: the registry we run answers
// format=serialized with the descriptor's raw bytes in the JSON string,
// where Confluent's clients expect base64. When this fails, the registry
// answers base64 and confluent-kafka's own registry path may work: revisit
// the README's "Reading the events from other languages".
func TestRegistrySerializedFormatIsNotBase64(t *testing.T) {
	testenv.Require(t, testenv.HostPort(testenv.SchemaRegistryURL))
	topic := testenv.Name(t, "py_serialized")
	t.Cleanup(func() { deleteTopicAndSubjects(topic) })
	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { registry.Close() })
	ser, err := protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	frame(t, ser, topic, &eventsv1.UserRegistered{EventId: "e", UserId: "u"})
	md, err := registry.GetLatestSchemaMetadata(topic + "-value")
	if err != nil {
		t.Fatal(err)
	}

	get := func(query string) string {
		resp, err := http.Get(fmt.Sprintf("%s/schemas/ids/%d%s", testenv.SchemaRegistryURL, md.ID, query))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Schema string `json:"schema"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET schema %d%s: %d %v", md.ID, query, resp.StatusCode, err)
		}
		return body.Schema
	}
	if text := get(""); !strings.Contains(text, "message UserRegistered") {
		t.Errorf("schema text, which the Python reader relies on, is not .proto text: %q", text)
	}
	serialized := get("?format=serialized")
	if _, err := base64.StdEncoding.DecodeString(serialized); err == nil {
		t.Errorf("format=serialized is base64 now (%q): confluent-kafka's registry path may work", serialized)
	}
	if !strings.Contains(serialized, "UserRegistered") || !strings.ContainsRune(serialized, '\ufffd') {
		t.Errorf("format=serialized changed shape, no longer raw descriptor bytes: %q", serialized)
	}
}

// pythonVenv returns the venv's interpreter with the reader's packages, and
// fails the test when either is missing.
func pythonVenv(t *testing.T) string {
	t.Helper()
	python := filepath.Join(repoRoot(), ".local", "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("no Python venv at %s (%v): run %s", python, err, pyRequirements)
	}
	out, err := exec.Command(python, "-c", "import confluent_kafka.schema_registry, grpc_tools.protoc, google.protobuf").CombinedOutput()
	if err != nil {
		t.Fatalf("the venv lacks the reader's packages (%v): run %s\n%s", err, pyRequirements, out)
	}
	return python
}

// runPythonReader runs the reader until it has printed n events.
func runPythonReader(ctx context.Context, t *testing.T, python, group string, n int, dataKeys map[string][]byte, topics ...string) []string {
	t.Helper()
	args := []string{filepath.Join(repoRoot(), "services", "e2e", "pyclient", "read_events.py"),
		"--brokers", testenv.KafkaBrokers, "--registry", testenv.SchemaRegistryURL,
		"--group", group, "--count", fmt.Sprint(n), "--timeout", "90"}
	for _, topic := range topics {
		args = append(args, "--topic", topic)
	}
	for user, key := range dataKeys {
		args = append(args, "--data-key", user+"="+base64.StdEncoding.EncodeToString(key))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python reader: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return strings.FieldsFunc(stdout.String(), func(r rune) bool { return r == '\n' })
}

// frame serializes msg as sso's relay does: the Confluent protobuf
// serializer, registering the schema under <topic>-value.
func frame(t *testing.T, ser *protobuf.Serializer, topic string, msg proto.Message) []byte {
	t.Helper()
	v, err := ser.Serialize(topic, msg)
	if err != nil {
		t.Fatalf("serialize %T: %v", msg, err)
	}
	return v
}

func produceFramed(t *testing.T, topic, key string, value []byte) {
	t.Helper()
	produce(t, topic, []byte(key), value, nil)
}

func createTopic(t *testing.T, topic string) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.CreateTopics(testenv.Context(t, 30*time.Second),
		[]kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("create topic %s: %v %v", topic, err, res)
	}
}

// deleteGroup removes a consumer group the test made.
func deleteGroup(group string) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = admin.DeleteConsumerGroups(ctx, []string{group})
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}
