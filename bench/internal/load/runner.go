package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssokit/platform/bench/internal/stats"
)

// The operations of the auth API the load generator drives.
const (
	OpRegister = "register"
	OpLogin    = "login"
	OpRefresh  = "refresh"
	OpValidate = "validate"
)

// Ops lists the operations in report order.
var Ops = []string{OpRegister, OpLogin, OpRefresh, OpValidate}

// Weighted is an operation's share of a mixed profile.
type Weighted struct {
	Op     string `json:"op"`
	Weight int    `json:"weight"`
}

// ParseMix parses "validate=70,refresh=20,login=7,register=3".
func ParseMix(s string) ([]Weighted, error) {
	var mix []Weighted
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		op, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("load: mix entry %q: want op=weight", part)
		}
		if !isOp(op) {
			return nil, fmt.Errorf("load: mix entry %q: unknown operation (want one of %s)", part, strings.Join(Ops, ", "))
		}
		if seen[op] {
			return nil, fmt.Errorf("load: mix names %s twice", op)
		}
		seen[op] = true
		if n > 0 {
			mix = append(mix, Weighted{Op: op, Weight: n})
		}
	}
	if len(mix) == 0 {
		return nil, errors.New("load: mix has no operation with a positive weight")
	}
	return mix, nil
}

func isOp(op string) bool {
	for _, o := range Ops {
		if o == op {
			return true
		}
	}
	return false
}

// picker chooses operations by weight.
type picker struct {
	ops   []string
	upper []int // cumulative weights
	total int
}

func newPicker(mix []Weighted) picker {
	var p picker
	for _, w := range mix {
		p.total += w.Weight
		p.ops = append(p.ops, w.Op)
		p.upper = append(p.upper, p.total)
	}
	return p
}

func (p picker) pick(rng *rand.Rand) string {
	if len(p.ops) == 1 {
		return p.ops[0]
	}
	n := rng.IntN(p.total)
	for i, u := range p.upper {
		if n < u {
			return p.ops[i]
		}
	}
	return p.ops[len(p.ops)-1]
}

// Account is a registered user and its current session.
type Account struct {
	Email, Password string
	Session         Session
	// Issued is when Session was issued; its access token expires after
	// sso's access-token lifetime (15 minutes by default).
	Issued time.Time
}

// Pool is the set of accounts the workers use, one each, and the source
// of fresh e-mail addresses for registrations.
type Pool struct {
	Accounts []*Account
	Password string
	prefix   string
	domain   string
	seq      atomic.Int64
}

// NewPool returns an empty pool whose new addresses are
// <prefix>-<n>@<domain>; prefix should be unique to the run.
func NewPool(prefix, domain, password string) *Pool {
	return &Pool{prefix: prefix, domain: domain, Password: password}
}

// NewEmail returns an address no one has registered yet.
func (p *Pool) NewEmail() string {
	return p.prefix + "-" + strconv.FormatInt(p.seq.Add(1), 10) + "@" + p.domain
}

// Fill registers accounts until the pool holds n, parallel times at once.
func (p *Pool) Fill(ctx context.Context, c Client, n, parallel int) error {
	need := n - len(p.Accounts)
	if need <= 0 {
		return nil
	}
	accounts := make([]*Account, need)
	errs := make([]error, need)
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range need {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			email := p.NewEmail()
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			s, err := c.Register(rctx, email, p.Password, "Bench User")
			if err != nil {
				errs[i] = fmt.Errorf("register %s: %w", email, err)
				return
			}
			accounts[i] = &Account{Email: email, Password: p.Password, Session: s, Issued: time.Now()}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("load: fill pool: %w", err)
	}
	p.Accounts = append(p.Accounts, accounts...)
	return nil
}

// Renew logs in again, parallel at a time, every account whose session
// was issued more than maxAge ago, so a long benchmark never validates an
// expired access token.
func (p *Pool) Renew(ctx context.Context, c Client, maxAge time.Duration, parallel int) error {
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, a := range p.Accounts {
		if time.Since(a.Issued) <= maxAge {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			s, err := c.Login(rctx, a.Email, a.Password)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("log in %s: %w", a.Email, err))
				mu.Unlock()
				return
			}
			a.Session, a.Issued = s, time.Now()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("load: renew pool: %w", err)
	}
	return nil
}

// Meter measures the system under test over the measured window: Begin is
// called when the warm-up ends, End when the window closes.
type Meter interface {
	Begin()
	End()
}

// Plan is one closed-loop run.
type Plan struct {
	Profile     string        // register, login, refresh, validate or mixed
	Mix         []Weighted    // the operations; one entry for a single-operation profile
	Concurrency int           // workers
	Warmup      time.Duration // excluded from the figures
	Duration    time.Duration // the measured window (upper bound when Count is set)
	Count       int64         // when > 0, the window ends after this many measured operations
	Timeout     time.Duration // per request
}

