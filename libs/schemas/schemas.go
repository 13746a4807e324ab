// Package schemas registers the protobuf schemas of the events in the
// Schema Registry and guards their evolution: each subject gets the
// compatibility level BACKWARD_TRANSITIVE before its schema is registered,
// so the registry refuses a schema that a consumer built against any earlier
// version could not read. Producers do not register schemas themselves (they
// look their own schema up and fail when it is missing), so this package,
// run by a deploy step (`sso schemas register`), is the one writer of the
// event subjects.
//
// The schema text is what confluent-kafka-go's protobuf serializer derives
// from the same compiled descriptor (the file printed without comments), so
// the serializer's lookup by schema finds the registered version. Like the
// serializer, it leaves the well-known google/protobuf files out of the
// references: the registry knows them.
package schemas

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/rest"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/jhump/protoreflect/desc"
	"github.com/jhump/protoreflect/desc/protoprint"
	"google.golang.org/protobuf/reflect/protoreflect"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
)

// Compatibility is the level every event subject gets. BACKWARD_TRANSITIVE:
// a consumer built against any registered version reads what the newest
// schema writes. FULL_TRANSITIVE would be stricter, but the registry's
// protobuf checker then counts a new field, even a new member of a oneof,
// as a field the old schema "removed without reservation", which would
// forbid the very change the AccountEvent envelope is made for.
const Compatibility = "BACKWARD_TRANSITIVE"

// level is Compatibility for the registry client.
const level = schemaregistry.Compatibility(schemaregistry.BackwardTransitive)

// ErrIncompatible is returned when the registry refuses a schema because it
// breaks the compatibility of its subject.
var ErrIncompatible = errors.New("refused by the registry as incompatible")

// Subject is a registry subject and the protobuf file whose schema it
// holds.
type Subject struct {
	Name string
	File protoreflect.FileDescriptor
}

// ValueSubject is the subject of the values of topic under the
// serializers' default TopicNameStrategy: "<topic>-value".
func ValueSubject(topic string, file protoreflect.FileDescriptor) Subject {
	return Subject{Name: topic + "-value", File: file}
}

// Events are the subjects of the project's event topics: UserRegistered on
// userRegisteredTopic, AccountEvent on accountEventsTopic.
func Events(userRegisteredTopic, accountEventsTopic string) []Subject {
	return []Subject{
		ValueSubject(userRegisteredTopic, eventsv1.File_events_v1_user_registered_proto),
		ValueSubject(accountEventsTopic, eventsv1.File_events_v1_account_event_proto),
	}
}

// SerializerConfig is the protobuf serializer configuration of every
// producer of events: it registers nothing and looks up the schema derived
// from the message's own descriptor, so each message carries the id of
// exactly the schema it was written with (rather than whatever version is
// latest), and a schema the deploy step has not registered fails the
// serialization with a "not found" error instead of slipping past the
// compatibility check.
func SerializerConfig() *protobuf.SerializerConfig {
	c := protobuf.NewSerializerConfig()
	c.AutoRegisterSchemas = false
	c.UseLatestVersion = false
	return c
}

// Registered says what the registry holds for a subject after Register.
type Registered struct {
	Subject string
	// ID is the schema id producers put in front of each message.
	ID int
	// Version is the subject's version of the schema: an existing one
	// when the schema was registered before.
	Version int
}

