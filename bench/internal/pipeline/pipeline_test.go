package pipeline

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
)

func TestBacklogEvents(t *testing.T) {
	ids, payloads, err := backlog(3)
	if err != nil {
		t.Fatal(err)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i, p := range payloads {
		var e eventsv1.UserRegistered
		if err := proto.Unmarshal(p, &e); err != nil {
			t.Fatal(err)
		}
		if e.GetEventId() != ids[i] || !uuid.MatchString(e.GetEventId()) || !uuid.MatchString(e.GetUserId()) {
			t.Fatalf("event %d = %v, row id %s: want matching v4 UUIDs", i, &e, ids[i])
		}
		if e.GetEmail() == "" || e.GetRegisteredAt() == nil || seen[e.GetUserId()] {
			t.Fatalf("event %d = %v: want an e-mail, a time and a fresh user", i, &e)
		}
		seen[e.GetUserId()] = true
	}
}

func TestMailWatch(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/info":
			fmt.Fprint(w, `{"Version":"v1.33.1"}`)
		case "/api/v1/messages":
			if r.URL.Query().Get("limit") != "500" {
				http.Error(w, "want limit=500", http.StatusBadRequest)
				return
			}
			polls.Add(1)
			// Newest first, as Mailpit lists them; a duplicate mail for
			// ann came later and must not move her time.
			fmt.Fprintf(w, `{"total":4,"messages":[
				{"To":[{"Name":"","Address":"ann@example.com"}],"Created":%q},
				{"To":[{"Name":"","Address":"someone-else@example.com"}],"Created":%q},
				{"To":[{"Name":"Bob","Address":"BOB@example.com"}],"Created":%q},
				{"To":[{"Name":"","Address":"ann@example.com"}],"Created":%q}]}`,
				t0.Add(3*time.Second).Format(time.RFC3339Nano), t0.Format(time.RFC3339Nano),
				t0.Add(1500*time.Millisecond).Format(time.RFC3339Nano), t0.Add(time.Second).Format(time.RFC3339Nano))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	m := newMailWatch(nil, srv.URL+"/")
	if err := m.check(t.Context()); err != nil {
		t.Fatal(err)
	}
	m.expect("ann@example.com")
	m.expect("bob@example.com")
	m.expect("carol@example.com")
	if err := m.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := m.times()
	if len(got) != 2 || m.found() != 2 {
		t.Fatalf("found %v, want ann and bob only", got)
	}
	if !got["ann@example.com"].Equal(t0.Add(time.Second)) {
		t.Errorf("ann = %v, want her first mail at %v", got["ann@example.com"], t0.Add(time.Second))
	}
	if !got["bob@example.com"].Equal(t0.Add(1500 * time.Millisecond)) {
		t.Errorf("bob (address in another case) = %v", got["bob@example.com"])
	}

	if err := newMailWatch(nil, "").check(t.Context()); err == nil {
		t.Error("check without a Mailpit URL succeeded")
	}
	if err := newMailWatch(nil, srv.URL+"/nothing-here").check(t.Context()); err == nil {
		t.Error("check against a 404 succeeded")
	}
}
