package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		file string
		want Stat
	}{
		{"sso", "testdata/proc/4242/stat", Stat{Comm: "sso", UTime: 544, STime: 59, StartTime: 195377}},
		// A name with spaces and parentheses: fields count from the last ')'.
		{"odd name", "testdata/proc/77/stat", Stat{Comm: "a (b) c", UTime: 12345, STime: 678, StartTime: 999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseStat(data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := (Stat{UTime: 544, STime: 59}).CPU(); got != 6030*time.Millisecond {
		t.Fatalf("CPU() = %v, want 6.03s (603 ticks of 10ms)", got)
	}
}

func TestParseStatRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"no name":        "12 S 1 2 3",
		"too few fields": "12 (x) S 1 2 3 4 5",
		"bad utime":      "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0 0 20 0 1 0 9 0 0",
	} {
		if _, err := ParseStat([]byte(in)); err == nil {
			t.Errorf("%s: ParseStat(%q) succeeded", name, in)
		}
	}
}

func TestParseStatus(t *testing.T) {
	data, err := os.ReadFile("testdata/proc/4242/status")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseStatus(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{RSS: 89924 * 1024, HWM: 102504 * 1024, Anon: 67300 * 1024, File: 22624 * 1024}); got != want {
		t.Fatalf("ParseStatus = %+v, want %+v", got, want)
	}

	// A kernel thread has no memory lines.
	data, err = os.ReadFile("testdata/proc/77/status")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseStatus(data); err == nil {
		t.Fatal("ParseStatus of a kernel thread's status succeeded")
	}
	if _, err := ParseStatus([]byte("VmHWM:\t12 MB\nVmRSS:\t1 kB\n")); err == nil {
		t.Fatal("ParseStatus accepted a unit other than kB")
	}
}

func TestReadPIDFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "sso.pid")
	if err := os.WriteFile(good, []byte("16361\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, err := ReadPIDFile(good); err != nil || pid != 16361 {
		t.Fatalf("ReadPIDFile = %d, %v; want 16361", pid, err)
	}
	bad := filepath.Join(dir, "bad.pid")
	if err := os.WriteFile(bad, []byte("sso\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPIDFile(bad); err == nil {
		t.Fatal("ReadPIDFile accepted a file without a pid")
	}
	if _, err := ReadPIDFile(filepath.Join(dir, "missing.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadPIDFile(missing) = %v, want ErrNotExist", err)
	}
}

// fixture copies the sso fixture into a fresh /proc-like tree.
func fixture(t *testing.T) (root string) {
	t.Helper()
	root = t.TempDir()
	dir := filepath.Join(root, "4242")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"stat", "status"} {
		data, err := os.ReadFile(filepath.Join("testdata/proc/4242", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestProcessDetectsRestart(t *testing.T) {
	root := fixture(t)
	p, err := open(root, 4242)
	if err != nil {
		t.Fatal(err)
	}
	if p.Comm != "sso" {
		t.Fatalf("Comm = %q, want sso", p.Comm)
	}
	if cpu, err := p.CPU(); err != nil || cpu != 6030*time.Millisecond {
		t.Fatalf("CPU = %v, %v; want 6.03s", cpu, err)
	}
	if m, err := p.Memory(); err != nil || m.RSS != 89924*1024 {
		t.Fatalf("Memory = %+v, %v", m, err)
	}

	// Same pid, another start time: a new process.
	restarted := "4242 (sso) S 1 4242 4242 0 -1 4194304 1 0 0 0 1 1 0 0 20 0 9 0 200000 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	if err := os.WriteFile(filepath.Join(root, "4242", "stat"), []byte(restarted), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CPU(); !errors.Is(err, ErrRestarted) {
		t.Fatalf("CPU after restart = %v, want ErrRestarted", err)
	}
	if _, err := p.Memory(); !errors.Is(err, ErrRestarted) {
		t.Fatalf("Memory after restart = %v, want ErrRestarted", err)
	}

	// Gone.
	if err := os.RemoveAll(filepath.Join(root, "4242")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CPU(); !errors.Is(err, ErrRestarted) {
		t.Fatalf("CPU after exit = %v, want ErrRestarted", err)
	}
}

// TestMeasureSelf measures this test process, which is certainly running:
// it burns CPU for a moment and expects the window to see it.
func TestMeasureSelf(t *testing.T) {
	p, err := Open(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	w, err := p.Measure(5 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Burn until this process has used 100ms more CPU (however long a
	// busy machine makes that take).
	start, err := p.CPU()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for range 100_000 {
			x++
		}
		if now, err := p.CPU(); err == nil && now-start >= 100*time.Millisecond {
			break
		}
	}
	u, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU < 100*time.Millisecond || u.CPU > u.Wall+time.Second {
		t.Fatalf("CPU over a busy loop of 100ms CPU = %v (wall %v)", u.CPU, u.Wall)
	}
	// The kernel keeps RSS in per-thread counters folded in lazily, so a
	// VmRSS sampled mid-run can exceed the VmHWM read at the end by the
	// counters' slack (seen on CI: 9.0 MB sampled, 8.9 MB high-water mark).
	const slack = 4 << 20
	if u.PeakRSS == 0 || u.HWM+slack < u.PeakRSS || u.CurrentRSS == 0 {
		t.Fatalf("memory = %+v: want a peak, a lifetime peak about as large or larger, and a current size", u)
	}
	_ = x
}
