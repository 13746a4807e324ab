package bootstrap

import (
	"context"
	"flag"
	"log/slog"

	"github.com/ssokit/platform/libs/consumer"
)

// DeadLetterReplay is the "dlq replay [--limit N] [--dry-run]" command of a
// service that consumes events: it moves the dead letters of the service's
// consumer group back to the topic it consumes (consumer.Replay), logs how
// many it moved and how many are left, and exits; --dry-run lists them
// and moves nothing. replay gives the group, the topics and the brokers
// from the service's configuration.
func DeadLetterReplay[C any](replay func(C) consumer.ReplayConfig) Command[C] {
	var (
		limit  int
		dryRun bool
	)
	return Command[C]{
		Name: "dlq replay",
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 0, "move at most `N` dead letters (0: all of them)")
			fs.BoolVar(&dryRun, "dry-run", false, "list the dead letters that would be moved, and move nothing")
		},
		Run: func(ctx context.Context, cfg C, log *slog.Logger) error {
			rc := replay(cfg)
			rc.Limit, rc.DryRun = limit, dryRun
			_, err := consumer.Replay(ctx, rc, log) // it logs what it did
			return err
		},
	}
}
