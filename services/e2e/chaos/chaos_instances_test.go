//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// Settings of the instances test, each overridable by the environment
// variable of the same name. The second instances are the ones
// `deploy/local/services --instance 2` runs (ports of the first plus 10).
var (
	sso2URL      = env("CHAOS_SSO2_URL", "http://127.0.0.1:8010")
	loyaltyURL   = env("CHAOS_LOYALTY_URL", "http://127.0.0.1:8001")
	loyalty2URL  = env("CHAOS_LOYALTY2_URL", "http://127.0.0.1:8011")
	notifierURL  = env("CHAOS_NOTIFIER_URL", "http://127.0.0.1:8002")
	notifier2URL = env("CHAOS_NOTIFIER2_URL", "http://127.0.0.1:8012")
	eventsTopic  = env("CHAOS_EVENTS_TOPIC", "user-registered")
	groups       = []string{env("CHAOS_LOYALTY_GROUP", "loyalty-points"), env("CHAOS_NOTIFIER_GROUP", "welcome-notifier")}
)

// Bounds of the instances test. An orphaned outbox row waits for
// SSO_OUTBOX_STALE_AFTER (30s) and a sweep (2s); a dead consumer's
// partitions wait for its session to expire (libs/consumer's
// SessionTimeout, 10s).
const (
	maxOutboxTakeover  = 60 * time.Second
	maxRebalance       = 60 * time.Second
	maxInstanceLagZero = 2 * time.Minute
	instancesBefore    = 5 * time.Second
	instancesAfter     = 10 * time.Second
	killFallback       = 10 * time.Second
	workersPerSSO      = 3
)

// instanceServices are the services whose second instance the test kills,
// sso first: its clients see the death at once.
var instanceServices = []string{"sso", "loyalty-points", "welcome-notifier"}

// servicesScript runs deploy/local/services with args.
func servicesScript(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "deploy", "local", "services"), args...)
	cmd.Dir = repoRoot()
	return cmd.CombinedOutput()
}

func stateDir() string { return env("STACK_STATE_DIR", filepath.Join(repoRoot(), ".local")) }

// instancePID reads the pid of instance 2 of service s from the pidfile
// deploy/local/services wrote, and checks that the process is that
// service's binary, not a recycled pid.
func instancePID(s string) (int, error) {
	b, err := os.ReadFile(filepath.Join(stateDir(), "run", s+"-2.pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, fmt.Errorf("%s-2 (pid %d) is not running: %w", s, pid, err)
	}
	if !bytes.Contains(cmdline, []byte(filepath.Join(stateDir(), "bin", s))) {
		return 0, fmt.Errorf("pid %d is not %s-2: %q", pid, s, cmdline)
	}
	return pid, nil
}

func readyz(base string) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ---- consumer groups ---------------------------------------------------------

// assignment is how many partitions of eventsTopic each member of a group
// holds, by consumer id.
type assignment map[string]int

func (a assignment) String() string {
	n := make([]int, 0, len(a))
	for _, v := range a {
		n = append(n, v)
	}
	slices.Sort(n)
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "+")
}

func describeGroup(ctx context.Context, admin *kafka.AdminClient, group string) (assignment, error) {
	res, err := admin.DescribeConsumerGroups(ctx, []string{group})
	if err != nil {
		return nil, err
	}
	a := assignment{}
	for _, g := range res.ConsumerGroupDescriptions {
		if g.Error.Code() != kafka.ErrNoError {
			return nil, g.Error
		}
		for _, m := range g.Members {
			for _, tp := range m.Assignment.TopicPartitions {
				if tp.Topic != nil && *tp.Topic == eventsTopic {
					a[m.ConsumerID]++
				}
			}
			if _, ok := a[m.ConsumerID]; !ok {
				a[m.ConsumerID] = 0
			}
		}
	}
	return a, nil
}

func partitionCount(admin *kafka.AdminClient) (int, error) {
	topic := eventsTopic
	md, err := admin.GetMetadata(&topic, false, 10_000)
	if err != nil {
		return 0, err
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("topic %s: %v", topic, tm.Error)
	}
	return len(tm.Partitions), nil
}

