package service_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
)

// The throttling tests run on processes of their own (spawn) with the
// shipped default limits, so that what is tested is what runs. Clients
// get distinct addresses the way real ones do: gRPC connections from other
// loopback addresses (127.0.0.0/8 is all local on Linux), which sso sees
// as their peer address, trusting no header.

// defaultLimits sets the throttling limits back to what config.Load
// gives (the shipped defaults, unless the environment says otherwise),
// which the shared process relaxes.
func defaultLimits(t *testing.T) func(*config.Config) {
	t.Helper()
	d, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) { c.Login, c.Register = d.Login, d.Register }
}

// authFrom returns an AuthService client of h whose connections come from
// the loopback address ip.
func (h *harness) authFrom(t *testing.T, ip string) ssov1.AuthServiceClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	conn, err := grpc.NewClient(h.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ssov1.NewAuthServiceClient(conn)
}

// metric returns the value of one series of h's /metrics, as written
// there (labels in alphabetical order), or 0 when it is absent.
func (h *harness) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(h.baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return 0
}

const verifies = `sso_password_hash_duration_seconds_count{op="verify"}`

// retryAfter returns the RetryInfo delay of a RESOURCE_EXHAUSTED error,
// failing the test for any other answer.
func retryAfter(t *testing.T, what string, err error) time.Duration {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("%s: %v, want RESOURCE_EXHAUSTED", what, err)
	}
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			return r.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("%s: RESOURCE_EXHAUSTED without RetryInfo", what)
	return 0
}

// restRetryAfter checks a REST answer is 429 with a Retry-After of
// (0, max] seconds.
func restRetryAfter(t *testing.T, what string, r restResponse, maxWait time.Duration) {
	t.Helper()
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.Status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > int(maxWait.Seconds())+1 {
		t.Fatalf("%s: %d with Retry-After %q, want 429 with 1..%.0f s: %s", what, r.Status, r.Header.Get("Retry-After"), maxWait.Seconds(), r.Raw)
	}
}

// TestLoginBurstChecksAtMostTheLimit sends 200 concurrent guesses at one
// account from one address, then the right password while they are in
// flight: no more passwords are checked than the limit allows, and the
// right one is refused.
func TestLoginBurstChecksAtMostTheLimit(t *testing.T) {
	t.Parallel()
	h := sso(t).spawn(t, defaultLimits(t))
	limit := h.cfg.Login.Limit
	addr := email(t)
	transports[1].register(t, h, addr, goodPassword)
	before := h.metric(t, verifies)

	const burst = 200
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		codes   = map[int]int{}
		first   = make(chan struct{})
		onceAny sync.Once
	)
	for i := range burst - 1 {
		wg.Go(func() {
			_, code := transports[1].login(t, h, addr, "wrong guess "+strconv.Itoa(i))
			mu.Lock()
			codes[code]++
			mu.Unlock()
			onceAny.Do(func() { close(first) })
		})
	}
	<-first
	_, err := h.auth.Login(testenv.Context(t, time.Minute), &ssov1.LoginRequest{Email: addr, Password: goodPassword})
	wait := retryAfter(t, "right password sent during the burst", err)
	wg.Wait()

	checked := h.metric(t, verifies) - before
	t.Logf("%d guesses and the right password: %v by status, %.0f passwords checked, right one refused for %s",
		burst-1, codes, checked, wait)
	if checked > float64(limit) {
		t.Errorf("%.0f passwords checked in a burst of %d, want at most the limit, %d", checked, burst, limit)
	}
	if codes[http.StatusUnauthorized] > limit || codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != burst-1 {
		t.Errorf("answers %v, want at most %d 401 and the rest 429", codes, limit)
	}
	if wait <= 0 || wait > h.cfg.Login.Window {
		t.Errorf("RetryAfter %s, want within the window %s", wait, h.cfg.Login.Window)
	}
	if got := h.metric(t, `sso_throttled_total{limit="account_address",op="login"}`); got < float64(burst-limit) {
		t.Errorf("sso_throttled_total{account_address} = %.0f, want at least %d", got, burst-limit)
	}
}

