package schemas_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/rest"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/schemas"
	"github.com/ssokit/platform/libs/testenv"
)

// registry is a client of the real registry whose subjects named by the
// test are deleted when it ends. Each role of a test (deploy step,
// producer, consumer) gets its own, so no cache hides the registry's
// answers.
func registry(t *testing.T) schemaregistry.Client {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.SchemaRegistryURL))
	c, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// topic is a topic name of this test alone; its subject is deleted at the
// end. Serializing needs no topic to exist: the subject is all the registry
// sees.
func topic(t *testing.T, prefix string) string {
	t.Helper()
	name := testenv.Name(t, prefix)
	t.Cleanup(func() {
		c, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := c.DeleteSubject(name+"-value", false); err == nil {
			_, _ = c.DeleteSubject(name+"-value", true)
		}
	})
	return name
}

func serializer(t *testing.T) *protobuf.Serializer {
	t.Helper()
	ser, err := protobuf.NewSerializer(registry(t), serde.ValueSerde, schemas.SerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	return ser
}

func deserializer(t *testing.T) *protobuf.Deserializer {
	t.Helper()
	deser, err := protobuf.NewDeserializer(registry(t), serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	return deser
}

func accountEvent(kind string) *eventsv1.AccountEvent {
	ev := &eventsv1.AccountEvent{
		EventId:    "6a0d1c53-3f0e-4c55-9b3a-2f3f8f6f0a11",
		UserId:     "1f0e2d3c-4b5a-4697-8877-665544332211",
		OccurredAt: timestamppb.New(time.Date(2026, 12, 7, 0, 30, 0, 0, time.UTC)),
	}
	switch kind {
	case "email_verified":
		ev.Kind = &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Email: "ada@example.test"}}
	case "password_changed":
		ev.Kind = &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{
			Email: "ada@example.test", Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET}}
	case "user_deleted":
		ev.Kind = &eventsv1.AccountEvent_UserDeleted{UserDeleted: &eventsv1.UserDeleted{}}
	}
	return ev
}

// previousAccountEvent is account_event.proto as it was before its newest
// kind: the oneof member with the highest number is removed from
// AccountEvent, with the message and enums only it used.
func previousAccountEvent(t *testing.T) (file protoreflect.FileDescriptor, removed string) {
	t.Helper()
	fdp := protodesc.ToFileDescriptorProto(eventsv1.File_events_v1_account_event_proto)
	envelope := fdp.MessageType[slices.IndexFunc(fdp.MessageType, func(m *descriptorpb.DescriptorProto) bool {
		return m.GetName() == "AccountEvent"
	})]
	var newest *descriptorpb.FieldDescriptorProto
	for _, f := range envelope.Field {
		if f.OneofIndex != nil && (newest == nil || f.GetNumber() > newest.GetNumber()) {
			newest = f
		}
	}
	envelope.Field = slices.DeleteFunc(envelope.Field, func(f *descriptorpb.FieldDescriptorProto) bool { return f == newest })
	typeName := newest.GetTypeName()[len(".events.v1."):]
	var used []string
	fdp.MessageType = slices.DeleteFunc(fdp.MessageType, func(m *descriptorpb.DescriptorProto) bool {
		if m.GetName() != typeName {
			return false
		}
		for _, f := range m.Field {
			if f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_ENUM {
				used = append(used, f.GetTypeName()[len(".events.v1."):])
			}
		}
		return true
	})
	fdp.EnumType = slices.DeleteFunc(fdp.EnumType, func(e *descriptorpb.EnumDescriptorProto) bool {
		return slices.Contains(used, e.GetName())
	})
	prev, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatalf("previous account_event.proto: %v", err)
	}
	return prev, newest.GetName()
}

// changedField is the current account_event.proto with one field of
// AccountEvent changed by change.
func changedField(t *testing.T, field string, change func(*descriptorpb.FieldDescriptorProto)) protoreflect.FileDescriptor {
	t.Helper()
	fdp := protodesc.ToFileDescriptorProto(eventsv1.File_events_v1_account_event_proto)
	for _, m := range fdp.MessageType {
		if m.GetName() != "AccountEvent" {
			continue
		}
		for _, f := range m.Field {
			if f.GetName() == field {
				change(f)
			}
		}
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatalf("changed account_event.proto: %v", err)
	}
	return fd
}

