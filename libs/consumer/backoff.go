package consumer

import (
	"math/rand/v2"
	"time"
)

// backoffCeiling is the un-jittered delay after failed attempt number
// attempt (1-based): initial doubled attempt-1 times, capped at limit.
func backoffCeiling(attempt int, initial, limit time.Duration) time.Duration {
	d := initial
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// backoff is the delay after failed attempt number attempt: the ceiling
// with "equal jitter", uniformly in [ceiling/2, ceiling], so members that
// failed together do not retry in lockstep yet never retry much sooner than
// planned. rnd returns a value in [0, 1).
func backoff(attempt int, initial, limit time.Duration, rnd func() float64) time.Duration {
	d := backoffCeiling(attempt, initial, limit)
	half := d / 2
	return d - half + time.Duration(rnd()*float64(half+1))
}

func randFloat() float64 { return rand.Float64() }
