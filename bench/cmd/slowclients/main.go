// Command slowclients measures what slow clients cost an HTTP service: it
// holds n connections that each announce a request body and send all of it
// but the last byte (or none of it), reconnecting whenever the server drops
// one, while it samples the service's resident memory and times a
// legitimate request once per interval on a connection of its own.
//
//	go run ./cmd/slowclients -addr 127.0.0.1:18000 -pid $(pgrep -n sso) -n 200 -body 65535
//
// It prints one line per sample and a summary: resident memory before the
// attack and at its peak, and how the legitimate requests fared.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssokit/platform/bench/internal/procfs"
)

type config struct {
	addr     string
	pid      int
	n        int
	body     int
	withhold bool
	path     string
	duration time.Duration
	interval time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:18000", "the service's HTTP address")
	flag.IntVar(&c.pid, "pid", 0, "the service's process id, whose resident memory is sampled (required)")
	flag.IntVar(&c.n, "n", 200, "slow connections held at once")
	flag.IntVar(&c.body, "body", 64<<10-1, "the body length each slow request announces")
	flag.BoolVar(&c.withhold, "withhold", false, "send no body at all (default: all of it but the last byte)")
	flag.StringVar(&c.path, "path", "/v1/auth/login", "the path slow requests post to")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long the attack lasts")
	flag.DurationVar(&c.interval, "interval", time.Second, "time between samples and legitimate requests")
	flag.Parse()
	if c.pid <= 0 || c.n <= 0 || c.body <= 0 {
		fmt.Fprintln(os.Stderr, "slowclients: -pid, -n and -body must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "slowclients:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	proc, err := procfs.Open(c.pid)
	if err != nil {
		return err
	}
	rss := func() (uint64, error) {
		m, err := proc.Memory()
		return m.RSS, err
	}
	idle, err := rss()
	if err != nil {
		return err
	}
	fmt.Printf("target %s pid %d: %d slow connections, body %d bytes (%s), for %s\n",
		c.addr, c.pid, c.n, c.body, map[bool]string{true: "withheld", false: "all but the last byte"}[c.withhold], c.duration)
	fmt.Printf("idle RSS %.1f MB\n", mb(idle))

	actx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	var st stats
	var wg sync.WaitGroup
	for range c.n {
		wg.Go(func() { attacker(actx, c, &st) })
	}

	peak := idle
	var lat []time.Duration
	failed := 0
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for start := time.Now(); ; {
		select {
		case <-actx.Done():
			cancel()
			wg.Wait()
			after, _ := rss()
			fmt.Printf("\nidle RSS %.1f MB, peak RSS under attack %.1f MB (+%.1f MB), %.1f MB after\n",
				mb(idle), mb(peak), mb(peak-idle), mb(after))
			fmt.Printf("slow connections opened %d, answered %v, dropped without an answer %d\n",
				st.opened.Load(), st.answers(), st.dropped.Load())
			slices.Sort(lat)
			if len(lat) > 0 {
				fmt.Printf("legitimate requests: %d ok, %d failed; latency p50 %s, max %s\n",
					len(lat), failed, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
			} else {
				fmt.Printf("legitimate requests: none ok, %d failed\n", failed)
			}
			return nil
		case <-tick.C:
			now, err := rss()
			if err != nil {
				return err
			}
			peak = max(peak, now)
			d, code, err := legit(c.addr)
			if err != nil || code != http.StatusOK {
				failed++
			} else {
				lat = append(lat, d)
			}
			fmt.Printf("t=%3.0fs RSS %6.1f MB open %4d legit %d in %s %v\n", time.Since(start).Seconds(), mb(now),
				st.opened.Load()-st.closed.Load(), code, d.Round(time.Millisecond), errText(err))
		}
	}
}

type stats struct {
	opened, closed, dropped atomic.Int64
	mu                      sync.Mutex
	status                  map[string]int
}

func (s *stats) answered(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == nil {
		s.status = map[string]int{}
	}
	s.status[line]++
}

func (s *stats) answers() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.status)
}

// attacker holds one slow request open until ctx ends, opening a new one
// whenever the server answers or drops the last.
func attacker(ctx context.Context, c config, st *stats) {
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", c.path, c.addr, c.body)
	sent := 0
	if !c.withhold {
		sent = c.body - 1
	}
	payload := append([]byte(head), strings.Repeat("x", sent)...)
	for ctx.Err() == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		st.opened.Add(1)
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		_, _ = conn.Write(payload)
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err == nil {
			st.answered(strings.TrimSpace(line))
		} else if ctx.Err() == nil {
			st.dropped.Add(1)
		}
		stop()
		conn.Close()
		st.closed.Add(1)
	}
}

// legit times a request a real client would send, on a fresh connection:
// a token check through the REST gateway.
func legit(addr string) (time.Duration, int, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Post("http://"+addr+"/v1/auth/validate", "application/json", strings.NewReader(`{"token":"not-a-token"}`))
	if err != nil {
		return time.Since(start), 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode, nil
}

func mb(b uint64) float64 { return float64(b) / 1e6 }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
