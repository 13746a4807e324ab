package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestParseMachineCPU(t *testing.T) {
	data := []byte("cpu  269376 37 97694 246567 2833 0 2882 338 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2\n")
	got, err := ParseMachineCPU(data)
	if err != nil {
		t.Fatal(err)
	}
	// busy = user+nice+system+irq+softirq+steal = 269376+37+97694+0+2882+338
	wantBusy := time.Duration(370327) * 10 * time.Millisecond
	wantTotal := time.Duration(370327+246567+2833) * 10 * time.Millisecond
	if got.Busy != wantBusy || got.Total != wantTotal {
		t.Fatalf("ParseMachineCPU = %+v, want busy %v total %v", got, wantBusy, wantTotal)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\n", "cpu a b c d e f g h\n"} {
		if _, err := ParseMachineCPU([]byte(bad)); err == nil {
			t.Errorf("ParseMachineCPU(%q) succeeded", bad)
		}
	}
}

func TestScanAndGroup(t *testing.T) {
	root := t.TempDir()
	write := func(pid, stat string) {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stat := func(pid, comm string, utime, start int) string {
		return pid + " (" + comm + ") S 1 1 1 0 -1 0 0 0 0 0 " + strconv.Itoa(utime) + " 0 0 0 20 0 1 0 " + strconv.Itoa(start) + " 0 0\n"
	}
	write("10", stat("10", "sso", 100, 5))
	write("20", stat("20", "postgres", 50, 6))
	write("21", stat("21", "postgres", 10, 7))
	write("30", stat("30", "compile", 0, 8))
	write("self", "not a pid")
	before, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 4 || before[10].Comm != "sso" || before[10].CPU != time.Second {
		t.Fatalf("scan = %+v", before)
	}

	write("10", stat("10", "sso", 250, 5))      // +1.5s
	write("20", stat("20", "postgres", 70, 6))  // +0.2s
	write("21", stat("21", "postgres", 40, 99)) // a new process with a reused pid: all 0.4s count
	write("40", stat("40", "go", 30, 100))      // new: 0.3s
	if err := os.RemoveAll(filepath.Join(root, "30")); err != nil {
		t.Fatal(err)
	}
	after, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	got := CPUByGroup(before, after, func(s Sample) string {
		switch {
		case s.PID == 10:
			return "sso"
		case s.Comm == "postgres":
			return "postgres"
		}
		return "other"
	})
	want := map[string]time.Duration{"sso": 1500 * time.Millisecond, "postgres": 600 * time.Millisecond, "other": 300 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("CPUByGroup = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
