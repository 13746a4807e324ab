// Package mailpit is a small client of Mailpit's HTTP API, for the tests
// that check what the notifier actually handed to SMTP. Tests search by a
// recipient address of their own and delete only the messages they found.
package mailpit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
)

// Client talks to one Mailpit instance.
type Client struct {
	base string
	http *http.Client
}

// New returns a client for the Mailpit API at baseURL (http://host:port).
func New(baseURL string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), http: http.DefaultClient}
}

// Address is a mailbox as Mailpit reports it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Summary is a message in a search result.
type Summary struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
}

// Message is one stored message with its decoded text body.
type Message struct {
	Summary
	Text string `json:"Text"`
}

// Search returns the messages matching a Mailpit search query, such as
// "to:someone@example.test".
func (c *Client) Search(ctx context.Context, query string) ([]Summary, error) {
	var page struct {
		Messages []Summary `json:"messages"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/search?query="+url.QueryEscape(query), nil, &page)
	return page.Messages, err
}

// Message returns the message with Mailpit's id.
func (c *Client) Message(ctx context.Context, id string) (Message, error) {
	var m Message
	err := c.do(ctx, http.MethodGet, "/api/v1/message/"+url.PathEscape(id), nil, &m)
	return m, err
}

// Headers returns the raw headers of the message with Mailpit's id.
func (c *Client) Headers(ctx context.Context, id string) (map[string][]string, error) {
	var h map[string][]string
	err := c.do(ctx, http.MethodGet, "/api/v1/message/"+url.PathEscape(id)+"/headers", nil, &h)
	return h, err
}

// Delete removes the messages with the given ids, and only those; with no
// ids it does nothing (Mailpit would delete everything).
func (c *Client) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return c.do(ctx, http.MethodDelete, "/api/v1/messages", map[string][]string{"IDs": ids}, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, &body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: %s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("mailpit: %s %s: %w", method, path, err)
	}
	return nil
}

// Mailbox returns a recipient address unique to this run of t, so a search
// finds only the test's own mail, and deletes whatever reached it when t
// ends.
func (c *Client) Mailbox(t testing.TB, prefix string) string {
	t.Helper()
	addr := strings.ReplaceAll(testenv.Name(t, prefix), "_", "-") + "@example.test"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		found, err := c.Search(ctx, "to:"+addr)
		if err != nil {
			t.Errorf("mailpit cleanup: %v", err)
			return
		}
		ids := make([]string, len(found))
		for i, m := range found {
			ids[i] = m.ID
		}
		if err := c.Delete(ctx, ids...); err != nil {
			t.Errorf("mailpit cleanup: %v", err)
		}
	})
	return addr
}

// Await waits until at least n messages to addr have arrived, up to
// timeout, then returns all of them. A test that expects no more than n
// checks the length itself.
func (c *Client) Await(ctx context.Context, addr string, n int, timeout time.Duration) ([]Summary, error) {
	var (
		found []Summary
		err   error
	)
	testenv.Eventually(timeout, 100*time.Millisecond, func() bool {
		found, err = c.Search(ctx, "to:"+addr)
		return err == nil && len(found) >= n
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}
