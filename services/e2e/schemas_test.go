package e2e_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"

	"github.com/ssokit/platform/libs/testenv"
)

func registryClient(t *testing.T) schemaregistry.Client {
	t.Helper()
	c, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSchemasRegisterStep: the deploy step the system was started with
// left both subjects of the run at BACKWARD_TRANSITIVE with one version
// each, running it again changes nothing, and it exits non-zero, naming
// the subject, when the registry refuses a schema as incompatible.
func TestSchemasRegisterStep(t *testing.T) {
	s := theSystem(t)
	registry := registryClient(t)
	for _, topic := range []string{s.topic, s.accountTopic} {
		subject := topic + "-value"
		level, err := registry.GetCompatibility(subject)
		if err != nil || level.String() != "BACKWARD_TRANSITIVE" {
			t.Errorf("%s: compatibility %s (%v), want BACKWARD_TRANSITIVE", subject, level.String(), err)
		}
	}
	if out, err := s.ssoCommand(s.ssoEnv, "schemas", "register"); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	for _, topic := range []string{s.topic, s.accountTopic} {
		if versions, err := registry.GetAllVersions(topic + "-value"); err != nil || !slices.Equal(versions, []int{1}) {
			t.Errorf("%s: versions %v (%v), want [1] after two runs", topic, versions, err)
		}
	}

	// A subject whose registered UserRegistered has event_id as a number:
	// this build's string is a breaking change.
	topic := "e2e-incompatible-" + randomHex(4)
	subject := topic + "-value"
	t.Cleanup(func() { deleteTopicAndSubjects(topic); deleteTopicAndSubjects(topic + "-account") })
	if _, err := registry.UpdateCompatibility(subject, schemaregistry.BackwardTransitive); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Register(subject, schemaregistry.SchemaInfo{SchemaType: "PROTOBUF",
		Schema: "syntax = \"proto3\";\npackage events.v1;\nmessage UserRegistered {\n  int64 event_id = 1;\n}\n"}, false); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range s.ssoEnv {
		env[k] = v
	}
	env["SSO_USER_EVENTS_TOPIC"], env["SSO_ACCOUNT_EVENTS_TOPIC"] = topic, topic+"-account"
	out, err := s.ssoCommand(env, "schemas", "register")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("schemas register over an incompatible version: err %v, want a non-zero exit\n%s", err, out)
	}
	if msg := string(out); !strings.Contains(msg, "subject "+subject) || !strings.Contains(msg, "incompatible") ||
		!strings.Contains(msg, "Field type changed") {
		t.Errorf("output does not name the subject and the reason:\n%s", msg)
	}
	if versions, err := registry.GetAllVersions(subject); err != nil || !slices.Equal(versions, []int{1}) {
		t.Errorf("versions %v (%v), want only the old [1]", versions, err)
	}
}
