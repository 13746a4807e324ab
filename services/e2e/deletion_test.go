package e2e_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// Account deletion through the real processes: sso erases the account and
// announces it, the notifier forgets the address, loyalty closes the
// account; afterwards no database of the three holds the address.

// db opens the system's database of svc ("sso", "loyalty", "notifier").
func (s *system) db(t *testing.T, svc string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs[svc]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// holding returns "table.column" of every text, json or bytea column of
// every table of db that contains needle in some row, with the number of
// such rows: a whole-database search for a piece of personal data.
func holding(t *testing.T, db *sqlx.DB, needle string) map[string]int {
	t.Helper()
	var cols []struct {
		Schema string `db:"table_schema"`
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
		Type   string `db:"data_type"`
	}
	if err := db.Select(&cols, `SELECT c.table_schema, c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c JOIN information_schema.tables t
			ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND t.table_type = 'BASE TABLE'
			AND c.data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED')`); err != nil {
		t.Fatal(err)
	}
	if len(cols) == 0 {
		t.Fatal("no text column found: the scan would prove nothing")
	}
	t.Logf("scanning %d columns", len(cols))
	found := map[string]int{}
	for _, c := range cols {
		expr := fmt.Sprintf("position($1 in %q::text) > 0", c.Column)
		if c.Type == "bytea" {
			expr = fmt.Sprintf("position(convert_to($1, 'UTF8') in %q) > 0", c.Column)
		}
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM %q.%q WHERE %s", c.Schema, c.Table, expr)
		if err := db.Get(&n, q, needle); err != nil {
			t.Fatalf("scan %s.%s: %v", c.Table, c.Column, err)
		}
		if n > 0 {
			found[c.Table+"."+c.Column] = n
		}
	}
	return found
}

// accountSettled waits until both consumers of the account topic have
// handled and committed everything on it.
func (s *system) accountSettled(t *testing.T) {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, group := range []string{"e2e-loyalty-account-" + s.suffix, "e2e-notifier-account-" + s.suffix} {
		var lag int64
		if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
			lag, err = kafkatest.Lag(ctx, admin, group, s.accountTopic)
			return err == nil && lag == 0
		}) {
			t.Fatalf("group %s never caught up on %s: lag %d, %v", group, s.accountTopic, lag, err)
		}
	}
}

// adminToken registers a user, makes it an administrator in sso's
// database and returns an access token that says so.
// adminToken makes an administrator beside the test's own user (an
// address of its own, granted by `sso admin grant`) and returns the access
// token of its login, which carries the role.
func (s *system) adminToken(t *testing.T) string {
	t.Helper()
	addr := strings.Replace(s.email(t), "@", "-admin@", 1)
	cleanupMails(t, addr)
	s.register(t, addr, nil)
	if out, err := s.ssoCommand(s.ssoEnv, "admin", "grant", addr); err != nil {
		t.Fatalf("sso admin grant: %v\n%s", err, out)
	}
	return s.login(t, addr).access
}

// TestAdministratorDeletesAnAccount: the admin API's deletion is the
// user's own (the same use case): the account's tokens and login stop
// working, the id is then unknown, and an administrator cannot delete
// itself here.
func TestAdministratorDeletesAnAccount(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	admin := s.adminToken(t)
	addr := strings.Replace(s.email(t), "@", "-target@", 1)
	cleanupMails(t, addr)
	userID, access := s.register(t, addr, nil)

	if r := call(t, http.MethodDelete, adminURL(s, "/"+userID), access, nil, nil); r.Status != http.StatusForbidden {
		t.Fatalf("a user deleting itself through the admin API: %d %s, want 403", r.Status, r.Raw)
	}
	if r := call(t, http.MethodDelete, adminURL(s, "/"+userID), admin, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("admin delete: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodGet, s.url("/v1/users/me"), access, nil, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the deleted user's access token: %d %s, want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": password}, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the deleted user's login: %d %s, want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodDelete, adminURL(s, "/"+userID), admin, nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("deleting the deleted account again: %d %s, want 404", r.Status, r.Raw)
	}
	me := call(t, http.MethodGet, s.url("/v1/users/me"), admin, nil, nil)
	if r := call(t, http.MethodDelete, adminURL(s, "/"+me.str("user_id")), admin, nil, nil); r.Status != http.StatusBadRequest {
		t.Errorf("an administrator deleting itself through the admin API: %d %s, want 400", r.Status, r.Raw)
	}
}

