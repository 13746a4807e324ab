// Package archtest keeps a service's dependency direction a test, not a
// hope: domain and use-case packages depend on nothing that talks to the
// outside world (adapters, transports, SQL, Kafka, Redis), only the wiring
// imports an adapter, and no service depends on another service.
//
// The package graph comes from `go list -deps -test -json`, so the check
// needs no dependency beyond the go command that runs the test. A service
// calls it from one test:
//
//	func TestDependencyDirection(t *testing.T) {
//		archtest.Check(t, ".", archtest.Layout{
//			Domain:   []string{"internal/ledger"},
//			Adapters: []string{"internal/postgres", "internal/grpcapi"},
//			Wiring:   []string{"internal/service"},
//		})
//	}
//
// Only the packages' own imports count for the layer rules (a domain
// package's external tests may well import an adapter, to run a contract
// suite against it); the rule between services follows every import, tests
// included.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ServicesPrefix is where every service module lives; a service may import
// none of the others.
const ServicesPrefix = "github.com/ssokit/platform/services/"

// libsPrefix is the shared module; some of its packages are adapters or
// transports themselves.
const libsPrefix = "github.com/ssokit/platform/libs/"

// Rule names a group of imports a domain or use-case package must not
// have. Each entry of Imports is an import path that matches itself and
// every package below it.
type Rule struct {
	Name    string
	Imports []string
}

// DomainRules are what a domain or use-case package never imports: each
// belongs in an adapter or a transport, behind an interface the use case
// declares.
var DomainRules = []Rule{
	{
		Name: "a domain or use-case package imports no transport (gRPC, grpc-gateway, HTTP, SMTP, generated API code)",
		Imports: []string{
			"google.golang.org/grpc", "github.com/grpc-ecosystem/grpc-gateway", "net/http", "net/smtp",
			libsPrefix + "server", libsPrefix + "gateway", libsPrefix + "swaggerui", libsPrefix + "gen",
		},
	},
	{
		Name: "a domain or use-case package imports no SQL (database/sql, sqlx, lib/pq, pgx, migrations)",
		Imports: []string{
			"database/sql", "github.com/jmoiron/sqlx", "github.com/lib/pq", "github.com/jackc/pgx",
			libsPrefix + "migrate",
		},
	},
	{
		Name: "a domain or use-case package imports no Kafka client (confluent-kafka-go, libs/consumer, libs/otelkafka)",
		Imports: []string{
			"github.com/confluentinc/confluent-kafka-go", "github.com/segmentio/kafka-go", "github.com/IBM/sarama",
			libsPrefix + "consumer", libsPrefix + "otelkafka",
		},
	},
	{
		Name:    "a domain or use-case package imports no Redis client (go-redis)",
		Imports: []string{"github.com/redis/go-redis"},
	},
}

// Rule names of the checks on the module's own packages.
const (
	RuleDomainInward   = "a domain or use-case package imports only domain and use-case packages of its service (never an adapter, a transport or the wiring)"
	RuleAdapterWired   = "only the wiring imports an adapter (adapters implement ports the use cases declare, and meet only in the wiring)"
	RuleNoOtherService = "a service imports no package of another service's module (they talk over gRPC and Kafka)"
)

// Layout classifies a module's packages by directory relative to the module
// root ("internal/auth"). A package in no list (config, cmd) may import
// neither adapters nor another service.
type Layout struct {
	// Domain lists the domain and use-case packages.
	Domain []string
	// Adapters lists the packages that talk to the outside: stores, clients,
	// transports (gRPC handlers, Kafka handlers).
	Adapters []string
	// Wiring lists the packages that build the adapters and hand them to the
	// use cases: the only ones that may import an adapter.
	Wiring []string
	// Pending lists known violations that an open change removes. A pending
	// entry that no longer matches is reported in the test log, so it can be
	// deleted.
	Pending []Exception
}

// Exception is one import that breaks a rule for now.
type Exception struct {
	Package string // relative to the module root, as in Layout
	Import  string // the full import path
	Reason  string // why it is there and what removes it
}

// Violation is one import that breaks a rule.
type Violation struct {
	Package string // full import path of the importing package
	Import  string
	Rule    string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s\n\trule: %s", v.Package, v.Import, v.Rule)
}

