package pgerr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/pgerr"
	"github.com/ssokit/platform/libs/testenv"
)

func TestUnavailableCodes(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("syntax error"), false},
		{&pq.Error{Code: pqerror.UniqueViolation}, false},
		{&pq.Error{Code: pqerror.InvalidTextRepresentation}, false},
		{fmt.Errorf("claim: %w", &pq.Error{Code: pqerror.AdminShutdown}), true},
		{&pq.Error{Code: pqerror.CannotConnectNow}, true},
		{&pq.Error{Code: pqerror.TooManyConnections}, true},
		{&pq.Error{Code: pqerror.ConnectionFailure}, true},
		{&pq.Error{Code: pqerror.ReadOnlySQLTransaction}, true},
		{&pq.Error{Code: pqerror.TRSerializationFailure}, true},
	}
	for _, tt := range tests {
		if got := pgerr.Unavailable(tt.err); got != tt.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestUnavailableOnARealOutage asks a closed port and a database that
// does not exist through the real driver: the first is an outage, the
// second a configuration error that waiting does not cure.
func TestUnavailableOnARealOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	down, err := bootstrap.OpenDB("postgres://postgres:postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if err := down.PingContext(ctx); !pgerr.Unavailable(err) {
		t.Errorf("Unavailable(%v) = false for a closed port", err)
	}

	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN))
	db, err := bootstrap.OpenDB(testenv.PGPrimaryDSN, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `SELECT no_such_column FROM pg_class`)
	if err == nil || pgerr.Unavailable(err) {
		t.Errorf("Unavailable(%v) = true for bad SQL", err)
	}
}
