package service_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
)

// familyTTL is the absolute session lifetime of the process
// TestRefreshCannotOutliveTheFamily starts: short, so the test sees it end.
const familyTTL = 3 * time.Second

// TestRefreshCannotOutliveTheFamily refreshes as often as a client may and
// still loses the session when it reaches its absolute lifetime.
func TestRefreshCannotOutliveTheFamily(t *testing.T) {
	h := sso(t)
	short := startVariant(t, h, func(c *config.Config) { c.Tokens.RefreshFamilyTTL = familyTTL })
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel() // each its own account
			addr := email(t)
			begin := time.Now()
			tok := tr.register(t, short, addr, goodPassword)
			var lastOK time.Duration
			for {
				next, code := tr.refresh(t, short, tok.Refresh)
				at := time.Since(begin)
				if code == http.StatusUnauthorized {
					break
				}
				if code != http.StatusOK {
					t.Fatalf("refresh %s after login: %d", at, code)
				}
				if at > familyTTL+2*time.Second {
					t.Fatalf("refresh still works %s after login; the session's lifetime is %s", at, familyTTL)
				}
				lastOK, tok = at, next
				time.Sleep(200 * time.Millisecond)
			}
			if lastOK < familyTTL/2 {
				t.Fatalf("last successful refresh %s after login, want the session to last about %s", lastOK, familyTTL)
			}
			// Logging in again starts a new session.
			again, code := tr.login(t, short, addr, goodPassword)
			if code != http.StatusOK {
				t.Fatalf("login after the session ended: %d", code)
			}
			if _, code := tr.refresh(t, short, again.Refresh); code != http.StatusOK {
				t.Fatalf("refresh of the new session: %d, want 200", code)
			}
		})
	}
}

// startVariant runs a second sso process on the test's database, Redis
// prefix and signing keys, with the configuration changed by mutate, until
// the test ends.
func startVariant(t *testing.T, base *harness, mutate func(*config.Config)) *harness {
	t.Helper()
	cfg := base.cfg
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	mutate(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	proc, err := service.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatalf("start sso variant: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sso variant stopped with: %v", err)
		}
	})
	h := *base
	h.cfg, h.baseURL = cfg, "http://"+proc.Addr("http")
	h.conn, err = grpc.NewClient(proc.Addr("grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.conn.Close() })
	h.auth, h.users = ssov1.NewAuthServiceClient(h.conn), ssov1.NewUserServiceClient(h.conn)
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(h.baseURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("sso variant never became ready")
	}
	return &h
}
