//go:build chaos

package chaos_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// Settings, each overridable by the environment variable of the same name.
var (
	kafkaTopic  = env("CHAOS_KAFKA_TOPIC", "user-registered")
	kafkaGroups = strings.Split(env("CHAOS_KAFKA_GROUPS", "loyalty-points,welcome-notifier"), ",")
	// ssoMetricsURL is where the outbox relay's publish counters are read.
	ssoMetricsURL = env("CHAOS_SSO_METRICS_URL", ssoURL+"/metrics")
)

// Bounds and durations of the Kafka test. A killed broker is fenced after
// broker.session.timeout.ms (9 s by default); its partitions are led by
// another replica from then on. The load goes on well past that.
const (
	kafkaLoadBefore = 5 * time.Second
	kafkaOutage     = 20 * time.Second
	maxLagZero      = 2 * time.Minute
	maxISRBack      = 2 * time.Minute
	singleBrokerMsg = "single-broker profile: run `go tool task up:ha` first"
)

// TestKafkaBrokerKilled kills one of the three Kafka brokers with SIGKILL
// (the one leading most partitions of the registration topic) while
// clients register, keeps registering, and checks that registrations never
// fail (Kafka is not on the request path), that every acknowledged
// registration's event is published (the outbox relay retries what the
// dead leader did not acknowledge) and reaches both consumers exactly once,
// that both consumer groups catch up (lag 0), and that the broker, started
// again, rejoins every in-sync replica set.
//
// It needs the three-broker profile and root: `go tool task test:chaos:kafka`
// brings the profile up and runs it; against a single broker it fails.
func TestKafkaBrokerKilled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to signal the stack's Kafka (run as the stack's owner)")
	}
	first, _, _ := strings.Cut(testenv.KafkaBrokers, ",")
	testenv.Require(t, first, ssoHostPort())
	ctx := t.Context()

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers, "log_level": 2})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.GetMetadata(&kafkaTopic, false, 10_000)
	if err != nil {
		t.Fatalf("Kafka metadata via %s: %v", testenv.KafkaBrokers, err)
	}
	if len(md.Brokers) < 3 {
		t.Fatalf("%d broker(s) at %s, want three: %s", len(md.Brokers), testenv.KafkaBrokers, singleBrokerMsg)
	}
	// Every broker, so that the test's own clients do not depend on the
	// one it kills for their bootstrap.
	var all []string
	for _, b := range md.Brokers {
		all = append(all, fmt.Sprintf("%s:%d", b.Host, b.Port))
	}
	admin.Close()
	// log_level 2: the client's reconnect errors about the killed broker
	// are expected and would bury the figures.
	if admin, err = kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": strings.Join(all, ","), "log_level": 2}); err != nil {
		t.Fatal(err)
	}

	// A healthy start: every partition of every topic (__consumer_offsets
	// above all) fully in sync, both groups consuming. Right after the
	// stack or the services started, that takes a while.
	if !testenv.Eventually(2*time.Minute, 500*time.Millisecond, func() bool { return clusterInSync(admin) == nil }) {
		t.Fatalf("the cluster is not fully in sync, the test needs a healthy one: %v", clusterInSync(admin))
	}
	var groups string
	if !testenv.Eventually(2*time.Minute, 500*time.Millisecond, func() bool {
		var err error
		groups, err = groupsConsuming(ctx, admin)
		return err == nil
	}) {
		_, err := groupsConsuming(ctx, admin)
		t.Fatalf("consumer groups not consuming %s: %v", kafkaTopic, err)
	}
	parts, _ := topicPartitions(admin)
	quorumLeader := kafkaQuorumLeader()
	victim := mostLeader(parts, quorumLeader)
	pid, err := kafkaNodePID(victim)
	if err != nil {
		t.Fatalf("pid of broker %d: %v", victim, err)
	}
	t.Logf("partitions of %s before: %s; groups: %s; controller quorum leader: node %d; killing broker %d (pid %d)",
		kafkaTopic, describePartitions(parts), groups, quorumLeader, victim, pid)

	failuresBefore, err := outboxFailures()
	if err != nil {
		t.Fatalf("sso metrics: %v", err)
	}

	l := &load{client: &http.Client{Timeout: requestTimeout}, run: fmt.Sprintf("kafka-%x", rand.Uint32())}
	t.Cleanup(func() { deleteMails(l) })
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for pause(loadCtx, 20*time.Millisecond) {
				l.register(loadCtx)
			}
		})
	}
	defer func() { stopLoad(); wg.Wait() }()

	time.Sleep(kafkaLoadBefore)
	l.mu.Lock()
	ackedBefore := len(l.acked)
	l.mu.Unlock()
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill broker %d: %v", victim, err)
	}
	t.Logf("killed broker %d (pid %d) at %s", victim, pid, killed.Format(time.RFC3339Nano))

	// The dead broker's partitions get new leaders once the controller
	// fences it.
	var reLed time.Duration
	testenv.Eventually(kafkaOutage, 250*time.Millisecond, func() bool {
		p, err := topicPartitions(admin)
		if err != nil || slices.ContainsFunc(p, func(p kafka.PartitionMetadata) bool { return p.Leader == victim || p.Leader < 0 }) {
			return false
		}
		reLed = time.Since(killed)
		return true
	})
	time.Sleep(time.Until(killed.Add(kafkaOutage)))
	stopLoad()
	wg.Wait()
	loadStopped := time.Now()

	// Both groups catch up with everything published. A fresh client for
	// each look: one that knew the killed broker as a group's coordinator
	// keeps asking it for the group's offsets, until the broker is back.
	var lagZero time.Duration
	lagLast := map[string]string{}
	lagOK := testenv.Eventually(maxLagZero, time.Second, func() bool {
		la, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": strings.Join(all, ","), "log_level": 2})
		if err != nil {
			return false
		}
		defer la.Close()
		zero := true
		for _, g := range kafkaGroups {
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			n, err := kafkatest.Lag(lctx, la, g, kafkaTopic)
			cancel()
			lagLast[g] = fmt.Sprintf("lag %d, error %v", n, err)
			zero = zero && err == nil && n == 0
		}
		if zero {
			lagZero = time.Since(loadStopped)
		}
		return zero
	})
	failuresAfter, err := outboxFailures()
	if err != nil {
		t.Errorf("sso metrics: %v", err)
	}

	v := verify(t, l.acked)
	retried, maxAttempts, slowest := deliveryFigures(t, l.acked)

	// The broker, started again, rejoins every in-sync replica set.
	restarted := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "deploy", "local", "stack"), "up", "kafka")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restart the killed broker: %v\n%s", err, out)
	}
	isrBack := testenv.Eventually(maxISRBack, 500*time.Millisecond, func() bool {
		p, err := topicPartitions(admin)
		return err == nil && fullyInSync(p)
	})
	rejoin := time.Since(restarted)
	parts, _ = topicPartitions(admin)

	f := summarize(l.outcomes, killed, loadStopped)
	t.Logf("CHAOS kafka-broker: killed broker %d of 3 (controller quorum leader: node %d); its partitions led again after %.1fs; "+
		"registrations %s (%d acknowledged during the outage of %v); "+
		"outbox publish failures retried by the relay %d, events published on a second or later attempt %d (max attempts %d); "+
		"events lost %d; outbox successful %d/%d; loyalty welcome bonuses %d/%d, duplicated %d; welcome mails %d/%d, duplicated %d; "+
		"slowest registration to bonus %.1fs; consumer lag 0 %.1fs after the load stopped; "+
		"broker %d back in every ISR %.1fs after the restart command (JVM start included; %s); quorum leader now node %d",
		victim, quorumLeader, reLed.Seconds(), f.byOp["register"], len(l.acked)-ackedBefore, kafkaOutage,
		failuresAfter-failuresBefore, retried, maxAttempts,
		len(l.acked)-v.outboxOK, v.outboxOK, len(l.acked), v.bonuses, len(l.acked), v.bonusDup, v.mailsSent, len(l.acked), v.mailDup,
		slowest.Seconds(), lagZero.Seconds(), victim, rejoin.Seconds(), describePartitions(parts), kafkaQuorumLeader())

	if n := f.byOp["register"].failed(); n > 0 {
		t.Errorf("%d registrations failed: Kafka is not on the request path", n)
	}
	if reLed == 0 {
		t.Errorf("broker %d's partitions had no other leader within %v", victim, kafkaOutage)
	}
	if v.lost > 0 {
		t.Errorf("%d acknowledged registrations are missing", v.lost)
	}
	if v.outboxOK != len(l.acked) || v.bonuses != len(l.acked) || v.mailsSent != len(l.acked) {
		t.Errorf("events lost: of %d, outbox published %d, bonuses %d, mails %d", len(l.acked), v.outboxOK, v.bonuses, v.mailsSent)
	}
	if v.bonusDup > 0 || v.mailDup > 0 {
		t.Errorf("duplicated effects: %d bonuses, %d mails", v.bonusDup, v.mailDup)
	}
	if !lagOK {
		t.Errorf("consumer groups still lag on %s %v after the load stopped: %v", kafkaTopic, maxLagZero, lagLast)
	}
	if !isrBack {
		t.Errorf("broker %d not back in every ISR %v after its restart: %s", victim, maxISRBack, describePartitions(parts))
	}
}

