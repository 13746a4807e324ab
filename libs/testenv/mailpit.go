package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Mail is a message Mailpit received, as its API lists it.
type Mail struct {
	ID        string        `json:"ID"`        // Mailpit's id, for MailBody and MailHeaders
	MessageID string        `json:"MessageID"` // the Message-ID header, without angle brackets
	Subject   string        `json:"Subject"`
	From      MailAddress   `json:"From"`
	To        []MailAddress `json:"To"`
	Snippet   string        `json:"Snippet"`
}

// MailAddress is a mailbox as Mailpit reports it: display name and address.
type MailAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// MailsTo returns the messages Mailpit holds for the address.
func MailsTo(addr string) ([]Mail, error) {
	var page struct {
		Messages []Mail `json:"messages"`
	}
	if err := getMailpit("/api/v1/search?query="+url.QueryEscape("to:"+addr), &page); err != nil {
		return nil, err
	}
	// Mailpit's search matches substrings; keep exact recipients only.
	var out []Mail
	for _, m := range page.Messages {
		for _, to := range m.To {
			if strings.EqualFold(to.Address, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out, nil
}

// DeleteMails removes messages from Mailpit, so tests leave only what they
// did not create.
func DeleteMails(mails []Mail) error {
	if len(mails) == 0 {
		return nil
	}
	ids := make([]string, len(mails))
	for i, m := range mails {
		ids[i] = m.ID
	}
	b, _ := json.Marshal(map[string][]string{"IDs": ids})
	req, err := http.NewRequest(http.MethodDelete, MailpitURL+"/api/v1/messages", strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit delete: %s", resp.Status)
	}
	return nil
}

// MailBody returns the decoded plain-text body of the message with
// Mailpit's id (Mail.ID).
func MailBody(id string) (string, error) {
	var m struct {
		Text string `json:"Text"`
	}
	err := getMailpit("/api/v1/message/"+url.PathEscape(id), &m)
	return m.Text, err
}

// MailHeaders returns the raw headers of the message with Mailpit's id
// (Mail.ID), each name with all its values.
func MailHeaders(id string) (map[string][]string, error) {
	var h map[string][]string
	err := getMailpit("/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h, err
}

// AwaitMails waits up to timeout until at least n messages reached addr,
// then returns all of them; a test that expects no more than n checks the
// length itself.
func AwaitMails(addr string, n int, timeout time.Duration) ([]Mail, error) {
	var (
		found []Mail
		err   error
	)
	if !Eventually(timeout, 100*time.Millisecond, func() bool {
		found, err = MailsTo(addr)
		return err == nil && len(found) >= n
	}) && err == nil {
		err = fmt.Errorf("%d messages to %s after %s, want at least %d", len(found), addr, timeout, n)
	}
	return found, err
}

// Mailbox returns a recipient address unique to this run of t, so a search
// finds only the test's own mail, and deletes whatever reached it when t
// ends.
func Mailbox(t testing.TB, prefix string) string {
	t.Helper()
	addr := strings.ReplaceAll(Name(t, prefix), "_", "-") + "@example.test"
	t.Cleanup(func() {
		found, err := MailsTo(addr)
		if err == nil {
			err = DeleteMails(found)
		}
		if err != nil {
			t.Errorf("mailpit cleanup of %s: %v", addr, err)
		}
	})
	return addr
}

func getMailpit(path string, out any) error {
	resp, err := http.Get(MailpitURL + path)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("mailpit: GET %s: %w", path, err)
	}
	return nil
}