// TestAttackerCannotLockOutTheOwner: an address that used up its guesses
// at an account is refused, the owner at another address still logs in,
// until the account as a whole has had its limit of failures from many
// addresses; then everyone is refused, over REST and gRPC, with a wait.
func TestAttackerCannotLockOutTheOwner(t *testing.T) {
	t.Parallel()
	h := sso(t).spawn(t, defaultLimits(t))
	perPair, perAccount := h.cfg.Login.Limit, h.cfg.Login.AccountLimit
	addr := email(t)
	transports[1].register(t, h, addr, goodPassword)
	ctx := testenv.Context(t, 2*time.Minute)
	attack := func(ip string) {
		t.Helper()
		c := h.authFrom(t, ip)
		for i := range perPair {
			_, err := c.Login(ctx, &ssov1.LoginRequest{Email: addr, Password: "guess " + strconv.Itoa(i)})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("guess %d from %s: %v, want UNAUTHENTICATED", i, ip, err)
			}
		}
	}

	attack("127.0.0.2")
	_, err := h.authFrom(t, "127.0.0.2").Login(ctx, &ssov1.LoginRequest{Email: addr, Password: goodPassword})
	retryAfter(t, "the attacker's address after its guesses, even with the password", err)
	owner := h.authFrom(t, "127.0.0.3")
	if _, err := owner.Login(ctx, &ssov1.LoginRequest{Email: addr, Password: goodPassword}); err != nil {
		t.Fatalf("owner from another address during the attack: %v", err)
	}

	// More attackers, perPair guesses each, up to the account's limit.
	var wg sync.WaitGroup
	for i := range perAccount/perPair - 1 {
		wg.Go(func() { attack(fmt.Sprintf("127.0.1.%d", i+1)) })
	}
	wg.Wait()
	_, err = owner.Login(ctx, &ssov1.LoginRequest{Email: addr, Password: goodPassword})
	if wait := retryAfter(t, "owner once the account had its limit of failures", err); wait <= 0 || wait > h.cfg.Login.Window {
		t.Fatalf("RetryAfter %s, want within %s", wait, h.cfg.Login.Window)
	}
	r := h.rest(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"email": addr, "password": goodPassword})
	restRetryAfter(t, "REST login from a fresh address once the account had its limit", r, h.cfg.Login.Window)
	if got := h.metric(t, `sso_throttled_total{limit="account",op="login"}`); got != 2 {
		t.Errorf(`sso_throttled_total{limit="account"} = %.0f, want 2`, got)
	}
	// Another account is not affected.
	other := email(t) + ".other"
	transports[1].register(t, h, other, goodPassword)
	if _, err := owner.Login(ctx, &ssov1.LoginRequest{Email: other, Password: goodPassword}); err != nil {
		t.Fatalf("another account: %v", err)
	}
}

// TestRegistrationLimitPerAddress: the default allows ten registrations an
// hour from one address; the eleventh is refused before any work, over
// REST and gRPC, and another address still registers.
func TestRegistrationLimitPerAddress(t *testing.T) {
	t.Parallel()
	h := sso(t).spawn(t, defaultLimits(t))
	limit := h.cfg.Register.IPLimit
	base := email(t)
	ctx := testenv.Context(t, time.Minute)
	for i := range limit {
		transports[i%2].register(t, h, fmt.Sprintf("n%d.%s", i, base), goodPassword)
	}

	refused := "refused." + base
	r := h.rest(t, http.MethodPost, "/v1/auth/register", "", map[string]string{"email": refused, "password": goodPassword})
	restRetryAfter(t, "REST registration over the limit", r, h.cfg.Register.Window)
	if r.str("status") != "RESOURCE_EXHAUSTED" {
		t.Errorf("body %s, want status RESOURCE_EXHAUSTED", r.Raw)
	}
	_, err := h.auth.Register(ctx, &ssov1.RegisterRequest{Email: refused, Password: goodPassword})
	if wait := retryAfter(t, "gRPC registration over the limit", err); wait < h.cfg.Register.Window-time.Minute || wait > h.cfg.Register.Window {
		t.Errorf("RetryAfter %s, want about %s", wait, h.cfg.Register.Window)
	}
	var n int
	if err := h.primary.Get(&n, `SELECT count(*) FROM users WHERE email = $1`, refused); err != nil || n != 0 {
		t.Fatalf("refused registrations stored %d users (%v)", n, err)
	}
	if got := h.metric(t, `sso_throttled_total{limit="address",op="register"}`); got != 2 {
		t.Errorf(`sso_throttled_total{op="register"} = %.0f, want 2`, got)
	}

	if _, err := h.authFrom(t, "127.0.0.4").Register(ctx, &ssov1.RegisterRequest{Email: refused, Password: goodPassword}); err != nil {
		t.Fatalf("registration from another address: %v", err)
	}
}

