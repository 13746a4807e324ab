package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/stats"
)

// LatencyConfig says what Latency measures and where.
type LatencyConfig struct {
	Client   load.Client // registers the users (gRPC in the standard run)
	Pool     *load.Pool  // gives the e-mail addresses and the password
	Rate     float64     // registrations per second, open loop
	Duration time.Duration
	// Settle is how long to wait, after the last registration, for the
	// credits and mails still on their way.
	Settle time.Duration

	SSODB      *sql.DB // sso's database (users)
	LoyaltyDB  *sql.DB // loyalty-points' database (transactions)
	MailpitURL string  // Mailpit's API, e.g. http://127.0.0.1:8025
	// ConsumersReady checks that the consumers are up; a non-nil error
	// makes the result unavailable.
	ConsumersReady func(context.Context) error
	HTTP           *http.Client
	Log            *slog.Logger
}

// LatencyResult is what Latency measured. Latencies run from the user's
// commit (users.created_at) to the credit and to the mail's acceptance.
type LatencyResult struct {
	Status string  `json:"status"`
	Reason string  `json:"reason,omitempty"`
	Rate   float64 `json:"rate_per_s"`
	// CommitRate is the rate the users were actually stored at: their
	// number over the span of their users.created_at. Below Rate, sso did
	// not keep up and the latencies were measured at this lower rate.
	CommitRate float64 `json:"commit_rate_per_s"`
	Seconds    float64 `json:"seconds"`
	Registered int     `json:"registered"`
	// Register is the registrations' response time under the open loop.
	Register stats.Summary `json:"register"`
	// Publish runs to the outbox row's delivery being recorded: the relay
	// writes Kafka's acknowledgements down in batches, so this bounds the
	// publish from above and may trail the consumers' work.
	Publish        stats.Summary `json:"publish"`
	PublishMissing int           `json:"publish_missing"`
	// Overloaded says sso fell behind the registration rate, so the open
	// loop queued requests; the latencies from the commit on do not include
	// that queueing, but the machine was saturated.
	Overloaded    bool          `json:"overloaded,omitempty"`
	Credit        stats.Summary `json:"credit"`
	CreditMissing int           `json:"credit_missing"`
	Mail          stats.Summary `json:"mail"`
	MailMissing   int           `json:"mail_missing"`
	// MailUnavailable says why mail latency was not measured, when the
	// credit latency was.
	MailUnavailable string `json:"mail_unavailable,omitempty"`
}

