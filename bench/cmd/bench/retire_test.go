package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRetireEarlierRunsKeepsOneRunAndListsTheOthers(t *testing.T) {
	out, archive := t.TempDir(), filepath.Join(t.TempDir(), "archive")
	for _, id := range []string{"20261126T200328Z", "20261127T015544Z", "20261127T020000Z"} {
		if err := os.MkdirAll(filepath.Join(out, id, "pprof"), 0o755); err != nil {
			t.Fatal(err)
		}
		doc := `{"run_id":"` + id + `","started":"2026-11-27T01:55:44Z","sso":{"peak_rss_bytes":97722368}}`
		if err := os.WriteFile(filepath.Join(out, id, "report.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(out, "notes"), 0o755); err != nil { // not a run: left alone
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	for range 2 { // a second pass finds nothing left to do
		if err := retireEarlierRuns(out, "20261127T020000Z", archive, log); err != nil {
			t.Fatal(err)
		}
	}

	for _, kept := range []string{"20261127T020000Z", "notes"} {
		if _, err := os.Stat(filepath.Join(out, kept)); err != nil {
			t.Errorf("%s: %v, want it kept", kept, err)
		}
	}
	for _, id := range []string{"20261126T200328Z", "20261127T015544Z"} {
		if _, err := os.Stat(filepath.Join(out, id)); !os.IsNotExist(err) {
			t.Errorf("%s still in the results (%v)", id, err)
		}
		if _, err := os.Stat(filepath.Join(archive, id, "pprof")); err != nil {
			t.Errorf("%s not archived with its profiles: %v", id, err)
		}
	}
	history, err := os.ReadFile(filepath.Join(out, "HISTORY.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(history), "\n") {
		if strings.HasPrefix(line, "| 2026") {
			rows = append(rows, line)
		}
	}
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "| 20261126T200328Z | 2026-11-27 01:55 |") ||
		!strings.HasPrefix(rows[1], "| 20261127T015544Z |") || !strings.Contains(rows[1], "| 97.7 |") {
		t.Errorf("history rows =\n%s\nwant the two earlier runs in order, with their peak RSS", strings.Join(rows, "\n"))
	}
}