func (s *system) loyaltyChange(t *testing.T, admin, userID, verb string, amount int64, key string) restResponse {
	return call(t, http.MethodPost, "http://"+s.loyHTTP+"/v1/loyalty/accounts/"+userID+":"+verb, admin,
		map[string]any{"amount": fmt.Sprint(amount), "reason": "goodwill", "idempotency_key": key}, nil)
}

func TestDeletingAnAccountErasesItEverywhere(t *testing.T) {
	s := theSystem(t)
	ssoDB, loyDB, notDB := s.db(t, "sso"), s.db(t, "loyalty"), s.db(t, "notifier")
	admin := s.adminToken(t)
	addr := s.email(t)
	cleanupMails(t, addr)
	// A name of its own, so that finding it anywhere means this user's.
	name := "Erasable " + randomHex(6)
	reg := call(t, http.MethodPost, s.url("/v1/auth/register"), "", map[string]string{"email": addr, "password": password, "full_name": name}, nil)
	if reg.Status != http.StatusOK {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	userID, access := reg.str("user_id"), reg.str("access_token")
	login := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": password}, nil)
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Raw)
	}
	// Both consumers have the user: the welcome mail went out (the
	// notifier's ledger holds the address), the bonus is credited.
	if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
		return welcomeMailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("registration not handled: %d welcome mails, balance %d", welcomeMailCount(t, addr), s.balance(t, userID, access))
	}
	if r := s.loyaltyChange(t, admin, userID, "deposit", 40, "d-"+userID); r.Status != http.StatusOK {
		t.Fatalf("deposit: %d %s", r.Status, r.Raw)
	}
	if r := s.loyaltyChange(t, admin, userID, "withdraw", 15, "w-"+userID); r.Status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.Status, r.Raw)
	}
	for name, db := range map[string]*sqlx.DB{"sso": ssoDB, "notifier": notDB} {
		if len(holding(t, db, addr)) == 0 {
			t.Fatalf("%s holds no trace of the address before the deletion: the scan cannot tell an erasure", name)
		}
	}
	// Before: the user's events carry the address and the name sealed,
	// and the key sso hands out opens them.
	sealedBefore := 0
	for _, m := range s.allMessages(t) {
		if m.userID != userID || m.personal == nil {
			continue
		}
		sealedBefore++
		if p := s.personal(t, userID, m.eventID, m.personal); p.GetEmail() != addr || m.topic == s.topic && p.GetFullName() != name {
			t.Fatalf("personal data of %s on %s = %v, want %s, %s", m.eventID, m.topic, p, addr, name)
		}
	}
	if sealedBefore < 2 {
		t.Fatalf("%d sealed events of the user before the deletion, want its registration and verification request", sealedBefore)
	}
	// A copy of the user's verification request under another event id:
	// its token no longer opens, so the notifier dead-letters it, and the
	// user's sealed data sits on a dead-letter topic too.
	verifications := s.waitAccountEvents(t, userID, func(es []accountEvent) bool { return count(es, isVerification) >= 1 })
	tampered := proto.Clone(verifications[0].ev).(*eventsv1.AccountEvent)
	tampered.EventId = uuid.NewString()
	s.produceAccountEvent(t, tampered, userID)
	dlq := s.accountTopic + ".e2e-notifier-account-" + s.suffix + ".dlq"
	if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
		for _, m := range readAll(t, dlq, time.Second) {
			if header(m, "event_id") == tampered.EventId || strings.Contains(string(m.Value), tampered.EventId) {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the tampered event never reached %s\nnotifier:\n%s", dlq, s.logs("welcome-notifier"))
	}
	sealedBefore++

	// A wrong password: 401, and nothing deleted.
	if r := call(t, http.MethodDelete, s.url("/v1/users/me"), access, map[string]string{"password": "not the password"}, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("delete with a wrong password: %d %s, want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodGet, s.url("/v1/users/me"), access, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("after a refused deletion: %d %s, want the account still there", r.Status, r.Raw)
	}
	// No token: 401 before anything else.
	if r := call(t, http.MethodDelete, s.url("/v1/users/me"), "", map[string]string{"password": password}, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("delete without a token: %d %s, want 401", r.Status, r.Raw)
	}

	r := call(t, http.MethodDelete, s.url("/v1/users/me"), access, map[string]string{"password": password}, nil)
	if r.Status != http.StatusOK || strings.TrimSpace(r.Raw) != "{}" {
		t.Fatalf("delete: %d %s, want 200 {}", r.Status, r.Raw)
	}

	// Every token of the user is refused; the address logs in like an
	// unknown one.
	for _, tok := range []string{access, login.str("access_token")} {
		if r := call(t, http.MethodGet, s.url("/v1/users/me"), tok, nil, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("access token after deletion: %d %s, want 401", r.Status, r.Raw)
		}
		if r := call(t, http.MethodPost, s.url("/v1/auth/validate"), "", map[string]string{"token": tok}, nil); r.Status != http.StatusOK || r.Body["valid"] == true {
			t.Errorf("validate after deletion: %d %s, want valid false", r.Status, r.Raw)
		}
	}
	if r := call(t, http.MethodPost, s.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": login.str("refresh_token")}, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("refresh token after deletion: %d %s, want 401", r.Status, r.Raw)
	}
	unknown := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": "nobody-" + addr, "password": password}, nil)
	if r := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": addr, "password": password}, nil); r.Status != http.StatusUnauthorized || r.Raw != unknown.Raw {
		t.Errorf("login after deletion: %d %s, want %d %s as for an unknown address", r.Status, r.Raw, unknown.Status, unknown.Raw)
	}

	// The event reaches both consumers.
	var closedAt time.Time
	var closedBy string
	if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
		return loyDB.QueryRow("SELECT closed_at, closed_by_event FROM accounts WHERE user_id = $1 AND closed_at IS NOT NULL", userID).Scan(&closedAt, &closedBy) == nil
	}) {
		t.Fatalf("loyalty never closed the account\nloyalty:\n%s", s.logs("loyalty-points"))
	}
	var erasedBy string
	if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
		return notDB.Get(&erasedBy, "SELECT event_id FROM erased_users WHERE user_id = $1", userID) == nil
	}) {
		t.Fatalf("the notifier never erased the user\nnotifier:\n%s", s.logs("welcome-notifier"))
	}
	if erasedBy != closedBy {
		t.Errorf("erased by event %s, closed by %s: want the one UserDeleted", erasedBy, closedBy)
	}
	events := s.waitAccountEvents(t, userID, func(es []accountEvent) bool {
		return count(es, func(e *eventsv1.AccountEvent) bool { return e.GetUserDeleted() != nil }) == 1
	})
	var deleted *accountEvent
	for i := range events {
		if events[i].ev.GetUserDeleted() != nil {
			deleted = &events[i]
		}
	}
	if deleted.ev.GetEventId() != closedBy || strings.Contains(string(deleted.msg.Value), addr) {
		t.Errorf("UserDeleted %s on the topic: want the event both consumers acted on, without the address", deleted.ev.GetEventId())
	}

	// No database of the three holds the address.
	for name, db := range map[string]*sqlx.DB{"sso": ssoDB, "loyalty": loyDB, "notifier": notDB} {
		if got := holding(t, db, addr); len(got) != 0 {
			t.Errorf("%s still holds the address in %v", name, got)
		}
	}
	// No message on any topic of the run, dead letters included, carries
	// the address or the name, and none of the user's sealed personal data
	// can be opened any more: sso has no key for the user.
	s.accountSettled(t)
	sealedAfter := 0
	scanned := s.allMessages(t)
	for _, m := range scanned {
		if found := containsAny(m.msg, addr, name); len(found) != 0 {
			t.Errorf("a message on %s at offset %v carries %v in clear", m.topic, m.msg.TopicPartition.Offset, found)
		}
		if m.userID == userID && m.personal != nil {
			sealedAfter++
		}
	}
	if !slices.ContainsFunc(scanned, func(m topicMessage) bool { return m.topic == dlq }) {
		t.Errorf("the scan did not read the dead-letter topic %s", dlq)
	}
	if sealedAfter < sealedBefore {
		t.Errorf("%d sealed events of the user on the topics after the deletion, %d before: the scan missed some", sealedAfter, sealedBefore)
	}
	if _, err := s.dataKey(t, userID, sealbox.DataKeyVersion); status.Code(err) != codes.NotFound {
		t.Errorf("the deleted user's data key: %v, want NOT_FOUND", err)
	}
	if v := value(scrape(t, s.ssoHTTP), "sso_data_key_lookups_total", map[string]string{"result": "not_found"}); v < 1 {
		t.Errorf("sso counted %v key lookups of erased users, want at least this test's", v)
	}

	// The ledger still adds up, and takes nothing more.
	var balance, sum int64
	if err := loyDB.QueryRow(`SELECT a.balance, COALESCE(sum(CASE t.kind WHEN 'WITHDRAWAL' THEN -t.amount ELSE t.amount END), 0)
		FROM accounts a LEFT JOIN transactions t ON t.user_id = a.user_id WHERE a.user_id = $1 GROUP BY a.balance`, userID).Scan(&balance, &sum); err != nil {
		t.Fatal(err)
	}
	if want := s.bonus + 40 - 15; balance != want || sum != want {
		t.Errorf("closed account: balance %d, transactions add up to %d; want both %d", balance, sum, want)
	}
	for _, verb := range []string{"deposit", "withdraw"} {
		if r := s.loyaltyChange(t, admin, userID, verb, 5, verb+"-after-"+userID); r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, "ACCOUNT_CLOSED") {
			t.Errorf("%s on the closed account: %d %s, want 400 FAILED_PRECONDITION ACCOUNT_CLOSED", verb, r.Status, r.Raw)
		}
	}

	// The UserDeleted redelivered changes nothing. The counters are the
	// whole system's: other tests' deletions may have moved them.
	mails := mailCount(t, addr)
	s.accountSettled(t)
	dupBefore := value(scrape(t, s.loyHTTP), "loyalty_points_account_closings_total", map[string]string{"outcome": "duplicate"})
	erasedBefore := value(scrape(t, s.notHTTP), "welcome_notifier_account_events_total", map[string]string{"kind": "user_deleted", "outcome": "erased"})
	s.produceAccountEvent(t, deleted.ev, userID)
	s.accountSettled(t)
	var closedAt2 time.Time
	var closedBy2, erasedBy2 string
	if err := loyDB.QueryRow("SELECT closed_at, closed_by_event FROM accounts WHERE user_id = $1", userID).Scan(&closedAt2, &closedBy2); err != nil {
		t.Fatal(err)
	}
	if err := notDB.Get(&erasedBy2, "SELECT event_id FROM erased_users WHERE user_id = $1", userID); err != nil {
		t.Fatal(err)
	}
	if !closedAt2.Equal(closedAt) || closedBy2 != closedBy || erasedBy2 != erasedBy || mailCount(t, addr) != mails {
		t.Errorf("redelivery changed something: closed %v by %s, erased by %s, %d mails", closedAt2, closedBy2, erasedBy2, mailCount(t, addr))
	}
	if v := value(scrape(t, s.loyHTTP), "loyalty_points_account_closings_total", map[string]string{"outcome": "duplicate"}); v != dupBefore+1 {
		t.Errorf("loyalty counted %v duplicate closings, want %v: the redelivery handled as a duplicate", v, dupBefore+1)
	}
	if v := value(scrape(t, s.notHTTP), "welcome_notifier_account_events_total", map[string]string{"kind": "user_deleted", "outcome": "erased"}); v != erasedBefore+1 {
		t.Errorf("the notifier counted %v erasures, want %v: the redelivery handled", v, erasedBefore+1)
	}

	// An old event of the user delivered again (a replay, a consumer
	// reset to the start) finds no key: counted, nothing mailed.
	erasedLookups := value(scrape(t, s.notHTTP), "welcome_notifier_data_key_lookups_total", map[string]string{"result": "erased"})
	replayed := 0
	for _, e := range events {
		if isVerification(e.ev) && e.ev.GetEventId() != tampered.EventId {
			produce(t, s.accountTopic, e.msg.Key, e.msg.Value, e.msg.Headers)
			replayed++
		}
	}
	if replayed == 0 {
		t.Fatal("no verification request of the user to replay")
	}
	s.accountSettled(t)
	if v := value(scrape(t, s.notHTTP), "welcome_notifier_data_key_lookups_total", map[string]string{"result": "erased"}); v < erasedLookups+float64(replayed) {
		t.Errorf("the notifier counted %v erased key lookups, want at least %v", v, erasedLookups+float64(replayed))
	}
	if n := mailCount(t, addr); n != mails {
		t.Errorf("%d mails to the erased address after the replay, want %d", n, mails)
	}

	// No service logged the address or the name, whatever it did for the
	// user: registration, mails, deletion, erasure, the replays.
	for _, svc := range []string{"sso", "loyalty-points", "welcome-notifier"} {
		logs, err := os.ReadFile(s.procs[svc].log)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(logs, []byte(userID)) && svc != "loyalty-points" {
			t.Errorf("the %s log never names the user: the check proves nothing", svc)
		}
		for _, needle := range []string{addr, name} {
			if bytes.Contains(logs, []byte(needle)) {
				t.Errorf("the %s log carries %q", svc, needle)
			}
		}
	}

	// The address registers again, as a new user with a new account.
	again, againAccess := s.register(t, addr, nil)
	if again == userID {
		t.Fatal("the address registered again under the deleted id")
	}
	if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
		return s.balance(t, again, againAccess) == s.bonus
	}) {
		t.Errorf("the new user's bonus: balance %d", s.balance(t, again, againAccess))
	}
}

