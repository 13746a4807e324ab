// Package load drives a running sso over gRPC or REST and measures it: a
// closed loop of N workers for throughput (each worker sends its next
// request when the previous one returns), and an open loop at a fixed rate
// for latency under a given load (requests start on schedule whatever the
// earlier ones are doing, so a slow server cannot slow the load down and
// hide its own latency).
//
// Each worker owns one Account of a Pool registered beforehand, so refresh
// chains never cross: a refresh token is used once, by its worker. Results
// from the warm-up are discarded; the measured window is bracketed by a
// Meter, which reads the sso process's CPU time and memory.
package load
