package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Sample is one process's CPU time at a moment.
type Sample struct {
	PID   int
	Comm  string
	Start uint64
	CPU   time.Duration
}

// Scan reads every process's CPU time, to attribute a window's CPU to the
// processes that used it. Processes that exit while it reads are skipped.
func Scan() (map[int]Sample, error) { return scan("/proc") }

func scan(root string) (map[int]Sample, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("procfs: %w", err)
	}
	out := make(map[int]Sample, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		s, err := ParseStat(data)
		if err != nil {
			continue
		}
		out[pid] = Sample{PID: pid, Comm: s.Comm, Start: s.StartTime, CPU: s.CPU()}
	}
	return out, nil
}

// CPUByGroup returns the CPU time each group of processes used between two
// scans; group names a process's group. A process that started in between
// counts all its CPU time; one that exited in between is lost (its time
// went to its parent's cumulative children time, which is not counted).
func CPUByGroup(before, after map[int]Sample, group func(Sample) string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for pid, a := range after {
		used := a.CPU
		if b, ok := before[pid]; ok && b.Start == a.Start {
			used -= b.CPU
		}
		if used > 0 {
			out[group(a)] += used
		}
	}
	return out
}

// MachineCPU is the whole machine's CPU time by /proc/stat: Busy is every
// state but idle and iowait, summed over all CPUs.
type MachineCPU struct {
	Busy, Total time.Duration
}

// ReadMachineCPU reads the aggregate "cpu" line of /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, fmt.Errorf("procfs: %w", err)
	}
	return ParseMachineCPU(data)
}

// ParseMachineCPU parses the aggregate "cpu" line of /proc/stat: user nice
// system idle iowait irq softirq steal (guest time is already in user).
func ParseMachineCPU(data []byte) (MachineCPU, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 9 {
			return MachineCPU{}, fmt.Errorf("procfs: /proc/stat cpu line has %d fields", len(f))
		}
		var ticks [8]uint64
		for i := range ticks {
			v, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return MachineCPU{}, fmt.Errorf("procfs: /proc/stat: %w", err)
			}
			ticks[i] = v
		}
		var total uint64
		for _, t := range ticks {
			total += t
		}
		busy := total - ticks[3] - ticks[4]
		toDur := func(t uint64) time.Duration { return time.Duration(t) * time.Second / UserHZ }
		return MachineCPU{Busy: toDur(busy), Total: toDur(total)}, nil
	}
	return MachineCPU{}, errors.New("procfs: /proc/stat has no cpu line")
}