// TestDeletionSurvivesAKafkaOutage deletes an account while Kafka is
// stopped, as TestRegistrationsSurviveAKafkaOutage registers: the deletion
// answers at once, and once Kafka is back the notifier erases the user and
// loyalty closes the account, each once. It stops the shared Kafka, so like
// the other outage tests it runs only where the stack is the test's alone.
func TestDeletionSurvivesAKafkaOutage(t *testing.T) {
	s := theSystem(t)
	loyDB, notDB := s.db(t, "loyalty"), s.db(t, "notifier")
	addr := s.email(t)
	cleanupMails(t, addr)
	userID, access := s.register(t, addr, nil)
	if !testenv.Eventually(60*time.Second, 200*time.Millisecond, func() bool {
		return welcomeMailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("registration not handled: %d welcome mails, balance %d", welcomeMailCount(t, addr), s.balance(t, userID, access))
	}

	stopped(t, "kafka")
	began := time.Now()
	if r := call(t, http.MethodDelete, s.url("/v1/users/me"), access, map[string]string{"password": password}, nil); r.Status != http.StatusOK {
		t.Fatalf("delete while Kafka is down: %d %s", r.Status, r.Raw)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("deletion took %v while Kafka is down", d)
	}
	stack(t, "up", "kafka")

	if !testenv.Eventually(120*time.Second, 500*time.Millisecond, func() bool {
		var closed, erased int
		_ = loyDB.Get(&closed, "SELECT count(*) FROM accounts WHERE user_id = $1 AND closed_at IS NOT NULL", userID)
		_ = notDB.Get(&erased, "SELECT count(*) FROM erased_users WHERE user_id = $1", userID)
		return closed == 1 && erased == 1
	}) {
		t.Fatalf("deletion not delivered after Kafka came back\nsso:\n%s", s.logs("sso"))
	}
	s.accountSettled(t)
	for name, db := range map[string]*sqlx.DB{"loyalty": loyDB, "notifier": notDB} {
		if got := holding(t, db, addr); len(got) != 0 {
			t.Errorf("%s still holds the address in %v", name, got)
		}
	}
	if v := value(scrape(t, s.loyHTTP), "loyalty_points_account_closings_total", map[string]string{"outcome": "closed"}); v < 1 {
		t.Errorf("loyalty counted %v closings", v)
	}
}