// ---- load ----------------------------------------------------------------------

// regResult is one registration as its client saw it.
type regResult struct {
	instance   int // 1 or 2
	email, id  string
	start, end time.Time
	status     int    // HTTP status; 0 when no answer came
	transport  string // without an answer: "refused", "reset" or "other"
}

type instancesLoad struct {
	client *http.Client
	run    string
	n      atomic.Int64

	mu      sync.Mutex
	results []regResult
}

func (l *instancesLoad) register(ctx context.Context, instance int) (regResult, bool) {
	base := ssoURL
	if instance == 2 {
		base = sso2URL
	}
	email := fmt.Sprintf("chaos-inst-%s-%d@example.test", l.run, l.n.Add(1))
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "full_name": "Chaos Monkey"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/auth/register", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	r := regResult{instance: instance, email: email, start: time.Now()}
	resp, err := l.client.Do(req)
	switch {
	case err == nil:
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.status = resp.StatusCode
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		r.id = str(out, "user_id")
	case ctx.Err() != nil:
		return r, false // the load ended: not an outcome
	case errors.Is(err, syscall.ECONNREFUSED):
		r.transport = "refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		r.transport = "reset"
	default:
		r.transport = "other: " + err.Error()
	}
	r.end = time.Now()
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
	return r, true
}

// tally counts the answers the clients of instance got, by status code or
// transport error, for the registrations that match.
func (l *instancesLoad) tally(instance int, match func(regResult) bool) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := map[string]int{}
	for _, r := range l.results {
		if r.instance != instance || !match(r) {
			continue
		}
		if r.status != 0 {
			c[strconv.Itoa(r.status)]++
		} else {
			c[r.transport]++
		}
	}
	return c
}