// Result is what one run measured.
type Result struct {
	Profile     string                   `json:"profile"`
	Transport   string                   `json:"transport"`
	Concurrency int                      `json:"concurrency"`
	Started     time.Time                `json:"started"`
	Seconds     float64                  `json:"seconds"`
	Ops         map[string]stats.Summary `json:"ops"`
	// Throughput is all successful operations per second.
	Throughput float64 `json:"throughput_per_s"`
}

// Run runs plan against c with the accounts of pool, which must hold at
// least plan.Concurrency accounts. Operations in flight when the window
// closes are finished but not counted.
func Run(ctx context.Context, c Client, pool *Pool, plan Plan, meter Meter) (Result, error) {
	if plan.Concurrency < 1 || len(plan.Mix) == 0 {
		return Result{}, errors.New("load: plan needs a concurrency and at least one operation")
	}
	if len(pool.Accounts) < plan.Concurrency {
		return Result{}, fmt.Errorf("load: pool has %d accounts for %d workers", len(pool.Accounts), plan.Concurrency)
	}
	if plan.Timeout <= 0 {
		plan.Timeout = 10 * time.Second
	}
	recs := make(map[string]*stats.Recorder, len(plan.Mix))
	for _, w := range plan.Mix {
		recs[w.Op] = new(stats.Recorder)
	}
	pick := newPicker(plan.Mix)

	const (
		warming = iota
		measuring
		done
	)
	var phase atomic.Int32
	var measured atomic.Int64
	countReached := make(chan struct{})
	var reachedOnce sync.Once

	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	for w := range plan.Concurrency {
		acct := pool.Accounts[w]
		shards := make(map[string]*stats.Shard, len(recs))
		for op, r := range recs {
			shards[op] = r.Shard()
		}
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil && phase.Load() != done {
				op := pick.pick(rng)
				start := time.Now()
				err := do(ctx, c, pool, acct, op, plan.Timeout)
				elapsed := time.Since(start)
				if phase.Load() == measuring {
					if err != nil {
						shards[op].Fail(Code(err))
					} else {
						shards[op].Observe(elapsed)
					}
					if plan.Count > 0 && measured.Add(1) >= plan.Count {
						reachedOnce.Do(func() { close(countReached) })
					}
				}
				if err != nil && op == OpRefresh && ctx.Err() == nil {
					// The chain may be broken (a token rotated by a
					// response that never arrived): start a new family.
					relogin(ctx, c, acct, plan.Timeout)
				}
			}
		})
	}

	wait := func(d time.Duration, or <-chan struct{}) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-or:
		}
	}
	wait(plan.Warmup, nil)
	meter.Begin()
	start := time.Now()
	phase.Store(measuring)
	if plan.Count > 0 {
		limit := plan.Duration
		if limit <= 0 {
			limit = time.Hour
		}
		wait(limit, countReached)
	} else {
		wait(plan.Duration, nil)
	}
	phase.Store(done)
	window := time.Since(start)
	meter.End()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	res := Result{
		Profile: plan.Profile, Transport: c.Transport(), Concurrency: plan.Concurrency,
		Started: start, Seconds: window.Seconds(), Ops: make(map[string]stats.Summary, len(recs)),
	}
	var ok int64
	for op, r := range recs {
		s := r.Summary(window)
		res.Ops[op] = s
		ok += s.Ops
	}
	res.Throughput = float64(ok) / window.Seconds()
	return res, nil
}

// do performs one operation for acct, keeping acct's session current.
func do(ctx context.Context, c Client, pool *Pool, acct *Account, op string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch op {
	case OpRegister:
		_, err := c.Register(ctx, pool.NewEmail(), pool.Password, "Bench User")
		return err
	case OpLogin:
		s, err := c.Login(ctx, acct.Email, acct.Password)
		if err == nil {
			acct.Session, acct.Issued = s, time.Now()
		}
		return err
	case OpRefresh:
		s, err := c.Refresh(ctx, acct.Session.Refresh)
		if err == nil {
			acct.Session, acct.Issued = s, time.Now()
		}
		return err
	case OpValidate:
		return c.Validate(ctx, acct.Session.Access)
	}
	return fmt.Errorf("load: unknown operation %q", op)
}

func relogin(ctx context.Context, c Client, acct *Account, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if s, err := c.Login(ctx, acct.Email, acct.Password); err == nil {
		acct.Session, acct.Issued = s, time.Now()
	}
}

// Scheduled is one call of an open loop.
type Scheduled struct {
	Index int
	At    time.Time // when the call was due
}

// OpenLoop calls fn rate times a second for d, each call in its own
// goroutine at its scheduled time however long earlier calls take, and
// waits for every call to return. It returns how many calls it made.
func OpenLoop(ctx context.Context, rate float64, d time.Duration, fn func(context.Context, Scheduled)) int {
	if rate <= 0 || d <= 0 {
		return 0
	}
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	made := 0
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		made++
		wg.Go(func() { fn(ctx, Scheduled{Index: i, At: at}) })
	}
	wg.Wait()
	return made
}
