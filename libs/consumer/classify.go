package consumer

import (
	"context"
	"errors"
	"net"
)

// Kinds of handler failure, the values of the kind label of
// kafka_consumer_retried_total and of Observer.Retried's kind.
const (
	// KindTransient: a dependency is unreachable or busy; retried without
	// limit, with the member's partitions paused.
	KindTransient = "transient"
	// KindPermanent: no retry can help; dead-lettered at once.
	KindPermanent = "permanent"
	// KindUnclassified: neither; retried up to Config.MaxAttempts times,
	// then dead-lettered.
	KindUnclassified = "unclassified"
)

// classify tells what a handler error calls for. The handler's own word
// comes first: ErrPermanent, then ErrTransient. Failing that, an error that
// is a timeout (the handler's ctx ran out: a dependency that hangs) or a
// network error (a dependency that cannot be reached) is transient too, so
// that an adapter that forgot to mark its outage does not send every event
// of that outage to the dead-letter topic. Everything else, panics
// included, is unclassified: it may be a bug that no wait cures, so it
// must not hold the partition forever.
func classify(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, ErrPermanent):
		return KindPermanent
	case errors.Is(err, ErrTransient),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr):
		return KindTransient
	}
	return KindUnclassified
}
