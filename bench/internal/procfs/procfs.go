// Package procfs reads what the benchmark reports about a process from
// Linux's /proc: CPU time (utime + stime in /proc/<pid>/stat) and resident
// memory (VmRSS and VmHWM in /proc/<pid>/status).
//
// A Process remembers its start time, so a reading taken after the process
// was restarted (and its pid possibly reused) fails with ErrRestarted
// instead of yielding a nonsense difference.
package procfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UserHZ is the unit of the clock-tick fields of /proc/<pid>/stat. Linux
// reports them in USER_HZ, which is 100 on every architecture Go supports,
// whatever the kernel's internal tick rate.
const UserHZ = 100

// ErrRestarted means the process a Process stands for is gone, or its pid
// now belongs to another process.
var ErrRestarted = errors.New("process exited or was restarted")

// Stat is the part of /proc/<pid>/stat the benchmark uses.
type Stat struct {
	Comm      string // the executable name, without parentheses
	UTime     uint64 // user CPU time, clock ticks
	STime     uint64 // system CPU time, clock ticks
	StartTime uint64 // start time after boot, clock ticks: identifies the process along with the pid
}

// CPU returns the process's user + system CPU time.
func (s Stat) CPU() time.Duration {
	return time.Duration(s.UTime+s.STime) * time.Second / UserHZ
}

// ParseStat parses the contents of /proc/<pid>/stat. The command name may
// contain spaces and parentheses, so the fields are counted from the last
// closing parenthesis.
func ParseStat(data []byte) (Stat, error) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return Stat{}, fmt.Errorf("procfs: stat: no command name in %q", truncate(data))
	}
	// Fields after the name, from field 3 (state) on: utime is field 14,
	// stime 15, starttime 22 (proc(5)), so indexes 11, 12 and 19 here.
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 20 {
		return Stat{}, fmt.Errorf("procfs: stat: %d fields after the name, want at least 20", len(fields))
	}
	var s Stat
	s.Comm = string(data[open+1 : end])
	for _, f := range []struct {
		idx int
		dst *uint64
		nm  string
	}{{11, &s.UTime, "utime"}, {12, &s.STime, "stime"}, {19, &s.StartTime, "starttime"}} {
		v, err := strconv.ParseUint(fields[f.idx], 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("procfs: stat: %s: %w", f.nm, err)
		}
		*f.dst = v
	}
	return s, nil
}

// Memory is the resident memory of a process, in bytes.
type Memory struct {
	RSS uint64 `json:"rss_bytes"` // resident now (VmRSS)
	HWM uint64 `json:"hwm_bytes"` // the peak resident size since the process started (VmHWM)
	// Anon and File split RSS (RssAnon, RssFile; RssShmem is the rest):
	// memory the process allocated, and pages of mapped files, mostly its
	// own binary's code and read-only data, which are shared and clean.
	Anon uint64 `json:"rss_anon_bytes"`
	File uint64 `json:"rss_file_bytes"`
}

// ParseStatus parses VmRSS and VmHWM, and RssAnon and RssFile where the
// kernel reports them, out of /proc/<pid>/status.
func ParseStatus(data []byte) (Memory, error) {
	var m Memory
	var found int
	dst := map[string]*uint64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || dst[key] == nil {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("procfs: status: %s: unexpected value %q", key, val)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("procfs: status: %s: %w", key, err)
		}
		*dst[key] = kb * 1024
		if key == "VmRSS" || key == "VmHWM" {
			found++
		}
	}
	if found != 2 {
		return Memory{}, errors.New("procfs: status: no VmRSS/VmHWM (a kernel thread or a zombie?)")
	}
	return m, nil
}

// Process is a running process identified by pid and start time.
type Process struct {
	PID   int
	Comm  string
	start uint64
	root  string // "/proc", or a fixture directory in tests
}

// Open returns the process pid as it is now.
func Open(pid int) (*Process, error) { return open("/proc", pid) }

func open(root string, pid int) (*Process, error) {
	p := &Process{PID: pid, root: root}
	s, err := p.readStat()
	if err != nil {
		return nil, err
	}
	p.Comm, p.start = s.Comm, s.StartTime
	return p, nil
}

// ReadPIDFile returns the pid written in path (as deploy/local writes
// .local/run/<name>.pid).
func ReadPIDFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("procfs: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("procfs: %s does not hold a pid: %q", path, truncate(data))
	}
	return pid, nil
}

func (p *Process) readStat() (Stat, error) {
	data, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(p.PID), "stat"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Stat{}, fmt.Errorf("procfs: pid %d: %w", p.PID, ErrRestarted)
		}
		return Stat{}, fmt.Errorf("procfs: %w", err)
	}
	return ParseStat(data)
}

// CPU returns the process's CPU time so far, user plus system, over all its
// threads.
func (p *Process) CPU() (time.Duration, error) {
	s, err := p.readStat()
	if err != nil {
		return 0, err
	}
	if s.StartTime != p.start {
		return 0, fmt.Errorf("procfs: pid %d: %w", p.PID, ErrRestarted)
	}
	return s.CPU(), nil
}

// Memory returns the process's resident memory now and at its peak.
func (p *Process) Memory() (Memory, error) {
	data, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(p.PID), "status"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Memory{}, fmt.Errorf("procfs: pid %d: %w", p.PID, ErrRestarted)
		}
		return Memory{}, fmt.Errorf("procfs: %w", err)
	}
	// The start time is checked after reading status, so a restart in
	// between is caught.
	if s, err := p.readStat(); err != nil {
		return Memory{}, err
	} else if s.StartTime != p.start {
		return Memory{}, fmt.Errorf("procfs: pid %d: %w", p.PID, ErrRestarted)
	}
	return ParseStatus(data)
}

// Window measures a process over a stretch of time: CPU time used, and
// the largest resident size seen by sampling VmRSS (the peak of this
// window, unlike VmHWM, which covers the process's whole life).
type Window struct {
	p      *Process
	cpu0   time.Duration
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	peak Memory // the sample with the largest VmRSS
	err  error
}

// Measure starts a Window on p, sampling its memory every interval.
func (p *Process) Measure(interval time.Duration) (*Window, error) {
	cpu0, err := p.CPU()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Window{p: p, cpu0: cpu0, start: time.Now(), cancel: cancel, done: make(chan struct{})}
	w.sample()
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w, nil
}

func (w *Window) sample() {
	m, err := w.p.Memory()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	if m.RSS > w.peak.RSS {
		w.peak = m
	}
}

// Usage is what a Window measured.
type Usage struct {
	Wall       time.Duration
	CPU        time.Duration
	PeakRSS    uint64 // bytes, the largest VmRSS sampled
	PeakAnon   uint64 // bytes, RssAnon in that sample
	PeakFile   uint64 // bytes, RssFile in that sample
	HWM        uint64 // bytes, VmHWM at the end: the process's lifetime peak
	CurrentRSS uint64 // bytes, VmRSS at the end
}

// Stop ends the window. It fails when the process restarted meanwhile, as
// its figures would then mix two processes.
func (w *Window) Stop() (Usage, error) {
	w.cancel()
	<-w.done
	w.sample()
	cpu1, err := w.p.CPU()
	if err != nil {
		return Usage{}, err
	}
	m, err := w.p.Memory()
	if err != nil {
		return Usage{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return Usage{}, w.err
	}
	return Usage{
		Wall: time.Since(w.start), CPU: cpu1 - w.cpu0,
		PeakRSS: w.peak.RSS, PeakAnon: w.peak.Anon, PeakFile: w.peak.File,
		HWM: m.HWM, CurrentRSS: m.RSS,
	}, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}
