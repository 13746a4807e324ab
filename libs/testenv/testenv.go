// Package testenv connects integration tests to the real infrastructure
// that deploy/local/stack runs: PostgreSQL primary and replica, Redis, Kafka,
// the Schema Registry and Mailpit.
//
// Tests call Require first: under `go test -short` it skips them (unit runs
// need no infrastructure); otherwise a component that does not answer fails
// the test with the command that starts it. A missing service is never a
// silent skip.
//
// Addresses come from the same variables `deploy/local/stack env` prints,
// with the stack's defaults.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Addresses of the local stack; each can be overridden by the environment
// variable of the same name.
var (
	// The PostgreSQL nodes are a Patroni cluster: either may lead, so the
	// DSNs list both and let target_session_attrs pick the primary or a
	// replica when connecting.
	PGPrimaryDSN = get("PG_PRIMARY_DSN", "postgres://postgres:postgres@/postgres?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write")
	PGReplicaDSN = get("PG_REPLICA_DSN", "postgres://postgres:postgres@/postgres?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=prefer-standby")
	// RedisAddr is the node that was master when the stack first started;
	// after a failover it is a replica. Tests reach the master through
	// the Sentinels (package redistest).
	RedisAddr = get("REDIS_ADDR", "127.0.0.1:6379")
	// RedisSentinelAddrs are the Sentinels that watch the Redis pair as
	// RedisSentinelMaster; "none" means a plain Redis at RedisAddr.
	RedisSentinelAddrs  = redisSentinels(get("REDIS_SENTINEL_ADDRS", "127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381"))
	RedisSentinelMaster = get("REDIS_SENTINEL_MASTER", "mymaster")
	KafkaBrokers        = get("KAFKA_BROKERS", "127.0.0.1:9092")
	SchemaRegistryURL   = get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7")
	SMTPAddr            = get("SMTP_ADDR", "127.0.0.1:1025")
	MailpitURL          = get("MAILPIT_API_URL", "http://127.0.0.1:8025")
)

func get(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Require skips t under -short and otherwise fails it unless every address
// accepts TCP connections. An address may be a comma-separated list, as
// KafkaBrokers is with three brokers: each member must answer.
func Require(t testing.TB, addrs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the local stack (run without -short)")
	}
	for _, list := range addrs {
		for a := range strings.SplitSeq(list, ",") {
			c, err := net.DialTimeout("tcp", a, 2*time.Second)
			if err != nil {
				t.Fatalf("%s does not answer (%v): start the stack with `go tool task up:infra`", a, err)
			}
			c.Close()
		}
	}
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// Name returns a name unique to this run of this test, safe as a table,
// topic, key or mailbox part: tests create only what they own and clean up
// only that, never shared state.
func Name(t testing.TB, prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 30 {
		base = base[:30]
	}
	return prefix + "_" + base + "_" + hex.EncodeToString(b[:])
}

// Eventually polls cond every interval until it returns true or timeout
// passes, and reports whether it ever did.
func Eventually(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// HostPort returns the host:port of a URL-style address, for Require. For
// a multi-host DSN (hosts and ports in the query, libpq style) it returns
// the first node's.
func HostPort(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host == "" && u.Query().Get("host") != "" {
		host, _, _ := strings.Cut(u.Query().Get("host"), ",")
		port, _, _ := strings.Cut(u.Query().Get("port"), ",")
		if port == "" {
			port = "5432"
		}
		return net.JoinHostPort(host, port)
	}
	s := rawURL
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	return s
}
