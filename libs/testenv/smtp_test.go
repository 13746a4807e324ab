package testenv_test

import (
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
)

// TestSMTPMailReachesMailpit proves that mail handed to the SMTP server can be
// found again through Mailpit's API, the way end-to-end tests check welcome
// e-mails.
func TestSMTPMailReachesMailpit(t *testing.T) {
	testenv.Require(t, testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL))
	to := strings.ReplaceAll(testenv.Name(t, "probe"), "_", "-") + "@example.test"
	subject := "probe " + to
	body := "Content-Type: text/plain; charset=utf-8\r\n" +
		"From: stack-probe@example.test\r\n" +
		"To: " + to + "\r\n" +
		"Subject: " + subject + "\r\n\r\nhello from the stack probe\r\n"
	if err := smtp.SendMail(testenv.SMTPAddr, nil, "stack-probe@example.test", []string{to}, []byte(body)); err != nil {
		t.Fatalf("send: %v", err)
	}

	var found []testenv.Mail
	ok := testenv.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		var err error
		found, err = testenv.MailsTo(to)
		return err == nil && len(found) > 0
	})
	if !ok {
		t.Fatalf("no message to %s in Mailpit", to)
	}
	t.Cleanup(func() { _ = testenv.DeleteMails(found) })
	if len(found) != 1 {
		t.Fatalf("found %d messages to %s, want 1", len(found), to)
	}
	if found[0].Subject != subject {
		t.Fatalf("subject = %q, want %q", found[0].Subject, subject)
	}
	if len(found[0].To) != 1 || found[0].To[0].Address != to {
		t.Fatalf("to = %+v, want %s", found[0].To, to)
	}
}
