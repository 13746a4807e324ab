package password

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestMetricsTimeEachDerivation swaps in a KDF that takes 20ms: each hash
// and each verification that reaches the KDF is timed under its op; calls
// refused before any work are not.
func TestMetricsTimeEachDerivation(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHasher(Params{}, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	const work = 20 * time.Millisecond
	argon := h.kdf
	h.kdf = func(pw, salt []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
		// The sleep stays: it is the derivation time the histogram must
		// record, not a wait for something to happen.
		time.Sleep(work)
		return argon(pw, salt, 1, 8, 1, keyLen) // cheap costs: only the time matters here
	}

	if got := histograms(t, reg); got["hash"].GetSampleCount() != 0 || got["verify"].GetSampleCount() != 0 {
		t.Fatalf("before any call: %v, want both ops at zero", got)
	}
	encoded, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"correct horse", "wrong horse"} {
		if _, _, err := h.Verify(pw, encoded); err != nil {
			t.Fatal(err)
		}
	}
	// Refused before the KDF: not timed.
	if _, err := h.Hash(strings.Repeat("x", MaxPasswordBytes+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long password: %v", err)
	}
	if _, _, err := h.Verify("pw", "not a hash"); !errors.Is(err, ErrMalformedHash) {
		t.Fatalf("malformed hash: %v", err)
	}

	got := histograms(t, reg)
	tests := []struct {
		op    string
		count uint64
	}{{"hash", 1}, {"verify", 2}}
	for _, tt := range tests {
		hist := got[tt.op]
		if hist.GetSampleCount() != tt.count {
			t.Errorf("%s: %d observations, want %d", tt.op, hist.GetSampleCount(), tt.count)
		}
		if least := float64(tt.count) * work.Seconds(); hist.GetSampleSum() < least {
			t.Errorf("%s: %.3fs observed in total, want at least %.3fs", tt.op, hist.GetSampleSum(), least)
		}
	}
}

// histograms returns sso_password_hash_duration_seconds by op.
func histograms(t *testing.T, g prometheus.Gatherer) map[string]*dto.Histogram {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Histogram{}
	for _, f := range families {
		if f.GetName() != "sso_password_hash_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" {
					out[l.GetValue()] = m.GetHistogram()
				}
			}
		}
	}
	return out
}