// loginVia sends a REST login with the given X-Forwarded-For header (none
// when empty) and returns the status.
func (h *harness) loginVia(t *testing.T, xff, email, pw string) int {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw)
	req, err := http.NewRequestWithContext(testenv.Context(t, 30*time.Second), http.MethodPost, h.baseURL+"/v1/auth/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestGRPCCallerCannotClaimAnAddress: a local gRPC client sending the
// metadata the gateway sends, x-forwarded-for included, is still counted
// by its own address, so it cannot spread its guesses over made-up ones.
func TestGRPCCallerCannotClaimAnAddress(t *testing.T) {
	t.Parallel()
	h := sso(t).spawn(t, func(c *config.Config) { c.Login.IPLimit = 3 })
	base := email(t)
	login := func(i int) error {
		claimed := fmt.Sprintf("198.51.100.%d", i+1)
		ctx := metadata.AppendToOutgoingContext(testenv.Context(t, 30*time.Second),
			"x-forwarded-for", claimed, "ssokit-client-addr", claimed, "ssokit-gateway-proof", "guess")
		_, err := h.auth.Login(ctx, &ssov1.LoginRequest{Email: fmt.Sprintf("n%d.%s", i, base), Password: "guess"})
		return err
	}
	for i := range h.cfg.Login.IPLimit {
		if err := login(i); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("failure %d: %v, want UNAUTHENTICATED", i, err)
		}
	}
	retryAfter(t, "a fourth failure from the same peer, claiming a fourth address", login(99))
}

// TestRESTClientAddressBehindTrustedProxies: with the test client as a
// trusted proxy, the client is the right-most X-Forwarded-For hop that is
// not a trusted proxy; hops a client wrote on the left do not matter.
func TestRESTClientAddressBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	h := sso(t).spawn(t, func(c *config.Config) {
		c.Login.IPLimit = 2
		c.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8"}
	})
	base := email(t)
	steps := []struct {
		xff  string
		want int
	}{
		{"6.6.6.6, 198.51.100.7, 10.1.2.3", http.StatusUnauthorized},
		{"7.7.7.7, 198.51.100.7", http.StatusUnauthorized},
		{"198.51.100.7", http.StatusTooManyRequests}, // its third failure
		{"8.8.8.8, 198.51.100.7, 10.9.9.9", http.StatusTooManyRequests},
		{"198.51.100.7, 198.51.100.8", http.StatusUnauthorized}, // another client
		{"", http.StatusUnauthorized},                           // the proxy itself
	}
	for i, st := range steps {
		if got := h.loginVia(t, st.xff, fmt.Sprintf("n%d.%s", i, base), "guess"); got != st.want {
			t.Fatalf("login %d with X-Forwarded-For %q: %d, want %d", i, st.xff, got, st.want)
		}
	}
}

// TestRESTIgnoresForwardedForByDefault: with no trusted proxies, the HTTP
// peer is the client, whatever X-Forwarded-For says.
func TestRESTIgnoresForwardedForByDefault(t *testing.T) {
	t.Parallel()
	h := sso(t).spawn(t, func(c *config.Config) { c.Login.IPLimit = 2 })
	base := email(t)
	for i := range 2 {
		if got := h.loginVia(t, fmt.Sprintf("198.51.100.%d", i+1), fmt.Sprintf("n%d.%s", i, base), "guess"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, got)
		}
	}
	if got := h.loginVia(t, "198.51.100.3", "n3."+base, "guess"); got != http.StatusTooManyRequests {
		t.Fatalf("third failure from the same peer with a new X-Forwarded-For: %d, want 429", got)
	}
}
