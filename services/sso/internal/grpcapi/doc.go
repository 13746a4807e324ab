// Package grpcapi is the sso gRPC transport: it turns sso.v1 requests into
// auth use-case calls and their results (and errors, in one place, see
// errors.go) into responses. The REST gateway calls the same handlers, so
// both transports behave identically.
package grpcapi
