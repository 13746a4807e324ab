package e2e_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
)

// system is one running copy of the product: the three services as real
// processes, wired to each other and to their own databases and topic.
type system struct {
	suffix string
	topic  string
	// accountTopic carries sso's account events, whose one-time tokens
	// are sealed with ring (the file both sso and the notifier read).
	accountTopic string
	// auditTopic carries sso's audit events, which sso itself consumes
	// (group auditGroup) into its audit log.
	auditTopic string
	auditGroup string
	ring       *sealbox.Ring
	ringFile   string
	// bin holds the binaries; ssoEnv is sso's environment, which its
	// commands (`sso schemas register`) run with too.
	bin     string
	ssoEnv  map[string]string
	spans   *testenv.SpanCollector
	ssoHTTP string
	ssoGRPC string
	loyHTTP string
	loyGRPC string
	notHTTP string
	dbs     map[string]string // service -> database name
	procs   map[string]*process
	bonus   int64
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

var (
	setupOnce sync.Once
	sys       *system
	setupErr  error
	cleanups  []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// theSystem starts the product on first use; under -short the test skips,
// and without the stack it fails.
func theSystem(t *testing.T) *system {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN), testenv.HostPort(testenv.PGReplicaDSN), testenv.RedisAddrs()[0], testenv.KafkaBrokers,
		testenv.HostPort(testenv.SchemaRegistryURL), testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL))
	setupOnce.Do(func() { sys, setupErr = startSystem(t) })
	if setupErr != nil {
		t.Fatalf("start system: %v", setupErr)
	}
	return sys
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func startSystem(t *testing.T) (*system, error) {
	s := &system{
		suffix: randomHex(4),
		dbs:    map[string]string{},
		procs:  map[string]*process{},
		bonus:  100,
	}
	s.topic = "e2e-user-registered-" + s.suffix
	s.accountTopic = "e2e-account-events-" + s.suffix
	s.auditTopic = "e2e-audit-events-" + s.suffix
	s.auditGroup = "e2e-sso-audit-" + s.suffix
	s.spans = testenv.NewSpanCollector(&cleanupTB{TB: t})

	bin, err := os.MkdirTemp("", "ssokit-e2e-")
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(bin) })
	s.bin = bin
	for _, name := range []string{"sso", "loyalty-points", "welcome-notifier"} {
		if err := build(name, bin); err != nil {
			return nil, err
		}
	}

	// Each service's own database, on the replica too before sso reads
	// from it.
	for _, svc := range []string{"sso", "loyalty", "notifier"} {
		db, drop, err := testenv.CreateDatabase(t.Context(), svc+"_e2e_"+s.suffix)
		if err != nil {
			return nil, err
		}
		s.dbs[svc] = db
		cleanups = append(cleanups, func() { _ = drop() })
	}
	cleanups = append(cleanups, func() { deleteTopicAndSubjects(s.topic) })
	cleanups = append(cleanups, func() { deleteTopicAndSubjects(s.accountTopic) })
	cleanups = append(cleanups, func() { deleteTopicAndSubjects(s.auditTopic) })
	if err := s.writeRing(bin); err != nil {
		return nil, err
	}

	ports := freePorts(5)
	s.ssoGRPC, s.ssoHTTP = ports[0], ports[1]
	s.loyGRPC, s.loyHTTP = ports[2], ports[3]
	s.notHTTP = ports[4]
	keys := filepath.Join(bin, "keys")

	s.ssoEnv = map[string]string{
		"SSO_GRPC_ADDR":             s.ssoGRPC,
		"SSO_HTTP_ADDR":             s.ssoHTTP,
		"SSO_DB_PRIMARY_DSN":        testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs["sso"]),
		"SSO_DB_REPLICA_DSN":        testenv.WithDatabase(testenv.PGReplicaDSN, s.dbs["sso"]),
		"SSO_REDIS_ADDR":            testenv.RedisAddr,
		"SSO_REDIS_SENTINEL_ADDRS":  redisSentinels(),
		"SSO_REDIS_SENTINEL_MASTER": testenv.RedisSentinelMaster,
		"SSO_REDIS_KEY_PREFIX":      "e2e-" + s.suffix + ":",
		"SSO_JWT_KEYS_DIR":          keys,
		"SSO_PUBLIC_URL":            "http://" + s.ssoHTTP,
		"SSO_OIDC_KEY_FILE":         filepath.Join(bin, "oidc", "rsa.pem"),
		// Every test's browser and relying party call from 127.0.0.1.
		"SSO_OIDC_ADDRESS_LIMIT":     "1000000",
		"SSO_KAFKA_BROKERS":          testenv.KafkaBrokers,
		"SSO_SCHEMA_REGISTRY_URL":    testenv.SchemaRegistryURL,
		"SSO_USER_EVENTS_TOPIC":      s.topic,
		"SSO_ACCOUNT_EVENTS_TOPIC":   s.accountTopic,
		"SSO_AUDIT_EVENTS_TOPIC":     s.auditTopic,
		"SSO_AUDIT_GROUP_ID":         s.auditGroup,
		"SSO_OUTBOX_STALE_AFTER":     "10s",
		"SSO_OUTBOX_SWEEP_INTERVAL":  "500ms",
		"SSO_OUTBOX_MAX_BACKOFF":     "5s",
		"SSO_KAFKA_MESSAGE_TIMEOUT":  "5s",
		"SSO_OTLP_ENDPOINT":          s.spans.Endpoint,
		"SSO_LOGIN_IP_FAILURE_LIMIT": "10000",
		"SSO_REGISTER_IP_LIMIT":      "10000",
		"SSO_SEALING_KEYS_FILE":      s.ringFile,
		// Every test calls from 127.0.0.1: only the per-account limits bite.
		"SSO_VERIFY_RESEND_IP_LIMIT":   "10000",
		"SSO_PASSWORD_FORGOT_IP_LIMIT": "10000",
		"SSO_PASSWORD_RESET_IP_LIMIT":  "10000",
	}
	// The deploy step first: sso registers no schema itself.
	if out, err := s.ssoCommand(s.ssoEnv, "schemas", "register"); err != nil {
		return nil, fmt.Errorf("sso schemas register: %v\n%s", err, out)
	}
	if err := s.start("sso", bin, s.ssoHTTP, s.ssoEnv); err != nil {
		return nil, err
	}
	if err := s.start("loyalty-points", bin, s.loyHTTP, map[string]string{
		"LOYALTY_GRPC_ADDR":               s.loyGRPC,
		"LOYALTY_HTTP_ADDR":               s.loyHTTP,
		"LOYALTY_DB_DSN":                  testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs["loyalty"]),
		"LOYALTY_SSO_GRPC_ADDR":           s.ssoGRPC,
		"LOYALTY_KAFKA_BROKERS":           testenv.KafkaBrokers,
		"LOYALTY_SCHEMA_REGISTRY_URL":     testenv.SchemaRegistryURL,
		"LOYALTY_TOPIC":                   s.topic,
		"LOYALTY_GROUP_ID":                "e2e-loyalty-" + s.suffix,
		"LOYALTY_ACCOUNT_EVENTS_TOPIC":    s.accountTopic,
		"LOYALTY_ACCOUNT_EVENTS_GROUP_ID": "e2e-loyalty-account-" + s.suffix,
		"LOYALTY_WELCOME_BONUS":           fmt.Sprint(s.bonus),
		"LOYALTY_OTLP_ENDPOINT":           s.spans.Endpoint,
	}); err != nil {
		return nil, err
	}
	if err := s.start("welcome-notifier", bin, s.notHTTP, map[string]string{
		"NOTIFIER_HTTP_ADDR":             s.notHTTP,
		"NOTIFIER_DB_DSN":                testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs["notifier"]),
		"NOTIFIER_KAFKA_BROKERS":         testenv.KafkaBrokers,
		"NOTIFIER_SCHEMA_REGISTRY_URL":   testenv.SchemaRegistryURL,
		"NOTIFIER_TOPIC":                 s.topic,
		"NOTIFIER_GROUP_ID":              "e2e-notifier-" + s.suffix,
		"NOTIFIER_ACCOUNT_EVENTS_TOPIC":  s.accountTopic,
		"NOTIFIER_ACCOUNT_GROUP_ID":      "e2e-notifier-account-" + s.suffix,
		"NOTIFIER_SEALING_KEYS_FILE":     s.ringFile,
		"NOTIFIER_SSO_GRPC_ADDR":         s.ssoGRPC,
		"NOTIFIER_LINK_BASE_URL":         "http://" + s.ssoHTTP,
		"NOTIFIER_SMTP_ADDR":             testenv.SMTPAddr,
		"NOTIFIER_RETRY_INITIAL_BACKOFF": "200ms",
		"NOTIFIER_RETRY_MAX_BACKOFF":     "2s",
		"NOTIFIER_MAX_ATTEMPTS":          "30",
		"NOTIFIER_OTLP_ENDPOINT":         s.spans.Endpoint,
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// ssoCommand runs `sso args...` with env on top of this process's
// environment, as a deploy step would, and returns what it printed.
func (s *system) ssoCommand(env map[string]string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, "sso"), args...)
	cmd.Dir = s.bin
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd.CombinedOutput()
}