func tallyString(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, c[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

func failures(c map[string]int) int {
	n := 0
	for k, v := range c {
		if k != "200" {
			n += v
		}
	}
	return n
}

// ---- the test -------------------------------------------------------------------

// TestInstanceKilled runs two instances of each service, registers users
// on both sso instances, and kills with SIGKILL the second instance of
// sso, loyalty-points and welcome-notifier at once, right after the second
// sso acknowledged a registration (so its relay still holds that event).
// It checks that the first sso's sweeper publishes the rows the killed one
// left in flight, that the surviving consumers take over the dead ones'
// partitions and work off the lag, that every user got exactly one bonus
// and one welcome mail, and that only the killed instance's clients saw
// errors. It starts the second instances when they are not running and
// leaves them as it found them.
func TestInstanceKilled(t *testing.T) {
	ctx := t.Context()
	for _, u := range []string{ssoURL, loyaltyURL, notifierURL} {
		if !readyz(u) {
			t.Fatalf("%s is not ready; start the services with `go tool task up`", u)
		}
	}
	startedSecond := false
	if !readyz(sso2URL) || !readyz(loyalty2URL) || !readyz(notifier2URL) {
		out, err := servicesScript(ctx, "up", "--instance", "2")
		if err != nil {
			t.Fatalf("deploy/local/services up --instance 2: %v\n%s", err, out)
		}
		startedSecond = true
	}
	t.Cleanup(func() {
		if startedSecond {
			if out, err := servicesScript(context.Background(), "down", "--instance", "2"); err != nil {
				t.Errorf("deploy/local/services down --instance 2: %v\n%s", err, out)
			}
		}
	})

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	// Both sso instances publish, so the topic exists once each has; a
	// registration through each makes sure of it on a fresh stack.
	l := &instancesLoad{client: &http.Client{Timeout: requestTimeout}, run: fmt.Sprintf("%x", rand.Uint32())}
	t.Cleanup(func() { deleteInstanceMails(l) })
	for _, i := range []int{1, 2} {
		if r, _ := l.register(ctx, i); r.status != http.StatusOK {
			t.Fatalf("register through sso instance %d: status %d %s", i, r.status, r.transport)
		}
	}
	var partitions int
	if !testenv.Eventually(30*time.Second, 500*time.Millisecond, func() bool {
		partitions, err = partitionCount(admin)
		return err == nil
	}) {
		t.Fatalf("partitions of %s: %v", eventsTopic, err)
	}
	if partitions < 2 {
		t.Fatalf("%s has %d partition(s): two consumer instances cannot share it", eventsTopic, partitions)
	}

	// Each group must have both instances, each holding partitions.
	before := map[string]assignment{}
	for _, g := range groups {
		var a assignment
		if !testenv.Eventually(90*time.Second, 500*time.Millisecond, func() bool {
			a, err = describeGroup(ctx, admin, g)
			if err != nil || len(a) != 2 {
				return false
			}
			total := 0
			for _, n := range a {
				if n == 0 {
					return false
				}
				total += n
			}
			return total == partitions
		}) {
			t.Fatalf("group %s: want 2 members sharing %d partitions, have %v (%v)", g, partitions, a, err)
		}
		before[g] = a
	}

	// The load: workersPerSSO clients per sso instance, each registering
	// in a loop. After instancesBefore the kill is armed; the next
	// registration sso-2 acknowledges triggers it, from that client's
	// goroutine, so the event of that registration is still in sso-2's
	// relay (its producer lingers 25 ms) when the process dies.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var armed atomic.Bool
	var killOnce sync.Once
	killDone := make(chan struct{})
	var killed time.Time // set before killDone closes
	var killErr error
	killedPIDs := map[string]int{}
	kill := func() {
		killOnce.Do(func() {
			defer close(killDone)
			pids := make([]int, len(instanceServices))
			for i, s := range instanceServices {
				if pids[i], killErr = instancePID(s); killErr != nil {
					return
				}
			}
			killed = time.Now()
			for i, s := range instanceServices {
				if err := syscall.Kill(pids[i], syscall.SIGKILL); err != nil && killErr == nil {
					killErr = fmt.Errorf("kill %s-2: %w", s, err)
				}
				killedPIDs[s] = pids[i]
			}
		})
	}
	var wg sync.WaitGroup
	for _, instance := range []int{1, 2} {
		for range workersPerSSO {
			wg.Go(func() {
				for pause(loadCtx, 20*time.Millisecond) {
					r, ok := l.register(loadCtx, instance)
					if ok && instance == 2 && r.status == http.StatusOK && armed.Load() {
						kill()
					}
				}
			})
		}
	}
	defer func() { stopLoad(); wg.Wait() }()

	time.Sleep(instancesBefore)
	armed.Store(true)
	armedAt := time.Now()
	select {
	case <-killDone:
	case <-time.After(killFallback):
		kill() // sso-2 acknowledged nothing since: kill it anyway
		<-killDone
	}
	at := killed
	if killErr != nil {
		t.Fatalf("kill the second instances: %v", killErr)
	}
	t.Logf("killed sso-2 (pid %d), loyalty-points-2 (pid %d), welcome-notifier-2 (pid %d) %.0fms after arming",
		killedPIDs["sso"], killedPIDs["loyalty-points"], killedPIDs["welcome-notifier"], at.Sub(armedAt).Seconds()*1000)

	// The outbox rows sso-2 left behind: those of its registrations, acked
	// or not (a commit whose answer the kill cut off), still unsettled a
	// second after the kill, when its relay would long have settled them.
	ssoDBx := openDB(t, ssoDB)
	time.Sleep(time.Second)
	var emails2 []string
	l.mu.Lock()
	for _, r := range l.results {
		if r.instance == 2 && r.start.Before(at) {
			emails2 = append(emails2, r.email)
		}
	}
	l.mu.Unlock()
	var orphans []string
	if err := ssoDBx.SelectContext(ctx, &orphans, `
		SELECT o.aggregate_id::text FROM outbox o JOIN user_ids u ON u.id = o.aggregate_id
		WHERE u.email = ANY($1) AND o.status <> 'successful'`, pq.Array(emails2)); err != nil {
		t.Fatalf("orphaned outbox rows: %v", err)
	}
	var outboxTakeover time.Duration
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		testenv.Eventually(maxOutboxTakeover+30*time.Second, 250*time.Millisecond, func() bool {
			var left int
			err := ssoDBx.GetContext(ctx, &left,
				"SELECT count(*) FROM outbox WHERE aggregate_id = ANY($1::uuid[]) AND status <> 'successful'", pq.Array(orphans))
			if err == nil && left == 0 {
				outboxTakeover = time.Since(at)
				return true
			}
			return false
		})
	}()

	// The survivors take over the dead members' partitions.
	rebalance := map[string]time.Duration{}
	var rmu sync.Mutex
	var gw sync.WaitGroup
	for _, g := range groups {
		gw.Go(func() {
			testenv.Eventually(maxRebalance+30*time.Second, 250*time.Millisecond, func() bool {
				a, err := describeGroup(ctx, admin, g)
				if err == nil && len(a) == 1 && a.String() == strconv.Itoa(partitions) {
					rmu.Lock()
					rebalance[g] = time.Since(at)
					rmu.Unlock()
					return true
				}
				return false
			})
		})
	}

	time.Sleep(instancesAfter)
	stopLoad()
	wg.Wait()

	// Lag back to 0 in both groups once the load stopped, measured while
	// the orphaned rows wait: their events come later and are counted by
	// verify below.
	lagZero := map[string]time.Duration{}
	for _, g := range groups {
		gw.Go(func() {
			testenv.Eventually(maxInstanceLagZero, 250*time.Millisecond, func() bool {
				lag, err := kafkatest.Lag(ctx, admin, g, eventsTopic)
				if err == nil && lag == 0 {
					rmu.Lock()
					lagZero[g] = time.Since(at)
					rmu.Unlock()
					return true
				}
				return false
			})
		})
	}
	gw.Wait()
	<-outboxDone

	// Every registration that committed, acknowledged or not, must have
	// its effects exactly once.
	l.mu.Lock()
	var acked []account
	var unanswered []string
	for _, r := range l.results {
		switch {
		case r.status == http.StatusOK:
			acked = append(acked, account{id: r.id, email: r.email, at: r.end})
		case r.status == 0 && r.transport != "refused":
			unanswered = append(unanswered, r.email)
		}
	}
	l.mu.Unlock()
	var rows []struct {
		ID    string `db:"id"`
		Email string `db:"email"`
	}
	if err := ssoDBx.SelectContext(ctx, &rows, "SELECT id::text AS id, email FROM user_ids WHERE email = ANY($1)", pq.Array(unanswered)); err != nil {
		t.Fatalf("registrations committed without an answer: %v", err)
	}
	var committedUnacked []account
	for _, r := range rows {
		committedUnacked = append(committedUnacked, account{id: r.ID, email: r.Email})
	}
	all := append(slices.Clone(acked), committedUnacked...)
	v := verify(t, all)

	// Before: answered before the kill; cut: sent before it and answered
	// (or failed) after; after: sent after it.
	beforeKill := func(r regResult) bool { return r.end.Before(at) }
	cutByKill := func(r regResult) bool { return r.start.Before(at) && !r.end.Before(at) }
	afterKill := func(r regResult) bool { return !r.start.Before(at) }
	c1before, c2before := l.tally(1, beforeKill), l.tally(2, beforeKill)
	c1cut, cut := l.tally(1, cutByKill), l.tally(2, cutByKill)
	c1after, c2after := l.tally(1, afterKill), l.tally(2, afterKill)

	rebalanceStr := func() string {
		var b strings.Builder
		for i, g := range groups {
			if i > 0 {
				b.WriteString(", ")
			}
			d, ok := rebalance[g]
			if ok {
				fmt.Fprintf(&b, "%s %s -> %d after %.1fs (lag 0 after %.1fs)", g, before[g], partitions, d.Seconds(), lagZero[g].Seconds())
			} else {
				fmt.Fprintf(&b, "%s %s -> not taken over within %v", g, before[g], maxRebalance+30*time.Second)
			}
		}
		return b.String()
	}
	takeover := "none in flight"
	if len(orphans) > 0 {
		takeover = fmt.Sprintf("%d in flight, all successful %.1fs after the kill", len(orphans), outboxTakeover.Seconds())
	}
	t.Logf("CHAOS instances: killed sso-2, loyalty-points-2, welcome-notifier-2 under load (%d partitions); "+
		"outbox rows of sso-2: %s; partitions: %s; "+
		"registrations: sso-1 clients before %s, across the kill %s, after %s; sso-2 clients before %s, across the kill %s, after %s; "+
		"acknowledged %d, committed without an answer %d, lost %d; outbox successful %d/%d; "+
		"loyalty bonuses %d/%d, duplicated %d; welcome mails %d/%d, duplicated %d (resent with the same Message-ID %d); all delivered %.1fs after the check began",
		partitions, takeover, rebalanceStr(),
		tallyString(c1before), tallyString(c1cut), tallyString(c1after), tallyString(c2before), tallyString(cut), tallyString(c2after),
		len(acked), len(committedUnacked), v.lost, v.outboxOK, len(all),
		v.bonuses, len(all), v.bonusDup, v.mailsSent, len(all), v.mailDup, v.mailResent, v.deliveredAfter.Seconds())

	if n := failures(c1before) + failures(c1cut) + failures(c1after); n > 0 {
		t.Errorf("the surviving sso's clients saw %d failed registrations: %s / %s / %s", n, tallyString(c1before), tallyString(c1cut), tallyString(c1after))
	}
	if n := failures(c2before); n > 0 {
		t.Errorf("sso-2's clients saw %d failures before the kill: %s", n, tallyString(c2before))
	}
	if c2after["refused"] == 0 {
		t.Errorf("sso-2's clients saw no refused connection after the kill: %s; was it killed?", tallyString(c2after))
	}
	if len(orphans) > 0 && (outboxTakeover == 0 || outboxTakeover > maxOutboxTakeover) {
		t.Errorf("sso-2's %d in-flight outbox rows: taken over after %v, bound %v", len(orphans), outboxTakeover, maxOutboxTakeover)
	}
	for _, g := range groups {
		if d, ok := rebalance[g]; !ok || d > maxRebalance {
			t.Errorf("group %s: the survivor held all %d partitions after %v (bound %v, ok %v)", g, partitions, d, maxRebalance, ok)
		}
		if _, ok := lagZero[g]; !ok {
			t.Errorf("group %s: lag not back to 0 within %v", g, maxInstanceLagZero)
		}
	}
	if v.lost > 0 {
		t.Errorf("%d acknowledged registrations are missing", v.lost)
	}
	if v.outboxOK != len(all) || v.bonuses != len(all) || v.mailsSent != len(all) {
		t.Errorf("not every event delivered within %v: outbox %d, bonuses %d, mails %d of %d",
			deliveryWait, v.outboxOK, v.bonuses, v.mailsSent, len(all))
	}
	if v.bonusDup > 0 || v.mailDup > 0 {
		t.Errorf("duplicated effects: %d bonuses, %d mails", v.bonusDup, v.mailDup)
	}

	// Start the killed instances again; they rejoin their groups.
	restart := time.Now()
	if out, err := servicesScript(ctx, "up", "--instance", "2"); err != nil {
		t.Fatalf("restart the killed instances: %v\n%s", err, out)
	}
	for _, g := range groups {
		var a assignment
		if !testenv.Eventually(90*time.Second, 500*time.Millisecond, func() bool {
			a, err = describeGroup(ctx, admin, g)
			return err == nil && len(a) == 2 && !strings.HasPrefix(a.String(), "0+")
		}) {
			t.Errorf("group %s: the restarted instance did not get partitions: %v (%v)", g, a, err)
		}
	}
	t.Logf("CHAOS instances: second instances restarted and sharing partitions again after %.1fs", time.Since(restart).Seconds())
}

func deleteInstanceMails(l *instancesLoad) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.results {
		if r.transport == "refused" {
			continue // never reached sso
		}
		if mails, err := testenv.MailsTo(r.email); err == nil && len(mails) > 0 {
			_ = testenv.DeleteMails(mails)
		}
	}
}
