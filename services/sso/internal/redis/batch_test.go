package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// existsCounter is a go-redis hook counting EXISTS commands and the round
// trips that carried them; block, when set, holds every pipeline until it is
// closed, and held lists the keys of the EXISTS commands it holds.
type existsCounter struct {
	trips, cmds atomic.Int64
	block       chan struct{}

	mu   sync.Mutex
	held []string
}

// holding reports whether the hook holds a check of every key.
func (h *existsCounter) holding(keys ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		if !slices.Contains(h.held, k) {
			return false
		}
	}
	return true
}

func (h *existsCounter) count(cmds ...goredis.Cmder) {
	n := 0
	for _, c := range cmds {
		if c.Name() == "exists" {
			n++
		}
	}
	if n > 0 {
		h.trips.Add(1)
		h.cmds.Add(int64(n))
	}
}

func (h *existsCounter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *existsCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *existsCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if h.block != nil {
			h.mu.Lock()
			for _, c := range cmds {
				if c.Name() == "exists" && len(c.Args()) > 1 {
					h.held = append(h.held, fmt.Sprint(c.Args()[1]))
				}
			}
			h.mu.Unlock()
			<-h.block
		}
		h.count(cmds...)
		return next(ctx, cmds)
	}
}

// TestAccessRevokedConcurrent checks that concurrent revocation checks, which
// share pipelines, each get the answer for their own jti, and that they do
// share: fewer round trips than checks.
func TestAccessRevokedConcurrent(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := t.Context()
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	const jtis = 100
	for i := 0; i < jtis; i += 2 {
		if err := s.RevokeAccess(ctx, fmt.Sprint("jti-", i), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	hook := &existsCounter{}
	rdb.AddHook(hook)

	const workers, perWorker = 64, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for k := range perWorker {
				i := (w*perWorker + k*7) % jtis
				got, err := s.AccessRevoked(ctx, fmt.Sprint("jti-", i), "fam")
				if err != nil || got != (i%2 == 0) {
					errs <- fmt.Errorf("AccessRevoked(jti-%d) = %v, %v; want %v", i, got, err, i%2 == 0)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checks, trips := hook.cmds.Load(), hook.trips.Load()
	t.Logf("%d checks in %d round trips", checks, trips)
	if checks != workers*perWorker {
		t.Errorf("Redis saw %d checks, want %d", checks, workers*perWorker)
	}
	if trips >= checks {
		t.Errorf("%d round trips for %d concurrent checks: no batching", trips, checks)
	}
}

// TestAccessRevokedCancelled checks that a caller whose context ends while
// its batch is stuck in Redis returns at once with the context's error, and
// that the batch still answers the others once Redis does.
func TestAccessRevokedCancelled(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	s := redis.NewSessions(rdb, p)
	hook := &existsCounter{block: make(chan struct{})}
	rdb.AddHook(hook)
	release := sync.OnceFunc(func() { close(hook.block) })
	t.Cleanup(release)

	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan error, 1)
	go func() {
		_, err := s.AccessRevoked(ctx, "stuck", "fam")
		cancelled <- err
	}()
	other := make(chan error, 1)
	go func() {
		_, err := s.AccessRevoked(t.Context(), "other", "fam")
		other <- err
	}()
	if !testenv.Eventually(5*time.Second, time.Millisecond, func() bool {
		return hook.holding(p+"jti:stuck", p+"jti:other")
	}) {
		t.Fatal("the two checks never reached Redis")
	}
	cancel()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled check: err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled check did not return while Redis was stuck")
	}
	release()
	select {
	case err := <-other:
		if err != nil {
			t.Errorf("other check: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("other check never answered after Redis recovered")
	}
}