// Latency registers users at cfg.Rate for cfg.Duration and measures, per
// user, the time from its commit to its welcome bonus and to its welcome
// mail. A part of the stack that is not there yet (the loyalty schema, the
// consumers, Mailpit) makes the result unavailable with the reason, not an
// error: the rest of the benchmark still runs.
func Latency(ctx context.Context, cfg LatencyConfig) LatencyResult {
	res := LatencyResult{Rate: cfg.Rate, Seconds: cfg.Duration.Seconds()}
	unavailable := func(format string, args ...any) LatencyResult {
		res.Status, res.Reason = StatusUnavailable, fmt.Sprintf(format, args...)
		return res
	}
	if cfg.LoyaltyDB == nil {
		return unavailable("no loyalty database configured")
	}
	var hasTable bool
	if err := cfg.LoyaltyDB.QueryRowContext(ctx, "SELECT to_regclass('public.transactions') IS NOT NULL").Scan(&hasTable); err != nil {
		return unavailable("loyalty database: %v", err)
	}
	if !hasTable {
		return unavailable("the loyalty database has no transactions table (loyalty-points has not migrated it: not built or not running yet)")
	}
	if cfg.ConsumersReady != nil {
		if err := cfg.ConsumersReady(ctx); err != nil {
			return unavailable("consumers not ready: %v", err)
		}
	}
	mail := newMailWatch(cfg.HTTP, cfg.MailpitURL)
	mailErr := mail.check(ctx)

	// Register on schedule, recording each user's e-mail.
	var mu sync.Mutex
	var emails []string
	regErrs := map[string]int64{}
	var latencies []time.Duration
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var watchDone chan struct{}
	if mailErr == nil {
		watchDone = make(chan struct{})
		go func() { defer close(watchDone); mail.run(watchCtx, time.Second) }()
	}
	n := load.OpenLoop(ctx, cfg.Rate, cfg.Duration, func(ctx context.Context, s load.Scheduled) {
		email := cfg.Pool.NewEmail()
		mail.expect(email)
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := cfg.Client.Register(rctx, email, cfg.Pool.Password, "Bench Pipeline")
		// Latency from the scheduled start, so a backed-up server is not
		// excused by a late start (coordinated omission).
		d := time.Since(s.At)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			regErrs[load.Code(err)]++
			return
		}
		emails = append(emails, email)
		latencies = append(latencies, d)
	})
	if ctx.Err() != nil {
		res.Status, res.Reason = StatusUnavailable, "interrupted"
		return res
	}
	res.Registered = len(emails)
	res.Register = stats.Summarize(latencies, regErrs, cfg.Duration)
	if len(emails) == 0 {
		return unavailable("none of %d registrations succeeded: %v", n, regErrs)
	}

	// The users' commit times and ids.
	created, err := userTimes(ctx, cfg.SSODB, emails)
	if err != nil {
		return unavailable("sso database: %v", err)
	}
	ids := make([]string, 0, len(created))
	var first, last time.Time
	for id, c := range created {
		ids = append(ids, id)
		if first.IsZero() || c.at.Before(first) {
			first = c.at
		}
		last = later(last, c.at)
	}
	if span := last.Sub(first).Seconds(); len(created) > 1 && span > 0 {
		// n commits span n-1 intervals.
		res.CommitRate = float64(len(created)-1) / span
	}

	// Wait for the credits, and the mails, until all arrived or Settle
	// passed since the last registration.
	credits := map[string]time.Time{}
	deadline := time.Now().Add(cfg.Settle)
	for {
		if err := creditTimes(ctx, cfg.LoyaltyDB, ids, credits); err != nil {
			return unavailable("loyalty database: %v", err)
		}
		if len(credits) == len(ids) && (mailErr != nil || mail.found() == len(emails)) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	stopWatch()
	if watchDone != nil {
		<-watchDone
	}

	published, err := publishTimes(ctx, cfg.SSODB, ids)
	if err != nil {
		return unavailable("sso database: %v", err)
	}
	var creditLat, mailLat, publishLat []time.Duration
	byEmail := map[string]time.Time{}
	for id, c := range created {
		byEmail[c.email] = c.at
		if t, ok := credits[id]; ok {
			creditLat = append(creditLat, t.Sub(c.at))
		}
		if t, ok := published[id]; ok {
			publishLat = append(publishLat, t.Sub(c.at))
		}
	}
	res.Publish = stats.Summarize(publishLat, nil, cfg.Duration)
	res.PublishMissing = len(ids) - len(publishLat)
	// A registration normally answers in tens of milliseconds; a median
	// over a second means requests queued behind the open loop.
	res.Overloaded = res.Register.P50Ms > 1000 || res.CommitRate < 0.95*cfg.Rate
	if mailErr == nil {
		for email, at := range mail.times() {
			if c, ok := byEmail[email]; ok {
				mailLat = append(mailLat, at.Sub(c))
			}
		}
		res.MailMissing = len(emails) - len(mailLat)
		res.Mail = stats.Summarize(mailLat, nil, cfg.Duration)
	} else {
		res.MailUnavailable = mailErr.Error()
	}
	res.CreditMissing = len(ids) - len(creditLat)
	res.Credit = stats.Summarize(creditLat, nil, cfg.Duration)

	switch {
	case len(creditLat) == 0:
		return unavailable("no welcome bonus credited within %v for any of %d users (loyalty-points not consuming?)", cfg.Settle, len(ids))
	case res.CreditMissing > 0 || res.MailMissing > 0 || mailErr != nil:
		res.Status = StatusPartial
		var why []string
		if res.CreditMissing > 0 {
			why = append(why, fmt.Sprintf("%d credits", res.CreditMissing))
		}
		if res.MailMissing > 0 {
			why = append(why, fmt.Sprintf("%d mails", res.MailMissing))
		}
		if len(why) > 0 {
			res.Reason = strings.Join(why, " and ") + fmt.Sprintf(" had not arrived %v after the last registration", cfg.Settle)
		}
		if mailErr != nil {
			res.Reason = strings.TrimPrefix(res.Reason+"; mail not measured: "+mailErr.Error(), "; ")
		}
	default:
		res.Status = StatusOK
	}
	return res
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

type created struct {
	email string
	at    time.Time
}

// userTimes returns users.created_at by user id for emails.
func userTimes(ctx context.Context, db *sql.DB, emails []string) (map[string]created, error) {
	rows, err := db.QueryContext(ctx, "SELECT id::text, email, created_at FROM users WHERE email = ANY($1)", pq.Array(emails))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]created, len(emails))
	for rows.Next() {
		var id string
		var c created
		if err := rows.Scan(&id, &c.email, &c.at); err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, rows.Err()
}

