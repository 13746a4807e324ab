package redis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Option configures Sessions and Throttle.
type Option func(*replication)

// WaitForReplica makes every security-relevant write (a rotation, a
// revocation, a throttle reservation) wait until a replica has it, for at
// most timeout, before it is reported done; 0 turns waiting off.
//
// Redis replicates asynchronously: without the wait, a logout acknowledged
// to the client and then lost with the master in a failover would let the
// logged-out tokens work again on the promoted replica. The WAIT is sent in
// the same pipeline as the write, so it costs no extra round trip, only
// the replica's acknowledgement (a fraction of a millisecond locally).
//
// When no replica is connected to the master (the replica is down, or a
// failover has just promoted it and the old master has not rejoined),
// writes are accepted without the wait: no failover can then promote a
// node that lacks them, and refusing would turn the loss of a replica into
// an outage of logins, refreshes and logouts. When a replica is connected
// but does not acknowledge in time, the operation fails (the caller
// answers "unavailable"), as the write may not survive a failover.
func WaitForReplica(timeout time.Duration) Option {
	return func(r *replication) { r.timeout = timeout }
}

// ErrNotReplicated is returned (wrapped) when a write reached the master
// but no replica acknowledged it in time. The write may have been applied.
var ErrNotReplicated = errors.New("write not acknowledged by a replica")

// replication carries out WaitForReplica for one Sessions or Throttle.
type replication struct {
	timeout time.Duration
	// alone is set while the master has no replica connected: writes then
	// check ROLE in their pipeline instead of a WAIT that would block for
	// the whole timeout.
	alone atomic.Bool
}

func newReplication(opts []Option) *replication {
	r := &replication{}
	for _, o := range opts {
		o(r)
	}
	return r
}

// run runs script as a security-relevant write: in one pipeline with WAIT
// (or ROLE while the master is alone), so the reply to the caller means
// the write is on a replica or no replica exists to be promoted without
// it.
func (r *replication) run(ctx context.Context, rdb goredis.UniversalClient, script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if r.timeout <= 0 {
		return script.Run(ctx, rdb, keys, args...)
	}
	return r.write(ctx, rdb, func(pipe goredis.Pipeliner, load bool) *goredis.Cmd {
		if load {
			return script.Eval(ctx, pipe, keys, args...)
		}
		return script.EvalSha(ctx, pipe, keys, args...)
	})
}

// do runs a plain command as a security-relevant write, like run.
func (r *replication) do(ctx context.Context, rdb goredis.UniversalClient, args ...any) *goredis.Cmd {
	if r.timeout <= 0 {
		return rdb.Do(ctx, args...)
	}
	return r.write(ctx, rdb, func(pipe goredis.Pipeliner, _ bool) *goredis.Cmd {
		return pipe.Do(ctx, args...)
	})
}

// write sends the command that queue adds followed by WAIT 1 <timeout> or
// ROLE, and sets the command's error when the write is not safe. A script
// unknown to the server (a new master after a failover has an empty script
// cache) is sent again in full.
//
// WAIT counts the replicas that have every write made on the connection it
// is sent on, so the write and any WAIT that follows it must share one
// connection: on another pooled connection a WAIT would have nothing to
// wait for and return at once. write therefore holds one connection for
// its whole exchange when the client can give one (a *goredis.Client,
// which is what a Sentinel failover client is).
func (r *replication) write(ctx context.Context, rdb goredis.UniversalClient, queue func(goredis.Pipeliner, bool) *goredis.Cmd) *goredis.Cmd {
	var c conn = rdb
	if client, ok := rdb.(*goredis.Client); ok {
		held := client.Conn()
		defer held.Close()
		c = held
	}
	for load := false; ; load = true {
		alone := r.alone.Load()
		pipe := c.Pipeline()
		cmd := queue(pipe, load)
		var check *goredis.Cmd
		if alone {
			check = pipe.Do(ctx, "ROLE")
		} else {
			check = pipe.Do(ctx, "WAIT", 1, r.timeout.Milliseconds())
		}
		_, _ = pipe.Exec(ctx)
		if err := cmd.Err(); err != nil {
			if !load && goredis.HasErrorPrefix(err, "NOSCRIPT") {
				continue
			}
			return cmd
		}
		if err := r.settle(ctx, c, alone, check); err != nil {
			cmd.SetErr(err)
		}
		return cmd
	}
}

// conn is what write needs of a client or of one held connection.
type conn interface {
	Pipeline() goredis.Pipeliner
	Process(ctx context.Context, cmd goredis.Cmder) error
}

// do sends one command on c.
func do(ctx context.Context, c conn, args ...any) *goredis.Cmd {
	cmd := goredis.NewCmd(ctx, args...)
	_ = c.Process(ctx, cmd)
	return cmd
}

// settle decides from the pipeline's WAIT or ROLE reply whether the write
// is safe, asking further on the write's own connection when the reply
// alone cannot tell.
func (r *replication) settle(ctx context.Context, c conn, alone bool, check *goredis.Cmd) error {
	if alone {
		n, err := connectedReplicas(check)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		// A replica has come back: this write waits for it like any other.
		r.alone.Store(false)
		acked, err := do(ctx, c, "WAIT", 1, r.timeout.Milliseconds()).Int64()
		return r.acked(acked, err)
	}
	acked, err := check.Int64()
	if err != nil || acked >= 1 {
		return r.acked(acked, err)
	}
	n, err := connectedReplicas(do(ctx, c, "ROLE"))
	if err != nil {
		return err
	}
	if n == 0 {
		r.alone.Store(true)
		return nil
	}
	return r.acked(0, nil)
}

func (r *replication) acked(n int64, err error) error {
	if err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("%w within %s", ErrNotReplicated, r.timeout)
	}
	return nil
}

// connectedReplicas reads a master's ROLE reply: {"master", offset,
// {{ip, port, offset}, ...}}, one entry per connected replica.
func connectedReplicas(role *goredis.Cmd) (int, error) {
	res, err := role.Slice()
	if err != nil {
		return 0, err
	}
	if len(res) != 3 || res[0] != "master" {
		return 0, fmt.Errorf("unexpected ROLE reply %v: not a master", res)
	}
	replicas, ok := res[2].([]any)
	if !ok {
		return 0, fmt.Errorf("unexpected ROLE reply %v", res)
	}
	return len(replicas), nil
}
