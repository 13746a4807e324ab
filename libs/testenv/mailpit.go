package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Mail is a message Mailpit received, as its API lists it.
type Mail struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	From    struct {
		Address string `json:"Address"`
	} `json:"From"`
	To []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Snippet string `json:"Snippet"`
}

// MailsTo returns the messages Mailpit holds for the address.
func MailsTo(addr string) ([]Mail, error) {
	resp, err := http.Get(MailpitURL + "/api/v1/search?query=" + url.QueryEscape("to:"+addr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit search: %s", resp.Status)
	}
	var page struct {
		Messages []Mail `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
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