// writeRing writes the run's sealing key ring into dir, readable by its
// owner only, as deploy/local does.
func (s *system) writeRing(dir string) error {
	line, err := sealbox.NewKeyLine("e2e-" + s.suffix)
	if err != nil {
		return err
	}
	s.ringFile = filepath.Join(dir, "sealing-keys")
	if err := os.WriteFile(s.ringFile, []byte(line+"\n"), 0o600); err != nil {
		return err
	}
	s.ring, err = sealbox.Load(s.ringFile)
	return err
}

// cleanupTB lets the shared collector outlive the first test that starts
// the system: its Cleanup runs at the end of TestMain instead.
type cleanupTB struct{ testing.TB }

func (c *cleanupTB) Cleanup(f func()) { cleanups = append(cleanups, f) }

func build(name, dir string) error {
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
	cmd.Dir = filepath.Join(repoRoot(), "services", name)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", name, err, out)
	}
	return nil
}

// start runs a service binary with env (on top of this process's
// environment) and waits until its /readyz answers 200.
func (s *system) start(name, bin, httpAddr string, env map[string]string) error {
	logPath := filepath.Join(bin, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, name))
	cmd.Dir = bin
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	s.procs[name] = p
	cleanups = append(cleanups, func() { p.stop() })

	if !testenv.Eventually(60*time.Second, 100*time.Millisecond, func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		return fmt.Errorf("%s never became ready; log:\n%s", name, tail(logPath, 40))
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s exited; log:\n%s", name, tail(logPath, 40))
	default:
	}
	return nil
}

