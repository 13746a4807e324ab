// Command welcome-notifier consumes UserRegistered events and sends each
// new user one welcome e-mail.
//
// Usage:
//
//	welcome-notifier                                  consume (migrating the database first)
//	welcome-notifier dlq replay [--limit N] [--dry-run]
//	                                                  move dead letters back to the consumed topic and exit
package main

import (
	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/service"
)

func main() {
	bootstrap.Main(bootstrap.Program[config.Config]{
		Name:     service.Name,
		Load:     config.Load,
		Start:    service.New,
		Commands: []bootstrap.Command[config.Config]{bootstrap.DeadLetterReplay(service.ReplayConfig)},
	})
}
