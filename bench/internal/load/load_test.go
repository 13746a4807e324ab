package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
)

func TestParseMix(t *testing.T) {
	mix, err := ParseMix("validate=70, refresh=20,login=7,register=3,")
	if err == nil {
		t.Fatalf("ParseMix accepted a trailing empty entry: %v", mix)
	}
	mix, err = ParseMix("validate=70,refresh=20,login=0,register=3")
	if err != nil {
		t.Fatal(err)
	}
	want := []Weighted{{OpValidate, 70}, {OpRefresh, 20}, {OpRegister, 3}} // zero weights dropped
	if fmt.Sprint(mix) != fmt.Sprint(want) {
		t.Fatalf("ParseMix = %v, want %v", mix, want)
	}
	for _, bad := range []string{"", "validate", "validate=x", "logout=5", "validate=-1", "login=0", "login=1,login=2"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) succeeded", bad)
		}
	}
}

func TestPickerFollowsWeights(t *testing.T) {
	p := newPicker([]Weighted{{OpValidate, 70}, {OpRefresh, 20}, {OpLogin, 10}})
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	const n = 100_000
	for range n {
		counts[p.pick(rng)]++
	}
	for op, share := range map[string]float64{OpValidate: 0.7, OpRefresh: 0.2, OpLogin: 0.1} {
		got := float64(counts[op]) / n
		if got < share-0.01 || got > share+0.01 {
			t.Errorf("%s picked %.3f of the time, want %.2f", op, got, share)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, "down"), "Unavailable"},
		{status.Error(codes.ResourceExhausted, "slow down"), "ResourceExhausted"},
		{fmt.Errorf("call: %w", &HTTPError{Status: 409}), "HTTP 409"},
		{ErrTokenInvalid, "valid=false"},
		{fmt.Errorf("post: %w", context.DeadlineExceeded), "timeout"},
		{errors.New("connection refused"), "transport"},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// fake is an in-memory sso: refresh tokens rotate (a used one fails), and
// a configurable share of validations fails.
type fake struct {
	mu        sync.Mutex
	live      map[string]bool // refresh tokens not yet used
	n         atomic.Int64
	users     sync.Map
	failEvery int64 // every n-th validate answers Unavailable
	delay     time.Duration
}

func newFake() *fake { return &fake{live: map[string]bool{}} }

func (f *fake) Transport() string { return "fake" }
func (f *fake) Close() error      { return nil }

func (f *fake) session(user string) Session {
	id := f.n.Add(1)
	rt := fmt.Sprintf("rt-%d", id)
	f.mu.Lock()
	f.live[rt] = true
	f.mu.Unlock()
	return Session{UserID: user, Access: fmt.Sprintf("at-%d", id), Refresh: rt}
}

func (f *fake) Register(_ context.Context, email, _, _ string) (Session, error) {
	time.Sleep(f.delay)
	if _, loaded := f.users.LoadOrStore(email, true); loaded {
		return Session{}, status.Error(codes.AlreadyExists, "taken")
	}
	return f.session(email), nil
}

func (f *fake) Login(_ context.Context, email, _ string) (Session, error) {
	time.Sleep(f.delay)
	if _, ok := f.users.Load(email); !ok {
		return Session{}, status.Error(codes.Unauthenticated, "no")
	}
	return f.session(email), nil
}

func (f *fake) Refresh(_ context.Context, rt string) (Session, error) {
	time.Sleep(f.delay)
	f.mu.Lock()
	ok := f.live[rt]
	delete(f.live, rt)
	f.mu.Unlock()
	if !ok {
		return Session{}, status.Error(codes.Unauthenticated, "reused")
	}
	return f.session("u"), nil
}

var validations atomic.Int64

func (f *fake) Validate(_ context.Context, at string) error {
	time.Sleep(f.delay)
	if !strings.HasPrefix(at, "at-") {
		return ErrTokenInvalid
	}
	if f.failEvery > 0 && validations.Add(1)%f.failEvery == 0 {
		return status.Error(codes.Unavailable, "flaky")
	}
	return nil
}

type countingMeter struct{ begins, ends int }

func (m *countingMeter) Begin() { m.begins++ }
func (m *countingMeter) End()   { m.ends++ }

func TestRunMixedCountsEveryOperation(t *testing.T) {
	f := newFake()
	f.failEvery = 10
	f.delay = 100 * time.Microsecond
	pool := NewPool("t", "example.com", "pw")
	if err := pool.Fill(t.Context(), f, 4, 2); err != nil {
		t.Fatal(err)
	}
	m := &countingMeter{}
	res, err := Run(t.Context(), f, pool, Plan{
		Profile: "mixed", Mix: []Weighted{{OpValidate, 6}, {OpRefresh, 3}, {OpLogin, 1}},
		Concurrency: 4, Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond,
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	if m.begins != 1 || m.ends != 1 {
		t.Fatalf("meter Begin/End called %d/%d times, want once each", m.begins, m.ends)
	}
	if res.Profile != "mixed" || res.Transport != "fake" || res.Concurrency != 4 || res.Seconds < 0.2 || res.Seconds > 0.5 {
		t.Fatalf("result header = %+v", res)
	}
	v, r, l := res.Ops[OpValidate], res.Ops[OpRefresh], res.Ops[OpLogin]
	if v.Ops == 0 || r.Ops == 0 || l.Ops == 0 {
		t.Fatalf("an operation never ran: %+v", res.Ops)
	}
	// Every refresh used its worker's latest token: no chain broke.
	if r.Errors != 0 {
		t.Fatalf("refresh errors %v: workers shared or lost refresh tokens", r.ErrorsByCode)
	}
	// About one validation in ten fails, and only with the fake's code.
	if v.Errors == 0 || v.ErrorsByCode["Unavailable"] != v.Errors {
		t.Fatalf("validate errors = %v, want only Unavailable", v.ErrorsByCode)
	}
	total := float64(v.Ops+r.Ops+l.Ops) / res.Seconds
	if diff := total - res.Throughput; diff > 1 || diff < -1 {
		t.Fatalf("Throughput %v, want the sum of successful ops per second %v", res.Throughput, total)
	}
}

func TestRunCountMode(t *testing.T) {
	f := newFake()
	f.delay = 50 * time.Microsecond
	pool := NewPool("c", "example.com", "pw")
	if err := pool.Fill(t.Context(), f, 2, 2); err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), f, pool, Plan{
		Profile: OpRegister, Mix: []Weighted{{OpRegister, 1}}, Concurrency: 2,
		Duration: 10 * time.Second, Count: 300,
	}, &countingMeter{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Ops[OpRegister]
	// The window closes at the 300th measured operation; the other worker
	// may finish one more in between.
	if got.Ops < 300 || got.Ops > 302 || got.Errors != 0 || res.Seconds > 5 {
		t.Fatalf("count mode: %d ops, %d errors in %.2fs; want 300 without errors, well before the 10s cap", got.Ops, got.Errors, res.Seconds)
	}
}

func TestRunRejectsSmallPool(t *testing.T) {
	pool := NewPool("s", "example.com", "pw")
	_, err := Run(t.Context(), newFake(), pool, Plan{Profile: OpValidate, Mix: []Weighted{{OpValidate, 1}}, Concurrency: 3}, &countingMeter{})
	if err == nil {
		t.Fatal("Run with an empty pool succeeded")
	}
}

func TestRunWarmupExcluded(t *testing.T) {
	f := newFake()
	pool := NewPool("w", "example.com", "pw")
	if err := pool.Fill(t.Context(), f, 1, 1); err != nil {
		t.Fatal(err)
	}
	// A slow operation: 20ms each, 200ms warm-up, 100ms window. Only the
	// ~5 operations that complete inside the window may count.
	f.delay = 20 * time.Millisecond
	res, err := Run(t.Context(), f, pool, Plan{
		Profile: OpValidate, Mix: []Weighted{{OpValidate, 1}}, Concurrency: 1,
		Warmup: 200 * time.Millisecond, Duration: 100 * time.Millisecond,
	}, &countingMeter{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Ops[OpValidate].Ops; n < 2 || n > 6 {
		t.Fatalf("%d validations counted, want about 5 (warm-up excluded)", n)
	}
}

func TestOpenLoopKeepsItsSchedule(t *testing.T) {
	var calls atomic.Int64
	var maxLag atomic.Int64
	start := time.Now()
	// Each call takes 100ms, far longer than the 10ms interval: a closed
	// loop would fall behind, an open loop must not.
	n := OpenLoop(t.Context(), 100, 300*time.Millisecond, func(_ context.Context, s Scheduled) {
		lag := time.Since(s.At)
		for {
			cur := maxLag.Load()
			if int64(lag) <= cur || maxLag.CompareAndSwap(cur, int64(lag)) {
				break
			}
		}
		calls.Add(1)
		time.Sleep(100 * time.Millisecond)
	})
	elapsed := time.Since(start)
	if n != 30 || calls.Load() != 30 {
		t.Fatalf("OpenLoop made %d calls (%d ran), want 30", n, calls.Load())
	}
	if lag := time.Duration(maxLag.Load()); lag > 100*time.Millisecond {
		t.Fatalf("a call started %v late", lag)
	}
	if elapsed < 390*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("OpenLoop took %v, want about 290ms of schedule + 100ms for the last call", elapsed)
	}
}

// authServer is a gRPC AuthService answering from a fake.
type authServer struct {
	ssov1.UnimplementedAuthServiceServer
	f *fake
}

func (s authServer) Register(ctx context.Context, r *ssov1.RegisterRequest) (*ssov1.RegisterResponse, error) {
	x, err := s.f.Register(ctx, r.GetEmail(), r.GetPassword(), r.GetFullName())
	if err != nil {
		return nil, err
	}
	return &ssov1.RegisterResponse{UserId: x.UserID, AccessToken: x.Access, RefreshToken: x.Refresh}, nil
}

func (s authServer) Refresh(ctx context.Context, r *ssov1.RefreshRequest) (*ssov1.RefreshResponse, error) {
	x, err := s.f.Refresh(ctx, r.GetRefreshToken())
	if err != nil {
		return nil, err
	}
	return &ssov1.RefreshResponse{UserId: x.UserID, AccessToken: x.Access, RefreshToken: x.Refresh}, nil
}

func (s authServer) Validate(_ context.Context, r *ssov1.ValidateRequest) (*ssov1.ValidateResponse, error) {
	return &ssov1.ValidateResponse{Valid: strings.HasPrefix(r.GetToken(), "at-")}, nil
}

func TestGRPCClient(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ssov1.RegisterAuthServiceServer(srv, authServer{f: newFake()})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	c, err := NewGRPC(lis.Addr().String(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	s, err := c.Register(ctx, "a@example.com", "pw", "A")
	if err != nil || s.UserID != "a@example.com" || !strings.HasPrefix(s.Access, "at-") || !strings.HasPrefix(s.Refresh, "rt-") {
		t.Fatalf("Register = %+v, %v", s, err)
	}
	if _, err := c.Register(ctx, "a@example.com", "pw", "A"); Code(err) != "AlreadyExists" {
		t.Fatalf("second Register: code %q (%v), want AlreadyExists", Code(err), err)
	}
	s2, err := c.Refresh(ctx, s.Refresh)
	if err != nil || s2.Refresh == s.Refresh {
		t.Fatalf("Refresh = %+v, %v", s2, err)
	}
	if _, err := c.Refresh(ctx, s.Refresh); Code(err) != "Unauthenticated" {
		t.Fatalf("reused refresh: code %q, want Unauthenticated", Code(err))
	}
	if err := c.Validate(ctx, s2.Access); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	if err := c.Validate(ctx, "junk"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("Validate(junk) = %v, want ErrTokenInvalid", err)
	}
	if _, err := c.Login(ctx, "a@example.com", "pw"); Code(err) != "Unimplemented" {
		t.Fatalf("Login on a server without it: code %q", Code(err))
	}
}

func TestRESTClient(t *testing.T) {
	var got struct {
		mu    sync.Mutex
		paths []string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.mu.Lock()
		got.paths = append(got.paths, r.URL.Path)
		got.mu.Unlock()
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/v1/auth/register":
			if in["email"] == "taken@example.com" {
				http.Error(w, `{"code":6}`, http.StatusConflict)
				return
			}
			fmt.Fprintf(w, `{"user_id":"u1","access_token":"at-1","refresh_token":"rt-1","expires_in":900}`)
		case "/v1/auth/login":
			fmt.Fprintf(w, `{"user_id":"u1","access_token":"at-2","refresh_token":"rt-2"}`)
		case "/v1/auth/refresh":
			fmt.Fprintf(w, `{"user_id":"u1","access_token":"at-3","refresh_token":"rt-3-%s"}`, in["refresh_token"])
		case "/v1/auth/validate":
			fmt.Fprintf(w, `{"valid":%v,"user_id":"u1"}`, in["token"] == "at-3")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	c := NewREST(srv.URL, 4)
	defer c.Close()
	ctx := t.Context()
	s, err := c.Register(ctx, "a@example.com", "pw", "A")
	if err != nil || s != (Session{UserID: "u1", Access: "at-1", Refresh: "rt-1"}) {
		t.Fatalf("Register = %+v, %v", s, err)
	}
	if _, err := c.Register(ctx, "taken@example.com", "pw", ""); Code(err) != "HTTP 409" {
		t.Fatalf("Register(taken): code %q, want HTTP 409", Code(err))
	}
	if s, err = c.Login(ctx, "a@example.com", "pw"); err != nil || s.Refresh != "rt-2" {
		t.Fatalf("Login = %+v, %v", s, err)
	}
	if s, err = c.Refresh(ctx, s.Refresh); err != nil || s.Refresh != "rt-3-rt-2" {
		t.Fatalf("Refresh = %+v, %v (the request must carry refresh_token)", s, err)
	}
	if err := c.Validate(ctx, s.Access); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	if err := c.Validate(ctx, "at-1"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("Validate(stale) = %v, want ErrTokenInvalid", err)
	}
	want := "/v1/auth/register /v1/auth/register /v1/auth/login /v1/auth/refresh /v1/auth/validate /v1/auth/validate"
	if p := strings.Join(got.paths, " "); p != want {
		t.Fatalf("paths = %s\nwant    %s", p, want)
	}
}

func TestPoolRenew(t *testing.T) {
	f := newFake()
	pool := NewPool("r", "example.com", "pw")
	if err := pool.Fill(t.Context(), f, 3, 3); err != nil {
		t.Fatal(err)
	}
	old := pool.Accounts[1].Session
	pool.Accounts[1].Issued = time.Now().Add(-time.Hour)
	fresh := pool.Accounts[0].Session
	if err := pool.Renew(t.Context(), f, 10*time.Minute, 2); err != nil {
		t.Fatal(err)
	}
	if pool.Accounts[1].Session == old || time.Since(pool.Accounts[1].Issued) > time.Minute {
		t.Fatalf("stale account not renewed: %+v", pool.Accounts[1])
	}
	if pool.Accounts[0].Session != fresh {
		t.Fatal("a fresh account was logged in again")
	}
	pool.Accounts[2].Email = "unknown@example.com"
	pool.Accounts[2].Issued = time.Time{}
	if err := pool.Renew(t.Context(), f, 10*time.Minute, 2); err == nil {
		t.Fatalf("Renew with an unknown user = %v, want an error", err)
	}
}