// stop asks the process to shut down gracefully, as the deploy scripts do.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logs returns a service's log so far, for failure messages.
func (s *system) logs(name string) string { return tail(s.procs[name].log, 60) }

// freePorts returns n free loopback addresses: from E2E_PORT_BASE upward
// when it is set (so that runs sharing a machine keep to ranges of their
// own), otherwise any the kernel picks.
func freePorts(n int) []string {
	var out []string
	var lns []net.Listener
	next := 0
	if base := os.Getenv("E2E_PORT_BASE"); base != "" {
		if _, err := fmt.Sscan(base, &next); err != nil || next <= 0 || next > 65535-n {
			panic(fmt.Sprintf("E2E_PORT_BASE=%q is not a port", base))
		}
	}
	for len(out) < n {
		addr := "127.0.0.1:0"
		if next > 0 {
			if next > 65535 {
				panic("no free port above E2E_PORT_BASE")
			}
			addr = fmt.Sprintf("127.0.0.1:%d", next)
			next++
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if next > 0 {
				continue // taken: try the next one
			}
			panic(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// restResponse is a decoded JSON answer.
type restResponse struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (r restResponse) str(k string) string { s, _ := r.Body[k].(string); return s }

// call sends a JSON request with optional bearer token and extra headers.
func call(t *testing.T, method, url, bearer string, body any, header map[string]string) restResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(testenv.Context(t, 30*time.Second), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := restResponse{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

func (s *system) email(t *testing.T) string {
	return strings.ReplaceAll(testenv.Name(t, "e2e"), "_", "-") + "@example.test"
}

const password = "correct horse battery staple"

// register signs a user up over REST and returns user id and access token.
func (s *system) register(t *testing.T, email string, header map[string]string) (string, string) {
	t.Helper()
	r := call(t, http.MethodPost, "http://"+s.ssoHTTP+"/v1/auth/register", "",
		map[string]string{"email": email, "password": password, "full_name": "Grace Hopper"}, header)
	if r.Status != http.StatusOK {
		t.Fatalf("register %s: %d %s", email, r.Status, r.Raw)
	}
	return r.str("user_id"), r.str("access_token")
}

// redisSentinels is SSO_REDIS_SENTINEL_ADDRS for the stack's Redis:
// "none" when the tests run against a plain Redis.
func redisSentinels() string {
	if len(testenv.RedisSentinelAddrs) == 0 {
		return "none"
	}
	return strings.Join(testenv.RedisSentinelAddrs, ",")
}