// clusterInSync fails unless every partition of every topic has all its
// replicas in sync.
func clusterInSync(admin *kafka.AdminClient) error {
	md, err := admin.GetMetadata(nil, true, 5_000)
	if err != nil {
		return err
	}
	for name, tm := range md.Topics {
		if tm.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("topic %s: %v", name, tm.Error)
		}
		if !fullyInSync(tm.Partitions) {
			return fmt.Errorf("topic %s: %s", name, describePartitions(tm.Partitions))
		}
	}
	return nil
}

// groupsConsuming checks that each consumer group is stable with the
// registration topic's partitions assigned, and describes them.
func groupsConsuming(ctx context.Context, admin *kafka.AdminClient) (string, error) {
	res, err := admin.DescribeConsumerGroups(ctx, kafkaGroups)
	if err != nil {
		return "", err
	}
	parts, err := topicPartitions(admin)
	if err != nil {
		return "", err
	}
	var out []string
	for _, g := range res.ConsumerGroupDescriptions {
		assigned := 0
		for _, m := range g.Members {
			for _, tp := range m.Assignment.TopicPartitions {
				if tp.Topic != nil && *tp.Topic == kafkaTopic {
					assigned++
				}
			}
		}
		if g.Error.Code() != kafka.ErrNoError || g.State != kafka.ConsumerGroupStateStable || assigned != len(parts) {
			return "", fmt.Errorf("group %s: %s, %d of %d partitions assigned (%v)", g.GroupID, g.State, assigned, len(parts), g.Error)
		}
		out = append(out, fmt.Sprintf("%s coordinator %d, %d member(s)", g.GroupID, g.Coordinator.ID, len(g.Members)))
	}
	return strings.Join(out, ", "), nil
}