// Check fails t with one line per violation in the module at dir.
func Check(t testing.TB, dir string, l Layout) {
	t.Helper()
	vs, stale, err := Violations(dir, l)
	if err != nil {
		t.Fatalf("archtest: %v", err)
	}
	for _, e := range stale {
		t.Logf("archtest: pending exception %s -> %s no longer occurs; remove it (%s)", e.Package, e.Import, e.Reason)
	}
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n%s", v)
	}
	t.Errorf("dependency direction broken (%d):%s", len(vs), b.String())
}

// Violations lists what breaks the rules in the module at dir, and the
// pending exceptions that matched nothing.
func Violations(dir string, l Layout) (vs []Violation, stale []Exception, err error) {
	module, err := goList(dir, "-m", "-f", "{{.Path}}")
	if err != nil {
		return nil, nil, err
	}
	module = strings.TrimSpace(module)
	out, err := goList(dir, "-deps", "-test", "-json=ImportPath,Imports,ForTest", "./...")
	if err != nil {
		return nil, nil, err
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}

	abs := func(rel []string) []string {
		out := make([]string, len(rel))
		for i, r := range rel {
			out[i] = module + "/" + strings.Trim(filepath.ToSlash(r), "/")
		}
		return out
	}
	domain, adapters, wiring := abs(l.Domain), abs(l.Adapters), abs(l.Wiring)
	pending := map[[2]string]bool{}
	used := map[[2]string]bool{}
	for _, e := range l.Pending {
		pending[[2]string{abs([]string{e.Package})[0], e.Import}] = true
	}
	add := func(v Violation) {
		key := [2]string{v.Package, v.Import}
		if pending[key] {
			used[key] = true
			return
		}
		if !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}

	for _, p := range pkgs {
		path, variant := splitVariant(p.ImportPath)
		own := path == module || strings.HasPrefix(path, module+"/")
		for _, imp := range p.Imports {
			imp, _ = splitVariant(imp)
			if strings.HasPrefix(imp, ServicesPrefix) && !within(imp, module) {
				add(Violation{Package: path, Import: imp, Rule: RuleNoOtherService})
			}
			// The layer rules look at a package's own code, not its tests.
			if variant || p.ForTest != "" || !own {
				continue
			}
			switch {
			case slices.Contains(domain, path):
				for _, r := range DomainRules {
					if matchesAny(imp, r.Imports) {
						add(Violation{Package: path, Import: imp, Rule: r.Name})
					}
				}
				if within(imp, module) && !slices.Contains(domain, imp) {
					add(Violation{Package: path, Import: imp, Rule: RuleDomainInward})
				}
			case !slices.Contains(wiring, path):
				if slices.Contains(adapters, imp) {
					add(Violation{Package: path, Import: imp, Rule: RuleAdapterWired})
				}
			}
		}
	}
	for _, want := range slices.Concat(domain, adapters, wiring) {
		if !slices.ContainsFunc(pkgs, func(p listed) bool { return p.ImportPath == want }) {
			return nil, nil, fmt.Errorf("layout names %s, which is not a package of %s", want, module)
		}
	}
	slices.SortFunc(vs, func(a, b Violation) int {
		return strings.Compare(a.Package+" "+a.Import+" "+a.Rule, b.Package+" "+b.Import+" "+b.Rule)
	})
	for _, e := range l.Pending {
		if !used[[2]string{abs([]string{e.Package})[0], e.Import}] {
			stale = append(stale, e)
		}
	}
	return vs, stale, nil
}

// listed is the part of `go list -json` the rules read.
type listed struct {
	ImportPath string
	Imports    []string
	ForTest    string
}

// splitVariant strips the " [pkg.test]" suffix go list gives a package
// compiled for a test, and reports whether it was there.
func splitVariant(path string) (string, bool) {
	if i := strings.Index(path, " ["); i >= 0 {
		return path[:i], true
	}
	return path, strings.HasSuffix(path, ".test")
}

// within reports whether path is root or below it; an external test
// package (root_test) and a test binary (root.test) belong to root too.
func within(path, root string) bool {
	path = strings.TrimSuffix(strings.TrimSuffix(path, ".test"), "_test")
	return path == root || strings.HasPrefix(path, root+"/")
}

func matchesAny(path string, roots []string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return within(path, r) })
}

// goList runs the go command in dir on the module alone (GOWORK=off), as a
// release build of that module sees it.
func goList(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return string(out), nil
}
