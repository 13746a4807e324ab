package bootstrap_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/server"
)

type testConfig struct {
	config.Process
	Value string
}

func program(t *testing.T, ran *[]string) bootstrap.Program[testConfig] {
	t.Helper()
	cfg := testConfig{Process: config.Process{LogLevel: "error", ShutdownTimeout: time.Second}, Value: "v"}
	record := func(what string) func(context.Context, testConfig, *slog.Logger) error {
		return func(_ context.Context, c testConfig, _ *slog.Logger) error {
			*ran = append(*ran, what+":"+c.Value)
			return nil
		}
	}
	return bootstrap.Program[testConfig]{
		Name: "test",
		Load: func() (testConfig, error) { return cfg, nil },
		Start: func(_ context.Context, c testConfig, log *slog.Logger) (*server.Process, error) {
			*ran = append(*ran, "start:"+c.Value)
			return server.NewProcess(log, server.NewHealth(time.Second), c.ShutdownTimeout), nil
		},
		Commands: []bootstrap.Command[testConfig]{
			bootstrap.Migrate(func(ctx context.Context, c testConfig) error { return record("migrate")(ctx, c, nil) }),
			{Name: "keys rotate", Run: record("rotate")},
			flagged(ran),
		},
	}
}

// flagged is a command with flags that records what it was given.
func flagged(ran *[]string) bootstrap.Command[testConfig] {
	var (
		limit int
		dry   bool
	)
	return bootstrap.Command[testConfig]{
		Name: "dlq replay",
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 0, "")
			fs.BoolVar(&dry, "dry-run", false, "")
		},
		Run: func(_ context.Context, c testConfig, _ *slog.Logger) error {
			*ran = append(*ran, fmt.Sprintf("replay:%s:%d:%v", c.Value, limit, dry))
			return nil
		},
	}
}

func TestRunPicksTheCommandOrServes(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "start:v"},
		{[]string{"migrate"}, "migrate:v"},
		{[]string{"keys", "rotate"}, "rotate:v"},
		{[]string{"dlq", "replay"}, "replay:v:0:false"},
		{[]string{"dlq", "replay", "--limit", "5", "--dry-run"}, "replay:v:5:true"},
		{[]string{"dlq", "replay", "-limit=2"}, "replay:v:2:false"},
	}
	for _, tt := range tests {
		var ran []string
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a served process stops at once
		if err := program(t, &ran).Run(ctx, tt.args, io.Discard); err != nil {
			t.Fatalf("Run %q: %v", tt.args, err)
		}
		if len(ran) != 1 || ran[0] != tt.want {
			t.Errorf("Run %q ran %v, want [%s]", tt.args, ran, tt.want)
		}
	}
}

func TestRunRefusesAnUnknownCommand(t *testing.T) {
	var ran []string
	p := program(t, &ran)
	err := p.Run(context.Background(), []string{"keys"}, io.Discard)
	want := `unknown command "keys" (want no arguments, "migrate", "keys rotate" or "dlq replay")`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	// A command without flags takes no more arguments; one with flags
	// refuses unknown flags and stray arguments.
	for _, args := range [][]string{{"migrate", "now"}, {"dlq", "replay", "--limit", "x"}, {"dlq", "replay", "--force"}, {"dlq", "replay", "all"}} {
		if err := p.Run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("Run %q succeeded", args)
		}
	}
	p.Commands = p.Commands[:1]
	want = `unknown command "x y" (want no arguments or "migrate")`
	if err := p.Run(context.Background(), []string{"x", "y"}, io.Discard); err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	p.Commands = nil
	want = `unknown command "migrate" (want no arguments)`
	if err := p.Run(context.Background(), []string{"migrate"}, io.Discard); err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if len(ran) != 0 {
		t.Errorf("ran %v on unknown commands", ran)
	}
}

func TestRunStopsOnABadConfiguration(t *testing.T) {
	var ran []string
	p := program(t, &ran)
	p.Load = func() (testConfig, error) { return testConfig{}, config.ErrInvalid }
	if err := p.Run(context.Background(), nil, io.Discard); !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if len(ran) != 0 {
		t.Errorf("ran %v with a bad configuration", ran)
	}
}

func TestOpenDBDoesNotConnect(t *testing.T) {
	db, err := bootstrap.OpenDB("postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", 3)
	if err != nil {
		t.Fatalf("OpenDB with the database down: %v", err)
	}
	defer db.Close()
	if n := db.Stats().MaxOpenConnections; n != 3 {
		t.Errorf("max open connections = %d, want 3", n)
	}
}

func TestRunGivesACommandItsArguments(t *testing.T) {
	var got []string
	p := program(t, new([]string))
	p.Commands = append(p.Commands, bootstrap.Command[testConfig]{
		Name: "admin grant",
		Args: func(args []string) error {
			if len(args) != 1 {
				return errors.New("want one argument")
			}
			got = args
			return nil
		},
		Run: func(context.Context, testConfig, *slog.Logger) error { return nil },
	})
	if err := p.Run(context.Background(), []string{"admin", "grant", "ada@example.com"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "ada@example.com" {
		t.Errorf("arguments = %q, want [ada@example.com]", got)
	}
	for _, args := range [][]string{{"admin", "grant"}, {"admin", "grant", "a", "b"}} {
		if err := p.Run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("Run %q succeeded", args)
		}
	}
}