func TestCompatibilityLevelIsEnforcedAndNotFull(t *testing.T) {
	// FULL_TRANSITIVE would refuse adding a kind: the registry's protobuf
	// checker calls the older schema's lack of the new field a removal.
	prev, _ := previousAccountEvent(t)
	c := registry(t)
	subject := topic(t, "fullprobe") + "-value"
	if _, err := c.UpdateCompatibility(subject, schemaregistry.FullTransitive); err != nil {
		t.Fatal(err)
	}
	for i, fd := range []protoreflect.FileDescriptor{prev, eventsv1.File_events_v1_account_event_proto} {
		info, err := schemas.Info(c, fd)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Register(subject, info, false)
		var re *rest.Error
		switch {
		case i == 0 && err != nil:
			t.Fatalf("first version: %v", err)
		case i == 1 && (!errors.As(err, &re) || re.Code != http.StatusConflict):
			t.Fatalf("a new oneof member under FULL_TRANSITIVE: err = %v, want 409", err)
		}
	}
}

func TestRegisterSetsCompatibilityAndIsIdempotent(t *testing.T) {
	users, accounts := topic(t, "users"), topic(t, "accounts")
	step := registry(t)
	first, err := schemas.Register(step, schemas.Events(users, accounts))
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	again, err := schemas.Register(registry(t), schemas.Events(users, accounts))
	if err != nil {
		t.Fatalf("register again: %v", err)
	}
	if !slices.Equal(first, again) || len(first) != 2 {
		t.Fatalf("second run registered %+v, first %+v; want the same two versions", again, first)
	}
	for _, r := range first {
		if r.Version != 1 || r.ID <= 0 {
			t.Errorf("%+v: want version 1 with an id", r)
		}
		level, err := step.GetCompatibility(r.Subject)
		if err != nil {
			t.Fatal(err)
		}
		if level.String() != schemas.Compatibility {
			t.Errorf("%s: compatibility %s, want %s", r.Subject, level.String(), schemas.Compatibility)
		}
	}

	// A producer finds exactly the registered schemas, and a consumer
	// reads what it writes.
	ser, deser := serializer(t), deserializer(t)
	for i, tc := range []struct {
		topic string
		msg   proto.Message
		into  proto.Message
	}{
		{users, &eventsv1.UserRegistered{EventId: "e1", UserId: "u1", Email: "ada@example.test"}, &eventsv1.UserRegistered{}},
		{accounts, accountEvent("password_changed"), &eventsv1.AccountEvent{}},
	} {
		value, err := ser.Serialize(tc.topic, tc.msg)
		if err != nil {
			t.Fatalf("serialize to %s: %v", tc.topic, err)
		}
		if id := schemaID(value); id != first[i].ID {
			t.Errorf("%s: message carries schema id %d, want the registered %d", tc.topic, id, first[i].ID)
		}
		if err := deser.DeserializeInto(tc.topic, value, tc.into); err != nil {
			t.Fatalf("deserialize from %s: %v", tc.topic, err)
		}
		if !proto.Equal(tc.into, tc.msg) {
			t.Errorf("read %v, wrote %v", tc.into, tc.msg)
		}
	}
}

// schemaID is the id in the Confluent wire format's header.
func schemaID(value []byte) int {
	if len(value) < 5 || value[0] != 0 {
		return -1
	}
	return int(value[1])<<24 | int(value[2])<<16 | int(value[3])<<8 | int(value[4])
}

func TestProducerDoesNotRegister(t *testing.T) {
	accounts := topic(t, "unregistered")
	_, err := serializer(t).Serialize(accounts, accountEvent("email_verified"))
	var re *rest.Error
	if !errors.As(err, &re) || re.Code/100 != http.StatusNotFound {
		t.Fatalf("serialize with no schema registered: err = %v, want a registry 404", err)
	}
	if !schemas.IsNotRegistered(err) {
		t.Errorf("IsNotRegistered(%v) = false", err)
	}
	if _, err := registry(t).GetLatestSchemaMetadata(accounts + "-value"); err == nil {
		t.Fatal("the producer registered its schema")
	}
	// A subject holding another version of the schema is no better.
	prev, _ := previousAccountEvent(t)
	if _, err := schemas.Register(registry(t), []schemas.Subject{{Name: accounts + "-value", File: prev}}); err != nil {
		t.Fatal(err)
	}
	_, err = serializer(t).Serialize(accounts, accountEvent("email_verified"))
	if !schemas.IsNotRegistered(err) {
		t.Fatalf("serialize with only the previous schema registered: err = %v, want not registered", err)
	}
}

