// Package config loads a service's typed configuration from the environment,
// with an optional dotenv-style file underneath it.
//
// Every service declares one struct with `env` and `envDefault` tags and calls
// Load once in its wiring point; nothing else in a service reads the
// environment. The one exception goes through this package too: the Go
// runtime reads its own variables (GOGC, GOMEMLIMIT) before main, and a
// service with a setting of its own for the same thing asks RuntimeVar
// whether the operator set the runtime's. The defaults are chosen so that a
// service started with no configuration at all talks to the stack that
// deploy/local runs.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/caarlos0/env/v11"
)

// FileVar names the environment variable that points at an optional file of
// KEY=VALUE lines. Values in the real environment win over the file, so a
// deployment can keep shared settings in the file and override per process.
const FileVar = "CONFIG_FILE"

// Validator is implemented by configuration structs that have rules beyond
// what the tags express (ranges, combinations of fields).
type Validator interface {
	Validate() error
}

// Load fills cfg from the file named by CONFIG_FILE (if set) and the
// environment, then runs cfg.Validate when cfg implements Validator.
func Load(cfg any) error {
	vars, err := environment()
	if err != nil {
		return err
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: vars}); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// environment merges the optional file with the process environment, the
// process environment taking precedence.
func environment() (map[string]string, error) {
	vars := map[string]string{}
	if path := os.Getenv(FileVar); path != "" {
		fromFile, err := readFile(path)
		if err != nil {
			return nil, err
		}
		vars = fromFile
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return vars, nil
}

// readFile parses KEY=VALUE lines; blank lines and lines starting with # are
// skipped, and one level of matching quotes around a value is removed.
func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()

	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("config: %s:%d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return vars, nil
}

// RuntimeVar returns one of the Go runtime's own variables (GOGC,
// GOMEMLIMIT) as the runtime saw it: from the process environment only,
// never from CONFIG_FILE, which the runtime does not read.
func RuntimeVar(name string) string { return os.Getenv(name) }

// ErrInvalid is wrapped by validation errors so callers can tell a bad value
// from an unreadable file.
var ErrInvalid = errors.New("invalid configuration")

// secretKeys are the connection parameters that hold a secret, in either
// DSN form: libpq's password and sslpassword, and the generic names other
// clients use in a URL's query.
var secretKeys = map[string]bool{
	"password": true, "sslpassword": true, "pass": true, "passwd": true,
	"secret": true, "token": true, "api_key": true, "apikey": true,
}

// redacted replaces a secret in a logged DSN.
const redacted = "xxxxx"

// RedactDSN returns a connection string fit for logs: a URL's password
// (postgres://app:xxxxx@db/sso) and secret query parameters
// (?password=xxxxx), or the secret values of a libpq key=value string
// (host=db password=xxxxx). libpq takes all three forms, so hiding only
// the URL's user information, as url.Redacted does, logs the others in
// clear. A URL that does not parse is hidden entirely.
func RedactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if !strings.Contains(dsn, "://") {
		return redactKeyValues(dsn)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "[redacted]"
	}
	if q := u.Query(); len(q) > 0 {
		changed := false
		for k := range q {
			if secretKeys[strings.ToLower(k)] {
				q.Set(k, redacted)
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// redactKeyValues hides the secret values of a libpq key=value string,
// whose values may be single-quoted with backslash escapes
// (password='a b\'c').
func redactKeyValues(dsn string) string {
	var b strings.Builder
	for i := 0; i < len(dsn); {
		// Copy the space before the key and the key itself.
		eq := strings.IndexByte(dsn[i:], '=')
		if eq < 0 {
			b.WriteString(dsn[i:])
			break
		}
		key := strings.TrimSpace(dsn[i : i+eq])
		b.WriteString(dsn[i : i+eq+1])
		i += eq + 1
		for i < len(dsn) && dsn[i] == ' ' {
			b.WriteByte(' ')
			i++
		}
		// Find the end of the value: a closing quote, or the next space.
		end := i
		if end < len(dsn) && dsn[end] == '\'' {
			for end++; end < len(dsn) && dsn[end] != '\''; end++ {
				if dsn[end] == '\\' {
					end++
				}
			}
			end = min(end+1, len(dsn))
		} else {
			for end < len(dsn) && dsn[end] != ' ' {
				end++
			}
		}
		if secretKeys[strings.ToLower(key)] {
			b.WriteString(redacted)
		} else {
			b.WriteString(dsn[i:end])
		}
		i = end
	}
	return b.String()
}
