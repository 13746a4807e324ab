// Package promql finds the metrics the monitoring configuration queries:
// the one extractor behind monitoring/metrics.txt (cmd/list-metrics) and the
// end-to-end check that every queried metric is exported by a service.
package promql

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Selector is a metric a PromQL expression reads: its name as written
// (a histogram's name_bucket, name_sum or name_count included) and, when
// the selector matches job exactly (job="sso"), that job.
type Selector struct {
	Name string
	Job  string
}

// promqlKeywords are the words that stand in PromQL without a "(" right
// after them; functions and aggregations are told by the "(" that follows.
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// groupingClauses take a parenthesised list of label names, not metrics.
var groupingClauses = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// prometheusMade are series Prometheus creates itself; no service exports
// them.
func prometheusMade(name string) bool {
	return name == "up" || name == "ALERTS" || name == "ALERTS_FOR_STATE" || strings.HasPrefix(name, "scrape_")
}

// Selectors returns the metrics expr reads, leaving out the series
// Prometheus makes itself. expr is PromQL as written in an alert rule or a
// Grafana query: it may hold Grafana variables ($job, ${job}, [[job]],
// $__rate_interval) and Grafana's label_values(metric, label). It works
// without a full parser: string literals, comments, ranges, label matchers
// and grouping clauses are skipped, an identifier followed by "(" is a
// function or aggregation, and every other identifier that is not a
// keyword is a metric.
func Selectors(expr string) ([]Selector, error) {
	var out []Selector
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '#':
			i = indexFrom(s, i, "\n")
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(s, i)
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
			i = end
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				i = indexFrom(s, i, "}") + 1
			} else {
				for i < len(s) && isIdentChar(s[i]) {
					i++
				}
			}
		case c == '[':
			if strings.HasPrefix(s[i:], "[[") { // a Grafana variable
				i = indexFrom(s, i, "]]") + 2
			} else {
				i = indexFrom(s, i, "]") + 1
			}
		case c == '{': // a selector by matchers only: {__name__="x"}
			sel, end, err := matchers(s, i)
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
			if sel.Name == "" {
				return nil, fmt.Errorf("selector without a metric name in %q", expr)
			}
			out = append(out, sel)
			i = end
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			i = skipNumber(s, i)
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			ident := s[i:j]
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
				k++
			}
			followedBy := byte(0)
			if k < len(s) {
				followedBy = s[k]
			}
			switch {
			case groupingClauses[ident] && followedBy == '(':
				i = indexFrom(s, k, ")") + 1
			case ident == "label_values" && followedBy == '(':
				end := matchingParen(s, k)
				args := s[k+1 : end]
				if comma := topLevelComma(args); comma >= 0 { // label_values(metric, label)
					inner, err := Selectors(args[:comma])
					if err != nil {
						return nil, err
					}
					out = append(out, inner...)
				}
				i = end + 1
			case followedBy == '(' || promqlKeywords[ident]:
				i = j // a function, an aggregation or a keyword: its arguments are read on
			default:
				sel := Selector{Name: ident}
				i = j
				if followedBy == '{' {
					m, end, err := matchers(s, k)
					if err != nil {
						return nil, fmt.Errorf("%w in %q", err, expr)
					}
					if m.Name != "" && m.Name != ident {
						return nil, fmt.Errorf("metric %s with __name__=%q in %q", ident, m.Name, expr)
					}
					sel.Job, i = m.Job, end
				}
				out = append(out, sel)
			}
		default:
			i++
		}
	}
	return slices.DeleteFunc(out, func(sel Selector) bool { return prometheusMade(HistogramBase(sel.Name)) }), nil
}

// matchers reads the label matchers block starting at s[open] == '{' and
// returns the metric named by __name__="..." and the job matched exactly,
// with the index after the closing '}'.
func matchers(s string, open int) (sel Selector, end int, err error) {
	i := open + 1
	for i < len(s) && s[i] != '}' {
		for i < len(s) && (s[i] == ' ' || s[i] == ',' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		j := i
		for j < len(s) && isIdentChar(s[j]) {
			j++
		}
		label := s[i:j]
		i = j
		for i < len(s) && s[i] == ' ' {
			i++
		}
		opStart := i
		for i < len(s) && strings.IndexByte("=!~", s[i]) >= 0 {
			i++
		}
		op := s[opStart:i]
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if label == "" || op == "" || i >= len(s) {
			if i < len(s) && s[i] == '}' {
				break
			}
			return Selector{}, 0, fmt.Errorf("malformed label matchers at %d", open)
		}
		valueEnd, err := skipString(s, i)
		if err != nil {
			return Selector{}, 0, err
		}
		value := unquote(s[i:valueEnd])
		i = valueEnd
		switch {
		case label == "__name__" && op == "=":
			sel.Name = value
		case label == "__name__":
			return Selector{}, 0, fmt.Errorf("cannot list the metrics selected by __name__%s", op)
		case label == "job" && op == "=" && !strings.Contains(value, "$"):
			sel.Job = value
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
	}
	if i >= len(s) {
		return Selector{}, 0, fmt.Errorf("unclosed label matchers at %d", open)
	}
	return sel, i + 1, nil
}

// skipString returns the index after the string literal starting at s[i].
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

func unquote(lit string) string {
	if lit[0] == '\'' {
		lit = `"` + strings.ReplaceAll(lit[1:len(lit)-1], `"`, `\"`) + `"`
	}
	if v, err := strconv.Unquote(lit); err == nil {
		return v
	}
	return lit[1 : len(lit)-1]
}

// skipNumber skips a number or duration: 0.99, 1e-3, 0x1F, 5m, 1h30m.
func skipNumber(s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case isIdentChar(c) || c == '.':
			i++
		case (c == '+' || c == '-') && (s[i-1] == 'e' || s[i-1] == 'E') && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			i++
		default:
			return i
		}
	}
	return i
}

// matchingParen returns the index of the ')' closing s[open] == '('.
func matchingParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		case '"', '\'', '`':
			if end, err := skipString(s, i); err == nil {
				i = end - 1
			}
		}
	}
	return len(s) - 1
}

// topLevelComma returns the index of the first comma of args outside
// parentheses and braces, or -1.
func topLevelComma(args string) int {
	depth := 0
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// indexFrom returns the index of sub in s at or after i, or len(s).
func indexFrom(s string, i int, sub string) int {
	if j := strings.Index(s[i:], sub); j >= 0 {
		return i + j
	}
	return len(s)
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// HistogramBase is the family a series belongs to on a /metrics page: name
// without a histogram's _bucket, _sum or _count suffix.
func HistogramBase(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base
		}
	}
	return name
}

// Names returns the families (HistogramBase) that the queries read, sorted
// and without repeats, for a list such as monitoring/metrics.txt.
func Names(queries []Query) ([]string, error) {
	seen := map[string]bool{}
	for _, q := range queries {
		sels, err := Selectors(q.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Where, err)
		}
		for _, sel := range sels {
			seen[HistogramBase(sel.Name)] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
