package e2e_test

import (
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
)

// TestRegistrationsSurviveAKafkaOutage stops Kafka, registers 20 users
// (every registration must still succeed), starts Kafka again, and expects
// every event delivered exactly once: 20 mails, 20 credits, and no outbox row
// left in progress or failed.
func TestRegistrationsSurviveAKafkaOutage(t *testing.T) {
	s := theSystem(t)
	stopped(t, "kafka")

	type user struct{ email, id, access string }
	var users []user
	for range 20 {
		addr := s.email(t)
		id, access := s.register(t, addr, nil)
		users = append(users, user{addr, id, access})
		cleanupMails(t, addr)
	}

	stack(t, "up", "kafka")
	for _, u := range users {
		if !testenv.Eventually(120*time.Second, 500*time.Millisecond, func() bool {
			return s.eventStatus(t, u.access) == successful && welcomeMailCount(t, u.email) >= 1 && s.balance(t, u.id, u.access) >= s.bonus
		}) {
			t.Fatalf("user %s not delivered after Kafka came back: status %q, %d mails, balance %d\nsso:\n%s",
				u.email, s.eventStatus(t, u.access), welcomeMailCount(t, u.email), s.balance(t, u.id, u.access), s.logs("sso"))
		}
	}
	s.settled(t)
	for _, u := range users {
		if n := welcomeMailCount(t, u.email); n != 1 {
			t.Errorf("%s: %d mails, want 1", u.email, n)
		}
		if b := s.balance(t, u.id, u.access); b != s.bonus {
			t.Errorf("%s: balance %d, want %d", u.email, b, s.bonus)
		}
	}

	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs["sso"]))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pending int
	if err := db.Get(&pending, "SELECT count(*) FROM outbox WHERE status <> 'successful'"); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d outbox rows not successful", pending)
	}
}

// TestSMTPOutageDelaysOnlyTheMail stops the mail server: the loyalty credit
// must not wait for it, and the welcome mail must arrive, once, after the
// server is back.
func TestSMTPOutageDelaysOnlyTheMail(t *testing.T) {
	s := theSystem(t)
	stopped(t, "mailpit")
	retriedBefore := counter(scrape(t, s.notHTTP), "kafka_consumer_retried_total")

	addr := s.email(t)
	userID, access := s.register(t, addr, nil)
	if !testenv.Eventually(20*time.Second, 200*time.Millisecond, func() bool {
		return s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("loyalty credit waited for SMTP: balance %d", s.balance(t, userID, access))
	}
	// The notifier must have tried and failed while the server was away,
	// so that the mail below proves a retry, not a first attempt.
	if !testenv.Eventually(30*time.Second, 200*time.Millisecond, func() bool {
		return counter(scrape(t, s.notHTTP), "kafka_consumer_retried_total") >= retriedBefore+2
	}) {
		t.Fatalf("the notifier never retried while SMTP was down\nnotifier:\n%s", s.logs("welcome-notifier"))
	}

	stack(t, "up", "mailpit")
	cleanupMails(t, addr)
	if !testenv.Eventually(60*time.Second, 300*time.Millisecond, func() bool {
		return welcomeMailCount(t, addr) >= 1
	}) {
		t.Fatalf("no mail after SMTP came back\nnotifier:\n%s", s.logs("welcome-notifier"))
	}
	s.settled(t)
	if n := welcomeMailCount(t, addr); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}
}
