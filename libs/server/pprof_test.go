package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/server"
)

func TestPprofServesProfiles(t *testing.T) {
	s, err := server.NewPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	defer s.Shutdown(context.Background())

	resp, err := http.Get("http://" + s.Addr() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("%d %.200s", resp.StatusCode, body)
	}
}

func TestServePprofIsOptIn(t *testing.T) {
	p := server.NewProcess(slog.New(slog.DiscardHandler), server.NewHealth(time.Second), time.Second)
	if err := p.ServePprof(""); err != nil {
		t.Errorf("ServePprof with no address: %v", err)
	}
	if err := p.ServePprof("127.0.0.1:not-a-port"); err == nil {
		t.Error("ServePprof on a bad address gave no error")
	}
}