// Register sets each subject's compatibility to Compatibility and registers
// its schema, with the schemas of the files it imports as references (each
// under a subject named after its file, as the serializers do). A schema
// registered before keeps its id and version, so Register may run on every
// deploy. It stops at the first subject that fails; a refusal on
// compatibility grounds wraps ErrIncompatible and names the subject and the
// registry's reason.
func Register(client schemaregistry.Client, subjects []Subject) ([]Registered, error) {
	out := make([]Registered, 0, len(subjects))
	for _, s := range subjects {
		r, err := register(client, s)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func register(client schemaregistry.Client, s Subject) (Registered, error) {
	if _, err := client.UpdateCompatibility(s.Name, level); err != nil {
		return Registered{}, fmt.Errorf("subject %s: set compatibility %s: %w", s.Name, Compatibility, err)
	}
	// Read the level back: what the step promises is the level in force,
	// not a request the registry accepted.
	got, err := client.GetCompatibility(s.Name)
	if err != nil {
		return Registered{}, fmt.Errorf("subject %s: read compatibility: %w", s.Name, err)
	}
	if got != level {
		return Registered{}, fmt.Errorf("subject %s: compatibility is %s after setting %s", s.Name, got.String(), Compatibility)
	}
	info, err := Info(client, s.File)
	if err != nil {
		return Registered{}, fmt.Errorf("subject %s: %w", s.Name, err)
	}
	return registerInfo(client, s.Name, s.File.Path(), info)
}

func registerInfo(client schemaregistry.Client, subject, path string, info schemaregistry.SchemaInfo) (Registered, error) {
	md, err := client.RegisterFullResponse(subject, info, false)
	if err != nil {
		if re, ok := errors.AsType[*rest.Error](err); ok && re.Code == http.StatusConflict {
			return Registered{}, fmt.Errorf("subject %s: schema of %s %w under %s: %w", subject, path, ErrIncompatible, Compatibility, re)
		}
		return Registered{}, fmt.Errorf("subject %s: register: %w", subject, err)
	}
	version := md.Version
	if version == 0 {
		// Registering answers with the id only.
		if version, err = client.GetVersion(subject, info, false); err != nil {
			return Registered{}, fmt.Errorf("subject %s: version of the registered schema: %w", subject, err)
		}
	}
	return Registered{Subject: subject, ID: md.ID, Version: version}, nil
}

// Info is the schema of file as the serializers derive it, with its
// imports registered as referenced subjects first (the well-known types
// excepted).
func Info(client schemaregistry.Client, file protoreflect.FileDescriptor) (schemaregistry.SchemaInfo, error) {
	fd, err := desc.WrapFile(file)
	if err != nil {
		return schemaregistry.SchemaInfo{}, fmt.Errorf("descriptor of %s: %w", file.Path(), err)
	}
	return info(client, fd)
}

func info(client schemaregistry.Client, fd *desc.FileDescriptor) (schemaregistry.SchemaInfo, error) {
	var refs []schemaregistry.Reference
	deps := append(fd.GetDependencies(), fd.GetPublicDependencies()...)
	for _, d := range deps {
		if wellKnown(d.GetName()) {
			continue
		}
		depInfo, err := info(client, d)
		if err != nil {
			return schemaregistry.SchemaInfo{}, err
		}
		r, err := registerInfo(client, d.GetName(), d.GetName(), depInfo)
		if err != nil {
			return schemaregistry.SchemaInfo{}, err
		}
		refs = append(refs, schemaregistry.Reference{Name: d.GetName(), Subject: r.Subject, Version: r.Version})
	}
	text, err := Text(fd)
	if err != nil {
		return schemaregistry.SchemaInfo{}, err
	}
	return schemaregistry.SchemaInfo{Schema: text, SchemaType: "PROTOBUF", References: refs}, nil
}

// Text prints fd the way the protobuf serializer does: without comments.
func Text(fd *desc.FileDescriptor) (string, error) {
	var b strings.Builder
	p := protoprint.Printer{OmitComments: protoprint.CommentsAll}
	if err := p.PrintProtoFile(fd, &b); err != nil {
		return "", fmt.Errorf("print %s: %w", fd.GetName(), err)
	}
	return b.String(), nil
}

// wellKnown reports the files the serializers never register: the
// registry resolves them itself.
func wellKnown(name string) bool {
	return strings.HasPrefix(name, "google/protobuf/") ||
		strings.HasPrefix(name, "google/type/") ||
		strings.HasPrefix(name, "confluent/")
}

// IsNotRegistered reports whether err is the registry's answer to a
// producer whose schema is not registered under the subject (no such
// subject, or no such schema in it): the deploy step has not run for this
// version of the events.
func IsNotRegistered(err error) bool {
	re, ok := errors.AsType[*rest.Error](err)
	return ok && (re.Code == http.StatusNotFound || re.Code/100 == http.StatusNotFound)
}