// topicPartitions is the registration topic's partitions as the cluster
// sees them.
func topicPartitions(admin *kafka.AdminClient) ([]kafka.PartitionMetadata, error) {
	md, err := admin.GetMetadata(&kafkaTopic, false, 5_000)
	if err != nil {
		return nil, err
	}
	tm, ok := md.Topics[kafkaTopic]
	if !ok || tm.Error.Code() != kafka.ErrNoError {
		return nil, fmt.Errorf("topic %s: %v", kafkaTopic, tm.Error)
	}
	p := slices.Clone(tm.Partitions)
	slices.SortFunc(p, func(a, b kafka.PartitionMetadata) int { return int(a.ID - b.ID) })
	return p, nil
}

func fullyInSync(parts []kafka.PartitionMetadata) bool {
	for _, p := range parts {
		if len(p.Replicas) < 3 || len(p.Isrs) != len(p.Replicas) || p.Leader < 0 {
			return false
		}
	}
	return true
}

// mostLeader is the broker that leads most partitions: its death moves the
// most leadership. On a tie, the controller quorum's leader if it is among
// them (its death moves the metadata leadership too), else the lowest id.
func mostLeader(parts []kafka.PartitionMetadata, quorumLeader int32) int32 {
	n := map[int32]int{}
	for _, p := range parts {
		n[p.Leader]++
	}
	best := int32(-1)
	for id, c := range n {
		switch {
		case best < 0 || c > n[best]:
			best = id
		case c == n[best] && best != quorumLeader && (id == quorumLeader || id < best):
			best = id
		}
	}
	return best
}

