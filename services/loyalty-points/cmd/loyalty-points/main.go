// Command loyalty-points keeps users' loyalty balances: it credits the
// welcome bonus from UserRegistered events (or, with
// LOYALTY_WELCOME_BONUS_ON=verification, from EmailVerified AccountEvents)
// and serves balance, history, deposit and withdraw over gRPC and REST.
//
// Usage:
//
//	loyalty-points           serve and consume (migrating the database first)
//	loyalty-points migrate   apply the database migrations and exit
//	loyalty-points dlq replay [--limit N] [--dry-run]
//	                         move dead letters back to the consumed topic and exit
//	loyalty-points account-events dlq replay [--limit N] [--dry-run]
//	                         the same for the AccountEvents consumer
package main

import (
	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
	"github.com/ssokit/platform/services/loyalty-points/internal/service"
)

func main() {
	bootstrap.Main(bootstrap.Program[config.Config]{
		Name:  service.Name,
		Load:  config.Load,
		Start: service.New,
		Commands: []bootstrap.Command[config.Config]{
			bootstrap.Migrate(service.Migrate),
			bootstrap.DeadLetterReplay(service.ReplayConfig),
			accountEventsReplay(),
		},
	})
}

// accountEventsReplay is `account-events dlq replay`, the dead-letter
// replay of the AccountEvents consumer, which has a group and dead-letter
// topic of its own.
func accountEventsReplay() bootstrap.Command[config.Config] {
	c := bootstrap.DeadLetterReplay(service.AccountEventsReplayConfig)
	c.Name = "account-events " + c.Name
	return c
}