func TestEvolutionBetweenPreviousAndCurrentConsumers(t *testing.T) {
	accounts := topic(t, "evolution")
	subject := accounts + "-value"
	prev, removed := previousAccountEvent(t)
	prevEnvelope := prev.Messages().ByName("AccountEvent")

	// The deploy step of the previous release, then of this one.
	var ids []int
	for _, fd := range []protoreflect.FileDescriptor{prev, eventsv1.File_events_v1_account_event_proto} {
		r, err := schemas.Register(registry(t), []schemas.Subject{{Name: subject, File: fd}})
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		ids = append(ids, r[0].ID)
	}
	versions, err := registry(t).GetAllVersions(subject)
	if err != nil || !slices.Equal(versions, []int{1, 2}) {
		t.Fatalf("versions %v (%v), want [1 2]", versions, err)
	}

	t.Run("previous consumer reads a new kind and skips it", func(t *testing.T) {
		sent := accountEvent(removed)
		value, err := serializer(t).Serialize(accounts, sent)
		if err != nil {
			t.Fatal(err)
		}
		if schemaID(value) != ids[1] {
			t.Fatalf("schema id %d, want the current %d", schemaID(value), ids[1])
		}
		got := dynamicpb.NewMessage(prevEnvelope)
		if err := deserializer(t).DeserializeInto(accounts, value, got); err != nil {
			t.Fatalf("previous consumer: %v", err)
		}
		if od := got.WhichOneof(prevEnvelope.Oneofs().ByName("kind")); od != nil {
			t.Errorf("kind = %s, want unset", od.Name())
		}
		if id := got.Get(prevEnvelope.Fields().ByName("event_id")).String(); id != sent.GetEventId() {
			t.Errorf("event_id = %q, want %q", id, sent.GetEventId())
		}
		if len(got.GetUnknown()) == 0 {
			t.Error("the new kind is neither decoded nor kept as unknown")
		}
	})

	t.Run("previous consumer reads a kind it knows from the new producer", func(t *testing.T) {
		value, err := serializer(t).Serialize(accounts, accountEvent("email_verified"))
		if err != nil {
			t.Fatal(err)
		}
		got := dynamicpb.NewMessage(prevEnvelope)
		if err := deserializer(t).DeserializeInto(accounts, value, got); err != nil {
			t.Fatal(err)
		}
		od := got.WhichOneof(prevEnvelope.Oneofs().ByName("kind"))
		if od == nil || od.Name() != "email_verified" {
			t.Fatalf("kind = %v, want email_verified", od)
		}
		email := got.Get(od).Message().Get(od.Message().Fields().ByName("email")).String()
		if email != "ada@example.test" {
			t.Errorf("email = %q", email)
		}
	})

	t.Run("new consumer reads old events", func(t *testing.T) {
		old := dynamicpb.NewMessage(prevEnvelope)
		if err := proto.Unmarshal(mustMarshal(t, accountEvent("email_verified")), old); err != nil {
			t.Fatal(err)
		}
		value, err := serializer(t).Serialize(accounts, old)
		if err != nil {
			t.Fatalf("previous producer: %v", err)
		}
		if schemaID(value) != ids[0] {
			t.Fatalf("schema id %d, want the previous %d", schemaID(value), ids[0])
		}
		got := &eventsv1.AccountEvent{}
		if err := deserializer(t).DeserializeInto(accounts, value, got); err != nil {
			t.Fatalf("current consumer: %v", err)
		}
		if !proto.Equal(got, accountEvent("email_verified")) {
			t.Errorf("read %v", got)
		}
	})
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIncompatibleChangeIsRefused(t *testing.T) {
	tests := []struct {
		name   string
		change protoreflect.FileDescriptor
	}{
		{"field type changed", changedField(t, "user_id", func(f *descriptorpb.FieldDescriptorProto) {
			f.Type = descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum()
		})},
		{"field renumbered", changedField(t, "user_id", func(f *descriptorpb.FieldDescriptorProto) {
			f.Number = proto.Int32(9)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := topic(t, "incompatible") + "-value"
			if _, err := schemas.Register(registry(t), []schemas.Subject{{Name: subject, File: eventsv1.File_events_v1_account_event_proto}}); err != nil {
				t.Fatal(err)
			}
			_, err := schemas.Register(registry(t), []schemas.Subject{{Name: subject, File: tt.change}})
			var re *rest.Error
			if !errors.Is(err, schemas.ErrIncompatible) || !errors.As(err, &re) || re.Code != http.StatusConflict {
				t.Fatalf("err = %v, want ErrIncompatible from a 409", err)
			}
			t.Logf("refused: %v", err)
			if versions, err := registry(t).GetAllVersions(subject); err != nil || !slices.Equal(versions, []int{1}) {
				t.Errorf("versions %v (%v), want only [1]", versions, err)
			}
		})
	}
}
