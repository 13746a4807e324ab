package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// existsBatcher answers EXISTS for many concurrent callers with few round
// trips. Every authenticated request asks whether its token was revoked;
// one EXISTS per request made the write and read system calls of those
// round trips the largest cost of Validate after the signature check. The
// batcher sends the checks that arrive while earlier ones are in flight as
// one pipeline instead.
//
// Batches are sent by goroutines started on demand: a check that finds
// fewer than maxFlights batches in flight starts one, which sends whatever
// is pending, then what queued meanwhile, and ends when nothing is pending.
// So a lone check pays one round trip plus a goroutine hand-off, no timer
// wait, and no goroutine outlives the load. The caller only waits, so its
// context ends its wait at once even while Redis is stuck.
type existsBatcher struct {
	rdb goredis.UniversalClient

	mu      sync.Mutex
	pending []*existsCall
	flights int // batches being sent
}

const (
	// maxFlights bounds the batches in flight at once: enough to keep Redis
	// busy while the next batch gathers, few enough that batches form.
	maxFlights = 4
	// maxBatch bounds one pipeline, so one reply stays small and a burst is
	// spread over several flights.
	maxBatch = 256
)

type existsCall struct {
	keys []string
	n    int64
	err  error
	done chan struct{}
}

func newExistsBatcher(rdb goredis.UniversalClient) *existsBatcher {
	return &existsBatcher{rdb: rdb}
}

// exists returns how many of keys exist, counting a key named twice
// twice, like EXISTS. A cancelled ctx returns at once with
// its error; the check itself still completes in its batch. The batch is
// sent under ctx without its cancellation (it serves other callers too) and
// is bounded by the client's read and write timeouts.
func (b *existsBatcher) exists(ctx context.Context, keys ...string) (int64, error) {
	c := &existsCall{keys: keys, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if b.flights < maxFlights {
		b.flights++
		go b.fly(context.WithoutCancel(ctx))
	}
	b.mu.Unlock()

	select {
	case <-c.done:
	case <-ctx.Done():
		select {
		case <-c.done: // answered as ctx ended: the answer wins
		default:
			return 0, ctx.Err()
		}
	}
	return c.n, c.err
}

// fly sends batches until none is pending, then ends its flight.
func (b *existsBatcher) fly(ctx context.Context) {
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxBatch)
		if n == 0 {
			b.flights--
			b.mu.Unlock()
			return
		}
		batch := make([]*existsCall, n)
		copy(batch, b.pending)
		b.pending = append(b.pending[:0], b.pending[n:]...)
		b.mu.Unlock()
		b.send(ctx, batch)
	}
}

// send sends batch as one pipeline and answers each check.
func (b *existsBatcher) send(ctx context.Context, batch []*existsCall) {
	cmds := make([]*goredis.IntCmd, len(batch))
	_, _ = b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = p.Exists(ctx, c.keys...)
		}
		return nil
	})
	// Each command carries its own result or error, including the
	// pipeline's when it failed as a whole.
	for i, c := range batch {
		c.n, c.err = cmds[i].Result()
		close(c.done)
	}
}
