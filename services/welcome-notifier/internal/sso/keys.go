// Package sso opens the personal data sealed in sso's events: it asks sso
// for the user's data key (sso.v1.UserDataKeyService) and opens it with the
// sealing key ring the notifier shares with sso. It implements
// events.PersonalOpener.
//
// Keys are not cached: each event that needs an address costs one lookup
// (a primary-key read in sso), and no deleted user's key outlives the
// deletion in this process, so the erasure takes effect here the moment it
// commits in sso.
package sso

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Results of a lookup, the values of the result label of
// welcome_notifier_data_key_lookups_total.
const (
	resultFound       = "found"
	resultErased      = "erased"
	resultUnavailable = "unavailable"
	resultInvalid     = "invalid"
)

// Keys opens users' personal data with their data keys from sso.
type Keys struct {
	client  ssov1.UserDataKeyServiceClient
	ring    *sealbox.Ring
	timeout time.Duration
	lookups *prometheus.CounterVec
}

// NewKeys returns Keys asking sso over conn, each call waiting at most
// timeout, and opening the keys with ring; its counter is registered on
// reg.
func NewKeys(conn grpc.ClientConnInterface, ring *sealbox.Ring, timeout time.Duration, reg prometheus.Registerer) (*Keys, error) {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "welcome_notifier_data_key_lookups_total",
		Help: "Data key lookups at sso to open the personal data of an event, by result: found, erased (the user was deleted: nothing can be read), unavailable (sso could not answer: retried), invalid (a key or data that does not open).",
	}, []string{"result"})
	for _, r := range []string{resultFound, resultErased, resultUnavailable, resultInvalid} {
		lookups.WithLabelValues(r)
	}
	if err := reg.Register(lookups); err != nil {
		return nil, fmt.Errorf("data key metrics: %w", err)
	}
	return &Keys{client: ssov1.NewUserDataKeyServiceClient(conn), ring: ring, timeout: timeout, lookups: lookups}, nil
}

// OpenPersonal returns the personal data sealed in event eventID of
// userID. It returns welcome.ErrErased when sso no longer has the user's
// key (the account was deleted: the data is gone for good), an error
// wrapping welcome.ErrUnavailable when sso cannot answer (retry), and one
// wrapping welcome.ErrInvalidEvent when the key or the data does not open.
func (k *Keys) OpenPersonal(ctx context.Context, userID, eventID string, s *eventsv1.SealedPersonal) (*eventsv1.PersonalData, error) {
	if s == nil {
		k.lookups.WithLabelValues(resultInvalid).Inc()
		return nil, fmt.Errorf("%w: no personal data", welcome.ErrInvalidEvent)
	}
	cctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	resp, err := k.client.GetUserDataKey(cctx, &ssov1.GetUserDataKeyRequest{UserId: userID, KeyVersion: s.GetKeyVersion()})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		k.lookups.WithLabelValues(resultErased).Inc()
		return nil, welcome.ErrErased
	case codes.InvalidArgument:
		k.lookups.WithLabelValues(resultInvalid).Inc()
		return nil, fmt.Errorf("%w: sso refuses the key lookup: %w", welcome.ErrInvalidEvent, err)
	default:
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		k.lookups.WithLabelValues(resultUnavailable).Inc()
		return nil, fmt.Errorf("%w: sso data key: %w", welcome.ErrUnavailable, err)
	}
	key, err := k.ring.UnwrapDataKey(userID, resp.GetKeyVersion(), resp.GetSealedKey())
	if err == nil {
		var p *eventsv1.PersonalData
		if p, err = sealbox.OpenPersonal(key, userID, eventID, s); err == nil {
			k.lookups.WithLabelValues(resultFound).Inc()
			return p, nil
		}
	}
	k.lookups.WithLabelValues(resultInvalid).Inc()
	if errors.Is(err, sealbox.ErrUnsealable) {
		return nil, fmt.Errorf("%w: personal data of event %s: %w", welcome.ErrInvalidEvent, eventID, err)
	}
	return nil, err
}
