// Package grpcapi serves loyalty.v1.LoyaltyService over gRPC (and, through
// the gateway, REST): it reads the access token from the "authorization"
// metadata, calls the ledger use cases and turns their errors into gRPC
// statuses in one place, toStatus.
package grpcapi