// publishTimes returns, by user id, when the relay recorded the delivery
// of the user's UserRegistered event (outbox.updated_at of the successful
// row, served by outbox_aggregate_id_idx).
func publishTimes(ctx context.Context, db *sql.DB, ids []string) (map[string]time.Time, error) {
	rows, err := db.QueryContext(ctx, `SELECT aggregate_id::text, min(updated_at) FROM outbox
		WHERE aggregate_id = ANY($1::uuid[]) AND event_type = 'UserRegistered' AND status = 'successful'
		GROUP BY aggregate_id`, pq.Array(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]time.Time, len(ids))
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}

// creditTimes adds to got the credit time of each user in ids that has its
// welcome bonus and is not in got yet.
func creditTimes(ctx context.Context, db *sql.DB, ids []string, got map[string]time.Time) error {
	var want []string
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	rows, err := db.QueryContext(ctx,
		"SELECT user_id::text, created_at FROM transactions WHERE kind = 'WELCOME_BONUS' AND user_id = ANY($1::uuid[])", pq.Array(want))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return err
		}
		got[id] = at
	}
	return rows.Err()
}

// mailWatch notes when Mailpit accepted each expected message. It polls
// Mailpit's newest messages, since older ones are pruned past 500.
type mailWatch struct {
	hc   *http.Client
	base string

	mu   sync.Mutex
	want map[string]bool
	got  map[string]time.Time
}

func newMailWatch(hc *http.Client, base string) *mailWatch {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &mailWatch{hc: hc, base: strings.TrimRight(base, "/"), want: map[string]bool{}, got: map[string]time.Time{}}
}

var errNoMailpit = errors.New("no Mailpit API configured")

func (m *mailWatch) check(ctx context.Context) error {
	if m.base == "" {
		return errNoMailpit
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/api/v1/info", nil)
	if err != nil {
		return err
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: /api/v1/info answered %d", resp.StatusCode)
	}
	return nil
}

func (m *mailWatch) expect(email string) {
	m.mu.Lock()
	m.want[strings.ToLower(email)] = true
	m.mu.Unlock()
}

func (m *mailWatch) found() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.got)
}

func (m *mailWatch) times() map[string]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]time.Time, len(m.got))
	for k, v := range m.got {
		out[k] = v
	}
	return out
}

// run polls until ctx ends, and once more after that.
func (m *mailWatch) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_ = m.poll(ctx)
		select {
		case <-ctx.Done():
			pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = m.poll(pctx)
			cancel()
			return
		case <-t.C:
		}
	}
}

// mailpitList is the part of GET /api/v1/messages the watch reads.
type mailpitList struct {
	Messages []struct {
		To      []struct{ Address string }
		Created time.Time
	} `json:"messages"`
}

func (m *mailWatch) poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/api/v1/messages?"+url.Values{"limit": {"500"}}.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: messages answered %d", resp.StatusCode)
	}
	var list mailpitList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return fmt.Errorf("mailpit: decode messages: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range list.Messages {
		for _, to := range msg.To {
			addr := strings.ToLower(to.Address)
			if !m.want[addr] {
				continue
			}
			// The first acceptance counts; a duplicate mail is the
			// notifier's problem, not a later arrival.
			if prev, ok := m.got[addr]; !ok || msg.Created.Before(prev) {
				m.got[addr] = msg.Created
			}
		}
	}
	return nil
}