// kafkaQuorumLeader reads which node leads the controller quorum from the
// nodes' persisted election state, as `deploy/local/stack status` does (a
// Kafka client cannot ask): the highest leader epoch names it. -1 when
// unknown.
func kafkaQuorumLeader() int32 {
	state := env("STACK_STATE_DIR", filepath.Join(repoRoot(), ".local"))
	leader, epoch := int32(-1), -1
	for n := 1; n <= 3; n++ {
		b, err := os.ReadFile(filepath.Join(state, "kafka-ha", fmt.Sprintf("node-%d", n), "data", "__cluster_metadata-0", "quorum-state"))
		if err != nil {
			continue
		}
		var q struct {
			LeaderID    int32 `json:"leaderId"`
			LeaderEpoch int   `json:"leaderEpoch"`
		}
		if json.Unmarshal(b, &q) == nil && q.LeaderEpoch > epoch {
			leader, epoch = q.LeaderID, q.LeaderEpoch
		}
	}
	return leader
}

func describePartitions(parts []kafka.PartitionMetadata) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "p%d leader %d isr %v", p.ID, p.Leader, p.Isrs)
	}
	return b.String()
}

// kafkaNodePID reads the pid of the three-broker profile's node id from the
// stack's pidfile.
func kafkaNodePID(id int32) (int, error) {
	state := env("STACK_STATE_DIR", filepath.Join(repoRoot(), ".local"))
	b, err := os.ReadFile(filepath.Join(state, "run", fmt.Sprintf("kafka-%d.pid", id)))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// outboxFailures reads sso_outbox_deliveries_total{outcome="failure"}.
func outboxFailures() (int, error) {
	resp, err := http.Get(ssoMetricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `sso_outbox_deliveries_total{outcome="failure"}`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			return int(v), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no sso_outbox_deliveries_total", ssoMetricsURL)
}

// deliveryFigures reports how many events took more than one publish
// attempt, the most attempts one took, and the longest time from a
// registration's outbox row to its welcome bonus.
func deliveryFigures(t *testing.T, acked []account) (retried, maxAttempts int, slowest time.Duration) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	ids := make([]string, len(acked))
	for i, a := range acked {
		ids[i] = a.id
	}
	var rows []struct {
		User     string    `db:"aggregate_id"`
		Attempts int       `db:"attempts"`
		Created  time.Time `db:"created_at"`
	}
	if err := openDB(t, ssoDB).SelectContext(ctx, &rows,
		"SELECT aggregate_id, attempts, created_at FROM outbox WHERE aggregate_id = ANY($1) AND event_type = 'UserRegistered'", pq.Array(ids)); err != nil {
		t.Fatalf("outbox rows: %v", err)
	}
	var bonuses []struct {
		User    string    `db:"user_id"`
		Created time.Time `db:"created_at"`
	}
	if err := openDB(t, loyaltyDB).SelectContext(ctx, &bonuses,
		"SELECT user_id, created_at FROM transactions WHERE user_id = ANY($1) AND kind = 'WELCOME_BONUS'", pq.Array(ids)); err != nil {
		t.Fatalf("bonus rows: %v", err)
	}
	bonusAt := map[string]time.Time{}
	for _, b := range bonuses {
		bonusAt[b.User] = b.Created
	}
	for _, r := range rows {
		if r.Attempts > 1 {
			retried++
		}
		maxAttempts = max(maxAttempts, r.Attempts)
		if at, ok := bonusAt[r.User]; ok {
			slowest = max(slowest, at.Sub(r.Created))
		}
	}
	return retried, maxAttempts, slowest
}
