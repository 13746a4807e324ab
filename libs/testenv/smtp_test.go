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
// e-mails: listed with its envelope, with its body and headers.
func TestSMTPMailReachesMailpit(t *testing.T) {
	testenv.Require(t, testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL))
	to := testenv.Mailbox(t, "probe")
	subject := "probe " + to
	body := "Content-Type: text/plain; charset=utf-8\r\n" +
		"From: Stack Probe <stack-probe@example.test>\r\n" +
		"To: " + to + "\r\n" +
		"Message-ID: <" + to + ">\r\n" +
		"Subject: " + subject + "\r\n\r\nhello from the stack probe\r\n"
	if err := smtp.SendMail(testenv.SMTPAddr, nil, "stack-probe@example.test", []string{to}, []byte(body)); err != nil {
		t.Fatalf("send: %v", err)
	}

	found, err := testenv.AwaitMails(to, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("found %d messages to %s, want 1", len(found), to)
	}
	got := found[0]
	if got.Subject != subject {
		t.Errorf("subject = %q, want %q", got.Subject, subject)
	}
	if want := (testenv.MailAddress{Name: "Stack Probe", Address: "stack-probe@example.test"}); got.From != want {
		t.Errorf("from = %+v, want %+v", got.From, want)
	}
	if len(got.To) != 1 || got.To[0].Address != to {
		t.Errorf("to = %+v, want %s", got.To, to)
	}
	if got.MessageID != to {
		t.Errorf("message id = %q, want %q", got.MessageID, to)
	}
	text, err := testenv.MailBody(got.ID)
	if err != nil || strings.TrimSpace(text) != "hello from the stack probe" {
		t.Errorf("body = %q, %v; want the probe's text", text, err)
	}
	headers, err := testenv.MailHeaders(got.ID)
	if err != nil || len(headers["Subject"]) != 1 || headers["Subject"][0] != subject {
		t.Errorf("Subject header = %q, %v; want %q", headers["Subject"], err, subject)
	}
	if _, err := testenv.MailBody("no-such-message"); err == nil {
		t.Error("MailBody of an unknown id succeeded")
	}
}
